"""`python -m components.commands.drift` against the Hasura double: 0 in sync, 1 drift (named), 2 could not check."""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from components.commands.drift import main
from components.hasura.client import HasuraClient
from components.hasura.apply import apply_project
from components.hasura.loader import load_project, normalize_metadata

PROJECT = Path(__file__).resolve().parent.parent / "metadata"
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
    return json.dumps({"graphqlUrl": f"{double.url}/v1/graphql", "hasuraAdminSecret": double.admin_secret,
                       "issuer": ISSUER, "jwksUrl": f"{ISSUER}/.well-known/jwks.json", "jwtTemplate": "hasura",
                       **overrides})


def run(capsys, *args: str, stdin: str = "", environ: dict | None = None) -> tuple[int, str, str]:
    code = main(["--wait", "1", *args], stdin=io.StringIO(stdin), environ=environ or {})
    out, err = capsys.readouterr()
    return code, out, err


def test_in_sync_exits_0(deployed, capsys):
    code, out, err = run(capsys, stdin=stack_outputs(deployed))
    assert code == 0, out + err
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
    assert "migration default/1763856000001_add_bio is not applied live" in out


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
    code, out, err = run(capsys, "--hasura-url", "http://127.0.0.1:9", environ={
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


def test_flags_and_environment_work_as_a_module_in_a_subprocess(deployed):
    environ = {**os.environ, "CLERK_HASURA_HASURA_URL": deployed.url,
               "CLERK_HASURA_HASURA_ADMIN_SECRET": deployed.admin_secret}
    result = subprocess.run([sys.executable, "-m", "components.commands.drift", "--issuer", ISSUER], env=environ,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Result: in sync" in result.stdout
