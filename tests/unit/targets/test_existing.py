"""Choosing a target: the `existing` target and an external database on `docker` — what each creates under
Pulumi's mocks, and what each refuses before anything is created."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from components.config.settings import SettingsError
from components.plan import plan_stack
from components.targets.existing import ExistingHasuraUnavailable
from tests.fixtures.jwks import new_rsa_signing_key
from tests.pulumi_harness import Secret, example_dev_config, plaintext_leaks, run_program, serve_jwks, \
    with_overrides

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
TEMPLATE = "pulumi-python:dynamic/clerk_jwt_template:ClerkJwtTemplate"
SMOKE = "pulumi-python:dynamic/smoke_check:SmokeCheck"
METADATA = "pulumi-python:dynamic/hasura_metadata:HasuraMetadata"
ADMIN_SECRET = "existing-admin-secret-0123456789"
DATABASE_URL = "postgres://app:s3cr3t-db-password@db.example.com:5432/app?sslmode=require"
CLERK_SECRET_KEY = "sk_test_" + "k" * 40


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    with serve_jwks({"keys": [new_rsa_signing_key().jwk]}) as url:
        yield url


def existing(jwks_url: str, url: str, **overrides) -> dict:
    return with_overrides(example_dev_config(jwks_url), {"target": "existing", "hasura": {"publicUrl": url},
                                                         "postgres": None, **overrides})


def problems_of(raw: dict, stack: str = "dev") -> str:
    with pytest.raises(SettingsError) as caught:
        plan_stack(raw, stack, environ={})
    return str(caught.value)


# --- existing: what it refuses ---------------------------------------------------------------------------

def test_existing_needs_the_url_and_the_admin_secret(jwks_url):
    raw = with_overrides(example_dev_config(jwks_url), {"target": "existing", "postgres": None, "hasura": None})
    text = problems_of(raw)
    assert "hasura.publicUrl: required with target `existing`" in text
    assert "`clerk-hasura pulumi --stack dev config set --path hasura.publicUrl https://<project>.hasura.app`" in text
    assert "hasuraAdminSecret: required with target `existing`" in text
    assert "`clerk-hasura pulumi --stack dev config set --secret hasuraAdminSecret …`" in text


def test_existing_refuses_docker_keys_naming_each(jwks_url):
    raw = existing(jwks_url, "https://my-project.hasura.app", **{
        "hasura.port": 9090, "hasura.console": True, "postgres": {"hostPort": 15432},
        "hasuraAdminSecret": ADMIN_SECRET, "postgresPassword": "p" * 20, "databaseUrl": DATABASE_URL})
    text = problems_of(raw)
    assert "hasura.port: the `existing` target runs no Hasura container" in text
    assert "hasura.console: the `existing` target runs no Hasura container" in text
    assert "postgres.hostPort: the `existing` target creates no Postgres" in text
    assert "postgresPassword: the `existing` target creates no Postgres" in text
    assert "databaseUrl: the `existing` target creates no Postgres" in text
    assert "s3cr3t-db-password" not in text


def test_plain_http_to_another_host_is_refused_outside_dev(jwks_url):
    raw = existing(jwks_url, "http://hasura.internal.example:8080", hasuraAdminSecret=ADMIN_SECRET)
    text = problems_of(raw, stack="prod")
    assert "hasura.publicUrl: http://hasura.internal.example:8080 is plain http" in text
    assert "Fix: use the https URL of that Hasura" in text


def test_an_unreachable_hasura_is_named_at_preview_without_hanging(jwks_url):
    # A port nothing listens on: refused at once; the preflight must not wait minutes like a deploy would.
    raw = existing(jwks_url, "http://127.0.0.1:9", hasuraAdminSecret=ADMIN_SECRET)
    started = time.monotonic()
    with pytest.raises(ExistingHasuraUnavailable) as caught:
        plan_stack(raw, "dev", environ={})
    assert time.monotonic() - started < 30
    assert "hasura.publicUrl: no Hasura answered at http://127.0.0.1:9" in str(caught.value)
    assert "container" not in str(caught.value)


def test_a_wrong_admin_secret_is_named_at_preview(jwks_url, hasura_double):
    raw = existing(jwks_url, hasura_double.url, hasuraAdminSecret="not-the-admin-secret-of-that-hasura")
    with pytest.raises(ExistingHasuraUnavailable) as caught:
        plan_stack(raw, "dev", environ={})
    assert str(caught.value).startswith(f"hasuraAdminSecret: the Hasura at {hasura_double.url} refused it")
    assert "not-the-admin-secret" not in str(caught.value)


# --- existing: what it creates ----------------------------------------------------------------------------

def test_existing_creates_no_container_and_points_everything_at_that_hasura(jwks_url, hasura_double):
    config = existing(jwks_url, hasura_double.url, hasuraAdminSecret=hasura_double.admin_secret,
                      clerkSecretKey=CLERK_SECRET_KEY)
    run = run_program("staging", config, secret_keys=["hasuraAdminSecret", "clerkSecretKey"]).check()
    assert not [r for r in run.registrations if r.type.startswith("docker:")]
    assert run.one(METADATA).plain_inputs["hasura_url"] == hasura_double.url
    assert run.one(SMOKE).plain_inputs["hasuraUrl"] == hasura_double.url
    outputs = run.outputs
    assert outputs["graphqlUrl"].value == f"{hasura_double.url}/v1/graphql"
    assert outputs["hasuraAdminSecret"].secret
    assert "dockerNetwork" not in outputs and "postgresUrl" not in outputs
    assert plaintext_leaks(run, [hasura_double.admin_secret, CLERK_SECRET_KEY]) == []


# --- docker with an external database ---------------------------------------------------------------------

def test_a_database_url_replaces_the_postgres_container_and_volume(jwks_url):
    config = with_overrides(example_dev_config(jwks_url), {"postgres": None, "databaseUrl": DATABASE_URL})
    run = run_program("dev", config, secret_keys=["databaseUrl"]).check()
    containers = {r.name for r in run.by_type(CONTAINER)}
    assert containers == {"backend-hasura-container"}
    assert run.by_type(VOLUME) == []
    hasura = run.one(CONTAINER, "backend-hasura-container")
    assert isinstance(hasura.inputs["envs"], Secret)
    env = dict(entry.split("=", 1) for entry in hasura.plain_inputs["envs"])
    assert env["PG_DATABASE_URL"] == env["HASURA_GRAPHQL_METADATA_DATABASE_URL"] == DATABASE_URL
    assert run.outputs["postgresUrl"].secret and run.outputs["postgresUrl"].value == DATABASE_URL
    assert plaintext_leaks(run, ["s3cr3t-db-password"]) == []


def test_a_database_url_refuses_postgres_container_keys(jwks_url):
    raw = with_overrides(example_dev_config(jwks_url), {"databaseUrl": DATABASE_URL, "postgresPassword": "p" * 20})
    text = problems_of(raw)
    assert "postgres.database: `databaseUrl` replaces the Postgres container" in text
    assert "postgresPassword: `databaseUrl` replaces the Postgres container" in text


def test_a_malformed_database_url_is_refused_without_echoing_it(jwks_url):
    raw = with_overrides(example_dev_config(jwks_url), {"postgres": None, "databaseUrl": "mysql://u:hunter2@h/db"})
    text = problems_of(raw)
    assert "databaseUrl: is not a Postgres connection URL" in text and "hunter2" not in text


# --- clerk.apiUrl ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["config", "CLERK_API_URL"])
def test_the_clerk_api_url_reaches_the_template_and_the_smoke_check(jwks_url, where):
    config = with_overrides(example_dev_config(jwks_url), {"clerkSecretKey": CLERK_SECRET_KEY})
    env = {}
    if where == "config":
        config = with_overrides(config, {"clerk.apiUrl": "http://127.0.0.1:4010/"})
    else:
        env["CLERK_API_URL"] = "http://127.0.0.1:4010"
    run = run_program("dev", config, secret_keys=["clerkSecretKey"], env=env).check()
    assert run.one(TEMPLATE).plain_inputs["clerkApiUrl"] == "http://127.0.0.1:4010"
    assert run.one(SMOKE).plain_inputs["clerkApiUrl"] == "http://127.0.0.1:4010"


def test_a_plain_http_clerk_api_url_to_another_host_is_refused(jwks_url):
    raw = with_overrides(example_dev_config(jwks_url), {"clerk.apiUrl": "http://clerk-proxy.example.com"})
    assert "clerk.apiUrl: 'http://clerk-proxy.example.com' is not an https base URL" in problems_of(raw)
