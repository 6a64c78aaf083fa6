"""The pure parts of the smoke check: token-source choice, local minting, forging, the command line's inputs."""

from __future__ import annotations

import io
import time

import jwt
import pytest

from components.targets import load_settings
from components.cli.main import parser
from components.cli.smoke import target_from_command_line
from components.smoke.target import SmokeConfigError, SmokeTarget, choose_token_source, target_from_settings
from components.smoke.tokens import forge, mint_with_signing_key, template_claims_for
from components.cli.stack import StackOutputsError, read_stack_outputs

HMAC_KEY = "h" * 40


def target(**overrides) -> SmokeTarget:
    return SmokeTarget(**{"hasura_url": "http://hasura", "admin_secret": "admin-secret", **overrides})


def test_auto_prefers_clerk_then_signing_key_then_env():
    env = {"CLERK_HASURA_SMOKE_TOKEN": "x.y.z"}
    assert choose_token_source(target(clerk_secret_key="sk_test_a", signing_key=HMAC_KEY), env).name == "clerk"
    assert choose_token_source(target(clerk_secret_key="sk_live_a", signing_key=HMAC_KEY), env).name == "signing-key"
    assert choose_token_source(target(signing_key="-----BEGIN PUBLIC KEY-----", signing_algorithm="RS256"),
                               env).name == "env"
    none = choose_token_source(target(clerk_secret_key="sk_live_a"), {})
    assert none.name == "none"
    assert "production instance" in none.reason and "clerkSigningKey is not set" in none.reason
    assert "CLERK_HASURA_SMOKE_TOKEN is not set" in none.reason


@pytest.mark.parametrize(("source", "settings", "expected"), [
    ("clerk", {}, "clerkSecretKey is not set"),
    ("clerk", {"clerk_secret_key": "sk_live_x"}, "production instance"),
    ("signing-key", {"signing_key": "-----BEGIN PUBLIC KEY-----", "signing_algorithm": "RS256"}, "cannot sign"),
    ("env", {}, "CLERK_HASURA_SMOKE_TOKEN is not set"),
])
def test_a_named_source_that_is_unavailable_is_a_config_error(source, settings, expected):
    with pytest.raises(SmokeConfigError) as caught:
        choose_token_source(target(token_source=source, **settings), {})
    assert str(caught.value).startswith("smoke.tokenSource:") and expected in str(caught.value)
    assert "Fix:" in str(caught.value)


def test_local_token_has_the_claims_clerk_mints(clerk_double):
    now = time.time()
    clerk_token = clerk_double.mint_template_token("user_abc", now=now)
    ours = mint_with_signing_key(template_claims_for("user_abc", issuer=clerk_double.issuer, now=now), HMAC_KEY,
                                 "HS256")
    theirs_claims = jwt.decode(clerk_token, options={"verify_signature": False})
    our_claims = jwt.decode(ours, HMAC_KEY, algorithms=["HS256"], issuer=clerk_double.issuer)
    assert set(our_claims) == set(theirs_claims)
    for key in ("https://hasura.io/jwt/claims", "sub", "iss", "exp", "iat", "nbf"):
        assert our_claims[key] == theirs_claims[key]


def test_forged_token_keeps_header_and_claims_but_not_the_key(clerk_double):
    original = clerk_double.mint_template_token("user_abc")
    forged = forge(original, issuer=clerk_double.issuer, now=time.time())
    assert jwt.get_unverified_header(forged)["kid"] == clerk_double.instance_id
    claims = jwt.decode(forged, options={"verify_signature": False})
    assert claims["https://hasura.io/jwt/claims"]["x-hasura-user-id"] == "user_abc"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, clerk_double.public_key_pem(), algorithms=["RS256"])
    hmac_original = mint_with_signing_key(template_claims_for("user_x", issuer=None, now=time.time()), HMAC_KEY,
                                          "HS256")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forge(hmac_original, issuer=None, now=time.time()), HMAC_KEY, algorithms=["HS256"])


def test_target_from_stack_settings():
    settings = load_settings({"clerk": {"jwtTemplate": "hs", "allowedSkew": 7, "signingAlgorithm": "HS256"},
                              "smoke": {"tokenSource": "signing-key", "timeoutSeconds": 30},
                              "clerkSigningKey": HMAC_KEY}, environ={})
    built = target_from_settings(settings, hasura_url="http://h", admin_secret="a" * 12, issuer=None)
    assert (built.jwt_template, built.token_source, built.signing_key, built.timeout_seconds,
            built.template_clock_skew) == ("hs", "signing-key", HMAC_KEY, 30, 7)
    assert HMAC_KEY not in repr(built) and "a" * 12 not in repr(built)


def test_command_line_reads_stack_outputs_from_stdin():
    outputs = read_stack_outputs(io.StringIO('{"graphqlUrl": "http://h:8080/v1/graphql", "issuer": "https://i", '
                                         '"jwtTemplate": "t", "jwtSecret": "{\\"type\\":\\"HS256\\",\\"key\\":\\"'
                                         + HMAC_KEY + '\\"}"}'))
    args = parser().parse_args(["smoke"])
    built = target_from_command_line(args, outputs, {"CLERK_HASURA_HASURA_ADMIN_SECRET": "s" * 12})
    assert (built.hasura_url, built.issuer, built.jwt_template, built.signing_key, built.signing_algorithm) == (
        "http://h:8080", "https://i", "t", HMAC_KEY, "HS256")


def test_command_line_explains_missing_inputs():
    args = parser().parse_args(["smoke"])
    with pytest.raises(StackOutputsError, match="--hasura-url"):
        target_from_command_line(args, {}, {})
    with pytest.raises(StackOutputsError, match="CLERK_HASURA_HASURA_ADMIN_SECRET"):
        target_from_command_line(args, {"hasuraUrl": "http://h"}, {})
    with pytest.raises(StackOutputsError, match="--show-secrets"):
        read_stack_outputs(io.StringIO('{"hasuraAdminSecret": "[secret]"}'))


def test_smoke_settings_errors_name_the_key_and_the_fix():
    from components.config.settings import SettingsError
    with pytest.raises(SettingsError) as caught:
        load_settings({"smoke": {"tokenSource": "clerk-api", "timeoutSeconds": 2, "testUserEmail": "me@example.com",
                                 "tokenEnvVar": "MY-TOKEN", "enable": True}}, environ={})
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == ["smoke.tokenSource", "smoke.tokenEnvVar", "smoke.timeoutSeconds",
                                                   "smoke.testUserEmail", "smoke.enable"]
    assert all("Fix:" in p for p in problems)
    assert "did you mean `smoke.enabled`?" in problems[-1]


def test_command_line_is_read_only_unless_asked_to_write(capsys):
    assert parser().parse_args(["smoke"]).writes is False
    assert parser().parse_args(["smoke", "--read-only"]).writes is False
    assert parser().parse_args(["smoke", "--writes"]).writes is True
    with pytest.raises(SystemExit):
        parser().parse_args(["smoke", "--writes", "--read-only"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_run_id_set_as_a_number_is_taken():
    # `clerk-hasura pulumi --stack <stack> config set --path smoke.runId "$(date +%s)"` (the docs' way to rerun the
    # check) stores a number.
    assert load_settings({"smoke": {"runId": 1764780000}}, environ={}).smoke.run_id == "1764780000"
