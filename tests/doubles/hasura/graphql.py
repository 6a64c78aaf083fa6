"""The `/v1/graphql` subset: a per-role schema generated from tracked tables and permissions, executed against
Postgres (hasura.md §1.9, §4.3, §4.5).

The schema is a real graphql-core schema with Hasura's names (`query_root`, `<table>_bool_exp`, `users_by_pk`,
`insert_users_one`, `update_users`, `update_users_by_pk`, ...), so `__typename` and introspection behave as on a
real server. Field/argument existence is checked first with Hasura's own messages
(`field 'x' not found in type: 'query_root'`, code `validation-failed`), then graphql-core validates the rest.
Resolvers compile the role's row filter (with session variables) and the request's `where` into one parameterized
SQL statement; Postgres renders rows to JSON like Hasura does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import psycopg
from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
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
    value_from_ast_untyped,
)
from graphql.error import GraphQLSyntaxError
from psycopg import sql

from . import sql as pg
from .auth import Session
from .errors import HasuraError
from .metadata import PERMISSION_KINDS, SchemaCache, table_display

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
_SCALARS_BY_PG_TYPE = {
    "int2": GraphQLInt, "int4": GraphQLInt, "float4": GraphQLFloat, "float8": GraphQLFloat, "bool": GraphQLBoolean,
    "text": GraphQLString, "varchar": GraphQLString, "bpchar": GraphQLString, "name": GraphQLString,
    "citext": GraphQLString,
}  # fmt: skip
_STRING_OPERATORS = ("_like", "_nlike", "_ilike", "_nilike", "_similar", "_nsimilar")


# ---------------------------------------------------------------------------------------------------------------
# Permissions of one role on one table
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class TablePermissions:
    """The permissions a role has on a table; admin gets everything with no filter."""

    select_columns: list[str] | None = None  # None = no select permission
    select_filter: dict = field(default_factory=dict)
    select_limit: int | None = None
    insert: dict | None = None
    update: dict | None = None
    delete: dict | None = None


def _columns(spec: Any, table: pg.Table) -> list[str]:
    names = list(table.columns) if spec == "*" else [c for c in spec if c in table.columns]
    return [c for c in names if _NAME.match(c)]


def role_permissions(entry: dict, table: pg.Table, role: str, inconsistent: set[str], source: str) -> TablePermissions:
    if role == "admin":
        every = _columns("*", table)
        full = {"columns": every, "filter": {}, "check": {}, "set": {}}
        return TablePermissions(every, {}, None, full, full, {"filter": {}})
    perms = TablePermissions()
    for kind in PERMISSION_KINDS:
        name = f"permission {table_display(entry['table'])}.{role}.{kind} in source {source}"
        match = next((p for p in entry.get(f"{kind}_permissions", []) if p["role"] == role), None)
        if match is None or name in inconsistent:
            continue
        body = match["permission"]
        if kind == "select":
            perms.select_columns = _columns(body["columns"], table)
            perms.select_filter = body["filter"]
            perms.select_limit = body.get("limit")
        else:
            setattr(perms, kind, {**body, "columns": _columns(body.get("columns", []), table)})
    return perms


# ---------------------------------------------------------------------------------------------------------------
# Schema generation
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class TrackedTable:
    source: str
    table: pg.Table
    perms: TablePermissions
    type_name: str
    root: dict[str, str]  # select, select_by_pk, insert, insert_one, update, update_by_pk, delete, delete_by_pk


class SchemaBuilder:
    """Hasura-named GraphQL types for one role."""

    def __init__(self):
        self.scalars: dict[str, GraphQLScalarType] = {}
        self.comparisons: dict[str, GraphQLInputObjectType] = {}
        self.order_by = GraphQLEnumType(
            "order_by",
            {v: v for v in ("asc", "asc_nulls_first", "asc_nulls_last", "desc", "desc_nulls_first", "desc_nulls_last")},
            description="column ordering options",
        )

    def scalar(self, pg_type: str) -> GraphQLScalarType:
        if pg_type in _SCALARS_BY_PG_TYPE:
            return _SCALARS_BY_PG_TYPE[pg_type]
        if pg_type not in self.scalars:
            self.scalars[pg_type] = GraphQLScalarType(
                pg_type, serialize=lambda v: v, parse_value=lambda v: v,
                parse_literal=lambda node, variables=None: value_from_ast_untyped(node, variables),
            )  # fmt: skip
        return self.scalars[pg_type]

    def comparison(self, scalar: GraphQLScalarType) -> GraphQLInputObjectType:
        name = f"{scalar.name}_comparison_exp"
        if name not in self.comparisons:
            fields = {op: GraphQLInputField(scalar) for op in ("_eq", "_neq", "_gt", "_gte", "_lt", "_lte")}
            fields["_in"] = GraphQLInputField(GraphQLList(GraphQLNonNull(scalar)))
            fields["_nin"] = GraphQLInputField(GraphQLList(GraphQLNonNull(scalar)))
            fields["_is_null"] = GraphQLInputField(GraphQLBoolean)
            if scalar is GraphQLString:
                fields.update({op: GraphQLInputField(scalar) for op in _STRING_OPERATORS})
            self.comparisons[name] = GraphQLInputObjectType(name, fields)
        return self.comparisons[name]

    def build(self, tracked: list[TrackedTable], resolvers: "Resolvers") -> GraphQLSchema:
        query: dict[str, GraphQLField] = {}
        mutation: dict[str, GraphQLField] = {}
        for t in tracked:
            self._table_fields(t, query, mutation, resolvers)
        if not query:
            query["no_queries_available"] = GraphQLField(GraphQLNonNull(GraphQLString), resolve=lambda *_: "")
        query_root = GraphQLObjectType("query_root", query)
        subscription_root = GraphQLObjectType("subscription_root", dict(query))
        mutation_root = GraphQLObjectType("mutation_root", mutation) if mutation else None
        return GraphQLSchema(query=query_root, mutation=mutation_root, subscription=subscription_root)

    def _table_fields(self, t: TrackedTable, query: dict, mutation: dict, resolvers: "Resolvers") -> None:
        table, perms, name = t.table, t.perms, t.type_name
        col_type = {c: self.scalar(table.columns[c].pg_type) for c in table.columns if _NAME.match(c)}
        select_cols = perms.select_columns or []
        object_type = GraphQLObjectType(
            name,
            lambda: {c: GraphQLField(GraphQLNonNull(col_type[c]) if not table.columns[c].nullable else col_type[c])
                     for c in select_cols} or {"_no_fields_accessible": GraphQLField(GraphQLString)},
        )  # fmt: skip
        bool_exp: GraphQLInputObjectType = GraphQLInputObjectType(
            f"{name}_bool_exp",
            lambda: {
                "_and": GraphQLInputField(GraphQLList(GraphQLNonNull(bool_exp))),
                "_not": GraphQLInputField(bool_exp),
                "_or": GraphQLInputField(GraphQLList(GraphQLNonNull(bool_exp))),
                **{c: GraphQLInputField(self.comparison(col_type[c])) for c in select_cols},
            },
        )
        pk_args = {c: GraphQLArgument(GraphQLNonNull(col_type[c])) for c in table.primary_key if c in col_type}
        has_pk = bool(table.primary_key) and len(pk_args) == len(table.primary_key)

        def mutation_response() -> GraphQLObjectType:
            fields = {"affected_rows": GraphQLField(GraphQLNonNull(GraphQLInt))}
            if perms.select_columns is not None:
                fields["returning"] = GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(object_type))))
            return GraphQLObjectType(f"{name}_mutation_response", fields)

        response = None
        if perms.select_columns is not None:
            order_by = GraphQLInputObjectType(
                f"{name}_order_by", {c: GraphQLInputField(self.order_by) for c in select_cols} or
                {"_no_fields_accessible": GraphQLInputField(self.order_by)},
            )  # fmt: skip
            query[t.root["select"]] = GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(object_type))),
                args={
                    "limit": GraphQLArgument(GraphQLInt),
                    "offset": GraphQLArgument(GraphQLInt),
                    "order_by": GraphQLArgument(GraphQLList(GraphQLNonNull(order_by))),
                    "where": GraphQLArgument(bool_exp),
                },
                resolve=resolvers.select(t),
            )
            if has_pk and all(c in select_cols for c in table.primary_key):
                query[t.root["select_by_pk"]] = GraphQLField(object_type, args=pk_args, resolve=resolvers.select_by_pk(t))
        if perms.insert is not None:
            presets = set(perms.insert.get("set") or {})
            insert_input = GraphQLInputObjectType(
                f"{name}_insert_input",
                {c: GraphQLInputField(col_type[c]) for c in perms.insert["columns"] if c not in presets and c in col_type}
                or {"_no_fields_accessible": GraphQLInputField(GraphQLString)},
            )  # fmt: skip
            response = response or mutation_response()
            mutation[t.root["insert"]] = GraphQLField(
                response,
                args={"objects": GraphQLArgument(GraphQLNonNull(GraphQLList(GraphQLNonNull(insert_input))))},
                resolve=resolvers.insert(t, many=True),
            )
            if perms.select_columns is not None:
                mutation[t.root["insert_one"]] = GraphQLField(
                    object_type, args={"object": GraphQLArgument(GraphQLNonNull(insert_input))},
                    resolve=resolvers.insert(t, many=False),
                )  # fmt: skip
        if perms.update is not None:
            presets = set(perms.update.get("set") or {})
            set_input = GraphQLInputObjectType(
                f"{name}_set_input",
                {c: GraphQLInputField(col_type[c]) for c in perms.update["columns"] if c not in presets and c in col_type}
                or {"_no_fields_accessible": GraphQLInputField(GraphQLString)},
            )  # fmt: skip
            response = response or mutation_response()
            mutation[t.root["update"]] = GraphQLField(
                response,
                args={"where": GraphQLArgument(GraphQLNonNull(bool_exp)), "_set": GraphQLArgument(set_input)},
                resolve=resolvers.update(t, by_pk=False),
            )
            if has_pk and perms.select_columns is not None:
                pk_input = GraphQLInputObjectType(
                    f"{name}_pk_columns_input", {c: GraphQLInputField(GraphQLNonNull(col_type[c])) for c in pk_args}
                )
                mutation[t.root["update_by_pk"]] = GraphQLField(
                    object_type,
                    args={"pk_columns": GraphQLArgument(GraphQLNonNull(pk_input)), "_set": GraphQLArgument(set_input)},
                    resolve=resolvers.update(t, by_pk=True),
                )
        if perms.delete is not None:
            response = response or mutation_response()
            mutation[t.root["delete"]] = GraphQLField(
                response, args={"where": GraphQLArgument(GraphQLNonNull(bool_exp))},
                resolve=resolvers.delete(t, by_pk=False),
            )  # fmt: skip
            if has_pk and perms.select_columns is not None:
                mutation[t.root["delete_by_pk"]] = GraphQLField(
                    object_type, args=pk_args, resolve=resolvers.delete(t, by_pk=True)
                )


def root_field_names(entry: dict, table: pg.Table) -> tuple[str, dict[str, str]]:
    """Hasura's default naming (`users`, `users_by_pk`, `insert_users_one`, ...; `<schema>_<table>` outside public),
    with `configuration.custom_name` / `custom_root_fields` applied."""
    configuration = entry.get("configuration", {})
    base = configuration.get("custom_name") or (
        table.name if table.schema == "public" else f"{table.schema}_{table.name}"
    )
    names = {
        "select": base, "select_by_pk": f"{base}_by_pk", "insert": f"insert_{base}",
        "insert_one": f"insert_{base}_one", "update": f"update_{base}", "update_by_pk": f"update_{base}_by_pk",
        "delete": f"delete_{base}", "delete_by_pk": f"delete_{base}_by_pk",
    }  # fmt: skip
    for key, custom in (configuration.get("custom_root_fields") or {}).items():
        if isinstance(custom, dict):
            custom = custom.get("name")
        if custom and key in names:
            names[key] = custom
    return base, names


def build_role_schema(cache: SchemaCache, role: str) -> GraphQLSchema:
    inconsistent = {obj["name"] for obj in cache.inconsistent}
    tracked: list[TrackedTable] = []
    for source in cache.metadata["sources"]:
        state = cache.sources.get(source["name"])
        if state is None or state.catalog is None:
            continue
        for entry in source["tables"]:
            qt = entry["table"]
            table = state.catalog.get(qt["schema"], qt["name"])
            if table is None or f"table {table_display(qt)} in source {source['name']}" in inconsistent:
                continue
            type_name, roots = root_field_names(entry, table)
            perms = role_permissions(entry, table, role, inconsistent, source["name"])
            tracked.append(TrackedTable(source["name"], table, perms, type_name, roots))
    return SchemaBuilder().build(tracked, Resolvers())


# ---------------------------------------------------------------------------------------------------------------
# Execution
# ---------------------------------------------------------------------------------------------------------------


class RequestContext:
    """Per-request state: the session and one transaction per source (all root fields share it, like Hasura's
    single transaction per mutation request)."""

    def __init__(self, session: Session, cache: SchemaCache):
        self.session = session
        self.cache = cache
        self.connections: dict[str, psycopg.Connection] = {}

    def connection(self, source: str) -> psycopg.Connection:
        if source not in self.connections:
            url = self.cache.sources[source].url
            self.connections[source] = pg.connect(url, autocommit=False)
        return self.connections[source]

    def finish(self, commit: bool) -> None:
        for conn in self.connections.values():
            try:
                conn.commit() if commit else conn.rollback()
            finally:
                conn.close()

    def permission_value(self, value: Any) -> Any:
        """Permission operands: `X-Hasura-*` strings are session variables (case-insensitive, §1.9)."""
        if pg.is_session_variable(value):
            return self.session.variable(value)
        if isinstance(value, list):
            return [self.permission_value(v) for v in value]
        return value


def _check_failed(field_name: str, argument: str) -> HasuraError:
    return HasuraError(
        "permission-error", "check constraint of an insert/update permission has failed",
        path=f"$.selectionSet.{field_name}.args.{argument}",
    )  # fmt: skip


def _database_error(exc: psycopg.Error) -> HasuraError:
    state = exc.sqlstate or ""
    message = exc.diag.message_primary or str(exc)
    prefixes = {"23505": "Uniqueness violation. ", "23503": "Foreign key violation. ", "23502": "Not-NULL violation. ",
                "23514": "Check constraint violation. "}  # fmt: skip
    if state in prefixes:
        return HasuraError("constraint-violation", prefixes[state] + message)
    if state.startswith("22"):
        return HasuraError("data-exception", message)
    return HasuraError("unexpected", "database query error", internal=pg.postgres_error_fields(exc))


class Resolvers:
    """Resolver factories; each builds one SQL statement from permissions + arguments."""

    @staticmethod
    def _filter(t: TrackedTable, ctx: RequestContext, exp: dict, params: list) -> sql.Composable:
        return pg.compile_bool_exp(exp, ctx.permission_value, params)

    @staticmethod
    def _run(t: TrackedTable, ctx: RequestContext, query: sql.Composable, params: list) -> list[tuple]:
        conn = ctx.connection(t.source)
        try:
            return conn.execute(query, params).fetchall()
        except psycopg.Error as exc:
            raise _database_error(exc) from None

    def select(self, t: TrackedTable) -> Callable:
        def resolve(_root, info, where=None, limit=None, offset=None, order_by=None):
            ctx: RequestContext = info.context
            params: list = []
            condition = sql.SQL("{} AND {}").format(
                self._filter(t, ctx, t.perms.select_filter, params),
                pg.compile_bool_exp(where or {}, lambda v: v, params),
            )
            limits = [n for n in (limit, t.perms.select_limit) if n is not None]
            query = sql.SQL("SELECT {} FROM {} WHERE {}").format(
                pg.json_row(t.table, t.perms.select_columns), t.table.identifier, condition
            )
            if order_by:
                query += sql.SQL(" ORDER BY ") + _order_by(order_by)
            if limits:
                query += sql.SQL(" LIMIT {}").format(sql.Literal(min(limits)))
            if offset:
                query += sql.SQL(" OFFSET {}").format(sql.Literal(offset))
            return [row[0] for row in self._run(t, ctx, query, params)]

        return resolve

    def select_by_pk(self, t: TrackedTable) -> Callable:
        def resolve(_root, info, **pk):
            ctx: RequestContext = info.context
            params: list = []
            condition = sql.SQL("{} AND {}").format(
                self._filter(t, ctx, t.perms.select_filter, params),
                pg.compile_bool_exp({c: {"_eq": v} for c, v in pk.items()}, lambda v: v, params),
            )
            query = sql.SQL("SELECT {} FROM {} WHERE {}").format(
                pg.json_row(t.table, t.perms.select_columns), t.table.identifier, condition
            )
            rows = self._run(t, ctx, query, params)
            return rows[0][0] if rows else None

        return resolve

    def _returning(self, t: TrackedTable, ctx: RequestContext, params: list, check: dict | None) -> sql.Composable:
        """`RETURNING <row as json>, <check passed>, <visible to the role's select filter>`."""
        check_sql = self._filter(t, ctx, check, params) if check is not None else sql.SQL("true")
        if t.perms.select_columns is None:
            return sql.SQL(" RETURNING '{{}}'::json, {}, false").format(check_sql)
        visible = self._filter(t, ctx, t.perms.select_filter, params)
        return sql.SQL(" RETURNING {}, {}, {}").format(pg.json_row(t.table, t.perms.select_columns), check_sql, visible)

    def _presets(self, ctx: RequestContext, permission: dict) -> dict[str, Any]:
        return {c: ctx.permission_value(v) for c, v in (permission.get("set") or {}).items()}

    def insert(self, t: TrackedTable, *, many: bool) -> Callable:
        field_name = t.root["insert" if many else "insert_one"]

        def insert_row(ctx: RequestContext, obj: dict) -> tuple:
            values = {**obj, **self._presets(ctx, t.perms.insert)}
            params: list = []
            if values:
                for value in values.values():
                    params.append(None if value is None else pg.as_parameter(value))
                query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    t.table.identifier,
                    sql.SQL(", ").join(sql.Identifier(c) for c in values),
                    sql.SQL(", ").join(sql.Placeholder() for _ in values),
                )
            else:
                query = sql.SQL("INSERT INTO {} DEFAULT VALUES").format(t.table.identifier)
            query += self._returning(t, ctx, params, t.perms.insert.get("check") or {})
            (row,) = self._run(t, ctx, query, params)
            if not row[1]:
                raise _check_failed(field_name, "objects" if many else "object")
            return row

        def resolve(_root, info, object=None, objects=None):
            ctx: RequestContext = info.context
            if not many:
                row = insert_row(ctx, object)
                return row[0] if row[2] else None
            rows = [insert_row(ctx, obj) for obj in objects]
            return {"affected_rows": len(rows), "returning": [r[0] for r in rows if r[2]]}

        return resolve

    def update(self, t: TrackedTable, *, by_pk: bool) -> Callable:
        field_name = t.root["update_by_pk" if by_pk else "update"]

        def resolve(_root, info, where=None, pk_columns=None, _set=None):
            ctx: RequestContext = info.context
            permission = t.perms.update
            values = {**(_set or {}), **self._presets(ctx, permission)}
            params: list = []
            if values:
                assignments = []
                for column, value in values.items():
                    params.append(None if value is None else pg.as_parameter(value))
                    assignments.append(sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder()))
                statement = sql.SQL("UPDATE {} SET {}").format(t.table.identifier, sql.SQL(", ").join(assignments))
            else:  # Hasura runs an empty _set as a no-op update; the rows are still returned
                column = sql.Identifier(next(iter(t.table.columns)))
                statement = sql.SQL("UPDATE {} SET {} = {}").format(t.table.identifier, column, column)
            condition = where if not by_pk else {c: {"_eq": v} for c, v in pk_columns.items()}
            statement += sql.SQL(" WHERE {} AND {}").format(
                self._filter(t, ctx, permission.get("filter") or {}, params),
                pg.compile_bool_exp(condition, lambda v: v, params),
            )
            statement += self._returning(t, ctx, params, permission.get("check"))
            rows = self._run(t, ctx, statement, params)
            if not all(row[1] for row in rows):
                raise _check_failed(field_name, "_set")
            if by_pk:
                return rows[0][0] if rows and rows[0][2] else None
            return {"affected_rows": len(rows), "returning": [r[0] for r in rows if r[2]]}

        return resolve

    def delete(self, t: TrackedTable, *, by_pk: bool) -> Callable:
        def resolve(_root, info, where=None, **pk):
            ctx: RequestContext = info.context
            params: list = []
            condition = where if not by_pk else {c: {"_eq": v} for c, v in pk.items()}
            statement = sql.SQL("DELETE FROM {} WHERE {} AND {}").format(
                t.table.identifier,
                self._filter(t, ctx, t.perms.delete.get("filter") or {}, params),
                pg.compile_bool_exp(condition, lambda v: v, params),
            )
            statement += self._returning(t, ctx, params, None)
            rows = self._run(t, ctx, statement, params)
            if by_pk:
                return rows[0][0] if rows and rows[0][2] else None
            return {"affected_rows": len(rows), "returning": [r[0] for r in rows if r[2]]}

        return resolve


_ORDERINGS = {
    "asc": "ASC NULLS LAST", "asc_nulls_first": "ASC NULLS FIRST", "asc_nulls_last": "ASC NULLS LAST",
    "desc": "DESC NULLS FIRST", "desc_nulls_first": "DESC NULLS FIRST", "desc_nulls_last": "DESC NULLS LAST",
}  # fmt: skip


def _order_by(items: list[dict] | dict) -> sql.Composable:
    items = items if isinstance(items, list) else [items]
    parts = [
        sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(_ORDERINGS[direction]))
        for item in items
        for column, direction in item.items()
    ]
    return sql.SQL(", ").join(parts)


# ---------------------------------------------------------------------------------------------------------------
# Request handling
# ---------------------------------------------------------------------------------------------------------------


def operation_type(query: Any, operation_name: Any = None) -> str:
    """`query` / `mutation` / `subscription` for request counting; `unknown` when it cannot be parsed."""
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except (GraphQLError, TypeError):
        return "unknown"
    return operation.operation.value if operation is not None else "unknown"


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


def run_graphql(schema: GraphQLSchema, cache: SchemaCache, session: Session, body: Any) -> dict[str, Any]:
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
        raise _validation_failed(errors[0].message)
    context = RequestContext(session, cache)
    result = execute(
        schema, document, context_value=context, variable_values=body.get("variables") or None,
        operation_name=body.get("operationName"),
    )  # fmt: skip
    context.finish(commit=not result.errors)
    if result.errors:
        error = result.errors[0]
        if isinstance(error.original_error, HasuraError):
            raise error.original_error
        if error.original_error is None:  # variable coercion and similar request errors
            raise _validation_failed(error.message)
        raise HasuraError("unexpected", str(error.original_error))
    return {"data": result.data}
