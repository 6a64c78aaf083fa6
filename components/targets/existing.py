"""Target `existing`: a Hasura that already runs (Hasura Cloud, or self-hosted with its own Postgres).

Nothing is created: the shared part applies metadata, manages the Clerk template and runs the smoke check against
`hasura.publicUrl` with `hasuraAdminSecret`. The stack's `jwtSecret` output is what that Hasura must be started
with (`HASURA_GRAPHQL_JWT_SECRET`); the smoke check's `token-accepted` proves it was.
"""

from __future__ import annotations

from components.config.settings import StackSettings
from components.errors import ClerkHasuraError
from components.hasura.client import HasuraAccessDenied, HasuraApiError, HasuraClient, HasuraError
from components.targets.base import HasuraTarget, TargetArgs

#: How long the preview waits for that Hasura: it should already be up, and a wrong URL must not hang a preview.
PREFLIGHT_SECONDS = 10.0


class ExistingHasuraUnavailable(ClerkHasuraError):
    """The Hasura of an `existing` target did not answer, or refused the admin secret, before anything ran."""


def preflight(settings: StackSettings) -> None:
    """Reach that Hasura as admin (a read: `export_metadata`) at preview, so a wrong URL or secret stops the
    deploy before any change with the setting to fix."""
    url = settings.hasura.public_url
    assert url is not None and settings.hasura_admin_secret is not None  # stack_problems made sure
    try:
        with HasuraClient(url, settings.hasura_admin_secret.get_secret_value(), timeout=PREFLIGHT_SECONDS,
                          retry_seconds=PREFLIGHT_SECONDS) as client:
            client.export_metadata()
    except HasuraAccessDenied:
        raise ExistingHasuraUnavailable(
            f"hasuraAdminSecret: the Hasura at {url} refused it. Fix: set the admin secret that Hasura runs with "
            "(Hasura Cloud: project settings, env vars, HASURA_GRAPHQL_ADMIN_SECRET): `pulumi config set --secret "
            "hasuraAdminSecret …`") from None
    except HasuraApiError as error:
        raise ExistingHasuraUnavailable(f"hasura.publicUrl: {error}") from None
    except HasuraError:
        # The client's own text advises about containers, which do not apply to this target.
        raise ExistingHasuraUnavailable(
            f"hasura.publicUrl: no Hasura answered at {url} within {PREFLIGHT_SECONDS:g} s. Fix: check the URL "
            "(the project's base URL, without /v1/graphql) and that the Hasura is running") from None


def deploy(args: TargetArgs) -> HasuraTarget:
    url = args.settings.hasura.public_url
    assert url is not None  # stack_problems made sure
    return HasuraTarget(deployer_url=url, public_url=url, instance=url)
