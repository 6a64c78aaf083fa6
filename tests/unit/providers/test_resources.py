"""The smoke-check and JWT-template resources as a Pulumi program registers them (under Pulumi's mocks): type
tokens, secret inputs, additional_secret_outputs, dependencies, and the preflight of the token source."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.targets import load_settings
from components.smoke.target import SmokeConfigError, preflight
from tests.pulumi_harness import Secret, plaintext_leaks, run_program

SECRET_KEY = "sk_test_" + "s" * 40
SIGNING_KEY = "h" * 40
ADMIN_SECRET = "the-admin-secret-value"

PROGRAM = '''
import pulumi
from components.providers.clerk_jwt_template import ClerkJwtTemplate, template_args
from components.auth.jwt_secret import JwtSecret
from components.targets import load_settings
from components.providers.smoke_check import SmokeCheck, smoke_check_args

settings = load_settings({
    "clerk": {"publishableKey": "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA", "signingAlgorithm": "HS256"},
    "clerkSecretKey": "%(secret_key)s", "clerkSigningKey": "%(signing_key)s",
}, environ={})
jwt_secret = JwtSecret(value='{"type":"HS256","key":"%(signing_key)s"}', jwks_url=None,
                       issuer="https://happy-hippo-12.clerk.accounts.dev", holds_key=True,
                       frontend_api="happy-hippo-12.clerk.accounts.dev")
metadata = pulumi.CustomResource("test:index:Metadata", "metadata", {"metadataHash": "abc"})
template = ClerkJwtTemplate("backend-jwt-template", template_args(settings),
                            opts=pulumi.ResourceOptions(depends_on=[metadata]))
smoke = SmokeCheck("backend-smoke", smoke_check_args(
    settings, jwt_secret, hasura_url="http://127.0.0.1:8080", admin_secret="%(admin)s",
    triggers={"hasura": "container-id", "metadata": metadata.id, "template": template.templateId}, writes=True),
    opts=pulumi.ResourceOptions(depends_on=[metadata, template]))
pulumi.export("smoke", smoke.report)
''' % {"secret_key": SECRET_KEY, "signing_key": SIGNING_KEY, "admin": ADMIN_SECRET}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    program = Path(tmp_path_factory.mktemp("program")) / "__main__.py"
    program.write_text(PROGRAM)
    return run_program("dev", {}, program=program).check()


def test_resources_register_with_their_type_tokens_and_dependencies(run):
    template = run.one("pulumi-python:dynamic/clerk_jwt_template:ClerkJwtTemplate", "backend-jwt-template")
    smoke = run.one("pulumi-python:dynamic/smoke_check:SmokeCheck", "backend-smoke")
    metadata = run.one("test:index:Metadata", "metadata")
    assert set(smoke.dependencies) >= {metadata.urn, template.urn}
    assert smoke.plain_inputs["triggers"]["hasura"] == "container-id"
    assert set(smoke.plain_inputs["triggers"]) == {"hasura", "metadata", "template", "jwtSecret"}
    assert template.plain_inputs["name"] == "hasura" and template.plain_inputs["allowedClockSkew"] == 5


def test_secrets_are_secret_inputs_and_secret_outputs(run):
    template = run.one("pulumi-python:dynamic/clerk_jwt_template:ClerkJwtTemplate")
    smoke = run.one("pulumi-python:dynamic/smoke_check:SmokeCheck")
    assert isinstance(template.inputs["clerkSecretKey"], Secret) and isinstance(template.inputs["signingKey"], Secret)
    for key in ("hasuraAdminSecret", "clerkSecretKey", "signingKey"):
        assert isinstance(smoke.inputs[key], Secret), key
    assert {"clerkSecretKey", "signingKey"} <= set(template.additional_secret_outputs)
    assert {"hasuraAdminSecret", "clerkSecretKey", "signingKey"} <= set(smoke.additional_secret_outputs)
    assert plaintext_leaks(run, [SECRET_KEY, SIGNING_KEY, ADMIN_SECRET]) == []


def test_preflight_names_an_unavailable_token_source_before_deploying():
    settings = load_settings({"smoke": {"tokenSource": "clerk"}}, environ={})
    with pytest.raises(SmokeConfigError, match="smoke.tokenSource: is `clerk`, but clerkSecretKey is not set"):
        preflight(settings, environ={})
    assert preflight(load_settings({"smoke": {"enabled": False, "tokenSource": "clerk"}}, environ={})) is None
    assert preflight(load_settings({}, environ={}), environ={}).name == "none"
    assert preflight(load_settings({}, environ={}), environ={"CLERK_HASURA_SMOKE_TOKEN": "a.b.c"}).name == "env"
