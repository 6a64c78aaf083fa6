"""PostgreSQL access for the double: connections, catalog introspection, boolean expressions → SQL.

Every value reaches Postgres as a bound parameter of "unknown" type so Postgres casts it to the column's type,
just as Hasura's prepared statements do; identifiers are always quoted with psycopg.sql.Identifier.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import psycopg
from psycopg import sql
from psycopg.types.string import StrDumperUnknown

from .errors import HasuraError


def connect(url: str, *, autocommit: bool = True, connect_timeout: int = 5) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=connect_timeout)
    conn.adapters.register_dumper(str, StrDumperUnknown)
    return conn


class ConnectionPool:
    """Connections kept between requests (GraphQL's per source, /healthz's to the metadata database), as the server's
    pools keep them (a source's `pool_settings`: `idle_timeout` 180 s, `connection_lifetime` 600 s by default, as
    hasura.md's exported sources show them): a connection opened before a password change keeps working (PostgreSQL
    checks a password at connection time only), and one that broke is replaced rather than handed out."""

    IDLE_TIMEOUT_SECONDS = 180
    CONNECTION_LIFETIME_SECONDS = 600

    def __init__(self) -> None:
        self._idle: dict[str, list[tuple[psycopg.Connection, float, float]]] = {}
        self._opened: dict[int, float] = {}
        self._lock = threading.Lock()

    def take(self, url: str, *, connect_timeout: int = 5) -> psycopg.Connection:
        """A transaction-mode connection to `url`: a kept one that still answers, or a new one."""
        while True:
            with self._lock:
                idle = self._idle.get(url) or []
                entry = idle.pop() if idle else None
            if entry is None:
                conn = connect(url, autocommit=False, connect_timeout=connect_timeout)
                # No server-side prepared statements: a kept one would fail once a migration changes its table.
                conn.prepare_threshold = None
                self._opened[id(conn)] = time.monotonic()
                return conn
            conn, opened, used = entry
            now = time.monotonic()
            if now - opened < self.CONNECTION_LIFETIME_SECONDS and now - used < self.IDLE_TIMEOUT_SECONDS:
                try:
                    conn.execute("SELECT 1")
                    conn.rollback()
                    self._opened[id(conn)] = opened
                    return conn
                except psycopg.Error:
                    pass
            conn.close()

    def give_back(self, url: str, conn: psycopg.Connection) -> None:
        opened = self._opened.pop(id(conn), time.monotonic())
        if conn.closed or conn.broken:
            conn.close()
            return
        with self._lock:
            self._idle.setdefault(url, []).append((conn, opened, time.monotonic()))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for entries in idle.values():
            for conn, _, _ in entries:
                conn.close()


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str  # pg_type.typname, e.g. int4, text, uuid, timestamptz
    nullable: bool
    has_default: bool


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: dict[str, Column]
    primary_key: tuple[str, ...]

    @property
    def identifier(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def display(self) -> str:
        """Hasura's text for a qualified table: `users` in public, `schema.table` elsewhere."""
        return self.name if self.schema == "public" else f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key constraint: `columns` of `table` reference `ref_columns` of `ref_table` (same order)."""

    table: tuple[str, str]
    name: str
    ref_table: tuple[str, str]
    columns: tuple[str, ...]
    ref_columns: tuple[str, ...]


@dataclass
class Catalog:
    tables: dict[tuple[str, str], Table] = field(default_factory=dict)
    foreign_keys: list[ForeignKey] = field(default_factory=list)

    def get(self, schema: str, name: str) -> Table | None:
        return self.tables.get((schema, name))


_CATALOG_QUERY = """
select n.nspname, c.relname, a.attname, t.typname, not a.attnotnull, a.atthasdef,
       coalesce(a.attnum = any(pk.conkey), false)
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
join pg_type t on t.oid = a.atttypid
left join pg_constraint pk on pk.conrelid = c.oid and pk.contype = 'p'
where c.relkind in ('r', 'v', 'm', 'f', 'p')
  and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
order by n.nspname, c.relname, a.attnum
"""


_FOREIGN_KEY_QUERY = """
select n.nspname, c.relname, con.conname, rn.nspname, rc.relname,
       array(select a.attname from unnest(con.conkey) with ordinality k(attnum, i)
             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.i),
       array(select a.attname from unnest(con.confkey) with ordinality k(attnum, i)
             join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum order by k.i)
from pg_constraint con
join pg_class c on c.oid = con.conrelid join pg_namespace n on n.oid = c.relnamespace
join pg_class rc on rc.oid = con.confrelid join pg_namespace rn on rn.oid = rc.relnamespace
where con.contype = 'f'
order by n.nspname, c.relname, con.conname
"""


def introspect(conn: psycopg.Connection) -> Catalog:
    """Tables, views, their columns, primary keys and foreign keys, as Hasura's source introspection sees them."""
    rows = conn.execute(_CATALOG_QUERY).fetchall()
    foreign_keys = [ForeignKey((schema, name), constraint, (ref_schema, ref_name), tuple(cols), tuple(ref_cols))
                    for schema, name, constraint, ref_schema, ref_name, cols, ref_cols
                    in conn.execute(_FOREIGN_KEY_QUERY).fetchall()]
    columns: dict[tuple[str, str], dict[str, Column]] = {}
    keys: dict[tuple[str, str], list[str]] = {}
    for schema, name, column, typname, nullable, has_default, in_pk in rows:
        columns.setdefault((schema, name), {})[column] = Column(column, typname, nullable, has_default)
        keys.setdefault((schema, name), [])
        if in_pk:
            keys[(schema, name)].append(column)
    return Catalog(
        {key: Table(key[0], key[1], cols, tuple(keys[key])) for key, cols in columns.items()}, foreign_keys
    )


def as_parameter(value: Any) -> str:
    """Text form Postgres casts from an unknown-typed parameter (Hasura sends GraphQL values the same way)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def is_session_variable(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith("x-hasura-")


ValueResolver = Callable[[Any], Any]

_COMPARISONS = {
    "_eq": "=",
    "_neq": "<>",
    "_ne": "<>",
    "_gt": ">",
    "_lt": "<",
    "_gte": ">=",
    "_lte": "<=",
    "_like": "LIKE",
    "_nlike": "NOT LIKE",
    "_ilike": "ILIKE",
    "_nilike": "NOT ILIKE",
    "_similar": "SIMILAR TO",
    "_nsimilar": "NOT SIMILAR TO",
}
_COLUMN_COMPARISONS = {"_ceq": "=", "_cne": "<>", "_cneq": "<>", "_cgt": ">", "_clt": "<", "_cgte": ">=", "_clte": "<="}
OPERATORS = frozenset(_COMPARISONS) | frozenset(_COLUMN_COMPARISONS) | {"_in", "_nin", "_is_null"}


class BoolExpError(ValueError):
    """A boolean expression names a column or operator that does not exist (a metadata inconsistency)."""


def bool_exp_columns(exp: Any, relationships: frozenset[str] = frozenset()) -> list[str]:
    """Columns a boolean expression refers to, for the consistency check; raises BoolExpError on bad operators.
    A key naming one of the table's `relationships` holds an expression on the related table, not checked here."""
    if not isinstance(exp, dict):
        raise BoolExpError(f"expected an object for a boolean expression, got {json.dumps(exp)}")
    found: list[str] = []
    for key, value in exp.items():
        if key in relationships:
            continue
        if key in ("_and", "_or"):
            for item in value if isinstance(value, list) else [value]:
                found += bool_exp_columns(item, relationships)
        elif key == "_not":
            found += bool_exp_columns(value, relationships)
        elif key == "_exists":
            raise BoolExpError("_exists is not supported by the test double")
        else:
            found.append(key)
            if not isinstance(value, dict):
                raise BoolExpError(f'expected an object of operators for column "{key}"')
            for op, operand in value.items():
                if op not in OPERATORS:
                    raise BoolExpError(f'"{op}" is not a valid operator for column "{key}"')
                if op in _COLUMN_COMPARISONS:
                    found.append(operand)
    return found


def compile_bool_exp(exp: dict, resolve: ValueResolver, params: list[Any]) -> sql.Composable:
    """A Hasura boolean expression as a SQL condition; values go to `params` (placeholders in the SQL).

    `resolve` turns an operand into the value to bind: identity for GraphQL `where` arguments, session variable
    substitution for permission filters (§1.9).
    """
    conditions: list[sql.Composable] = []
    for key, value in exp.items():
        if key == "_and":
            items = value if isinstance(value, list) else [value]
            conditions.append(_join([compile_bool_exp(i, resolve, params) for i in items], "AND", "true"))
        elif key == "_or":
            items = value if isinstance(value, list) else [value]
            conditions.append(_join([compile_bool_exp(i, resolve, params) for i in items], "OR", "false"))
        elif key == "_not":
            conditions.append(sql.SQL("(NOT {})").format(compile_bool_exp(value, resolve, params)))
        else:
            column = sql.Identifier(key)
            for op, operand in value.items():
                conditions.append(_compile_comparison(column, op, operand, resolve, params))
    return _join(conditions, "AND", "true")


def _join(parts: list[sql.Composable], keyword: str, empty: str) -> sql.Composable:
    if not parts:
        return sql.SQL(empty)
    return sql.SQL("(") + sql.SQL(f" {keyword} ").join(parts) + sql.SQL(")")


def _compile_comparison(column, op: str, operand: Any, resolve: ValueResolver, params: list[Any]) -> sql.Composable:
    if op == "_is_null":
        is_null = resolve(operand)
        return sql.SQL("({} IS NULL)" if is_null in (True, "true") else "({} IS NOT NULL)").format(column)
    if op in _COLUMN_COMPARISONS:
        return sql.SQL("({} {} {})").format(column, sql.SQL(_COLUMN_COMPARISONS[op]), sql.Identifier(operand))
    if op in ("_in", "_nin"):
        values = resolve(operand)
        if isinstance(values, str):  # a session variable holding a Postgres array literal, e.g. "{1,2}"
            params.append(values)
            template = "({} = ANY({}))" if op == "_in" else "(NOT ({} = ANY({})))"
            return sql.SQL(template).format(column, sql.Placeholder())
        if not values:
            return sql.SQL("false" if op == "_in" else "true")
        placeholders = []
        for item in values:
            params.append(as_parameter(item))
            placeholders.append(sql.Placeholder())
        keyword = "IN" if op == "_in" else "NOT IN"
        return sql.SQL("({} {} ({}))").format(column, sql.SQL(keyword), sql.SQL(", ").join(placeholders))
    value = resolve(operand)
    if value is None:
        raise HasuraError("validation-failed", f'unexpected null value for operator "{op}"')
    params.append(as_parameter(value))
    return sql.SQL("({} {} {})").format(column, sql.SQL(_COMPARISONS[op]), sql.Placeholder())


def json_row(table: Table, columns: list[str]) -> sql.Composable:
    """`json_build_object('col', "col", ...)`: Postgres renders values exactly as Hasura's JSON output does."""
    if not columns:
        return sql.SQL("'{}'::json")
    pairs = [sql.SQL("{}, {}").format(sql.Literal(c), sql.Identifier(c)) for c in columns]
    return sql.SQL("json_build_object({})").format(sql.SQL(", ").join(pairs))


def postgres_error_fields(error: psycopg.Error) -> dict[str, Any]:
    diag = error.diag
    return {
        "description": diag.message_detail,
        "exec_status": "FatalError",
        "hint": diag.message_hint,
        "message": diag.message_primary,
        "status_code": diag.sqlstate,
    }
