"""Which migrations a Hasura server has applied, as the deploy and the Hasura CLI record them: ONE record.

Two places hold migration versions:

- Hasura's **catalog state**, its `cli` part (`get_catalog_state` / `set_catalog_state` on `/v1/metadata`):
  `{"migrations": {"<source>": {"<version>": <dirty>}}, "settings": {...}, "isStateCopyCompleted": true}`.
  The Hasura CLI v2 with a config v3 project keeps its record only there (`cli/cli.go` GetMigrationsStateStore
  returns the CatalogStateStore for config v3; `cli/internal/statestore/migrations/catalogstate.go`). `hasura
  migrate apply` runs each migration and then sets its version to `false` (`cli/migrate/migrate.go`
  runMigrations: databaseDrv.Run, then SetVersion(version, false)); a down migration (`--type down`) is run the
  same way and its version then REMOVED (RemoveVersion), and `hasura migrate delete --server` removes a version
  without running anything (Migrate.RemoveVersions). None of these touches `hdb_catalog.schema_migrations`.
  Before any of that, on a server whose catalog state lacks `isStateCopyCompleted`, the CLI copies
  `hdb_catalog.schema_migrations` into the catalog state once and sets `isStateCopyCompleted: true`
  (`cli/migrate/util.go` copyStateToCatalogStateAPIIfRequired, `cli/internal/scripts/update-project-v3.go`
  CopyState); from then on it never reads the table again.
- **`hdb_catalog.schema_migrations`** (`version bigint primary key, dirty boolean`) in the source database: the
  deploy writes its row in the same transaction as the migration's SQL, so a clean row proves that SQL committed.

The record is the one the Hasura CLI reads, so that both tools agree on what is applied:

- once `isStateCopyCompleted` is true (set by the CLI's copy, or by the deploy's first write here), the catalog
  state is the only record: a version absent from it is NOT applied, whatever the table says. A table row of
  such a version is *stale*: the migration was rolled back or deleted with the CLI, and the next deploy runs it
  again, exactly as `hasura migrate apply` would;
- before that (a stack deployed before the catalog state was shared, which no config v3 CLI has touched since),
  the table is still a record: a version either place has is applied, and the deploy copies table-only versions
  into the catalog state as the CLI's copy would, then marks the copy completed.

The table stays what it always was: the proof that a migration's SQL committed, which is how a deploy that died
between marking a migration dirty and clearing the mark is finished (`SourceRecords.catch_up`).

The catalog state is written whole (the server stores the value it is given), so every write here reads it first
and changes only the versions it means to; every other key — the CLI's settings, anything another tool keeps
there — goes back as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.errors import ClerkHasuraError
from components.hasura.client import HasuraApiError, HasuraClient

MIGRATIONS_TABLE = "hdb_catalog.schema_migrations"
CLI_STATE = "cli"
#: The catalog-state key saying the Hasura CLI's one-time copy of the table happened (cli/internal/statestore
#: CLIState.IsStateCopyCompleted): from then on the catalog state is the only record.
COPY_COMPLETED = "isStateCopyCompleted"

_TABLE_EXISTS = f"SELECT to_regclass('{MIGRATIONS_TABLE}') IS NOT NULL AS present"
# xmin identifies the row version: a stale row is deleted only if it is still the row that was read.
_TABLE_ROWS = f"SELECT version, dirty, xmin::text AS row_version FROM {MIGRATIONS_TABLE} ORDER BY version"
_TRUE = ("t", "true", "True")


class MigrationStateError(ClerkHasuraError):
    """The catalog state holds a migration record this code cannot read; nothing was run."""


@dataclass(frozen=True)
class AppliedMigration:
    """One migration a server has applied, per its record."""

    version: int
    dirty: bool
    """As the Hasura CLI sees it: the catalog state's flag (the table's for a version recorded only there)."""
    in_catalog_state: bool
    committed: bool
    """A clean row in hdb_catalog.schema_migrations: its SQL committed together with that row."""


@dataclass(frozen=True)
class TableRows:
    """The rows of hdb_catalog.schema_migrations in one source: version -> dirty, and each row's version (xmin)."""

    dirty: dict[int, bool] = field(default_factory=dict)
    row_versions: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRecords:
    """Both places of one source (version -> dirty), and whether the catalog state alone is the record."""

    source: str
    catalog_state: dict[int, bool]
    table: dict[int, bool]
    catalog_is_the_record: bool
    table_row_versions: dict[int, str] = field(default_factory=dict)

    def applied(self) -> list[AppliedMigration]:
        versions = set(self.catalog_state) if self.catalog_is_the_record else set(self.catalog_state) | set(self.table)
        return [AppliedMigration(
            version=version,
            dirty=self.catalog_state[version] if version in self.catalog_state else self.table[version],
            in_catalog_state=version in self.catalog_state,
            committed=self.table.get(version) is False,
        ) for version in sorted(versions)]

    def stale(self) -> list[int]:
        """Versions the table has and the catalog state, being the record, does not: rolled back
        (`hasura migrate apply --type down`) or removed (`hasura migrate delete --server`) with the Hasura CLI,
        which never touches the table. Not applied: the deploy runs them again."""
        if not self.catalog_is_the_record:
            return []
        return sorted(v for v in self.table if v not in self.catalog_state)

    def catch_up(self) -> dict[int, bool]:
        """What the catalog state lacks: dirty marks of migrations whose SQL committed with their row (cleared),
        and, while the table is still a record, the versions recorded only there (copied with their flag)."""
        committed = {v: False for v, dirty in self.catalog_state.items() if dirty and self.table.get(v) is False}
        if self.catalog_is_the_record:
            return committed
        missing = {v: dirty for v, dirty in self.table.items() if v not in self.catalog_state}
        return {**missing, **committed}


def dirty_resolution(source: str, migration: AppliedMigration) -> str:
    """Why `migration` is dirty and how to resolve it, to follow "<source>/<version> ", in the words of the tool
    that holds the mark. A mark whose SQL committed (`committed`) needs only a deploy, which clears it and runs
    nothing; any other mark needs a person to check the database first: nothing here can tell whether that SQL took
    effect."""
    version = migration.version
    if migration.committed:
        return (f"is marked dirty, but {MIGRATIONS_TABLE} shows its SQL committed (a deploy stopped before clearing "
                "the mark): the next deploy (`scripts/deploy <stack>`) clears the mark and runs nothing")
    cli = f"hasura migrate delete --version {version} --server --database-name {source}"
    if migration.in_catalog_state:
        return (f"is marked dirty in Hasura's catalog state and {MIGRATIONS_TABLE} has no row for it: a deploy or "
                "a `hasura migrate apply` stopped between marking it and recording it. Check the database, then "
                "either\n"
                f"      its SQL did not take effect: `{cli}` and deploy again (the deploy runs it), or\n"
                f"      it did: `{cli}` then `hasura migrate apply --version {version} --skip-execution "
                f"--database-name {source}` (records it as applied without running it)\n"
                "      (the Hasura CLI run in metadata/, with --endpoint <Hasura URL> and "
                "HASURA_GRAPHQL_ADMIN_SECRET set)")
    return (f"is marked dirty in {MIGRATIONS_TABLE} (written by an older Hasura CLI, or by hand). Check the "
            "database, then, in SQL on that source (psql or the console's SQL tab):\n"
            f"      its SQL did not take effect: `DELETE FROM {MIGRATIONS_TABLE} WHERE version = {version}` "
            "and deploy again (the deploy runs it), or\n"
            f"      it did: `UPDATE {MIGRATIONS_TABLE} SET dirty = false WHERE version = {version}`")


def read_cli_state(client: HasuraClient) -> dict[str, Any]:
    return client.get_catalog_state().cli_state


def catalog_is_the_record(cli_state: dict[str, Any]) -> bool:
    return cli_state.get(COPY_COMPLETED) is True


def catalog_migrations(cli_state: dict[str, Any], source: str) -> dict[int, bool]:
    """The versions the catalog state records for `source` (version -> dirty)."""
    migrations = cli_state.get("migrations") or {}
    recorded = migrations.get(source) or {} if isinstance(migrations, dict) else None
    if not isinstance(recorded, dict):
        raise MigrationStateError(
            f"Hasura's catalog state (cli) holds `migrations` of a shape the Hasura CLI does not write "
            f"({str(migrations)[:200]}); expected {{\"<source>\": {{\"<version>\": <dirty>}}}}. Fix: write it back in "
            "that shape with `set_catalog_state` (type cli), then deploy again")
    versions: dict[int, bool] = {}
    for version, dirty in recorded.items():
        if not str(version).isdigit() or not isinstance(dirty, bool):
            raise MigrationStateError(
                f"Hasura's catalog state (cli) records migration {version!r} of source {source!r} as {dirty!r}; "
                "the Hasura CLI writes a numeric version and true/false (dirty). Fix: remove it "
                f"(`hasura migrate delete --version <version> --server --database-name {source}`), then deploy again")
        versions[int(version)] = dirty
    return versions


def read_table(client: HasuraClient, source: str) -> TableRows:
    """The rows of hdb_catalog.schema_migrations in `source`: none when the table is absent, or when Hasura does
    not know the source yet (nothing can be recorded there)."""
    try:
        present = client.run_sql(_TABLE_EXISTS, source=source, read_only=True).records()
    except HasuraApiError as error:
        if error.code == "not-exists":
            return TableRows()
        raise
    if not present or present[0]["present"] not in _TRUE:
        return TableRows()
    rows = client.run_sql(_TABLE_ROWS, source=source, read_only=True).records()
    return TableRows(dirty={int(row["version"]): row["dirty"] in _TRUE for row in rows},
                     row_versions={int(row["version"]): str(row["row_version"]) for row in rows})


def read_source_records(client: HasuraClient, source: str, cli_state: dict[str, Any] | None = None) -> SourceRecords:
    cli_state = read_cli_state(client) if cli_state is None else cli_state
    table = read_table(client, source)
    return SourceRecords(source, catalog_migrations(cli_state, source), table.dirty,
                         catalog_is_the_record(cli_state), table.row_versions)


def read_applied_migrations(client: HasuraClient, source: str = "default") -> list[AppliedMigration]:
    """Every migration of `source` the record has, in version order. Reads only."""
    return read_source_records(client, source).applied()


def update_catalog_state(client: HasuraClient, changes: dict[str, dict[int, bool | None]]) -> None:
    """Set (dirty true/false) or, with None, remove the given versions per source in the catalog state's `cli`
    part, and mark the catalog state as the record (`isStateCopyCompleted: true`); every other key is written back
    as it was read. Read and written in two calls: a write the Hasura CLI makes in between is lost, as between two
    CLI processes.

    The mark is right on every write because the deploy writes only after copying the table-only versions of
    every source it migrates into the catalog state (`SourceRecords.catch_up`) — what the CLI's CopyState does
    before it sets the same key."""
    state = read_cli_state(client)
    migrations = state.get("migrations")
    migrations = dict(migrations) if isinstance(migrations, dict) else {}
    for source, versions in changes.items():
        recorded = dict(migrations.get(source) or {})
        for version, dirty in versions.items():
            if dirty is None:
                recorded.pop(str(version), None)
            else:
                recorded[str(version)] = dirty
        migrations[source] = recorded
    client.set_catalog_state(CLI_STATE, {**state, "migrations": migrations, COPY_COMPLETED: True})


def delete_stale_row(client: HasuraClient, records: SourceRecords, version: int) -> bool:
    """Delete the stale table row of `version` if it is still the row `records` read; False when it changed
    meanwhile (another deploy or a tool wrote it), so nothing was deleted."""
    deleted = client.run_sql(
        f"DELETE FROM {MIGRATIONS_TABLE} WHERE version = {int(version)} "
        f"AND xmin::text = '{int(records.table_row_versions[version])}' RETURNING version",
        source=records.source).records()
    return bool(deleted)
