"""For any valid settings, tokens minted the way Clerk mints them pass Hasura's rules applied to the computed
JWT secret, and tokens from another issuer, another key, the wrong audience or expired beyond the skew fail.

The verifier below is written from hasura.md §4 (4.1 config, 4.3 order and errors) with joserfc, independent of
the product code (which uses pyjwt) and of the Hasura double.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt as pyjwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey, RSAKey

from components.auth.jwt_secret import resolve_jwt_secret
from components.targets import load_settings
from tests.fixtures.jwks import new_rsa_signing_key

LIFETIME, CLERK_SKEW = 60, 5  # clerk.md §1.2 defaults
HASURA_NAMESPACE = "https://hasura.io/jwt/claims"


class Rejected(Exception):
    """Hasura would answer with an error (its message is the Hasura message)."""


@dataclass(frozen=True)
class Session:
    role: str
    user_id: str | None


def hasura_verify(config: dict[str, Any], headers: dict[str, str], now: float) -> Session:
    """Hasura v2's JWT processing, per hasura.md §4.1 and §4.3."""
    header = config.get("header", {"type": "Authorization"})
    if header["type"] == "Cookie":
        cookies = dict(part.strip().split("=", 1) for part in headers.get("Cookie", "").split(";") if "=" in part)
        token = cookies.get(header["name"])
        if token is None:
            raise Rejected("Missing 'Authorization' or 'Cookie' header in JWT authentication mode")
    else:
        words = headers.get("Authorization", "").split(" ")
        if len(words) != 2 or words[0] != "Bearer":
            raise Rejected("Malformed Authorization header")
        token = words[1]
    unverified = pyjwt.decode(token, options={"verify_signature": False})  # issuer match before verification
    if "issuer" in config and "iss" in unverified and unverified["iss"] != config["issuer"]:
        raise Rejected("Could not verify JWT: JWTNotInIssuer")
    if "key" in config:
        algorithm = config["type"]
        key: Any = OctKey.import_key(config["key"]) if algorithm.startswith("HS") else RSAKey.import_key(config["key"])
        algorithms = [algorithm]
    else:
        key = KeySet.import_key_set(httpx.get(config["jwk_url"], timeout=5).json())
        algorithms = ["RS256"]
    try:
        claims = jose_jwt.decode(token, key, algorithms=algorithms).claims
    except (JoseError, ValueError) as error:
        raise Rejected(f"Could not verify JWT: JWSError JWSInvalidSignature ({type(error).__name__})") from None
    skew = config.get("allowed_skew", 0)
    if "exp" in claims and now > claims["exp"] + skew:
        raise Rejected("Could not verify JWT: JWTExpired")
    if "nbf" in claims and now < claims["nbf"] - skew:
        raise Rejected("Could not verify JWT: JWTNotYetValid")
    if "audience" in config:
        wanted = config["audience"] if isinstance(config["audience"], list) else [config["audience"]]
        got = claims.get("aud", [])
        got = got if isinstance(got, list) else [got]
        if not set(wanted) & set(got):
            raise Rejected("Could not verify JWT: JWTNotInAudience")
    if "claims_map" in config:
        hasura_claims = {name: claims[spec["path"].removeprefix("$.")] if isinstance(spec, dict) else spec
                         for name, spec in config["claims_map"].items()}
    else:
        namespace = config.get("claims_namespace", HASURA_NAMESPACE)
        if namespace not in claims:
            raise Rejected(f"claims key: '{namespace}' not found")
        hasura_claims = claims[namespace]
    allowed, default = hasura_claims.get("x-hasura-allowed-roles"), hasura_claims.get("x-hasura-default-role")
    if not isinstance(allowed, list) or default is None:
        raise Rejected("JWT claim does not contain x-hasura-allowed-roles / x-hasura-default-role")
    role = headers.get("x-hasura-role", default)
    if role not in allowed:
        raise Rejected("Your requested role is not in allowed roles")
    return Session(role=role, user_id=hasura_claims.get("x-hasura-user-id"))


def clerk_token(*, issuer: str, user_id: str, claims_mode: str, audience: Any, signing: tuple[str, Any],
                iat: int) -> str:
    """A token as Clerk mints it (clerk.md §1.4 template tokens, §4 session tokens)."""
    payload: dict[str, Any] = {"azp": "http://localhost:3000", "exp": iat + LIFETIME, "iat": iat, "iss": issuer,
                               "jti": uuid.uuid4().hex[:20], "nbf": iat - CLERK_SKEW, "sub": user_id}
    if claims_mode == "template":
        payload[HASURA_NAMESPACE] = {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user",
                                     "x-hasura-user-id": user_id}
    else:
        payload |= {"sid": "sess_" + uuid.uuid4().hex[:24], "v": 2}
    if audience is not None:
        payload["aud"] = audience
    kind, key = signing
    if kind == "rsa":
        return pyjwt.encode(payload, key.private_key, algorithm="RS256", headers={"kid": key.kid})
    algorithm, secret = key
    return pyjwt.encode(payload, secret, algorithm=algorithm)


INSTANCE_KEY = new_rsa_signing_key("ins_2PropertyTestInstance00000")
OTHER_KEY = new_rsa_signing_key("ins_2PropertyTestInstance00000")  # same kid, another key: a forgery

hosts = st.from_regex(r"[a-z]{3,8}-[a-z]{3,8}-[0-9]{1,2}\.clerk\.accounts\.dev", fullmatch=True)
audiences = st.one_of(st.none(), st.text("abcdefghij", min_size=1, max_size=8),
                      st.lists(st.text("abcdefghij", min_size=1, max_size=8), min_size=1, max_size=3, unique=True))
custom_keys = st.one_of(
    st.none(),
    st.sampled_from([("HS256", 32), ("HS384", 48), ("HS512", 64)]).flatmap(
        lambda alg_min: st.tuples(st.just(alg_min[0]), st.text("abcdefghijklmnopqrstuvwxyz0123456789",
                                                               min_size=alg_min[1], max_size=alg_min[1] + 16))),
)


@st.composite
def clerk_settings(draw: Any) -> dict[str, Any]:
    host = draw(hosts)
    clerk: dict[str, Any] = {"claims": draw(st.sampled_from(["template", "session"])),
                             "cookie": draw(st.booleans()), "allowedSkew": draw(st.integers(0, 300))}
    if draw(st.booleans()):
        clerk["publishableKey"] = "pk_live_" + base64.b64encode(f"{host}$".encode()).decode().rstrip("=")
    else:
        clerk["frontendApi"] = draw(st.sampled_from([host, f"https://{host}", f"{host}/"]))
    audience = draw(audiences)
    if audience is not None:
        clerk["audience"] = audience
    custom = draw(custom_keys)
    raw: dict[str, Any] = {"clerk": clerk}
    if custom is not None:
        clerk["signingAlgorithm"] = custom[0]
        raw["clerkSigningKey"] = custom[1]
    else:
        clerk["jwks"] = draw(st.sampled_from(["url", "pinned"]))
    return {"raw": raw, "host": host, "audience": audience, "custom": custom}


def send(config: dict[str, Any], token: str, now: float) -> Session:
    if config.get("header", {}).get("type") == "Cookie":
        return hasura_verify(config, {"Cookie": f"theme=dark; __session={token}"}, now)
    return hasura_verify(config, {"Authorization": f"Bearer {token}"}, now)


def rejected(config: dict[str, Any], token: str, now: float) -> bool:
    try:
        send(config, token, now)
    except Rejected:
        return True
    return False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=clerk_settings(), user_suffix=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=27))
def test_clerk_tokens_pass_and_impostors_fail(static_http_server, case: dict[str, Any], user_suffix: str) -> None:
    jwks_url = static_http_server.serve_json("/.well-known/jwks.json", {"keys": [INSTANCE_KEY.jwk]})
    raw = json.loads(json.dumps(case["raw"]))
    if case["custom"] is None:
        raw["clerk"]["jwksUrl"] = jwks_url
    config = json.loads(resolve_jwt_secret(load_settings(raw, environ={})).value)
    issuer, user_id = f"https://{case['host']}", f"user_{user_suffix}"
    signing = ("rsa", INSTANCE_KEY) if case["custom"] is None else ("hmac", case["custom"])
    forged = ("rsa", OTHER_KEY) if case["custom"] is None else ("hmac", (case["custom"][0], case["custom"][1] + "x"))
    claims_mode, audience, skew = raw["clerk"]["claims"], case["audience"], raw["clerk"]["allowedSkew"]
    iat = int(time.time())
    token = clerk_token(issuer=issuer, user_id=user_id, claims_mode=claims_mode, audience=audience,
                        signing=signing, iat=iat)

    # Accepted at issue time, and at expiry as long as the skew covers it.
    assert send(config, token, iat) == Session(role="user", user_id=user_id)
    assert send(config, token, iat + LIFETIME + skew) == Session("user", user_id)

    def variant(**changes: Any) -> str:
        args = dict(issuer=issuer, user_id=user_id, claims_mode=claims_mode, audience=audience, signing=signing,
                    iat=iat) | changes
        return clerk_token(**args)

    assert rejected(config, variant(issuer="https://other-app-1.clerk.accounts.dev"), iat), "another issuer"
    assert rejected(config, variant(signing=forged), iat), "another key"
    assert rejected(config, token, iat + LIFETIME + skew + 1), "expired beyond the skew"
    if audience is not None:
        assert rejected(config, variant(audience="someone-else"), iat), "wrong audience"
        assert rejected(config, variant(audience=None), iat), "no audience when one is required"
