"""`clerk-hasura drift` against the Hasura double: 0 in sync, 1 drift (named), 2 could not check;
the project and the target it validates with are the stack's (outputs `metadataDir`, `target`)."""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest

from components.cli.main import main as cli
from components.hasura.client import HasuraClient
from components.hasura.apply import apply_project
from components.hasura.compare import normalize_metadata
from components.hasura.project import load_project
from components.targets import platform_schemas
from tests.doubles.nhost import PLATFORM_DDL
from tests.fixtures.metadata import track_nhost_tables

PROJECT = Path(__file__).resolve().parents[3] / "metadata"
ISSUER = "https://happy-hippo-12.clerk.accounts.dev"


@pytest.fixture
def deployed(hasura_double_factory, postgres_database_url):
    """A double configured as the stack configures Hasura (JWT with issuer), with metadata/ applied."""
    double = hasura_double_factory(jwt_secret=json.dumps({"type": "HS256", "key": secrets.token_urlsafe(32),
                                                          "issuer": ISSUER}))
    with HasuraClient(double.url, double.admin_secret) as client:
        apply_project(client, load_project(PROJECT))
    return double


def stack_outputs(double, **overrides) -> str:
    """What `pulumi stack output --json --show-secrets` gives for a stack deployed with this repository's metadata/."""
    return json.dumps({"graphqlUrl": f"{double.url}/v1/graphql", "hasuraAdminSecret": double.admin_secret,
                       "issuer": ISSUER, "jwksUrl": f"{ISSUER}/.well-known/jwks.json", "jwtTemplate": "hasura",
                       "target": "existing", "metadataDir": "metadata", **overrides})


def run(capsys, *args: str, stdin: str = "", environ: dict | None = None) -> tuple[int, str, str]:
    code = cli(["drift", "--wait", "1", *args], stdin=io.StringIO(stdin), environ=environ or {})
    out, err = capsys.readouterr()
    return code, out, err


def test_in_sync_exits_0(deployed, capsys):
    code, out, err = run(capsys, stdin=stack_outputs(deployed))
    assert code == 0, out + err
    assert out.startswith(f"Drift check of Hasura at {deployed.url} against metadata/ (target existing):\n")
    assert "Result: in sync" in out
    assert "JWT mode on" in out and "forged token refused" in out and f"issuer checked ({ISSUER})" in out
    assert "default: 1/1 applied" in out and "config API" not in out
    assert deployed.admin_secret not in out + err


def test_a_permission_changed_live_is_named(deployed, capsys):
    with HasuraClient(deployed.url, deployed.admin_secret) as console:
        console.metadata("pg_drop_update_permission", {"table": "users", "role": "user"})
        console.metadata("pg_create_update_permission", {"table": "users", "role": "user", "permission": {
            "columns": ["id", "name"], "filter": {}}})
        console.metadata("pg_create_delete_permission", {"table": "users", "role": "user", "permission": {
            "filter": {}}})
    code, out, _ = run(capsys, stdin=stack_outputs(deployed))
    assert code == 1
    where = "source default › table public.users › role user"
    assert f"{where} › update permission › column id: allowed live, not in metadata/" in out
    assert f"{where} › update permission › column email: in metadata/, not allowed live" in out
    assert f"{where} › update permission › filter: metadata/ has" in out
    assert f"{where} › delete permission › present live, not in metadata/" in out
    assert "metadata     DRIFT" in out and "Result: DRIFT" in out


def test_a_live_copy_spelled_otherwise_is_drift_the_deploy_writes_over(deployed, capsys):
    # What earlier releases left live: X-Hasura-User-Id lower-cased, columns sorted (the deploy now rewrites it).
    project = load_project(PROJECT)
    with HasuraClient(deployed.url, deployed.admin_secret) as client:
        client.replace_metadata(normalize_metadata(project.metadata), resource_version=None)
    code, out, _ = run(capsys, stdin=stack_outputs(deployed))
    assert code == 1
    where = "source default › table public.users › role user › select permission"
    assert (f'{where} › filter: metadata/ has {{"id": {{"_eq": "X-Hasura-User-Id"}}}}, live has '
            f'{{"id": {{"_eq": "x-hasura-user-id"}}}}') in out
    assert f"{where} › columns: listed as" in out and "(same columns)" in out


def test_a_table_dropped_live_is_reported_as_inconsistent(deployed, capsys):
    with psycopg.connect(deployed.database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE public.users")
    code, out, _ = run(capsys, stdin=stack_outputs(deployed))
    assert code == 1
    assert "consistency  DRIFT" in out
    assert "inconsistent live: table" in out and "users" in out


def test_a_migration_not_applied_is_drift(deployed, capsys, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    extra = project / "migrations/default/1763856000001_add_bio"
    extra.mkdir()
    (extra / "up.sql").write_text("ALTER TABLE public.users ADD COLUMN bio text;")
    code, out, _ = run(capsys, "--project-dir", str(project), stdin=stack_outputs(deployed))
    assert code == 1
    assert f"against {project}/ (target existing)" in out  # the folder really compared with
    assert "migration default/1763856000001_add_bio is not applied live" in out
    assert f"bring it into {project}/ (`clerk-hasura export`)" in out


def test_jwt_mode_off_is_drift(hasura_double_factory, capsys):
    double = hasura_double_factory(jwt_secret=None)
    with HasuraClient(double.url, double.admin_secret) as client:
        apply_project(client, load_project(PROJECT))
    code, out, _ = run(capsys, stdin=stack_outputs(double))
    assert code == 1
    assert "JWT mode is off" in out


def test_a_different_issuer_is_drift(deployed, capsys):
    code, out, _ = run(capsys, "--issuer", "https://other-instance.clerk.accounts.dev", stdin=stack_outputs(deployed))
    assert code == 1
    assert "does not trust the expected issuer https://other-instance.clerk.accounts.dev" in out


def test_an_unchecked_issuer_is_drift(hasura_double_factory, capsys):
    double = hasura_double_factory(jwt_secret=json.dumps({"type": "HS256", "key": secrets.token_urlsafe(32)}))
    with HasuraClient(double.url, double.admin_secret) as client:
        apply_project(client, load_project(PROJECT))
    code, out, _ = run(capsys, stdin=stack_outputs(double))
    assert code == 1
    assert "does not check the token issuer" in out


def test_unreachable_hasura_exits_2(capsys):
    code, out, err = run(capsys, "--hasura-url", "http://127.0.0.1:9", "--target", "docker", environ={
        "CLERK_HASURA_HASURA_ADMIN_SECRET": "s3cret-value"})
    assert code == 2 and out == ""
    assert "could not run" in err and "not reachable" in err and "s3cret-value" not in err


def test_a_wrong_admin_secret_exits_2_without_printing_it(deployed, capsys):
    code, out, err = run(capsys, stdin=stack_outputs(deployed, hasuraAdminSecret="wrong-admin-secret-value"))
    assert code == 2
    assert "invalid x-hasura-admin-secret" in err and "wrong-admin-secret-value" not in out + err


def test_missing_inputs_and_hidden_secrets_exit_2(capsys):
    code, _, err = run(capsys)
    assert code == 2 and "no Hasura URL" in err
    code, _, err = run(capsys, stdin=json.dumps({"graphqlUrl": "http://x/v1/graphql", "hasuraAdminSecret": "[secret]"}))
    assert code == 2 and "--show-secrets" in err


# --- the stack's project and target ------------------------------------------------------------------------------

@pytest.fixture
def nhost_folder(tmp_path) -> Path:
    """An app's nhost/ folder: metadata/ plus Nhost's auth.users and storage.files tracked, no migration creating
    them."""
    folder = tmp_path / "nhost"
    shutil.copytree(PROJECT, folder)
    track_nhost_tables(folder)
    return folder


@pytest.fixture
def nhost_hasura(hasura_double_factory, nhost_folder):
    """A Hasura whose database has Nhost's own tables (as Nhost's services create them), with the nhost/ folder
    applied as the deploy applies it on the nhost target."""
    double = hasura_double_factory(jwt_secret=json.dumps({"type": "HS256", "key": secrets.token_urlsafe(32),
                                                          "issuer": ISSUER}))
    with psycopg.connect(double.database_url, autocommit=True) as conn:
        conn.execute(PLATFORM_DDL)
    with HasuraClient(double.url, double.admin_secret) as client:
        apply_project(client, load_project(nhost_folder, platform_schemas=platform_schemas("nhost")),
                      platform_schemas=platform_schemas("nhost"))
    return double


def test_an_nhost_stack_is_checked_against_its_metadata_dir_with_nhosts_platform_schemas(nhost_hasura, nhost_folder,
                                                                                          capsys):
    code, out, err = run(capsys, stdin=stack_outputs(nhost_hasura, target="nhost", metadataDir=str(nhost_folder)))
    assert code == 0, out + err
    assert out.startswith(f"Drift check of Hasura at {nhost_hasura.url} against {nhost_folder}/ (target nhost):\n")
    assert "metadata     in sync" in out and "Result: in sync" in out
    assert "metadata/" not in out  # neither compared with nor named

    # The stack's folder, not metadata/: Nhost's tables tracked live are not in metadata/, a permission changed live is
    # named against the folder the stack deploys.
    with HasuraClient(nhost_hasura.url, nhost_hasura.admin_secret) as console:
        console.metadata("pg_drop_select_permission", {"table": {"schema": "storage", "name": "files"},
                                                       "role": "user"})
    code, out, _ = run(capsys, stdin=stack_outputs(nhost_hasura, target="nhost", metadataDir=str(nhost_folder)))
    assert code == 1
    assert "source default › table storage.files › role user › select permission › missing live" in out
    assert "auth.users" not in out


def test_the_target_decides_the_validation_of_the_stacks_project(nhost_hasura, nhost_folder, capsys):
    """The same folder as the deploy of another target sees it: Nhost's tables created by no migration are refused,
    as `pulumi up` would refuse them, so the target really comes from the stack."""
    code, out, err = run(capsys, stdin=stack_outputs(nhost_hasura, target="existing", metadataDir=str(nhost_folder)))
    assert code == 2 and out == ""
    assert "table auth.users is not created by any migration" in err
    code, out, err = run(capsys, "--target", "nhost",
                         stdin=stack_outputs(nhost_hasura, target="existing", metadataDir=str(nhost_folder)))
    assert code == 0, out + err  # --target wins over the output


def test_a_metadata_dir_is_relative_to_the_repository_as_the_program_reads_it(deployed, capsys):
    code, out, err = run(capsys, stdin=stack_outputs(deployed, metadataDir="metadata"))
    assert code == 0, out + err
    assert "against metadata/ (target existing)" in out
    code, out, err = run(capsys, stdin=stack_outputs(deployed, metadataDir=str(PROJECT)))
    assert code == 0 and "against metadata/ (target existing)" in out, out + err


@pytest.mark.parametrize("outputs, error", [
    ({"target": None}, "the stack outputs on stdin have no `target`: the stack was last deployed by a clerk-hasura "
                       "that did not export it, or they are not a clerk-hasura stack's. Fix: deploy it once "
                       "(`scripts/deploy <stack>` adds the output), or pass --target NAME"),
    ({"metadataDir": None}, "the stack outputs on stdin have no `metadataDir`"),
    ({"target": "heroku"}, "the stack output target is 'heroku', not a target of clerk-hasura (docker, existing, "
                           "kubernetes, hasura-cloud, nhost). Fix: pipe the outputs of a clerk-hasura stack, or pass "
                           "--target"),
    ({"metadataDir": "apps/web/nhost"}, "the stack output metadataDir is 'apps/web/nhost', and this checkout has no "
                                        "folder"),
])
def test_a_missing_or_wrong_stack_is_a_clear_error_with_the_fix(outputs, error, capsys):
    stack = json.loads(stack_outputs(SimpleNamespace(url="http://127.0.0.1:9", admin_secret="s3cret")))
    stack = {key: value for key, value in {**stack, **outputs}.items() if value is not None}
    code, out, err = run(capsys, stdin=json.dumps(stack))
    assert code == 2 and out == ""
    assert error in err and "s3cret" not in err


def test_without_stack_outputs_the_target_must_be_named(capsys):
    code, out, err = run(capsys, "--hasura-url", "http://127.0.0.1:9",
                         environ={"CLERK_HASURA_HASURA_ADMIN_SECRET": "s3cret-value"})
    assert code == 2 and out == ""
    assert ("the stack's target is unknown. Fix: pass --stack <stack>, or pipe `clerk-hasura outputs <stack> "
            "--show-secrets` into the command, or pass --target (the stack's `target` setting: "
            "docker, existing, kubernetes, hasura-cloud, nhost)") in err


def test_flags_and_environment_work_as_a_module_in_a_subprocess(deployed):
    environ = {**os.environ, "CLERK_HASURA_HASURA_URL": deployed.url,
               "CLERK_HASURA_HASURA_ADMIN_SECRET": deployed.admin_secret}
    result = subprocess.run([sys.executable, "-m", "components.cli", "drift", "--issuer", ISSUER, "--target",
                             "existing"], env=environ,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[3])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Result: in sync" in result.stdout
