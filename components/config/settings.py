"""Everything a stack can set, as one typed model read from Pulumi stack config.

Pure: no Pulumi here. `__main__` hands the raw stack config (objects and secret strings) to
`load_settings`; environment variables override the secrets so CI can inject them.

Key names are the camelCase names users type in `Pulumi.<stack>.yaml`; every error names the key
as the user wrote it (for example `clerk.allowedSkew`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Any, Literal

from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from components.clerk.client import DEFAULT_CLERK_API_URL
from components.config.containers import HasuraSettings, PostgresSettings
from components.config.hosted import HasuraCloudSettings, NhostSettings
from components.config.kubernetes import KubernetesSettings
from components.errors import ClerkHasuraError
from components.config.base import StrictModel
from components.config.smoke import SmokeSettings
from components.config.urls import is_plain_http_off_machine
from components.targets import DEFAULT_TARGET, TARGET_NAMES

#: Algorithms Hasura accepts in `HASURA_GRAPHQL_JWT_SECRET.type` (hasura.md §4.1).
JWT_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "Ed25519")

#: Longest clock skew we accept. Clerk's own template setting stops at 300 s; more than that on a
#: 60 s token would make expired tokens usable for minutes.
MAX_ALLOWED_SKEW_SECONDS = 300

#: Environment variables that override the secret stack config keys (for CI).
SECRET_ENV_VARS = {
    "clerkSigningKey": "CLERK_HASURA_CLERK_SIGNING_KEY",
    "clerkSecretKey": "CLERK_HASURA_CLERK_SECRET_KEY",
    "hasuraAdminSecret": "CLERK_HASURA_HASURA_ADMIN_SECRET",
    "postgresPassword": "CLERK_HASURA_POSTGRES_PASSWORD",
    "databaseUrl": "CLERK_HASURA_DATABASE_URL",
    "hasuraCloudToken": "CLERK_HASURA_HASURA_CLOUD_TOKEN",
    "nhostToken": "CLERK_HASURA_NHOST_TOKEN",
}

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
    allowed_skew: int = 5
    """Seconds of clock skew Hasura tolerates; 5 matches Clerk's template default for 60 s tokens."""
    claims: Literal["template", "session"] = "template"
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


def _secret(name: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(SECRET_ENV_VARS[name], name))


class StackSettings(BaseSettings):
    """One stack's settings. Secrets are `SecretStr`, so they never print."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True, case_sensitive=True)

    target: Literal[TARGET_NAMES] = DEFAULT_TARGET  # type: ignore[valid-type]
    """Where Hasura runs: a name in the registry of targets (`components.targets`)."""
    metadata_dir: str = Field(default="metadata", validation_alias="metadataDir")
    """The Hasura CLI project (config v3) to apply; relative to the project directory (where Pulumi.yaml is)."""
    clerk: ClerkSettings = Field(default_factory=ClerkSettings)
    hasura: HasuraSettings = Field(default_factory=HasuraSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    smoke: SmokeSettings = Field(default_factory=SmokeSettings)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    """Read with `target: kubernetes` only."""
    hasura_cloud: HasuraCloudSettings = Field(default_factory=HasuraCloudSettings, alias="hasuraCloud")
    """Read with `target: hasura-cloud` only."""
    nhost: NhostSettings = Field(default_factory=NhostSettings)
    """Read with `target: nhost` only."""
    clerk_signing_key: SecretStr | None = _secret("clerkSigningKey")
    clerk_secret_key: SecretStr | None = _secret("clerkSecretKey")
    hasura_admin_secret: SecretStr | None = _secret("hasuraAdminSecret")
    postgres_password: SecretStr | None = _secret("postgresPassword")
    database_url: SecretStr | None = _secret("databaseUrl")
    """A Postgres that already runs (managed or self-hosted), instead of the Postgres container."""
    hasura_cloud_token: SecretStr | None = _secret("hasuraCloudToken")
    """A Hasura Cloud personal access token (target `hasura-cloud`)."""
    nhost_token: SecretStr | None = _secret("nhostToken")
    """An Nhost personal access token (target `nhost`)."""

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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the values `load_settings` passes: it puts the environment's secrets over the stack config itself, from
        # the `environ` it is given, ignoring empty ones (what CI gives for a secret that does not exist). Read here,
        # os.environ would leak into every call and an empty variable would be validated as a value.
        return (init_settings,)


#: Top-level stack config keys and what they are, for error messages.
TOP_LEVEL_KEYS = ("target", "metadataDir", "clerk", "hasura", "postgres", "smoke", "kubernetes", "hasuraCloud", "nhost",
                  *SECRET_ENV_VARS)

#: Top-level keys whose values are plain strings rather than objects.
SCALAR_KEYS = ("target", "metadataDir", *SECRET_ENV_VARS)


def load_settings(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> StackSettings:
    """Validate raw stack config (keys without the project prefix) into settings, or raise `SettingsError`."""
    environ = os.environ if environ is None else environ
    unknown = [key for key in raw if key not in TOP_LEVEL_KEYS]
    problems = [_unknown_key_problem(key, TOP_LEVEL_KEYS, "clerk-hasura:") for key in unknown]
    present = {key: value for key, value in raw.items() if key in TOP_LEVEL_KEYS and value is not None}
    present = _with_clerk_api_url_from(environ, present)
    overrides = {var: environ[var] for var in SECRET_ENV_VARS.values() if environ.get(var)}
    try:
        settings = _build(present, overrides)
    except ValidationError as error:
        problems += [_describe(item) for item in error.errors()]
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


def _build(present: dict[str, Any], overrides: dict[str, str]) -> StackSettings:
    # The environment source of pydantic-settings reads os.environ; pass overrides explicitly instead so
    # `load_settings` stays a function of its arguments.
    values = dict(present)
    for name, var in SECRET_ENV_VARS.items():
        if var in overrides:
            values.pop(name, None)
            values[var] = overrides[var]
    return StackSettings.model_validate(values)


def _describe(item: Mapping[str, Any]) -> str:
    location = [str(part) for part in item["loc"]]
    top = location[0] if location else ""
    location[0:1] = [next((name for name, var in SECRET_ENV_VARS.items() if var == top), top)] if location else []
    key = ".".join(location)
    if item["type"] == "extra_forbidden":
        parent, _, leaf = key.rpartition(".")
        model = _model_at(parent)
        known = [f.alias or n for n, f in model.model_fields.items()] if model else []
        return _unknown_key_problem(leaf, known, f"{parent}." if parent else "")
    message = item["msg"].removeprefix("Value error, ")
    expected = _EXPECTED_TYPES.get(item["type"])
    if expected:
        shown = "" if _is_secret(key) else f" (got {item['input']!r})"
        message += f"{shown}. Fix: give {expected}"
    elif item["type"] == "literal_error":
        message += ". Fix: use one of the values listed"
    return f"{key}: {message}"


_EXPECTED_TYPES = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "model_type": "an object (nested keys in Pulumi.<stack>.yaml, or `pulumi config set --path`)",
    "dict_type": "an object (nested keys in Pulumi.<stack>.yaml, or `pulumi config set --path`)",
    "missing": "a value",
}


def _model_at(path: str) -> type[BaseModel] | None:
    model: Any = StackSettings
    for part in [p for p in path.split(".") if p]:
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        annotation = fields[part].annotation if part in fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _is_secret(key: str) -> bool:
    return key in SECRET_ENV_VARS


def _unknown_key_problem(key: str, known: list[str] | tuple[str, ...], prefix: str) -> str:
    suggestion = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean `{prefix}{suggestion[0]}`? " if suggestion else ""
    return f"{prefix}{key}: unknown key. Fix: {hint}known keys are {', '.join(sorted(known))}"
