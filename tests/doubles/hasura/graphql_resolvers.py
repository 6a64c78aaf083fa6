"""Root-field resolvers: each compiles the role's permission (row filter with session variables, check, presets)
and the request's arguments into one parameterized SQL statement (hasura.md §1.9).

Postgres renders rows as JSON (`json_build_object`), exactly as Hasura's generated SQL does, and all root fields
of a request share one transaction per source, committed only when every field succeeded.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import psycopg
from psycopg import sql

from . import sql as pg
from .auth import Session
from .errors import HasuraError
from .graphql_schema import TrackedTable
from .metadata import SchemaCache


class RequestContext:
    """Per-request state: the session and one transaction per source (all root fields share it, like Hasura's
    single transaction per mutation request)."""

    def __init__(self, session: Session, cache: SchemaCache, pool: pg.ConnectionPool,
                 headers: Mapping[str, str] | None = None, request_query: str = ""):
        self.session = session
        self.cache = cache
        self.pool = pool
        #: The client's request headers and query text, which an action forwards to its handler.
        self.headers = dict(headers or {})
        self.request_query = request_query
        self.connections: dict[str, tuple[str, psycopg.Connection]] = {}

    def connection(self, source: str) -> psycopg.Connection:
        if source not in self.connections:
            url = self.cache.sources[source].url
            self.connections[source] = (url, self.pool.take(url))
        return self.connections[source][1]

    def finish(self, commit: bool) -> None:
        for url, conn in self.connections.values():
            try:
                conn.commit() if commit else conn.rollback()
            except psycopg.Error:
                conn.close()
            self.pool.give_back(url, conn)

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


def _as_given(value: Any) -> Any:
    """Request arguments are literal values: only permissions read session variables (§1.9)."""
    return value


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
    def _filter(ctx: RequestContext, exp: dict, params: list) -> sql.Composable:
        """A permission's boolean expression, with session variables substituted."""
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
                self._filter(ctx, t.perms.select_filter, params),
                pg.compile_bool_exp(where or {}, _as_given, params),
            )
            limits = [n for n in (limit, t.perms.select_limit) if n is not None]
            query = sql.SQL("SELECT {} FROM {} WHERE {}").format(
                pg.json_row(t.table, t.perms.select_columns), t.table.identifier, condition
            )
            if order_by:
                query += sql.SQL(" ORDER BY ") + _order_by(order_by)
            if limits:
                query += sql.SQL(" LIMIT {}").format(sql.Placeholder())
                params.append(pg.as_parameter(min(limits)))
            if offset:
                query += sql.SQL(" OFFSET {}").format(sql.Placeholder())
                params.append(pg.as_parameter(offset))
            return [row[0] for row in self._run(t, ctx, query, params)]

        return resolve

    def select_by_pk(self, t: TrackedTable) -> Callable:
        def resolve(_root, info, **pk):
            ctx: RequestContext = info.context
            params: list = []
            condition = sql.SQL("{} AND {}").format(
                self._filter(ctx, t.perms.select_filter, params),
                pg.compile_bool_exp({c: {"_eq": v} for c, v in pk.items()}, _as_given, params),
            )
            query = sql.SQL("SELECT {} FROM {} WHERE {}").format(
                pg.json_row(t.table, t.perms.select_columns), t.table.identifier, condition
            )
            rows = self._run(t, ctx, query, params)
            return rows[0][0] if rows else None

        return resolve

    def _returning(self, t: TrackedTable, ctx: RequestContext, params: list, check: dict | None) -> sql.Composable:
        """`RETURNING <row as json>, <check passed>, <visible to the role's select filter>`."""
        check_sql = self._filter(ctx, check, params) if check is not None else sql.SQL("true")
        if t.perms.select_columns is None:
            return sql.SQL(" RETURNING '{{}}'::json, {}, false").format(check_sql)
        visible = self._filter(ctx, t.perms.select_filter, params)
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
                self._filter(ctx, permission.get("filter") or {}, params),
                pg.compile_bool_exp(condition, _as_given, params),
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
                self._filter(ctx, t.perms.delete.get("filter") or {}, params),
                pg.compile_bool_exp(condition, _as_given, params),
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
