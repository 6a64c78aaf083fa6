"""A `pulumi up` of the dev stack, step by step as the engine takes it, with nothing written by hand in between.

1. The real `__main__.py` (under mocks) with the example `Pulumi.dev.yaml`, pointed at a Clerk instance, says what
   the Hasura container runs with.
2. The Hasura double starts with exactly that environment (only the database is this test's: the container's
   URL names the stack's Docker network).
3. The program again, for that Hasura's port, gives the inputs of the resources that follow the containers.
4. Those inputs, as registered, go through `check` and `create` of the metadata, JWT-template and smoke-check
   providers in a fresh `python -m pulumi.dynamic`, in dependency order. The deploy must end with a passing smoke
   check.

Then `scripts/deploy` itself, from a fresh clone, as a team runs it for a stack on the `existing` target: the real
pulumi CLI with its Python language host (both built by scripts/build-pulumi; the host is our test stand-in), the
Hasura and Clerk doubles, the local `.pulumi-state` backend the script creates.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from components.auth.jwt_secret import resolve_jwt_secret
from components.targets import load_settings

from components.clerk.client import HASURA_TEMPLATE_CLAIMS
from tests.fixtures.engine import ROOT
from tests.pulumi_harness import DynamicProviderHost, ProgramRun, example_dev_config, run_program, with_overrides

CONTAINER = "docker:index/container:Container"
METADATA = "pulumi-python:dynamic/hasura_metadata:HasuraMetadata"
TEMPLATE = "pulumi-python:dynamic/clerk_jwt_template:ClerkJwtTemplate"
SMOKE = "pulumi-python:dynamic/smoke_check:SmokeCheck"
ADMIN_SECRET = "end-to-end-admin-secret-0123456789"
SECRET_KEYS = ["hasuraAdminSecret", "clerkSecretKey"]


def dev_stack(clerk, hasura_port: int) -> ProgramRun:
    config = with_overrides(example_dev_config(clerk.jwks_url), {
        "clerk.publishableKey": clerk.publishable_key,
        "clerkSecretKey": clerk.secret_key,
        "hasuraAdminSecret": ADMIN_SECRET,
        "hasura.port": hasura_port,
    })
    return run_program("dev", config, secret_keys=SECRET_KEYS).check()


def hasura_environment(run: ProgramRun) -> dict[str, str]:
    envs = run.one(CONTAINER, "backend-hasura-container").plain_inputs["envs"]
    return dict(entry.split("=", 1) for entry in envs)


def engine_create(host: DynamicProviderHost, run: ProgramRun, type_: str, **where_it_runs) -> tuple[str, dict]:
    """What the engine does for a new resource: `check` the registered inputs, then `create` with the result."""
    registration = run.one(type_)
    news = {**registration.plain_inputs, **where_it_runs}
    inputs, failures = host.check(registration.urn, {}, news)
    assert failures == [], failures
    return host.create(registration.urn, inputs)


def test_a_dev_stack_deploy_ends_with_a_passing_smoke_check(clerk_double, hasura_double_factory,
                                                             postgres_database_url):
    planned = hasura_environment(dev_stack(clerk_double, hasura_port=8080))
    # Every database URL of the container names the stack's Docker network; here they are this test's database.
    environment = {key: postgres_database_url if value.startswith("postgres://") else value
                   for key, value in planned.items()}
    hasura = hasura_double_factory(
        jwt_secret=environment["HASURA_GRAPHQL_JWT_SECRET"], admin_secret=environment["HASURA_GRAPHQL_ADMIN_SECRET"],
        unauthorized_role=environment.get("HASURA_GRAPHQL_UNAUTHORIZED_ROLE"),
        database_url=environment["HASURA_GRAPHQL_METADATA_DATABASE_URL"], env=environment)
    hasura.wait_for_jwks()

    run = dev_stack(clerk_double, hasura_port=urlsplit(hasura.url).port)
    assert hasura_environment(run) == planned, "the same settings must give the same container environment"
    assert run.one(METADATA).plain_inputs["hasura_url"] == hasura.url

    with DynamicProviderHost() as host:
        host.configure({})
        _, metadata = engine_create(host, run, METADATA)
        template_id, template = engine_create(host, run, TEMPLATE, clerkApiUrl=clerk_double.url)
        smoke_inputs = run.one(SMOKE).plain_inputs
        _, smoke = engine_create(host, run, SMOKE, clerkApiUrl=clerk_double.url,
                                 triggers={**smoke_inputs["triggers"], "template": template_id})

    assert metadata["applied_migrations"] == ["1763856000000"]
    assert clerk_double.templates["hasura"]["claims"] == HASURA_TEMPLATE_CLAIMS
    assert template["templateId"] == template_id
    report = {check["name"]: check for check in smoke["report"]["checks"]}
    failed = {name: check["detail"] for name, check in report.items() if check.get("passed") is False}
    assert failed == {}
    assert smoke["tokenSourceUsed"].startswith("clerk: Clerk template 'hasura'")
    for proof in ("token-accepted", "reads-own-row", "cannot-read-others", "anonymous-refused",
                  "forged-token-refused", "admin-role-refused"):
        assert report[proof].get("passed") is True, (proof, report[proof]["detail"])


STAGING_PASSPHRASE = "staging passphrase for the end-to-end test"
STAGING_ADMIN_SECRET = "staging-admin-secret-0123456789"


@pytest.mark.timeout(900)
def test_scripts_deploy_from_a_fresh_clone_deploys_converges_and_leaves_the_selected_stack_alone(
        tmp_path, pulumi_bin, clerk_double, hasura_double_factory, postgres_database_url):
    clone = tmp_path / "clerk-hasura"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    config = {"target": "existing", "clerk": {"publishableKey": clerk_double.publishable_key,
                                             "jwksUrl": clerk_double.jwks_url, "apiUrl": clerk_double.url}}
    settings = load_settings({**config, "hasura": {"publicUrl": "http://127.0.0.1:1"}}, environ={})
    hasura = hasura_double_factory(jwt_secret=resolve_jwt_secret(settings).value, admin_secret=STAGING_ADMIN_SECRET,
                                   env={"PG_DATABASE_URL": postgres_database_url})
    hasura.wait_for_jwks()
    config["hasura"] = {"publicUrl": hasura.url}
    (clone / "Pulumi.staging.yaml").write_text(
        yaml.safe_dump({"config": {f"clerk-hasura:{key}": value for key, value in config.items()}}))
    # A user's shell: the CLI on PATH, this machine's Python 3.11, nothing installed in the clone yet.
    python_dir = tmp_path / "python"
    python_dir.mkdir()
    (python_dir / "python3").symlink_to(sys._base_executable)
    env = {"PATH": os.pathsep.join([str(pulumi_bin), str(python_dir), "/usr/local/bin", "/usr/bin", "/bin"]),
           "HOME": os.environ["HOME"], "PULUMI_HOME": str(tmp_path / "pulumi-home"),
           "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true", "PULUMI_CONFIG_PASSPHRASE": STAGING_PASSPHRASE}

    def run(*command: str, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(command), cwd=clone, env={**env, **extra_env}, capture_output=True, text=True,
                              timeout=600)

    # Before the first deploy: the stack exists for `clerk-hasura pulumi --stack staging config set --secret`
    # (scripts/deploy --init).
    init = run("scripts/deploy", "staging", "--init")
    assert init.returncode == 0, init.stderr
    assert "installing the project into .venv" in init.stderr  # the fresh clone had none; clerk-hasura runs there
    backend = {"PULUMI_BACKEND_URL": f"file://{clone}/.pulumi-state"}
    # The next step as it prints it, runnable in this shell: the command finds the backend and the passphrase.
    assert ".venv/bin/clerk-hasura pulumi --stack staging config set --secret clerkSecretKey" in init.stderr
    for key, value in (("hasuraAdminSecret", STAGING_ADMIN_SECRET), ("clerkSecretKey", clerk_double.secret_key)):
        done = run(".venv/bin/clerk-hasura", "pulumi", "--stack", "staging", "config", "set", "--secret", key, value)
        assert done.returncode == 0, done.stderr
    # The stack the user works on; the deploy of another must not change it.
    selected = run("pulumi", "stack", "init", "mine", "--secrets-provider", "passphrase", **backend)
    assert selected.returncode == 0, selected.stderr

    first = run("scripts/deploy", "staging", "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Updating (staging)" in first.stdout
    assert "anonymous-refused" in first.stdout and "FAIL" not in first.stdout  # the standalone check's report
    assert run("pulumi", "stack", "--show-name", **backend).stdout.strip() == "mine"

    again = run("scripts/deploy", "staging", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "installing the project" not in again.stderr
    converged = run("pulumi", "preview", "--refresh", "--expect-no-changes", "--stack", "staging",
                    "--non-interactive", **backend)
    assert converged.returncode == 0, converged.stdout + converged.stderr

    outputs = run("pulumi", "stack", "output", "graphqlUrl", "--stack", "staging", **backend)
    assert outputs.stdout.strip() == f"{hasura.url}/v1/graphql"
    state = "\n".join(path.read_text(errors="replace") for path in Path(clone, ".pulumi-state").rglob("*")
                      if path.is_file())
    assert "staging" in state and STAGING_ADMIN_SECRET not in state and clerk_double.secret_key not in state
