"""The `hasura` and `postgres` stack config objects: images, ports and Hasura's server switches.

Pure: no Pulumi here. Field names are snake_case; users write the camelCase alias
(`hasura.bindAddress`), which is what every error names.

Defaults that differ by stack (the console, dev mode, the APIs, protecting the data volume) are
`None` here and resolved with the stack name by the `resolved_*` methods: the stack called `dev`
is for trying things out, every other stack is treated as one that matters.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from pydantic import field_validator

from components.config.base import StrictModel

#: Pinned images. Hasura: a current v2 release (hasura.md §3.3). Postgres: the current 17 minor; a
#: different major needs a dump/restore of the data volume, so it is never changed silently.
DEFAULT_HASURA_IMAGE = "hasura/graphql-engine:v2.51.0"
DEFAULT_POSTGRES_IMAGE = "postgres:17.10"

#: The stack whose defaults favour development (console, dev mode, every API, an unprotected volume).
DEV_STACK = "dev"

#: The log types Hasura lets users enable (`userAllowedLogTypes` in graphql-engine's Hasura/Logging.hs); it
#: refuses to start on any other. The default is Hasura's own default set.
HASURA_LOG_TYPES = (
    "startup", "http-log", "webhook-log", "websocket-log", "query-log", "execution-log",
    "livequery-poller-log", "action-handler-log", "data-connector-log", "jwk-refresh-log",
    "validate-insert-input-log",
)
DEFAULT_LOG_TYPES = ("startup", "http-log", "webhook-log", "websocket-log", "jwk-refresh-log")
DEV_LOG_TYPES = (*DEFAULT_LOG_TYPES, "query-log")

#: Hasura's `HASURA_GRAPHQL_ENABLED_APIS` values (it refuses others). `metadata` and `graphql` are required: the deploy
#: applies metadata through the first, apps query the second.
HASURA_APIS = ("metadata", "graphql", "pgdump", "config", "developer", "metrics")
REQUIRED_APIS = ("metadata", "graphql")
DEV_APIS = ("metadata", "graphql", "pgdump", "config")
DEFAULT_APIS = ("metadata", "graphql", "config")

_IMAGE_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_CORS_ENTRY = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$")


def _check_image(value: str, example: str) -> str:
    """An image reference pinned to a tag (or a digest); `latest` and untagged references are refused."""
    reference = value.strip()
    name, _, digest = reference.partition("@")
    last_part = name.rsplit("/", 1)[-1]
    repository, has_tag, tag = last_part.partition(":")
    if not reference or not repository or " " in reference:
        raise ValueError(f"{value!r} is not an image reference. Fix: use repository:tag, e.g. {example}")
    if digest:
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise ValueError(f"{value!r} has a malformed digest. Fix: use repository:tag@sha256:<64 hex digits>, "
                             f"or just repository:tag, e.g. {example}")
        return reference
    if not has_tag:
        raise ValueError(f"{value!r} has no tag, so every pull may bring a different version. Fix: pin an exact tag, "
                         f"e.g. {example}")
    if tag == "latest":
        raise ValueError(f"{value!r} uses `latest`, which changes under you. Fix: pin an exact tag, e.g. {example}")
    if not _IMAGE_TAG.match(tag):
        raise ValueError(f"{value!r} has an invalid tag {tag!r}. Fix: pin an exact tag, e.g. {example}")
    return reference


def _check_port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{value} is not a TCP port. Fix: use a port between 1 and 65535")
    return value


class HasuraSettings(StrictModel):
    """The `hasura` object: the GraphQL engine container."""

    image: str = DEFAULT_HASURA_IMAGE
    """Hasura GraphQL Engine v2 image, pinned to an exact tag."""
    port: int = 8080
    """Host port Hasura is published on."""
    bind_address: str = "127.0.0.1"
    """Host IP the port is bound to; `0.0.0.0` publishes it on every interface."""
    public_url: str | None = None
    """Base URL apps reach Hasura at (e.g. behind a reverse proxy); default http://<bindAddress>:<port>."""
    cors_domains: list[str] | None = None
    """`HASURA_GRAPHQL_CORS_DOMAIN` entries with scheme (and port), wildcards allowed; unset: Hasura's default."""
    unauthorized_role: str | None = None
    """Role for requests without a token (`HASURA_GRAPHQL_UNAUTHORIZED_ROLE`); unset: they are refused."""
    console: bool | None = None
    """Serve the Hasura console; default on for the `dev` stack only."""
    dev_mode: bool | None = None
    """Add internal details to errors; default on for the `dev` stack only."""
    log_types: list[str] | None = None
    """`HASURA_GRAPHQL_ENABLED_LOG_TYPES`; default adds `query-log` on the `dev` stack."""
    enabled_apis: list[str] | None = None
    """`HASURA_GRAPHQL_ENABLED_APIS`; default adds `pgdump` on the `dev` stack."""

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        return _check_image(value, DEFAULT_HASURA_IMAGE)

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        return _check_port(value)

    @field_validator("bind_address")
    @classmethod
    def _bind_address(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address. Fix: use 127.0.0.1 (this machine only, the default), "
                             "0.0.0.0 (every interface) or one of this host's addresses") from None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{value!r} is not an http(s) base URL. Fix: give the URL apps reach Hasura at, "
                             "e.g. https://graphql.example.com (without /v1/graphql)")
        return value.strip().rstrip("/")

    @field_validator("cors_domains")
    @classmethod
    def _cors_domains(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("is empty. Fix: list the app origins, e.g. [\"http://localhost:3000\"], or remove the "
                             "key for Hasura's default")
        if "*" in value:
            if len(value) > 1:
                raise ValueError("mixes `*` with other entries. Fix: use `*` alone (any origin) or list origins")
            return value
        bad = [entry for entry in value if not _CORS_ENTRY.match(entry)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not an origin with a scheme. Fix: write it as Hasura expects, with "
                             "http:// or https:// and the port if any, e.g. http://localhost:3000 or "
                             "https://*.example.com")
        return value

    @field_validator("unauthorized_role")
    @classmethod
    def _unauthorized_role(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip() or value != value.strip():
            raise ValueError(f"{value!r} is not a role name. Fix: name the role anonymous requests get, e.g. "
                             "`anonymous`, or remove the key to refuse them")
        if value == "admin":
            raise ValueError("must not be `admin`: every request without a token would get full access. Fix: use a "
                             "role with read-only permissions, e.g. `anonymous`, or remove the key")
        return value

    @field_validator("log_types")
    @classmethod
    def _log_types(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [entry for entry in value if entry not in HASURA_LOG_TYPES]
        if unknown or not value:
            problem = f"unknown log type {unknown[0]!r}" if unknown else "is empty"
            raise ValueError(f"{problem}. Fix: use some of {', '.join(HASURA_LOG_TYPES)}")
        return value

    @field_validator("enabled_apis")
    @classmethod
    def _enabled_apis(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [entry for entry in value if entry not in HASURA_APIS]
        if unknown:
            raise ValueError(f"unknown API {unknown[0]!r}. Fix: use some of {', '.join(HASURA_APIS)}")
        missing = [api for api in REQUIRED_APIS if api not in value]
        if missing:
            raise ValueError(f"lacks {', '.join(missing)}: the deploy applies metadata through `metadata` and apps "
                             f"query `graphql`. Fix: include both, e.g. [{', '.join(DEFAULT_APIS)}]")
        return value

    def resolved_console(self, stack: str) -> bool:
        return self.console if self.console is not None else stack == DEV_STACK

    def resolved_dev_mode(self, stack: str) -> bool:
        return self.dev_mode if self.dev_mode is not None else stack == DEV_STACK

    def resolved_log_types(self, stack: str) -> list[str]:
        return list(self.log_types or (DEV_LOG_TYPES if stack == DEV_STACK else DEFAULT_LOG_TYPES))

    def resolved_enabled_apis(self, stack: str) -> list[str]:
        return list(self.enabled_apis or (DEV_APIS if stack == DEV_STACK else DEFAULT_APIS))

    def local_url(self) -> str:
        """Base URL that reaches Hasura from the machine running the deploy."""
        address = ipaddress.ip_address(self.bind_address)
        if address.is_unspecified:
            host = "127.0.0.1" if address.version == 4 else "[::1]"
        else:
            host = str(address) if address.version == 4 else f"[{address}]"
        return f"http://{host}:{self.port}"


class PostgresSettings(StrictModel):
    """The `postgres` object: the database container and its data volume."""

    image: str = DEFAULT_POSTGRES_IMAGE
    """PostgreSQL image, pinned to an exact tag. Changing the major version needs a dump/restore."""
    database: str = "app"
    """Database created on first start; Hasura keeps its metadata and the app tables there."""
    user: str = "postgres"
    """Superuser the image creates and Hasura logs in as."""
    host_port: int | None = None
    """Publish Postgres on 127.0.0.1:<hostPort>; unset: reachable only on the stack's private network."""
    protect_volume: bool | None = None
    """Refuse `pulumi destroy` while the data volume exists; default on for every stack except `dev`."""

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        return _check_image(value, DEFAULT_POSTGRES_IMAGE)

    @field_validator("host_port")
    @classmethod
    def _host_port(cls, value: int | None) -> int | None:
        return None if value is None else _check_port(value)

    @field_validator("database", "user")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"{value!r} is not a plain identifier. Fix: use letters, digits and underscores, "
                             "starting with a letter, at most 63 characters (e.g. `app`)")
        return value

    def resolved_protect_volume(self, stack: str) -> bool:
        return self.protect_volume if self.protect_volume is not None else stack != DEV_STACK
