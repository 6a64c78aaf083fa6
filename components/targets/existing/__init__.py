"""Target `existing`: a Hasura that already runs (Hasura Cloud, or self-hosted with its own Postgres).

Nothing is created: the shared part applies metadata, manages the Clerk template and runs the smoke check against
`hasura.publicUrl` with `hasuraAdminSecret`. The stack's `jwtSecret` output is what that Hasura must be started
with (`HASURA_GRAPHQL_JWT_SECRET`); the smoke check's `token-accepted` proves it was.
"""

from __future__ import annotations

from collections.abc import Mapping

from components.config.settings import SharedSettings
from components.config.stack_checks import public_url_problems
from components.errors import ClerkHasuraError
from components.hasura.client import HasuraAccessDenied, HasuraApiError, HasuraClient, HasuraError
from components.targets.base import HasuraTarget, TargetArgs

#: How long the preview waits for that Hasura: it should already be up, and a wrong URL must not hang a preview.
PREFLIGHT_SECONDS = 10.0


class ExistingHasuraUnavailable(ClerkHasuraError):
    """The Hasura of an `existing` target did not answer, or refused the admin secret, before anything ran."""


#: No settings object or token of its own.
OWN_KEYS: dict[str, type] = {}
#: Where that Hasura is and its admin secret: it runs with its own settings and database.
SHARED_KEYS = frozenset({"hasura.publicUrl", "hasuraAdminSecret"})
_NO_POSTGRES = ("the `existing` target creates no Postgres and does not configure Hasura's database. Fix: remove it "
                "(`clerk-hasura pulumi --stack <stack> config rm {key}`); give that Hasura its database URL where it "
                "runs (Hasura Cloud: project "
                "settings, env vars)")
UNREAD_KEYS = {
    "hasura": "the `existing` target runs no Hasura container, so this key would do nothing. Fix: set it on that "
              "Hasura itself (its HASURA_GRAPHQL_* environment variables) and remove the key",
    "postgres": "the `existing` target creates no Postgres; that Hasura uses its own database. Fix: remove the key",
    "postgresPassword": _NO_POSTGRES.format(key="postgresPassword"),
    "databaseUrl": _NO_POSTGRES.format(key="databaseUrl"),
}


def problems(settings: SharedSettings, stack: str) -> list[str]:
    """An existing Hasura needs its URL and admin secret (the keys it does not read are refused by the registry).
    That Hasura's admin secret is whatever it was given there: not ours to judge by length."""
    found = public_url_problems(settings, stack, missing=(
        "hasura.publicUrl: required with target `existing`: the base URL of the running Hasura. Fix: `clerk-hasura "
        f"pulumi --stack {stack} config "
        "set --path hasura.publicUrl https://<project>.hasura.app` (no /v1/graphql)"))
    if settings.hasura_admin_secret is None:
        found.append("hasuraAdminSecret: required with target `existing`: the deploy applies metadata with that "
                     f"Hasura's admin secret (HASURA_GRAPHQL_ADMIN_SECRET). Fix: `clerk-hasura pulumi --stack {stack} "
                     "config set --secret "
                     "hasuraAdminSecret …` (or CLERK_HASURA_HASURA_ADMIN_SECRET in CI)")
    return found


def preflight(settings: SharedSettings, environ: Mapping[str, str]) -> None:
    """Reach that Hasura as admin (a read: `export_metadata`) at preview, so a wrong URL or secret stops the
    deploy before any change with the setting to fix."""
    url = settings.hasura.public_url
    assert url is not None and settings.hasura_admin_secret is not None  # problems() made sure
    try:
        with HasuraClient(url, settings.hasura_admin_secret.get_secret_value(), timeout=PREFLIGHT_SECONDS,
                          retry_seconds=PREFLIGHT_SECONDS) as client:
            client.export_metadata()
    except HasuraAccessDenied:
        raise ExistingHasuraUnavailable(
            f"hasuraAdminSecret: the Hasura at {url} refused it. Fix: set the admin secret that Hasura runs with "
            "(Hasura Cloud: project settings, env vars, HASURA_GRAPHQL_ADMIN_SECRET): `clerk-hasura pulumi --stack "
            "<stack> config set --secret "
            "hasuraAdminSecret …`") from None
    except HasuraApiError as error:
        raise ExistingHasuraUnavailable(f"hasura.publicUrl: {error}") from None
    except HasuraError:
        # The client's own text advises about containers, which do not apply to this target.
        raise ExistingHasuraUnavailable(
            f"hasura.publicUrl: no Hasura answered at {url} within {PREFLIGHT_SECONDS:g} s. Fix: check the URL "
            "(the project's base URL, without /v1/graphql) and that the Hasura is running") from None


def health_hint(settings: SharedSettings, project: str, stack: str) -> str:
    return (f"that Hasura's own logs, where it runs; {settings.hasura.public_url}/healthz answers OK when it is "
            "healthy")


def deploy(args: TargetArgs) -> HasuraTarget:
    url = args.settings.hasura.public_url
    assert url is not None  # problems() made sure
    return HasuraTarget(deployer_url=url, public_url=url, instance=url)
