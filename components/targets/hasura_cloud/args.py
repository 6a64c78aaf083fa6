"""`HasuraCloudArgs`: the `hasuraCloud` settings as the `ClerkHasura` component's typed argument
(`components.component`); its token is the component's `hasura_cloud_token`, beside the other secrets.

Each attribute is the snake_case name of a key of `HasuraCloudSettings` (`components.targets.hasura_cloud.settings`);
None leaves it at the setting's default.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class HasuraCloudArgs:
    """The Hasura Cloud project whose env vars the stack owns (target `hasura-cloud`)."""

    project_id: str | None = None
    tenant_id: str | None = None
    region: str | None = None
    cloud: str | None = None
    protect_project: bool | None = None
    api_url: str | None = None
    restart_timeout: int | None = None
