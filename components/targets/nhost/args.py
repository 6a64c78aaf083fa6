"""`NhostArgs`: the `nhost` settings as the `ClerkHasura` component's typed argument (`components.component`); its
token is the component's `nhost_token`, beside the other secrets.

Each attribute is the snake_case name of a key of `NhostSettings` (`components.targets.nhost.settings`); None leaves
it at the setting's default.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class NhostArgs:
    """The Nhost project whose `hasura.jwtSecrets` the stack owns (target `nhost`)."""

    subdomain: str | None = None
    region: str | None = None
    auth_url: str | None = None
    api_url: str | None = None
    restart_timeout: int | None = None
