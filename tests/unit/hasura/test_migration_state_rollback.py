"""One record of migrations with the Hasura CLI, rollbacks included (issue 18 §1): a migration the Hasura CLI rolled
back or deleted is not applied — `status` and drift say so, and the next deploy runs it again, as `hasura migrate
apply` would. Against the Hasura double, real PostgreSQL behind.

The CLI's requests are replayed as its source sends them (hasura/graphql-engine, CLI v2 with a config v3 project):

- every migrate command first runs copyStateToCatalogStateAPIIfRequired (`cli/migrate/util.go`): nothing to do
  when the catalog state says `isStateCopyCompleted: true`, which the deploy has set;
- `hasura migrate apply --version V --type down --database-name S` (`cli/migrate/migrate.go` runMigrations):
  the down.sql as one `run_sql` on /v2/query with `check_metadata_consistency: false`
  (`cli/migrate/database/hasuradb/hasuradb.go` Run), then SetVersion(V, false) and, the target being below V,
  RemoveVersion(V) — each a get_catalog_state and a set_catalog_state of the whole `cli` state
  (`cli/internal/statestore/migrations/catalogstate.go`);
- `hasura migrate delete --version V --server` (Migrate.RemoveVersions): RemoveVersion(V) only, no SQL.

Both commands also read the `migration_mode` setting from the catalog state first (GetSetting); that read changes
nothing and is left out.

Neither touches hdb_catalog.schema_migrations, so its row of V stays: these tests fail if "applied" went back to
meaning "in the catalog state OR in the table".
"""

from __future__ import annotations

import io
import json
import secrets

import psycopg
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2

from components.cli import drift, status
from components.cli.main import main as cli
from components.cli.stack import ENV_ADMIN_SECRET
from components.hasura.apply import MIGRATIONS_TABLE, MetadataApplyError, apply_project
from components.hasura.client import HasuraClient
from components.hasura.compare import normalize_metadata
from components.hasura.project import load_project
from components.hasura.model import content_hash
from components.providers.hasura_metadata import HasuraMetadataProvider, changed_properties
from tests.pulumi_harness import DynamicProviderHost

FIRST, ADD_NICKNAME = 1763856000000, 1763856000001
UP = "ALTER TABLE public.users ADD COLUMN IF NOT EXISTS nickname text;"
DOWN = "ALTER TABLE public.users DROP COLUMN nickname;"


class ProcessDied(BaseException):
    """The deploy's process is killed at this point (nothing after it runs, no handler sees it)."""


@pytest.fixture
def double(hasura_double_factory):
    # A JWT secret as the stack sets one, so the drift command's auth section is in sync.
    return hasura_double_factory(jwt_secret=json.dumps({"type": "HS256", "key": secrets.token_urlsafe(32)}))


@pytest.fixture
def client(double):
    with HasuraClient(double.url, double.admin_secret, retry_seconds=3) as hasura_client:
        yield hasura_client


@pytest.fixture
def project(project_copy):
    added = project_copy / f"migrations/default/{ADD_NICKNAME}_add_nickname"
    added.mkdir()
    (added / "up.sql").write_text(UP + "\n")
    (added / "down.sql").write_text(DOWN + "\n")
    return project_copy


def cli_copy_state_if_required(client: HasuraClient) -> None:
    """copyStateToCatalogStateAPIIfRequired: the deploy has marked the copy completed, so the CLI reads nothing else."""
    assert client.get_catalog_state().cli_state.get("isStateCopyCompleted") is True


def cli_remove_version(client: HasuraClient, version: int, source: str = "default") -> None:
    """CatalogStateStore.RemoveVersion: read the whole `cli` state, drop the version, write it back."""
    state = client.get_catalog_state().cli_state
    state["migrations"][source].pop(str(version), None)
    client.set_catalog_state("cli", state)


def cli_migrate_down(client: HasuraClient, version: int, down_sql: str, source: str = "default") -> None:
    """`hasura migrate apply --version V --type down --database-name S`, request by request."""
    cli_copy_state_if_required(client)
    client._json("POST", "/v2/query", operation="run_sql", idempotent=False, json={"type": "run_sql", "args": {
        "source": source, "sql": down_sql, "check_metadata_consistency": False}})
    state = client.get_catalog_state().cli_state  # SetVersion(V, false)
    state["migrations"][source][str(version)] = False
    client.set_catalog_state("cli", state)
    cli_remove_version(client, version, source)


def cli_migrate_delete(client: HasuraClient, version: int, source: str = "default") -> None:
    """`hasura migrate delete --version V --server --database-name S`, request by request."""
    cli_copy_state_if_required(client)
    cli_remove_version(client, version, source)


def nickname_columns(double) -> int:
    with psycopg.connect(double.database_url) as conn:
        return conn.execute("select count(*) from information_schema.columns where table_schema = 'public' and "
                            "table_name = 'users' and column_name = 'nickname'").fetchone()[0]


def table_row(double, version: int) -> tuple | None:
    """(dirty, xmin) of the version's row: xmin changes when the row is replaced."""
    with psycopg.connect(double.database_url) as conn:
        return conn.execute(f"select dirty, xmin::text from {MIGRATIONS_TABLE} where version = %s",
                            (version,)).fetchone()


def run_status(double, project_dir, capsys) -> tuple[int, list[str]]:
    code = cli(["status", "--hasura-url", double.url, "--project-dir", str(project_dir), "--wait", "2"], stdin=None,
                       environ={ENV_ADMIN_SECRET: double.admin_secret})
    captured = capsys.readouterr()
    return code, (captured.out or captured.err).splitlines()


def run_drift(double, project_dir, capsys) -> tuple[int, str]:
    code = cli(["drift", "--hasura-url", double.url, "--project-dir", str(project_dir), "--target", "existing",
                       "--wait", "2"], stdin=io.StringIO(""), environ={ENV_ADMIN_SECRET: double.admin_secret})
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def in_sync_status(lines: list[str]) -> list[str]:
    return lines[1:]


PRESENT_BOTH = [
    "database default",
    "  VERSION        NAME          SOURCE STATUS  DATABASE STATUS  RECORDED IN",
    f"  {FIRST}  create_users  Present        Present          catalog state, {MIGRATIONS_TABLE}",
    f"  {ADD_NICKNAME}  add_nickname  Present        Present          catalog state, {MIGRATIONS_TABLE}",
    "Result: in sync - every migration is applied (2)",
]


def test_a_rollback_made_with_the_hasura_cli_is_reported_and_run_again_by_the_next_deploy(double, client, project,
                                                                                          capsys):
    assert apply_project(client, load_project(project)).migrations_applied == [
        f"default/{FIRST}_create_users", f"default/{ADD_NICKNAME}_add_nickname"]
    assert client.get_catalog_state().cli_state["isStateCopyCompleted"] is True  # the catalog state is the record
    first_row = table_row(double, ADD_NICKNAME)

    cli_migrate_down(client, ADD_NICKNAME, DOWN)
    assert nickname_columns(double) == 0
    assert client.get_catalog_state().cli_state["migrations"] == {"default": {str(FIRST): False}}
    assert table_row(double, ADD_NICKNAME) == first_row  # the CLI never touches the table

    code, lines = run_status(double, project, capsys)
    assert code == 1
    assert lines[4] == (f"  {ADD_NICKNAME}  add_nickname  Present        Not Present      "
                        f"{MIGRATIONS_TABLE} (stale)")
    assert lines[-1] == ("Result: NOT in sync - 1 not applied (`scripts/deploy <stack>` applies them), 1 of them "
                         "rolled back or deleted with the Hasura CLI (to keep that, remove them from "
                         "metadata/migrations too)")
    code, out = run_drift(double, project, capsys)
    assert code == 1
    assert "default: 1/2 applied" in out
    assert (f"migration default/{ADD_NICKNAME}_add_nickname is not applied live: Hasura's catalog state, the record "
            "the Hasura CLI keeps, does not have it") in out
    assert "Fix: re-apply with `scripts/deploy <stack>`" in out
    assert f"remove it from {project}/migrations/default" in out  # the folder compared with

    result = apply_project(client, load_project(project))
    assert result.migrations_applied == [f"default/{ADD_NICKNAME}_add_nickname"]
    assert result.changes[0] == (f"migration default/{ADD_NICKNAME}_add_nickname › run again and recorded (Hasura's "
                                 "catalog state did not have it: rolled back or deleted with the Hasura CLI; its old "
                                 f"row in {MIGRATIONS_TABLE} was replaced)")
    assert nickname_columns(double) == 1
    dirty, row_version = table_row(double, ADD_NICKNAME)
    assert dirty is False and row_version != first_row[1]  # a fresh row, written with this run's SQL
    assert client.get_catalog_state().cli_state["migrations"] == {"default": {str(FIRST): False,
                                                                              str(ADD_NICKNAME): False}}
    code, lines = run_status(double, project, capsys)
    assert (code, in_sync_status(lines)) == (0, PRESENT_BOTH)
    assert run_drift(double, project, capsys)[0] == 0
    double.reset_counts()
    assert not apply_project(client, load_project(project)).wrote_anything  # converged
    assert double.writes() == 0


def test_a_migration_deleted_on_the_server_with_the_hasura_cli_is_run_again(double, client, project, capsys):
    apply_project(client, load_project(project))
    first_row = table_row(double, ADD_NICKNAME)
    cli_migrate_delete(client, ADD_NICKNAME)  # e.g. to run an edited up.sql again; the column stays

    code, lines = run_status(double, project, capsys)
    assert code == 1 and "Not Present" in lines[4] and lines[4].endswith(f"{MIGRATIONS_TABLE} (stale)")
    code, out = run_drift(double, project, capsys)
    assert code == 1 and f"default/{ADD_NICKNAME}_add_nickname is not applied live" in out

    assert apply_project(client, load_project(project)).migrations_applied == [f"default/{ADD_NICKNAME}_add_nickname"]
    assert table_row(double, ADD_NICKNAME)[1] != first_row[1]
    code, lines = run_status(double, project, capsys)
    assert (code, in_sync_status(lines)) == (0, PRESENT_BOTH)


def test_a_deleted_migration_that_cannot_run_twice_fails_naming_how_to_record_it(double, client, project):
    (project / f"migrations/default/{ADD_NICKNAME}_add_nickname/up.sql").write_text(
        "ALTER TABLE public.users ADD COLUMN nickname text;")  # not idempotent
    apply_project(client, load_project(project))
    cli_migrate_delete(client, ADD_NICKNAME)
    with pytest.raises(MetadataApplyError) as failed:
        apply_project(client, load_project(project))
    message = str(failed.value)
    assert f"default/{ADD_NICKNAME}_add_nickname failed and was rolled back" in message
    assert (f"`hasura migrate apply --version {ADD_NICKNAME} --skip-execution --database-name default`"
            in message)
    assert client.get_catalog_state().cli_state["migrations"] == {"default": {str(FIRST): False}}  # no mark left


class DiesBeforeTheSql(HasuraClient):
    """The deploy's process dies after marking the migration dirty, before its SQL transaction."""

    def run_sql(self, sql, **kwargs):
        if not kwargs.get("read_only") and "ADD COLUMN" in sql:
            raise ProcessDied
        return super().run_sql(sql, **kwargs)


def test_a_rerun_killed_before_its_sql_is_not_taken_for_committed_by_the_old_row(double, client, project):
    apply_project(client, load_project(project))
    cli_migrate_down(client, ADD_NICKNAME, DOWN)
    with DiesBeforeTheSql(double.url, double.admin_secret) as dying:
        with pytest.raises(ProcessDied):
            apply_project(dying, load_project(project))
    # The row of the earlier run went before the dirty mark came: no clean row can pass for this run's commit.
    assert table_row(double, ADD_NICKNAME) is None
    assert client.get_catalog_state().cli_state["migrations"]["default"][str(ADD_NICKNAME)] is True
    with pytest.raises(MetadataApplyError, match=f"default/{ADD_NICKNAME} is marked dirty in Hasura's catalog state"):
        apply_project(client, load_project(project))
    assert nickname_columns(double) == 0


def test_the_refresh_of_a_deploy_sees_the_rollback_and_the_update_runs_it_again(double, client, project):
    """What `scripts/deploy` (`pulumi up --refresh`) does: the metadata provider's read, diff and update, run in
    `python -m pulumi.dynamic` as the engine runs them."""
    urn = "urn:pulumi:dev::clerk-hasura::pulumi-python:dynamic/hasura_metadata:HasuraMetadata::backend-metadata"
    loaded = load_project(project)
    desired = normalize_metadata(loaded.metadata)
    inputs = {"__provider": serialize_provider(HasuraMetadataProvider()), "hasura_url": double.url,
              "admin_secret": double.admin_secret, "metadata": desired,
              "migrations": loaded.to_inputs()["migrations"], "metadata_hash": content_hash(desired, loaded.migrations)}
    with DynamicProviderHost() as host:
        host.configure({})
        resource_id, outs = host.create(urn, inputs)
        cli_migrate_down(client, ADD_NICKNAME, DOWN)
        _, refreshed = host.read(urn, resource_id, outs)
        assert refreshed["applied_migrations"] == [str(FIRST)]
        assert host.diff(urn, resource_id, refreshed, inputs).changes == provider_pb2.DiffResponse.DIFF_SOME
        assert changed_properties(refreshed, inputs) == [f"migration default/{ADD_NICKNAME}_add_nickname not applied"]
        repaired = host.update(urn, resource_id, refreshed, inputs)
        assert repaired["applied_migrations"] == [str(FIRST), str(ADD_NICKNAME)]
        _, again = host.read(urn, resource_id, repaired)
        assert host.diff(urn, resource_id, again, inputs).changes == provider_pb2.DiffResponse.DIFF_NONE
    assert nickname_columns(double) == 1


class RowReplacedMeanwhile(HasuraClient):
    """Another deploy replaces the stale row between this deploy's read of the records and its delete."""

    database_url = ""

    def run_sql(self, sql, **kwargs):
        if sql.startswith(f"DELETE FROM {MIGRATIONS_TABLE}"):
            with psycopg.connect(self.database_url) as conn:
                conn.execute(f"UPDATE {MIGRATIONS_TABLE} SET dirty = false WHERE version = %s", (ADD_NICKNAME,))
        return super().run_sql(sql, **kwargs)


def test_a_stale_row_replaced_meanwhile_stops_the_rerun_before_anything_changes(double, client, project):
    apply_project(client, load_project(project))
    cli_migrate_down(client, ADD_NICKNAME, DOWN)
    with RowReplacedMeanwhile(double.url, double.admin_secret) as racing:
        racing.database_url = double.database_url
        with pytest.raises(MetadataApplyError, match=f"default/{ADD_NICKNAME}_add_nickname was not run: its row in "
                                                     f"{MIGRATIONS_TABLE} changed while this deploy was reading it"):
            apply_project(racing, load_project(project))
    assert table_row(double, ADD_NICKNAME) is not None and nickname_columns(double) == 0
    assert client.get_catalog_state().cli_state["migrations"] == {"default": {str(FIRST): False}}  # no mark
