"""Per-role GraphQL schema generated from tracked tables and permissions (hasura.md §1.9, §4.5).

A real graphql-core schema with Hasura's names (`query_root`, `users`, `users_by_pk`, `users_bool_exp`,
`insert_users_one`, `update_users`, `update_users_by_pk`, ...; `<schema>_<table>` outside `public`), so
`__typename` and introspection (`__schema { types { name } }`) behave as on a real server. A role sees only the
tables and columns its permissions grant; admin sees everything. Actions (actions.py) are root fields of the roles
their permissions name, and of admin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
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
    value_from_ast_untyped,
)

from . import sql as pg
from .actions import action_fields
from .metadata import PERMISSION_KINDS, SchemaCache, table_display

if TYPE_CHECKING:
    from .graphql_resolvers import Resolvers

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
_SCALARS_BY_PG_TYPE = {
    "int4": GraphQLInt, "float4": GraphQLFloat, "bool": GraphQLBoolean, "text": GraphQLString,
    "varchar": GraphQLString, "name": GraphQLString, "citext": GraphQLString,
}  # fmt: skip
_SCALAR_NAMES = {"int2": "smallint", "int8": "bigint", "float8": "float8"}  # Hasura's names for other pg types
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


def role_permissions(entry: dict, table: pg.Table, role: str, inconsistent: set[str], source: str,
                     backend_only_permissions: bool = False) -> TablePermissions:
    """A backend_only insert/update/delete permission counts only in the backend scenario (auth.py
    backend_only_access); in the frontend one the role has no such mutation at all."""
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
        if body.get("backend_only") and not backend_only_permissions:
            continue
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
        name = _SCALAR_NAMES.get(pg_type, pg_type)
        if name not in self.scalars:
            self.scalars[name] = GraphQLScalarType(
                name, serialize=lambda v: v, parse_value=lambda v: v,
                parse_literal=lambda node, variables=None: value_from_ast_untyped(node, variables),
            )  # fmt: skip
        return self.scalars[name]

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

    def build(self, tracked: list[TrackedTable], resolvers: Resolvers,
              actions: tuple[dict[str, GraphQLField], dict[str, GraphQLField]] = ({}, {})) -> GraphQLSchema:
        """Table fields, then the role's actions (query actions on query_root, not on subscription_root: only
        asynchronous actions' results can be subscribed to)."""
        query: dict[str, GraphQLField] = {}
        mutation: dict[str, GraphQLField] = {}
        for t in tracked:
            self._table_fields(t, query, mutation, resolvers)
        subscription = dict(query)
        query.update(actions[0])
        mutation.update(actions[1])
        if not query:
            query["no_queries_available"] = GraphQLField(GraphQLNonNull(GraphQLString), resolve=lambda *_: "")
        query_root = GraphQLObjectType("query_root", query)
        subscription_root = GraphQLObjectType("subscription_root", subscription or dict(query))
        mutation_root = GraphQLObjectType("mutation_root", mutation) if mutation else None
        return GraphQLSchema(query=query_root, mutation=mutation_root, subscription=subscription_root)

    def _table_fields(self, t: TrackedTable, query: dict, mutation: dict, resolvers: Resolvers) -> None:
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

        def settable_input(type_name: str, permission: dict) -> GraphQLInputObjectType:
            """The columns a role may give values for: the permission's columns, less those it presets."""
            presets = set(permission.get("set") or {})
            return GraphQLInputObjectType(
                type_name,
                {c: GraphQLInputField(col_type[c]) for c in permission["columns"] if c not in presets and c in col_type}
                or {"_no_fields_accessible": GraphQLInputField(GraphQLString)},
            )  # fmt: skip

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
            insert_input = settable_input(f"{name}_insert_input", perms.insert)
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
            set_input = settable_input(f"{name}_set_input", perms.update)
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


def build_role_schema(cache: SchemaCache, role: str, resolvers: Resolvers,
                      backend_only_permissions: bool = False) -> GraphQLSchema:
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
            perms = role_permissions(entry, table, role, inconsistent, source["name"], backend_only_permissions)
            tracked.append(TrackedTable(source["name"], table, perms, type_name, roots))
    builder = SchemaBuilder()
    actions = action_fields(cache.metadata, role, inconsistent, builder.scalar, cache.env)
    return builder.build(tracked, resolvers, actions)
