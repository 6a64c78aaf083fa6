"""Target `nhost`: an Nhost project whose `hasura.jwtSecrets` the stack sets through Nhost's configuration API.

The entry becomes the stack's JWT secret; every other key of the project's configuration is kept. The admin secret is
Nhost's own (`hasura.adminSecret`, read from the same configuration): the stack neither sets nor generates one. The
project's Hasura is `https://<subdomain>.hasura.<region>.nhost.run`, or `hasura.publicUrl` (a custom domain).

Before anything is created, the preflight signs in with the token, finds the project by subdomain and region, reads
its configuration and admin secret, and checks that the metadata to apply still tracks every table of Nhost's own
schemas (`auth`, `storage`) that the project tracks: the deploy replaces the whole metadata, so leaving one out
would untrack it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pydantic import SecretStr

from components.config.settings import SharedSettings
from components.config.stack_checks import public_url_problems
from components.hasura.client import HasuraAccessDenied, HasuraClient, HasuraError
from components.hasura.project import PROJECT_DIR, load_project
from components.targets.base import HasuraTarget, TargetArgs
from components.targets.nhost.client import TOKEN_SETTING, NhostClient
from components.targets.nhost.jwt_secrets import NhostJwtSecrets
from components.targets.nhost.settings import NhostSettings
from components.targets.shared.hosted import PlatformError, unread_key_reasons

NAME = "nhost"
#: Schemas whose tables Nhost's own services (Auth, Storage) create and need tracked: the app's metadata tracks them
#: and none of its migrations creates them (the registry hands this to the metadata loader).
PLATFORM_SCHEMAS = frozenset({"auth", "storage"})
#: Its settings object (`nhost`) and token (`nhostToken`).
OWN_KEYS = {"nhost": NhostSettings, "nhost_token": SecretStr}
#: Only a custom domain in front of the project's Hasura: Nhost runs Hasura and Postgres, and holds the admin secret.
SHARED_KEYS = frozenset({"hasura.publicUrl"})
UNREAD_KEYS = {
    **unread_key_reasons(NAME, "the project's settings in the Nhost dashboard (or nhost/nhost.toml)"),
    "hasuraAdminSecret": f"the `{NAME}` target uses the project's own admin secret (hasura.adminSecret of its "
                         "configuration, read at deploy). Fix: `clerk-hasura pulumi --stack <stack> config rm "
                         "hasuraAdminSecret`",
    "databaseUrl": "an Nhost project runs its own Postgres. Fix: `clerk-hasura pulumi --stack <stack> config rm "
                   "databaseUrl`",
}
#: The key types Nhost's `#JWTSecret` allows (HMAC or RSA; no EC or Ed25519 keys): its CUE schema, schema.cue.
NHOST_JWT_TYPES = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512")
#: How long the preview waits for the project's Hasura to answer.
PREFLIGHT_SECONDS = 10.0


@dataclass(frozen=True)
class NhostProject:
    """What the preflight found: the app, where its Hasura serves, and its admin secret (used by the stack)."""

    app_id: str
    hasura_url: str
    admin_secret: str = field(repr=False)


def problems(settings: SharedSettings, stack: str) -> list[str]:
    nhost = settings.nhost
    found = []
    if settings.nhost_token is None:
        found.append(f"{TOKEN_SETTING}: required with target `{NAME}`: the deploy sets the project's JWT secret "
                     "through Nhost's configuration API with a personal access token. Fix: make one in the Nhost "
                     f"dashboard (Account, Personal Access Tokens), then `clerk-hasura pulumi --stack {stack} config "
                     f"set --secret {TOKEN_SETTING} "
                     "…` (or CLERK_HASURA_NHOST_TOKEN in CI)")
    for key, example in (("subdomain", "abcdefghijklmnopqrst"), ("region", "eu-central-1")):
        if getattr(nhost, key) is None:
            found.append(f"nhost.{key}: required with target `{NAME}`. Fix: copy it from the Nhost dashboard "
                         f"(Project settings) and `clerk-hasura pulumi --stack {stack} config set --path nhost.{key} "
                         f"{example}`")
    found += _jwt_secret_problems(settings)
    if settings.hasura.public_url is not None:
        found += public_url_problems(settings, stack, missing="")
    return found


def _jwt_secret_problems(settings: SharedSettings) -> list[str]:
    """What of the Clerk settings Nhost's `hasura.jwtSecrets` cannot hold (its CUE schema `#JWTSecret`, and the Go
    types the configuration API decodes it into: `header` and `audience` are strings), each with its fix."""
    clerk, found = settings.clerk, []
    if clerk.claims == "session":
        found.append("clerk.claims: `session` needs Hasura's claims_map, which Nhost's configuration writes in a "
                     f"different form this stack does not produce. Fix: use the default `template` on target `{NAME}`")
    if clerk.cookie:
        found.append("clerk.cookie: reading the token from Clerk's `__session` cookie needs Hasura's header object "
                     "({\"type\": \"Cookie\", …}), and Nhost's configuration holds `header` as a string only. Fix: "
                     "`clerk-hasura pulumi --stack <stack> config rm --path clerk.cookie` and send the token as "
                     "`Authorization: Bearer <token>` "
                     "(Clerk's getToken({ template }))")
    if settings.clerk_signing_key is not None and clerk.signing_algorithm not in (None, *NHOST_JWT_TYPES):
        found.append(f"clerk.signingAlgorithm: Nhost's configuration takes {', '.join(NHOST_JWT_TYPES)} keys, not "
                     f"{clerk.signing_algorithm}. Fix: give the Clerk template a custom signing key of one of those "
                     "(e.g. RS256), store it with `clerk-hasura pulumi --stack <stack> config set --secret "
                     "clerkSigningKey …` (the public key for "
                     "RS*) and `clerk-hasura pulumi --stack <stack> config set --path clerk.signingAlgorithm RS256`; "
                     "or remove both to verify "
                     "with Clerk's JWKS")
    if isinstance(clerk.audience, list):
        found.append("clerk.audience: Nhost's configuration holds one audience (a string), not a list. Fix: "
                     "`clerk-hasura pulumi --stack <stack> config set --path clerk.audience <aud>` with the one `aud` the Clerk template issues")
    return found


def preflight(settings: SharedSettings, environ: Mapping[str, str]) -> NhostProject:
    nhost = settings.nhost
    assert settings.nhost_token is not None and nhost.subdomain and nhost.region  # problems() made sure
    with NhostClient(settings.nhost_token.get_secret_value(), nhost.auth_url, nhost.api_url) as client:
        app = client.find_app(nhost.subdomain, nhost.region)
        json.loads(client.config_raw(app.id))  # the token may read (and so replace) the configuration
        admin_secret = client.admin_secret(app.id)
    hasura_url = (settings.hasura.public_url or nhost.hasura_url() or "").rstrip("/")
    tracked = _tracked_nhost_tables(hasura_url, admin_secret)
    wanted = nhost_tables(load_project(PROJECT_DIR.parent / settings.metadata_dir,
                                       platform_schemas=PLATFORM_SCHEMAS).metadata)
    if missing := sorted(tracked - wanted):
        raise PlatformError(
            f"metadataDir: the metadata in {settings.metadata_dir} does not track {', '.join(missing)}, which the "
            f"Nhost project tracks for its own services; applying it would untrack them. Fix: point metadataDir at "
            "the app's Nhost project folder (nhost/, whose metadata tracks them), or add those tables to its "
            "databases/default/tables")
    return NhostProject(app_id=app.id, hasura_url=hasura_url, admin_secret=admin_secret)


def nhost_tables(metadata: dict[str, Any]) -> set[str]:
    """`schema.name` of every table of Nhost's schemas that `metadata` tracks, in any source."""
    return {f"{table['table']['schema']}.{table['table']['name']}"
            for source in metadata.get("sources") or [] for table in source.get("tables") or []
            if isinstance(table.get("table"), dict) and table["table"].get("schema") in PLATFORM_SCHEMAS}


def _tracked_nhost_tables(hasura_url: str, admin_secret: str) -> set[str]:
    try:
        with HasuraClient(hasura_url, admin_secret, timeout=PREFLIGHT_SECONDS,
                          retry_seconds=PREFLIGHT_SECONDS) as hasura:
            return nhost_tables(hasura.export_metadata().metadata)
    except HasuraAccessDenied:
        raise PlatformError(f"nhostToken: the Hasura at {hasura_url} refused the admin secret Nhost holds for the "
                            "project. Fix: check that nhost.subdomain names the project this Hasura belongs to, and "
                            "hasura.publicUrl if set") from None
    except HasuraError:
        raise PlatformError(f"hasura.publicUrl: no Hasura answered at {hasura_url} within {PREFLIGHT_SECONDS:g} s. "
                            "Fix: check nhost.subdomain and nhost.region (or hasura.publicUrl, if set), and that the "
                            "project is not paused") from None


def health_hint(settings: SharedSettings, project: str, stack: str) -> str:
    return (f"project {settings.nhost.subdomain} in the Nhost dashboard: whether it is paused, and its Hasura "
            "service's logs")


def deploy(args: TargetArgs) -> HasuraTarget:
    settings, project = args.settings, args.preflight
    assert isinstance(project, NhostProject) and settings.nhost_token is not None
    entry = pulumi.Output.from_input(args.jwt_secret).apply(json.loads)
    secrets = NhostJwtSecrets(f"{args.name}-nhost-jwt-secrets", {
        "authUrl": settings.nhost.auth_url,
        "apiUrl": settings.nhost.api_url,
        "appId": project.app_id,
        "token": pulumi.Output.secret(settings.nhost_token.get_secret_value()),
        "entry": entry,
        "hasuraUrl": project.hasura_url,
        "adminSecret": args.admin_secret,
        "restartTimeout": settings.nhost.restart_timeout,
    }, opts=pulumi.ResourceOptions(parent=args.parent))
    return HasuraTarget(deployer_url=project.hasura_url, public_url=project.hasura_url,
                        instance=secrets.appliedAt.apply(lambda at: at or "unchanged"), serving=[secrets],
                        outputs={"nhostAppId": project.app_id})
