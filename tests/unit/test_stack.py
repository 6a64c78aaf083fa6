"""The resource graph `__main__.py` asks the engine for, run under Pulumi's mocks (tests/pulumi_harness.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from components.config.containers import DEFAULT_HASURA_IMAGE, DEFAULT_POSTGRES_IMAGE
from tests.doubles.docker_version import OLDEST, DockerVersionDouble
from tests.fixtures.jwks import new_rsa_signing_key
from tests.pulumi_harness import ProgramRun, Secret, example_dev_config, mock_generated_secret, plaintext_leaks, \
    run_program, serve_jwks, with_overrides

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/remoteImage:RemoteImage"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
GENERATED = "pulumi-python:dynamic/generated_secret:GeneratedSecret"
METADATA = "pulumi-python:dynamic/hasura_metadata:HasuraMetadata"
SMOKE = "pulumi-python:dynamic/smoke_check:SmokeCheck"
TEMPLATE = "pulumi-python:dynamic/clerk_jwt_template:ClerkJwtTemplate"
POSTGRES = "backend-postgres-container"
HASURA = "backend-hasura-container"

ADMIN_SECRET = "configured-admin-secret-0123456789"
#: Needs URL-encoding: it must reach the database URL encoded, and never in plaintext anywhere.
POSTGRES_PASSWORD = "p@ss:w/rd?#with%odd'chars\"0123"
SIGNING_KEY = "an-hmac-signing-key-that-is-long-enough-0123456789"
ENV_ADMIN_SECRET = "admin-secret-from-the-environment-42"
CLERK_SECRET_KEY = "sk_test_" + "c" * 40


@pytest.fixture(scope="session")
def local_jwks_url() -> Iterator[str]:
    with serve_jwks({"keys": [new_rsa_signing_key().jwk]}) as url:
        yield url


@pytest.fixture(scope="session")
def dev_config(local_jwks_url: str) -> dict:
    """The example Pulumi.dev.yaml, with the JWKS preflight pointed at a local server."""
    return example_dev_config(local_jwks_url)


@pytest.fixture(scope="session")
def runs(dev_config: dict) -> dict[str, ProgramRun]:
    """Every scenario, run once per session (in parallel: each is its own interpreter)."""
    custom = with_overrides(dev_config, {
        "hasura": {
            "image": "hasura/graphql-engine:v2.48.16", "port": 9090, "bindAddress": "0.0.0.0",
            "corsDomains": ["https://app.example.com", "https://*.example.com:8443"],
            "unauthorizedRole": "anonymous", "console": True, "devMode": False,
            "logTypes": ["startup", "http-log"], "enabledApis": ["metadata", "graphql"],
            "publicUrl": "https://graphql.example.com/",
        },
        "postgres": {"image": "postgres:16.4", "hostPort": 15432, "database": "shop", "user": "hasura",
                     "protectVolume": False},
        "hasuraAdminSecret": ADMIN_SECRET,
        "postgresPassword": POSTGRES_PASSWORD,
    })
    scenarios = {
        "dev": lambda: run_program("dev", dev_config),
        "staging": lambda: run_program("staging", with_overrides(dev_config, {"hasura": None, "postgres": None})),
        "custom": lambda: run_program("prod", custom, secret_keys=["hasuraAdminSecret", "postgresPassword"]),
        "env-secret": lambda: run_program("ci", dev_config, env={"CLERK_HASURA_HASURA_ADMIN_SECRET": ENV_ADMIN_SECRET}),
        "signing-key": lambda: run_program(
            "dev", with_overrides(dev_config, {"clerkSigningKey": SIGNING_KEY, "clerk.jwksUrl": None}),
            secret_keys=["clerkSigningKey"]),
        "preview": lambda: run_program("dev", dev_config, preview=True),
        "frontend-api": lambda: run_program("dev", with_overrides(dev_config, {
            "clerk.publishableKey": None, "clerk.frontendApi": "happy-hippo-12.clerk.accounts.dev"})),
        "clerk-template": lambda: run_program(
            "dev", with_overrides(dev_config, {"clerkSecretKey": CLERK_SECRET_KEY}), secret_keys=["clerkSecretKey"],
            mock_outputs={TEMPLATE: {"templateId": "jtmp_mock"},
                          SMOKE: {"report": {"passed": True, "checks": [{"name": "healthz", "passed": True}]}}}),
        "session-claims": lambda: run_program(
            "dev", with_overrides(dev_config, {"clerkSecretKey": CLERK_SECRET_KEY, "clerk.claims": "session"}),
            secret_keys=["clerkSecretKey"]),
        "smoke-off": lambda: run_program("dev", with_overrides(dev_config, {"smoke": {"enabled": False}})),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(scenario) for name, scenario in scenarios.items()}
        return {name: future.result().check() for name, future in futures.items()}


def env_of(run: ProgramRun, container: str) -> dict[str, str]:
    envs = run.one(CONTAINER, container).plain_inputs["envs"]
    return dict(entry.split("=", 1) for entry in envs)


def docker_names(run: ProgramRun) -> set[str]:
    return {r.plain_inputs["name"] for r in run.registrations if r.type in (CONTAINER, NETWORK, VOLUME)}


# --- the graph ---------------------------------------------------------------------------------------------

def test_the_dev_stack_registers_network_volume_images_containers_and_generated_secrets(runs):
    names = sorted((r.type, r.name) for r in runs["dev"].registrations)
    assert names == sorted([
        ("clerk-hasura:index:ClerkHasura", "backend"),
        ("clerk-hasura:database:Database", "backend-postgres"),
        ("clerk-hasura:engine:Engine", "backend-hasura"),
        (NETWORK, "backend-network"),
        (GENERATED, "backend-admin-secret"),
        (GENERATED, "backend-postgres-password"),
        (IMAGE, "backend-postgres-image"),
        (IMAGE, "backend-hasura-image"),
        (VOLUME, "backend-postgres-data"),
        (CONTAINER, POSTGRES),
        (CONTAINER, HASURA),
        (METADATA, "backend-metadata"),
        (SMOKE, "backend-smoke"),
    ])


def test_the_metadata_says_to_read_the_logs_of_the_hasura_container_the_stack_runs(runs):
    for stack in ("dev", "staging"):
        container = runs[stack].one(CONTAINER, HASURA).plain_inputs["name"]
        assert container == f"clerk-hasura-{stack}-hasura"
        hint = runs[stack].one(METADATA).plain_inputs["health_hint"]
        assert hint.startswith(f"`docker logs {container}`")


def test_every_child_has_its_component_as_parent(runs):
    run = runs["dev"]
    component = {r.name: r.urn for r in run.registrations if not r.custom}
    expected_parent = {
        "backend-network": "backend", "backend-admin-secret": "backend", "backend-postgres-password": "backend",
        "backend-postgres": "backend", "backend-hasura": "backend",
        "backend-postgres-image": "backend-postgres", "backend-postgres-data": "backend-postgres",
        POSTGRES: "backend-postgres", "backend-hasura-image": "backend-hasura", HASURA: "backend-hasura",
    }
    for name, parent in expected_parent.items():
        assert next(r for r in run.registrations if r.name == name).parent == component[parent], name


def test_images_are_pinned_to_exact_tags_and_kept_locally(runs):
    for run, hasura, postgres in ((runs["dev"], DEFAULT_HASURA_IMAGE, DEFAULT_POSTGRES_IMAGE),
                                  (runs["custom"], "hasura/graphql-engine:v2.48.16", "postgres:16.4")):
        images = {r.name: r.plain_inputs for r in run.by_type(IMAGE)}
        assert images["backend-hasura-image"] == {"name": hasura, "keepLocally": True}
        assert images["backend-postgres-image"] == {"name": postgres, "keepLocally": True}
    assert re.fullmatch(r"hasura/graphql-engine:v2\.\d+\.\d+", DEFAULT_HASURA_IMAGE)
    assert re.fullmatch(r"postgres:1[7-9]\.\d+", DEFAULT_POSTGRES_IMAGE)
    # The containers run the pulled image by its id, so a re-pulled tag with a new digest is noticed.
    for container in runs["dev"].by_type(CONTAINER):
        assert container.plain_inputs["image"].startswith("sha256:")


def test_both_containers_are_on_the_stacks_private_network(runs):
    run = runs["dev"]
    network = run.one(NETWORK).plain_inputs
    assert network["name"] == "clerk-hasura-dev"
    assert run.one(CONTAINER, POSTGRES).plain_inputs["networksAdvanced"] == [
        {"name": "clerk-hasura-dev", "aliases": ["postgres"]}]
    assert run.one(CONTAINER, HASURA).plain_inputs["networksAdvanced"] == [
        {"name": "clerk-hasura-dev", "aliases": ["hasura"]}]


def test_postgres_publishes_no_port_unless_host_port_is_set_and_then_only_on_loopback(runs):
    assert runs["dev"].one(CONTAINER, POSTGRES).plain_inputs["ports"] == []
    assert runs["staging"].one(CONTAINER, POSTGRES).plain_inputs["ports"] == []
    assert runs["custom"].one(CONTAINER, POSTGRES).plain_inputs["ports"] == [
        {"internal": 5432, "external": 15432, "ip": "127.0.0.1"}]


def test_hasura_is_published_on_loopback_unless_bind_address_says_otherwise(runs):
    assert runs["dev"].one(CONTAINER, HASURA).plain_inputs["ports"] == [
        {"internal": 8080, "external": 8080, "ip": "127.0.0.1"}]
    assert runs["custom"].one(CONTAINER, HASURA).plain_inputs["ports"] == [
        {"internal": 8080, "external": 9090, "ip": "0.0.0.0"}]


def test_postgres_data_lives_on_a_named_volume_retained_on_delete(runs):
    run = runs["dev"]
    volume = run.one(VOLUME)
    assert volume.plain_inputs["name"] == "clerk-hasura-dev-pgdata"
    assert volume.retain_on_delete is True
    assert run.one(CONTAINER, POSTGRES).plain_inputs["volumes"] == [
        {"volumeName": "clerk-hasura-dev-pgdata", "containerPath": "/var/lib/postgresql/data"}]
    assert volume.urn in run.one(CONTAINER, POSTGRES).dependencies


def test_the_volume_is_protected_except_on_dev_unless_configured(runs):
    assert runs["dev"].one(VOLUME).protect is False
    assert runs["staging"].one(VOLUME).protect is True
    assert runs["custom"].one(VOLUME).protect is False  # postgres.protectVolume: false
    for run in runs.values():
        assert run.one(VOLUME).retain_on_delete is True


def test_postgres_has_a_pg_isready_healthcheck_and_is_created_healthy(runs):
    postgres = runs["dev"].one(CONTAINER, POSTGRES)
    inputs = postgres.plain_inputs
    kind, command = inputs["healthcheck"]["tests"]
    assert kind == "CMD-SHELL" and command.startswith("pg_isready ")
    assert inputs["wait"] is True and inputs["waitTimeout"] >= 60
    assert inputs["restart"] == "unless-stopped"
    assert inputs["stopTimeout"] >= 30 and inputs["destroyGraceSeconds"] >= 30
    # Docker applies health check changes only to new containers, and `wait` runs only at create. The container
    # name is fixed, so a replace the engine forces must delete the old container first.
    assert postgres.replace_on_changes == ["*"] and postgres.delete_before_replace
    env = env_of(runs["dev"], POSTGRES)
    assert env["POSTGRES_USER"] == "postgres" and env["POSTGRES_DB"] == "app"
    assert env["PGDATA"] == "/var/lib/postgresql/data"


def test_postgres_sets_its_password_from_the_environment_on_every_start(runs):
    inputs = runs["dev"].one(CONTAINER, POSTGRES).plain_inputs
    (upload,) = inputs["uploads"]
    assert inputs["entrypoints"] == ["/bin/sh", upload["file"]]
    assert inputs["command"] == ["postgres"]
    assert "ALTER ROLE" in upload["content"] and "exec docker-entrypoint.sh" in upload["content"]
    # Every pg_isready names the role: without -U it connects as root and the server logs FATAL on each start.
    assert all('-U "$POSTGRES_USER"' in line for line in upload["content"].splitlines()
               if "pg_isready" in line and not line.lstrip().startswith("#"))
    assert inputs["init"] is True
    assert "password-synced" in inputs["healthcheck"]["tests"][1]


def test_hasura_is_created_after_postgres_is_healthy_and_waits_for_healthz(runs):
    run = runs["dev"]
    hasura = run.one(CONTAINER, HASURA)
    assert run.one(CONTAINER, POSTGRES).urn in hasura.dependencies
    inputs = hasura.plain_inputs
    assert inputs["healthcheck"]["tests"][0] == "CMD"
    assert "curl" in inputs["healthcheck"]["tests"] and inputs["healthcheck"]["tests"][-1].endswith(":8080/healthz")
    assert inputs["wait"] is True and inputs["waitTimeout"] >= 60
    assert hasura.replace_on_changes == ["*"] and hasura.delete_before_replace
    # A replace or destroy stops Hasura with SIGTERM and waits for in-flight requests before Docker kills it.
    assert inputs["stopTimeout"] >= 10 and inputs["destroyGraceSeconds"] >= 10


def test_health_checks_probe_often_while_starting_and_rarely_afterwards(runs):
    # `wait` returns on the first healthy probe: probing every 500 ms at start wastes at most half a second per
    # container (every 2 s before), and a running container is probed every 10 s. Durations are written as the
    # provider reads them back (Go's `2m0s`, not `120s`), or every refresh is a diff.
    for name in (POSTGRES, HASURA):
        check = runs["dev"].one(CONTAINER, name).plain_inputs["healthcheck"]
        assert check["startInterval"] == "500ms" and check["interval"] == "10s", name
        assert check["startPeriod"] == "2m0s" and check["timeout"] == "5s", name


def test_an_engine_older_than_docker_25_gets_no_start_interval(dev_config):
    # Docker 20.10 (API 1.41) refuses a create with `start_interval` (needs API 1.44): probe every 2 s instead.
    with DockerVersionDouble(OLDEST) as docker_host:
        run = run_program("dev", dev_config, env={"DOCKER_HOST": docker_host}).check()
    for name in (POSTGRES, HASURA):
        check = run.one(CONTAINER, name).plain_inputs["healthcheck"]
        assert "startInterval" not in check and check["interval"] == "2s" and check["startPeriod"] == "2m0s", name


def test_an_unsupported_or_absent_docker_engine_stops_the_deploy_before_anything_is_created(dev_config):
    with DockerVersionDouble({**OLDEST, "Version": "19.03.15", "ApiVersion": "1.40"}) as docker_host:
        old = run_program("dev", dev_config, env={"DOCKER_HOST": docker_host})
    assert old.error is not None and "Docker Engine 19.03.15 (API 1.40)" in old.error, old.error
    assert "the oldest this project supports is Docker Engine 20.10 (API 1.41)" in old.error
    absent = run_program("dev", dev_config, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert absent.error is not None and "no Docker engine answered at unix:///nonexistent/docker.sock" in absent.error
    assert "Fix: start Docker" in absent.error
    for run in (old, absent):
        assert run.registrations == [] and "Traceback" not in run.error


def test_hasura_environment_on_dev(runs):
    run = runs["dev"]
    env = env_of(run, HASURA)
    outputs = run.outputs
    assert env["HASURA_GRAPHQL_METADATA_DATABASE_URL"] == outputs["postgresUrl"].value
    assert env["PG_DATABASE_URL"] == env["HASURA_GRAPHQL_METADATA_DATABASE_URL"]
    assert env["PG_DATABASE_URL"] == (f"postgres://postgres:{mock_generated_secret('backend-postgres-password')}"
                                      "@postgres:5432/app")
    assert env["HASURA_GRAPHQL_ADMIN_SECRET"] == mock_generated_secret("backend-admin-secret")
    assert env["HASURA_GRAPHQL_JWT_SECRET"] == outputs["jwtSecret"].value
    assert env["HASURA_GRAPHQL_ENABLE_CONSOLE"] == "true"
    assert env["HASURA_GRAPHQL_DEV_MODE"] == "true"
    assert "query-log" in env["HASURA_GRAPHQL_ENABLED_LOG_TYPES"].split(", ")
    assert env["HASURA_GRAPHQL_ENABLED_APIS"] == "metadata,graphql,pgdump,config"
    assert env["HASURA_GRAPHQL_CORS_DOMAIN"] == "http://localhost:3000"
    assert "HASURA_GRAPHQL_UNAUTHORIZED_ROLE" not in env


def test_hasura_environment_defaults_on_any_other_stack(runs):
    env = env_of(runs["staging"], HASURA)
    assert env["HASURA_GRAPHQL_ENABLE_CONSOLE"] == "false"
    assert env["HASURA_GRAPHQL_DEV_MODE"] == "false"
    assert "query-log" not in env["HASURA_GRAPHQL_ENABLED_LOG_TYPES"]
    assert env["HASURA_GRAPHQL_ENABLED_APIS"] == "metadata,graphql,config"
    assert "HASURA_GRAPHQL_CORS_DOMAIN" not in env
    assert "HASURA_GRAPHQL_UNAUTHORIZED_ROLE" not in env


def test_hasura_environment_follows_the_config(runs):
    env = env_of(runs["custom"], HASURA)
    assert env["HASURA_GRAPHQL_ADMIN_SECRET"] == ADMIN_SECRET
    assert env["PG_DATABASE_URL"] == f"postgres://hasura:{quote(POSTGRES_PASSWORD, safe='')}@postgres:5432/shop"
    assert env["HASURA_GRAPHQL_UNAUTHORIZED_ROLE"] == "anonymous"
    assert env["HASURA_GRAPHQL_CORS_DOMAIN"] == "https://app.example.com, https://*.example.com:8443"
    assert env["HASURA_GRAPHQL_ENABLE_CONSOLE"] == "true"
    assert env["HASURA_GRAPHQL_DEV_MODE"] == "false"
    assert env["HASURA_GRAPHQL_ENABLED_LOG_TYPES"] == "startup, http-log"
    assert env["HASURA_GRAPHQL_ENABLED_APIS"] == "metadata,graphql"
    assert env_of(runs["custom"], POSTGRES)["POSTGRES_PASSWORD"] == POSTGRES_PASSWORD


# --- after the containers: metadata, the Clerk template, the smoke check -------------------------------------

def test_metadata_is_applied_after_hasura_is_up(runs):
    run = runs["dev"]
    metadata = run.one(METADATA, "backend-metadata")
    assert metadata.parent == run.one("clerk-hasura:index:ClerkHasura", "backend").urn
    assert run.one(CONTAINER, HASURA).urn in metadata.dependencies
    assert metadata.plain_inputs["hasura_url"] == "http://127.0.0.1:8080"
    assert isinstance(metadata.inputs["admin_secret"], Secret)
    assert [m["name"] for m in metadata.plain_inputs["migrations"]] == ["create_users"]
    assert runs["dev"].outputs["metadataHash"].value == metadata.plain_inputs["metadata_hash"]


def test_the_smoke_check_runs_last_and_reruns_when_hasura_or_metadata_change(runs):
    run = runs["clerk-template"]
    smoke, metadata = run.one(SMOKE, "backend-smoke"), run.one(METADATA, "backend-metadata")
    template = run.one(TEMPLATE, "backend-jwt-template")
    assert {metadata.urn, template.urn} <= set(smoke.dependencies)
    assert set(smoke.plain_inputs["triggers"]) == {"hasura", "metadata", "metadataApplied", "template", "jwtSecret"}
    assert smoke.plain_inputs["triggers"]["metadata"] == metadata.plain_inputs["metadata_hash"]
    assert smoke.plain_inputs["hasuraUrl"] == "http://127.0.0.1:8080"
    assert run.outputs["smoke"].value == {"passed": True, "checks": [{"name": "healthz", "passed": True}]}


def test_the_clerk_template_is_managed_only_with_a_secret_key_and_template_claims(runs):
    template = runs["clerk-template"].one(TEMPLATE, "backend-jwt-template")
    assert template.plain_inputs["name"] == "hasura"
    assert isinstance(template.inputs["clerkSecretKey"], Secret)
    assert runs["clerk-template"].outputs["jwtTemplateId"].value == "jtmp_mock"
    assert runs["dev"].by_type(TEMPLATE) == [], "no clerkSecretKey: the template is left to the dashboard"
    assert runs["session-claims"].by_type(TEMPLATE) == [], "session claims need no template"
    assert plaintext_leaks(runs["clerk-template"], [CLERK_SECRET_KEY]) == []


def test_the_smoke_check_can_be_turned_off(runs):
    assert runs["smoke-off"].by_type(SMOKE) == []


# --- secrets -------------------------------------------------------------------------------------------

def test_secrets_are_generated_only_when_not_configured(runs):
    assert {r.name for r in runs["dev"].by_type(GENERATED)} == {"backend-admin-secret", "backend-postgres-password"}
    assert runs["custom"].by_type(GENERATED) == []
    assert {r.name for r in runs["env-secret"].by_type(GENERATED)} == {"backend-postgres-password"}
    for generated in runs["dev"].by_type(GENERATED):
        assert generated.additional_secret_outputs == ["value"]
        assert isinstance(generated.inputs["__provider"], Secret)


@pytest.mark.parametrize("scenario, secrets", [
    ("dev", [mock_generated_secret("backend-admin-secret"), mock_generated_secret("backend-postgres-password")]),
    ("custom", [ADMIN_SECRET, POSTGRES_PASSWORD, quote(POSTGRES_PASSWORD, safe="")]),
    ("env-secret", [ENV_ADMIN_SECRET]),
    ("signing-key", [SIGNING_KEY]),
])
def test_no_secret_appears_in_plaintext_in_any_input_or_output(runs, scenario, secrets):
    run = runs[scenario]
    assert plaintext_leaks(run, secrets) == []
    # ...while they do reach the containers (wrapped), so the check above is not vacuous.
    everything = str([r.inputs for r in run.registrations])
    assert all(secret in everything for secret in secrets[:1])


def test_container_environments_are_secret(runs):
    for run in runs.values():
        for container in run.by_type(CONTAINER):
            assert isinstance(container.inputs["envs"], Secret), container.name


# --- outputs -------------------------------------------------------------------------------------------

def test_outputs_apps_consume(runs):
    outputs = runs["dev"].outputs
    assert outputs["graphqlUrl"].value == "http://127.0.0.1:8080/v1/graphql"
    assert outputs["healthzUrl"].value == "http://127.0.0.1:8080/healthz"
    assert outputs["hasuraAdminSecret"].secret and outputs["hasuraAdminSecret"].value == mock_generated_secret(
        "backend-admin-secret")
    assert outputs["postgresUrl"].secret
    assert outputs["dockerNetwork"].value == "clerk-hasura-dev"
    assert not outputs["appEnv"].secret
    assert outputs["appEnv"].value == {
        "NEXT_PUBLIC_HASURA_GRAPHQL_URL": "http://127.0.0.1:8080/v1/graphql",
        "NEXT_PUBLIC_CLERK_JWT_TEMPLATE": "hasura",
        "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY": "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA",
    }


def test_app_env_has_the_publishable_key_only_when_it_is_known(runs):
    assert runs["frontend-api"].outputs["appEnv"].value == {
        "NEXT_PUBLIC_HASURA_GRAPHQL_URL": "http://127.0.0.1:8080/v1/graphql",
        "NEXT_PUBLIC_CLERK_JWT_TEMPLATE": "hasura",
    }


def test_outputs_follow_public_url_and_host_port(runs):
    outputs = runs["custom"].outputs
    assert outputs["graphqlUrl"].value == "https://graphql.example.com/v1/graphql"
    assert outputs["appEnv"].value["NEXT_PUBLIC_HASURA_GRAPHQL_URL"] == "https://graphql.example.com/v1/graphql"
    assert outputs["postgresUrl"].secret
    assert outputs["postgresUrl"].value == f"postgres://hasura:{quote(POSTGRES_PASSWORD, safe='')}@127.0.0.1:15432/shop"
    assert outputs["hasuraAdminSecret"].value == ADMIN_SECRET and outputs["hasuraAdminSecret"].secret


def test_the_foundation_outputs_with_the_example_dev_config(runs, local_jwks_url):
    outputs = runs["dev"].outputs
    assert outputs["jwksUrl"].value == local_jwks_url
    assert outputs["issuer"].value == "https://happy-hippo-12.clerk.accounts.dev"
    assert outputs["jwtTemplate"].value == "hasura"
    assert not outputs["jwtSecret"].secret  # a jwk_url holds no key
    signing = runs["signing-key"].outputs
    assert signing["jwtSecret"].secret and SIGNING_KEY in signing["jwtSecret"].value
    assert "jwksUrl" not in signing  # None outputs are dropped, as by the engine
    assert env_of(runs["signing-key"], HASURA)["HASURA_GRAPHQL_JWT_SECRET"] == signing["jwtSecret"].value


def test_the_program_runs_in_preview(runs):
    assert runs["preview"].one(CONTAINER, HASURA).plain_inputs["name"] == "clerk-hasura-dev-hasura"


# --- several stacks on one host ------------------------------------------------------------------------

def test_two_stacks_produce_disjoint_docker_names_carrying_project_and_stack(runs):
    dev, staging = docker_names(runs["dev"]), docker_names(runs["staging"])
    assert dev.isdisjoint(staging)
    assert dev == {"clerk-hasura-dev", "clerk-hasura-dev-pgdata", "clerk-hasura-dev-postgres",
                   "clerk-hasura-dev-hasura"}
    assert all(name.startswith("clerk-hasura-staging") for name in staging)


# --- bad input: refused before anything is created ------------------------------------------------------

@pytest.mark.parametrize("overrides, secret_keys, expected", [
    ({"hasura.port": 70000}, [], "hasura.port: 70000 is not a TCP port"),
    ({"postgres.hostPort": 8080}, [], "postgres.hostPort: 8080 is already hasura.port"),
    ({"hasura.image": "hasura/graphql-engine"}, [], "hasura.image: 'hasura/graphql-engine' has no tag"),
    ({"postgres.image": "postgres:latest"}, [], "postgres.image: 'postgres:latest' uses `latest`"),
    ({"hasura.bindAdress": "0.0.0.0"}, [], "hasura.bindAdress: unknown key. Fix: did you mean `hasura.bindAddress`?"),
    ({"postgres.hostport": 5432}, [], "postgres.hostport: unknown key. Fix: did you mean `postgres.hostPort`?"),
    ({"hasura.corsDomains": ["localhost:3000"]}, [], "hasura.corsDomains: 'localhost:3000' is not an origin with a scheme"),
    ({"hasura.bindAddress": "localhost"}, [], "hasura.bindAddress: 'localhost' is not an IP address"),
    ({"hasuraAdminSecret": "short"}, ["hasuraAdminSecret"], "hasuraAdminSecret: is 5 characters"),
])
def test_bad_input_fails_before_anything_is_created(dev_config, overrides, secret_keys, expected):
    run = run_program("dev", with_overrides(dev_config, overrides), secret_keys=secret_keys)
    assert run.error is not None and expected in run.error, run.error
    assert "Traceback" not in run.error
    assert run.registrations == []


def test_a_rejected_secret_is_never_quoted(dev_config):
    secret = "tiny-secret"
    run = run_program("dev", with_overrides(dev_config, {"postgresPassword": secret}), secret_keys=["postgresPassword"])
    assert run.error is not None and "postgresPassword: is 11 characters" in run.error
    assert secret not in run.error
