"""The `nhost` stack config object: which Nhost project the stack configures, and how.

Pure: no Pulumi here. Read by the `nhost` target only (the registry, `components.targets`, refuses it on others). Its
token is a secret, a top-level key beside the other secrets (`nhostToken`).
"""

from __future__ import annotations

import re

from pydantic import field_validator

from components.config.base import StrictModel
from components.config.urls import api_base_url
from components.targets.shared.hosted import DEFAULT_RESTART_TIMEOUT_SECONDS, check_restart_timeout

#: Nhost's control plane, as the nhost CLI reaches it (its hidden `--auth-url` / `--graphql-url` defaults).
DEFAULT_NHOST_AUTH_URL = "https://otsispdzcwxyqzbfntmj.auth.eu-central-1.nhost.run/v1"
DEFAULT_NHOST_API_URL = "https://otsispdzcwxyqzbfntmj.graphql.eu-central-1.nhost.run/v1"

#: An Nhost subdomain (the first label of every project URL) and region name (`eu-central-1`).
_SUBDOMAIN = re.compile(r"^[a-z0-9]{1,63}$")
_REGION = re.compile(r"^[a-z]{2}-[a-z]+-\d$")


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
        return api_base_url(value, "nhost.authUrl", DEFAULT_NHOST_AUTH_URL)

    @field_validator("api_url")
    @classmethod
    def _api(cls, value: str) -> str:
        return api_base_url(value, "nhost.apiUrl", DEFAULT_NHOST_API_URL)

    @field_validator("restart_timeout")
    @classmethod
    def _restart(cls, value: int) -> int:
        return check_restart_timeout(value)

    def hasura_url(self) -> str | None:
        """The project's Hasura (hosted.md: `https://<subdomain>.hasura.<region>.nhost.run`)."""
        if self.subdomain is None or self.region is None:
            return None
        return f"https://{self.subdomain}.hasura.{self.region}.nhost.run"
