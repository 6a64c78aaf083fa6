"""`clerk-hasura status`: each migration, applied or not, per source, from the one record — what
`hasura migrate status` shows — against the Hasura double (real PostgreSQL behind it). A migration rolled back
with the Hasura CLI is covered in tests/unit/hasura/test_migration_state_rollback.py. The project listed is the stack's (output
`metadataDir`)."""

from __future__ import annotations

import io
import json

import pytest

from components.cli.main import main as cli
from components.cli.stack import ENV_ADMIN_SECRET
from components.hasura.apply import MIGRATIONS_TABLE, apply_project
from components.hasura.client import HasuraClient
from components.hasura.project import load_project


@pytest.fixture
def double(hasura_double_factory):
    return hasura_double_factory(jwt_secret=None)


@pytest.fixture
def client(double):
    with HasuraClient(double.url, double.admin_secret) as hasura_client:
        yield hasura_client


def run_status(double, project_dir, capsys) -> tuple[int, list[str]]:
    code = cli(["status", "--hasura-url", double.url, "--project-dir", str(project_dir), "--wait", "2"], stdin=None,
                       environ={ENV_ADMIN_SECRET: double.admin_secret})
    captured = capsys.readouterr()
    return code, (captured.out or captured.err).splitlines()


def test_after_a_deploy_every_migration_is_present_on_both_sides(double, client, project_copy, capsys):
    apply_project(client, load_project(project_copy))
    code, lines = run_status(double, project_copy, capsys)
    assert code == 0
    assert lines[1:] == [
        "database default",
        "  VERSION        NAME          SOURCE STATUS  DATABASE STATUS  RECORDED IN",
        f"  1763856000000  create_users  Present        Present          catalog state, {MIGRATIONS_TABLE}",
        "Result: in sync - every migration is applied (1)",
    ]
    # The Hasura CLI reads only the catalog state: it lists the same version as applied.
    assert client.get_catalog_state().cli_state["migrations"] == {"default": {"1763856000000": False}}


def test_not_applied_dirty_and_server_only_migrations_are_listed(double, client, project_copy, capsys):
    apply_project(client, load_project(project_copy))
    pending = project_copy / "migrations/default/1763856000002_add_bio"
    pending.mkdir()
    (pending / "up.sql").write_text("ALTER TABLE public.users ADD COLUMN bio text;")
    state = client.get_catalog_state().cli_state
    state["migrations"]["default"]["1763856000001"] = True  # applied with the Hasura CLI from another branch
    client.set_catalog_state("cli", state)

    code, lines = run_status(double, project_copy, capsys)
    assert code == 1
    assert lines[2:6] == [
        "  VERSION        NAME          SOURCE STATUS  DATABASE STATUS  RECORDED IN",
        f"  1763856000000  create_users  Present        Present          catalog state, {MIGRATIONS_TABLE}",
        "  1763856000001  -             Not Present    Present (dirty)  catalog state",
        "  1763856000002  add_bio       Present        Not Present      -",
    ]
    # No row explains the mark, so a deploy would stop on it: the fix is the Hasura CLI's, after a look.
    assert lines[6:-1] == [
        f"dirty: default/1763856000001 is marked dirty in Hasura's catalog state and {MIGRATIONS_TABLE} has no row "
        "for it: a deploy or a `hasura migrate apply` stopped between marking it and recording it. Check the "
        "database, then either",
        "      its SQL did not take effect: `hasura migrate delete --version 1763856000001 --server --database-name "
        "default` and deploy again (the deploy runs it), or",
        "      it did: `hasura migrate delete --version 1763856000001 --server --database-name default` then `hasura "
        "migrate apply --version 1763856000001 --skip-execution --database-name default` (records it as applied "
        "without running it)",
        "      (the Hasura CLI run in metadata/, with --endpoint <Hasura URL> and HASURA_GRAPHQL_ADMIN_SECRET set)",
    ]
    assert lines[-1] == ("Result: NOT in sync - 1 not applied (`scripts/deploy <stack>` applies them); 1 dirty (each "
                         "listed above with what resolves it); 1 applied on the server but not in metadata/migrations")


def test_a_stack_with_the_table_only_record_shows_where_the_cli_does_not_see_it(double, client, project_copy,
                                                                               capsys):
    project = load_project(project_copy)
    client.metadata("pg_add_source", {"name": "default", "configuration": {"connection_info": {
        "database_url": {"from_env": "PG_DATABASE_URL"}}}})
    client.run_sql(f"CREATE SCHEMA IF NOT EXISTS hdb_catalog; CREATE TABLE {MIGRATIONS_TABLE} (version bigint "
                   f"PRIMARY KEY, dirty boolean NOT NULL); {project.migrations[0].up_sql}; "
                   f"INSERT INTO {MIGRATIONS_TABLE} VALUES (1763856000000, false);")
    code, lines = run_status(double, project_copy, capsys)
    assert code == 0
    assert lines[3] == f"  1763856000000  create_users  Present        Present          {MIGRATIONS_TABLE}"
    double.reset_counts()
    run_status(double, project_copy, capsys)
    assert double.writes() == 0  # reads only


def test_an_unreachable_hasura_is_exit_2(tmp_path, capsys, project_copy):
    code = cli(["status", "--hasura-url", "http://127.0.0.1:9", "--project-dir", str(project_copy), "--wait", "0.3"],
                       stdin=None, environ={ENV_ADMIN_SECRET: "s3cret-value"})
    err = capsys.readouterr().err
    assert code == 2 and "status could not be read" in err and "s3cret-value" not in err


def test_the_stack_outputs_name_the_project_listed_and_printed(double, client, project_copy, capsys):
    """Piped stack outputs give the stack's metadataDir (relative to this repository, as the program reads it, or
    absolute): its migrations are listed and its folder named, not this repository's metadata/."""
    apply_project(client, load_project(project_copy))
    pending = project_copy / "migrations/default/1763856000002_add_bio"
    pending.mkdir()
    (pending / "up.sql").write_text("ALTER TABLE public.users ADD COLUMN bio text;")
    outputs = {"hasuraUrl": double.url, "hasuraAdminSecret": double.admin_secret, "target": "existing"}

    code = cli(["status", "--wait", "2"], stdin=io.StringIO(json.dumps({**outputs, "metadataDir": str(project_copy)})),
                       environ={})
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0] == f"Migrations of {project_copy}/ on Hasura at {double.url}:"
    assert "  1763856000002  add_bio       Present        Not Present      -" in lines

    code = cli(["status", "--wait", "2"], stdin=io.StringIO(json.dumps({**outputs, "metadataDir": "metadata"})),
                       environ={})
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and lines[0] == f"Migrations of metadata/ on Hasura at {double.url}:"

    code = cli(["status", "--wait", "2"], stdin=io.StringIO(json.dumps(outputs)), environ={})
    err = capsys.readouterr().err
    assert code == 2
    assert "the stack outputs on stdin have no `metadataDir`" in err and "or pass --project-dir DIR" in err
    assert double.admin_secret not in err
