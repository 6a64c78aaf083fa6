"""From Clerk settings to the exact `HASURA_GRAPHQL_JWT_SECRET` Hasura is started with.

`jwt_secret_config` is pure and deterministic (same settings, same bytes). `resolve_jwt_secret`
validates the settings that only make sense together, then reaches the JWKS: in `url` mode as a
preflight (Hasura exits at start when it cannot fetch it), in `pinned` mode to embed its RS256 key.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from components.auth.jwks import fetch_jwks, require_rs256_key, rs256_public_pem
from components.config.settings import ClerkSettings, SettingsError, SharedSettings
from components.config.urls import is_plain_http_off_machine

HASURA_CLAIMS_NAMESPACE = "https://hasura.io/jwt/claims"
SESSION_COOKIE = "__session"
DEFAULT_SIGNING_ALGORITHM = "HS256"

#: Shortest HMAC key accepted per algorithm. Hasura rejects HS256 keys under 32 characters; for HS384
#: and HS512 we apply the same rule RFC 7518 §3.2 states for all three: a key at least as long as the
#: hash output (48 and 64 bytes), since a shorter key weakens the MAC below its nominal strength.
MIN_HMAC_KEY_LENGTH = {"HS256": 32, "HS384": 48, "HS512": 64}
MIN_RSA_KEY_BITS = 2048
EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_PUBLISHABLE_KEY_PREFIXES = ("pk_test_", "pk_live_")


@dataclass(frozen=True)
class JwtSecret:
    """What Hasura is told to trust, and where it came from."""

    value: str = field(repr=False)
    """The `HASURA_GRAPHQL_JWT_SECRET` JSON; kept out of repr since it may hold a key."""
    jwks_url: str | None
    """Where Clerk's keys live; None with a custom signing key."""
    issuer: str | None
    """The `iss` Hasura requires; None when no Clerk host is known."""
    holds_key: bool
    """True when `value` embeds a key, so it must be handled as a secret."""
    frontend_api: str | None
    """The Clerk Frontend API host."""


def frontend_api_from_publishable_key(publishable_key: str) -> str:
    """The Frontend API host encoded in a Clerk publishable key (clerk.md §3.4); ValueError if malformed."""
    key = publishable_key.strip()
    if key.startswith(("sk_test_", "sk_live_")):
        raise ValueError("is a Clerk secret key, not a publishable key. Fix: put the `pk_test_…`/`pk_live_…` key "
                         "here and store the secret key with `clerk-hasura pulumi --stack <stack> config set --secret "
                         "clerkSecretKey`")
    if not key.startswith(_PUBLISHABLE_KEY_PREFIXES):
        raise ValueError("must start with `pk_test_` or `pk_live_`. Fix: copy the publishable key from the Clerk "
                         "dashboard (API keys page)")
    payload = key.split("_", 2)[2]
    try:
        decoded = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("does not decode (its part after `pk_test_`/`pk_live_` is not base64). Fix: copy the "
                         "whole publishable key from the Clerk dashboard") from None
    if not decoded.endswith("$"):
        raise ValueError("does not decode to a Frontend API host ending in `$`. Fix: copy the whole publishable "
                         "key from the Clerk dashboard")
    host = decoded[:-1]
    if not _HOSTNAME.match(host):
        raise ValueError("decodes to something that is not a host name. Fix: copy the whole publishable key from "
                         "the Clerk dashboard")
    return host


def normalize_frontend_api(value: str) -> str:
    """The bare host of a Frontend API setting. Surrounding spaces, `https://`, upper case and one trailing
    slash are harmless and dropped; anything else that is not a host is a ValueError."""
    text = value.strip()
    lowered = text.lower()
    if "://" in lowered and not lowered.startswith("https://"):
        raise ValueError(f"{value!r} has scheme {text.split('://')[0]!r}; Clerk's Frontend API is served over "
                         "https only. Fix: give just the host, e.g. happy-hippo-12.clerk.accounts.dev")
    host = lowered.removeprefix("https://").removesuffix("/")
    if "/" in host or "?" in host or "#" in host:
        raise ValueError(f"{value!r} has a path. Fix: give just the host, e.g. happy-hippo-12.clerk.accounts.dev")
    if not _HOSTNAME.match(host):
        raise ValueError(f"{value!r} is not a host name. Fix: give the Frontend API host from the Clerk dashboard, "
                         "e.g. happy-hippo-12.clerk.accounts.dev")
    return host


def check_jwks_url(value: str) -> str:
    """A JWKS URL override: https, or plain http only to this machine (a local test server)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or is_plain_http_off_machine(parts):
        raise ValueError(f"{value!r} must be an https URL (plain http only for localhost). Fix: leave it unset to use "
                         "https://<frontend-api>/.well-known/jwks.json")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials. Fix: remove the user:password@ part")
    return value.strip()


def check_signing_key(key: str, algorithm: str) -> str | None:
    """Why `key` cannot verify `algorithm` tokens in Hasura, or None. Never quotes the key."""
    is_pem = "-----BEGIN" in key
    if algorithm.startswith("HS"):
        if is_pem:
            return (f"is a PEM key but clerk.signingAlgorithm is {algorithm}. Fix: set clerk.signingAlgorithm to the "
                    "key's algorithm (RS256, ES256, …), or use the HMAC secret")
        minimum = MIN_HMAC_KEY_LENGTH[algorithm]
        if len(key) < minimum:
            return (f"is {len(key)} characters; {algorithm} needs at least {minimum}. Fix: generate a longer secret "
                    f"in Clerk's custom signing key settings (e.g. `openssl rand -hex {minimum}`)")
        return None
    if "PRIVATE KEY" in key:
        return ("is a private key; Hasura verifies with the public key and must never hold the private one. Fix: "
                "store the public half (`openssl pkey -in key.pem -pubout`)")
    if not is_pem:
        return (f"is not a PEM public key, which {algorithm} needs. Fix: store the PEM (-----BEGIN PUBLIC KEY-----…), "
                "or set clerk.signingAlgorithm to HS256 for an HMAC secret")
    public_key = _load_public_key(key.strip().encode())
    if public_key is None:
        return "does not parse as a PEM public key or certificate. Fix: store the complete PEM, line breaks included"
    expected = _key_fits(public_key, algorithm)
    return None if expected is None else f"does not fit {algorithm}: {expected}. Fix: store the matching public key " \
                                         "or set clerk.signingAlgorithm to the key's algorithm"


def _load_public_key(pem: bytes) -> Any:
    try:
        return serialization.load_pem_public_key(pem)
    except ValueError:
        pass
    try:
        return x509.load_pem_x509_certificate(pem).public_key()
    except ValueError:
        return None


def _key_fits(public_key: Any, algorithm: str) -> str | None:
    if algorithm.startswith("RS"):
        if not isinstance(public_key, rsa.RSAPublicKey):
            return f"it is a {_kind(public_key)} key, not RSA"
        if public_key.key_size < MIN_RSA_KEY_BITS:
            return f"the RSA key has {public_key.key_size} bits, fewer than {MIN_RSA_KEY_BITS}"
        return None
    if algorithm in EC_CURVES:
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            return f"it is a {_kind(public_key)} key, not EC"
        if public_key.curve.name != EC_CURVES[algorithm]:
            return f"the EC key is on curve {public_key.curve.name}, {algorithm} needs {EC_CURVES[algorithm]}"
        return None
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        return f"it is a {_kind(public_key)} key, not Ed25519"
    return None


def _kind(public_key: Any) -> str:
    return {rsa.RSAPublicKey: "RSA", ec.EllipticCurvePublicKey: "EC", ed25519.Ed25519PublicKey: "Ed25519"}.get(
        next((t for t in (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)
              if isinstance(public_key, t)), None), type(public_key).__name__)


def resolve_frontend_api(clerk: ClerkSettings, problems: list[str]) -> str | None:
    """The Frontend API host from `publishableKey` and/or `frontendApi`; appends problems as it goes."""
    from_key = from_setting = None
    if clerk.publishable_key is not None:
        try:
            from_key = frontend_api_from_publishable_key(clerk.publishable_key)
        except ValueError as error:
            problems.append(f"clerk.publishableKey: {error}")
    if clerk.frontend_api is not None:
        try:
            from_setting = normalize_frontend_api(clerk.frontend_api)
        except ValueError as error:
            problems.append(f"clerk.frontendApi: {error}")
    if from_key and from_setting and from_key != from_setting:
        problems.append(f"clerk.frontendApi: {from_setting!r} disagrees with clerk.publishableKey, which encodes "
                        f"{from_key!r}. Fix: remove clerk.frontendApi (the key is enough) or correct one of them")
    return from_key or from_setting


def _inspect_clerk(settings: SharedSettings) -> tuple[str | None, str | None, list[str]]:
    """(frontend API host, JWKS URL, problems) of the Clerk settings, checked against each other."""
    clerk = settings.clerk
    problems: list[str] = []
    host = resolve_frontend_api(clerk, problems)
    signing_key = settings.clerk_signing_key.get_secret_value() if settings.clerk_signing_key else None
    if signing_key is not None:
        reason = check_signing_key(signing_key, clerk.signing_algorithm or DEFAULT_SIGNING_ALGORITHM)
        if reason:
            problems.append(f"clerkSigningKey: {reason}")
        if clerk.jwks == "pinned":
            problems.append("clerk.jwks: `pinned` embeds Clerk's instance key, but clerkSigningKey is set, so tokens "
                            "are verified with that key instead. Fix: remove one of the two")
        if clerk.jwks_url is not None:
            problems.append("clerk.jwksUrl: Hasura would never read it: clerkSigningKey is set, so tokens are verified "
                            "with that key instead. Fix: remove one of the two (`clerk-hasura pulumi --stack <stack> "
                            "config rm --path "
                            "clerk.jwksUrl`, or `clerk-hasura pulumi --stack <stack> config rm clerkSigningKey` to "
                            "verify with the JWKS)")
    else:
        if clerk.signing_algorithm is not None:
            problems.append("clerk.signingAlgorithm: only applies to a custom signing key, and clerkSigningKey is not "
                            "set. Fix: `clerk-hasura pulumi --stack <stack> config set --secret clerkSigningKey …`, or "
                            "remove the setting")
        if host is None and clerk.publishable_key is None and clerk.frontend_api is None:
            problems.append("clerk.publishableKey: not set, and neither is clerk.frontendApi nor clerkSigningKey, so "
                            "there is no Clerk instance to trust. Fix: `clerk-hasura pulumi --stack <stack> config set "
                            "--path clerk.publishableKey "
                            "pk_test_…` (from the Clerk dashboard's API keys page)")
    jwks_url = None
    if clerk.jwks_url is not None:
        try:
            jwks_url = check_jwks_url(clerk.jwks_url)
        except ValueError as error:
            problems.append(f"clerk.jwksUrl: {error}")
    elif host is not None:
        jwks_url = f"https://{host}/.well-known/jwks.json"
    return host, jwks_url, problems


def clerk_problems(settings: SharedSettings) -> list[str]:
    """What is wrong with the Clerk settings taken together; each problem names its key."""
    return _inspect_clerk(settings)[2]


def validate_clerk(settings: SharedSettings) -> tuple[str | None, str | None]:
    """(frontend API host, JWKS URL) of valid Clerk settings, or `SettingsError`."""
    host, jwks_url, problems = _inspect_clerk(settings)
    if problems:
        raise SettingsError(problems)
    return host, jwks_url


def jwt_secret_config(
    clerk: ClerkSettings,
    *,
    host: str | None,
    jwks_url: str | None,
    signing_key: str | None,
    pinned_pem: str | None = None,
) -> dict[str, Any]:
    """The `HASURA_GRAPHQL_JWT_SECRET` object for already validated settings (hasura.md §4.1)."""
    config: dict[str, Any]
    if signing_key is not None:
        config = {"type": clerk.signing_algorithm or DEFAULT_SIGNING_ALGORITHM, "key": signing_key}
    elif pinned_pem is not None:
        config = {"type": "RS256", "key": pinned_pem}
    else:
        config = {"jwk_url": jwks_url}
    if host is not None:
        config["issuer"] = f"https://{host}"
    if clerk.audience is not None:
        config["audience"] = clerk.audience
    config["allowed_skew"] = clerk.allowed_skew
    if clerk.claims == "session":
        config["claims_map"] = {
            "x-hasura-allowed-roles": ["user"],
            "x-hasura-default-role": "user",
            "x-hasura-user-id": {"path": "$.sub"},
        }
    else:
        config["claims_namespace"] = HASURA_CLAIMS_NAMESPACE
    if clerk.cookie:
        config["header"] = {"type": "Cookie", "name": SESSION_COOKIE}
    return config


def render_jwt_secret(config: dict[str, Any]) -> str:
    """Canonical JSON: sorted keys, no spaces, so the same settings always give the same bytes."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def resolve_jwt_secret(settings: SharedSettings) -> JwtSecret:
    """Validate the Clerk settings, reach the JWKS when Hasura will depend on it, and build the secret."""
    host, jwks_url = validate_clerk(settings)
    clerk = settings.clerk
    signing_key = settings.clerk_signing_key.get_secret_value() if settings.clerk_signing_key else None
    pinned_pem = None
    if signing_key is None and jwks_url is not None:
        setting = "clerk.jwksUrl" if clerk.jwks_url else ("clerk.publishableKey" if clerk.publishable_key
                                                          else "clerk.frontendApi")
        keys = require_rs256_key(fetch_jwks(jwks_url, setting=setting), jwks_url, setting=setting)
        if clerk.jwks == "pinned":
            if len(keys) > 1:
                kids = ", ".join(str(k.get("kid")) for k in keys)
                raise SettingsError([f"clerk.jwks: `pinned` can embed one key, but the JWKS at {jwks_url} has "
                                     f"{len(keys)} RS256 keys ({kids}), as during a key rotation. Fix: use "
                                     "`url` so Hasura follows the JWKS, or pin again after the rotation"])
            pinned_pem = rs256_public_pem(keys[0])
    config = jwt_secret_config(clerk, host=host, jwks_url=jwks_url, signing_key=signing_key, pinned_pem=pinned_pem)
    return JwtSecret(
        value=render_jwt_secret(config),
        jwks_url=None if signing_key is not None else jwks_url,
        issuer=config.get("issuer"),
        holds_key="key" in config,
        frontend_api=host,
    )
