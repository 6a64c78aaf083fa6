"""`HASURA_GRAPHQL_JWT_SECRET` parsing (hasura.md §4.1); malformed config is fatal at startup (§3.2)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .errors import StartupError

DEFAULT_CLAIMS_NAMESPACE = "https://hasura.io/jwt/claims"
SUPPORTED_KEY_TYPES = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "Ed25519", "ES256", "ES384", "ES512")


_NAME = re.compile(r"[^\W\d_][\w-]*|_[\w-]*")  # a letter or "_", then letters, digits, "-", "_"
_INDEX = re.compile(r"\d+")


class JsonPathError(ValueError):
    pass


def parse_json_path(text: str) -> list[str | int]:
    """A JSON path as Hasura reads `claims_namespace_path` and `claims_map` paths (server/src-lib/Data/Parser/
    JSONPath.hs parseJSONPath): `$` alone is the whole document; otherwise an optional `$`, then one or more of
    `name` or `.name`, and `[42]`, `['key']`, `["key"]`, each of the bracket forms optionally after a `.`
    (so `$.['https://hasura.io/jwt/claims'].x-hasura-user-id` works); in quoted keys a backslash escapes the
    next character."""
    if text == "$":
        return []
    position = 1 if text.startswith("$") else 0
    elements: list[str | int] = []
    while position < len(text):
        start = position + 1 if text[position] == "." else position
        if start < len(text) and text[start] == "[":
            position = start + 1
            index = _INDEX.match(text, position)
            if index:
                elements.append(int(index.group()))
                position = index.end()
            elif position < len(text) and text[position] in "'\"":
                delimiter, position, key = text[position], position + 1, []
                while position < len(text) and text[position] != delimiter:
                    if text[position] == "\\" and position + 1 < len(text):
                        position += 1
                    key.append(text[position])
                    position += 1
                if position >= len(text):
                    raise JsonPathError(text)
                elements.append("".join(key))
                position += 1
            else:
                raise JsonPathError(text)
            if position >= len(text) or text[position] != "]":
                raise JsonPathError(text)
            position += 1
            continue
        name = _NAME.match(text, start)
        if not name:
            raise JsonPathError(text)
        elements.append(name.group())
        position = name.end()
    if not elements:
        raise JsonPathError(text)
    return elements


def _checked_path(text: Any) -> str:
    """A path Hasura refuses at startup, with parseJSONPath's message."""
    try:
        parse_json_path(text)
    except (JsonPathError, TypeError):
        raise fatal_jwt_secret(f"{text}. Accept letters, digits, underscore (_) or hyphen (-) only. Use single "
                               "quotes enclosed in bracket (['...']) if there is any special character") from None
    return text


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
        if raw.get("claims_namespace_path") is not None:
            _checked_path(raw["claims_namespace_path"])
        for spec in (raw.get("claims_map") or {}).values():
            if isinstance(spec, dict) and "path" in spec:
                _checked_path(spec["path"])
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
