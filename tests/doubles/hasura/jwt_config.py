"""`HASURA_GRAPHQL_JWT_SECRET` parsing (hasura.md §4.1); malformed config is fatal at startup (§3.2)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import StartupError

DEFAULT_CLAIMS_NAMESPACE = "https://hasura.io/jwt/claims"
SUPPORTED_KEY_TYPES = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "Ed25519", "ES256", "ES384", "ES512")


def fatal_jwt_secret(reason: str) -> StartupError:
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
            raise fatal_jwt_secret(f"Failed reading: {exc.msg}") from None
        if not isinstance(raw, dict):
            raise fatal_jwt_secret(f"expected Object, but encountered {aeson_type(raw)}")
        key, jwk_url = raw.get("key"), raw.get("jwk_url")
        if key is None and jwk_url is None:
            raise fatal_jwt_secret("key and jwk_url both cannot be empty")
        if key is not None and jwk_url is not None:
            raise fatal_jwt_secret("key, jwk_url both cannot be present")
        key_type = raw.get("type")
        if key is not None:
            if key_type not in SUPPORTED_KEY_TYPES:
                raise fatal_jwt_secret(f"Invalid JWK: Key type: {key_type} is not supported")
            if key_type.startswith("HS") and len(key) < 32:
                raise fatal_jwt_secret("Key size too small; should be atleast 32 characters")
        if "claims_namespace" in raw and "claims_namespace_path" in raw:
            raise fatal_jwt_secret("claims_namespace and claims_namespace_path both cannot be set")
        claims_format = raw.get("claims_format", "json")
        if claims_format not in ("json", "stringified_json"):
            raise fatal_jwt_secret(f"unexpected claims_format: {claims_format}")
        audience = raw.get("audience")
        if isinstance(audience, str):
            audience = (audience,)
        elif audience is not None:
            audience = tuple(audience)
        header = raw.get("header") or {"type": "Authorization"}
        header_type = header.get("type")
        if header_type not in ("Authorization", "Cookie", "CustomHeader"):
            raise fatal_jwt_secret(f"unexpected header type: {header_type}")
        if header_type != "Authorization" and not header.get("name"):
            raise fatal_jwt_secret('key "name" not found')
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


def aeson_type(value: Any) -> str:
    """Type names as Haskell's aeson spells them in parse errors."""
    if isinstance(value, bool):
        return "Boolean"
    if value is None:
        return "Null"
    if isinstance(value, (int, float)):
        return "Number"
    return {str: "String", list: "Array", dict: "Object"}[type(value)]
