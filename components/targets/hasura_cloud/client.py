"""A plain client for the Hasura Cloud API (GraphQL over HTTP, `Authorization: pat <token>`): find a project's
tenant, read, write and delete its env vars.

Pure: no Pulumi here. The shapes follow Hasura's Cloud API reference (`projects_by_pk { tenant { id } }`,
`tenant_by_pk { id slug project { id endpoint } }`, `getTenantEnv(tenantId) { hash envVars }`,
`updateTenantEnv(tenantId, currentHash, envs: [{key, value}]) { hash envVars }`), the Hasura console's own
`updateTenantEnv` mutation (`$tenantId: uuid!, $currentHash: String!, $envs: [UpdateEnvObject!]!`) and Infisical's
Hasura Cloud sync, which reads `envVars` as `{"environment": {KEY: value}}` and deletes env vars with
`deleteTenantEnv(tenantId: uuid!, currentHash: String!, deleteEnvs: [String!]!) { hash envVars }` (the reference
does not document that one; Infisical's backend/src/services/secret-sync/hasura-cloud/hasura-cloud-sync-fns.ts
calls it). The token is only ever a header: never in a message or `repr`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from components.targets.shared.hosted import API_TIMEOUT_SECONDS, PlatformError, first_error, post_graphql

TOKEN_SETTING = "hasuraCloudToken"
#: The variable CI sets the token with (`components.targets.SECRET_ENV_VARS`).
TOKEN_ENV = "CLERK_HASURA_HASURA_CLOUD_TOKEN"

_PROJECT_TENANT = "query projectTenant($id: uuid!) { projects_by_pk(id: $id) { id tenant { id } } }"
_TENANT = "query tenant($id: uuid!) { tenant_by_pk(id: $id) { id slug project { id endpoint } } }"
_GET_ENV = "query getTenantEnv($tenantId: uuid!) { getTenantEnv(tenantId: $tenantId) { hash envVars } }"
_CREATE_TENANT = ("mutation createTenant($cloud: String!, $region: String!, $envs: [UpdateEnvObject!]) { "
                  "createTenant(cloud: $cloud, region: $region, envs: $envs) { id name } }")
_DELETE_TENANT = "mutation deleteTenant($tenantId: uuid!) { deleteTenant(tenantId: $tenantId) { status } }"
_UPDATE_ENV = ("mutation updateTenantEnv($tenantId: uuid!, $currentHash: String!, $envs: [UpdateEnvObject!]!) { "
               "updateTenantEnv(tenantId: $tenantId, currentHash: $currentHash, envs: $envs) { hash envVars } }")
_DELETE_ENV = ("mutation deleteTenantEnv($tenantId: uuid!, $currentHash: String!, $deleteEnvs: [String!]!) { "
               "deleteTenantEnv(tenantId: $tenantId, currentHash: $currentHash, deleteEnvs: $deleteEnvs) { "
               "hash envVars } }")


class HasuraCloudTokenRefused(PlatformError):
    """The personal access token was refused (or lacks access to the project)."""


@dataclass(frozen=True)
class Tenant:
    id: str
    project_id: str
    endpoint: str | None
    """The project's GraphQL endpoint (`https://<name>.hasura.app/v1/graphql`)."""

    @property
    def base_url(self) -> str | None:
        return self.endpoint.removesuffix("/").removesuffix("/v1/graphql") if self.endpoint else None


@dataclass(frozen=True)
class TenantEnv:
    hash: str
    """What a write must name as `currentHash`: a concurrent edit changes it and the write is refused."""
    variables: dict[str, str]


class HasuraCloudClient:
    """One Cloud API endpoint with one personal access token. Use as a context manager."""

    def __init__(self, token: str, api_url: str, *, timeout: float = API_TIMEOUT_SECONDS):
        self.api_url = api_url
        self._token = token
        self._http = httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"HasuraCloudClient({self.api_url!r})"

    def __enter__(self) -> HasuraCloudClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    def tenant_of_project(self, project_id: str) -> str:
        project = self._data(_PROJECT_TENANT, {"id": project_id}, "projects_by_pk")
        if not isinstance(project, dict) or not isinstance(project.get("tenant"), dict):
            raise PlatformError(f"hasuraCloud.projectId: Hasura Cloud has no project {project_id} that this token "
                                "can see. Fix: copy the Project ID from the project's settings (General), and use a "
                                f"token of an account with access to it ({TOKEN_SETTING})")
        return str(project["tenant"]["id"])

    def find_tenant(self, tenant_id: str) -> Tenant | None:
        tenant = self._data(_TENANT, {"id": tenant_id}, "tenant_by_pk")
        if not isinstance(tenant, dict):
            return None
        project = tenant.get("project") if isinstance(tenant.get("project"), dict) else {}
        return Tenant(id=str(tenant["id"]), project_id=str(project.get("id") or ""), endpoint=project.get("endpoint"))

    def create_tenant(self, cloud: str, region: str) -> str:
        """A new project (its tenant id); Cloud gives it a name and an admin secret of its own."""
        created = self._data(_CREATE_TENANT, {"cloud": cloud, "region": region, "envs": []}, "createTenant")
        if not isinstance(created, dict) or not created.get("id"):
            raise PlatformError("Hasura Cloud createTenant answered no tenant id")
        return str(created["id"])

    def delete_tenant(self, tenant_id: str) -> None:
        self._data(_DELETE_TENANT, {"tenantId": tenant_id}, "deleteTenant")

    def tenant(self, tenant_id: str) -> Tenant:
        tenant = self.find_tenant(tenant_id)
        if tenant is None:
            raise PlatformError(f"hasuraCloud.tenantId: Hasura Cloud has no tenant {tenant_id} that this token can "
                                "see. Fix: give hasuraCloud.projectId instead (the tenant is looked up), or check "
                                f"that {TOKEN_SETTING} belongs to an account with access to the project")
        return tenant

    def get_env(self, tenant_id: str) -> TenantEnv:
        return _tenant_env(self._data(_GET_ENV, {"tenantId": tenant_id}, "getTenantEnv"), "getTenantEnv")

    def update_env(self, tenant_id: str, current_hash: str, envs: dict[str, str]) -> TenantEnv:
        """Set `envs` (other env vars are left as they are). Raises `PlatformError` when Cloud refuses the write,
        e.g. because `current_hash` is stale: someone changed the env vars since they were read."""
        variables = {"tenantId": tenant_id, "currentHash": current_hash,
                     "envs": [{"key": key, "value": value} for key, value in envs.items()]}
        return _tenant_env(self._data(_UPDATE_ENV, variables, "updateTenantEnv"), "updateTenantEnv")

    def delete_env(self, tenant_id: str, current_hash: str, keys: list[str]) -> TenantEnv:
        """Delete the env vars `keys` (others are left). Raises `PlatformError` when Cloud refuses, e.g. because
        `current_hash` is stale."""
        variables = {"tenantId": tenant_id, "currentHash": current_hash, "deleteEnvs": keys}
        return _tenant_env(self._data(_DELETE_ENV, variables, "deleteTenantEnv"), "deleteTenantEnv")

    def _data(self, query: str, variables: dict[str, Any], field: str) -> Any:
        body = post_graphql(self._http, self.api_url, query, variables, headers={"Authorization": f"pat {self._token}"},
                            what=f"Hasura Cloud {field}")
        error = first_error(body)
        if error is not None:
            # A token Cloud does not accept makes the request anonymous, for which the API's fields do not exist
            # ("field 'projects' not found in type: 'query_root'": Hasura's preview-apps GitHub Action reports that
            # as invalid authorization).
            if "not found in type" in error or body.get("status") in (401, 403):
                raise HasuraCloudTokenRefused(
                    f"{TOKEN_SETTING}: Hasura Cloud refused the personal access token ({field}: {error}). Fix: make "
                    "one in the Cloud dashboard (https://cloud.hasura.io, My Account, Access Tokens) with an account "
                    f"that has access to the project, and store it: `clerk-hasura pulumi --stack <stack> config set "
                    f"--secret {TOKEN_SETTING}` (it asks for the value) (or {TOKEN_ENV} in CI)")
            raise PlatformError(
                f"Hasura Cloud {field} failed: {error}. Fix: if it says the token may not do this, use a token of "
                "an account that may change the project's env vars (its owner, or a collaborator given that "
                f"right): `clerk-hasura pulumi --stack <stack> config set --secret {TOKEN_SETTING}` (it asks for the "
                "value); otherwise run the deploy again")
        data = body.get("data")
        if not isinstance(data, dict):
            raise PlatformError(f"Hasura Cloud {field} answered without data (HTTP {body.get('status')})")
        return data.get(field)


def _tenant_env(value: Any, field: str) -> TenantEnv:
    if not isinstance(value, dict) or not isinstance(value.get("hash"), str):
        raise PlatformError(f"Hasura Cloud {field} answered without a hash and env vars")
    env_vars = value.get("envVars")
    # getTenantEnv nests them under "environment" (Infisical's parser); accept a flat object too, as Infisical's
    # parser of the updateTenantEnv answer does.
    environment = env_vars.get("environment", env_vars) if isinstance(env_vars, dict) else None
    if not isinstance(environment, dict):
        environment = {}
    return TenantEnv(hash=value["hash"], variables={str(k): str(v) for k, v in environment.items()})
