"""A Hasura Cloud project the stack creates (`createTenant`) when no project id is given, as a dynamic resource.

Deleted on destroy (`deleteTenant`) only because the stack created it; `protect` (default: everywhere but `dev`)
makes `pulumi destroy` refuse instead. A project deleted in the dashboard is dropped on refresh and created again by
the next deploy. The provider holds no client: one is built inside each method from the (secret) inputs.
"""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from components.targets.hasura_cloud.client import HasuraCloudClient
from components.targets.shared.hosted import PlatformError

SECRET_OUTPUTS = ["token"]


class HasuraCloudProjectArgs(TypedDict):
    apiUrl: pulumi.Input[str]
    token: pulumi.Input[str]
    """Secret: the personal access token."""
    cloud: pulumi.Input[str]
    region: pulumi.Input[str]


class HasuraCloudProjectProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in ("cloud", "region") if olds.get(key) != news.get(key)]
        changed = any(olds.get(key) != news.get(key) for key in ("apiUrl", "token"))
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        with _client(props) as cloud:
            tenant = cloud.tenant(cloud.create_tenant(props["cloud"], props["region"]))
        if tenant.base_url is None:
            raise PlatformError(f"Hasura Cloud created tenant {tenant.id} but names no endpoint for it. Fix: look at "
                                "the project in the dashboard; set hasuraCloud.projectId to use it")
        return CreateResult(tenant.id, {**props, "tenantId": tenant.id, "hasuraUrl": tenant.base_url})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**news, "tenantId": olds["tenantId"], "hasuraUrl": olds["hasuraUrl"]})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _client(props) as cloud:
            tenant = cloud.find_tenant(id_)
        if tenant is None or tenant.base_url is None:
            return ReadResult("", {})  # deleted in the dashboard: refresh drops it, the next deploy creates one
        return ReadResult(id_, {**props, "tenantId": tenant.id, "hasuraUrl": tenant.base_url})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with _client(props) as cloud:
            if cloud.find_tenant(id_) is not None:
                cloud.delete_tenant(id_)


def _client(props: dict[str, Any]) -> HasuraCloudClient:
    return HasuraCloudClient(props.get("token") or "", props["apiUrl"])


class HasuraCloudProject(Resource, module="hasura_cloud_project", name="HasuraCloudProject"):
    """A Hasura Cloud project created by the stack: its tenant and the base URL its Hasura serves at."""

    tenantId: pulumi.Output[str]
    hasuraUrl: pulumi.Output[str]

    def __init__(self, resource_name: str, args: HasuraCloudProjectArgs, opts: pulumi.ResourceOptions | None = None):
        props = {"tenantId": None, "hasuraUrl": None, **args}
        super().__init__(HasuraCloudProjectProvider(), resource_name, props, pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)))
