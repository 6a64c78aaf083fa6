"""Bad stack config fails before anything is created, naming the key, what was wrong and the fix (issue 2)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from components.auth.jwks import JwksError
from components.auth.jwt_secret import resolve_jwt_secret
from components.config.settings import SettingsError
from components.targets import load_settings

HOST = "happy-hippo-12.clerk.accounts.dev"
PK = "pk_test_" + base64.b64encode(f"{HOST}$".encode()).decode().rstrip("=")
HMAC_KEY = "k" * 40


def public_pem(private_key: Any) -> str:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)
P384_KEY = ec.generate_private_key(ec.SECP384R1())
PRIVATE_PEM = RSA_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()


def pk_of(text: str) -> str:
    return "pk_test_" + base64.b64encode(text.encode()).decode().rstrip("=")


# (case id, raw stack config, key the message must name, fragment it must contain)
STATIC_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("frontend api with http scheme", {"clerk": {"frontendApi": f"http://{HOST}"}}, "clerk.frontendApi", "https only"),
    ("frontend api with a path", {"clerk": {"frontendApi": f"{HOST}/v1"}}, "clerk.frontendApi", "has a path"),
    ("frontend api with a port", {"clerk": {"frontendApi": f"{HOST}:8443"}}, "clerk.frontendApi", "not a host name"),
    ("frontend api with spaces inside", {"clerk": {"frontendApi": "happy hippo"}}, "clerk.frontendApi",
     "not a host name"),
    ("publishable key without prefix", {"clerk": {"publishableKey": "abc123"}}, "clerk.publishableKey",
     "must start with `pk_test_` or `pk_live_`"),
    ("secret key given as publishable key", {"clerk": {"publishableKey": "sk_test_abcdef"}}, "clerk.publishableKey",
     "is a Clerk secret key"),
    ("publishable key not base64", {"clerk": {"publishableKey": "pk_test_!!!not-base64"}}, "clerk.publishableKey",
     "does not decode"),
    ("publishable key without trailing $", {"clerk": {"publishableKey": pk_of(HOST)}}, "clerk.publishableKey",
     "ending in `$`"),
    ("publishable key decoding to no host", {"clerk": {"publishableKey": pk_of("not a host$")}},
     "clerk.publishableKey", "not a host name"),
    ("publishable key and frontend api disagree",
     {"clerk": {"publishableKey": PK, "frontendApi": "other-animal-7.clerk.accounts.dev"}}, "clerk.frontendApi",
     "disagrees with clerk.publishableKey"),
    ("no clerk instance at all", {"clerk": {}}, "clerk.publishableKey", "no Clerk instance to trust"),
    ("HS256 key too short", {"clerk": {"publishableKey": PK}, "clerkSigningKey": "s" * 31}, "clerkSigningKey",
     "HS256 needs at least 32"),
    ("HS384 key too short", {"clerk": {"publishableKey": PK, "signingAlgorithm": "HS384"},
                             "clerkSigningKey": "s" * 47}, "clerkSigningKey", "HS384 needs at least 48"),
    ("HS512 key too short", {"clerk": {"publishableKey": PK, "signingAlgorithm": "HS512"},
                             "clerkSigningKey": "s" * 63}, "clerkSigningKey", "HS512 needs at least 64"),
    ("PEM that does not parse", {"clerk": {"publishableKey": PK, "signingAlgorithm": "RS256"},
                                 "clerkSigningKey": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"},
     "clerkSigningKey", "does not parse"),
    ("private key instead of public", {"clerk": {"publishableKey": PK, "signingAlgorithm": "RS256"},
                                       "clerkSigningKey": PRIVATE_PEM}, "clerkSigningKey", "is a private key"),
    ("RS256 with an EC key", {"clerk": {"publishableKey": PK, "signingAlgorithm": "RS256"},
                              "clerkSigningKey": public_pem(P384_KEY)}, "clerkSigningKey", "not RSA"),
    ("ES256 with a P-384 key", {"clerk": {"publishableKey": PK, "signingAlgorithm": "ES256"},
                                "clerkSigningKey": public_pem(P384_KEY)}, "clerkSigningKey", "secp256r1"),
    ("Ed25519 with an RSA key", {"clerk": {"publishableKey": PK, "signingAlgorithm": "Ed25519"},
                                 "clerkSigningKey": public_pem(RSA_KEY)}, "clerkSigningKey", "not Ed25519"),
    ("RSA key below 2048 bits", {"clerk": {"publishableKey": PK, "signingAlgorithm": "RS256"},
                                 "clerkSigningKey": public_pem(RSA_1024)}, "clerkSigningKey", "1024 bits"),
    ("RS256 with an HMAC secret", {"clerk": {"publishableKey": PK, "signingAlgorithm": "RS256"},
                                   "clerkSigningKey": HMAC_KEY}, "clerkSigningKey", "is not a PEM public key"),
    ("HS256 with a PEM key", {"clerk": {"publishableKey": PK}, "clerkSigningKey": public_pem(RSA_KEY)},
     "clerkSigningKey", "is a PEM key but clerk.signingAlgorithm is HS256"),
    ("unknown algorithm", {"clerk": {"publishableKey": PK, "signingAlgorithm": "RS257"},
                           "clerkSigningKey": HMAC_KEY}, "clerk.signingAlgorithm", "unknown algorithm 'RS257'"),
    ("signing algorithm without a key", {"clerk": {"publishableKey": PK, "signingAlgorithm": "HS256"}},
     "clerk.signingAlgorithm", "clerkSigningKey is not set"),
    ("pinned JWKS with a custom key", {"clerk": {"publishableKey": PK, "jwks": "pinned"},
                                       "clerkSigningKey": HMAC_KEY}, "clerk.jwks", "remove one of the two"),
    ("JWKS URL with a custom key", {"clerk": {"publishableKey": PK, "jwksUrl": "https://example.com/jwks.json"},
                                    "clerkSigningKey": HMAC_KEY}, "clerk.jwksUrl", "Hasura would never read it"),
    ("audience a number", {"clerk": {"publishableKey": PK, "audience": 5}}, "clerk.audience", "got 5"),
    ("audience an empty list", {"clerk": {"publishableKey": PK, "audience": []}}, "clerk.audience",
     "non-empty string"),
    ("audience list with a blank", {"clerk": {"publishableKey": PK, "audience": ["api", " "]}}, "clerk.audience",
     "non-empty string"),
    ("audience list of numbers", {"clerk": {"publishableKey": PK, "audience": [1, 2]}}, "clerk.audience",
     "non-empty string"),
    ("negative skew", {"clerk": {"publishableKey": PK, "allowedSkew": -1}}, "clerk.allowedSkew",
     "between 0 and 300"),
    ("absurd skew", {"clerk": {"publishableKey": PK, "allowedSkew": 86400}}, "clerk.allowedSkew",
     "between 0 and 300"),
    ("typo inside clerk", {"clerk": {"publishableKye": PK}}, "clerk.publishableKye",
     "did you mean `clerk.publishableKey`"),
    ("unknown jwks mode", {"clerk": {"publishableKey": PK, "jwks": "pin"}}, "clerk.jwks", "'url' or 'pinned'"),
    ("unknown claims mode", {"clerk": {"publishableKey": PK, "claims": "custom"}}, "clerk.claims",
     "'template' or 'session'"),
    ("cookie not a boolean", {"clerk": {"publishableKey": PK, "cookie": "sometimes"}}, "clerk.cookie",
     "valid boolean"),
    ("blank template name", {"clerk": {"publishableKey": PK, "jwtTemplate": " "}}, "clerk.jwtTemplate",
     "must not be empty"),
    ("jwks url over plain http to a remote host", {"clerk": {"publishableKey": PK,
                                                             "jwksUrl": "http://example.com/jwks.json"}},
     "clerk.jwksUrl", "must be an https URL"),
    ("clerk not an object", {"clerk": "pk_test_abc"}, "clerk", "valid dictionary"),
    ("typo at top level", {"clerk": {"publishableKey": PK}, "clerkSecretKye": "sk_test_x"},
     "clerk-hasura:clerkSecretKye", "did you mean `clerk-hasura:clerkSecretKey`"),
]


@pytest.mark.parametrize(("raw", "key", "fragment"), [c[1:] for c in STATIC_CASES], ids=[c[0] for c in STATIC_CASES])
def test_bad_static_config_is_rejected_naming_the_key_and_fix(raw: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        resolve_jwt_secret(load_settings(raw, environ={}))
    message = str(caught.value)
    problem = next((p for p in caught.value.problems if p.startswith(f"{key}:")), None)
    assert problem is not None, f"no problem names {key}:\n{message}"
    assert fragment in problem, problem
    assert "Fix:" in problem, problem
    secret = raw.get("clerkSigningKey")
    if secret:
        assert secret not in message, "the signing key leaked into the error message"


def rs256_jwk(kid: str) -> dict[str, Any]:
    import json

    import jwt

    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": public["n"], "e": public["e"]}


EC_JWK = {"kty": "EC", "use": "sig", "alg": "ES256", "kid": "ec1", "crv": "P-256", "x": "x", "y": "y"}

# (case id, how the JWKS path answers: (status, body, content type) or None for nothing listening, mode, fragment)
JWKS_CASES: list[tuple[str, tuple[int, bytes, str] | None, str, str]] = [
    ("pinned, nothing listening", None, "pinned", "could not be fetched"),
    ("url preflight, nothing listening", None, "url", "could not be fetched"),
    ("pinned, server error", (500, b"oops", "text/plain"), "pinned", "answered HTTP 500"),
    ("pinned, not JSON", (200, b"<html>hi</html>", "text/html"), "pinned", "is not JSON"),
    ("pinned, JSON without keys", (200, b'{"hello": 1}', "application/json"), "pinned", "not a JWKS"),
    ("pinned, no RS256 key", (200, ('{"keys": [%s]}' % __import__("json").dumps(EC_JWK)).encode(),
                              "application/json"), "pinned", "no RS256 signing key"),
    ("url preflight, empty key set", (200, b'{"keys": []}', "application/json"), "url", "no RS256 signing key"),
    ("url preflight, not JSON", (200, b"<html>login</html>", "text/html"), "url", "is not JSON"),
    ("url preflight, only an EC key", (200, ('{"keys": [%s]}' % __import__("json").dumps(EC_JWK)).encode(),
                                       "application/json"), "url", "found: EC/ES256"),
    ("url preflight, not found", (404, b"{}", "application/json"), "url", "answered HTTP 404"),
    ("pinned, two RS256 keys (rotation)", (200, __import__("json").dumps(
        {"keys": [rs256_jwk("ins_a"), rs256_jwk("ins_b")]}).encode(), "application/json"), "pinned",
     "can embed one key"),
]


@pytest.mark.parametrize(("answer", "mode", "fragment"), [c[1:] for c in JWKS_CASES], ids=[c[0] for c in JWKS_CASES])
def test_unusable_jwks_is_rejected_naming_the_setting(static_http_server, answer, mode: str, fragment: str) -> None:
    if answer is None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{probe.getsockname()[1]}/.well-known/jwks.json"
    else:
        status, body, content_type = answer
        url = static_http_server.serve_bytes("/.well-known/jwks.json", body, status=status, content_type=content_type)
    settings = load_settings({"clerk": {"publishableKey": PK, "jwks": mode, "jwksUrl": url}}, environ={})
    with pytest.raises((JwksError, SettingsError)) as caught:
        resolve_jwt_secret(settings)
    message = str(caught.value)
    assert "clerk.jwks" in message and fragment in message and "Fix:" in message, message


def test_every_problem_is_reported_at_once() -> None:
    raw = {"clerk": {"frontendApi": "http://x/y", "allowedSkew": -5, "claimz": "template"}}
    with pytest.raises(SettingsError) as caught:
        resolve_jwt_secret(load_settings(raw, environ={}))
    keys = {p.split(":")[0] for p in caught.value.problems}
    assert {"clerk.allowedSkew", "clerk.claimz"} <= keys


def test_secret_env_var_overrides_stack_config_and_is_validated() -> None:
    env = {"CLERK_HASURA_CLERK_SIGNING_KEY": "short"}
    settings = load_settings({"clerk": {"publishableKey": PK}, "clerkSigningKey": HMAC_KEY}, environ=env)
    assert settings.clerk_signing_key.get_secret_value() == "short"
    with pytest.raises(SettingsError) as caught:
        resolve_jwt_secret(settings)
    assert "clerkSigningKey" in str(caught.value) and "short" not in str(caught.value)
    assert "short" not in repr(settings), "secrets must not appear in the settings' repr"


def test_only_the_environment_given_is_read_and_an_empty_secret_variable_is_unset(monkeypatch) -> None:
    """CI passes every CLERK_HASURA_* secret its workflows document; one the team did not create arrives empty."""
    monkeypatch.setenv("CLERK_HASURA_DATABASE_URL", "")
    monkeypatch.setenv("CLERK_HASURA_CLERK_SIGNING_KEY", "from-the-process-environment")
    settings = load_settings({"clerk": {"publishableKey": PK}, "clerkSigningKey": HMAC_KEY}, environ={})
    assert settings.database_url is None
    assert settings.clerk_signing_key.get_secret_value() == HMAC_KEY
    settings = load_settings({"clerk": {"publishableKey": PK}}, environ={"CLERK_HASURA_DATABASE_URL": ""})
    assert settings.database_url is None


def test_clerk_and_container_problems_are_reported_together() -> None:
    from components.plan import validate_stack_config

    raw = {"clerk": {"publishableKey": PK, "frontendApi": "other-animal-7.clerk.accounts.dev"},
           "hasura": {"port": 8080}, "postgres": {"hostPort": 8080}, "hasuraAdminSecret": "short"}
    with pytest.raises(SettingsError) as caught:
        validate_stack_config(raw, "dev", environ={})
    keys = {p.split(":")[0] for p in caught.value.problems}
    assert keys == {"clerk.frontendApi", "postgres.hostPort", "hasuraAdminSecret"}, caught.value.problems
    assert "short" not in str(caught.value)
