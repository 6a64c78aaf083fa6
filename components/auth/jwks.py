"""Fetching Clerk's JWKS and finding the RS256 signing keys Hasura can use.

Hasura v2 fetches `jwk_url` once at start and exits when that fails (hasura.md §4.4), so the
deploy checks the JWKS first: in `url` mode as a preflight, in `pinned` mode to embed its key.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from components.errors import ClerkHasuraError

JWKS_TIMEOUT_SECONDS = 10.0


class JwksError(ClerkHasuraError):
    """The JWKS Hasura would trust is unreachable, malformed or holds no RS256 signing key."""


def fetch_jwks(url: str, *, setting: str, timeout: float = JWKS_TIMEOUT_SECONDS) -> dict[str, Any]:
    """GET the JWKS document at `url`; `setting` names the config key the URL came from, for errors."""
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as error:
        raise JwksError(
            f"{setting}: the JWKS at {url} could not be fetched ({type(error).__name__}: {error}). Hasura fetches it "
            "at start and exits when it cannot. Fix: check the key/host in the setting and that this machine "
            "reaches it"
        ) from None
    if response.status_code != 200:
        raise JwksError(
            f"{setting}: the JWKS at {url} answered HTTP {response.status_code}. Fix: check the Clerk "
            "publishable key or Frontend API host; the JWKS lives at https://<frontend-api>/.well-known/jwks.json"
        )
    try:
        document = response.json()
    except json.JSONDecodeError:
        raise JwksError(
            f"{setting}: the JWKS at {url} is not JSON (content-type {response.headers.get('content-type')!r}). "
            "Fix: point the setting at Clerk's Frontend API host, whose /.well-known/jwks.json serves the keys"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError(f"{setting}: the document at {url} is JSON but not a JWKS (no `keys` list). "
                        "Fix: point the setting at Clerk's Frontend API host")
    return document


def rs256_signing_keys(jwks: dict[str, Any]) -> list[dict[str, Any]]:
    """The keys of `jwks` that can verify Clerk's RS256 tokens (RSA, for signatures, RS256 or no alg)."""
    return [
        key for key in jwks["keys"]
        if isinstance(key, dict) and key.get("kty") == "RSA" and key.get("use", "sig") == "sig"
        and key.get("alg", "RS256") == "RS256" and key.get("n") and key.get("e")
    ]


def require_rs256_key(jwks: dict[str, Any], url: str, *, setting: str) -> list[dict[str, Any]]:
    """The RS256 signing keys of `jwks`, or a `JwksError` when there are none."""
    keys = rs256_signing_keys(jwks)
    if not keys:
        kinds = sorted({f"{k.get('kty')}/{k.get('alg')}" for k in jwks["keys"] if isinstance(k, dict)}) or ["none"]
        raise JwksError(
            f"{setting}: the JWKS at {url} has no RS256 signing key (found: {', '.join(kinds)}). Hasura would "
            "reject every Clerk token. Fix: use the Frontend API host of the Clerk instance that signs your tokens"
        )
    return keys


def rs256_public_pem(key: dict[str, Any]) -> str:
    """The PEM (SubjectPublicKeyInfo) of one RSA JWK, the form Hasura's `key` field takes."""
    parsed = RSAAlgorithm.from_jwk(json.dumps(key))
    public_key = parsed.public_key() if isinstance(parsed, rsa.RSAPrivateKey) else parsed
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
