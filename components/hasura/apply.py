"""Applying a metadata project to Hasura: migrations once each, then the metadata, never half-applied.

Pure orchestration over `HasuraClient` (no Pulumi). Order and guarantees:

1. Wait until Hasura answers `/healthz` (the client retries connection errors and 5xx within its bound).
   A source that migrations need but Hasura does not have yet is added first (`pg_add_source`, no tables).
2. Migrations: each `up.sql` not yet recorded runs in ONE `run_sql` call together with the row that records
   it in `hdb_catalog.schema_migrations` (the Hasura CLI's table convention: `version bigint primary key,
   dirty boolean`). `run_sql` is a single transaction, so a migration is either applied and recorded or
   neither; the primary key makes a concurrent second run fail instead of applying twice. Down migrations
   are never run, `cascade` is never used: nothing here drops data.
3. Metadata: the `export_metadata` v2 taken before (again after migrations ran, as DDL may bump it). When
   its normalized form equals the desired one, nothing is written (inconsistent live metadata still fails
   the apply, listing the objects). Otherwise `replace_metadata` v2 with `allow_inconsistent_metadata:
   false` and that export's `resource_version`, so Hasura either takes the whole document or keeps the live one (inconsistent →
   `HasuraInconsistentMetadata` listing the objects; concurrent edit → `HasuraConflict`).
4. When the answer to a write is lost (dropped connection, 5xx), the live state is read again: the write is
   reported as done only when the live state shows it, otherwise `MetadataApplyError` says nothing changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from components.errors import ClerkHasuraError
from components.hasura.client import (
    ExportedMetadata,
    HasuraApiError,
    HasuraClient,
    HasuraUnreachable,
    describe_inconsistent_objects,
)
from components.hasura.loader import (
    PERMISSION_KINDS,
    MetadataProject,
    Migration,
    normalize_metadata,
    validate_project,
)

MIGRATIONS_TABLE = "hdb_catalog.schema_migrations"

_MIGRATIONS_TABLE_EXISTS = f"SELECT to_regclass('{MIGRATIONS_TABLE}') IS NOT NULL AS present"
_APPLIED_MIGRATIONS = f"SELECT version, dirty FROM {MIGRATIONS_TABLE} ORDER BY version"
_CREATE_MIGRATIONS_TABLE = (
    "CREATE SCHEMA IF NOT EXISTS hdb_catalog;\n"
    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version bigint PRIMARY KEY, dirty boolean NOT NULL);\n"
)


class MetadataApplyError(ClerkHasuraError):
    """Applying migrations or metadata did not complete; the message says what the live state is now."""


@dataclass(frozen=True)
class Change:
    """One semantic difference: `where` names source, table, role and permission; `what` the column or field."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where} › {self.what}" if self.where else self.what


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    dirty: bool


@dataclass
class ApplyResult:
    """What an apply did: migrations run, whether the metadata was replaced, and the metadata changes made."""

    migrations_applied: list[str] = field(default_factory=list)
    metadata_replaced: bool = False
    changes: list[Change] = field(default_factory=list)
    live_metadata: dict[str, Any] = field(default_factory=dict)
    """Normalized live metadata after the apply (equal to the desired metadata, normalized)."""
    applied_versions: list[str] = field(default_factory=list)
    """Every migration version recorded live after the apply, as strings, in order."""

    @property
    def wrote_anything(self) -> bool:
        return bool(self.migrations_applied) or self.metadata_replaced


def apply_project(client: HasuraClient, project: MetadataProject) -> ApplyResult:
    """Bring Hasura to `project`: migrations first, then metadata; writes nothing when already there."""
    validate_project(project)
    client.healthz()
    result = ApplyResult()
    exported = client.export_metadata()
    if _add_missing_sources(client, project, exported):
        exported = client.export_metadata()
    result.migrations_applied, result.applied_versions = apply_migrations(client, project.migrations)
    if result.migrations_applied:
        exported = client.export_metadata()  # DDL may have bumped the resource_version
    desired = normalize_metadata(project.metadata)
    live = normalize_metadata(exported.metadata)
    if live == desired:
        # Equal but broken (e.g. a column dropped and sources reloaded since): never report that as success.
        if inconsistent := client.get_inconsistent_metadata():
            raise MetadataApplyError(
                f"Hasura at {client.url} already holds this metadata, but it is inconsistent with the database:\n"
                + "\n".join(f"  - {line}" for line in describe_inconsistent_objects(inconsistent))
                + "\nFix: restore the table/column (or add a migration that does), or change metadata/ to match"
            )
        result.live_metadata = live
        return result
    result.changes = diff_metadata(desired, live)
    try:
        client.replace_metadata(project.metadata, resource_version=exported.resource_version)
    except HasuraUnreachable as error:
        if not error.outcome_unknown:
            raise
        if normalize_metadata(client.export_metadata().metadata) != desired:
            raise MetadataApplyError(
                f"Replacing the metadata on {client.url} was not confirmed and the live metadata is unchanged "
                f"({error}). Fix: check Hasura's health and run the deploy again"
            ) from None
    result.metadata_replaced = True
    result.live_metadata = desired
    return result


def _add_missing_sources(client: HasuraClient, project: MetadataProject, exported: ExportedMetadata) -> bool:
    """Add the sources migrations need that Hasura does not have yet (a fresh Hasura started with only
    HASURA_GRAPHQL_METADATA_DATABASE_URL has none, hasura.md §3.1); their tables come with the metadata later."""
    live = {source.get("name") for source in exported.metadata.get("sources") or []}
    needed = {m.source for m in project.migrations} - live
    added = False
    for source in project.metadata.get("sources") or []:
        if source.get("name") not in needed:
            continue
        args = {"name": source["name"], "configuration": source["configuration"], "replace_configuration": False}
        try:
            client.metadata("pg_add_source", args, resource_version=exported.resource_version)
        except HasuraUnreachable as error:
            if not error.outcome_unknown:
                raise
            names = {s.get("name") for s in client.export_metadata().metadata.get("sources") or []}
            if source["name"] not in names:
                raise MetadataApplyError(
                    f"Adding source {source['name']!r} on {client.url} was not confirmed and it is not there "
                    f"({error}). Fix: check Hasura's health and run the deploy again"
                ) from None
        added = True
    return added


# ---------------------------------------------------------------------------------------------------
# Migrations


def read_applied_migrations(client: HasuraClient, source: str = "default") -> list[AppliedMigration]:
    """The migrations recorded in `hdb_catalog.schema_migrations` of `source`.

    Empty when the table is absent, or when Hasura does not know the source yet (nothing can be recorded there).
    """
    try:
        present = client.run_sql(_MIGRATIONS_TABLE_EXISTS, source=source, read_only=True).records()
    except HasuraApiError as error:
        if error.code == "not-exists":
            return []
        raise
    if not present or present[0]["present"] not in ("t", "true", "True"):
        return []
    rows = client.run_sql(_APPLIED_MIGRATIONS, source=source, read_only=True).records()
    return [AppliedMigration(version=int(row["version"]), dirty=row["dirty"] in ("t", "true", "True"))
            for row in rows]


def pending_migrations(migrations: tuple[Migration, ...] | list[Migration],
                       applied: list[AppliedMigration]) -> list[Migration]:
    done = {m.version for m in applied}
    return [m for m in migrations if m.version not in done]


def apply_migrations(client: HasuraClient, migrations: tuple[Migration, ...]) -> tuple[list[str], list[str]]:
    """Run every migration not yet recorded, each with its record in one transaction.

    Returns the labels of the migrations run now and every version recorded live afterwards (as strings).
    """
    applied_labels: list[str] = []
    recorded: set[int] = set()
    for source in sorted({m.source for m in migrations}):
        source_migrations = [m for m in migrations if m.source == source]
        applied = read_applied_migrations(client, source)
        dirty = [str(m.version) for m in applied if m.dirty]
        if dirty:
            raise MetadataApplyError(
                f"{MIGRATIONS_TABLE} on source {source!r} marks migration(s) {', '.join(dirty)} as dirty (a run "
                "of the Hasura CLI failed half-way). Fix: repair the database by hand, then "
                f"`UPDATE {MIGRATIONS_TABLE} SET dirty = false WHERE version = …`"
            )
        recorded |= {m.version for m in applied}
        for migration in pending_migrations(source_migrations, applied):
            _run_migration(client, migration)
            applied_labels.append(f"{migration.source}/{migration.label}")
            recorded.add(migration.version)
    return applied_labels, [str(v) for v in sorted(recorded)]


def _run_migration(client: HasuraClient, migration: Migration) -> None:
    sql = (f"{_CREATE_MIGRATIONS_TABLE}{migration.up_sql.rstrip().rstrip(';')};\n"
           f"INSERT INTO {MIGRATIONS_TABLE} (version, dirty) VALUES ({migration.version}, false);")
    try:
        client.run_sql(sql, source=migration.source)
    except HasuraUnreachable as error:
        if not error.outcome_unknown:
            raise
        recorded = {m.version for m in read_applied_migrations(client, migration.source)}
        if migration.version not in recorded:
            raise MetadataApplyError(
                f"Migration {migration.source}/{migration.label} was not confirmed by Hasura and is not recorded "
                f"in {MIGRATIONS_TABLE}, so it was rolled back ({error}). Fix: check Hasura's health and run the "
                "deploy again"
            ) from None
    except HasuraApiError as error:
        raise MetadataApplyError(
            f"Migration {migration.source}/{migration.label} failed and was rolled back; nothing of it was "
            f"applied: {error}"
        ) from None


# ---------------------------------------------------------------------------------------------------
# Semantic diff


def diff_metadata(desired: dict[str, Any], live: dict[str, Any]) -> list[Change]:
    """Differences between two NORMALIZED documents, naming source, table, role, permission and column.

    Each `Change.what` reads from the point of view of `metadata/` (desired) against the live server.
    """
    changes: list[Change] = []
    for key in sorted((set(desired) | set(live)) - {"sources"}):
        changes += _generic_diff(desired.get(key), live.get(key), key)
    changes += _matched_diff({s["name"]: s for s in desired.get("sources", [])},
                             {s["name"]: s for s in live.get("sources", [])},
                             lambda name: f"source {name}", _source_diff,
                             missing_live="missing live (declared in metadata/)",
                             missing_desired="present live, not in metadata/")
    return changes


def _matched_diff(desired: dict[str, Any], live: dict[str, Any], where: Callable[[str], str],
                  inner: Callable[[Any, Any, str], list[Change]], *, missing_live: str,
                  missing_desired: str) -> list[Change]:
    """Items matched by key: one change for each item on one side only, `inner` for each item on both."""
    changes: list[Change] = []
    for key in sorted(set(desired) | set(live)):
        here = where(key)
        if key not in live:
            changes.append(Change(here, missing_live))
        elif key not in desired:
            changes.append(Change(here, missing_desired))
        else:
            changes += inner(desired[key], live[key], here)
    return changes


def _source_diff(desired: dict[str, Any], live: dict[str, Any], where: str) -> list[Change]:
    changes: list[Change] = []
    for key in sorted((set(desired) | set(live)) - {"tables", "name"}):
        changes += [Change(where, c) for c in _generic_diff(desired.get(key), live.get(key), key, as_text=True)]
    changes += _matched_diff({_table_label(t): t for t in desired.get("tables", [])},
                             {_table_label(t): t for t in live.get("tables", [])},
                             lambda label: f"{where} › table {label}", _table_diff,
                             missing_live="not tracked live (tracked in metadata/)",
                             missing_desired="tracked live, not in metadata/")
    return changes


def _table_label(table: dict[str, Any]) -> str:
    return f"{table['table']['schema']}.{table['table']['name']}"


def _table_diff(desired: dict[str, Any], live: dict[str, Any], where: str) -> list[Change]:
    changes: list[Change] = []
    permission_keys = {f"{kind}_permissions" for kind in PERMISSION_KINDS}
    for key in sorted((set(desired) | set(live)) - permission_keys - {"table"}):
        changes += [Change(where, c) for c in _generic_diff(desired.get(key), live.get(key), key, as_text=True)]
    for kind in PERMISSION_KINDS:
        changes += _matched_diff({p["role"]: p for p in desired.get(f"{kind}_permissions", [])},
                                 {p["role"]: p for p in live.get(f"{kind}_permissions", [])},
                                 lambda role, kind=kind: f"{where} › role {role} › {kind} permission",
                                 _permission_diff,
                                 missing_live="missing live (defined in metadata/)",
                                 missing_desired="present live, not in metadata/")
    return changes


def _permission_diff(desired: dict[str, Any], live: dict[str, Any], where: str) -> list[Change]:
    changes: list[Change] = []
    want, have = desired.get("permission", {}), live.get("permission", {})
    for key in sorted(set(want) | set(have)):
        if key == "columns" and isinstance(want.get(key), list) and isinstance(have.get(key), list):
            for column in sorted(set(have[key]) - set(want[key])):
                changes.append(Change(where, f"column {column}: allowed live, not in metadata/"))
            for column in sorted(set(want[key]) - set(have[key])):
                changes.append(Change(where, f"column {column}: in metadata/, not allowed live"))
        elif want.get(key) != have.get(key):
            # A boolean expression or preset reads best whole.
            changes.append(Change(where, f"{key}: metadata/ has {_show(want.get(key))}, live has {_show(have.get(key))}"))
    if desired.get("comment") != live.get("comment"):
        changes += [Change(where, c) for c in _generic_diff(desired.get("comment"), live.get("comment"), "comment",
                                                             as_text=True)]
    return changes


def _generic_diff(want: Any, have: Any, key: str, *, as_text: bool = False) -> list[Any]:
    if want == have:
        return []
    if isinstance(want, dict) and isinstance(have, dict):
        return [item for sub in sorted(set(want) | set(have))
                for item in _generic_diff(want.get(sub), have.get(sub), f"{key}.{sub}", as_text=as_text)]
    text = f"{key}: metadata/ has {_show(want)}, live has {_show(have)}"
    return [text] if as_text else [Change("", text)]


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
