"""The Clerk Backend API client against the Clerk double over real HTTP."""

from __future__ import annotations

import logging
import socket

import jwt
import pytest

from components.clerk.client import (
    ClerkAuthenticationFailed,
    ClerkClient,
    ClerkNotFound,
    ClerkRateLimited,
    ClerkRequestRejected,
    ClerkSessionsUnavailable,
    ClerkUnreachable,
)
from tests.doubles.clerk import HASURA_TEMPLATE_CLAIMS


def client_for(clerk, **options) -> ClerkClient:
    return ClerkClient(clerk.secret_key, base_url=clerk.url, **options)


def test_template_crud_round_trip(clerk_double):
    with client_for(clerk_double) as clerk:
        assert [t["name"] for t in clerk.list_jwt_templates()] == ["hasura"]
        created = clerk.create_jwt_template({"name": "other", "claims": {"role": "x"}, "lifetime": 120})
        assert created["lifetime"] == 120 and clerk.get_jwt_template(created["id"])["name"] == "other"
        updated = clerk.update_jwt_template(created["id"], {"name": "other", "claims": {"role": "y"}})
        assert updated["claims"] == {"role": "y"}
        clerk.delete_jwt_template(created["id"])
        assert [t["name"] for t in clerk.list_jwt_templates()] == ["hasura"]
        with pytest.raises(ClerkNotFound):
            clerk.get_jwt_template(created["id"])


def test_list_follows_pages(clerk_double):
    for index in range(120):
        clerk_double.create_template(f"t{index:03}", {"n": index})
    with client_for(clerk_double) as clerk:
        assert len(clerk.list_jwt_templates()) == 121


def test_reserved_claim_is_rejected_with_a_fix(clerk_double):
    with client_for(clerk_double) as clerk, pytest.raises(ClerkRequestRejected) as caught:
        clerk.create_jwt_template({"name": "bad", "claims": {"sub": "x"}})
    assert caught.value.code == "jwt_template_reserved_claim" and "Fix: remove that claim" in str(caught.value)


def test_wrong_secret_key_names_the_setting_and_never_shows_the_key(clerk_double):
    wrong = "sk_test_" + "w" * 40
    with ClerkClient(wrong, base_url=clerk_double.url) as clerk, pytest.raises(ClerkAuthenticationFailed) as caught:
        clerk.list_jwt_templates()
    assert "clerkSecretKey" in str(caught.value) and wrong not in str(caught.value)


def test_test_user_session_template_token_and_revoke(clerk_double):
    email = "smoke+clerk_test@example.com"
    with client_for(clerk_double) as clerk:
        assert clerk.find_users_by_email(email) == []
        user = clerk.create_user(email)
        assert [u["id"] for u in clerk.find_users_by_email(email)] == [user["id"]]
        session = clerk.create_session(user["id"])
        token = clerk.token_from_template(session["id"], "hasura")
        claims = jwt.decode(token, clerk_double.public_key_pem(), algorithms=["RS256"], issuer=clerk_double.issuer)
        assert claims["sub"] == user["id"]
        assert claims["https://hasura.io/jwt/claims"]["x-hasura-user-id"] == user["id"]
        clerk.revoke_session(session["id"])
        assert clerk_double.sessions[session["id"]]["status"] == "revoked"
        assert clerk.jwks()["keys"][0]["kid"] == clerk_double.instance_id
    assert HASURA_TEMPLATE_CLAIMS == clerk_double.templates["hasura"]["claims"]


def test_missing_template_names_the_template_and_the_fix(clerk_double_factory):
    clerk_double = clerk_double_factory(seed_templates={})
    user = clerk_double.create_user(email_address=["a+clerk_test@example.com"])
    with client_for(clerk_double) as clerk:
        session = clerk.create_session(user["id"])
        with pytest.raises(ClerkNotFound) as caught:
            clerk.token_from_template(session["id"], "hasura")
    assert "no JWT template named 'hasura'" in str(caught.value) and "clerk.jwtTemplate" in str(caught.value)


def test_production_instance_refuses_sessions(clerk_double_factory):
    clerk_double = clerk_double_factory(production=True)
    user = clerk_double.create_user(email_address=["a+clerk_test@example.com"])
    with client_for(clerk_double) as clerk, pytest.raises(ClerkSessionsUnavailable) as caught:
        clerk.create_session(user["id"])
    assert "production instance" in str(caught.value) and "smoke.tokenEnvVar" in str(caught.value)


def test_rate_limit_retry_after_is_honoured(clerk_double):
    slept: list[float] = []
    clerk_double.rate_limit_next(2, retry_after=3)
    with client_for(clerk_double, sleep=slept.append) as clerk:
        assert [t["name"] for t in clerk.list_jwt_templates()] == ["hasura"]
    assert slept == [3, 3]


def test_rate_limit_beyond_the_bound_fails_clearly(clerk_double):
    slept: list[float] = []
    clerk_double.rate_limit_next(5, retry_after=20)
    with client_for(clerk_double, sleep=slept.append, max_rate_limit_wait=30) as clerk:
        with pytest.raises(ClerkRateLimited) as caught:
            clerk.create_jwt_template({"name": "x", "claims": {}})
    assert slept == [20] and "rate limiting" in str(caught.value) and "Fix:" in str(caught.value)


def test_unreachable_api_is_named():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ClerkClient("sk_test_x", base_url=f"http://127.0.0.1:{port}", sleep=lambda _s: None) as clerk:
        with pytest.raises(ClerkUnreachable) as caught:
            clerk.list_jwt_templates()
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_secret_key_and_tokens_never_reach_logs(clerk_double, caplog):
    caplog.set_level(logging.DEBUG)
    with client_for(clerk_double) as clerk:
        user = clerk.create_user("log+clerk_test@example.com")
        session = clerk.create_session(user["id"])
        token = clerk.token_from_template(session["id"], "hasura")
        clerk.revoke_session(session["id"])
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    assert clerk_double.secret_key not in logged and token not in logged
