"""The `hasuraCloud` stack config object: which Hasura Cloud project the stack configures, and how.

Pure: no Pulumi here. Read by the `hasura-cloud` target only (the registry, `components.targets`, refuses it on
others). Its token is a secret, a top-level key beside the other secrets (`hasuraCloudToken`).
"""

from __future__ import annotations

import re
import uuid

from pydantic import field_validator

from components.config.base import StrictModel
from components.config.containers import DEV_STACK
from components.config.urls import api_base_url
from components.targets.shared.hosted import DEFAULT_RESTART_TIMEOUT_SECONDS, check_restart_timeout

#: The Hasura Cloud API (hosted.md: Cloud API reference, "Endpoint").
DEFAULT_HASURA_CLOUD_API_URL = "https://data.pro.hasura.io/v1/graphql"

#: A Hasura Cloud region name as createTenant takes it (`us-east-2`, `europe-west1`, `ap-south-1`).
_CLOUD_REGION = re.compile(r"^[a-z]+-[a-z]+-?\d$")


def _uuid(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not a UUID. Fix: copy the {what} (a UUID like "
                         "7a79cf94-0e53-4520-a560-1b02bf522f08) from the Hasura Cloud dashboard") from None



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
    """The Hasura Cloud API (a GraphQL endpoint)."""
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
        return api_base_url(value, "hasuraCloud.apiUrl", DEFAULT_HASURA_CLOUD_API_URL)

    @property
    def creates_project(self) -> bool:
        return self.project_id is None and self.tenant_id is None and self.region is not None

    def resolved_protect_project(self, stack: str) -> bool:
        return stack != DEV_STACK if self.protect_project is None else self.protect_project

    @field_validator("restart_timeout")
    @classmethod
    def _restart(cls, value: int) -> int:
        return check_restart_timeout(value)
