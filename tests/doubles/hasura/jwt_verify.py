"""JWT verification with joserfc — deliberately not the product's pyjwt, so one library's mistake is not mirrored
in both — and extraction of the Hasura claims (hasura.md §4.1, §4.3).

Claim validation (exp/iat/nbf/iss/aud with `allowed_skew`) follows the Haskell `jose` library Hasura uses, in its
order: exp, iat, nbf, iss, aud.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.util import urlsafe_b64decode

from .errors import HasuraError
from .jwks import usable_algorithms
from .jwt_config import JwtSecret, parse_json_path


def invalid_jwt(reason: str) -> HasuraError:
    return HasuraError("invalid-jwt", f"Could not verify JWT: {reason}", status=400)


def invalid_claims(message: str) -> HasuraError:
    return HasuraError("jwt-invalid-claims", message, status=400)


def _decode_segment(segment: str) -> Any:
    return json.loads(urlsafe_b64decode(segment.encode()))


def decode_unverified(token: str) -> tuple[dict, dict]:
    """Header and claims of a compact JWS, with jose's CompactDecodeError wording for malformed tokens (§4.3)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise invalid_jwt(f"JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got {len(parts)})")
    try:
        header = _decode_segment(parts[0])
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_jwt(f"JWSError (CompactDecodeError {exc})") from None
    try:
        claims = _decode_segment(parts[1])
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_jwt(f"JWTClaimsSetDecodeError {exc}") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise invalid_jwt("JWTClaimsSetDecodeError expected Object")
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
        if alg in usable_algorithms(key) and (kid is None or key.kid is None or key.kid == kid)
    ]
    if not candidates:
        raise invalid_jwt("JWSError NoUsableKeys")
    for key in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # joserfc warns about short HMAC keys and EdDSA naming
                jws.deserialize_compact(token, key, algorithms=[alg])
            return
        except JoseError:
            continue
    raise invalid_jwt("JWSError JWSInvalidSignature")


def _numeric(claims: dict, name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid_jwt(f"JWTClaimsSetDecodeError invalid {name}")
    return float(value)


def validate_claims(claims: dict, secret: JwtSecret, now: float) -> None:
    """jose `validateClaimsSet` order: exp, iat, nbf, iss, aud — each with `allowed_skew` (§4.1, §4.3)."""
    skew = secret.allowed_skew
    exp = _numeric(claims, "exp")
    if exp is not None and now > exp + skew:
        raise invalid_jwt("JWTExpired")
    iat = _numeric(claims, "iat")
    if iat is not None and iat > now + skew:
        raise invalid_jwt("JWTIssuedAtFuture")
    nbf = _numeric(claims, "nbf")
    if nbf is not None and nbf > now + skew:
        raise invalid_jwt("JWTNotYetValid")
    if secret.issuer is not None and "iss" in claims and claims["iss"] != secret.issuer:
        raise invalid_jwt("JWTNotInIssuer")
    if secret.audience is not None:
        aud = claims.get("aud")
        token_audiences = [aud] if isinstance(aud, str) else list(aud or [])
        if not set(token_audiences) & set(secret.audience):
            raise invalid_jwt("JWTNotInAudience")

def json_path_get(document: Any, path: str) -> tuple[bool, Any]:
    """Follow a JSON path (`parse_json_path`, Hasura's grammar) through a document: (found, value)."""
    current = document
    for element in parse_json_path(path):
        if isinstance(element, int):
            if not isinstance(current, list) or element >= len(current):
                return False, None
            current = current[element]
        elif isinstance(current, dict) and element in current:
            current = current[element]
        else:
            return False, None
    return True, current


_ROLE_CLAIMS = ("x-hasura-allowed-roles", "x-hasura-default-role")


def hasura_claims(claims: dict, secret: JwtSecret) -> dict[str, Any]:
    """The `x-hasura-*` claims object: from claims_map (wins over namespace, issue #7081) or the namespace (§4.1)."""
    if secret.claims_map is not None:
        # Hasura/Server/Auth/JWT.hs (JCMap): a path's value, else its default; a role claim found nowhere is
        # left out, so the role check reports it missing (parseAllowedRolesClaim / parseDefaultRoleClaim:
        # JWTRoleClaimMissing); any other claim found nowhere is "JWT claim from claims_map, <name> not found".
        mapped: dict[str, Any] = {}
        for name, spec in secret.claims_map.items():
            if isinstance(spec, dict) and "path" in spec:
                found, value = json_path_get(claims, spec["path"])
                if found:
                    mapped[name] = value
                elif "default" in spec:
                    mapped[name] = spec["default"]
                elif name.lower() not in _ROLE_CLAIMS:
                    raise invalid_claims(f"JWT claim from claims_map, {name.lower()} not found")
            else:
                mapped[name] = spec
        return {k.lower(): v for k, v in mapped.items()}
    if secret.claims_namespace_path is not None:
        found, value = json_path_get(claims, secret.claims_namespace_path)
        if not found:
            raise invalid_claims(f"claims not found at claims_namespace_path: '{secret.claims_namespace_path}'")
    else:
        if secret.claims_namespace not in claims:
            raise invalid_claims(f"claims key: '{secret.claims_namespace}' not found")
        value = claims[secret.claims_namespace]
    if secret.claims_format == "stringified_json":
        if not isinstance(value, str):
            raise invalid_claims("expecting a string when claims_format is stringified_json")
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise invalid_claims(f"invalid json: {exc.msg}") from None
    if not isinstance(value, dict):
        raise invalid_claims("expecting a json object when claims_format is json")
    return {k.lower(): v for k, v in value.items()}
