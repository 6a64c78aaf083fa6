"""`POST /v1/graphql` request handling: parse, validate with Hasura's messages, execute (hasura.md §1.9, §4.3).

Field and argument existence is checked first with Hasura's own wording (`field 'x' not found in type:
'query_root'`, code `validation-failed`, path `$.selectionSet.x`); graphql-core validates the rest, then executes
against the role's schema (graphql_schema) with the SQL resolvers (graphql_resolvers).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    execute,
    get_named_type,
    get_operation_ast,
    is_input_object_type,
    is_object_type,
    parse,
    validate,
)
from graphql.error import GraphQLSyntaxError

from .auth import Session
from .errors import HasuraError
from .graphql_resolvers import RequestContext
from .sql import ConnectionPool
from .metadata import SchemaCache


def operation_type(query: Any, operation_name: Any = None) -> str:
    """`query` / `mutation` / `subscription` for request counting; `unknown` when it cannot be parsed."""
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except (GraphQLError, TypeError):
        return "unknown"
    return operation.operation.value if operation is not None else "unknown"


_REWORDINGS = (
    (re.compile(r"Argument '[\w.]+\((\w+):\)' of type '.*' is required, but it was not provided\."),
     r"missing required field '\1'"),
    (re.compile(r"Variable '\$(\w+)' of required type '.*' was not provided\."),
     r'expecting a value for non-nullable variable: "\1"'),
    (re.compile(r"Variable '\$(\w+)' has invalid value: Expected a value of non-null type '.*' to be provided\."),
     r'expecting a value for non-nullable variable: "\1"'),
)  # fmt: skip


def _hasura_wording(message: str) -> str:
    """Hasura's text for the graphql-core validation messages a client most often meets; others pass through."""
    for pattern, replacement in _REWORDINGS:
        if pattern.fullmatch(message):
            return pattern.sub(replacement, message)
    return message


def _validation_failed(message: str, path: str = "$") -> HasuraError:
    return HasuraError("validation-failed", message, path=path)


def _check_value(node: Any, input_type: Any, path: str) -> None:
    named = get_named_type(input_type)
    if isinstance(node, ListValueNode):
        for item in node.values or ():
            _check_value(item, input_type.of_type if hasattr(input_type, "of_type") else input_type, path)
    elif isinstance(node, ObjectValueNode) and is_input_object_type(named):
        for item in node.fields or ():
            name = item.name.value
            if name not in named.fields:
                raise _validation_failed(f"field '{name}' not found in type: '{named.name}'", f"{path}.{name}")
            _check_value(item.value, named.fields[name].type, f"{path}.{name}")


def check_fields(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode) -> None:
    """Hasura's messages for unknown fields/arguments (§1.9): `field 'users' not found in type: 'query_root'`."""
    fragments = {d.name.value: d for d in document.definitions if hasattr(d, "type_condition") and hasattr(d, "name")}
    root = {"query": schema.query_type, "mutation": schema.mutation_type, "subscription": schema.subscription_type}[
        operation.operation.value
    ]
    if root is None:
        raise _validation_failed(f"no {operation.operation.value}s exist", "$")

    def walk(selection_set, parent, path: str, seen: frozenset) -> None:
        for selection in selection_set.selections or ():
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name == "__typename" or (parent is root and name in ("__schema", "__type")):
                    continue
                if name not in parent.fields:
                    raise _validation_failed(
                        f"field '{name}' not found in type: '{parent.name}'", f"{path}.selectionSet.{name}"
                    )
                definition = parent.fields[name]
                field_path = f"{path}.selectionSet.{(selection.alias or selection.name).value}"
                for argument in selection.arguments or ():
                    arg = argument.name.value
                    if arg not in definition.args:
                        raise _validation_failed(f"'{name}' has no argument named '{arg}'", f"{field_path}.args")
                    _check_value(argument.value, definition.args[arg].type, f"{field_path}.args.{arg}")
                target = get_named_type(definition.type)
                if selection.selection_set is not None and is_object_type(target):
                    walk(selection.selection_set, target, field_path, seen)
            elif isinstance(selection, InlineFragmentNode):
                target = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                if target is not None and is_object_type(target):
                    walk(selection.selection_set, target, path, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in seen:
                    target = schema.get_type(fragment.type_condition.name.value)
                    if target is not None and is_object_type(target):
                        walk(fragment.selection_set, target, path, seen | {name})

    walk(operation.selection_set, root, "$", frozenset())


def run_graphql(schema: GraphQLSchema, cache: SchemaCache, session: Session, body: Any,
                pool: ConnectionPool, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Execute one GraphQL request; errors raise HasuraError (rendered with HTTP 200 by the server)."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise HasuraError("parse-failed", 'key "query" not found', path="$")
    try:
        document = parse(body["query"])
    except GraphQLSyntaxError:
        raise _validation_failed("not a valid graphql query", "$.query") from None
    operation = get_operation_ast(document, body.get("operationName"))
    if operation is None:
        raise _validation_failed(
            "exactly one operation has to be present in the document when operationName is not specified"
        )
    if operation.operation.value == "subscription":
        raise _validation_failed("subscriptions are not supported over HTTP, use websockets instead")
    check_fields(schema, document, operation)
    errors = validate(schema, document)
    if errors:
        raise _validation_failed(_hasura_wording(errors[0].message))
    context = RequestContext(session, cache, pool, headers, body["query"])
    result = None
    try:
        result = execute(
            schema, document, context_value=context, variable_values=body.get("variables") or None,
            operation_name=body.get("operationName"),
        )  # fmt: skip
    finally:
        context.finish(commit=result is not None and not result.errors)
    if result.errors:
        error = result.errors[0]
        if isinstance(error.original_error, HasuraError):
            raise error.original_error
        if error.original_error is None or isinstance(error.original_error, GraphQLError):  # e.g. variables
            raise _validation_failed(_hasura_wording(error.message))
        raise HasuraError("unexpected", str(error.original_error))
    return {"data": result.data}
