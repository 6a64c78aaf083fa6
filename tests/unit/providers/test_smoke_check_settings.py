"""Every configured smoke and clerk setting reaches the check the resource runs, unchanged: the token source above
all (issue 14: an explicit `smoke.tokenSource` was stripped inside `pulumi up` and the check fell back to `auto`).

The provider runs in `python -m pulumi.dynamic` (the process the engine starts) against the Hasura double (real
PostgreSQL, metadata/ applied) and the Clerk double."""

from __future__ import annotations

import secrets

import pytest
from pulumi.dynamic.dynamic import serialize_provider

import components.providers.smoke_check as smoke_check
from components.auth.jwt_secret import resolve_jwt_secret
from components.targets import load_settings
from components.providers.smoke_check import SmokeCheckProvider
from components.smoke.report import SmokeReport
from components.smoke.target import SmokeTarget, target_from_settings
from tests.pulumi_harness import DynamicProviderHost, run_program
from tests.unit.smoke.test_checks import clerk_jwt_secret, deploy, project  # noqa: F401 - fixtures

URN = "urn:pulumi:dev::clerk-hasura::pulumi-python:dynamic/smoke_check:SmokeCheck::backend-smoke"
SMOKE = "pulumi-python:dynamic/smoke_check:SmokeCheck"
HMAC_KEY = secrets.token_hex(24)
ENV_VAR = "CLERK_HASURA_SMOKE_TOKEN"

#: What `tokenSourceUsed` starts with when every source is available: `auto` takes the first, clerk.
USED = {"auto": "clerk: Clerk template 'hasura'", "clerk": "clerk: Clerk template 'hasura'",
        "signing-key": "signing-key: minted locally", "env": f"env: token from {ENV_VAR} for user_real",
        "none": "none"}


@pytest.mark.parametrize("source", list(USED))
def test_the_resource_runs_the_configured_token_source(source, deploy, clerk_double, monkeypatch):  # noqa: F811
    # Every source is available at once (Clerk secret key, HMAC signing key, a token in the environment), so only
    # honouring the configured one makes the check use it. Hasura trusts the key of the source under test.
    if source == "signing-key":
        hasura = deploy({"type": "HS256", "key": HMAC_KEY, "issuer": clerk_double.issuer, "allowed_skew": 5})
    else:
        hasura = deploy(clerk_jwt_secret(clerk_double))
    monkeypatch.setenv(ENV_VAR, clerk_double.mint_template_token("user_real", lifetime=300))
    props = {"__provider": serialize_provider(SmokeCheckProvider()), "hasuraUrl": hasura.url,
             "hasuraAdminSecret": hasura.admin_secret, "issuer": clerk_double.issuer, "jwtTemplate": "hasura",
             "tokenSource": source, "clerkSecretKey": clerk_double.secret_key, "clerkApiUrl": clerk_double.url,
             "signingKey": HMAC_KEY, "signingAlgorithm": "HS256", "tokenEnvVar": ENV_VAR, "timeoutSeconds": 30,
             "templateClockSkew": 5, "triggers": {"hasura": "c1"}, "runId": ""}
    clerk_double.requests.clear()
    with DynamicProviderHost() as host:  # started after setenv: the engine's provider host inherits its env
        host.configure({})
        inputs, failures = host.check(URN, {}, props)
        assert failures == []
        _, outs = host.create(URN, inputs)
        assert outs["passed"] is True, outs["report"]
        assert outs["tokenSource"] == source
        assert outs["tokenSourceUsed"].startswith(USED[source]), outs["tokenSourceUsed"]
        # A rerun (update) keeps the configured source too: the previous run's outputs do not replace it.
        updated = host.update(URN, "smoke-1", outs, {**inputs, "runId": "again"})
        assert (updated["tokenSource"], updated["tokenSourceUsed"][:len(USED[source])]) == (source, USED[source])
    called_clerk = sum(clerk_double.requests.values())
    if source in ("auto", "clerk"):
        assert called_clerk > 0
    else:
        assert called_clerk == 0, dict(clerk_double.requests)  # `none` (and every non-Clerk source) never calls Clerk


def test_changing_the_token_source_reruns_the_check():
    provider = SmokeCheckProvider()
    olds = {"hasuraUrl": "http://h", "tokenSource": "auto", "tokenSourceUsed": "clerk: …", "passed": True,
            "report": [], "triggers": {}, "runId": ""}
    news = {key: olds[key] for key in ("hasuraUrl", "tokenSource", "triggers", "runId")}
    assert provider.diff("smoke-1", olds, news).changes is False
    assert provider.diff("smoke-1", olds, {**news, "tokenSource": "none"}).changes is True


def test_no_output_shares_a_name_with_an_input():
    assert set(smoke_check.COMPUTED).isdisjoint(smoke_check.SmokeCheckArgs.__annotations__)


# Every setting, from the stack config to the run ------------------------------------------------------------

SIGNING_KEY = "k" * 48
SECRET_KEY = "sk_test_" + "s" * 40
#: Every smoke and clerk key the check uses, each set to a value other than its default.
CONFIG = {
    "clerk": {"publishableKey": "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA", "jwtTemplate": "my-hasura",
              "audience": ["my-api", "other-api"], "allowedSkew": 9, "claims": "session", "cookie": True,
              "signingAlgorithm": "HS384", "apiUrl": "http://127.0.0.1:9/clerk"},
    "smoke": {"tokenSource": "signing-key", "tokenEnvVar": "MY_SMOKE_TOKEN", "timeoutSeconds": 45,
              "testUserEmail": "someone+clerk_test@example.org", "runId": "run-7", "writes": True},
    "clerkSecretKey": SECRET_KEY,
    "clerkSigningKey": SIGNING_KEY,
    "hasuraAdminSecret": "the-admin-secret-value",
}
#: SmokeTarget fields that come from those settings; each must differ from SmokeTarget's default.
FROM_SETTINGS = ("issuer", "jwt_template", "audience", "token_cookie", "claims", "token_source", "clerk_secret_key",
                 "clerk_api_url", "signing_key", "signing_algorithm", "token_env_var", "test_user_email",
                 "timeout_seconds", "template_clock_skew", "writes")


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    """The SmokeCheck inputs the real program registers for CONFIG."""
    run = run_program("staging", CONFIG, secret_keys=["clerkSecretKey", "clerkSigningKey", "hasuraAdminSecret"])
    return run.check().one(SMOKE)


def test_every_smoke_and_clerk_setting_reaches_the_run_unchanged(registered, monkeypatch):
    settings = load_settings(CONFIG, environ={})
    jwt_secret = resolve_jwt_secret(settings)
    inputs = registered.plain_inputs
    assert inputs["runId"] == "run-7"
    expected = target_from_settings(settings, hasura_url=inputs["hasuraUrl"], admin_secret="the-admin-secret-value",
                                    issuer=jwt_secret.issuer, jwks_url=jwt_secret.jwks_url,
                                    writes=settings.smoke.resolved_writes("staging"))
    defaults = SmokeTarget(hasura_url="", admin_secret="")
    assert [name for name in FROM_SETTINGS if getattr(expected, name) == getattr(defaults, name)] == []

    ran: list[SmokeTarget] = []

    def run_smoke(target, **_):
        ran.append(target)
        return SmokeReport(target.hasura_url, "2026-11-27T00:00:00+00:00", target.mode, target.token_source,
                           "signing-key: minted locally", ())

    monkeypatch.setattr(smoke_check, "run_smoke", run_smoke)
    # As the engine hands them over: through the wire format (numbers become floats), created, then rerun.
    wire = DynamicProviderHost._dict(DynamicProviderHost._struct(inputs))
    created = SmokeCheckProvider().create(wire)
    SmokeCheckProvider().update(created.id, created.outs, {**wire, "runId": "run-8"})
    assert ran == [expected, expected]
