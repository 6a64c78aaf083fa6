"""The env vars of a Hasura Cloud project that the stack owns, as a dynamic resource.

`read()` returns the live values of the owned vars (`live`), and `diff()` compares them with the wanted ones, so an
edit in the Cloud console shows in `pulumi preview --refresh` and `pulumi up --refresh` puts it back. A write sends
only the owned vars that differ, with the `currentHash` just read: Cloud refuses it if someone changed the env vars
in between, and then the vars are read again and the write retried once. No other env var is ever sent.

Destroy leaves the vars in place: the Cloud API reference documents no way to delete an env var (and the project
needs a JWT secret and a database URL to serve anyway); the README says so.

The provider holds no client: one is built inside each method from the (secret) inputs.
"""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from components.targets.hasura_cloud.client import HasuraCloudClient, HasuraCloudTokenRefused, TenantEnv
from components.targets.hosted import PlatformError, wait_until_serving

SECRET_OUTPUTS = ["token", "owned", "live", "adminSecret"]
#: Inputs that change nothing in Cloud: a change of one of them is an update that writes nothing.
_CONNECTION_INPUTS = ("apiUrl", "token", "hasuraUrl", "adminSecret", "restartTimeout")


class ConcurrentEnvEdit(PlatformError):
    """Someone kept changing the project's env vars while the deploy tried to write its own."""


class HasuraCloudEnvArgs(TypedDict):
    apiUrl: pulumi.Input[str]
    tenantId: pulumi.Input[str]
    token: pulumi.Input[str]
    """Secret: the personal access token."""
    owned: pulumi.Input[dict[str, str]]
    """Secret: every env var the stack owns, by name."""
    hasuraUrl: pulumi.Input[str]
    adminSecret: pulumi.Input[str]
    """Secret: the admin secret the project serves with once the owned vars are applied."""
    restartTimeout: pulumi.Input[int]


def apply_env(client: HasuraCloudClient, tenant_id: str, wanted: dict[str, str]) -> tuple[TenantEnv, bool]:
    """Make the owned vars `wanted` live; returns the env after, and whether anything was written."""
    for attempt in (1, 2):
        current = client.get_env(tenant_id)
        changes = {key: value for key, value in wanted.items() if current.variables.get(key) != value}
        if not changes:
            return current, False
        try:
            after = client.update_env(tenant_id, current.hash, changes)
        except HasuraCloudTokenRefused:
            raise
        except PlatformError:
            # Refused: if the hash moved, someone edited the env vars between our read and our write.
            if client.get_env(tenant_id).hash == current.hash:
                raise
            if attempt == 2:
                raise ConcurrentEnvEdit(
                    "Hasura Cloud env vars: they changed again while this deploy wrote its own (the write names the "
                    "hash it read, and Cloud refused it twice). Nothing of the other edits was overwritten. Fix: "
                    "run the deploy again once nobody is editing the project's env vars") from None
            continue
        return TenantEnv(after.hash, {**current.variables, **changes}), True
    raise AssertionError("unreachable")


def live_owned(env: TenantEnv, owned: dict[str, str]) -> dict[str, str | None]:
    return {key: env.variables.get(key) for key in sorted(owned)}


class HasuraCloudEnvProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["tenantId"] if olds.get("tenantId") != news.get("tenantId") else []
        wanted = news.get("owned") or {}
        changed = olds.get("live") != live_owned(TenantEnv("", wanted), wanted)
        changed |= any(olds.get(key) != news.get(key) for key in _CONNECTION_INPUTS)
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(props["tenantId"], _ensure(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_ensure(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _client(props) as cloud:
            env = cloud.get_env(props["tenantId"])
        return ReadResult(id_, {**props, "live": live_owned(env, props.get("owned") or {}), "hash": env.hash})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Leaves every env var: see the module docstring."""


def _client(props: dict[str, Any]) -> HasuraCloudClient:
    return HasuraCloudClient(props.get("token") or "", props["apiUrl"])


def _ensure(props: dict[str, Any]) -> dict[str, Any]:
    wanted = props.get("owned") or {}
    with _client(props) as cloud:
        env, wrote = apply_env(cloud, props["tenantId"], wanted)
    if wrote:
        wait_until_serving(props["hasuraUrl"], props["adminSecret"], timeout=float(props["restartTimeout"]),
                           what="The Hasura Cloud project's env vars")
    return {**props, "live": live_owned(env, wanted), "hash": env.hash}


class HasuraCloudEnv(Resource, module="hasura_cloud_env", name="HasuraCloudEnv"):
    """The env vars of one Hasura Cloud project that the stack owns; `hash` changes with every write."""

    hash: pulumi.Output[str]
    live: pulumi.Output[dict[str, Any]]

    def __init__(self, resource_name: str, args: HasuraCloudEnvArgs, opts: pulumi.ResourceOptions | None = None):
        props = {"hash": None, "live": None, **args}
        super().__init__(HasuraCloudEnvProvider(), resource_name, props, pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)))
