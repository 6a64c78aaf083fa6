"""`POST /v2/query` — the schema API: `run_sql` (and `bulk` of it, as the CLI sends migrations) (hasura.md §1.10).

The SQL runs through libpq's simple-query protocol in one transaction, so several `;`-separated statements work
and only the last result is returned, as on the real server. Whether the schema cache is rebuilt afterwards
follows the server's rule (Hasura/Backends/Postgres/DDL/RunSQL.hs isSchemaCacheBuildRequiredRunSQL): never for
`read_only`; else `check_metadata_consistency` when given (the Hasura CLI sends `false` with every migration);
else only when the SQL contains a DDL keyword that can change metadata (`alter`, `drop`, `replace`,
`create function`, `comment on`). When rebuilt, SQL that breaks tracked objects is rolled back with
`dependency-error` — or, with `cascade: true`, the dependent metadata is dropped (issues #4717/#5493).
`no_transaction: true` (docs run-sql.mdx "no_transaction flag"; issue #10707) sends the SQL without BEGIN/COMMIT,
so a lone `CREATE INDEX CONCURRENTLY` runs; a rebuild then cannot roll anything back, and objects the SQL broke
show up as inconsistent.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import psycopg
from psycopg import pq

from . import sql as pg
from .admin_api import AdminApi
from .errors import HasuraError
from .metadata import build_schema_cache, find_inconsistencies, parse_failed, table_display

RUN_SQL_TYPES = frozenset({"run_sql", "pg_run_sql", "citus_run_sql", "cockroach_run_sql"})
#: The server's "(fairly stupid) heuristic" for SQL that may change metadata (RunSQL.hs containsDDLKeyword).
_DDL_KEYWORD = re.compile(r"\balter\b|\bdrop\b|\breplace\b|\bcreate function\b|\bcomment on\b", re.IGNORECASE)


def rebuilds_schema_cache(args: dict[str, Any]) -> bool:
    """RunSQL.hs isSchemaCacheBuildRequiredRunSQL: read-only never; else the flag when given, else DDL keywords."""
    if args.get("read_only", False):
        return False
    flag = args.get("check_metadata_consistency")
    return bool(flag) if flag is not None else bool(_DDL_KEYWORD.search(args["sql"]))


def _dependency_name(obj: dict[str, Any]) -> str:
    """`permission users.user.select` / `table users` (the inconsistent-object name without its source)."""
    return obj["name"].rsplit(" in source ", 1)[0]


class SchemaApi(AdminApi):
    @classmethod
    def writes(cls, query: dict[str, Any]) -> bool:
        return not bool((query.get("args") or {}).get("read_only", False))

    def run(self, query: Any) -> Any:
        kind = self.query_type(query)
        if kind == "bulk":
            return [self.run(child) for child in query.get("args") or []]
        if kind not in RUN_SQL_TYPES:
            raise parse_failed(f'unknown query type "{kind}"', "$.type")
        return self.run_sql(query.get("args"))

    def run_sql(self, args: Any) -> Any:
        """§1.10: `{"result_type":"TuplesOk","result":[[names],[text values]...]}` or
        `{"result_type":"CommandOk","result":null}`; Postgres errors → 400 `postgres-error` with the statement."""
        if not isinstance(args, dict) or not isinstance(args.get("sql"), str):
            raise parse_failed('key "sql" not found', "$.args")
        source_name = args.get("source", "default")
        read_only = bool(args.get("read_only", False))
        cascade = bool(args.get("cascade", False))
        in_transaction = not args.get("no_transaction", False)
        rebuild = rebuilds_schema_cache(args)
        with self.engine.lock:
            cache = self.engine.cache
            state = cache.sources.get(source_name)
            if state is None:
                raise HasuraError("not-exists", f'source with name "{source_name}" does not exist', path="$.args")
            if state.url is None:
                raise HasuraError("unexpected", f'source "{source_name}" is inconsistent: {state.error}', path="$.args")
            # On the source's pool, as Hasura runs it (runRunSQL → the source's PGExecCtx, server/src-lib/Hasura/
            # Backends/Postgres/DDL/RunSQL.hs): a pod that outlives a password change still answers on a kept
            # connection while a rollout replaces it.
            conn = self.engine.pool.take(state.url)
            try:
                body, metadata = self._execute(conn, args["sql"], source_name, read_only=read_only,
                                               in_transaction=in_transaction, settle=rebuild, cascade=cascade)
            finally:
                if conn.pgconn.transaction_status != pq.TransactionStatus.IDLE:
                    conn.close()  # left mid-transaction by a crash: never handed out again
                self.engine.pool.give_back(state.url, conn)
            if rebuild:
                rebuilt = build_schema_cache(
                    metadata, cache.resource_version, self.engine.env, cache, reload_sources=[source_name]
                )
                if metadata is not cache.metadata:
                    rebuilt.resource_version = self.engine.store.save(metadata)
                self.engine.install(rebuilt)
        return body

    def _execute(self, conn: psycopg.Connection, statement: str, source_name: str, *, read_only: bool,
                 in_transaction: bool, settle: bool, cascade: bool) -> tuple[Any, dict[str, Any]]:
        if in_transaction:
            conn.pgconn.exec_(b"BEGIN READ ONLY" if read_only else b"BEGIN")
        result = conn.pgconn.exec_(statement.encode())
        if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
            if in_transaction:
                conn.pgconn.exec_(b"ROLLBACK")
            raise _postgres_error(result, statement)
        body = _result_body(result)
        metadata = self.engine.cache.metadata
        if settle and in_transaction:
            metadata = self._settle_dependencies(conn, source_name, cascade)
        if in_transaction:
            conn.pgconn.exec_(b"COMMIT")
        return body, metadata

    def _settle_dependencies(self, conn: psycopg.Connection, source_name: str, cascade: bool) -> dict[str, Any]:
        """Objects the SQL broke: roll back (dependency-error) or, with cascade, drop them from metadata."""
        cache = self.engine.cache
        states = dict(cache.sources)
        fresh = copy.copy(states[source_name])
        fresh.catalog = pg.introspect(conn)
        states[source_name] = fresh
        before = {obj["name"] for obj in cache.inconsistent}
        broken = [obj for obj in find_inconsistencies(cache.metadata, states, cache.env) if obj["name"] not in before]
        if not broken:
            return cache.metadata
        if not cascade:
            conn.pgconn.exec_(b"ROLLBACK")
            names = ", ".join(_dependency_name(obj) for obj in broken)
            raise HasuraError(
                "dependency-error", f"cannot drop due to the following dependent objects: {names}", path="$.args"
            )
        names = {obj["name"] for obj in broken}
        metadata = copy.deepcopy(cache.metadata)
        for source in metadata["sources"]:
            if source["name"] != source_name:
                continue
            kept = []
            for entry in source["tables"]:
                shown = table_display(entry["table"])
                if f"table {shown} in source {source_name}" in names:
                    continue
                for key in [k for k in entry if k.endswith("_permissions")]:
                    kind = key.removesuffix("_permissions")
                    entry[key] = [
                        p for p in entry[key] if f"permission {shown}.{p['role']}.{kind} in source {source_name}" not in names
                    ]  # fmt: skip
                    if not entry[key]:
                        del entry[key]
                kept.append(entry)
            source["tables"] = kept
        return metadata


def _result_body(result: pq.PGresult) -> dict[str, Any]:
    if result.status != pq.ExecStatus.TUPLES_OK:
        return {"result_type": "CommandOk", "result": None}
    names = [result.fname(i).decode() for i in range(result.nfields)]
    rows = [
        [None if (v := result.get_value(r, c)) is None else v.decode() for c in range(result.nfields)]
        for r in range(result.ntuples)
    ]
    return {"result_type": "TuplesOk", "result": [names, *rows]}


def _postgres_error(result: pq.PGresult, statement: str) -> HasuraError:
    def field(code: int) -> str | None:
        value = result.error_field(code)
        return value.decode() if value is not None else None

    return HasuraError(
        "postgres-error",
        "query execution failed",
        path="$",
        internal={
            "arguments": [],
            "error": {
                "description": field(pq.DiagnosticField.MESSAGE_DETAIL),
                "exec_status": "FatalError",
                "hint": field(pq.DiagnosticField.MESSAGE_HINT),
                "message": field(pq.DiagnosticField.MESSAGE_PRIMARY),
                "status_code": field(pq.DiagnosticField.SQLSTATE),
            },
            "prepared": False,
            "statement": statement,
        },
    )
