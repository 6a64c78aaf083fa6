"""A test double of Clerk (one instance) served over real HTTP on 127.0.0.1.

It follows Clerk's documented behaviour as collected in /work/shared/reference/clerk.md (cited as "clerk.md §x" in
each handler). Where Clerk's behaviour is not documented, the double picks Clerk's documented error form and the
docstring says "unverified".

Frontend API and Backend API are both served at ``double.url`` (``http://127.0.0.1:PORT``), while tokens carry
``iss = double.issuer`` (the instance's Frontend API URL, e.g. ``https://happy-hippo-12.clerk.accounts.dev``), exactly
as a real instance whose FAPI host is not the URL we reach it on.

Served endpoints
    Frontend API (no auth)
        GET  /.well-known/jwks.json              clerk.md §3.1, §3.2 (cache headers switchable, §3.3)
        GET  /.well-known/openid-configuration   clerk.md §3.1
    Backend API (``Authorization: Bearer <secret_key>``; 401 bodies of clerk.md §2.1)
        GET    /v1/jwks
        GET    /v1/jwt_templates                 bare array; ``?paginated=true`` -> {"data": [...], "total_count": N}
        POST   /v1/jwt_templates
        GET    /v1/jwt_templates/{id}
        PATCH  /v1/jwt_templates/{id}            name and claims required
        DELETE /v1/jwt_templates/{id}
        GET    /v1/users                         ?email_address=..&external_id=..&user_id=..&username=..
        POST   /v1/users
        GET    /v1/users/{id}
        DELETE /v1/users/{id}
        GET    /v1/sessions                      ?user_id=..|client_id=..&status=..
        POST   /v1/sessions                      refused on a production instance
        GET    /v1/sessions/{id}
        POST   /v1/sessions/{id}/revoke
        POST   /v1/sessions/{id}/tokens          default session token (clerk.md §4)
        POST   /v1/sessions/{id}/tokens/{template}  template token (clerk.md §1.4, §2.3)

Python API (``ClerkDouble``)
    Construction: ``ClerkDouble(production=False, frontend_api_host=None, seed_templates=None)`` then
    ``.start(port=0)``; or ``with ClerkDouble() as clerk: ...``. ``seed_templates`` maps name -> claims (default: the ``hasura`` template
    with HASURA_TEMPLATE_CLAIMS, as a user who followed Clerk's Hasura guide has; pass ``{}`` for a fresh instance).
    Attributes: url, jwks_url (FAPI JWKS on the double), bapi_url (``url + "/v1"``), issuer, frontend_api_host, publishable_key, secret_key,
    instance_id (= ``kid`` of the current instance key; rotation changes it), private_key (cryptography RSA key;
    keys come from a per-process pool of 16, so any 16 consecutive instances/rotations have distinct keys),
    templates (name -> template as the API returns it), users (id -> user), sessions (id -> session),
    requests (Counter of (method, path template), e.g. ("POST", "/v1/sessions/{id}/tokens/{template}")),
    production (settable: decides whether POST /v1/sessions is refused; keys keep the prefix chosen at construction),
    clock (callable returning Unix seconds; replace it to mint at another time through the BAPI).
    State: create_template(name, claims, **fields), create_user(email_address=..., ...), create_session(user_id).
    Tokens: mint_template_token(user_id, template_name="hasura", *, now=None, lifetime=None, azp=None),
    mint_session_token(user_id, *, session_id=None, now=None, lifetime=60, azp=None), jwks(), public_key_pem().
    Faults and knobs: rotate_keys(keep_old=False), set_jwks_cache_headers({...}), rate_limit_next(n, retry_after=1),
    fail_next(n, status=500, path_prefix="/v1/", drop=False), reset_counts(), stop().

Run by hand (from the repository root):
    .venv/bin/python -m tests.doubles.clerk [--port 8765] [--frontend-api-host H] [--production]
It prints the URL, publishable key and secret key, and serves until Ctrl-C.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import socket
import string
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "HASURA_TEMPLATE_CLAIMS",
    "RESERVED_TEMPLATE_CLAIMS",
    "ClerkDouble",
    "publishable_key_for",
]

HASURA_TEMPLATE_CLAIMS: dict[str, Any] = {
    "https://hasura.io/jwt/claims": {
        "x-hasura-allowed-roles": ["user"],
        "x-hasura-default-role": "user",
        "x-hasura-user-id": "{{user.id}}",
    }
}
"""The built-in Hasura preset's claims (clerk.md §0.1, §1.1)."""

# clerk.md §1.4: the default claims "cannot be overridden by templates"; users also report `sid` and `fva` refused.
RESERVED_TEMPLATE_CLAIMS = frozenset({"azp", "exp", "iat", "iss", "jti", "nbf", "sub", "sid", "fva"})

TEMPLATE_DEFAULT_LIFETIME = 60  # clerk.md §1.2
TEMPLATE_DEFAULT_CLOCK_SKEW = 5  # clerk.md §1.2
LIFETIME_RANGE = (30, 315_360_000)  # clerk.md §1.2, also the range of expires_in_seconds (§0.5)
CLOCK_SKEW_RANGE = (0, 300)  # clerk.md §1.2
SESSION_TOKEN_LIFETIME = 60  # clerk.md §4
SESSION_TOKEN_NBF_SKEW = 10  # clerk.md §4: "a real session token has exp-iat=60 and iat-nbf=10"
LIST_DEFAULT_LIMIT = 10  # Clerk's shared `limit` query parameter: default 10, 1..500 (spec)
LIST_MAX_LIMIT = 500

_ID_ALPHABET = string.ascii_letters + string.digits
_ADJECTIVES = ("happy", "clean", "distinct", "united", "brave", "calm", "eager", "gentle")
_ANIMALS = ("hippo", "mayfly", "mosquito", "gorilla", "otter", "falcon", "badger", "lemur")


_KEY_POOL_SIZE = 16
_key_pool: list[rsa.RSAPrivateKey] = []
_key_pool_next = 0
_key_pool_lock = threading.Lock()


def _next_rsa_key() -> rsa.RSAPrivateKey:
    """An RSA-2048 key (Clerk's instance keys are RSA, clerk.md §3.2). Generating one takes ~50 ms, so the process
    keeps a pool of 16 and hands them out in turn: any 16 consecutive keys (instances and rotations) are distinct,
    which is what "a token from another instance" and "a rotated-out key" tests need."""
    global _key_pool_next
    with _key_pool_lock:
        if len(_key_pool) < _KEY_POOL_SIZE:
            _key_pool.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
            return _key_pool[-1]
        key = _key_pool[_key_pool_next]
        _key_pool_next = (_key_pool_next + 1) % _KEY_POOL_SIZE
        return key


def _clerk_id(prefix: str) -> str:
    """An id shaped like Clerk's: prefix, underscore, 27 base62 characters."""
    return f"{prefix}_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(27))


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def publishable_key_for(frontend_api_host: str, *, production: bool) -> str:
    """``pk_test_``/``pk_live_`` + unpadded base64 of ``host + '$'`` (clerk.md §3.4: real keys carry no padding)."""
    prefix = "pk_live_" if production else "pk_test_"
    return prefix + base64.b64encode(f"{frontend_api_host}$".encode()).decode().rstrip("=")


class ClerkAPIError(Exception):
    """An error answered in Clerk's body shape (clerk.md §2.1)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        long_message: str,
        *,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {long_message}")
        self.status = status
        self.code = code
        self.message = message
        self.long_message = long_message
        self.meta = meta
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "long_message": self.long_message, "code": self.code}
        if self.meta is not None:
            error["meta"] = self.meta
        return {"errors": [error], "clerk_trace_id": secrets.token_hex(16)}


def _param_missing(param: str) -> ClerkAPIError:
    """422 ``form_param_missing`` "<param> must be included." (Clerk BAPI errors index, FormMissingParameter)."""
    return ClerkAPIError(422, "form_param_missing", "is missing", f"{param} must be included.",
                         meta={"param_name": param})


def _param_invalid(param: str, long_message: str | None = None) -> ClerkAPIError:
    """422 ``form_param_value_invalid`` (Clerk BAPI errors index, FormValidationFailed)."""
    return ClerkAPIError(422, "form_param_value_invalid", "is invalid", long_message or f"{param} is invalid",
                         meta={"param_name": param})


def _param_type_invalid(param: str, type_name: str) -> ClerkAPIError:
    """422 ``form_param_type_invalid`` (Clerk BAPI errors index, FormInvalidTypeParameter)."""
    return ClerkAPIError(422, "form_param_type_invalid", "is invalid", f"`{param}` must be a `{type_name}`.",
                         meta={"param_name": param})


def _not_found(message: str, long_message: str) -> ClerkAPIError:
    return ClerkAPIError(404, "resource_not_found", message, long_message)


@dataclass
class _Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: Any
    raw_body: bytes

    def json(self) -> dict[str, Any]:
        """The JSON object body; an empty body is ``{}``. Anything else is 400 ``request_body_invalid``."""
        if not self.raw_body.strip():
            return {}
        try:
            body = json.loads(self.raw_body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ClerkAPIError(400, "request_body_invalid", "Request body invalid",
                                "The request body is invalid. Please consult the API documentation for more "
                                "information.")
        return body

    def query_one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass
class _Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    remaining: int
    path_prefix: str
    status: int = 500
    retry_after: int = 1
    drop: bool = False


def _now_ms(seconds: float) -> int:
    return int(seconds * 1000)


class ClerkDouble:
    """One Clerk instance (dev or production) with its Frontend and Backend API on 127.0.0.1. See the module doc."""

    def __init__(
        self,
        *,
        production: bool = False,
        frontend_api_host: str | None = None,
        seed_templates: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.production = production
        if frontend_api_host is None:
            frontend_api_host = (
                "clerk.example.com"
                if production
                else f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_ANIMALS)}-{secrets.randbelow(99) + 1}"
                ".clerk.accounts.dev"
            )
        self.frontend_api_host = frontend_api_host
        self.issuer = f"https://{frontend_api_host}"  # clerk.md §3.5: `iss` is the FAPI URL, no trailing slash
        self.publishable_key = publishable_key_for(frontend_api_host, production=production)
        self.secret_key = ("sk_live_" if production else "sk_test_") + "".join(
            secrets.choice(_ID_ALPHABET) for _ in range(42)
        )
        self.clock: Callable[[], float] = time.time
        self.templates: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.requests: Counter[tuple[str, str]] = Counter()
        self._signing_keys: dict[str, str] = {}  # template id -> write-only signing key (clerk.md §1.2)
        self._creation_order: dict[str, int] = {}  # template id -> sequence (ms timestamps can tie)
        self._keys: list[tuple[str, rsa.RSAPrivateKey]] = []  # published keys, current one first
        self._jwks_cache_headers: dict[str, str] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.rotate_keys()
        for name, claims in (
            {"hasura": HASURA_TEMPLATE_CLAIMS} if seed_templates is None else seed_templates
        ).items():
            self.create_template(name, claims)

    # ----------------------------------------------------------------------------------------------- lifecycle

    def start(self, port: int = 0) -> ClerkDouble:
        """Serve on 127.0.0.1:``port`` (default: a free ephemeral port) from a background thread."""
        handler = type("ClerkDoubleHandler", (_Handler,), {"double": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="clerk-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            # shutdown() waits for the serve loop's next poll; poke the socket so that happens at once.
            stopping = threading.Thread(target=self._server.shutdown)
            stopping.start()
            while stopping.is_alive():
                try:
                    socket.create_connection(self._server.server_address, timeout=1).close()
                except OSError:
                    pass
                stopping.join(0.01)
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ClerkDouble:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Clerk double is not running: call start() first")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def jwks_url(self) -> str:
        """The FAPI JWKS endpoint on the double (the real one is ``issuer + '/.well-known/jwks.json'``)."""
        return f"{self.url}/.well-known/jwks.json"

    @property
    def bapi_url(self) -> str:
        """Base URL of the Backend API on the double (the real one is ``https://api.clerk.com/v1``)."""
        return f"{self.url}/v1"

    # ------------------------------------------------------------------------------------------ keys and JWKS

    @property
    def instance_id(self) -> str:
        """The ``kid`` of the current instance key: Clerk uses the instance id (``ins_...``), clerk.md §0.2."""
        return self._keys[0][0]

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        return self._keys[0][1]

    def public_key_pem(self) -> str:
        """The "JWKS Public Key" PEM the dashboard shows (clerk.md §3.1) for the current key."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def rotate_keys(self, keep_old: bool = False) -> str:
        """Make a new instance key (new ``ins_...`` kid) and sign with it from now on. With ``keep_old`` the previous
        key stays published after the new one (overlap); otherwise the JWKS holds the new key only. Returns the new kid.
        """
        key = _next_rsa_key()
        with self._lock:
            kept = self._keys[:1] if keep_old else []
            self._keys = [(_clerk_id("ins"), key), *kept]
            return self._keys[0][0]

    def jwks(self) -> dict[str, Any]:
        """The JWKS document, shaped as clerk.md §3.2: ``{"keys":[{use,kty,kid,alg,n,e}]}``."""
        with self._lock:
            keys = list(self._keys)
        out = []
        for kid, key in keys:
            numbers = key.public_key().public_numbers()
            out.append({"use": "sig", "kty": "RSA", "kid": kid, "alg": "RS256",
                        "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)})
        return {"keys": out}

    def set_jwks_cache_headers(self, headers: dict[str, str]) -> None:
        """Headers sent with the JWKS (FAPI and BAPI). ``{}`` (the default) is Clerk's documented behaviour: nothing
        documented (clerk.md §3.3). E.g. ``{"Cache-Control": "max-age=60"}``, ``{"Cache-Control": "no-cache"}`` or
        ``{"Expires": email.utils.formatdate(t, usegmt=True)}``."""
        with self._lock:
            self._jwks_cache_headers = dict(headers)

    # ----------------------------------------------------------------------------------------- fault injection

    def rate_limit_next(self, n: int, retry_after: int = 1) -> None:
        """Answer the next ``n`` rate-limited BAPI requests with 429 and ``Retry-After: <retry_after>`` (clerk.md
        §2.6). ``GET /v1/jwks`` has no rate limit and the FAPI is not affected."""
        with self._lock:
            self._faults.append(_Fault(n, "/v1/", status=429, retry_after=retry_after))

    def fail_next(self, n: int, status: int = 500, path_prefix: str = "/v1/", *, drop: bool = False) -> None:
        """Answer the next ``n`` requests whose path starts with ``path_prefix`` (default: the BAPI; ``"/"`` for
        everything, ``"/.well-known/"`` for the FAPI JWKS) with ``status`` and Clerk's 500 body; with ``drop=True``,
        close the connection without answering instead."""
        if not 500 <= status <= 599:
            raise ValueError(f"fail_next status must be 5xx, got {status}")
        with self._lock:
            self._faults.append(_Fault(n, path_prefix, status=status, drop=drop))

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    def _take_fault(self, method: str, path: str, *, rate_limit: bool) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining <= 0 or not path.startswith(fault.path_prefix):
                    continue
                if (fault.status == 429) != rate_limit:
                    continue
                if rate_limit and method == "GET" and path == "/v1/jwks":
                    continue  # clerk.md §2.6: GET /v1/jwks has no rate limit
                fault.remaining -= 1
                self._faults = [f for f in self._faults if f.remaining > 0]
                return fault
        return None

    # ------------------------------------------------------------------------------------------ state helpers

    def create_template(self, name: str, claims: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """Create a template as ``POST /v1/jwt_templates`` would (same validation); returns the API object."""
        return self._create_template({"name": name, "claims": claims, **fields})

    def create_user(self, **fields: Any) -> dict[str, Any]:
        """Create a user as ``POST /v1/users`` would, e.g. ``create_user(email_address=["a+clerk_test@example.com"])``."""
        if isinstance(fields.get("email_address"), str):
            fields["email_address"] = [fields["email_address"]]
        return self._create_user(fields)

    def create_session(self, user_id: str) -> dict[str, Any]:
        """Create an active session for ``user_id`` directly (no production check: this is the test's own doing)."""
        with self._lock:
            if user_id not in self.users:
                raise KeyError(f"no user {user_id!r} in the Clerk double")
            now = self.clock()
            session = {
                "object": "session",
                "id": _clerk_id("sess"),
                "user_id": user_id,
                "client_id": _clerk_id("client"),
                "actor": None,
                "status": "active",
                "last_active_organization_id": None,
                "last_active_at": _now_ms(now),
                "expire_at": _now_ms(now + 7 * 86400),
                "abandon_at": _now_ms(now + 30 * 86400),
                "created_at": _now_ms(now),
                "updated_at": _now_ms(now),
            }
            self.sessions[session["id"]] = session
            return session

    # ---------------------------------------------------------------------------------------------- minting

    def mint_template_token(
        self,
        user_id: str,
        template_name: str = "hasura",
        *,
        now: float | None = None,
        lifetime: int | None = None,
        azp: str | None = None,
    ) -> str:
        """A token for ``template_name`` exactly as Clerk mints it (clerk.md §1.4). ``lifetime`` overrides the
        template's (like ``expires_in_seconds``). A ``user_id`` unknown to the double is allowed: shortcodes other
        than ``user.id`` then render as null."""
        with self._lock:
            template = self.templates.get(template_name)
            if template is None:
                raise KeyError(f"no JWT template named {template_name!r} in the Clerk double")
            user = self.users.get(user_id, {"id": user_id})
            return self._mint_template(template, user, now=now, lifetime=lifetime, azp=azp)

    def mint_session_token(
        self,
        user_id: str,
        *,
        session_id: str | None = None,
        now: float | None = None,
        lifetime: int = SESSION_TOKEN_LIFETIME,
        azp: str | None = None,
    ) -> str:
        """A default (v2) session token (clerk.md §4): azp?, exp = iat + 60, fva, iat, iss, jti, nbf = iat - 10, sid,
        sub, v = 2; no template claims (so no Hasura namespace)."""
        iat = int(self.clock() if now is None else now)
        claims: dict[str, Any] = {
            "exp": iat + lifetime,
            "fva": [0, -1],
            "iat": iat,
            "iss": self.issuer,
            "jti": secrets.token_hex(10),
            "nbf": iat - SESSION_TOKEN_NBF_SKEW,
            "sid": session_id or _clerk_id("sess"),
            "sub": user_id,
            "v": 2,
        }
        if azp:
            claims["azp"] = azp
        return self._sign_with_instance_key(claims)

    def _sign_with_instance_key(self, claims: dict[str, Any]) -> str:
        with self._lock:
            kid, key = self._keys[0]  # read together: a concurrent rotation must not pair one key with another's kid
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def _mint_template(
        self,
        template: dict[str, Any],
        user: dict[str, Any],
        *,
        now: float | None,
        lifetime: int | None,
        azp: str | None,
    ) -> str:
        """clerk.md §1.4: header {"alg":"RS256","kid":"ins_..","typ":"JWT"}; claims azp?, exp = iat + lifetime, iat,
        iss, jti, nbf = iat - allowed_clock_skew, sub, plus the rendered template claims (which cannot override the
        defaults). A custom signing key (clerk.md §1.2) signs with that key and algorithm, without a kid."""
        iat = int(self.clock() if now is None else now)
        context = _shortcode_context(user)
        claims: dict[str, Any] = _render(template["claims"], context)
        claims.update({
            "exp": iat + (template["lifetime"] if lifetime is None else lifetime),
            "iat": iat,
            "iss": self.issuer,
            "jti": secrets.token_hex(10),
            "nbf": iat - template["allowed_clock_skew"],
            "sub": user["id"],
        })
        if azp:
            claims["azp"] = azp
        if template["custom_signing_key"]:
            key = self._signing_keys[template["id"]]
            return jwt.encode(claims, key, algorithm=template["signing_algorithm"])
        return self._sign_with_instance_key(claims)

    # ----------------------------------------------------------------------------------- template validation

    def _validated_template_fields(self, body: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        """clerk.md §2.2: POST and PATCH take the same schema, ``name`` and ``claims`` required in both. Optional
        fields left out of a PATCH keep their current value (unverified: the spec does not say)."""
        name = body.get("name")
        if name is None or name == "":
            raise _param_missing("name")
        if not isinstance(name, str):
            raise _param_type_invalid("name", "string")
        if "claims" not in body or body["claims"] is None:
            raise _param_missing("claims")
        claims = body["claims"]
        if not isinstance(claims, dict):  # the spec types `claims` as an object (a JSON string is refused)
            raise _param_type_invalid("claims", "object")
        for claim in claims:
            if claim in RESERVED_TEMPLATE_CLAIMS:
                # clerk.md §1.4 and §6.5; Clerk BAPI errors index JWTTemplateReservedClaim
                raise ClerkAPIError(400, "jwt_template_reserved_claim", "reserved claim used",
                                    f"You can't use the reserved claim: '{claim}'", meta={"param_name": "claims"})

        def integer(param: str, default: int, bounds: tuple[int, int]) -> int:
            value = body.get(param)
            if value is None:
                return current[param] if current else default
            if isinstance(value, bool) or not isinstance(value, int):
                raise _param_type_invalid(param, "integer")
            if not bounds[0] <= value <= bounds[1]:
                raise _param_invalid(param, f"{param} must be between {bounds[0]} and {bounds[1]}")
            return value

        lifetime = integer("lifetime", TEMPLATE_DEFAULT_LIFETIME, LIFETIME_RANGE)
        skew = integer("allowed_clock_skew", TEMPLATE_DEFAULT_CLOCK_SKEW, CLOCK_SKEW_RANGE)

        custom = body.get("custom_signing_key")
        if custom is None:
            custom = current["custom_signing_key"] if current else False
        if not isinstance(custom, bool):
            raise _param_type_invalid("custom_signing_key", "boolean")
        algorithm = body.get("signing_algorithm")
        signing_key = body.get("signing_key")
        if custom:
            if algorithm is None and current and current["custom_signing_key"]:
                algorithm = current["signing_algorithm"]
            if signing_key is None and current:
                signing_key = self._signing_keys.get(current["id"])
            for param, value in (("signing_algorithm", algorithm), ("signing_key", signing_key)):
                if not value:
                    raise ClerkAPIError(422, "form_conditional_param_missing", "is missing",
                                        f"`{param}` is required when `custom_signing_key` is `true`.",
                                        meta={"param_name": param})
            if algorithm not in jwt.algorithms.get_default_algorithms() or algorithm == "none":
                raise _param_invalid("signing_algorithm")
            try:
                jwt.encode({}, signing_key, algorithm=algorithm)
            except Exception:  # the key does not fit the algorithm (e.g. an HMAC secret for RS256)
                raise _param_invalid("signing_key") from None
        else:
            algorithm, signing_key = "RS256", None
        return {"name": name, "claims": claims, "lifetime": lifetime, "allowed_clock_skew": skew,
                "custom_signing_key": custom, "signing_algorithm": algorithm, "signing_key": signing_key}

    def _check_name_free(self, name: str, template_id: str | None) -> None:
        """A template name is unique (clerk.md §1.2). Unverified form: Clerk's FormIdentifierExists, 422
        ``form_identifier_exists`` with ``meta.param_name``, as it answers for a taken email address or slug."""
        existing = self.templates.get(name)
        if existing is not None and existing["id"] != template_id:
            raise ClerkAPIError(422, "form_identifier_exists", "That name is taken. Please try another.",
                                "That name is taken. Please try another.", meta={"param_name": "name"})

    def _create_template(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            fields = self._validated_template_fields(body, None)
            self._check_name_free(fields["name"], None)
            now = _now_ms(self.clock())
            template = {"object": "jwt_template", "id": _clerk_id("jtmp"), "name": fields["name"],
                        "claims": fields["claims"], "lifetime": fields["lifetime"],
                        "allowed_clock_skew": fields["allowed_clock_skew"],
                        "custom_signing_key": fields["custom_signing_key"],
                        "signing_algorithm": fields["signing_algorithm"], "created_at": now, "updated_at": now}
            if fields["signing_key"]:
                self._signing_keys[template["id"]] = fields["signing_key"]
            self._creation_order[template["id"]] = len(self._creation_order)
            self.templates[template["name"]] = template
            return template

    def _template_by_id(self, template_id: str) -> dict[str, Any]:
        for template in self.templates.values():
            if template["id"] == template_id:
                return template
        # Clerk BAPI errors index JWTTemplateNotFound: "No JWT template exists with <attribute>: <val>"
        raise _not_found("JWT template not found", f"No JWT template exists with id: {template_id}")

    # --------------------------------------------------------------------------------------------- users

    def _create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        """clerk.md §2.4. Emails are created verified; a development instance requires an email address (the
        default "email address" sign-in setting)."""
        with self._lock:
            emails = body.get("email_address") or []
            if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
                raise _param_type_invalid("email_address", "array of strings")
            if not emails:
                raise ClerkAPIError(422, "form_data_missing", "missing data",
                                    '["email_address"] data doesn\'t match user requirements set for this instance',
                                    meta={"param_names": ["email_address"]})
            taken = {e["email_address"] for u in self.users.values() for e in u["email_addresses"]}
            normalized = []
            for email in emails:
                email = email.strip().lower()
                if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                    raise ClerkAPIError(422, "form_param_format_invalid", "is invalid",
                                        "email_address must be a valid email address.",
                                        meta={"param_name": "email_address"})
                if email in taken or email in normalized:
                    raise ClerkAPIError(422, "form_identifier_exists",
                                        "That email address is taken. Please try another.",
                                        "That email address is taken. Please try another.",
                                        meta={"param_name": "email_address"})
                normalized.append(email)
            password = body.get("password")
            if password is not None and (not isinstance(password, str) or len(password) < 8):
                raise ClerkAPIError(422, "form_password_length_too_short", "Passwords must be 8 characters or more.",
                                    "Passwords must be 8 characters or more.", meta={"param_name": "password"})
            for param in ("public_metadata", "private_metadata", "unsafe_metadata"):
                if body.get(param) is not None and not isinstance(body[param], dict):
                    raise _param_invalid(param)
            now = _now_ms(self.clock())
            user_id = _clerk_id("user")
            email_objects = [
                {"object": "email_address", "id": _clerk_id("idn"), "email_address": email,
                 "reserved": False, "linked_to": [], "created_at": now, "updated_at": now,
                 "verification": {"object": "verification_admin", "status": "verified", "strategy": "admin",
                                  "attempts": None, "expire_at": None}}
                for email in normalized
            ]
            user = {
                "object": "user",
                "id": user_id,
                "external_id": body.get("external_id"),
                "primary_email_address_id": email_objects[0]["id"],
                "primary_phone_number_id": None,
                "primary_web3_wallet_id": None,
                "username": body.get("username"),
                "first_name": body.get("first_name"),
                "last_name": body.get("last_name"),
                "image_url": "https://img.clerk.com/default-avatar",
                "has_image": False,
                "public_metadata": body.get("public_metadata") or {},
                "private_metadata": body.get("private_metadata") or {},
                "unsafe_metadata": body.get("unsafe_metadata") or {},
                "email_addresses": email_objects,
                "phone_numbers": [],
                "web3_wallets": [],
                "external_accounts": [],
                "password_enabled": password is not None,
                "two_factor_enabled": False,
                "totp_enabled": False,
                "backup_code_enabled": False,
                "banned": bool(body.get("banned", False)),
                "locked": False,
                "last_sign_in_at": None,
                "created_at": now,
                "updated_at": now,
                # Always present per Clerk's API reference (clerk/openapi-specs bapi/2025-11-10.yml, schema User,
                # `required`), with what a fresh admin-created user holds: no passkeys, SSO or MFA yet, never active.
                "passkeys": [],
                "saml_accounts": [],
                "enterprise_accounts": [],
                "mfa_enabled_at": None,
                "mfa_disabled_at": None,
                "lockout_expires_in_seconds": None,
                # Lockout is on by default: 10 failed attempts for instances created since 2026-07-06 (clerk.com/
                # docs/guides/protect/user-lockout); null only when lockout is disabled.
                "verification_attempts_remaining": 10,
                # CreateUser takes both (same spec, POST /users body); true when not given is unverified.
                "delete_self_enabled": body.get("delete_self_enabled", True),
                "create_organization_enabled": body.get("create_organization_enabled", True),
                "last_active_at": None,
                "legal_accepted_at": None,
            }
            self.users[user_id] = user
            return user

    # ------------------------------------------------------------------------------------ HTTP dispatching

    def _handle(self, method: str, raw_path: str, headers: Any, raw_body: bytes) -> _Response | None:
        """The response to one request, or None to drop the connection."""
        split = urlsplit(raw_path)
        path = split.path.rstrip("/") or "/"
        route = _match_route(method, path)
        with self._lock:
            self.requests[(method, route[1] if route else path)] += 1
        try:
            fault = self._take_fault(method, path, rate_limit=False)
            if fault is not None and fault.drop:
                return None
            if fault is not None:
                raise ClerkAPIError(fault.status, "internal_clerk_error", "Oops, an unexpected error occurred",
                                    "There was an internal error on our servers. We've been notified and are "
                                    "working on fixing it.")
            if path.startswith("/v1/") or path == "/v1":
                self._authenticate(headers)  # before the rate limit: Clerk limits per secret key (clerk.md §2.6)
            fault = self._take_fault(method, path, rate_limit=True)
            if fault is not None:
                # clerk.md §2.6: 429 with Retry-After (seconds). The body's code is unverified.
                raise ClerkAPIError(429, "too_many_requests", "Too many requests",
                                    "Too many requests, please try again later.",
                                    headers={"Retry-After": str(fault.retry_after)})
            if route is None:
                if _match_route(None, path):
                    raise ClerkAPIError(405, "method_not_allowed", "Method not allowed",
                                        f"{method} is not allowed on {path}")
                raise _not_found("not found", "Resource not found")
            handler, _template, params = route
            request = _Request(method, path, params, parse_qs(split.query), headers, raw_body)
            return handler(self, request)
        except ClerkAPIError as error:
            return _Response(error.status, error.body(), error.headers)

    def _authenticate(self, headers: Any) -> None:
        """clerk.md §2.1: ``Authorization: Bearer sk_...``; otherwise 401 ``authorization_header_format_invalid``
        (no or malformed header) or 401 ``clerk_key_invalid`` (wrong key). Texts: Clerk BAPI errors index."""
        value = headers.get("Authorization")
        scheme, _, token = (value or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ClerkAPIError(401, "authorization_header_format_invalid", "Invalid Authorization header format",
                                "Invalid Authorization header format. Must be 'Bearer <YOUR_API_KEY>'")
        if not secrets.compare_digest(token.strip().encode(), self.secret_key.encode()):
            message = "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct."
            raise ClerkAPIError(401, "clerk_key_invalid", message, message)

    # ------------------------------------------------------------------------------------------- handlers

    def _jwks_response(self) -> _Response:
        with self._lock:
            headers = dict(self._jwks_cache_headers)
        return _Response(200, self.jwks(), headers)

    def _get_fapi_jwks(self, request: _Request) -> _Response:
        """GET /.well-known/jwks.json: clerk.md §3.1 (no auth), shape §3.2, cache headers §3.3 (none by default)."""
        return self._jwks_response()

    def _get_openid_configuration(self, request: _Request) -> _Response:
        """GET /.well-known/openid-configuration: clerk.md §3.1 (``issuer``, ``jwks_uri`` on the FAPI host)."""
        return _Response(200, {"issuer": self.issuer, "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
                               "id_token_signing_alg_values_supported": ["RS256"]})

    def _get_bapi_jwks(self, request: _Request) -> _Response:
        """GET /v1/jwks: clerk.md §3.1 (Bearer secret key; the same JWKS), §2.6 (never rate limited)."""
        return self._jwks_response()

    def _list_templates(self, request: _Request) -> _Response:
        """GET /v1/jwt_templates: clerk.md §2.2, §0.6. A bare array; ``?paginated=true`` gives
        ``{"data": [...], "total_count": N}``, oldest first (order unverified). ``limit`` (default 10, max 500) and ``offset`` apply to both shapes
        (spec's shared pagination parameters; unverified for the bare array)."""
        paginated = _query_bool(request, "paginated")
        limit, offset = _pagination(request)
        with self._lock:
            everything = sorted(self.templates.values(), key=lambda t: self._creation_order[t["id"]])
            page = everything[offset:offset + limit]
            if paginated:
                return _Response(200, {"data": page, "total_count": len(everything)})
            return _Response(200, page)

    def _create_template_handler(self, request: _Request) -> _Response:
        """POST /v1/jwt_templates: clerk.md §2.2 (name and claims required; defaults lifetime 60, skew 5, §1.2;
        reserved claims 400 ``jwt_template_reserved_claim``, §1.4)."""
        return _Response(200, self._create_template(request.json()))

    def _get_template(self, request: _Request) -> _Response:
        """GET /v1/jwt_templates/{id}: clerk.md §2.2 (by id; 404 ``resource_not_found``)."""
        with self._lock:
            return _Response(200, self._template_by_id(request.params["id"]))

    def _update_template(self, request: _Request) -> _Response:
        """PATCH /v1/jwt_templates/{id}: clerk.md §2.2, §0.6 (``name`` and ``claims`` required, 422
        ``form_param_missing`` otherwise; reserved claims 400)."""
        body = request.json()
        with self._lock:
            current = self._template_by_id(request.params["id"])
            fields = self._validated_template_fields(body, current)
            self._check_name_free(fields["name"], current["id"])
            updated = {**current, "name": fields["name"], "claims": fields["claims"], "lifetime": fields["lifetime"],
                       "allowed_clock_skew": fields["allowed_clock_skew"],
                       "custom_signing_key": fields["custom_signing_key"],
                       "signing_algorithm": fields["signing_algorithm"],
                       "updated_at": max(_now_ms(self.clock()), current["updated_at"])}
            if fields["signing_key"]:
                self._signing_keys[current["id"]] = fields["signing_key"]
            else:
                self._signing_keys.pop(current["id"], None)
            del self.templates[current["name"]]
            self.templates[updated["name"]] = updated
            return _Response(200, updated)

    def _delete_template(self, request: _Request) -> _Response:
        """DELETE /v1/jwt_templates/{id}: clerk.md §2.2 (200 DeletedObject ``{"object","id","deleted":true}``)."""
        with self._lock:
            template = self._template_by_id(request.params["id"])
            del self.templates[template["name"]]
            self._signing_keys.pop(template["id"], None)
            return _Response(200, {"object": "jwt_template", "id": template["id"], "deleted": True})

    def _list_users(self, request: _Request) -> _Response:
        """GET /v1/users: clerk.md §2.4. A bare array filtered by ``email_address`` / ``external_id`` / ``user_id`` /
        ``username`` (each repeatable; a user matches any value of a given filter; emails case-insensitively);
        newest first (Clerk's default ``order_by=-created_at``); limit default 10."""
        limit, offset = _pagination(request)
        emails = {e.strip().lower() for e in request.query.get("email_address", [])}
        filters: list[Callable[[dict[str, Any]], bool]] = []
        if emails:
            filters.append(lambda u: any(e["email_address"] in emails for e in u["email_addresses"]))
        for param, attribute in (("external_id", "external_id"), ("user_id", "id"), ("username", "username")):
            wanted = set(request.query.get(param, []))
            if wanted:
                filters.append(lambda u, a=attribute, w=wanted: u[a] in w)
        with self._lock:
            users = [u for u in self.users.values() if all(f(u) for f in filters)]
        users.sort(key=lambda u: u["created_at"], reverse=True)
        return _Response(200, users[offset:offset + limit])

    def _create_user_handler(self, request: _Request) -> _Response:
        """POST /v1/users: clerk.md §2.4 (``email_address`` list; created verified; taken email 422
        ``form_identifier_exists``)."""
        return _Response(200, self._create_user(request.json()))

    def _get_user(self, request: _Request) -> _Response:
        """GET /v1/users/{id}: clerk.md §2.4; 404 per Clerk BAPI errors index UserNotFound."""
        with self._lock:
            return _Response(200, self._user(request.params["id"]))

    def _delete_user(self, request: _Request) -> _Response:
        """DELETE /v1/users/{id}: clerk.md §2.4 (cleanup). Deleting a user ends its sessions."""
        with self._lock:
            user = self._user(request.params["id"])
            del self.users[user["id"]]
            for session in self.sessions.values():
                if session["user_id"] == user["id"] and session["status"] == "active":
                    session["status"] = "removed"
            return _Response(200, {"object": "user", "id": user["id"], "deleted": True})

    def _user(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id)
        if user is None:
            raise _not_found("not found", f"No user was found with id {user_id}")
        return user

    def _list_sessions(self, request: _Request) -> _Response:
        """GET /v1/sessions: clerk.md §2.3 (``client_id`` or ``user_id`` required; optional ``status``)."""
        user_id, client_id = request.query_one("user_id"), request.query_one("client_id")
        if not user_id and not client_id:
            raise ClerkAPIError(400, "missing_query_parameter", "Missing query parameter",
                                "Either of the following query parameters must be provided: client_id, user_id.")
        status = request.query_one("status")
        limit, offset = _pagination(request)
        with self._lock:
            found = [s for s in self.sessions.values()
                     if (not user_id or s["user_id"] == user_id) and (not client_id or s["client_id"] == client_id)
                     and (not status or s["status"] == status)]
        found.sort(key=lambda s: s["created_at"], reverse=True)
        return _Response(200, found[offset:offset + limit])

    def _create_session_handler(self, request: _Request) -> _Response:
        """POST /v1/sessions: clerk.md §2.3, §0.5 ("intended only for use in testing, and is not available for
        production instances"). Refusal form: Clerk BAPI errors index InvalidRequestForEnvironment, 400
        ``request_invalid_for_environment`` (exact wording of the environment list unverified). An unknown user is
        404 UserNotFound (unverified)."""
        if self.production:
            raise ClerkAPIError(400, "request_invalid_for_environment", "Invalid request for environment",
                                "Request only valid for development, staging instances.")
        body = request.json()
        user_id = body.get("user_id")
        if not user_id:
            raise _param_missing("user_id")
        if not isinstance(user_id, str):
            raise _param_type_invalid("user_id", "string")
        with self._lock:
            self._user(user_id)
            return _Response(200, self.create_session(user_id))

    def _session(self, session_id: str, *, active: bool = False) -> dict[str, Any]:
        """Clerk BAPI errors index SessionNotFound: 404 "No session was found with id <id>". A session that is no
        longer active cannot mint tokens; the double answers that with the same 404 (unverified)."""
        session = self.sessions.get(session_id)
        if session is None or (active and session["status"] != "active"):
            raise _not_found("Session not found", f"No session was found with id {session_id}")
        return session

    def _get_session(self, request: _Request) -> _Response:
        """GET /v1/sessions/{id}: clerk.md §2.3."""
        with self._lock:
            return _Response(200, self._session(request.params["id"]))

    def _revoke_session(self, request: _Request) -> _Response:
        """POST /v1/sessions/{id}/revoke: clerk.md §2.3; answers the session with ``status: "revoked"``."""
        with self._lock:
            session = self._session(request.params["id"])
            session["status"] = "revoked"
            session["updated_at"] = _now_ms(self.clock())
            return _Response(200, session)

    def _expires_in_seconds(self, request: _Request) -> int | None:
        """clerk.md §0.5, §2.3: optional ``expires_in_seconds`` in 30..315360000."""
        value = request.json().get("expires_in_seconds")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _param_type_invalid("expires_in_seconds", "integer")
        if not LIFETIME_RANGE[0] <= value <= LIFETIME_RANGE[1]:
            raise _param_invalid("expires_in_seconds", f"expires_in_seconds must be between {LIFETIME_RANGE[0]} "
                                 f"and {LIFETIME_RANGE[1]}")
        return value

    def _create_session_token(self, request: _Request) -> _Response:
        """POST /v1/sessions/{id}/tokens: the default session token (clerk.md §2.3, §4)."""
        lifetime = self._expires_in_seconds(request)
        with self._lock:
            session = self._session(request.params["id"], active=True)
            token = self.mint_session_token(session["user_id"], session_id=session["id"],
                                            lifetime=lifetime or SESSION_TOKEN_LIFETIME)
        return _Response(200, {"object": "token", "jwt": token})

    def _create_template_token(self, request: _Request) -> _Response:
        """POST /v1/sessions/{id}/tokens/{template}: clerk.md §2.3, §0.5 (path param is the template *name*; 404 when
        the session or template does not exist; ``expires_in_seconds`` overrides the lifetime). Token per §1.4;
        minted server-side, so no ``azp``."""
        lifetime = self._expires_in_seconds(request)
        with self._lock:
            session = self._session(request.params["id"], active=True)
            template = self.templates.get(request.params["template"])
            if template is None:
                raise _not_found("JWT template not found",
                                 f"No JWT template exists with name: {request.params['template']}")
            user = self._user(session["user_id"])
            token = self._mint_template(template, user, now=None, lifetime=lifetime, azp=None)
        return _Response(200, {"object": "token", "jwt": token})


# ------------------------------------------------------------------------------------------------ shortcodes

_SHORTCODE = re.compile(r"\{\{(.*?)\}\}", re.S)


def _shortcode_context(user: dict[str, Any]) -> dict[str, Any]:
    """Values for the dashboard's shortcodes (clerk.md §1.3) from a user object; missing ones render null."""
    emails = user.get("email_addresses") or []
    primary = next((e for e in emails if e["id"] == user.get("primary_email_address_id")), None)
    first, last = user.get("first_name"), user.get("last_name")
    full_name = " ".join(part for part in (first, last) if part) or None
    return {
        "user": {
            "id": user["id"],
            "external_id": user.get("external_id"),
            "first_name": first,
            "last_name": last,
            "full_name": full_name,
            "username": user.get("username"),
            "created_at": user.get("created_at"),
            "updated_at": user.get("updated_at"),
            "primary_email_address": primary["email_address"] if primary else None,
            "primary_phone_number": None,
            "primary_web3_wallet": None,
            "email_verified": (primary["verification"]["status"] == "verified") if primary else False,
            "phone_number_verified": False,
            "image_url": user.get("image_url"),
            "has_image": user.get("has_image", False),
            "two_factor_enabled": user.get("two_factor_enabled", False),
            "organizations": {},
            "public_metadata": user.get("public_metadata") or {},
            "unsafe_metadata": user.get("unsafe_metadata") or {},
        },
        "session": {"actor": None},
    }


def _evaluate(expression: str, context: dict[str, Any]) -> Any:
    """One shortcode body: dot paths, ``a || b || 'literal'`` fallbacks (first truthy operand, else the last one),
    single-quoted string, number and bool literals (clerk.md §1.3)."""
    operands = [operand.strip() for operand in expression.split("||")]
    value: Any = None
    for operand in operands:
        if len(operand) >= 2 and operand[0] == operand[-1] == "'":
            value = operand[1:-1]
        elif operand in ("true", "false"):
            value = operand == "true"
        elif re.fullmatch(r"-?\d+(\.\d+)?", operand):
            value = float(operand) if "." in operand else int(operand)
        else:
            value = context
            for part in operand.split("."):
                value = value.get(part) if isinstance(value, dict) else None
        if value:
            return value
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    return json.dumps(value, separators=(",", ":"))


def _render(claims: Any, context: dict[str, Any]) -> Any:
    """clerk.md §1.3: a string that is exactly one shortcode keeps the value's type; shortcodes inside a longer
    string interpolate as text (null as "null"); keys are not rendered."""
    if isinstance(claims, dict):
        return {key: _render(value, context) for key, value in claims.items()}
    if isinstance(claims, list):
        return [_render(value, context) for value in claims]
    if isinstance(claims, str):
        whole = _SHORTCODE.fullmatch(claims.strip())
        if whole and "{{" not in whole.group(1):
            return _evaluate(whole.group(1), context)
        return _SHORTCODE.sub(lambda m: _as_text(_evaluate(m.group(1), context)), claims)
    return claims


# ------------------------------------------------------------------------------------------------- routing

def _query_bool(request: _Request, name: str) -> bool:
    value = request.query_one(name)
    if value is None or value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    raise ClerkAPIError(400, "invalid_query_parameter_value", "",
                        f"{value} does not match one of the allowed values for parameter {name}")


def _pagination(request: _Request) -> tuple[int, int]:
    def number(name: str, default: int, low: int, high: int) -> int:
        raw = request.query_one(name)
        if raw is None:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ClerkAPIError(400, "invalid_query_parameter_value", "",
                                f"{raw} does not match one of the allowed values for parameter {name}")
        return int(raw)

    return number("limit", LIST_DEFAULT_LIMIT, 1, LIST_MAX_LIMIT), number("offset", 0, 0, 10**9)


_ROUTES: list[tuple[str, str, Callable[[ClerkDouble, _Request], _Response]]] = [
    ("GET", "/.well-known/jwks.json", ClerkDouble._get_fapi_jwks),
    ("GET", "/.well-known/openid-configuration", ClerkDouble._get_openid_configuration),
    ("GET", "/v1/jwks", ClerkDouble._get_bapi_jwks),
    ("GET", "/v1/jwt_templates", ClerkDouble._list_templates),
    ("POST", "/v1/jwt_templates", ClerkDouble._create_template_handler),
    ("GET", "/v1/jwt_templates/{id}", ClerkDouble._get_template),
    ("PATCH", "/v1/jwt_templates/{id}", ClerkDouble._update_template),
    ("DELETE", "/v1/jwt_templates/{id}", ClerkDouble._delete_template),
    ("GET", "/v1/users", ClerkDouble._list_users),
    ("POST", "/v1/users", ClerkDouble._create_user_handler),
    ("GET", "/v1/users/{id}", ClerkDouble._get_user),
    ("DELETE", "/v1/users/{id}", ClerkDouble._delete_user),
    ("GET", "/v1/sessions", ClerkDouble._list_sessions),
    ("POST", "/v1/sessions", ClerkDouble._create_session_handler),
    ("GET", "/v1/sessions/{id}", ClerkDouble._get_session),
    ("POST", "/v1/sessions/{id}/revoke", ClerkDouble._revoke_session),
    ("POST", "/v1/sessions/{id}/tokens", ClerkDouble._create_session_token),
    ("POST", "/v1/sessions/{id}/tokens/{template}", ClerkDouble._create_template_token),
]
_COMPILED_ROUTES = [
    (method, template, re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"),
     handler)
    for method, template, handler in _ROUTES
]


def _match_route(method: str | None, path: str):
    """``(handler, path template, params)`` for a method and path; with ``method=None``, any method."""
    for route_method, template, pattern, handler in _COMPILED_ROUTES:
        match = pattern.match(path)
        if match and (method is None or method == route_method):
            return handler, template, {k: unquote(v) for k, v in match.groupdict().items()}
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "clerk-double"
    disable_nagle_algorithm = True  # headers and body go out as separate writes; Nagle + delayed ACK costs 40 ms
    double: ClerkDouble

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.double._handle(self.command, self.path, self.headers, body)
        if response is None:
            self.close_connection = True
            return
        payload = json.dumps(response.body).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass


def main(argv: list[str] | None = None) -> None:
    import argparse
    import signal

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # delivered to sigwait below

    parser = argparse.ArgumentParser(prog="python -m tests.doubles.clerk", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--frontend-api-host", help="FAPI host put in `iss` (default: a random *.clerk.accounts.dev)")
    parser.add_argument("--production", action="store_true", help="a production instance (pk_live_/sk_live_)")
    args = parser.parse_args(argv)
    double = ClerkDouble(production=args.production, frontend_api_host=args.frontend_api_host).start(args.port)
    print(f"Clerk double at        {double.url}  (FAPI and BAPI; BAPI base {double.bapi_url})")
    print(f"JWKS                   {double.jwks_url}")
    print(f"issuer (iss)           {double.issuer}")
    print(f"publishable key        {double.publishable_key}")
    print(f"secret key             {double.secret_key}")
    print(f"templates              {', '.join(double.templates) or '(none)'}")
    print("Ctrl-C to stop.", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        double.stop()


if __name__ == "__main__":
    main()
