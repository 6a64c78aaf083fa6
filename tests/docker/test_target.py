"""The default target on the real engine, a real Docker provider and a real Docker engine.

The provider is the stand-in built from the Terraform provider and bridge that pulumi-docker is made of
(scripts/build-docker-provider); the engine is Debian's docker.io (20.10, API 1.41: the oldest the project
supports); the images are the stand-ins built by scripts/test-docker under the pinned names (Postgres from Debian's
packages, Hasura as the project's double). What the issue asked for, as a user runs it: `scripts/deploy` runs
`pulumi up --refresh` (here `up(refresh=True)`) and then the standalone smoke check (`standalone_check`).
After every scenario the next `up --refresh` must plan nothing (`assert_converged`).
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess

import psycopg
import pytest
from pulumi import automation as auto

from tests.fixtures.docker_plugin import install_docker_plugin
from tests.fixtures.engine import PROJECT, changes, smoke_passed, standalone_check

SIGNING_KEY = "docker-engine-test-hs256-key-" + "k" * 24


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def remove_stack_objects(stack: str) -> None:
    """What a failed test may leave: every container, volume and network labelled with the stack."""
    label = f"label=clerk-hasura.stack={stack}"
    for kind, listing in (("container", ["ps", "-aq"]), ("volume", ["volume", "ls", "-q"]),
                          ("network", ["network", "ls", "-q"])):
        ids = docker(*listing, "--filter", label).stdout.split()
        if ids:
            docker(*(["rm", "-f"] if kind == "container" else [kind, "rm"]), *ids, check=False)


def docker_config(hasura_port: int) -> dict:
    """The example dev stack with an HMAC signing key (the Hasura container reaches no Clerk from here)."""
    return {
        "clerk": {"publishableKey": "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA", "jwtTemplate": "hasura",
                  "signingAlgorithm": "HS256"},
        "hasura": {"port": hasura_port, "corsDomains": ["http://localhost:3000"]},
        "postgres": {"database": "app"},
    }


@pytest.fixture
def docker_stack(engine_stack_factory, docker_engine, docker_provider_plugin, pulumi_bin, monkeypatch):
    """`create(stack="dev", **config)` -> a stack of the docker target on the real engine; removed afterwards."""
    # The inline program's preflight reads this process's environment; the provider gets env_vars.
    monkeypatch.setenv("DOCKER_HOST", docker_engine)
    created: list[tuple[object, str]] = []

    def create(stack: str = "dev", **extra: object):
        """`extra`: top-level config keys added to the example's."""
        remove_stack_objects(stack)
        engine = engine_stack_factory({**docker_config(free_port()), **extra}, stack=stack,
                                      secrets={"clerkSigningKey": SIGNING_KEY}, env={"DOCKER_HOST": docker_engine})
        install_docker_plugin(pulumi_bin, engine.home / "pulumi-home", docker_provider_plugin)
        created.append((engine, stack))
        return engine

    yield create
    for engine, stack in created:
        try:
            engine.stack.destroy(color="never")
        except auto.CommandError:
            pass
        remove_stack_objects(stack)


def deploy(engine):
    """What scripts/deploy runs: `pulumi up --refresh`, then the standalone check against the outputs."""
    result = engine.up(refresh=True)
    assert result.summary.result == "succeeded", "".join(engine.log)
    check = standalone_check(engine)
    assert check.returncode == 0, check.stdout + check.stderr
    # It asked for no user token: its skip says so, with no fix to make (it once said to set a signing key).
    assert "clerkSigningKey" not in check.stdout + check.stderr
    return result


def assert_converged(engine) -> None:
    """The next deploy plans nothing, and a drift preview agrees."""
    again = engine.up(refresh=True)
    assert changes(again) == {}, "".join(engine.log[-40:])
    engine.preview(refresh=True, expect_no_changes=True)


def container(engine, role: str) -> dict:
    """`docker inspect` of the stack's `postgres` or `hasura` container."""
    name = f"{PROJECT}-{engine.stack.name}-{role}"
    return json.loads(docker("inspect", name).stdout)[0]


def psql(engine, sql: str) -> list[str]:
    """`sql` in the stack's Postgres container (it publishes no port by default), one line per row."""
    out = docker("exec", f"{PROJECT}-{engine.stack.name}-postgres", "psql", "-U", "postgres", "-d", "app", "-Atc", sql)
    return out.stdout.split()


def add_app_row(engine) -> str:
    """A row an app wrote (the smoke check deletes the rows it seeds)."""
    user_id = f"user_{secrets.token_hex(6)}"
    psql(engine, f"insert into public.users (id, email) values ('{user_id}', 'kept@example.com')")
    return user_id


def users_rows(engine) -> list[str]:
    return psql(engine, "select id from public.users order by id")


def test_first_deploy_then_every_later_deploy_plans_nothing(docker_stack):
    engine = docker_stack()
    first = deploy(engine)
    assert changes(first).get("create", 0) >= 8
    smoke_passed(engine)
    for role in ("postgres", "hasura"):
        assert container(engine, role)["State"]["Health"]["Status"] == "healthy"
    # The second deploy is where it broke: durations read back as Go prints them.
    assert_converged(engine)
    health = container(engine, "postgres")["Config"]["Healthcheck"]
    assert health["StartPeriod"] == 120 * 10**9


@pytest.mark.parametrize("role", ["postgres", "hasura"])
def test_a_stopped_container_is_replaced_by_the_next_deploy(docker_stack, role):
    engine = docker_stack()
    deploy(engine)
    before = container(engine, role)["Id"]
    docker("stop", f"{PROJECT}-dev-{role}")
    repaired = deploy(engine)
    assert changes(repaired).get("replace", 0) >= 1, "".join(engine.log[-40:])
    assert container(engine, role)["Id"] != before
    assert container(engine, role)["State"]["Health"]["Status"] == "healthy"
    assert_converged(engine)


def test_a_removed_hasura_is_created_again(docker_stack):
    engine = docker_stack()
    deploy(engine)
    docker("rm", "-f", f"{PROJECT}-dev-hasura")
    deploy(engine)
    assert container(engine, "hasura")["State"]["Health"]["Status"] == "healthy"
    assert_converged(engine)


def test_a_cors_change_replaces_hasura_without_a_name_conflict(docker_stack):
    engine = docker_stack()
    deploy(engine)
    before = container(engine, "hasura")["Id"]
    engine.set_config("hasura", {**docker_config(0)["hasura"],
                                 "port": json.loads(engine.stack.get_config(f"{PROJECT}:hasura").value)["port"],
                                 "corsDomains": ["https://app.example.com"]})
    result = deploy(engine)
    assert changes(result).get("replace", 0) >= 1
    assert container(engine, "hasura")["Id"] != before
    assert "HASURA_GRAPHQL_CORS_DOMAIN=https://app.example.com" in container(engine, "hasura")["Config"]["Env"]
    assert_converged(engine)


def test_postgres_password_rotation_keeps_rows_and_hasura_serves(docker_stack):
    engine = docker_stack()
    deploy(engine)
    row = add_app_row(engine)
    engine.set_config("postgresPassword", secrets.token_hex(20), secret=True)
    deploy(engine)
    smoke_passed(engine)
    assert row in users_rows(engine)
    assert_converged(engine)


def test_destroy_then_deploy_keeps_the_volume_and_its_rows(docker_stack):
    engine = docker_stack()
    deploy(engine)
    row = add_app_row(engine)
    secret_before = engine.outputs()["hasuraAdminSecret"]
    engine.destroy()
    assert docker("volume", "inspect", f"{PROJECT}-dev-pgdata", check=False).returncode == 0
    deploy(engine)
    assert row in users_rows(engine)
    # Documented (README, "What destroy keeps"): a generated admin secret lives only in the state, so it is new.
    assert engine.outputs()["hasuraAdminSecret"] != secret_before
    assert_converged(engine)


def test_staging_beside_dev_and_no_secret_in_any_state_file(docker_stack):
    # Seeded rows on staging too, so the smoke check proves isolation on rows it made (read-only elsewhere).
    dev, staging = docker_stack("dev"), docker_stack("staging", smoke={"writes": True})
    deploy(dev)
    deploy(staging)
    assert container(dev, "hasura")["Id"] != container(staging, "hasura")["Id"]
    for engine in (dev, staging):
        outputs = engine.outputs()
        text = engine.backend_text()
        for secret in (SIGNING_KEY, outputs["hasuraAdminSecret"]):
            assert secret not in text
        assert outputs["postgresUrl"].split("@")[0].split(":")[-1] not in text
        assert_converged(engine)
