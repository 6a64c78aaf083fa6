"""The Clerk JWT template resource's provider against the Clerk double: create/adopt/patch, idempotence, drift."""

from __future__ import annotations

import pytest
from pulumi.dynamic import CheckResult

from components.clerk.client import HASURA_TEMPLATE_CLAIMS, ClerkAuthenticationFailed
from components.providers.clerk_jwt_template import ClerkJwtTemplateProvider

WRITES = {("POST", "/v1/jwt_templates"), ("PATCH", "/v1/jwt_templates/{id}"), ("DELETE", "/v1/jwt_templates/{id}")}


def inputs_for(clerk, **overrides) -> dict:
    checked = ClerkJwtTemplateProvider().check({}, {"name": "hasura", "clerkSecretKey": clerk.secret_key,
                                                    "clerkApiUrl": clerk.url, **overrides})
    assert checked.failures == []
    return checked.inputs


def writes(clerk) -> int:
    return sum(count for key, count in clerk.requests.items() if key in WRITES)


def test_creates_the_template_and_leaves_others_alone(clerk_double_factory):
    clerk = clerk_double_factory(seed_templates={"other": {"role": "x"}})
    provider = ClerkJwtTemplateProvider()
    created = provider.create(inputs_for(clerk, lifetime=90, allowedClockSkew=10))
    template = clerk.templates["hasura"]
    assert created.id == template["id"] and created.outs["adopted"] is False
    assert template["claims"] == HASURA_TEMPLATE_CLAIMS
    assert (template["lifetime"], template["allowed_clock_skew"], template["custom_signing_key"]) == (90, 10, False)
    assert clerk.templates["other"]["claims"] == {"role": "x"}


def test_an_existing_matching_template_is_adopted_without_writes(clerk_double):
    created = ClerkJwtTemplateProvider().create(inputs_for(clerk_double))
    assert created.id == clerk_double.templates["hasura"]["id"] and created.outs["adopted"] is True
    assert writes(clerk_double) == 0


def test_an_existing_different_template_is_patched(clerk_double):
    clerk_double.templates["hasura"]["claims"] = {"https://hasura.io/jwt/claims": {"x-hasura-default-role": "anon"}}
    ClerkJwtTemplateProvider().create(inputs_for(clerk_double, lifetime=120))
    assert clerk_double.templates["hasura"]["claims"] == HASURA_TEMPLATE_CLAIMS
    assert clerk_double.templates["hasura"]["lifetime"] == 120


def test_idempotent_second_deploy_changes_nothing(clerk_double_factory):
    clerk = clerk_double_factory(seed_templates={})
    provider = ClerkJwtTemplateProvider()
    inputs = inputs_for(clerk)
    created = provider.create(inputs)
    assert provider.diff(created.id, created.outs, inputs).changes is False
    before = writes(clerk)
    updated = provider.update(created.id, created.outs, inputs)  # e.g. after a secret key rotation
    assert writes(clerk) == before and updated.outs["templateId"] == created.id
    refreshed = provider.read(created.id, created.outs)
    assert provider.diff(created.id, refreshed.outs, inputs).changes is False


def test_refresh_reports_a_template_changed_in_clerk_and_update_repairs_it(clerk_double_factory):
    clerk = clerk_double_factory(seed_templates={})
    provider = ClerkJwtTemplateProvider()
    inputs = inputs_for(clerk)
    created = provider.create(inputs)
    clerk.templates["hasura"]["claims"] = {"https://hasura.io/jwt/claims": {"x-hasura-default-role": "admin"}}
    clerk.templates["hasura"]["lifetime"] = 3600
    refreshed = provider.read(created.id, created.outs)
    assert refreshed.outs["live"]["lifetime"] == 3600
    assert provider.diff(created.id, refreshed.outs, inputs).changes is True
    provider.update(created.id, refreshed.outs, inputs)
    assert clerk.templates["hasura"]["claims"] == HASURA_TEMPLATE_CLAIMS and clerk.templates["hasura"]["lifetime"] == 60


def test_template_deleted_in_clerk_disappears_on_refresh(clerk_double_factory):
    clerk = clerk_double_factory(seed_templates={})
    provider = ClerkJwtTemplateProvider()
    created = provider.create(inputs_for(clerk))
    del clerk.templates["hasura"]
    assert provider.read(created.id, created.outs).id == ""


def test_delete_removes_only_a_template_the_stack_created(clerk_double_factory):
    fresh = clerk_double_factory(seed_templates={})
    provider = ClerkJwtTemplateProvider()
    created = provider.create(inputs_for(fresh))
    provider.delete(created.id, created.outs)
    assert "hasura" not in fresh.templates
    preset = clerk_double_factory()
    adopted = provider.create(inputs_for(preset))
    provider.delete(adopted.id, adopted.outs)
    assert "hasura" in preset.templates


def test_custom_signing_key_is_sent_and_tokens_use_it(clerk_double_factory):
    clerk = clerk_double_factory(seed_templates={})
    key = "k" * 40
    user = clerk.create_user(email_address=["a+clerk_test@example.com"])
    ClerkJwtTemplateProvider().create(inputs_for(clerk, signingKey=key, signingAlgorithm="HS256"))
    assert clerk.templates["hasura"]["custom_signing_key"] is True
    import jwt
    token = clerk.mint_template_token(user["id"])
    assert jwt.decode(token, key, algorithms=["HS256"])["sub"] == user["id"]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"claims": {"sub": "{{user.id}}", **HASURA_TEMPLATE_CLAIMS}}, "claims"),
    ({"lifetime": 10}, "lifetime"),
    ({"allowedClockSkew": 301}, "allowedClockSkew"),
    ({"name": " "}, "name"),
])
def test_check_rejects_bad_inputs_before_calling_clerk(overrides, field):
    result: CheckResult = ClerkJwtTemplateProvider().check({}, {"name": "hasura", "clerkSecretKey": "sk_test_x",
                                                                **overrides})
    assert [failure.property for failure in result.failures] == [field]


def test_rate_limited_clerk_is_waited_for(clerk_double_factory):
    clerk = clerk_double_factory(seed_templates={})
    clerk.rate_limit_next(1, retry_after=1)
    created = ClerkJwtTemplateProvider().create(inputs_for(clerk))
    assert clerk.templates["hasura"]["id"] == created.id


def test_wrong_secret_key_fails_clearly_without_showing_it(clerk_double):
    wrong = "sk_test_" + "z" * 40
    with pytest.raises(ClerkAuthenticationFailed) as caught:
        ClerkJwtTemplateProvider().create(inputs_for(clerk_double, clerkSecretKey=wrong))
    assert "clerkSecretKey" in str(caught.value) and wrong not in str(caught.value)


def rsa_public_and_private() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return public, private


def test_a_public_signing_key_is_checked_never_changed(clerk_double_factory):
    from components.providers.clerk_jwt_template import TemplateSigningMismatch
    _, private = rsa_public_and_private()
    plain = clerk_double_factory()
    with pytest.raises(TemplateSigningMismatch) as caught:
        ClerkJwtTemplateProvider().create(inputs_for(plain, signingAlgorithm="RS256"))
    assert "Custom signing key" in str(caught.value) and "the instance key" in str(caught.value)
    custom = clerk_double_factory(seed_templates={})
    custom.create_template("hasura", {"https://hasura.io/jwt/claims": {}}, custom_signing_key=True,
                           signing_algorithm="RS256", signing_key=private)
    ClerkJwtTemplateProvider().create(inputs_for(custom, signingAlgorithm="RS256"))
    template = custom.templates["hasura"]
    assert template["claims"] == HASURA_TEMPLATE_CLAIMS
    assert (template["custom_signing_key"], template["signing_algorithm"]) == (True, "RS256")


def test_template_args_from_stack_settings():
    import asyncio

    from components.providers.clerk_jwt_template import template_args
    asyncio.set_event_loop(asyncio.new_event_loop())  # pulumi.Output needs one, as in a Pulumi program
    from components.targets import load_settings
    assert template_args(load_settings({}, environ={})) is None
    settings = load_settings({"clerk": {"jwtTemplate": "hs", "allowedSkew": 9}, "clerkSecretKey": "sk_test_abc",
                              "clerkSigningKey": "k" * 40}, environ={})
    args = template_args(settings)
    assert (args["name"], args["allowedClockSkew"], args["signingAlgorithm"]) == ("hs", 9, "HS256")
    assert "signingKey" in args and args["claims"] == HASURA_TEMPLATE_CLAIMS
    with_audience = template_args(load_settings({"clerk": {"audience": "my-api"}, "clerkSecretKey": "sk_test_abc"},
                                                environ={}))
    assert with_audience["claims"] == {**HASURA_TEMPLATE_CLAIMS, "aud": "my-api"}
    assert "signingKey" not in with_audience and "signingAlgorithm" not in with_audience
