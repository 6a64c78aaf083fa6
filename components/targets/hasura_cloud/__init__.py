"""Target `hasura-cloud`: a Hasura Cloud project whose env vars the stack sets through the Cloud API.

The stack owns `HASURA_GRAPHQL_JWT_SECRET` (computed, as on every target), `PG_DATABASE_URL` (from `databaseUrl`),
`HASURA_GRAPHQL_CORS_DOMAIN` and `HASURA_GRAPHQL_UNAUTHORIZED_ROLE` when set, and the admin secret unless the project
has one and the stack none (then the project's is kept and used). No other env var of the project is touched.
Destroy puts back what the stack's first writes replaced and deletes what they added (`env_vars.py`).

Before anything is created, the preflight reaches the Cloud API with the token, finds the project's tenant and
endpoint and reads its env vars, so a wrong token or project fails the preview naming the setting to fix. Without a
project id but with `hasuraCloud.region`, the stack creates the project (`project.py`) and owns it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pydantic import SecretStr

from components.config.settings import SharedSettings
from components.config.stack_checks import key_name, public_url_problems, secret_problems
from components.targets.base import HasuraTarget, TargetArgs
from components.targets.hasura_cloud.client import TOKEN_SETTING, HasuraCloudClient
from components.targets.hasura_cloud.env_vars import HasuraCloudEnv
from components.targets.hasura_cloud.project import HasuraCloudProject
from components.targets.hasura_cloud.settings import HasuraCloudSettings
from components.targets.shared.hasura_env import APP_DATABASE_URL_ENV
from components.targets.shared.hosted import PlatformError, unread_key_reasons

NAME = "hasura-cloud"
JWT_SECRET_ENV = "HASURA_GRAPHQL_JWT_SECRET"
ADMIN_SECRET_ENV = "HASURA_GRAPHQL_ADMIN_SECRET"
CORS_ENV = "HASURA_GRAPHQL_CORS_DOMAIN"
UNAUTHORIZED_ROLE_ENV = "HASURA_GRAPHQL_UNAUTHORIZED_ROLE"

#: Its settings object (`hasuraCloud`) and token (`hasuraCloudToken`).
OWN_KEYS = {"hasura_cloud": HasuraCloudSettings, "hasura_cloud_token": SecretStr}
#: The `hasura.*` keys it sets through the project's env vars, the admin secret, and the app database
#: (`PG_DATABASE_URL`); the project runs Hasura and its metadata database.
SHARED_KEYS = frozenset({"hasura.publicUrl", "hasura.corsDomains", "hasura.unauthorizedRole", "hasuraAdminSecret",
                         "databaseUrl"})
UNREAD_KEYS = unread_key_reasons(NAME, "the project's Env vars in the Hasura Cloud dashboard")


@dataclass(frozen=True)
class CloudProject:
    """What the preflight found: the project's tenant, where it serves, and the admin secret to keep; tenant and URL
    are None when the stack creates the project."""

    tenant_id: str | None
    hasura_url: str | None
    admin_secret: str | None = field(repr=False)
    """The project's own admin secret, kept (and used) because the stack configures none; None otherwise."""


def problems(settings: SharedSettings, stack: str) -> list[str]:
    cloud = settings.hasura_cloud
    found = []
    if settings.hasura_cloud_token is None:
        found.append(f"{TOKEN_SETTING}: required with target `{NAME}`: the deploy sets the project's env vars "
                     "through the Cloud API with a personal access token. Fix: make one in the Cloud dashboard (My "
                     f"Account, Access Tokens), then `clerk-hasura pulumi --stack {stack} config set --secret "
                     f"{TOKEN_SETTING} …` (or "
                     "CLERK_HASURA_HASURA_CLOUD_TOKEN in CI)")
    if cloud.project_id is None and cloud.tenant_id is None and cloud.region is None:
        found.append(f"hasuraCloud.projectId: required with target `{NAME}`. Fix: copy the Project ID from the "
                     f"project's settings (General) and `clerk-hasura pulumi --stack {stack} config set --path "
                     "hasuraCloud.projectId <id>`; or set "
                     "hasuraCloud.region (e.g. us-east-2) to have the stack create a project")
    if cloud.creates_project and settings.database_url is None:
        found.append("databaseUrl: required when the stack creates the Hasura Cloud project (a new project has no "
                     f"database). Fix: `clerk-hasura pulumi --stack {stack} config set --secret databaseUrl "
                     "postgres://…`")
    if not cloud.creates_project:
        found += [f"hasuraCloud.{key_name(cloud, key)}: only for a project the stack creates (no projectId or "
                  "tenantId); with a project given it would do nothing. Fix: remove the key"
                  for key in sorted(cloud.model_fields_set & {"region", "cloud", "protect_project"})]
    if settings.hasura.public_url is not None:
        found += public_url_problems(settings, stack, missing="")
    return found + secret_problems(settings, stack)


def preflight(settings: SharedSettings, environ: Mapping[str, str]) -> CloudProject:
    cloud = settings.hasura_cloud
    assert settings.hasura_cloud_token is not None  # problems() made sure
    with HasuraCloudClient(settings.hasura_cloud_token.get_secret_value(), cloud.api_url) as client:
        if cloud.creates_project:
            client.find_tenant(str(uuid.UUID(int=0)))  # a read any valid token may make: checks the token
            return CloudProject(tenant_id=None, hasura_url=None, admin_secret=None)
        tenant_id = client.tenant_of_project(cloud.project_id) if cloud.project_id else cloud.tenant_id
        assert tenant_id is not None
        if cloud.tenant_id is not None and tenant_id != cloud.tenant_id:
            raise PlatformError(f"hasuraCloud.tenantId: {cloud.tenant_id} is not the tenant of project "
                                f"{cloud.project_id} ({tenant_id}). Fix: remove hasuraCloud.tenantId (it is looked up)")
        tenant = client.tenant(tenant_id)
        env = client.get_env(tenant_id)
    hasura_url = settings.hasura.public_url or tenant.base_url
    if hasura_url is None:
        raise PlatformError(f"hasura.publicUrl: Hasura Cloud names no endpoint for tenant {tenant_id}. Fix: set "
                            "hasura.publicUrl to the project's GraphQL API URL without /v1/graphql")
    if settings.database_url is None and APP_DATABASE_URL_ENV not in env.variables:
        raise PlatformError(f"databaseUrl: the project has no {APP_DATABASE_URL_ENV}, and metadata reads the app "
                            f"database URL from it. Fix: `clerk-hasura pulumi --stack <stack> config set --secret "
                            "databaseUrl postgres://…` (the "
                            "stack then owns the env var)")
    kept = env.variables.get(ADMIN_SECRET_ENV) if settings.hasura_admin_secret is None else None
    return CloudProject(tenant_id=tenant_id, hasura_url=hasura_url.rstrip("/"), admin_secret=kept or None)


def owned_env(settings: SharedSettings, project: CloudProject, args: TargetArgs) -> pulumi.Output[dict[str, str]]:
    """The env vars the stack owns, with their values (a secret Output)."""
    plain = {}
    if settings.hasura.cors_domains is not None:
        plain[CORS_ENV] = ", ".join(settings.hasura.cors_domains)
    if settings.hasura.unauthorized_role is not None:
        plain[UNAUTHORIZED_ROLE_ENV] = settings.hasura.unauthorized_role
    if settings.database_url is not None:
        plain[APP_DATABASE_URL_ENV] = settings.database_url.get_secret_value()
    secrets: dict[str, pulumi.Input[str]] = {JWT_SECRET_ENV: args.jwt_secret}
    if project.admin_secret is None:
        secrets[ADMIN_SECRET_ENV] = args.admin_secret
    return pulumi.Output.secret(pulumi.Output.all(**secrets).apply(lambda values: {**plain, **values}))


def health_hint(settings: SharedSettings, project: str, stack: str) -> str:
    cloud = settings.hasura_cloud
    which = f"project {cloud.project_id}" if cloud.project_id else "the stack's project"
    return (f"{which} in the Hasura Cloud dashboard (https://cloud.hasura.io): its status, its env vars and its "
            "logs")


def deploy(args: TargetArgs) -> HasuraTarget:
    settings, project = args.settings, args.preflight
    assert isinstance(project, CloudProject) and settings.hasura_cloud_token is not None
    token = pulumi.Output.secret(settings.hasura_cloud_token.get_secret_value())
    tenant_id: pulumi.Input[str]
    hasura_url: pulumi.Input[str]
    if project.tenant_id is None:
        created = HasuraCloudProject(f"{args.name}-hasura-cloud-project", {
            "apiUrl": settings.hasura_cloud.api_url, "token": token, "cloud": settings.hasura_cloud.cloud,
            "region": settings.hasura_cloud.region,
        }, opts=pulumi.ResourceOptions(parent=args.parent,
                                       protect=settings.hasura_cloud.resolved_protect_project(args.stack)))
        tenant_id, hasura_url = created.tenantId, settings.hasura.public_url or created.hasuraUrl
    else:
        assert project.hasura_url is not None
        tenant_id, hasura_url = project.tenant_id, project.hasura_url
    env = HasuraCloudEnv(f"{args.name}-hasura-cloud-env", {
        "apiUrl": settings.hasura_cloud.api_url,
        "tenantId": tenant_id,
        "token": token,
        "owned": owned_env(settings, project, args),
        "hasuraUrl": hasura_url,
        "adminSecret": args.admin_secret,
        "restartTimeout": settings.hasura_cloud.restart_timeout,
    }, opts=pulumi.ResourceOptions(parent=args.parent))
    return HasuraTarget(deployer_url=hasura_url, public_url=hasura_url, instance=env.hash, serving=[env],
                        outputs={"hasuraCloudTenantId": tenant_id})
