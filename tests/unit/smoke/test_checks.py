"""The smoke check end to end against the Hasura double (real PostgreSQL, metadata/ applied) and the Clerk double:
each token source passes on a correct deploy, and each seeded misconfiguration fails the check that names it."""

from __future__ import annotations

import copy
import json
import logging
import secrets
from pathlib import Path

import pytest

import components.clerk.client as clerk_client_module
import components.smoke.checks as smoke_checks
import components.smoke.tokens as smoke_tokens
from components.hasura.client import HasuraApiError, HasuraClient
from components.hasura.apply import apply_project
from components.hasura.project import load_project
from components.hasura.model import MetadataProject
from components.smoke.runner import run_smoke
from components.smoke.target import SmokeTarget
from components.providers.smoke_check import SmokeCheckProvider, failure_message

ROOT = Path(__file__).resolve().parents[3]
HMAC_KEY = secrets.token_hex(24)
ALL_CHECKS = ["healthz", "user-token", "seed-rows", "token-accepted", "token-claims", "reads-own-row",
              "cannot-read-others", "anonymous-refused", "forged-token-refused", "admin-role-refused",
              "expired-token-refused", "cleanup"]


@pytest.fixture(scope="module")
def project() -> MetadataProject:
    return load_project(ROOT / "metadata")


@pytest.fixture
def minted(monkeypatch) -> list[str]:
    """Every token the run mints or receives, to prove none of them leaks."""
    tokens: list[str] = []

    def recording(function):
        def wrapper(*args, **kwargs):
            token = function(*args, **kwargs)
            tokens.append(token)
            return token
        return wrapper

    # Patched where they are looked up: the signing-key source mints in tokens, the checks mint and forge.
    monkeypatch.setattr(smoke_tokens, "mint_with_signing_key", recording(smoke_tokens.mint_with_signing_key))
    monkeypatch.setattr(smoke_checks, "mint_with_signing_key", recording(smoke_checks.mint_with_signing_key))
    monkeypatch.setattr(smoke_checks, "forge", recording(smoke_checks.forge))
    monkeypatch.setattr(clerk_client_module.ClerkClient, "token_from_template",
                        recording(clerk_client_module.ClerkClient.token_from_template))
    return tokens


@pytest.fixture
def deploy(hasura_double_factory, postgres_database_url, project):
    """`deploy(jwt_secret, unauthorized_role=None, metadata=None)`: Hasura started with `jwt_secret` and the
    metadata project applied, as `pulumi up` leaves it."""

    def start(jwt_secret: dict, *, unauthorized_role=None, metadata=None):
        return _deploy(hasura_double_factory, postgres_database_url, project, jwt_secret,
                       unauthorized_role=unauthorized_role, metadata=metadata)

    return start


def _deploy(hasura_double_factory, database_url: str, project: MetadataProject, jwt_secret: dict, *,
            unauthorized_role, metadata):
    hasura = hasura_double_factory(jwt_secret=json.dumps(jwt_secret), unauthorized_role=unauthorized_role,
                                   env={"PG_DATABASE_URL": database_url, "HASURA_GRAPHQL_DATABASE_URL": database_url})
    if metadata is not None:
        project = MetadataProject(metadata=metadata, migrations=project.migrations)
    with HasuraClient(hasura.url, hasura.admin_secret) as client:
        apply_project(client, project)
    return hasura


def clerk_jwt_secret(clerk, **extra) -> dict:
    return {"jwk_url": clerk.jwks_url, "issuer": clerk.issuer, "allowed_skew": 5, **extra}


def clerk_target(hasura, clerk, **overrides) -> SmokeTarget:
    return SmokeTarget(**{"hasura_url": hasura.url, "admin_secret": hasura.admin_secret, "issuer": clerk.issuer,
                          "jwks_url": clerk.jwks_url, "clerk_secret_key": clerk.secret_key, "clerk_api_url": clerk.url,
                          "timeout_seconds": 30, "writes": True, **overrides})


def results(report) -> dict:
    return {check.name: check for check in report.checks}


def users_rows(hasura) -> list[str]:
    with HasuraClient(hasura.url, hasura.admin_secret) as client:
        return [r["id"] for r in client.run_sql("SELECT id FROM public.users ORDER BY id").records()]


def assert_no_leak(tokens: list[str], *texts: str) -> None:
    assert tokens, "the run minted no token to look for"
    for token in tokens:
        for text in texts:
            assert token not in text
            if token.count(".") == 2:
                assert token.split(".")[2] not in text  # not even the signature


def test_clerk_source_passes_every_check(deploy, clerk_double, minted, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    hasura = deploy(clerk_jwt_secret(clerk_double))
    report = run_smoke(clerk_target(hasura, clerk_double), environ={})
    checks = results(report)
    assert report.passed, report.render()
    assert list(checks) == ALL_CHECKS
    assert all(checks[name].passed for name in ALL_CHECKS if name != "expired-token-refused")
    assert checks["expired-token-refused"].skipped and "clerkSigningKey" in checks["expired-token-refused"].detail
    assert report.token_source_used.startswith("clerk: Clerk template 'hasura', test user user_")
    # Test user made once, its session revoked, the seeded rows gone.
    (user,) = clerk_double.users.values()
    assert user["email_addresses"][0]["email_address"] == "clerk-hasura-smoke+clerk_test@example.com"
    assert [s["status"] for s in clerk_double.sessions.values()] == ["revoked"]
    assert users_rows(hasura) == []
    # A second run reuses the test user.
    assert run_smoke(clerk_target(hasura, clerk_double), environ={}).passed
    assert len(clerk_double.users) == 1
    print(report.render(), json.dumps(report.to_list()))
    captured = capsys.readouterr()
    assert_no_leak(minted, caplog.text, captured.out, captured.err, json.dumps(report.to_list()), report.render())


def test_signing_key_source_passes_every_check_including_expiry(deploy, minted, caplog):
    caplog.set_level(logging.DEBUG)
    issuer = "https://happy-hippo-12.clerk.accounts.dev"
    hasura = deploy({"type": "HS256", "key": HMAC_KEY, "issuer": issuer,
                                                     "allowed_skew": 5})
    target = SmokeTarget(hasura_url=hasura.url, admin_secret=hasura.admin_secret, issuer=issuer,
                         signing_key=HMAC_KEY, timeout_seconds=30, writes=True)
    report = run_smoke(target, environ={})
    assert report.passed, report.render()
    assert all(check.passed for check in report.checks), report.render()
    assert report.token_source_used.startswith("signing-key: minted locally")
    assert users_rows(hasura) == []
    assert_no_leak(minted + [HMAC_KEY], caplog.text, report.render())


def test_a_replica_not_yet_synced_is_waited_for(hasura_double_factory, postgres_database_url, project):
    """Two Hasura replicas behind one URL: the metadata applied through one reaches the other at its next schema
    sync poll; a check run at once through the other waits for it instead of failing."""
    issuer = "https://happy-hippo-12.clerk.accounts.dev"
    jwt_secret = json.dumps({"type": "HS256", "key": HMAC_KEY, "issuer": issuer})
    env = {"PG_DATABASE_URL": postgres_database_url, "HASURA_GRAPHQL_DATABASE_URL": postgres_database_url}
    applied_through = hasura_double_factory(jwt_secret=jwt_secret, env=env)
    checked_through = hasura_double_factory(jwt_secret=jwt_secret, env=env)
    with HasuraClient(applied_through.url, applied_through.admin_secret) as client:
        apply_project(client, project)
    target = SmokeTarget(hasura_url=checked_through.url, admin_secret=checked_through.admin_secret, issuer=issuer,
                         signing_key=HMAC_KEY, timeout_seconds=30, writes=True)
    report = run_smoke(target, environ={})
    assert report.passed, report.render()


def test_a_replica_that_has_not_synced_the_new_source_is_waited_for_before_the_rows_are_seeded(
        hasura_double_factory, postgres_database_url, project):
    """The first deploy adds the source through one replica; run_sql on the other names a source it does not have
    yet (`not-exists`, the statement did not run) until its next schema sync poll, here 3 s away. Started with only
    a metadata database (as on kubernetes with databaseUrl), neither replica has source `default` of its own."""
    issuer = "https://happy-hippo-12.clerk.accounts.dev"
    jwt_secret = json.dumps({"type": "HS256", "key": HMAC_KEY, "issuer": issuer})
    env = {"PG_DATABASE_URL": postgres_database_url}
    applied_through = hasura_double_factory(jwt_secret=jwt_secret, env=env)
    checked_through = hasura_double_factory(jwt_secret=jwt_secret,
                                            env={**env, "HASURA_GRAPHQL_SCHEMA_SYNC_POLL_INTERVAL": "3000"})
    with HasuraClient(applied_through.url, applied_through.admin_secret) as client:
        apply_project(client, project)
    with HasuraClient(checked_through.url, checked_through.admin_secret) as client:
        with pytest.raises(HasuraApiError, match='source with name "default" does not exist'):
            client.run_sql("SELECT 1")
    target = SmokeTarget(hasura_url=checked_through.url, admin_secret=checked_through.admin_secret, issuer=issuer,
                         signing_key=HMAC_KEY, timeout_seconds=30, writes=True)
    report = run_smoke(target, environ={})
    assert report.passed, report.render()


def test_a_missing_permission_still_fails_after_the_schema_sync_allowance(deploy, project, monkeypatch):
    monkeypatch.setattr(smoke_checks, "SCHEMA_SYNC_ALLOWANCE_SECONDS", 1.0)
    metadata = copy.deepcopy(project.metadata)
    metadata["sources"][0]["tables"][0]["select_permissions"] = []
    issuer = "https://happy-hippo-12.clerk.accounts.dev"
    hasura = deploy({"type": "HS256", "key": HMAC_KEY, "issuer": issuer}, metadata=metadata)
    target = SmokeTarget(hasura_url=hasura.url, admin_secret=hasura.admin_secret, issuer=issuer,
                         signing_key=HMAC_KEY, timeout_seconds=30, writes=True)
    own = results(run_smoke(target, environ={}))["reads-own-row"]
    assert own.passed is False and "validation-failed: field 'users' not found in type: 'query_root'" in own.detail
    assert "select permission on users" in own.detail


def test_env_source_passes_and_leaves_an_existing_row_alone(deploy, clerk_double, caplog):
    caplog.set_level(logging.DEBUG)
    hasura = deploy(clerk_jwt_secret(clerk_double))
    with HasuraClient(hasura.url, hasura.admin_secret) as client:
        client.run_sql("INSERT INTO public.users (id, name) VALUES ('user_real', 'Real Person')")
    token = clerk_double.mint_template_token("user_real", lifetime=300)
    report = run_smoke(SmokeTarget(hasura_url=hasura.url, admin_secret=hasura.admin_secret, issuer=clerk_double.issuer,
                                   token_source="env", timeout_seconds=30, writes=True),
                       environ={"CLERK_HASURA_SMOKE_TOKEN": f"Bearer {token}"})
    assert report.passed, report.render()
    assert results(report)["seed-rows"].detail.endswith("user_real already had a row, left as it was")
    assert users_rows(hasura) == ["user_real"]
    assert_no_leak([token], caplog.text, report.render(), json.dumps(report.to_list()))


def test_without_a_token_source_the_tokenless_checks_run_and_the_rest_say_why(deploy, clerk_double):
    hasura = deploy(clerk_jwt_secret(clerk_double))
    report = run_smoke(clerk_target(hasura, clerk_double, clerk_secret_key=None), environ={})
    checks = results(report)
    assert report.passed, report.render()
    assert {name for name, c in checks.items() if c.passed} == {"healthz", "anonymous-refused",
                                                                 "forged-token-refused"}
    assert "clerkSecretKey is not set" in checks["user-token"].detail
    assert checks["reads-own-row"].skipped and "needs a user token, and there is none" in checks["reads-own-row"].detail


def test_production_instance_skips_user_checks(deploy, clerk_double_factory):
    clerk = clerk_double_factory(production=True)
    hasura = deploy(clerk_jwt_secret(clerk))
    report = run_smoke(clerk_target(hasura, clerk), environ={})
    assert report.passed and "production instance" in results(report)["user-token"].detail
    # A development-looking key on an instance that refuses sessions: Clerk's refusal is reported the same way.
    dev = clerk_double_factory()
    dev.production = True
    hasura = deploy(clerk_jwt_secret(dev))
    report = run_smoke(clerk_target(hasura, dev), environ={})
    token_check = results(report)["user-token"]
    assert report.passed and token_check.skipped and "production instance" in token_check.detail


# Seeded misconfigurations -----------------------------------------------------------------------------------


def test_hasura_trusting_the_wrong_issuer_is_caught(deploy, clerk_double, minted):
    wrong = "https://other-instance-7.clerk.accounts.dev"
    hasura = deploy(clerk_jwt_secret(clerk_double, issuer=wrong))
    report = run_smoke(clerk_target(hasura, clerk_double, issuer=wrong), environ={})
    checks = results(report)
    assert not report.passed
    assert checks["token-accepted"].passed is False and "JWTNotInIssuer" in checks["token-accepted"].detail
    assert "clerk.publishableKey" in checks["token-accepted"].detail
    assert checks["token-claims"].passed is False and wrong in checks["token-claims"].detail
    assert "FAIL  token-accepted" in report.render()
    assert_no_leak(minted, report.render())


@pytest.mark.parametrize("knows_jwks_url", [True, False])
def test_hasura_trusting_the_wrong_jwks_is_caught(deploy, clerk_double_factory, knows_jwks_url):
    clerk, other = clerk_double_factory(), clerk_double_factory()
    hasura = deploy({"jwk_url": other.jwks_url})
    hasura.wait_for_jwks()
    report = run_smoke(clerk_target(hasura, clerk, timeout_seconds=3,
                                    jwks_url=other.jwks_url if knows_jwks_url else None), environ={})
    accepted = results(report)["token-accepted"]
    assert accepted.passed is False and "NoUsableKeys" in accepted.detail and "clerk.jwksUrl" in accepted.detail
    if knows_jwks_url:  # named at once: the token's kid is not in the JWKS Hasura trusts
        assert f"not the key {clerk.instance_id!r}" in accepted.detail and other.instance_id in accepted.detail
    assert results(report)["reads-own-row"].skipped


def test_permission_without_row_filter_is_caught(deploy, clerk_double, project):
    metadata = copy.deepcopy(project.metadata)
    table = metadata["sources"][0]["tables"][0]
    table["select_permissions"][0]["permission"]["filter"] = {}
    del table["select_permissions"][0]["permission"]["limit"]
    hasura = deploy(clerk_jwt_secret(clerk_double), metadata=metadata)
    report = run_smoke(clerk_target(hasura, clerk_double), environ={})
    others = results(report)["cannot-read-others"]
    assert not report.passed and others.passed is False
    assert "can read other users' rows (1 other users' rows in the list and the row of" in others.detail
    assert "X-Hasura-User-Id" in others.detail
    # metadata/ may be right and only the live metadata drifted: the fix names both cases and their repairs.
    assert "metadata/metadata/databases/default/tables/public_users.yaml. If the file already says so, the live " \
           "metadata has drifted from it: `scripts/deploy` (pulumi up --refresh) applies metadata/ again; if not, " \
           "change the file and run `scripts/deploy`" in others.detail
    assert results(report)["reads-own-row"].passed
    assert users_rows(hasura) == []  # cleaned up even when a check failed


def test_unauthorized_role_that_can_read_users_is_caught(deploy, clerk_double, project):
    metadata = copy.deepcopy(project.metadata)
    metadata["sources"][0]["tables"][0]["select_permissions"].append(
        {"role": "anonymous", "permission": {"columns": ["id"], "filter": {}}})
    hasura = deploy(clerk_jwt_secret(clerk_double), unauthorized_role="anonymous",
                    metadata=metadata)
    report = run_smoke(clerk_target(hasura, clerk_double), environ={})
    anonymous = results(report)["anonymous-refused"]
    assert not report.passed and anonymous.passed is False
    assert "unauthorized role" in anonymous.detail and "the live metadata has drifted" in anonymous.detail


def test_unauthorized_role_without_access_passes(deploy, clerk_double):
    hasura = deploy(clerk_jwt_secret(clerk_double), unauthorized_role="anonymous")
    report = run_smoke(clerk_target(hasura, clerk_double), environ={})
    assert report.passed, report.render()
    assert "unauthorized role" in results(report)["anonymous-refused"].detail


def test_template_missing_in_clerk_is_caught(deploy, clerk_double_factory):
    clerk = clerk_double_factory(seed_templates={})
    hasura = deploy(clerk_jwt_secret(clerk))
    report = run_smoke(clerk_target(hasura, clerk), environ={})
    token_check = results(report)["user-token"]
    assert not report.passed and token_check.passed is False
    assert "no JWT template named 'hasura'" in token_check.detail
    assert results(report)["token-accepted"].skipped
    assert [s["status"] for s in clerk.sessions.values()] == ["revoked"]


def test_clerk_rate_limiting_is_waited_out_or_named(deploy, clerk_double):
    hasura = deploy(clerk_jwt_secret(clerk_double))
    clerk_double.rate_limit_next(1, retry_after=1)
    assert run_smoke(clerk_target(hasura, clerk_double), environ={}).passed
    clerk_double.rate_limit_next(50, retry_after=120)
    report = run_smoke(clerk_target(hasura, clerk_double), environ={})
    token_check = results(report)["user-token"]
    assert token_check.passed is False and "rate limiting" in token_check.detail


def test_hasura_warming_up_is_waited_for(deploy, clerk_double):
    hasura = deploy(clerk_jwt_secret(clerk_double))
    hasura.restart()  # JWK key set starts empty again: NoUsableKeys for a moment
    hasura.fail_next(2, mode="503")
    report = run_smoke(clerk_target(hasura, clerk_double), environ={})
    assert report.passed, report.render()


# The dynamic resource ---------------------------------------------------------------------------------------


def test_smoke_resource_reports_on_success_and_fails_the_deploy_readably(deploy, clerk_double, minted):
    hasura = deploy(clerk_jwt_secret(clerk_double))
    props = {"hasuraUrl": hasura.url, "hasuraAdminSecret": hasura.admin_secret, "issuer": clerk_double.issuer,
             "jwtTemplate": "hasura", "tokenSource": "auto", "clerkSecretKey": clerk_double.secret_key,
             "clerkApiUrl": clerk_double.url, "timeoutSeconds": 30, "writes": True, "triggers": {"hasura": "c1"},
             "runId": ""}
    provider = SmokeCheckProvider()
    created = provider.create(props)
    assert created.outs["passed"] is True
    assert [c["name"] for c in created.outs["report"]["checks"]] == ALL_CHECKS
    assert provider.diff(created.id, created.outs, props).changes is False
    assert provider.diff(created.id, created.outs, {**props, "triggers": {"hasura": "c2"}}).changes is True
    assert provider.diff(created.id, created.outs, {**props, "runId": "again"}).changes is True
    clerk_double.templates.clear()
    # A failing run is the new state, not an exception that would leave the old passing state in place.
    failed = provider.update(created.id, created.outs, {**props, "runId": "again"}).outs
    assert failed["passed"] is False and failed["report"]["passed"] is False
    message = failure_message(failed["report"])
    assert "FAIL  user-token" in message
    assert_no_leak(minted, json.dumps(created.outs), json.dumps(failed), message)


# The command for CI -----------------------------------------------------------------------------------------


def run_command(args: list[str], *, stdin: str = "", env: dict | None = None):
    import os
    import subprocess
    import sys
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CLERK_HASURA_")} | (env or {})
    return subprocess.run([sys.executable, "-m", "components.cli", "smoke", *args], cwd=ROOT, input=stdin, text=True,
                          capture_output=True, env=child_env, timeout=120)


def test_command_passes_with_stack_outputs_on_stdin(deploy, clerk_double):
    hasura = deploy(clerk_jwt_secret(clerk_double))
    outputs = {"graphqlUrl": f"{hasura.url}/v1/graphql", "hasuraAdminSecret": hasura.admin_secret,
               "issuer": clerk_double.issuer, "jwksUrl": clerk_double.jwks_url, "jwtTemplate": "hasura",
               "jwtSecret": json.dumps(clerk_jwt_secret(clerk_double))}
    done = run_command(["--json"], stdin=json.dumps(outputs),
                       env={"CLERK_HASURA_CLERK_SECRET_KEY": clerk_double.secret_key,
                            "CLERK_HASURA_CLERK_API_URL": clerk_double.url})
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] is True and report["checks"][1]["detail"].startswith("Clerk template 'hasura'")
    assert clerk_double.secret_key not in done.stdout + done.stderr


def test_command_exits_1_on_a_failed_check_and_2_when_it_cannot_run(deploy):
    issuer = "https://happy-hippo-12.clerk.accounts.dev"
    hasura = deploy({"type": "HS256", "key": HMAC_KEY, "issuer": issuer})
    wrong_key = secrets.token_hex(24)
    env = {"CLERK_HASURA_HASURA_ADMIN_SECRET": hasura.admin_secret, "CLERK_HASURA_CLERK_SIGNING_KEY": wrong_key}
    failed = run_command(["--hasura-url", hasura.url, "--issuer", issuer], env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "FAIL  token-accepted" in failed.stdout and "JWSInvalidSignature" in failed.stdout
    assert wrong_key not in failed.stdout + failed.stderr and hasura.admin_secret not in failed.stdout
    passed = run_command(["--hasura-url", hasura.url, "--issuer", issuer],
                         env={**env, "CLERK_HASURA_CLERK_SIGNING_KEY": HMAC_KEY})
    assert passed.returncode == 0, passed.stdout + passed.stderr
    cannot = run_command(["--hasura-url", hasura.url])
    assert cannot.returncode == 2 and "CLERK_HASURA_HASURA_ADMIN_SECRET" in cannot.stderr
    named = run_command(["--hasura-url", hasura.url, "--token-source", "env"],
                        env={"CLERK_HASURA_HASURA_ADMIN_SECRET": hasura.admin_secret})
    assert named.returncode == 2 and "CLERK_HASURA_SMOKE_TOKEN is not set" in named.stderr


def test_smoke_resource_through_the_dynamic_provider_host(deploy, clerk_double):
    from pulumi.dynamic.dynamic import serialize_provider

    from tests.pulumi_harness import DynamicProviderHost

    urn = "urn:pulumi:dev::clerk-hasura::pulumi-python:dynamic/smoke_check:SmokeCheck::backend-smoke"
    hasura = deploy(clerk_jwt_secret(clerk_double))
    props = {"__provider": serialize_provider(SmokeCheckProvider()), "hasuraUrl": hasura.url,
             "hasuraAdminSecret": hasura.admin_secret, "issuer": clerk_double.issuer, "jwksUrl": clerk_double.jwks_url,
             "clerkSecretKey": clerk_double.secret_key, "clerkApiUrl": clerk_double.url, "timeoutSeconds": 30,
             "templateClockSkew": 5, "writes": True, "triggers": {"hasura": "c1"}, "runId": ""}
    with DynamicProviderHost() as host:
        host.configure({})
        inputs, failures = host.check(urn, {}, props)
        assert failures == []
        _, outs = host.create(urn, inputs)
        assert outs["passed"] is True and len(outs["report"]["checks"]) == len(ALL_CHECKS)
        hasura.fail_next(1000, mode="500")
        failed = host.update(urn, "smoke-1", outs, {**inputs, "runId": "again", "timeoutSeconds": 1})
    message = failure_message(failed["report"])
    assert failed["passed"] is False and "FAIL  healthz" in message
    assert hasura.admin_secret not in message and clerk_double.secret_key not in message


def test_session_claims_mode_uses_the_plain_session_token(deploy, clerk_double_factory):
    clerk = clerk_double_factory(seed_templates={})  # clerk.claims `session`: no template needed
    hasura = deploy(clerk_jwt_secret(clerk, claims_map={
        "x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "x-hasura-user-id": {"path": "$.sub"}}))
    report = run_smoke(clerk_target(hasura, clerk, claims="session"), environ={})
    assert report.passed, report.render()
    assert results(report)["user-token"].detail.startswith("Clerk session token, test user user_")
    assert all(c.passed for c in report.checks if c.name != "expired-token-refused"), report.render()


def test_instance_needing_more_than_an_email_for_sign_up_gets_a_fix(deploy, clerk_double, monkeypatch):
    def refuse(self, email_address, **fields):
        raise clerk_client_module.ClerkRequestRejected(
            "Could not create the test user: Clerk answered 422 form_data_missing: username is missing",
            status=422, code="form_data_missing")

    monkeypatch.setattr(clerk_client_module.ClerkClient, "create_user", refuse)
    hasura = deploy(clerk_jwt_secret(clerk_double))
    token_check = results(run_smoke(clerk_target(hasura, clerk_double), environ={}))["user-token"]
    assert token_check.passed is False and "username is missing" in token_check.detail
    assert "create the user clerk-hasura-smoke+clerk_test@example.com in the Clerk dashboard" in token_check.detail


def test_cookie_mode_sends_the_token_as_clerks_session_cookie(deploy, clerk_double):
    hasura = deploy(clerk_jwt_secret(clerk_double, header={"type": "Cookie", "name": "__session"}))
    report = run_smoke(clerk_target(hasura, clerk_double, token_cookie="__session"), environ={})
    assert report.passed, report.render()
    assert all(c.passed for c in report.checks if c.name != "expired-token-refused"), report.render()
    # An app sending the Authorization header to a Hasura reading the cookie is refused, and the check says so.
    header_report = run_smoke(clerk_target(hasura, clerk_double), environ={})
    assert results(header_report)["token-accepted"].passed is False, header_report.render()
    assert "clerk.cookie" in results(header_report)["token-accepted"].detail


def test_deploy_order_template_resource_then_smoke_check_with_an_audience(deploy, clerk_double_factory):
    from components.providers.clerk_jwt_template import ClerkJwtTemplateProvider

    clerk = clerk_double_factory(seed_templates={})
    claims = {**clerk_client_module.HASURA_TEMPLATE_CLAIMS, "aud": "my-api"}
    template = ClerkJwtTemplateProvider().check({}, {"name": "hasura", "claims": claims, "allowedClockSkew": 5,
                                                     "clerkSecretKey": clerk.secret_key, "clerkApiUrl": clerk.url})
    ClerkJwtTemplateProvider().create(template.inputs)
    hasura = deploy(clerk_jwt_secret(clerk, audience="my-api"))
    report = run_smoke(clerk_target(hasura, clerk, audience="my-api"), environ={})
    assert report.passed, report.render()
    # Without the aud in the template, both the claims check and Hasura say so.
    clerk.templates["hasura"]["claims"] = clerk_client_module.HASURA_TEMPLATE_CLAIMS
    checks = results(run_smoke(clerk_target(hasura, clerk, audience="my-api"), environ={}))
    assert checks["token-claims"].passed is False and "clerk.audience" in checks["token-claims"].detail
    assert checks["token-accepted"].passed is False and "JWTNotInAudience" in checks["token-accepted"].detail


def test_signing_key_source_with_an_audience(deploy):
    hasura = deploy({"type": "HS256", "key": HMAC_KEY, "audience": ["my-api", "other"]})
    report = run_smoke(SmokeTarget(hasura_url=hasura.url, admin_secret=hasura.admin_secret, signing_key=HMAC_KEY,
                                   audience=["my-api", "other"], timeout_seconds=30, writes=True), environ={})
    assert report.passed and all(check.passed for check in report.checks), report.render()
