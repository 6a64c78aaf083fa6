"""`clerk-hasura status`: each migration of `metadata/migrations`, applied or not, per source —
what `hasura migrate status` shows, from the one record both tools read (`components.hasura.migration_state`):
Hasura's catalog state once it is the record (`isStateCopyCompleted`), so a migration rolled back or deleted with
the Hasura CLI is "Not Present" in the database even though `hdb_catalog.schema_migrations` still has the row of
its earlier run (shown as stale); before that, also the table, which older deploys wrote. A migration recorded
only in the table then is applied, but the Hasura CLI does not see it until the next deploy copies it over.

Unlike `hasura migrate status`, which shows a dirty version as plain Present (only `hasura migrate apply` stops
on it), a dirty version is shown as such, with what resolves it: a deploy when its SQL committed (its row is in
hdb_catalog.schema_migrations), otherwise the Hasura CLI commands (`migration_state.dirty_resolution`).

Where Hasura is, its admin secret and the stack's project (its `metadataDir`) come from the stack outputs piped on
stdin or read with `--stack`, or `--hasura-url`, the environment and `--project-dir` (default `metadata/`), as for
the drift command.
Reads only. Exit codes: 0 every migration is present on both sides and none is dirty, 1 otherwise (each listed), 2
the status could not be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.cli.stack import ENV_ADMIN_SECRET, add_hasura_arguments, hasura_endpoint, shown_folder, \
    stack_outputs, stack_project_dir
from components.errors import ClerkHasuraError
from components.hasura.client import HasuraClient
from components.hasura.project import load_project
from components.hasura.model import MetadataProject
from components.hasura.migration_state import MIGRATIONS_TABLE, dirty_resolution, read_cli_state, \
    read_source_records

EXIT_IN_SYNC, EXIT_NOT_IN_SYNC, EXIT_COULD_NOT_READ = 0, 1, 2
_COLUMNS = ("VERSION", "NAME", "SOURCE STATUS", "DATABASE STATUS", "RECORDED IN")


@dataclass(frozen=True)
class MigrationStatus:
    source: str
    version: int
    name: str | None
    """The local migration's name; None when only the server has the version."""
    applied: bool
    dirty: bool
    recorded_in: tuple[str, ...]
    stale: bool = False
    """Rolled back or deleted with the Hasura CLI: only a stale row of an earlier run is left in the table."""
    dirty_fix: str = ""
    """For a dirty version: why, and what resolves it (`dirty_resolution`)."""

    @property
    def in_sync(self) -> bool:
        return self.name is not None and self.applied and not self.dirty


def migration_status(client: HasuraClient, project: MetadataProject) -> list[MigrationStatus]:
    """Every migration either side knows, by source then version."""
    cli_state = read_cli_state(client)
    recorded = cli_state.get("migrations")
    recorded_sources = set(recorded) if isinstance(recorded, dict) else set()
    statuses = []
    for source in sorted({m.source for m in project.migrations} | recorded_sources | {"default"}):
        local = {m.version: m.name for m in project.migrations if m.source == source}
        records = read_source_records(client, source, cli_state)
        applied = {m.version: m for m in records.applied()}
        stale = set(records.stale())
        for version in sorted(set(local) | set(applied)):
            record = applied.get(version)
            table = f"{MIGRATIONS_TABLE} (stale)" if version in stale else MIGRATIONS_TABLE
            where = tuple(name for name, has in (("catalog state", version in records.catalog_state),
                                                 (table, version in records.table)) if has)
            statuses.append(MigrationStatus(source, version, local.get(version), record is not None,
                                            bool(record and record.dirty), where, version in stale,
                                            dirty_resolution(source, record) if record and record.dirty else ""))
    return statuses


def removed_lines_notes(project: MetadataProject) -> list[str]:
    """One note per migration the deploy runs without its `\\restrict` / `\\unrestrict` lines, which `hasura
    migrate apply` would send as they are (and fail on)."""
    return [f"note: {m.path} has {', '.join(f'`{line}`' for line in m.removed_lines)} (psql meta-commands "
            "pg_dump 17.6+ writes): the deploy leaves them out, `hasura migrate apply` fails on them (42601). Fix: "
            "delete those lines" for m in project.migrations if m.removed_lines]


def render(url: str, folder: str, statuses: list[MigrationStatus], notes: list[str] | None = None) -> str:
    lines = [f"Migrations of {folder} on Hasura at {url}:"]
    for source in sorted({s.source for s in statuses}):
        rows = [_COLUMNS] + [(str(s.version), s.name or "-", "Present" if s.name is not None else "Not Present",
                              ("Present (dirty)" if s.dirty else "Present") if s.applied else "Not Present",
                              ", ".join(s.recorded_in) or "-") for s in statuses if s.source == source]
        widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
        lines.append(f"database {source}")
        lines += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                  for row in rows]
    if not statuses:
        lines.append("  no migrations, locally or on the server")
    lines += notes or []
    lines += [f"dirty: {s.source}/{s.version} {s.dirty_fix}" for s in statuses if s.dirty]
    lines.append(_summary(statuses))
    return "\n".join(lines)


def _summary(statuses: list[MigrationStatus]) -> str:
    if all(s.in_sync for s in statuses):
        return f"Result: in sync - every migration is applied ({len(statuses)})"
    rolled_back = sum(s.stale and s.name is not None for s in statuses)
    parts = [f"{count} {what}" for count, what in (
        (sum(s.name is not None and not s.applied for s in statuses),
         "not applied (`scripts/deploy <stack>` applies them)"
         + (f", {rolled_back} of them rolled back or deleted with the Hasura CLI (to keep that, remove them from "
            "metadata/migrations too)" if rolled_back else "")),
        (sum(s.dirty for s in statuses), "dirty (each listed above with what resolves it)"),
        (sum(s.name is None for s in statuses), "applied on the server but not in metadata/migrations"),
    ) if count]
    return "Result: NOT in sync - " + "; ".join(parts)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "status", help="each migration, applied or not, per source (as `hasura migrate status`)",
        description="Show each migration of metadata/migrations, applied or not, per source, as `hasura migrate "
                    f"status` does. The admin secret comes from {ENV_ADMIN_SECRET} or from the stack outputs "
                    "(--stack, or `clerk-hasura outputs <stack> --show-secrets` piped into stdin). Exit 0 in sync, 1 "
                    "not in sync, 2 "
                    "could not read.",
    )
    add_hasura_arguments(parser, project_dir_help=(
        "the Hasura CLI project whose migrations to list (default: the stack output metadataDir, relative to this "
        "repository; with no stack outputs, this repository's metadata/)"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, stdin: Any, environ: Mapping[str, str]) -> int:
    secret = None
    try:
        outputs = stack_outputs(args.stack, stdin, environ)
        endpoint = hasura_endpoint(args.hasura_url, outputs, environ)
        secret = endpoint.admin_secret
        project_dir = stack_project_dir(args.project_dir, outputs)
        project = load_project(project_dir, validate=False)
        with HasuraClient(endpoint.url, endpoint.admin_secret, retry_seconds=args.wait) as client:
            statuses = migration_status(client, project)
    except ClerkHasuraError as error:
        message = str(error).replace(secret, "[secret]") if secret else str(error)
        print(f"status could not be read: {message}", file=sys.stderr)
        return EXIT_COULD_NOT_READ
    print(render(endpoint.url, shown_folder(project_dir), statuses, removed_lines_notes(project)))
    return EXIT_IN_SYNC if all(s.in_sync for s in statuses) else EXIT_NOT_IN_SYNC
