"""Authentication as Hasura v2 does it: admin secret, JWT mode, unauthorized role (hasura.md §1.2, §4).

The order follows `getUserInfoWithExpTime_`: an admin-secret header short-circuits everything; otherwise JWT mode
(token location → issuer → signature → claims → role) or admin-secret-only mode, each falling back to the
unauthorized role when one is configured.
"""

from __future__ import annotations

import hmac
import json
import time
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any, Callable, Mapping

from .errors import HasuraError, StartupError
from .jwks import JwkUrlKeys, StaticKeys
from .jwt_config import JwtSecret, aeson_type
from .jwt_verify import decode_unverified, hasura_claims, invalid_claims, invalid_jwt, validate_claims, verify_signature

ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class Session:
    """Who a request runs as: role plus `x-hasura-*` session variables (names lower-cased)."""

    role: str
    variables: Mapping[str, str] = field(default_factory=dict)
    #: BOFAAllowed: the request may use backend_only permissions (see `backend_only_access`).
    backend_only_permissions: bool = False

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


_TRUE_TEXTS, _FALSE_TEXTS = ("true", "t", "yes", "y"), ("false", "f", "no", "n")
USE_BACKEND_ONLY_HEADER = "x-hasura-use-backend-only-permissions"


def backend_only_access(header_vars: Mapping[str, str]) -> bool:
    """`x-hasura-use-backend-only-permissions`, read only when the admin secret was sent or no auth is configured
    (Hasura/Session.hs mkUserInfo: UAdminSecretNotSent -> BOFADisallowed; otherwise the header parsed by
    parseStringAsBool, an unreadable value a 400 bad-request). Backend-only permissions serve only such requests
    (Note [Backend only permissions]; Hasura/GraphQL/Schema/Mutation.hs insertIntoTable / updateTable /
    deleteFromTable: `guard $ not $ scenario == Frontend && backendOnly`)."""
    value = header_vars.get(USE_BACKEND_ONLY_HEADER)
    if value is None:
        return False
    if value.lower() in _TRUE_TEXTS:
        return True
    if value.lower() in _FALSE_TEXTS:
        return False
    raise HasuraError("bad-request", f"{USE_BACKEND_ONLY_HEADER}:  Not a valid boolean text. True values are "
                      '["true","t","yes","y"] and  False values are ["false","f","no","n"]. All values are case '
                      "insensitive")


def session_from_claims(hasura: dict[str, Any], requested_role: str | None) -> Session:
    """Role claims check then role selection (§4.1, §4.3)."""
    if "x-hasura-allowed-roles" not in hasura:
        raise HasuraError("jwt-missing-role-claims", "JWT claim does not contain x-hasura-allowed-roles")
    allowed = hasura["x-hasura-allowed-roles"]
    if not isinstance(allowed, list) or not all(isinstance(r, str) for r in allowed):
        encountered = aeson_type(allowed) if not isinstance(allowed, list) else "non-String element"
        raise invalid_claims(
            "invalid x-hasura-allowed-roles; should be a list of roles: parsing [] failed, "
            f"expected Array, but encountered {encountered}"
        )
    if "x-hasura-default-role" not in hasura:
        raise HasuraError("jwt-missing-role-claims", "JWT claim does not contain x-hasura-default-role")
    default = hasura["x-hasura-default-role"]
    if not isinstance(default, str):
        raise invalid_claims(
            f"invalid x-hasura-default-role; should be a role: expected String, but encountered {aeson_type(default)}"
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
            return Session(role=role, variables={**header_vars, "x-hasura-role": role},
                           backend_only_permissions=backend_only_access(header_vars))
        if self.admin_secret is None:  # no auth configured at all: everyone is admin
            role = header_vars.get("x-hasura-role", ADMIN_ROLE)
            return Session(role=role, variables={**header_vars, "x-hasura-role": role},
                           backend_only_permissions=backend_only_access(header_vars))
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
            raise invalid_jwt("JWTNotInIssuer")
        verify_signature(token, header, self.keys.current())
        validate_claims(claims, self.jwt, time.time())
        return session_from_claims(hasura_claims(claims, self.jwt), requested_role)
