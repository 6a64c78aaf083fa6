"""The real engine and a deploy that died in the middle of a migration (issue 25 §1): the dirty mark it left is
drift to `pulumi up --refresh` (what `scripts/deploy` runs), which finishes it or stops naming the fix; afterwards
the record the Hasura CLI reads lists every migration clean, and the stack converges.

The stack and the Hasura double are tests/engine/test_existing.py's (an existing target, the cheapest real-engine
setup). The dying deploy is the deploy's own apply, killed at the request tests/unit/hasura/test_migration_state.py's `DiesAt`
picks: what a `pulumi up` killed at that point leaves live. The new migration changes no metadata, so nothing but
the dirty mark can show that it is unfinished.
"""

from __future__ import annotations

import psycopg
import pytest
from pulumi import automation as auto

from components.cli.main import main as cli
from components.cli.stack import ENV_ADMIN_SECRET
from components.hasura.apply import MIGRATIONS_TABLE, apply_project
from components.hasura.project import load_project
from tests.engine.test_existing import (  # noqa: F401 - fixtures, found by pytest in this module's namespace
    ADMIN_SECRET,
    admin,
    deployed,
    hasura,
    metadata_dir,
    minted_tokens,
)
from tests.fixtures.engine import changes, smoke_failures
from tests.unit.hasura.test_migration_state import DiesAt, ProcessDied

USERS = "1763856000000"
BIO = "1763856000001"


@pytest.fixture
def bio_migration(deployed, metadata_dir):
    """A new migration in metadata/ after the first deploy, changing no metadata: `bio` is in no permission."""
    migration = metadata_dir / "migrations" / "default" / f"{BIO}_add_bio"
    migration.mkdir()
    (migration / "up.sql").write_text("ALTER TABLE public.users ADD COLUMN bio text;\n")
    return migration


def deploy_killed(hasura, metadata_dir, when: str) -> None:
    """A `scripts/deploy` of metadata/ whose process is killed `when` (see `DiesAt`)."""
    with DiesAt(hasura.url, ADMIN_SECRET, when=when) as dying, pytest.raises(ProcessDied):
        apply_project(dying, load_project(metadata_dir))


def cli_migrations(hasura) -> dict:
    """What `hasura migrate status` and `hasura migrate apply` read: the catalog state's record (version -> dirty)."""
    with admin(hasura) as client:
        state = client.get_catalog_state().cli_state
    assert state["isStateCopyCompleted"] is True  # the CLI reads nothing else
    return state["migrations"]


def cli_migrate_delete(hasura, version: str) -> None:
    """`hasura migrate delete --version <v> --server --database-name default`: the version leaves the catalog state,
    nothing runs (cli/migrate/migrate.go RemoveVersions, cli/internal/statestore/migrations/catalogstate.go)."""
    with admin(hasura) as client:
        state = client.get_catalog_state().cli_state
        del state["migrations"]["default"][version]
        client.set_catalog_state("cli", state)


def bio_columns(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' "
                            "AND table_name = 'users' AND column_name = 'bio'").fetchone()[0]


def assert_the_cli_agrees_and_the_stack_converges(deployed, hasura, metadata_dir, capsys) -> None:
    # Every version recorded, none dirty: `hasura migrate status` lists both Present and `migrate apply` runs nothing.
    assert cli_migrations(hasura) == {"default": {USERS: False, BIO: False}}
    code = cli(["status", "--hasura-url", hasura.url, "--project-dir", str(metadata_dir), "--wait", "2"], stdin=None,
                       environ={ENV_ADMIN_SECRET: ADMIN_SECRET})
    assert code == 0, capsys.readouterr().out
    assert changes(deployed.up(refresh=True)) == {}
    deployed.preview(refresh=True, expect_no_changes=True)  # raises on any change


def test_a_mark_left_after_the_sql_committed_is_cleared_by_the_next_deploy_and_the_check_reruns(
        deployed, hasura, metadata_dir, bio_migration, postgres_database_url, capsys):
    deploy_killed(hasura, metadata_dir, when="before clearing the dirty mark")
    assert cli_migrations(hasura) == {"default": {USERS: False, BIO: True}}  # `hasura migrate apply` refuses
    assert bio_columns(postgres_database_url) == 1

    with pytest.raises(auto.CommandError) as drift:
        deployed.preview(refresh=True, expect_no_changes=True)
    assert "code: 7" in str(drift.value)  # the engine's "changes were expected not to happen" exit code

    hasura.reset_counts()
    result = deployed.up(refresh=True)
    assert changes(result) == {"update": 2}, "".join(deployed.log[-40:])  # the metadata, then the smoke check
    assert any(f"migration default/{BIO} › dirty mark cleared in Hasura's catalog state ({MIGRATIONS_TABLE} shows "
               "its SQL committed)" in line for line in deployed.log)
    assert bio_columns(postgres_database_url) == 1  # not run again (ADD COLUMN would have failed)
    assert hasura.count("/v1/graphql") > 0 and smoke_failures(deployed.outputs()) == {}
    outputs = deployed.resource("HasuraMetadata")["outputs"]
    assert outputs["applied_migrations"] == [USERS, BIO] and outputs["dirty_migrations"] == []
    assert_the_cli_agrees_and_the_stack_converges(deployed, hasura, metadata_dir, capsys)


def test_a_mark_left_before_the_sql_ran_fails_the_next_deploy_with_the_fix_and_the_fix_then_deploys_it(
        deployed, hasura, metadata_dir, bio_migration, postgres_database_url, capsys):
    deploy_killed(hasura, metadata_dir, when="before the migration's SQL")
    assert cli_migrations(hasura) == {"default": {USERS: False, BIO: True}}
    assert bio_columns(postgres_database_url) == 0

    with pytest.raises(auto.CommandError) as drift:
        deployed.preview(refresh=True, expect_no_changes=True)
    assert "code: 7" in str(drift.value)

    # Nothing can tell whether the SQL took effect (the mark may be a `hasura migrate apply`'s): the deploy stops,
    # naming the commands, and does not report success with the migration missing.
    with pytest.raises(auto.CommandError) as stopped:
        deployed.up(refresh=True)
    message = str(stopped.value)
    assert f"default/{BIO} is marked dirty in Hasura's catalog state and {MIGRATIONS_TABLE} has no row" in message
    assert f"`hasura migrate delete --version {BIO} --server --database-name default` and deploy again" in message
    assert bio_columns(postgres_database_url) == 0 and cli_migrations(hasura)["default"][BIO] is True

    cli_migrate_delete(hasura, BIO)  # the fix for "its SQL did not take effect"
    hasura.reset_counts()
    result = deployed.up(refresh=True)
    assert changes(result) == {"update": 2}, "".join(deployed.log[-40:])
    assert any(f"migration default/{BIO}_add_bio › applied and recorded" in line for line in deployed.log)
    assert bio_columns(postgres_database_url) == 1
    assert hasura.count("/v1/graphql") > 0 and smoke_failures(deployed.outputs()) == {}
    assert_the_cli_agrees_and_the_stack_converges(deployed, hasura, metadata_dir, capsys)
