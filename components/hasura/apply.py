"""Applying a metadata project to Hasura: migrations once each, then the metadata, never half-applied.

Pure orchestration over `HasuraClient` (no Pulumi). Order and guarantees:

1. Wait until Hasura answers `/healthz` (the client retries connection errors and 5xx within its bound).
   A source that migrations need but Hasura does not have yet is added first (`pg_add_source`, no tables).
2. Migrations (records: `migration_state`). What counts as applied is what the Hasura CLI counts: once the
   catalog state is the record (`isStateCopyCompleted`), the versions it has; before that, also the versions
   only `hdb_catalog.schema_migrations` has, which are first copied into the catalog state so the CLI sees them.
   So nothing applied by `hasura migrate apply` or an earlier deploy runs again, and a migration rolled back or
   deleted with the CLI (`migrate apply --type down`, `migrate delete --server`) runs again, as `hasura migrate
   apply` would run it. Each pending migration is marked dirty in the catalog state, run in ONE `run_sql`
   transaction together with its row in the table (applied and recorded, or neither; the primary key makes a
   concurrent second run fail instead of applying twice), and marked clean. A stale row (of a rolled-back
   version) is deleted before the mark, so that a dirty mark next to a clean row still proves the SQL committed.
   A process that dies in between leaves the dirty mark: the next deploy clears it when the row shows the SQL
   committed, and otherwise stops naming the `hasura migrate` commands that resolve it (the Hasura CLI refuses
   `migrate apply` on it too). Down migrations are never run, `cascade` is never used: nothing here drops data.
   pg_dump 17's `SET transaction_timeout = 0;` is left out of a migration whose source runs a PostgreSQL older
   than 17 (`SHOW server_version_num`), which rejects it; the change line says so.
3. Metadata: the `export_metadata` v2 taken before (again after migrations ran, as DDL may bump it). When
   it equals the project's metadata as Hasura stores it (`normalize_metadata(..., as_stored=True)`: defaults
   and the order export imposes evened out, session-variable case and column order kept), nothing is written
   (inconsistent live metadata still fails the apply, listing the objects). Otherwise `replace_metadata` v2 of
   the document as authored (never a normalized copy: Hasura keeps what it is sent, and `hasura metadata
   export` writes it back), with `allow_inconsistent_metadata: false` and that export's `resource_version`, so
   Hasura either takes the whole document or keeps the live one (inconsistent → `HasuraInconsistentMetadata`
   listing the objects; concurrent edit → `HasuraConflict`). A live copy that differs only in spelling — the
   lower-cased, column-sorted copy earlier releases wrote — is written over once, and then equal.
4. When the answer to a write is lost (dropped connection, 5xx), the live state is read again: the write is
   reported as done only when the live state shows it, otherwise `MetadataApplyError` says nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from components.errors import ClerkHasuraError
from components.hasura.client import (
    ExportedMetadata,
    HasuraApiError,
    HasuraClient,
    HasuraUnreachable,
    describe_inconsistent_objects,
)
from components.hasura.compare import diff_metadata, normalize_metadata
from components.hasura.ddl import TRANSACTION_TIMEOUT_LINE, TRANSACTION_TIMEOUT_SINCE, without_transaction_timeout
from components.hasura.migration_state import (
    MIGRATIONS_TABLE,
    AppliedMigration,
    SourceRecords,
    delete_stale_row,
    dirty_resolution,
    read_applied_migrations,
    read_cli_state,
    read_source_records,
    read_table,
    update_catalog_state,
)
from components.hasura.model import MetadataProject, Migration
from components.hasura.rules import validate_project

__all__ = ["AppliedMigration", "ApplyResult", "MIGRATIONS_TABLE", "MetadataApplyError", "apply_project",
           "read_applied_migrations"]

_CREATE_MIGRATIONS_TABLE = (
    "CREATE SCHEMA IF NOT EXISTS hdb_catalog;\n"
    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version bigint PRIMARY KEY, dirty boolean NOT NULL);\n"
)


class MetadataApplyError(ClerkHasuraError):
    """Applying migrations or metadata did not complete; the message says what the live state is now."""


@dataclass
class ApplyResult:
    """What an apply did: migrations run, whether the metadata was replaced, and each step in deploy words."""

    migrations_applied: list[str] = field(default_factory=list)
    metadata_replaced: bool = False
    catalog_state_updated: bool = False
    changes: list[str] = field(default_factory=list)
    """What the apply did, one line each: migration records caught up, migrations run, metadata changed."""
    live_metadata: dict[str, Any] = field(default_factory=dict)
    """The live metadata after the apply, normalized `as_stored` (equal to the project's, normalized so)."""
    applied_versions: list[str] = field(default_factory=list)
    """Every migration version recorded live after the apply, as strings, in order."""

    @property
    def wrote_anything(self) -> bool:
        return bool(self.migrations_applied) or self.metadata_replaced or self.catalog_state_updated


def apply_project(client: HasuraClient, project: MetadataProject, *,
                  platform_schemas: frozenset[str] = frozenset()) -> ApplyResult:
    """Bring Hasura to `project`: migrations first, then metadata; writes nothing when already there. The project is
    validated first, with `platform_schemas` as `validate_project` takes them."""
    validate_project(project, platform_schemas=platform_schemas)
    client.healthz()
    result = ApplyResult()
    exported = client.export_metadata()
    if _add_missing_sources(client, project, exported):
        exported = client.export_metadata()
    apply_migrations(client, project.migrations, result)
    if result.migrations_applied:
        exported = client.export_metadata()  # DDL may have bumped the resource_version
    desired = normalize_metadata(project.metadata, as_stored=True)
    live = normalize_metadata(exported.metadata, as_stored=True)
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
    changes = diff_metadata(desired, live)
    try:
        client.replace_metadata(project.metadata, resource_version=exported.resource_version)
    except HasuraUnreachable as error:
        if not error.outcome_unknown:
            raise
        if normalize_metadata(client.export_metadata().metadata, as_stored=True) != desired:
            raise MetadataApplyError(
                f"Replacing the metadata on {client.url} was not confirmed and the live metadata is unchanged "
                f"({error}). Fix: check Hasura's health and run the deploy again"
            ) from None
    result.metadata_replaced = True
    result.changes += [change.applied() for change in changes]
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


def pending_migrations(migrations: tuple[Migration, ...] | list[Migration],
                       applied: list[AppliedMigration]) -> list[Migration]:
    done = {m.version for m in applied}
    return [m for m in migrations if m.version not in done]


def apply_migrations(client: HasuraClient, migrations: tuple[Migration, ...], result: ApplyResult) -> None:
    """Run every migration the record lacks; fills `result` with what ran, what was recorded, every version."""
    sources = sorted({m.source for m in migrations})
    if not sources:
        return
    cli_state = read_cli_state(client)
    records = {source: read_source_records(client, source, cli_state) for source in sources}
    _refuse_unresolved_dirty(list(records.values()))
    catch_up = {source: versions for source, r in records.items() if (versions := r.catch_up())}
    if catch_up:
        update_catalog_state(client, catch_up)
        result.catalog_state_updated = True
        result.changes += [_catch_up_line(records[source], version) for source, versions in catch_up.items()
                           for version in sorted(versions)]
    recorded: set[int] = set()
    server_versions: dict[str, int] = {}
    for source in sources:
        applied = records[source].applied()
        recorded |= {m.version for m in applied}
        stale = set(records[source].stale())
        for migration in pending_migrations([m for m in migrations if m.source == source], applied):
            label = f"migration {migration.source}/{migration.label}"
            migration, left_out = _for_the_server(client, migration, server_versions)
            rerun = migration.version in stale
            if rerun:
                _delete_stale_row(client, records[source], migration)
            _run_migration(client, migration, rerun=rerun)
            result.migrations_applied.append(f"{migration.source}/{migration.label}")
            result.changes.append(
                (f"{label} › run again and recorded (Hasura's catalog state did not have it: rolled back or deleted "
                 f"with the Hasura CLI; its old row in {MIGRATIONS_TABLE} was replaced)" if rerun
                 else f"{label} › applied and recorded") + _removed_lines_note(migration) + left_out)
            recorded.add(migration.version)
    result.applied_versions = [str(v) for v in sorted(recorded)]


def _removed_lines_note(migration: Migration) -> str:
    if not migration.removed_lines:
        return ""
    lines = ", ".join(f"`{line}`" for line in migration.removed_lines)
    return (f"; run without its lines {lines} (psql meta-commands pg_dump 17.6+ writes, which Hasura's run_sql "
            f"rejects). Delete them from {migration.path} so that `hasura migrate apply` can run it too")


def _for_the_server(client: HasuraClient, migration: Migration,
                    server_versions: dict[str, int]) -> tuple[Migration, str]:
    """`migration` as its source's PostgreSQL can run it, and the note saying what was left out: pg_dump 17's
    `SET transaction_timeout = 0;` (`without_transaction_timeout`) only on a server older than 17, which rejects it.
    The server's version is asked once per source (`server_versions`), and only for a migration that has the line."""
    sql, removed = without_transaction_timeout(migration.up_sql)
    if not removed:
        return migration, ""
    if migration.source not in server_versions:
        [row] = client.run_sql("SHOW server_version_num", source=migration.source, read_only=True).records()
        server_versions[migration.source] = int(row["server_version_num"])
    server_version = server_versions[migration.source]
    if server_version >= TRANSACTION_TIMEOUT_SINCE:
        return migration, ""
    return replace(migration, up_sql=sql), (
        f"; run without its line `{TRANSACTION_TIMEOUT_LINE}` (pg_dump 17+ writes it; PostgreSQL "
        f"{server_version // 10000} of source {migration.source} is older than 17 and rejects it: unrecognized "
        f"configuration parameter). Delete it from {migration.path} so that `hasura migrate apply` can run it on this "
        "server too")


def _catch_up_line(records: SourceRecords, version: int) -> str:
    where = f"migration {records.source}/{version}"
    if version in records.catalog_state:
        return f"{where} › dirty mark cleared in Hasura's catalog state ({MIGRATIONS_TABLE} shows its SQL committed)"
    return f"{where} › recorded in Hasura's catalog state (it was only in {MIGRATIONS_TABLE})"


def _delete_stale_row(client: HasuraClient, records: SourceRecords, migration: Migration) -> None:
    """Remove the row of an earlier run of a rolled-back migration before it is marked dirty: the row must not
    pass for the proof that this run's SQL committed, should the deploy die before clearing the mark."""
    if not delete_stale_row(client, records, migration.version):
        raise MetadataApplyError(
            f"Migration {migration.source}/{migration.label} was not run: its row in {MIGRATIONS_TABLE} changed "
            "while this deploy was reading it (another deploy, or a Hasura CLI run, at the same time?). Nothing "
            "was changed. Fix: run the deploy again once the other run has finished")


def _refuse_unresolved_dirty(records: list[SourceRecords]) -> None:
    """A dirty mark the table does not explain: nothing here can tell whether that migration's SQL took effect."""
    problems = [f"{source.source}/{migration.version} {dirty_resolution(source.source, migration)}"
                for source in records for migration in source.applied() if migration.dirty and not migration.committed]
    if problems:
        raise MetadataApplyError(
            "Migrations were not run: " + ("a migration is" if len(problems) == 1 else "migrations are")
            + " dirty, so whether the SQL took effect is unknown:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def _run_migration(client: HasuraClient, migration: Migration, *, rerun: bool = False) -> None:
    label = f"{migration.source}/{migration.label}"
    update_catalog_state(client, {migration.source: {migration.version: True}})
    sql = (f"{_CREATE_MIGRATIONS_TABLE}{migration.up_sql.rstrip().rstrip(';')};\n"
           f"INSERT INTO {MIGRATIONS_TABLE} (version, dirty) VALUES ({migration.version}, false);")
    try:
        client.run_sql(sql, source=migration.source)
    except HasuraUnreachable as error:
        if not error.outcome_unknown or read_table(client, migration.source).dirty.get(migration.version) is not False:
            raise MetadataApplyError(
                f"Migration {label} was not confirmed by Hasura and is not recorded in {MIGRATIONS_TABLE} (which it "
                f"would be, in the same transaction), so nothing of it took effect ({error})"
                f"{_unmark(client, migration)}. Fix: check Hasura's health and run the deploy again"
            ) from None
    except HasuraApiError as error:
        raise MetadataApplyError(
            f"Migration {label} failed and was rolled back; nothing of it was applied: {error}"
            f"{_unmark(client, migration)}{_rerun_hint(migration) if rerun else ''}"
        ) from None
    try:
        update_catalog_state(client, {migration.source: {migration.version: False}})
    except ClerkHasuraError as error:
        raise MetadataApplyError(
            f"Migration {label} was applied and recorded in {MIGRATIONS_TABLE}, but clearing its dirty mark in "
            f"Hasura's catalog state failed ({error}). Fix: run the deploy again: it sees the record and clears the "
            "mark without running the migration again"
        ) from None


def _rerun_hint(migration: Migration) -> str:
    """For a migration run again because the Hasura CLI removed it from the record: its SQL may still be in effect
    (`hasura migrate delete --server` runs no down migration)."""
    return (f". It had been applied before and was rolled back or deleted with the Hasura CLI; if its SQL is still "
            f"in effect, record it as applied without running it: `hasura migrate apply --version {migration.version} "
            f"--skip-execution --database-name {migration.source}` (in metadata/, with --endpoint <Hasura URL> and "
            "HASURA_GRAPHQL_ADMIN_SECRET set), then deploy again")


def _unmark(client: HasuraClient, migration: Migration) -> str:
    """Remove the dirty mark of a migration that did not commit; what to add to the error when that fails."""
    try:
        update_catalog_state(client, {migration.source: {migration.version: None}})
    except ClerkHasuraError as error:
        return (f"; Hasura's catalog state still marks it dirty ({error}), so the next deploy stops on it: first run "
                f"`hasura migrate delete --version {migration.version} --server --database-name {migration.source}`")
    return ""
