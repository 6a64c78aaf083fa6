"""Valid Clerk settings give the exact HASURA_GRAPHQL_JWT_SECRET, byte for byte (issue 2)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from components.auth.jwks import rs256_public_pem
from components.auth.jwt_secret import frontend_api_from_publishable_key, normalize_frontend_api, resolve_jwt_secret
from components.targets import load_settings

HOST = "happy-hippo-12.clerk.accounts.dev"
PK = "pk_test_" + base64.b64encode(f"{HOST}$".encode()).decode().rstrip("=")
ISSUER = f"https://{HOST}"
HMAC_KEY = "0123456789abcdef0123456789abcdef"  # exactly 32 characters: the HS256 minimum
NS = '"claims_namespace":"https://hasura.io/jwt/claims"'
CLAIMS_MAP = ('"claims_map":{"x-hasura-allowed-roles":["user"],"x-hasura-default-role":"user",'
              '"x-hasura-user-id":{"path":"$.sub"}}')


def test_clerk_documented_publishable_keys_decode_to_their_hosts() -> None:
    # clerk.md §3.4: real keys are unpadded; Clerk's own examples.
    assert frontend_api_from_publishable_key("pk_test_ZGlzdGluY3QtbW9zcXVpdG8tMTQuY2xlcmsuYWNjb3VudHMuZGV2JA") == \
        "distinct-mosquito-14.clerk.accounts.dev"
    assert frontend_api_from_publishable_key("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k") == "clerk.example.com"


@pytest.mark.parametrize("given", [HOST, f"https://{HOST}", f"{HOST}/", f"  HTTPS://{HOST.upper()}/ "])
def test_harmless_frontend_api_forms_are_normalized(given: str) -> None:
    assert normalize_frontend_api(given) == HOST


# (case id, clerk object, extra top-level keys, exact secret JSON, secret holds a key)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, bool]] = [
    ("custom HS256 key from publishable key", {"publishableKey": PK}, {"clerkSigningKey": HMAC_KEY},
     f'{{"allowed_skew":5,{NS},"issuer":"{ISSUER}","key":"{HMAC_KEY}","type":"HS256"}}', True),
    ("custom key, frontend api, session claims, cookie",
     {"frontendApi": f"https://{HOST}/", "claims": "session", "cookie": True, "allowedSkew": 0},
     {"clerkSigningKey": HMAC_KEY},
     f'{{"allowed_skew":0,{CLAIMS_MAP},"header":{{"name":"__session","type":"Cookie"}},"issuer":"{ISSUER}",'
     f'"key":"{HMAC_KEY}","type":"HS256"}}', True),
    ("custom HS512 key without a Clerk host, audience list",
     {"signingAlgorithm": "HS512", "audience": ["api", "web"], "allowedSkew": 30}, {"clerkSigningKey": "z" * 64},
     f'{{"allowed_skew":30,"audience":["api","web"],{NS},"key":"{"z" * 64}","type":"HS512"}}', True),
    ("both host settings agreeing, string audience", {"publishableKey": PK, "frontendApi": HOST, "audience": "api"},
     {"clerkSigningKey": HMAC_KEY},
     f'{{"allowed_skew":5,"audience":"api",{NS},"issuer":"{ISSUER}","key":"{HMAC_KEY}","type":"HS256"}}', True),
]


@pytest.mark.parametrize(("clerk", "extra", "expected", "holds_key"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_custom_key_settings_give_the_exact_secret(clerk, extra, expected: str, holds_key: bool) -> None:
    secret = resolve_jwt_secret(load_settings({"clerk": clerk, **extra}, environ={}))
    assert secret.value == expected
    assert secret.holds_key is holds_key
    assert secret.jwks_url is None, "a custom key means Clerk's JWKS is not used"
    assert HMAC_KEY not in repr(secret)


def test_url_mode_points_hasura_at_the_jwks_after_a_preflight(jwks_url: str) -> None:
    clerk = {"publishableKey": PK, "jwksUrl": jwks_url}
    secret = resolve_jwt_secret(load_settings({"clerk": clerk}, environ={}))
    assert secret.value == f'{{"allowed_skew":5,{NS},"issuer":"{ISSUER}","jwk_url":"{jwks_url}"}}'
    assert (secret.jwks_url, secret.issuer, secret.holds_key, secret.frontend_api) == (jwks_url, ISSUER, False, HOST)


def test_url_mode_with_session_claims_and_cookie(jwks_url: str) -> None:
    clerk = {"frontendApi": HOST, "jwksUrl": jwks_url, "claims": "session", "cookie": True, "allowedSkew": 10}
    secret = resolve_jwt_secret(load_settings({"clerk": clerk}, environ={}))
    assert secret.value == (f'{{"allowed_skew":10,{CLAIMS_MAP},"header":{{"name":"__session","type":"Cookie"}},'
                            f'"issuer":"{ISSUER}","jwk_url":"{jwks_url}"}}')


def test_pinned_mode_embeds_the_rs256_key_of_the_jwks(jwks_url: str, clerk_instance_key) -> None:
    secret = resolve_jwt_secret(load_settings({"clerk": {"publishableKey": PK, "jwks": "pinned",
                                                         "jwksUrl": jwks_url}}, environ={}))
    pem = rs256_public_pem(clerk_instance_key.jwk)
    assert json.loads(secret.value) == {"allowed_skew": 5, "claims_namespace": "https://hasura.io/jwt/claims",
                                        "issuer": ISSUER, "key": pem, "type": "RS256"}
    assert secret.holds_key and secret.jwks_url == jwks_url
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")


def test_default_jwks_url_is_on_the_frontend_api_host() -> None:
    from components.auth.jwt_secret import validate_clerk

    assert validate_clerk(load_settings({"clerk": {"publishableKey": PK}}, environ={})) == \
        (HOST, f"https://{HOST}/.well-known/jwks.json")


def test_same_settings_give_the_same_bytes(jwks_url: str) -> None:
    raw = {"clerk": {"publishableKey": PK, "jwksUrl": jwks_url, "audience": ["b", "a"], "cookie": True}}
    first = resolve_jwt_secret(load_settings(raw, environ={})).value
    again = resolve_jwt_secret(load_settings(json.loads(json.dumps(raw)), environ={})).value
    assert first == again
