"""Verification keys: the single `key` of a `{"type","key"}` secret, or a `jwk_url` key set refreshed exactly as
hasura.md §4.4 describes."""

from __future__ import annotations

import threading
import time
from email.utils import parsedate_to_datetime
from typing import Callable, Mapping

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OctKey, OKPKey, RSAKey

from .errors import StartupError
from .jwt_config import JwtSecret, fatal_jwt_secret

_HMAC_ALGS = ("HS256", "HS384", "HS512")
_RSA_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_EC_ALGS_BY_CURVE = {"P-256": ("ES256",), "P-384": ("ES384",), "P-521": ("ES512",)}
_EDDSA_ALGS = ("EdDSA", "Ed25519")


def _key_from_config(key_type: str, key: str):
    """The single key of a `{"type","key"}` secret (§4.1): HMAC secret, or PEM public key / X.509 certificate."""
    try:
        if key_type.startswith("HS"):
            return OctKey.import_key(key.encode())
        pem = _public_pem(key)
        if key_type.startswith("RS"):
            return RSAKey.import_key(pem)
        if key_type.startswith("ES"):
            return ECKey.import_key(pem)
        return OKPKey.import_key(pem)
    except (ValueError, JoseError, TypeError) as exc:
        raise fatal_jwt_secret(f"Could not decode PEM: {exc}") from None


def _public_pem(key: str) -> bytes:
    if "BEGIN CERTIFICATE" in key:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        cert = x509.load_pem_x509_certificate(key.encode())
        return cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return key.encode()


def usable_algorithms(key) -> tuple[str, ...]:
    """Algorithms jose would try with this key: by key type, narrowed by the JWK's own `alg`; none for `use: enc`."""
    if key.get("use") == "enc":
        return ()
    if isinstance(key, OctKey):
        algs = _HMAC_ALGS
    elif isinstance(key, RSAKey):
        algs = _RSA_ALGS
    elif isinstance(key, ECKey):
        algs = _EC_ALGS_BY_CURVE.get(key.curve_name, ())
    elif isinstance(key, OKPKey) and key.curve_name == "Ed25519":
        algs = _EDDSA_ALGS
    else:
        algs = ()
    declared = key.alg
    if declared:
        algs = tuple(a for a in algs if a == declared)
    return algs


class StaticKeys:
    """Key store for `{"type","key"}`: one key, loaded at startup."""

    def __init__(self, secret: JwtSecret):
        self._keys = [_key_from_config(secret.key_type, secret.key)]

    def current(self) -> list:
        return list(self._keys)

    def close(self) -> None:
        pass


def jwk_expiry_lifetime(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds until the JWK set must be refetched, from response headers (§4.4 `determineJwkExpiryLifetime`).

    `Cache-Control` first: `must-revalidate` → max-age (or immediately), `no-cache`/`no-store` → immediately,
    else `max-age`/`s-maxage`; fallback `Expires`; nothing usable → None (never refreshed again).
    """
    now = time.time() if now is None else now
    directives: dict[str, str | None] = {}
    for part in (headers.get("cache-control") or "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            directives[name.lower()] = value.strip('"') or None

    def seconds(name: str) -> float | None:
        value = directives.get(name)
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    if "must-revalidate" in directives:
        return seconds("max-age") or 0.0
    if "no-cache" in directives or "no-store" in directives:
        return 0.0
    for name in ("max-age", "s-maxage"):
        if seconds(name) is not None:
            return seconds(name)
    expires = headers.get("expires")
    if expires:
        try:
            return max(0.0, parsedate_to_datetime(expires).timestamp() - now)
        except (TypeError, ValueError):
            return None
    return None


class JwkUrlKeys:
    """Key store for `jwk_url`, refreshed exactly as §4.4 describes.

    - start: fetch once; failure is fatal (StartupError with Hasura's message); the result is DISCARDED and the key
      set starts empty;
    - a background thread runs `update; sleep 1s` forever: empty key set → fetch; known expiry passed → fetch;
      fetch errors are swallowed; no expiry headers → never fetched again;
    - no refetch on unknown `kid` or failed signature.
    """

    def __init__(self, url: str, *, refresh_interval: float = 1.0, on_fetch: Callable[[], None] | None = None):
        self.url = url
        self._keys: list = []
        self._expires_at: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._interval = refresh_interval
        self._on_fetch = on_fetch or (lambda: None)
        self._http = httpx.Client(timeout=5.0)
        self._fetch_or_fail()  # fatal when unreachable; result discarded like Hasura's mkJwtCtx
        self._thread = threading.Thread(target=self._refresh_loop, name=f"jwk-refresh {url}", daemon=True)
        self._thread.start()

    def current(self) -> list:
        with self._lock:
            return list(self._keys)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._http.close()

    def _fetch(self) -> tuple[list, float | None]:
        self._on_fetch()
        response = self._http.get(self.url)
        if not 200 <= response.status_code < 300:
            raise StartupError(f"Non-2xx response on fetching JWK from: {self.url}")
        try:
            keys = KeySet.import_key_set(response.json()).keys
        except (ValueError, JoseError, KeyError, TypeError):
            raise StartupError(f"Error parsing JWK from url: {self.url}") from None
        return keys, jwk_expiry_lifetime(response.headers)

    def _fetch_or_fail(self) -> None:
        try:
            self._fetch()
        except httpx.HTTPError as exc:
            self._http.close()
            raise StartupError(f"Error fetching JWK: {type(exc).__name__} {exc}") from None
        except StartupError:
            self._http.close()
            raise

    def _refresh_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                due = not self._keys or (self._expires_at is not None and time.time() >= self._expires_at)
            if due:
                try:
                    keys, lifetime = self._fetch()
                except (httpx.HTTPError, StartupError):
                    pass  # swallowed; retried next second (§4.4)
                else:
                    with self._lock:
                        self._keys = keys
                        self._expires_at = None if lifetime is None else time.time() + lifetime
            self._stop.wait(self._interval)
