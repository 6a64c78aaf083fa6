"""The deploy and the Hasura CLI share one record of applied migrations: Hasura's catalog state (and, until its copy
is completed, the deploy's own hdb_catalog.schema_migrations for stacks deployed before). Against the Hasura
double, real PostgreSQL behind. Rollbacks made with the CLI: tests/unit/hasura/test_migration_state_rollback.py.

The CLI's side is replayed as its source does it (hasura/graphql-engine, CLI v2 with a config v3 project):
`hasura migrate apply` sends each up.sql as one run_sql with check_metadata_consistency false
(cli/migrate/database/hasuradb/hasuradb.go Run), then reads the catalog state and writes it back with the version
set to false (cli/internal/statestore/migrations/catalogstate.go SetVersion); it never writes the table.
"""

from __future__ import annotations

import psycopg
import pytest

from components.hasura.apply import MIGRATIONS_TABLE, MetadataApplyError, apply_project
from components.hasura.client import HasuraClient, HasuraUnreachable
from components.hasura.project import load_project
from components.hasura.model import Migration
from components.hasura.migration_state import read_applied_migrations, read_source_records
from tests.fixtures.metadata import PROJECT

VERSION = 1763856000000
CLI_SETTINGS = {"settings": {"migration_mode": "true"}, "isStateCopyCompleted": True}
CREATE_TABLE = (f"CREATE SCHEMA IF NOT EXISTS hdb_catalog; "
                f"CREATE TABLE {MIGRATIONS_TABLE} (version bigint PRIMARY KEY, dirty boolean NOT NULL)")


class ProcessDied(BaseException):
    """The deploy's process is killed at this point (nothing after it runs, no handler sees it)."""


@pytest.fixture
def double(hasura_double_factory):
    return hasura_double_factory(jwt_secret=None)  # as the container starts: PG_DATABASE_URL, no source yet


@pytest.fixture
def client(double):
    with HasuraClient(double.url, double.admin_secret, retry_seconds=3) as hasura_client:
        yield hasura_client


def add_default_source(client: HasuraClient) -> None:
    client.metadata("pg_add_source", {"name": "default", "configuration": {"connection_info": {
        "database_url": {"from_env": "PG_DATABASE_URL"}}}})


def cli_migrate_apply(client: HasuraClient, migration: Migration) -> None:
    """`hasura migrate apply` for one migration, request by request."""
    client._json("POST", "/v2/query", operation="run_sql", idempotent=False, json={"type": "run_sql", "args": {
        "source": migration.source, "sql": migration.up_sql, "check_metadata_consistency": False}})
    state = client.get_catalog_state().cli_state
    state.setdefault("migrations", {}).setdefault(migration.source, {})[str(migration.version)] = False
    client.set_catalog_state("cli", state)


def cli_migrations(client: HasuraClient) -> dict:
    return client.get_catalog_state().cli_state.get("migrations")


def users_tables(double) -> int:
    with psycopg.connect(double.database_url) as conn:
        return conn.execute("select count(*) from pg_tables where schemaname = 'public' and tablename = 'users'"
                            ).fetchone()[0]


def table_rows(double) -> list[tuple]:
    with psycopg.connect(double.database_url) as conn:
        if conn.execute(f"select to_regclass('{MIGRATIONS_TABLE}')").fetchone()[0] is None:
            return []
        return conn.execute(f"select version, dirty from {MIGRATIONS_TABLE}").fetchall()


def test_a_migration_applied_with_the_hasura_cli_is_not_run_again_by_the_deploy(client, double):
    project = load_project(PROJECT)
    add_default_source(client)
    client.set_catalog_state("cli", CLI_SETTINGS)
    cli_migrate_apply(client, project.migrations[0])
    written_by_cli = client.get_catalog_state().cli_state
    assert written_by_cli == {**CLI_SETTINGS, "migrations": {"default": {str(VERSION): False}}}

    result = apply_project(client, project)  # would fail on CREATE TABLE users if it ran the migration again
    assert result.migrations_applied == [] and result.metadata_replaced
    assert result.applied_versions == [str(VERSION)]
    assert users_tables(double) == 1 and table_rows(double) == []
    assert client.get_catalog_state().cli_state == written_by_cli  # nothing to add: the CLI's record is complete


def test_after_a_deploy_the_catalog_state_lists_every_migration_clean_and_keeps_other_keys(client, double,
                                                                                          project_copy):
    second = project_copy / "migrations/default/1763856000001_add_bio"
    second.mkdir()
    (second / "up.sql").write_text("ALTER TABLE public.users ADD COLUMN bio text;")
    other_keys = {**CLI_SETTINGS, "someOtherTool": {"kept": [1, 2]}}
    console = {"onboardingShown": True, "console_notifications": {"admin": {"read": []}}}
    client.set_catalog_state("cli", other_keys)
    client.set_catalog_state("console", console)
    before = client.get_catalog_state()

    result = apply_project(client, load_project(project_copy))
    assert result.migrations_applied == ["default/1763856000000_create_users", "default/1763856000001_add_bio"]
    after = client.get_catalog_state()
    assert after.cli_state == {**other_keys, "migrations": {"default": {str(VERSION): False, "1763856000001": False}}}
    assert after.console_state == console and after.id == before.id
    assert sorted(table_rows(double)) == [(VERSION, False), (1763856000001, False)]


def test_a_stack_deployed_with_the_table_only_record_upgrades_without_running_anything_again(client, double):
    project = load_project(PROJECT)
    # What the deploy did before the catalog state was shared: the migration and its row in one run_sql.
    add_default_source(client)
    client.run_sql(f"{CREATE_TABLE}; {project.migrations[0].up_sql}; "
                   f"INSERT INTO {MIGRATIONS_TABLE} (version, dirty) VALUES ({VERSION}, false);")
    client.replace_metadata(project.metadata, resource_version=None)
    assert client.get_catalog_state().cli_state == {}

    result = apply_project(client, project)
    assert result.migrations_applied == [] and not result.metadata_replaced
    assert result.changes == [f"migration default/{VERSION} › recorded in Hasura's catalog state (it was only in "
                              f"{MIGRATIONS_TABLE})"]
    assert cli_migrations(client) == {"default": {str(VERSION): False}}
    assert client.get_catalog_state().cli_state["isStateCopyCompleted"] is True  # as the CLI's CopyState ends
    assert users_tables(double) == 1
    double.reset_counts()
    assert not apply_project(client, project).wrote_anything
    assert double.writes() == 0


class DiesAt(HasuraClient):
    """The deploy's process dies right before the request `when` picks."""

    def __init__(self, *args, when, **kwargs):
        super().__init__(*args, **kwargs)
        self.when, self.sql_ran = when, False

    def run_sql(self, sql, **kwargs):
        if not kwargs.get("read_only") and self.when == "before the migration's SQL":
            raise ProcessDied
        result = super().run_sql(sql, **kwargs)
        self.sql_ran = self.sql_ran or not kwargs.get("read_only")
        return result

    def set_catalog_state(self, kind, state):
        if self.sql_ran and self.when == "before clearing the dirty mark":
            raise ProcessDied
        super().set_catalog_state(kind, state)


def test_a_deploy_killed_after_the_sql_committed_is_finished_by_the_next_deploy(double, client):
    project = load_project(PROJECT)
    with DiesAt(double.url, double.admin_secret, when="before clearing the dirty mark") as dying:
        with pytest.raises(ProcessDied):
            apply_project(dying, project)
    # Left behind: the SQL and its row (one transaction), and the dirty mark the CLI sees — so `hasura migrate
    # apply` refuses ("Dirty database version …") rather than running it again.
    assert table_rows(double) == [(VERSION, False)]
    assert cli_migrations(client) == {"default": {str(VERSION): True}}

    result = apply_project(client, project)
    assert result.migrations_applied == []  # not run again: CREATE TABLE users would fail
    assert result.changes[0] == (f"migration default/{VERSION} › dirty mark cleared in Hasura's catalog state "
                                 f"({MIGRATIONS_TABLE} shows its SQL committed)")
    assert cli_migrations(client) == {"default": {str(VERSION): False}} and users_tables(double) == 1


def test_a_deploy_killed_before_the_sql_committed_stops_the_next_one_naming_the_hasura_cli_commands(double, client):
    project = load_project(PROJECT)
    with DiesAt(double.url, double.admin_secret, when="before the migration's SQL") as dying:
        with pytest.raises(ProcessDied):
            apply_project(dying, project)
    assert cli_migrations(client) == {"default": {str(VERSION): True}} and table_rows(double) == []

    double.reset_counts()
    with pytest.raises(MetadataApplyError) as stopped:
        apply_project(client, project)
    message = str(stopped.value)
    assert f"default/{VERSION} is marked dirty in Hasura's catalog state" in message
    assert f"`hasura migrate delete --version {VERSION} --server --database-name default` and deploy again" in message
    assert f"`hasura migrate apply --version {VERSION} --skip-execution --database-name default`" in message
    assert double.writes() == 0 and users_tables(double) == 0

    # The first fix, as `hasura migrate delete --server` does it (catalogstate.go RemoveVersion), then a deploy.
    state = client.get_catalog_state().cli_state
    del state["migrations"]["default"][str(VERSION)]
    client.set_catalog_state("cli", state)
    assert apply_project(client, project).migrations_applied == ["default/1763856000000_create_users"]
    assert cli_migrations(client) == {"default": {str(VERSION): False}}


class ClearingFails(HasuraClient):
    """Hasura stops answering catalog-state writes once the migration's SQL has run."""

    sql_ran = False

    def run_sql(self, sql, **kwargs):
        self.sql_ran = self.sql_ran or not kwargs.get("read_only")
        return super().run_sql(sql, **kwargs)

    def set_catalog_state(self, kind, state):
        if self.sql_ran:
            raise HasuraUnreachable("Hasura at … is not reachable")
        super().set_catalog_state(kind, state)


def test_a_mark_that_cannot_be_cleared_says_the_next_deploy_clears_it(double, client):
    with ClearingFails(double.url, double.admin_secret, retry_seconds=1) as failing:
        with pytest.raises(MetadataApplyError, match=r"was applied and recorded in hdb_catalog.schema_migrations, but "
                                                     r"clearing its dirty mark .* run the deploy again"):
            apply_project(failing, load_project(PROJECT))
    assert apply_project(client, load_project(PROJECT)).migrations_applied == []
    assert cli_migrations(client) == {"default": {str(VERSION): False}}


def test_a_failing_migration_leaves_no_mark_behind(client, project_copy):
    broken = project_copy / "migrations/default/1763856000001_broken"
    broken.mkdir()
    (broken / "up.sql").write_text("SELECT no_such_function();")
    with pytest.raises(MetadataApplyError, match="1763856000001_broken failed and was rolled back"):
        apply_project(client, load_project(project_copy))
    assert cli_migrations(client) == {"default": {str(VERSION): False}}


def test_a_dirty_row_of_the_config_v2_table_stops_the_deploy(client, double):
    add_default_source(client)
    client.run_sql(f"{CREATE_TABLE}; INSERT INTO {MIGRATIONS_TABLE} VALUES ({VERSION}, true)")
    with pytest.raises(MetadataApplyError, match=rf"(?s)default/{VERSION} is marked dirty in {MIGRATIONS_TABLE} .*"
                                                 rf"SET dirty = false WHERE version = {VERSION}"):
        apply_project(client, load_project(PROJECT))
    assert users_tables(double) == 0


def test_until_the_copy_is_completed_applied_migrations_are_read_from_both_places(client):
    add_default_source(client)
    client.run_sql(f"{CREATE_TABLE}; INSERT INTO {MIGRATIONS_TABLE} VALUES (1, false), (2, false)")
    client.set_catalog_state("cli", {"migrations": {"default": {"2": True, "3": False}, "other": {"9": False}}})
    assert [(m.version, m.dirty, m.in_catalog_state, m.committed) for m in read_applied_migrations(client)] == [
        (1, False, False, True),
        (2, True, True, True),  # dirty to the CLI, but its SQL committed: the next deploy clears the mark
        (3, False, True, False),
    ]


def test_once_the_copy_is_completed_the_catalog_state_alone_is_the_record(client):
    """isStateCopyCompleted (cli/migrate/util.go copyStateToCatalogStateAPIIfRequired): the CLI reads only the
    catalog state from then on, so a version only the table has was rolled back or deleted with the CLI."""
    add_default_source(client)
    client.run_sql(f"{CREATE_TABLE}; INSERT INTO {MIGRATIONS_TABLE} VALUES (1, false), (2, false), (4, true)")
    client.set_catalog_state("cli", {"migrations": {"default": {"2": True, "3": False}}, "isStateCopyCompleted": True})
    records = read_source_records(client, "default")
    assert [(m.version, m.dirty, m.in_catalog_state, m.committed) for m in records.applied()] == [
        (2, True, True, True),
        (3, False, True, False),
    ]
    assert records.stale() == [1, 4]
    assert records.catch_up() == {2: False}  # only the committed dirty mark: nothing is copied from the table
