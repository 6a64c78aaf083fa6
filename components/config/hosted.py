"""The `hasuraCloud` and `nhost` stack config objects: which hosted project the stack configures, and how.

Pure: no Pulumi here. Each is read by its own target only (`components.targets` refuses it on others). The tokens
are secrets, top-level keys beside the other secrets (`hasuraCloudToken`, `nhostToken`).
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from pydantic import field_validator

from components.config.base import StrictModel
from components.config.containers import DEV_STACK
from components.config.urls import is_plain_http_off_machine

#: The Hasura Cloud API (hosted.md: Cloud API reference, "Endpoint").
DEFAULT_HASURA_CLOUD_API_URL = "https://data.pro.hasura.io/v1/graphql"
#: Nhost's control plane, as the nhost CLI reaches it (its hidden `--auth-url` / `--graphql-url` defaults).
DEFAULT_NHOST_AUTH_URL = "https://otsispdzcwxyqzbfntmj.auth.eu-central-1.nhost.run/v1"
DEFAULT_NHOST_API_URL = "https://otsispdzcwxyqzbfntmj.graphql.eu-central-1.nhost.run/v1"
#: How long a deploy waits for the platform to restart Hasura with changed settings.
DEFAULT_RESTART_TIMEOUT_SECONDS = 300

#: A Hasura Cloud region name as createTenant takes it (`us-east-2`, `europe-west1`, `ap-south-1`).
_CLOUD_REGION = re.compile(r"^[a-z]+-[a-z]+-?\d$")
#: An Nhost subdomain (the first label of every project URL) and region name (`eu-central-1`).
_SUBDOMAIN = re.compile(r"^[a-z0-9]{1,63}$")
_REGION = re.compile(r"^[a-z]{2}-[a-z]+-\d$")


def _api_url(value: str, setting: str, default: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or is_plain_http_off_machine(parts):
        raise ValueError(f"{value!r} is not an https URL (plain http only for localhost). Fix: remove {setting} to "
                         f"use {default}")
    return value.strip().rstrip("/")


def _uuid(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not a UUID. Fix: copy the {what} (a UUID like "
                         "7a79cf94-0e53-4520-a560-1b02bf522f08) from the Hasura Cloud dashboard") from None


def _timeout(value: int) -> int:
    if not 10 <= value <= 1800:
        raise ValueError(f"must be between 10 and 1800 seconds, got {value}. Fix: remove the key for "
                         f"{DEFAULT_RESTART_TIMEOUT_SECONDS}")
    return value


class HasuraCloudSettings(StrictModel):
    """The `hasuraCloud` object: the Hasura Cloud project whose env vars the stack owns."""

    project_id: str | None = None
    """The project id (Dashboard: the project's General settings, "Project ID"); its tenant is looked up."""
    tenant_id: str | None = None
    """The project's tenant id, when known; saves the lookup. Give one of the two."""
    region: str | None = None
    """Without a project id: the stack creates a project in this region (createTenant) and owns it."""
    cloud: str = "aws"
    """The cloud of a project the stack creates (`aws` or `gcp`)."""
    protect_project: bool | None = None
    """Whether `pulumi destroy` refuses to delete a project the stack created; default: true except on `dev`."""
    api_url: str = DEFAULT_HASURA_CLOUD_API_URL
    restart_timeout: int = DEFAULT_RESTART_TIMEOUT_SECONDS
    """Seconds a deploy waits for the project to serve again after its env vars changed."""

    @field_validator("project_id")
    @classmethod
    def _project_id(cls, value: str | None) -> str | None:
        return _uuid(value, "project id (project settings, General)")

    @field_validator("tenant_id")
    @classmethod
    def _tenant_id(cls, value: str | None) -> str | None:
        return _uuid(value, "tenant id")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not _CLOUD_REGION.match(value):
            raise ValueError(f"{value!r} is not a Hasura Cloud region. Fix: use a region the dashboard offers for new "
                             "projects, e.g. `us-east-2`")
        return value

    @field_validator("cloud")
    @classmethod
    def _cloud(cls, value: str) -> str:
        if value not in ("aws", "gcp"):
            raise ValueError(f"{value!r} is not a cloud Hasura Cloud runs projects on. Fix: `aws` or `gcp`")
        return value

    @field_validator("api_url")
    @classmethod
    def _api(cls, value: str) -> str:
        return _api_url(value, "hasuraCloud.apiUrl", DEFAULT_HASURA_CLOUD_API_URL)

    @property
    def creates_project(self) -> bool:
        return self.project_id is None and self.tenant_id is None and self.region is not None

    def resolved_protect_project(self, stack: str) -> bool:
        return stack != DEV_STACK if self.protect_project is None else self.protect_project

    @field_validator("restart_timeout")
    @classmethod
    def _restart(cls, value: int) -> int:
        return _timeout(value)


class NhostSettings(StrictModel):
    """The `nhost` object: the Nhost project whose `hasura.jwtSecrets` the stack owns."""

    subdomain: str | None = None
    """The project's subdomain (Dashboard: Project settings, "Subdomain"; the first label of its URLs)."""
    region: str | None = None
    """The project's region, e.g. `eu-central-1` (Dashboard: Project settings, "Region")."""
    auth_url: str = DEFAULT_NHOST_AUTH_URL
    """Nhost's control-plane auth service, where the personal access token is exchanged for a session."""
    api_url: str = DEFAULT_NHOST_API_URL
    """Nhost's control-plane GraphQL API, which holds each project's configuration."""
    restart_timeout: int = DEFAULT_RESTART_TIMEOUT_SECONDS
    """Seconds a deploy waits for Nhost to serve Hasura again after its configuration changed."""

    @field_validator("subdomain")
    @classmethod
    def _subdomain(cls, value: str | None) -> str | None:
        if value is not None and not _SUBDOMAIN.match(value):
            raise ValueError(f"{value!r} is not an Nhost subdomain. Fix: copy it from the Nhost dashboard (Project "
                             "settings, Subdomain: lowercase letters and digits, e.g. `abcdefghijklmnopqrst`)")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.match(value):
            raise ValueError(f"{value!r} is not an Nhost region. Fix: copy it from the Nhost dashboard (Project "
                             "settings, Region), e.g. `eu-central-1`")
        return value

    @field_validator("auth_url")
    @classmethod
    def _auth(cls, value: str) -> str:
        return _api_url(value, "nhost.authUrl", DEFAULT_NHOST_AUTH_URL)

    @field_validator("api_url")
    @classmethod
    def _api(cls, value: str) -> str:
        return _api_url(value, "nhost.apiUrl", DEFAULT_NHOST_API_URL)

    @field_validator("restart_timeout")
    @classmethod
    def _restart(cls, value: int) -> int:
        return _timeout(value)

    def hasura_url(self) -> str | None:
        """The project's Hasura (hosted.md: `https://<subdomain>.hasura.<region>.nhost.run`)."""
        if self.subdomain is None or self.region is None:
            return None
        return f"https://{self.subdomain}.hasura.{self.region}.nhost.run"
