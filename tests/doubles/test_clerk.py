"""The Clerk double behaves as clerk.md documents Clerk (the product's Clerk tests are only as good as this)."""

from __future__ import annotations

import base64
import email.utils
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.doubles.clerk import HASURA_TEMPLATE_CLAIMS, RESERVED_TEMPLATE_CLAIMS, ClerkDouble

REPO = Path(__file__).resolve().parents[2]
TEST_EMAIL = "smoke+clerk_test@example.com"


@pytest.fixture(scope="module")
def web():
    """One plain client for the module: building an httpx client costs ~30 ms."""
    with httpx.Client() as client:
        yield client


@pytest.fixture
def bapi(clerk_double: ClerkDouble):
    with httpx.Client(base_url=clerk_double.url + "/v1",
                      headers={"Authorization": f"Bearer {clerk_double.secret_key}"}) as client:
        yield client


def verify(token: str, jwks: dict, issuer: str, **options) -> dict:
    """Verify like a relying party: pick the key by kid from the JWKS, check signature, iss, exp and nbf."""
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    return jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], issuer=issuer,
                      options={"require": ["exp", "iat", "nbf", "iss", "sub"], **options})


def assert_clerk_error(response: httpx.Response, status: int, code: str, long_message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors", "clerk_trace_id"}
    assert body["clerk_trace_id"]
    [error] = body["errors"]
    assert {"message", "long_message", "code"} <= set(error)
    assert error["code"] == code
    if long_message is not None:
        assert error["long_message"] == long_message
    return error


def make_user_session(bapi: httpx.Client, email: str = TEST_EMAIL) -> tuple[dict, dict]:
    user = bapi.post("/users", json={"email_address": [email], "first_name": "Ada"}).json()
    session = bapi.post("/sessions", json={"user_id": user["id"]}).json()
    return user, session


# --------------------------------------------------------------------------------------------- instance keys

def test_publishable_key_decodes_to_the_issuer_host_as_clerk_md_3_4(clerk_double):
    prefix, env, payload = clerk_double.publishable_key.split("_", 2)
    assert (prefix, env) == ("pk", "test") and not payload.endswith("=")
    host = base64.b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert host == clerk_double.frontend_api_host + "$"
    assert clerk_double.issuer == "https://" + clerk_double.frontend_api_host
    assert clerk_double.frontend_api_host.endswith(".clerk.accounts.dev")
    assert clerk_double.secret_key.startswith("sk_test_")
    assert clerk_double.instance_id.startswith("ins_")


def test_production_instance_with_custom_host(clerk_double_factory):
    prod = clerk_double_factory(production=True, frontend_api_host="clerk.example.org")
    assert prod.publishable_key.startswith("pk_live_") and prod.secret_key.startswith("sk_live_")
    assert prod.issuer == "https://clerk.example.org"


# -------------------------------------------------------------------------------------------------- JWKS

def test_jwks_shape_and_no_cache_headers_by_default(clerk_double, web):
    response = web.get(clerk_double.jwks_url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "cache-control" not in response.headers and "expires" not in response.headers
    [key] = response.json()["keys"]
    assert set(key) == {"use", "kty", "kid", "alg", "n", "e"}
    assert (key["use"], key["kty"], key["alg"], key["e"]) == ("sig", "RSA", "RS256", "AQAB")
    assert key["kid"] == clerk_double.instance_id
    assert "=" not in key["n"]
    assert jwt.PyJWK(key).key.public_numbers() == clerk_double.private_key.public_key().public_numbers()


def test_bapi_jwks_is_the_same_document_and_needs_the_secret_key(clerk_double, bapi, web):
    assert bapi.get("/jwks").json() == web.get(clerk_double.jwks_url).json()
    assert_clerk_error(web.get(clerk_double.url + "/v1/jwks"), 401, "authorization_header_format_invalid")


def test_openid_configuration_points_at_the_fapi_host(clerk_double, web):
    body = web.get(clerk_double.url + "/.well-known/openid-configuration").json()
    assert body["issuer"] == clerk_double.issuer
    assert body["jwks_uri"] == clerk_double.issuer + "/.well-known/jwks.json"


@pytest.mark.parametrize("headers", [
    {"Cache-Control": "max-age=30"},
    {"Cache-Control": "no-cache"},
    {"Expires": email.utils.formatdate(1_900_000_000, usegmt=True)},
])
def test_jwks_cache_headers_are_switchable(clerk_double, bapi, headers, web):
    clerk_double.set_jwks_cache_headers(headers)
    for response in (web.get(clerk_double.jwks_url), bapi.get("/jwks")):
        for name, value in headers.items():
            assert response.headers[name] == value
    clerk_double.set_jwks_cache_headers({})
    assert "cache-control" not in web.get(clerk_double.jwks_url).headers


def test_instances_have_distinct_keys(clerk_double, clerk_double_factory):
    other = clerk_double_factory()
    assert other.instance_id != clerk_double.instance_id
    token = other.mint_template_token("user_1")
    with pytest.raises(StopIteration):
        verify(token, clerk_double.jwks(), clerk_double.issuer)
    forged = jwt.encode(jwt.decode(token, options={"verify_signature": False}), other.private_key, algorithm="RS256",
                        headers={"kid": clerk_double.instance_id})
    with pytest.raises(jwt.InvalidSignatureError):
        verify(forged, clerk_double.jwks(), clerk_double.issuer)


def test_rotation_replaces_the_key_unless_the_old_one_is_kept(clerk_double, web):
    first_kid = clerk_double.instance_id
    old_token = clerk_double.mint_template_token("user_1")

    kept_kid = clerk_double.rotate_keys(keep_old=True)
    assert kept_kid == clerk_double.instance_id != first_kid
    overlap = web.get(clerk_double.jwks_url).json()
    assert [k["kid"] for k in overlap["keys"]] == [kept_kid, first_kid]
    verify(old_token, overlap, clerk_double.issuer)
    new_token = clerk_double.mint_template_token("user_1")
    assert jwt.get_unverified_header(new_token)["kid"] == kept_kid
    verify(new_token, overlap, clerk_double.issuer)

    newest_kid = clerk_double.rotate_keys()
    jwks = web.get(clerk_double.jwks_url).json()
    assert [k["kid"] for k in jwks["keys"]] == [newest_kid]
    with pytest.raises(StopIteration):  # the old kid is gone from the JWKS
        verify(new_token, jwks, clerk_double.issuer)


# ------------------------------------------------------------------------------------------------ BAPI auth

def test_backend_api_401_bodies(clerk_double, web):
    url = clerk_double.url + "/v1/jwt_templates"
    format_message = "Invalid Authorization header format. Must be 'Bearer <YOUR_API_KEY>'"
    assert_clerk_error(web.get(url), 401, "authorization_header_format_invalid", format_message)
    assert_clerk_error(web.get(url, headers={"Authorization": clerk_double.secret_key}), 401,
                       "authorization_header_format_invalid", format_message)
    assert_clerk_error(web.get(url, headers={"Authorization": "Bearer sk_test_wrong"}), 401, "clerk_key_invalid",
                       "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.")
    # another instance's key is just as wrong
    assert_clerk_error(web.get(url, headers={"Authorization": f"Bearer {ClerkDouble().secret_key}"}), 401,
                       "clerk_key_invalid")


# ---------------------------------------------------------------------------------------------- JWT templates

def test_fixture_instance_has_the_hasura_template_with_dashboard_defaults(clerk_double, bapi):
    [template] = bapi.get("/jwt_templates").json()
    assert template == clerk_double.templates["hasura"]
    assert set(template) == {"object", "id", "name", "claims", "lifetime", "allowed_clock_skew",
                             "custom_signing_key", "signing_algorithm", "created_at", "updated_at"}
    assert template["object"] == "jwt_template" and template["id"].startswith("jtmp_")
    assert (template["name"], template["claims"]) == ("hasura", HASURA_TEMPLATE_CLAIMS)
    assert (template["lifetime"], template["allowed_clock_skew"]) == (60, 5)
    assert (template["custom_signing_key"], template["signing_algorithm"]) == (False, "RS256")


def test_template_crud(clerk_double_factory):
    clerk = clerk_double_factory(seed_templates={})
    with httpx.Client(base_url=clerk.url + "/v1", headers={"Authorization": f"Bearer {clerk.secret_key}"}) as bapi:
        assert bapi.get("/jwt_templates").json() == []
        assert bapi.get("/jwt_templates", params={"paginated": "true"}).json() == {"data": [], "total_count": 0}

        created = bapi.post("/jwt_templates", json={"name": "custom_hasura", "claims": HASURA_TEMPLATE_CLAIMS,
                                                    "lifetime": 120}).json()
        assert created["lifetime"] == 120 and created["allowed_clock_skew"] == 5
        assert bapi.get(f"/jwt_templates/{created['id']}").json() == created

        updated = bapi.patch(f"/jwt_templates/{created['id']}", json={
            "name": "hasura", "claims": {"aud": "graphql", **HASURA_TEMPLATE_CLAIMS}, "allowed_clock_skew": 30,
        })
        assert updated.status_code == 200, updated.text
        updated = updated.json()
        assert updated["id"] == created["id"] and updated["name"] == "hasura"
        assert updated["claims"]["aud"] == "graphql" and updated["allowed_clock_skew"] == 30
        assert updated["updated_at"] >= created["updated_at"] and updated["created_at"] == created["created_at"]
        assert set(clerk.templates) == {"hasura"}

        deleted = bapi.delete(f"/jwt_templates/{created['id']}")
        assert deleted.json() == {"object": "jwt_template", "id": created["id"], "deleted": True}
        assert_clerk_error(bapi.get(f"/jwt_templates/{created['id']}"), 404, "resource_not_found",
                           f"No JWT template exists with id: {created['id']}")
        assert_clerk_error(bapi.delete(f"/jwt_templates/{created['id']}"), 404, "resource_not_found")
        assert clerk.templates == {}


def test_template_list_is_a_bare_array_unless_paginated_and_limited_to_10_by_default(clerk_double, bapi):
    for i in range(11):
        clerk_double.create_template(f"t{i:02}", {"n": i})
    bare = bapi.get("/jwt_templates").json()
    assert isinstance(bare, list) and len(bare) == 10
    paginated = bapi.get("/jwt_templates", params={"paginated": "true", "limit": 5, "offset": 10}).json()
    assert set(paginated) == {"data", "total_count"}
    assert paginated["total_count"] == 12 and [t["name"] for t in paginated["data"]] == ["t09", "t10"]
    assert len(bapi.get("/jwt_templates", params={"limit": 500}).json()) == 12


@pytest.mark.parametrize("missing", ["name", "claims"])
def test_patch_requires_name_and_claims(clerk_double, bapi, missing):
    template = clerk_double.templates["hasura"]
    body = {"name": "hasura", "claims": HASURA_TEMPLATE_CLAIMS, "lifetime": 90}
    del body[missing]
    error = assert_clerk_error(bapi.patch(f"/jwt_templates/{template['id']}", json=body), 422,
                               "form_param_missing", f"{missing} must be included.")
    assert error["meta"] == {"param_name": missing}
    assert clerk_double.templates["hasura"] == template  # nothing changed


@pytest.mark.parametrize("claim", ["sub", "iss", "exp", "iat", "nbf", "jti", "azp", "sid", "fva"])
def test_reserved_claims_are_refused_on_create_and_update(clerk_double, bapi, claim):
    claims = {**HASURA_TEMPLATE_CLAIMS, claim: "x"}
    message = f"You can't use the reserved claim: '{claim}'"
    assert_clerk_error(bapi.post("/jwt_templates", json={"name": "other", "claims": claims}), 400,
                       "jwt_template_reserved_claim", message)
    template_id = clerk_double.templates["hasura"]["id"]
    assert_clerk_error(bapi.patch(f"/jwt_templates/{template_id}", json={"name": "hasura", "claims": claims}), 400,
                       "jwt_template_reserved_claim", message)
    assert set(clerk_double.templates) == {"hasura"}


def test_static_aud_is_allowed(clerk_double, bapi):
    response = bapi.post("/jwt_templates", json={"name": "with_aud", "claims": {"aud": "hasura"}})
    assert response.status_code == 200


def test_template_validation_errors(clerk_double, bapi):
    assert_clerk_error(bapi.post("/jwt_templates", json={"claims": {}}), 422, "form_param_missing")
    for not_an_object in (["no"], json.dumps({"role": "user"})):
        assert_clerk_error(bapi.post("/jwt_templates", json={"name": "x", "claims": not_an_object}), 422,
                           "form_param_type_invalid")
    assert_clerk_error(bapi.post("/jwt_templates", json={"name": "x", "claims": {}, "lifetime": 29}), 422,
                       "form_param_value_invalid")
    assert_clerk_error(bapi.post("/jwt_templates", json={"name": "x", "claims": {}, "allowed_clock_skew": 301}),
                       422, "form_param_value_invalid")
    assert_clerk_error(bapi.post("/jwt_templates", json={"name": "x", "claims": {}, "custom_signing_key": True}),
                       422, "form_conditional_param_missing")
    error = assert_clerk_error(bapi.post("/jwt_templates", json={"name": "hasura", "claims": {}}), 422,
                               "form_identifier_exists")
    assert error["meta"] == {"param_name": "name"}
    assert_clerk_error(bapi.post("/jwt_templates", content=b"{not json", headers={"Content-Type": "application/json"}),
                       400, "request_body_invalid")
    assert set(clerk_double.templates) == {"hasura"}


# ---------------------------------------------------------------------------------------------------- users

def test_users_create_and_filter_by_email(clerk_double, bapi):
    response = bapi.post("/users", json={"email_address": [TEST_EMAIL], "first_name": "Ada"})
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["object"] == "user" and user["id"].startswith("user_")
    [address] = user["email_addresses"]
    assert address["email_address"] == TEST_EMAIL and address["verification"]["status"] == "verified"
    assert user["primary_email_address_id"] == address["id"]
    bapi.post("/users", json={"email_address": ["other+clerk_test@example.com"]})

    found = bapi.get("/users", params={"email_address": TEST_EMAIL.upper()}).json()
    assert [u["id"] for u in found] == [user["id"]]
    assert bapi.get("/users", params={"email_address": "nobody@example.com"}).json() == []
    assert len(bapi.get("/users").json()) == 2
    assert clerk_double.users[user["id"]] == user
    assert bapi.get(f"/users/{user['id']}").json() == user


# Clerk's published API schema (clerk/openapi-specs bapi/2025-11-10.yml): every `required` property of User, of
# EmailAddress and of verification_admin, with the JSON types it allows (`nullable: true` adds null).
USER_REQUIRED = {
    "id": (str,), "object": (str,), "username": (str, None), "first_name": (str, None), "last_name": (str, None),
    "has_image": (bool,), "primary_email_address_id": (str, None), "primary_phone_number_id": (str, None),
    "primary_web3_wallet_id": (str, None), "password_enabled": (bool,), "two_factor_enabled": (bool,),
    "totp_enabled": (bool,), "backup_code_enabled": (bool,), "email_addresses": (list,), "phone_numbers": (list,),
    "web3_wallets": (list,), "passkeys": (list,), "external_accounts": (list,), "saml_accounts": (list,),
    "enterprise_accounts": (list,), "public_metadata": (dict,), "external_id": (str, None),
    "last_sign_in_at": (int, None), "banned": (bool,), "locked": (bool,), "lockout_expires_in_seconds": (int, None),
    "verification_attempts_remaining": (int, None), "created_at": (int,), "updated_at": (int,),
    "delete_self_enabled": (bool,), "create_organization_enabled": (bool,), "last_active_at": (int, None),
    "mfa_enabled_at": (int, None), "mfa_disabled_at": (int, None), "legal_accepted_at": (int, None),
}
EMAIL_ADDRESS_REQUIRED = {"object": (str,), "email_address": (str,), "verification": (dict, None),
                          "linked_to": (list,), "reserved": (bool,), "created_at": (int,), "updated_at": (int,)}
VERIFICATION_ADMIN_REQUIRED = {"status": (str,), "strategy": (str,), "attempts": (int, None),
                               "expire_at": (int, None)}


def json_type_allowed(value, types: tuple) -> bool:
    if value is None:
        return None in types
    if isinstance(value, bool):  # a JSON boolean is no integer
        return bool in types
    return any(t not in (None, bool) and isinstance(value, t) for t in types)


def schema_problems(obj: dict, required: dict, where: str) -> list[str]:
    return ([f"{where}.{key} missing" for key in required if key not in obj]
            + [f"{where}.{key} = {obj[key]!r} is not one of {types}" for key, types in required.items()
               if key in obj and not json_type_allowed(obj[key], types)])


def test_user_objects_carry_every_field_clerks_api_schema_requires(bapi):
    user = bapi.post("/users", json={"email_address": [TEST_EMAIL], "first_name": "Ada"}).json()
    [address] = user["email_addresses"]
    problems = (schema_problems(user, USER_REQUIRED, "User")
                + schema_problems(address, EMAIL_ADDRESS_REQUIRED, "EmailAddress")
                + schema_problems(address["verification"], VERIFICATION_ADMIN_REQUIRED, "verification_admin"))
    assert problems == []
    assert bapi.get(f"/users/{user['id']}").json() == user


def test_user_errors(bapi):
    bapi.post("/users", json={"email_address": [TEST_EMAIL]})
    error = assert_clerk_error(bapi.post("/users", json={"email_address": [TEST_EMAIL]}), 422,
                               "form_identifier_exists", "That email address is taken. Please try another.")
    assert error["meta"] == {"param_name": "email_address"}
    assert_clerk_error(bapi.post("/users", json={"email_address": ["not-an-email"]}), 422,
                       "form_param_format_invalid")
    assert_clerk_error(bapi.post("/users", json={}), 422, "form_data_missing")
    assert_clerk_error(bapi.get("/users/user_missing"), 404, "resource_not_found")


# ------------------------------------------------------------------------------------ sessions and tokens

def test_template_token_is_minted_exactly_as_clerk_does(clerk_double, bapi, web):
    user, session = make_user_session(bapi)
    assert session["object"] == "session" and session["id"].startswith("sess_")
    assert (session["user_id"], session["status"]) == (user["id"], "active")

    before = int(time.time())
    response = bapi.post(f"/sessions/{session['id']}/tokens/hasura")
    after = int(time.time())
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"object", "jwt"} and body["object"] == "token"
    token = body["jwt"]

    header_segment = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(header_segment + "=" * (-len(header_segment) % 4)))
    assert header == {"alg": "RS256", "kid": clerk_double.instance_id, "typ": "JWT"}
    claims = verify(token, web.get(clerk_double.jwks_url).json(), clerk_double.issuer)
    assert set(claims) == {"exp", "iat", "iss", "jti", "nbf", "sub", "https://hasura.io/jwt/claims"}
    assert before <= claims["iat"] <= after
    assert claims["exp"] - claims["iat"] == 60
    assert claims["iat"] - claims["nbf"] == 5
    assert claims["iss"] == clerk_double.issuer and claims["sub"] == user["id"]
    assert claims["https://hasura.io/jwt/claims"] == {
        "x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "x-hasura-user-id": user["id"],
    }
    assert clerk_double.requests[("POST", "/v1/sessions/{id}/tokens/{template}")] == 1


def test_expires_in_seconds_overrides_the_lifetime(clerk_double, bapi):
    _, session = make_user_session(bapi)
    token = bapi.post(f"/sessions/{session['id']}/tokens/hasura", json={"expires_in_seconds": 600}).json()["jwt"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600 and claims["iat"] - claims["nbf"] == 5
    for bad in (29, 315_360_001):
        assert_clerk_error(bapi.post(f"/sessions/{session['id']}/tokens/hasura", json={"expires_in_seconds": bad}),
                           422, "form_param_value_invalid")


def test_template_settings_drive_lifetime_and_skew(clerk_double, bapi):
    clerk_double.create_template("long", {"role": "{{user.public_metadata.role || 'user'}}"}, lifetime=3600,
                                 allowed_clock_skew=0)
    _, session = make_user_session(bapi)
    claims = jwt.decode(bapi.post(f"/sessions/{session['id']}/tokens/long").json()["jwt"],
                        options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    assert claims["role"] == "user"


def test_unknown_template_or_session_is_404(clerk_double, bapi):
    _, session = make_user_session(bapi)
    assert_clerk_error(bapi.post(f"/sessions/{session['id']}/tokens/nope"), 404, "resource_not_found",
                       "No JWT template exists with name: nope")
    assert_clerk_error(bapi.post("/sessions/sess_missing/tokens/hasura"), 404, "resource_not_found",
                       "No session was found with id sess_missing")
    assert_clerk_error(bapi.post("/sessions", json={"user_id": "user_missing"}), 404, "resource_not_found")
    assert_clerk_error(bapi.post("/sessions", json={}), 422, "form_param_missing")


def test_session_creation_is_refused_on_a_production_instance(clerk_double, clerk_double_factory, bapi, web):
    prod = clerk_double_factory(production=True)
    user = prod.create_user(email_address=TEST_EMAIL)
    response = web.post(prod.url + "/v1/sessions", json={"user_id": user["id"]},
                          headers={"Authorization": f"Bearer {prod.secret_key}"})
    assert_clerk_error(response, 400, "request_invalid_for_environment")
    assert prod.sessions == {}

    clerk_double.production = True  # settable on a running instance
    dev_user = clerk_double.create_user(email_address=TEST_EMAIL)
    assert_clerk_error(bapi.post("/sessions", json={"user_id": dev_user["id"]}), 400,
                       "request_invalid_for_environment")


def test_revoked_session_no_longer_mints(clerk_double, bapi):
    _, session = make_user_session(bapi)
    revoked = bapi.post(f"/sessions/{session['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert clerk_double.sessions[session["id"]]["status"] == "revoked"
    assert_clerk_error(bapi.post(f"/sessions/{session['id']}/tokens/hasura"), 404, "resource_not_found")
    assert bapi.get("/sessions", params={"user_id": session["user_id"], "status": "active"}).json() == []
    assert_clerk_error(bapi.get("/sessions"), 400, "missing_query_parameter")


def test_default_session_token(clerk_double, bapi):
    user, session = make_user_session(bapi)
    token = bapi.post(f"/sessions/{session['id']}/tokens").json()["jwt"]
    claims = verify(token, clerk_double.jwks(), clerk_double.issuer)
    assert (claims["sid"], claims["sub"], claims["v"]) == (session["id"], user["id"], 2)
    assert claims["exp"] - claims["iat"] == 60 and claims["iat"] - claims["nbf"] == 10
    assert "https://hasura.io/jwt/claims" not in claims


# --------------------------------------------------------------------------------------------- direct minting

def test_direct_template_minting_with_fixed_time_and_lifetime(clerk_double):
    token = clerk_double.mint_template_token("user_abc", now=1_700_000_000, lifetime=120, azp="http://localhost:3000")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["iat"], claims["exp"], claims["nbf"]) == (1_700_000_000, 1_700_000_120, 1_699_999_995)
    assert claims["azp"] == "http://localhost:3000" and claims["sub"] == "user_abc"
    assert claims["https://hasura.io/jwt/claims"]["x-hasura-user-id"] == "user_abc"
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(token, clerk_double.jwks(), clerk_double.issuer)
    with pytest.raises(KeyError):
        clerk_double.mint_template_token("user_abc", "missing")


def test_direct_session_token(clerk_double):
    claims = jwt.decode(clerk_double.mint_session_token("user_abc", session_id="sess_1", now=1_700_000_000),
                        options={"verify_signature": False})
    assert claims == {"exp": 1_700_000_060, "fva": [0, -1], "iat": 1_700_000_000, "iss": clerk_double.issuer,
                      "jti": claims["jti"], "nbf": 1_699_999_990, "sid": "sess_1", "sub": "user_abc", "v": 2}


def test_shortcodes_render_with_types_interpolation_and_nulls(clerk_double):
    user = clerk_double.create_user(email_address=TEST_EMAIL, first_name="Ada", public_metadata={"level": 3})
    clerk_double.create_template("codes", {
        "email": "{{user.primary_email_address}}",
        "first": "{{ user.first_name }}",
        "greeting": "{{user.first_name}} {{user.last_name}}",
        "level": "{{user.public_metadata.level}}",
        "meta": "{{user.public_metadata}}",
        "unknown": "{{user.nonsense}}",
        "fallback": "{{user.last_name || 'anon'}}",
        "nested": {"ids": ["{{user.id}}", "static"]},
    })
    claims = jwt.decode(clerk_double.mint_template_token(user["id"], "codes"), options={"verify_signature": False})
    assert claims["email"] == TEST_EMAIL and claims["first"] == "Ada"
    assert claims["greeting"] == "Ada null"
    assert claims["level"] == 3 and claims["meta"] == {"level": 3}
    assert claims["unknown"] is None and claims["fallback"] == "anon"
    assert claims["nested"] == {"ids": [user["id"], "static"]}


_json_scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(alphabet="abc{} .'|", max_size=12)
_json_values = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
_claim_names = st.text(min_size=1, max_size=8).filter(lambda name: name not in RESERVED_TEMPLATE_CLAIMS)


@settings(max_examples=40, deadline=None)
@given(claims=st.dictionaries(_claim_names, _json_values, max_size=4), skew=st.integers(0, 300),
       lifetime=st.integers(30, 10**6))
def test_template_claims_never_displace_the_default_claims(claims, skew, lifetime):
    clerk = ClerkDouble(seed_templates={})  # not started: minting needs no server
    clerk.create_template("t", claims, allowed_clock_skew=skew, lifetime=lifetime)
    token = clerk.mint_template_token("user_p", "t", now=1_700_000_000)
    decoded = jwt.decode(token, clerk.private_key.public_key(), algorithms=["RS256"],
                         options={"verify_exp": False, "verify_nbf": False, "verify_iat": False})
    assert set(decoded) == set(claims) | {"exp", "iat", "iss", "jti", "nbf", "sub"}
    assert (decoded["iat"], decoded["exp"], decoded["nbf"]) == (1_700_000_000, 1_700_000_000 + lifetime,
                                                                  1_700_000_000 - skew)
    assert (decoded["iss"], decoded["sub"]) == (clerk.issuer, "user_p")


def test_custom_signing_key_template_mints_hs256_without_kid(clerk_double, bapi):
    secret = "s" * 32
    created = bapi.post("/jwt_templates", json={
        "name": "hs", "claims": HASURA_TEMPLATE_CLAIMS, "custom_signing_key": True,
        "signing_algorithm": "HS256", "signing_key": secret,
    })
    assert created.status_code == 200, created.text
    assert "signing_key" not in created.json()  # write-only (clerk.md §1.2)
    assert created.json()["signing_algorithm"] == "HS256" and created.json()["custom_signing_key"] is True
    _, session = make_user_session(bapi)
    token = bapi.post(f"/sessions/{session['id']}/tokens/hs").json()["jwt"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=clerk_double.issuer)
    assert claims["https://hasura.io/jwt/claims"]["x-hasura-user-id"] == session["user_id"]


# ------------------------------------------------------------------------------------- faults and counting

def test_rate_limit_next_answers_429_with_retry_after(clerk_double, bapi, web):
    clerk_double.rate_limit_next(2, retry_after=3)
    assert web.get(clerk_double.url + "/v1/jwt_templates").status_code == 401  # per key: does not use one up
    assert bapi.get("/jwks").status_code == 200  # clerk.md §2.6: never rate limited
    assert web.get(clerk_double.jwks_url).status_code == 200
    for _ in range(2):
        response = bapi.get("/jwt_templates")
        assert response.status_code == 429 and response.headers["Retry-After"] == "3"
        assert response.json()["errors"][0]["code"] == "too_many_requests"
    assert bapi.get("/jwt_templates").status_code == 200


def test_fail_next_answers_5xx_then_recovers(clerk_double, bapi, web):
    clerk_double.fail_next(1, status=503)
    assert_clerk_error(bapi.get("/jwt_templates"), 503, "internal_clerk_error")
    assert bapi.get("/jwt_templates").status_code == 200
    clerk_double.fail_next(1, path_prefix="/.well-known/")
    assert bapi.get("/jwks").status_code == 200
    assert web.get(clerk_double.jwks_url).status_code == 500
    assert web.get(clerk_double.jwks_url).status_code == 200
    clerk_double.fail_next(1, drop=True)
    with pytest.raises(httpx.RemoteProtocolError):
        web.get(clerk_double.url + "/v1/jwks", headers=bapi.headers)
    assert bapi.get("/jwks").status_code == 200


def test_requests_are_counted_by_path_template(clerk_double, bapi, web):
    _, session = make_user_session(bapi)
    bapi.post(f"/sessions/{session['id']}/tokens/hasura")
    web.get(clerk_double.jwks_url)
    assert clerk_double.requests == {
        ("POST", "/v1/users"): 1, ("POST", "/v1/sessions"): 1,
        ("POST", "/v1/sessions/{id}/tokens/{template}"): 1, ("GET", "/.well-known/jwks.json"): 1,
    }
    clerk_double.reset_counts()
    assert clerk_double.requests == {}


def test_unknown_routes(clerk_double, bapi):
    assert_clerk_error(bapi.get("/nothing"), 404, "resource_not_found")
    assert bapi.put("/jwt_templates").status_code == 405


def test_runs_by_hand(web):
    process = subprocess.Popen([sys.executable, "-m", "tests.doubles.clerk"], cwd=REPO, stdout=subprocess.PIPE,
                               text=True)
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        url = lines[0].split()[3]
        secret_key = lines[4].split()[2]
        assert lines[3].split()[2].startswith("pk_test_") and secret_key.startswith("sk_test_")
        templates = web.get(url + "/v1/jwt_templates", headers={"Authorization": f"Bearer {secret_key}"}).json()
        assert [t["name"] for t in templates] == ["hasura"]
        process.terminate()
        assert process.wait(timeout=10) == 0  # SIGTERM (or Ctrl-C) stops it cleanly
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
