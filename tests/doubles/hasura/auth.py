"""Authentication as Hasura v2 does it: admin secret, JWT mode, unauthorized role (hasura.md §1.2, §4).

JWTs are verified with joserfc, deliberately a different library from the product's pyjwt, so one library's
mistake is not mirrored in both. Claim validation (exp/iat/nbf/iss/aud with `allowed_skew`) follows the Haskell
`jose` library Hasura uses, in its order: exp, iat, nbf, iss, aud.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
import warnings
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any, Callable, Mapping

import httpx
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OctKey, OKPKey, RSAKey
from joserfc.util import urlsafe_b64decode

from .errors import HasuraError, StartupError

DEFAULT_CLAIMS_NAMESPACE = "https://hasura.io/jwt/claims"
ADMIN_ROLE = "admin"

_HMAC_ALGS = ("HS256", "HS384", "HS512")
_RSA_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_EC_ALGS_BY_CURVE = {"P-256": ("ES256",), "P-384": ("ES384",), "P-521": ("ES512",)}
_EDDSA_ALGS = ("EdDSA", "Ed25519")
_SUPPORTED_KEY_TYPES = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "Ed25519", "ES256", "ES384", "ES512")


# ---------------------------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """Who a request runs as: role plus `x-hasura-*` session variables (names lower-cased)."""

    role: str
    variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN_ROLE

    def variable(self, name: str) -> str:
        """Session variable lookup, case-insensitive (§1.9); missing → `not-found` as Hasura reports it."""
        key = name.lower()
        if key not in self.variables:
            raise HasuraError("not-found", f'missing session variable: "{key}"', status=400)
        return self.variables[key]


def session_variables_from_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items() if name.lower().startswith("x-hasura-")}


# ---------------------------------------------------------------------------------------------------------------
# HASURA_GRAPHQL_JWT_SECRET
# ---------------------------------------------------------------------------------------------------------------


def _fatal_jwt_secret(reason: str) -> StartupError:
    return StartupError(f"Fatal Error:- Environment variable HASURA_GRAPHQL_JWT_SECRET: Error in $: {reason}")


@dataclass(frozen=True)
class JwtSecret:
    """Parsed `HASURA_GRAPHQL_JWT_SECRET` (hasura.md §4.1)."""

    key_type: str | None
    key: str | None
    jwk_url: str | None
    claims_namespace: str
    claims_namespace_path: str | None
    claims_format: str
    claims_map: dict[str, Any] | None
    audience: tuple[str, ...] | None
    issuer: str | None
    allowed_skew: float
    header_type: str
    header_name: str | None

    @classmethod
    def parse(cls, text: str) -> "JwtSecret":
        """Parse the JSON string exactly as the env var is given; malformed config is fatal at startup (§3.2)."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _fatal_jwt_secret(f"Failed reading: {exc.msg}") from None
        if not isinstance(raw, dict):
            raise _fatal_jwt_secret(f"expected Object, but encountered {_aeson_type(raw)}")
        key, jwk_url = raw.get("key"), raw.get("jwk_url")
        if key is None and jwk_url is None:
            raise _fatal_jwt_secret("key and jwk_url both cannot be empty")
        if key is not None and jwk_url is not None:
            raise _fatal_jwt_secret("key, jwk_url both cannot be present")
        key_type = raw.get("type")
        if key is not None:
            if key_type not in _SUPPORTED_KEY_TYPES:
                raise _fatal_jwt_secret(f"Invalid JWK: Key type: {key_type} is not supported")
            if key_type.startswith("HS") and len(key) < 32:
                raise _fatal_jwt_secret("Key size too small; should be atleast 32 characters")
        if "claims_namespace" in raw and "claims_namespace_path" in raw:
            raise _fatal_jwt_secret("claims_namespace and claims_namespace_path both cannot be set")
        claims_format = raw.get("claims_format", "json")
        if claims_format not in ("json", "stringified_json"):
            raise _fatal_jwt_secret(f"unexpected claims_format: {claims_format}")
        audience = raw.get("audience")
        if isinstance(audience, str):
            audience = (audience,)
        elif audience is not None:
            audience = tuple(audience)
        header = raw.get("header") or {"type": "Authorization"}
        header_type = header.get("type")
        if header_type not in ("Authorization", "Cookie", "CustomHeader"):
            raise _fatal_jwt_secret(f"unexpected header type: {header_type}")
        if header_type != "Authorization" and not header.get("name"):
            raise _fatal_jwt_secret('key "name" not found')
        return cls(
            key_type=key_type if key is not None else None,
            key=key,
            jwk_url=jwk_url,
            claims_namespace=raw.get("claims_namespace", DEFAULT_CLAIMS_NAMESPACE),
            claims_namespace_path=raw.get("claims_namespace_path"),
            claims_format=claims_format,
            claims_map=raw.get("claims_map"),
            audience=audience,
            issuer=raw.get("issuer"),
            allowed_skew=float(raw.get("allowed_skew") or 0),
            header_type=header_type,
            header_name=header.get("name"),
        )


def _aeson_type(value: Any) -> str:
    """Type names as Haskell's aeson spells them in parse errors."""
    if isinstance(value, bool):
        return "Boolean"
    if value is None:
        return "Null"
    if isinstance(value, (int, float)):
        return "Number"
    return {str: "String", list: "Array", dict: "Object"}[type(value)]


# ---------------------------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------------------------


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
        raise _fatal_jwt_secret(f"Could not decode PEM: {exc}") from None


def _public_pem(key: str) -> bytes:
    if "BEGIN CERTIFICATE" in key:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        cert = x509.load_pem_x509_certificate(key.encode())
        return cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return key.encode()


def _usable_algorithms(key) -> tuple[str, ...]:
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


# ---------------------------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------------------------


def _invalid_jwt(reason: str) -> HasuraError:
    return HasuraError("invalid-jwt", f"Could not verify JWT: {reason}", status=400)


def _invalid_claims(message: str) -> HasuraError:
    return HasuraError("jwt-invalid-claims", message, status=400)


def _decode_segment(segment: str) -> Any:
    return json.loads(urlsafe_b64decode(segment.encode()))


def decode_unverified(token: str) -> tuple[dict, dict]:
    """Header and claims of a compact JWS, with jose's CompactDecodeError wording for malformed tokens (§4.3)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise _invalid_jwt(f"JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got {len(parts)})")
    try:
        header = _decode_segment(parts[0])
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid_jwt(f"JWSError (CompactDecodeError {exc})") from None
    try:
        claims = _decode_segment(parts[1])
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid_jwt(f"JWTClaimsSetDecodeError {exc}") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _invalid_jwt("JWTClaimsSetDecodeError expected Object")
    return header, claims


def verify_signature(token: str, header: dict, keys: list) -> None:
    """jose semantics: candidate keys = matching kid (when both carry one) and usable for the token's alg.

    None usable → `JWSError NoUsableKeys`; all candidates fail → `JWSError JWSInvalidSignature`.
    """
    alg = header.get("alg")
    kid = header.get("kid")
    candidates = [
        key
        for key in keys
        if alg in _usable_algorithms(key) and (kid is None or key.kid is None or key.kid == kid)
    ]
    if not candidates:
        raise _invalid_jwt("JWSError NoUsableKeys")
    for key in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # joserfc warns about short HMAC keys and EdDSA naming
                jws.deserialize_compact(token, key, algorithms=[alg])
            return
        except JoseError:
            continue
    raise _invalid_jwt("JWSError JWSInvalidSignature")


def _numeric(claims: dict, name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid_jwt(f"JWTClaimsSetDecodeError invalid {name}")
    return float(value)


def validate_claims(claims: dict, secret: JwtSecret, now: float) -> None:
    """jose `validateClaimsSet` order: exp, iat, nbf, iss, aud — each with `allowed_skew` (§4.1, §4.3)."""
    skew = secret.allowed_skew
    exp = _numeric(claims, "exp")
    if exp is not None and now > exp + skew:
        raise _invalid_jwt("JWTExpired")
    iat = _numeric(claims, "iat")
    if iat is not None and iat > now + skew:
        raise _invalid_jwt("JWTIssuedAtFuture")
    nbf = _numeric(claims, "nbf")
    if nbf is not None and nbf > now + skew:
        raise _invalid_jwt("JWTNotYetValid")
    if secret.issuer is not None and "iss" in claims and claims["iss"] != secret.issuer:
        raise _invalid_jwt("JWTNotInIssuer")
    if secret.audience is not None:
        aud = claims.get("aud")
        token_audiences = [aud] if isinstance(aud, str) else list(aud or [])
        if not set(token_audiences) & set(secret.audience):
            raise _invalid_jwt("JWTNotInAudience")


_PATH_TOKEN = re.compile(r"""\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\[['"](.+?)['"]\]""")


def json_path_get(document: Any, path: str) -> tuple[bool, Any]:
    """Minimal JSONPath (`$.a.b`, `$['a.b']`, `$.a[0]`) as used by claims_namespace_path / claims_map."""
    if not path.startswith("$"):
        return False, None
    position, current = 1, document
    while position < len(path):
        match = _PATH_TOKEN.match(path, position)
        if not match:
            return False, None
        position = match.end()
        name, index, quoted = match.groups()
        if index is not None:
            if not isinstance(current, list) or int(index) >= len(current):
                return False, None
            current = current[int(index)]
        else:
            if not isinstance(current, dict) or (name or quoted) not in current:
                return False, None
            current = current[name or quoted]
    return True, current


def hasura_claims(claims: dict, secret: JwtSecret) -> dict[str, Any]:
    """The `x-hasura-*` claims object: from claims_map (wins over namespace, issue #7081) or the namespace (§4.1)."""
    if secret.claims_map is not None:
        mapped: dict[str, Any] = {}
        for name, spec in secret.claims_map.items():
            if isinstance(spec, dict) and "path" in spec:
                found, value = json_path_get(claims, spec["path"])
                if not found:
                    if "default" not in spec:
                        raise _invalid_claims(f"JWT claim from claims_map, {name} not found")
                    value = spec["default"]
                mapped[name] = value
            else:
                mapped[name] = spec
        return {k.lower(): v for k, v in mapped.items()}
    if secret.claims_namespace_path is not None:
        found, value = json_path_get(claims, secret.claims_namespace_path)
        if not found:
            raise _invalid_claims(f"claims not found at claims_namespace_path: '{secret.claims_namespace_path}'")
    else:
        if secret.claims_namespace not in claims:
            raise _invalid_claims(f"claims key: '{secret.claims_namespace}' not found")
        value = claims[secret.claims_namespace]
    if secret.claims_format == "stringified_json":
        if not isinstance(value, str):
            raise _invalid_claims("expecting a string when claims_format is stringified_json")
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise _invalid_claims(f"invalid json: {exc.msg}") from None
    if not isinstance(value, dict):
        raise _invalid_claims("expecting a json object when claims_format is json")
    return {k.lower(): v for k, v in value.items()}


def session_from_claims(hasura: dict[str, Any], requested_role: str | None) -> Session:
    """Role claims check then role selection (§4.1, §4.3)."""
    if "x-hasura-allowed-roles" not in hasura:
        raise HasuraError("jwt-missing-role-claims", "JWT claim does not contain x-hasura-allowed-roles")
    allowed = hasura["x-hasura-allowed-roles"]
    if not isinstance(allowed, list) or not all(isinstance(r, str) for r in allowed):
        encountered = _aeson_type(allowed) if not isinstance(allowed, list) else "non-String element"
        raise _invalid_claims(
            "invalid x-hasura-allowed-roles; should be a list of roles: parsing [] failed, "
            f"expected Array, but encountered {encountered}"
        )
    if "x-hasura-default-role" not in hasura:
        raise HasuraError("jwt-missing-role-claims", "JWT claim does not contain x-hasura-default-role")
    default = hasura["x-hasura-default-role"]
    if not isinstance(default, str):
        raise _invalid_claims(
            f"invalid x-hasura-default-role; should be a role: expected String, but encountered {_aeson_type(default)}"
        )
    role = requested_role if requested_role is not None else default
    if role not in allowed:
        raise HasuraError("access-denied", "Your requested role is not in allowed roles")
    variables = {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in hasura.items()
        if name.startswith("x-hasura-") and name not in ("x-hasura-allowed-roles", "x-hasura-default-role")
    }
    variables["x-hasura-role"] = role
    return Session(role=role, variables=variables)


# ---------------------------------------------------------------------------------------------------------------
# The request authenticator
# ---------------------------------------------------------------------------------------------------------------


class Authenticator:
    """`getUserInfoWithExpTime_` (§1.2): admin secret short-circuits; then JWT mode or admin-secret-only mode."""

    def __init__(
        self,
        *,
        admin_secret: str | None,
        jwt_secret: str | None,
        unauthorized_role: str | None,
        on_jwks_fetch: Callable[[], None] | None = None,
    ):
        if jwt_secret is not None and admin_secret is None:
            raise StartupError(
                "Fatal Error : --jwt-secret (HASURA_GRAPHQL_JWT_SECRET) requires --admin-secret "
                "(HASURA_GRAPHQL_ADMIN_SECRET) or  --access-key (HASURA_GRAPHQL_ACCESS_KEY) to be set"
            )
        if unauthorized_role is not None and admin_secret is None:
            raise StartupError(
                "Fatal Error: --unauthorized-role (HASURA_GRAPHQL_UNAUTHORIZED_ROLE) requires --admin-secret "
                "(HASURA_GRAPHQL_ADMIN_SECRET) or --access-key (HASURA_GRAPHQL_ACCESS_KEY) to be set"
            )
        self.admin_secret = admin_secret
        self.unauthorized_role = unauthorized_role
        self.jwt = JwtSecret.parse(jwt_secret) if jwt_secret is not None else None
        self.keys: StaticKeys | JwkUrlKeys | None = None
        if self.jwt is not None:
            if self.jwt.jwk_url is not None:
                self.keys = JwkUrlKeys(self.jwt.jwk_url, on_fetch=on_jwks_fetch)
            else:
                self.keys = StaticKeys(self.jwt)

    def close(self) -> None:
        if self.keys is not None:
            self.keys.close()

    def authenticate(self, headers: Mapping[str, str]) -> Session:
        """Session for a request; `headers` must be case-insensitive (http.server's Message is)."""
        sent_secret = headers.get("x-hasura-admin-secret") or headers.get("x-hasura-access-key")
        header_vars = session_variables_from_headers(headers)
        if sent_secret is not None and self.admin_secret is not None:
            if not hmac.compare_digest(sent_secret.encode(), self.admin_secret.encode()):
                raise HasuraError(
                    "access-denied", "invalid x-hasura-admin-secret/x-hasura-access-key", status=401
                )
            role = header_vars.get("x-hasura-role", ADMIN_ROLE)
            return Session(role=role, variables={**header_vars, "x-hasura-role": role})
        if self.admin_secret is None:  # no auth configured at all: everyone is admin
            role = header_vars.get("x-hasura-role", ADMIN_ROLE)
            return Session(role=role, variables={**header_vars, "x-hasura-role": role})
        if self.jwt is None:
            return self._without_authz(header_vars, missing="x-hasura-admin-secret/x-hasura-access-key")
        token = self._token_from_request(headers)
        if token is None:
            return self._without_authz(header_vars, missing=None)
        return self._process_jwt(token, header_vars.get("x-hasura-role"))

    def _without_authz(self, header_vars: dict[str, str], *, missing: str | None) -> Session:
        if self.unauthorized_role is None:
            if missing is not None:
                raise HasuraError("access-denied", f"{missing} required, but not found", status=401)
            raise HasuraError(
                "invalid-headers", "Missing 'Authorization' or 'Cookie' header in JWT authentication mode"
            )
        return Session(
            role=self.unauthorized_role, variables={**header_vars, "x-hasura-role": self.unauthorized_role}
        )

    def _token_from_request(self, headers: Mapping[str, str]) -> str | None:
        assert self.jwt is not None
        if self.jwt.header_type == "Authorization":
            value = headers.get("authorization")
            if value is None:
                return None
            words = value.split()
            if len(words) != 2 or words[0] != "Bearer":
                raise HasuraError("invalid-headers", "Malformed Authorization header")
            return words[1]
        if self.jwt.header_type == "Cookie":
            raw = headers.get("cookie")
            if raw is None:
                return None
            try:
                cookie = SimpleCookie(raw)
            except CookieError:
                raise HasuraError("invalid-headers", "Malformed Cookie header") from None
            morsel = cookie.get(self.jwt.header_name)
            return morsel.value if morsel is not None else None
        return headers.get(self.jwt.header_name)

    def _process_jwt(self, token: str, requested_role: str | None) -> Session:
        """§4.3 order: issuer match on the unverified token → signature → exp/iat/nbf/iss/aud → claims → role."""
        assert self.jwt is not None and self.keys is not None
        header, claims = decode_unverified(token)
        if self.jwt.issuer is not None and "iss" in claims and claims["iss"] != self.jwt.issuer:
            raise _invalid_jwt("JWTNotInIssuer")
        verify_signature(token, header, self.keys.current())
        validate_claims(claims, self.jwt, time.time())
        return session_from_claims(hasura_claims(claims, self.jwt), requested_role)
