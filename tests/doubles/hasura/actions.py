"""Actions and custom types: parsing, export shape, consistency, GraphQL fields and the handler call.

As Hasura v2.48 does them, for what the double supports: synchronous mutation actions and query actions whose
output is a custom object or a scalar, with arguments, configured and forwarded headers, timeouts and permissions.
What it does not reproduce it refuses on replace_metadata with code `not-supported` naming the double, never
accepting it silently: asynchronous actions (Hasura's hdb_action_log and the `<action>` id query), request/response
transforms (Kriti), relationships of custom object types (joins to tables).

Sources (hasura/graphql-engine, server/src-lib/Hasura/…):
- export shape: RQL/Types/Metadata/Serialization.hs `actionMetadataToOrdJSONList` (in metadata.normalize_actions)
  and `customTypesToOrdJSON`: input_objects, objects, scalars, enums, each only when non-empty; a type's `name`,
  `fields`/`values`, then `description` when set (and an object's `relationships`); a field's `name`, `type`,
  `description` when set; an enum value's `value`, `description`, `is_deprecated` when set (RQL/Types/CustomTypes.hs
  EnumValueDefinition codec, optional fields);
- consistency: RQL/DDL/CustomTypes.hs `validateCustomTypeDefinitions` / `showCustomTypeValidationError` (reported as
  "validation for the given custom types failed because …"), RQL/DDL/Action.hs `resolveAction` (argument types must
  be scalars, enums or input objects, the output an object or a scalar; the handler's `{{ENV}}` resolved);
- the call: GraphQL/Execute/Action.hs `callWebhook`: POST of `{"action": {"name"}, "input", "session_variables",
  "request_query"}` with Content-Type application/json, the configured headers (`value` or `value_from_env`) over
  the forwarded client headers (Hasura/HTTP.hs commonClientHeadersIgnored are never forwarded); a 2xx answer is
  validated against the output type (`field "x" expected in webhook response, but not found`, `expecting not null
  value for field "x"`), a 4xx one becomes the error `{message, extensions?}` (code from its `code`, else
  `unexpected`), anything else `internal error` (code `unexpected`, details in `internal`, shown to admins).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any, Callable, Mapping

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
    parse_type,
    value_from_ast_untyped,
)

from .errors import HasuraError

CUSTOM_TYPE_KINDS = ("input_objects", "objects", "scalars", "enums")  # Serialization.hs customTypesToOrdJSON order
_BUILTIN = {"Int": GraphQLInt, "Float": GraphQLFloat, "String": GraphQLString, "Boolean": GraphQLBoolean,
            "ID": GraphQLID}
#: Hasura/HTTP.hs commonClientHeadersIgnored: request headers never forwarded to a webhook.
_NOT_FORWARDED = frozenset({"content-length", "content-md5", "user-agent", "host", "origin", "referer", "accept",
                            "accept-encoding", "accept-language", "accept-datetime", "cache-control", "connection",
                            "dnt", "content-type"})
_TEMPLATE = re.compile(r"\{\{([^{}]+)\}\}")


def not_supported(what: str, path: str) -> HasuraError:
    return HasuraError("not-supported", f"{what} are not supported by the Hasura test double", path=path)


def _require(obj: Any, key: str, path: str) -> Any:
    if not isinstance(obj, dict):
        raise HasuraError("parse-failed", f"expected Object, but encountered {type(obj).__name__}", path=path)
    if key not in obj:
        raise HasuraError("parse-failed", f'key "{key}" not found', path=path)
    return obj[key]


def check_action_definition(definition: dict[str, Any], path: str) -> None:
    """What Hasura's ActionDefinitionInput parser refuses, and what the double refuses to pretend it supports."""
    action_type = definition.get("type", "mutation")
    if action_type not in ("mutation", "query"):
        raise HasuraError("parse-failed", f'unexpected action type "{action_type}"', path=f"{path}.type")
    if action_type == "mutation":
        kind = definition.get("kind", "synchronous")
        if kind not in ("synchronous", "asynchronous"):
            raise HasuraError("parse-failed", f'unexpected action kind "{kind}"', path=f"{path}.kind")
        if kind == "asynchronous":
            raise not_supported("asynchronous actions", f"{path}.kind")
    for key in ("request_transform", "response_transform"):
        if definition.get(key) is not None:
            raise not_supported("action request/response transforms", f"{path}.{key}")


def normalize_custom_types(custom: Any, path: str) -> dict[str, Any]:
    """The export shape (customTypesToOrdJSON); required keys checked as the codecs require them."""
    out: dict[str, Any] = {}
    for kind in CUSTOM_TYPE_KINDS:
        items = custom.get(kind) or [] if isinstance(custom, dict) else []
        shaped = []
        for index, item in enumerate(items):
            where = f"{path}.{kind}[{index}]"
            entry: dict[str, Any] = {"name": _require(item, "name", where)}
            if kind in ("input_objects", "objects"):
                entry["fields"] = [_field(f, f"{where}.fields[{i}]")
                                   for i, f in enumerate(_require(item, "fields", where))]
            if kind == "enums":
                entry["values"] = [{"value": _require(v, "value", f"{where}.values[{i}]"),
                                    **{k: v[k] for k in ("description", "is_deprecated") if v.get(k) is not None}}
                                   for i, v in enumerate(_require(item, "values", where))]
            if item.get("description") is not None:
                entry["description"] = item["description"]
            if item.get("relationships"):
                raise not_supported("relationships of custom object types", f"{where}.relationships")
            shaped.append(entry)
        if shaped:
            out[kind] = shaped
    return out


def _field(item: Any, path: str) -> dict[str, Any]:
    entry = {"name": _require(item, "name", path), "type": _require(item, "type", path)}
    if item.get("arguments") is not None:
        entry["arguments"] = item["arguments"]
    if item.get("description") is not None:
        entry["description"] = item["description"]
    return entry


# ---------------------------------------------------------------------------------------------------------------
# Consistency (buildSchemaCache: custom types first, then each action)
# ---------------------------------------------------------------------------------------------------------------


def base_type(text: str) -> str:
    return str(text).replace("[", "").replace("]", "").replace("!", "").strip()


def _type_kinds(custom: dict[str, Any]) -> dict[str, str]:
    return {t["name"]: kind for kind in CUSTOM_TYPE_KINDS for t in custom.get(kind, [])}


def _is_backend_scalar(name: str, scalars: frozenset[str]) -> bool:
    return name in _BUILTIN or name in scalars


def custom_type_problems(custom: dict[str, Any], scalars: frozenset[str]) -> list[str]:
    """showCustomTypeValidationError's sentences for what validateCustomTypeDefinitions refuses."""
    problems = []
    names = [t["name"] for kind in CUSTOM_TYPE_KINDS for t in custom.get(kind, [])]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append("duplicate type names: " + ", ".join(f'"{n}"' for n in duplicates))
    kinds = _type_kinds(custom)
    for kind, label, allowed in (("input_objects", "input object type", ("scalars", "enums", "input_objects")),
                                 ("objects", "object type", ("scalars", "enums", "objects"))):
        for entry in custom.get(kind, []):
            for item in entry["fields"]:
                base = base_type(item["type"])
                if kinds.get(base) not in allowed and not _is_backend_scalar(base, scalars):
                    problems.append(f'the type "{base}" for field "{item["name"]}" in  {label} "{entry["name"]}" '
                                    "does not exist")
                if kind == "objects" and "arguments" in item:
                    problems.append(f'the object "{entry["name"]}" can\'t have arguments')
    return problems


def render_handler(handler: str, env: Mapping[str, str]) -> str:
    """Data/URL/Template.hs renderURLTemplate: every `{{VAR}}` replaced from the server's environment."""
    missing = [name for name in _TEMPLATE.findall(handler) if name.strip() not in env]
    if missing:
        raise LookupError("Value for environment variables not found: " + ", ".join(m.strip() for m in missing))
    return _TEMPLATE.sub(lambda m: env[m.group(1).strip()], handler)


def action_problem(action: dict[str, Any], custom: dict[str, Any], scalars: frozenset[str],
                   env: Mapping[str, str]) -> str | None:
    """resolveAction's error for one action, or None."""
    definition = action["definition"]
    kinds = _type_kinds(custom)
    for argument in definition.get("arguments", []):
        base = base_type(argument["type"])
        if kinds.get(base) not in ("scalars", "enums", "input_objects") and not _is_backend_scalar(base, scalars):
            return f'the type: "{base}" is not defined in custom types or it is not a scalar/enum/input_object'
    output = base_type(definition["output_type"])
    if kinds.get(output) not in ("objects", "scalars") and not _is_backend_scalar(output, scalars):
        return f'the type: "{output}" is not an object or scalar type defined in custom types'
    try:
        render_handler(definition["handler"], env)
    except LookupError as exc:
        return str(exc)
    return None


# ---------------------------------------------------------------------------------------------------------------
# GraphQL: custom types and one root field per action a role may call
# ---------------------------------------------------------------------------------------------------------------


class ActionTypes:
    """graphql-core types for the custom types, built once per role schema; backend scalars (`uuid`,
    `timestamptz`) come from `backend_scalar`, the schema builder's own scalars."""

    def __init__(self, custom: dict[str, Any], backend_scalar: Callable[[str], GraphQLScalarType]):
        self.custom = custom
        self.backend_scalar = backend_scalar
        self.named: dict[str, Any] = {}

    def named_type(self, name: str) -> Any:
        if name in _BUILTIN:
            return _BUILTIN[name]
        if name in self.named:
            return self.named[name]
        kinds = _type_kinds(self.custom)
        definition = next((t for t in self.custom.get(kinds.get(name, ""), []) if t["name"] == name), None)
        kind = kinds.get(name)
        description = (definition or {}).get("description")
        if kind == "scalars":
            built: Any = GraphQLScalarType(
                name, description=description, serialize=lambda v: v, parse_value=lambda v: v,
                parse_literal=lambda node, variables=None: value_from_ast_untyped(node, variables))
        elif kind == "enums":
            built = GraphQLEnumType(name, {v["value"]: GraphQLEnumValue(v["value"], description=v.get("description"))
                                           for v in definition["values"]}, description=description)
        elif kind == "input_objects":
            built = GraphQLInputObjectType(name, lambda d=definition: {
                f["name"]: GraphQLInputField(self.of(f["type"]), description=f.get("description"))
                for f in d["fields"]}, description=description)
        elif kind == "objects":
            built = GraphQLObjectType(name, lambda d=definition: {
                f["name"]: GraphQLField(self.of(f["type"]), description=f.get("description"))
                for f in d["fields"]}, description=description)
        else:
            built = self.backend_scalar(name)
        self.named[name] = built
        return built

    def of(self, text: str) -> Any:
        """A GraphQL type written as in metadata (`[Greeting!]!`)."""
        def build(node: Any) -> Any:
            if node.kind == "non_null_type":
                return GraphQLNonNull(build(node.type))
            if node.kind == "list_type":
                return GraphQLList(build(node.type))
            return self.named_type(node.name.value)
        return build(parse_type(text))


def action_fields(metadata: dict[str, Any], role: str, inconsistent: set[str],
                  backend_scalar: Callable[[str], GraphQLScalarType], env: Mapping[str, str]
                  ) -> tuple[dict[str, GraphQLField], dict[str, GraphQLField]]:
    """(query fields, mutation fields) of the actions `role` may call: admin every one, others those whose
    `permissions` list them (Hasura/GraphQL/Schema/Action.hs: actionExecute checks `_aiPermissions` for the role)."""
    if "custom_types" in inconsistent:
        return {}, {}
    types = ActionTypes(metadata.get("custom_types") or {}, backend_scalar)
    query: dict[str, GraphQLField] = {}
    mutation: dict[str, GraphQLField] = {}
    for action in metadata.get("actions") or []:
        if f"action {action['name']}" in inconsistent:
            continue
        if role != "admin" and role not in {p["role"] for p in action.get("permissions", [])}:
            continue
        definition = action["definition"]
        field = GraphQLField(
            types.of(definition["output_type"]),
            args={a["name"]: GraphQLArgument(types.of(a["type"]), description=a.get("description"))
                  for a in definition.get("arguments", [])},
            description=action.get("comment"),
            resolve=_resolver(action, types, env),
        )
        (query if definition.get("type") == "query" else mutation)[action["name"]] = field
    return query, mutation


def _resolver(action: dict[str, Any], types: ActionTypes, env: Mapping[str, str]) -> Callable:
    definition = action["definition"]

    def resolve(_root, info, **arguments):
        context = info.context
        # The admin secret is never a session variable (Hasura/Session.hs mkUserInfo drops it).
        session = {name: value for name, value in context.session.variables.items()
                   if name not in ("x-hasura-admin-secret", "x-hasura-access-key")}
        session["x-hasura-role"] = context.session.role
        payload = {"action": {"name": action["name"]}, "input": arguments, "session_variables": session,
                   "request_query": context.request_query}
        answer = call_handler(definition, payload, context.headers, env)
        _validate_answer(answer, definition["output_type"], types)
        return answer

    return resolve


def _headers(definition: dict[str, Any], client_headers: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    if definition.get("forward_client_headers"):
        headers.update({k.lower(): v for k, v in client_headers.items() if k.lower() not in _NOT_FORWARDED})
    headers["content-type"] = "application/json"
    for header in definition.get("headers", []):
        value = header.get("value")
        if "value_from_env" in header:
            value = env.get(header["value_from_env"])
            if value is None:  # Hasura/RQL/DDL/Headers.hs makeHeadersFromConf
                raise HasuraError("not-found", f'environment variable "{header["value_from_env"]}" not set')
        headers[header["name"].lower()] = value  # configured headers win over forwarded ones (callWebhook)
    return headers


def call_handler(definition: dict[str, Any], payload: dict[str, Any], client_headers: Mapping[str, str],
                 env: Mapping[str, str]) -> Any:
    """POST the payload; the handler's JSON on 2xx, Hasura's error otherwise."""
    url = render_handler(definition["handler"], env)
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers=_headers(definition, client_headers, env))
    timeout = definition.get("timeout", 30)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the configured handler
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise HasuraError("unexpected", "http exception when calling webhook",
                          internal={"error": str(error), "request": {"url": url}}) from None
    try:
        answer = json.loads(body)
    except ValueError:
        raise HasuraError("unexpected", "not a valid json response from webhook",
                          internal={"error": "invalid json", "response": {"status": status,
                                                                           "body": body.decode(errors="replace")}})
    if 200 <= status < 300:
        return answer
    if 400 <= status < 500:
        if not isinstance(answer, dict) or not isinstance(answer.get("message"), str):
            raise HasuraError("unexpected", 'key "message" not found',
                              internal={"error": "unexpected response", "response": {"status": status, "body": answer}})
        raise ActionHandlerError(answer["message"], code=answer.get("code") or "unexpected",
                                 extensions=answer.get("extensions"))
    raise HasuraError("unexpected", "internal error", internal={
        "error": f"expecting 2xx or 4xx status code, but found {status}", "response": {"status": status,
                                                                                       "body": answer}})


def _validate_answer(answer: Any, output_type: str, types: ActionTypes) -> None:
    """Action.hs validateResponse: an object (or a list of them, for a list type) holding every non-null field."""
    base = base_type(output_type)
    fields = next((t["fields"] for t in types.custom.get("objects", []) if t["name"] == base), None)
    if fields is None:
        return  # a scalar output is passed through as the handler answered it
    expecting_list = output_type.strip().startswith("[")
    if isinstance(answer, list) and not expecting_list:
        raise HasuraError("unexpected", "expecting object for action webhook response but got array")
    if isinstance(answer, dict) and expecting_list:
        raise HasuraError("unexpected", "expecting array for action webhook response but got object")
    for item in answer if isinstance(answer, list) else [answer] if answer is not None else []:
        for field in fields:
            if field["type"].endswith("!"):
                if field["name"] not in item:
                    raise HasuraError("unexpected",
                                      f'field "{field["name"]}" expected in webhook response, but not found')
                if item[field["name"]] is None:
                    raise HasuraError("unexpected", f'expecting not null value for field "{field["name"]}"')


class ActionHandlerError(HasuraError):
    """A handler's 4xx answer: its message and code; its `extensions`, when given, replace Hasura's own (Hasura/Base/
    Error.hs encodeGQErr: ExtraExtensions)."""

    def __init__(self, message: str, *, code: str, extensions: Any = None):
        super().__init__(code, message)
        self.extensions = extensions

    def graphql_body(self, *, admin: bool = False) -> dict[str, Any]:
        if self.extensions is None:
            return super().graphql_body(admin=admin)
        return {"errors": [{"extensions": self.extensions, "message": self.message}]}
