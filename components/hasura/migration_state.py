"""Which migrations a Hasura server has applied, as the deploy and the Hasura CLI record them.

Two records, read together:

- Hasura's **catalog state**, its `cli` part (`get_catalog_state` / `set_catalog_state` on `/v1/metadata`):
  `{"migrations": {"<source>": {"<version>": <dirty>}}, "settings": {...}, "isStateCopyCompleted": true}`.
  The Hasura CLI v2 with a config v3 project keeps its record only there (`cli/cli.go` GetMigrationsStateStore,
  `cli/internal/statestore/migrations/catalogstate.go`): `hasura migrate apply` runs each migration, then sets
  its version to `false` (not dirty); `hasura migrate status` lists the versions there. On its first contact with a
  server whose state lacks `isStateCopyCompleted`, the CLI copies `hdb_catalog.schema_migrations` in once
  (`cli/migrate/util.go` copyStateToCatalogStateAPIIfRequired) and never reads that table again.
- **`hdb_catalog.schema_migrations`** (`version bigint primary key, dirty boolean`) in the source database: the
  deploy writes its row in the same transaction as the migration's SQL, so a clean row proves the SQL committed.
  Stacks deployed before the catalog state was shared have only this record.

A migration is applied when either record has it. The catalog state is written whole (the server stores the
value it is given), so every write here reads it first and changes only the versions it means to; every other
key — the CLI's settings, `isStateCopyCompleted`, anything another tool keeps there — goes back as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.errors import ClerkHasuraError
from components.hasura.client import HasuraApiError, HasuraClient

MIGRATIONS_TABLE = "hdb_catalog.schema_migrations"
CLI_STATE = "cli"

_TABLE_EXISTS = f"SELECT to_regclass('{MIGRATIONS_TABLE}') IS NOT NULL AS present"
_TABLE_ROWS = f"SELECT version, dirty FROM {MIGRATIONS_TABLE} ORDER BY version"


class MigrationStateError(ClerkHasuraError):
    """The catalog state holds a migration record this code cannot read; nothing was run."""


@dataclass(frozen=True)
class AppliedMigration:
    """One migration a server has applied, per its records."""

    version: int
    dirty: bool
    """As the Hasura CLI sees it: the catalog state's flag (the table's for a version recorded only there)."""
    in_catalog_state: bool
    committed: bool
    """A clean row in hdb_catalog.schema_migrations: its SQL committed together with that row."""


@dataclass(frozen=True)
class SourceRecords:
    """Both records of one source: version -> dirty."""

    source: str
    catalog_state: dict[int, bool]
    table: dict[int, bool]

    def applied(self) -> list[AppliedMigration]:
        versions = sorted(set(self.catalog_state) | set(self.table))
        return [AppliedMigration(
            version=version,
            dirty=self.catalog_state[version] if version in self.catalog_state else self.table[version],
            in_catalog_state=version in self.catalog_state,
            committed=self.table.get(version) is False,
        ) for version in versions]

    def catch_up(self) -> dict[int, bool]:
        """What the catalog state lacks: versions recorded only in the table (copied with their flag), and
        dirty marks of migrations whose SQL committed with their row (cleared)."""
        missing = {v: dirty for v, dirty in self.table.items() if v not in self.catalog_state}
        committed = {v: False for v, dirty in self.catalog_state.items() if dirty and self.table.get(v) is False}
        return {**missing, **committed}


def read_cli_state(client: HasuraClient) -> dict[str, Any]:
    return client.get_catalog_state().cli_state


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


def read_table(client: HasuraClient, source: str) -> dict[int, bool]:
    """The rows of hdb_catalog.schema_migrations in `source`: empty when the table is absent, or when Hasura does
    not know the source yet (nothing can be recorded there)."""
    try:
        present = client.run_sql(_TABLE_EXISTS, source=source, read_only=True).records()
    except HasuraApiError as error:
        if error.code == "not-exists":
            return {}
        raise
    if not present or present[0]["present"] not in ("t", "true", "True"):
        return {}
    rows = client.run_sql(_TABLE_ROWS, source=source, read_only=True).records()
    return {int(row["version"]): row["dirty"] in ("t", "true", "True") for row in rows}


def read_source_records(client: HasuraClient, source: str, cli_state: dict[str, Any] | None = None) -> SourceRecords:
    cli_state = read_cli_state(client) if cli_state is None else cli_state
    return SourceRecords(source, catalog_migrations(cli_state, source), read_table(client, source))


def read_applied_migrations(client: HasuraClient, source: str = "default") -> list[AppliedMigration]:
    """Every migration of `source` either record has, in version order. Reads only."""
    return read_source_records(client, source).applied()


def update_catalog_state(client: HasuraClient, changes: dict[str, dict[int, bool | None]]) -> None:
    """Set (dirty true/false) or, with None, remove the given versions per source in the catalog state's `cli`
    part; every other key is written back as it was read. Read and written in two calls: a write the Hasura CLI
    makes in between is lost, as between two CLI processes."""
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
    client.set_catalog_state(CLI_STATE, {**state, "migrations": migrations})
