"""The shared stack settings (`SharedSettings`), and loading the stack settings the target registry assembles from
them and each target's own keys (`stack_settings_model`, `load_stack_settings`).

Pure: no Pulumi here, and no target: `components.targets` hands each target's own keys in. `__main__` hands the raw
stack config (objects and secret strings) to `components.targets.load_settings`; environment variables override the
secrets so CI can inject them.

Key names are the camelCase names users type in `Pulumi.<stack>.yaml`; every error names the key
as the user wrote it (for example `clerk.allowedSkew`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Literal

from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, create_model, field_validator

from components.clerk.client import DEFAULT_CLERK_API_URL
from components.config.base import StrictModel
from components.config.containers import HasuraSettings, PostgresSettings
from components.config.smoke import SmokeSettings
from components.config.urls import is_plain_http_off_machine
from components.errors import ClerkHasuraError

#: Algorithms Hasura accepts in `HASURA_GRAPHQL_JWT_SECRET.type` (hasura.md §4.1).
JWT_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "Ed25519")

#: Longest clock skew we accept. Clerk's own template setting stops at 300 s; more than that on a
#: 60 s token would make expired tokens usable for minutes.
MAX_ALLOWED_SKEW_SECONDS = 300

#: Prefix of the environment variable that overrides a secret key: `CLERK_HASURA_` and the key in capitals with
#: underscores (`clerkSecretKey` -> CLERK_HASURA_CLERK_SECRET_KEY), so CI can inject them.
SECRET_ENV_PREFIX = "CLERK_HASURA_"

#: The shared keys whose meaning depends on where Hasura runs: each target declares which of them it reads (its
#: `SHARED_KEYS`), and the registry refuses the others when set. The rest of the shared keys (`clerk`, `smoke`,
#: `metadataDir`, the Clerk keys) are read by the shared part on every target.
TARGET_DEPENDENT_KEYS = ("hasura", "postgres", "hasuraAdminSecret", "postgresPassword", "databaseUrl")

#: The variable Clerk's SDKs read the Backend API base from; honoured when `clerk.apiUrl` is unset.
CLERK_API_URL_ENV = "CLERK_API_URL"


class SettingsError(ClerkHasuraError):
    """The stack configuration is invalid; lists every problem found, each naming its key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        heading = "Invalid stack configuration" + (" (1 problem):" if len(problems) == 1 else f" ({len(problems)} problems):")
        super().__init__("\n".join([heading, *(f"  - {p}" for p in problems)]))


class ClerkSettings(StrictModel):
    """The `clerk` object: which Clerk instance Hasura trusts and how tokens reach it."""

    publishable_key: str | None = None
    """`pk_test_…`/`pk_live_…`; the Frontend API host is decoded from it."""
    frontend_api: str | None = None
    """The Frontend API host, e.g. `happy-hippo-12.clerk.accounts.dev`."""
    jwt_template: str = "hasura"
    """Name of the Clerk JWT template apps request tokens from."""
    jwks: Literal["url", "pinned"] = "url"
    """`url`: Hasura fetches the JWKS at start. `pinned`: fetched now, its RS256 key embedded."""
    jwks_url: str | None = None
    """Where the JWKS lives, when not at `https://<host>/.well-known/jwks.json` (a proxy, a local test server)."""
    audience: str | list[str] | None = None
    """The `aud` Hasura requires (a string or a list); set it only if your template adds an `aud` claim (Clerk tokens
    carry none by default)."""
    allowed_skew: int = 5
    """Seconds of clock skew Hasura tolerates; 5 matches Clerk's template default for 60 s tokens."""
    claims: Literal["template", "session"] = "template"
    """`template`: Clerk's Hasura template, claims under `https://hasura.io/jwt/claims`. `session`: Clerk's default
    session token through a `claims_map` (user id from `sub`, role `user`), no template needed."""
    template_preset: Literal["hasura", "nhost"] = "hasura"
    """Whose claims the managed template carries: Clerk's Hasura preset, or its Nhost preset (roles `me`, `user`)."""
    cookie: bool = False
    """Read the JWT from Clerk's `__session` cookie instead of the Authorization header."""
    signing_algorithm: str | None = None
    """Algorithm of `clerkSigningKey` (default HS256)."""
    api_url: str = DEFAULT_CLERK_API_URL
    """Clerk Backend API base; the JWT template and the smoke check's test user are managed through it. Unset,
    `CLERK_API_URL` (what Clerk's SDKs read) is honoured."""

    @field_validator("jwt_template")
    @classmethod
    def _template_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty. Fix: name the Clerk JWT template, e.g. `hasura`")
        return value

    @field_validator("audience", mode="before")
    @classmethod
    def _audience(cls, value: Any) -> Any:
        values = [value] if isinstance(value, str) else value
        if value is not None and (not isinstance(values, list) or not values
                                  or any(not isinstance(v, str) or not v.strip() for v in values)):
            raise ValueError(f"got {value!r}; it must be a non-empty string or a list of non-empty strings. Fix: set the `aud` your "
                             "Clerk template issues, or remove the key (Clerk tokens carry no `aud` by default)")
        return value

    @field_validator("allowed_skew")
    @classmethod
    def _skew(cls, value: int) -> int:
        if not 0 <= value <= MAX_ALLOWED_SKEW_SECONDS:
            raise ValueError(f"must be between 0 and {MAX_ALLOWED_SKEW_SECONDS} seconds, got {value}. Fix: use a "
                             "few seconds (default 5); Clerk tokens live 60 s")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment \
                or is_plain_http_off_machine(parts):
            raise ValueError(f"{value!r} is not an https base URL (plain http only for localhost). Fix: remove the "
                             f"key for Clerk's own {DEFAULT_CLERK_API_URL}, or give the base URL without a path "
                             "after the host, e.g. https://api.clerk.com")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials. Fix: remove the user:password@ part; the secret key is "
                             "`clerkSecretKey`")
        return value.strip().rstrip("/")

    @field_validator("signing_algorithm")
    @classmethod
    def _algorithm(cls, value: str | None) -> str | None:
        if value is not None and value not in JWT_ALGORITHMS:
            raise ValueError(f"unknown algorithm {value!r}. Fix: use one Hasura supports: {', '.join(JWT_ALGORITHMS)}")
        return value


class SharedSettings(StrictModel):
    """What every stack can set, whatever its target; the registry adds each target's own keys
    (`stack_settings_model`). Secrets are `SecretStr`, so they never print."""

    target: str
    """Where Hasura runs: a name in the registry of targets (`components.targets`)."""
    metadata_dir: str = "metadata"
    """The Hasura CLI project (config v3) to apply; relative to the project directory (where Pulumi.yaml is), or
    absolute."""
    clerk: ClerkSettings = Field(default_factory=ClerkSettings)
    hasura: HasuraSettings = Field(default_factory=HasuraSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    smoke: SmokeSettings = Field(default_factory=SmokeSettings)
    clerk_signing_key: SecretStr | None = None
    """Clerk custom signing key: the HMAC secret, or the PEM public key for RS/ES/Ed algorithms
    (`clerk.signingAlgorithm`); unset: Clerk's instance keys (JWKS)."""
    clerk_secret_key: SecretStr | None = None
    """Clerk Backend API key (`sk_…`): the stack then manages the JWT template, and the smoke check signs in a Clerk
    test user (development instances)."""
    hasura_admin_secret: SecretStr | None = None
    """Hasura admin secret; unset: generated once and kept (required with target `existing`; on `hasura-cloud` the
    project's own is kept when it has one)."""
    postgres_password: SecretStr | None = None
    """Password of the Postgres the stack runs; unset: generated once and kept."""
    database_url: SecretStr | None = None
    """A Postgres that already runs (managed or self-hosted): on `docker` and `kubernetes` instead of the Postgres the
    stack would run; on `hasura-cloud`, the project's `PG_DATABASE_URL`."""

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        parts = urlsplit(value.get_secret_value().strip())
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname or not parts.path.strip("/"):
            # Never echo the value: it carries the password.
            raise ValueError("is not a Postgres connection URL. Fix: give postgres://USER:PASSWORD@HOST:PORT/DATABASE"
                             "?sslmode=require (the form your provider shows, with sslmode and all)")
        return SecretStr(value.get_secret_value().strip())


def stack_settings_model(target_names: tuple[str, ...], own_keys: Mapping[str, type], *,
                         module: str) -> type[SharedSettings]:
    """The stack settings: the shared ones, `target` one of `target_names` (the first is the default), and each
    target's own top-level keys (`own_keys`, by field name: a settings object's model, or `SecretStr` for a token).
    `module` is where the model is kept as `StackSettings` (so its values pickle by reference)."""
    fields: dict[str, Any] = {"target": (Literal[target_names], target_names[0])}
    for name, kind in own_keys.items():
        fields[name] = (SecretStr | None, None) if kind is SecretStr else (kind, Field(default_factory=kind))
    return create_model("StackSettings", __base__=SharedSettings, __module__=module, __doc__="One stack's settings.",
                        **fields)


def top_level_keys(model: type[BaseModel]) -> tuple[str, ...]:
    """The keys of `model` as users type them at the top of the stack config."""
    return tuple(field.alias or name for name, field in model.model_fields.items())


def scalar_keys(model: type[BaseModel]) -> tuple[str, ...]:
    """The top-level keys whose values are plain strings rather than objects."""
    return tuple(field.alias or name for name, field in model.model_fields.items() if not _is_model(field.annotation))


def secret_env_vars(model: type[BaseModel]) -> dict[str, str]:
    """The environment variable that overrides each secret key (for CI), by key."""
    return {field.alias or name: SECRET_ENV_PREFIX + name.upper() for name, field in model.model_fields.items()
            if field.annotation == SecretStr | None}


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def load_stack_settings(model: type[SharedSettings], raw: Mapping[str, Any],
                        environ: Mapping[str, str]) -> SharedSettings:
    """Validate raw stack config (keys without the project prefix) into `model`, or raise `SettingsError`. The
    secrets set in `environ` (`secret_env_vars`; empty ones ignored: what CI gives for a secret that does not exist)
    override those of the stack config. Only `environ` is read, so loading stays a function of its arguments."""
    known = top_level_keys(model)
    unknown = [key for key in raw if key not in known]
    problems = [_unknown_key_problem(key, known, "clerk-hasura:") for key in unknown]
    present = {key: value for key, value in raw.items() if key in known and value is not None}
    present = _with_clerk_api_url_from(environ, present)
    present |= {key: environ[var] for key, var in secret_env_vars(model).items() if environ.get(var)}
    try:
        settings = model.model_validate(present)
    except ValidationError as error:
        problems += [_describe(model, item) for item in error.errors()]
        raise SettingsError(problems) from None
    if problems:
        raise SettingsError(problems)
    return settings


def _with_clerk_api_url_from(environ: Mapping[str, str], present: dict[str, Any]) -> dict[str, Any]:
    clerk = present.get("clerk")
    api_url = environ.get(CLERK_API_URL_ENV)
    if not api_url or (isinstance(clerk, Mapping) and "apiUrl" in clerk) or (clerk is not None and
                                                                           not isinstance(clerk, Mapping)):
        return present
    return {**present, "clerk": {**(clerk or {}), "apiUrl": api_url}}


def _describe(model: type[BaseModel], item: Mapping[str, Any]) -> str:
    key = ".".join(str(part) for part in item["loc"])
    if item["type"] == "extra_forbidden":
        parent, _, leaf = key.rpartition(".")
        found = _model_at(model, parent)
        known = [f.alias or n for n, f in found.model_fields.items()] if found else []
        return _unknown_key_problem(leaf, known, f"{parent}." if parent else "")
    message = item["msg"].removeprefix("Value error, ")
    expected = _EXPECTED_TYPES.get(item["type"])
    if expected:
        shown = "" if key in secret_env_vars(model) else f" (got {item['input']!r})"
        message += f"{shown}. Fix: give {expected}"
    elif item["type"] == "literal_error":
        message += ". Fix: use one of the values listed"
    return f"{key}: {message}"


#: The stack is not known where the settings are validated (`load_stack_settings`): the fix shows where it goes.
_OBJECT = "an object (nested keys in Pulumi.<stack>.yaml, or `clerk-hasura pulumi --stack <stack> config set --path`)"
_EXPECTED_TYPES = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "model_type": _OBJECT,
    "dict_type": _OBJECT,
    "missing": "a value",
}


def _model_at(model: Any, path: str) -> type[BaseModel] | None:
    for part in [p for p in path.split(".") if p]:
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        annotation = fields[part].annotation if part in fields else None
        if not _is_model(annotation):
            return None
        model = annotation
    return model


def _unknown_key_problem(key: str, known: list[str] | tuple[str, ...], prefix: str) -> str:
    suggestion = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean `{prefix}{suggestion[0]}`? " if suggestion else ""
    return f"{prefix}{key}: unknown key. Fix: {hint}known keys are {', '.join(sorted(known))}"
