"""The env vars of a Hasura Cloud project that the stack owns, as a dynamic resource.

`read()` returns the live values of the owned vars (`live`), and `diff()` compares them with the wanted ones, so an
edit in the Cloud console shows in `pulumi preview --refresh` and `pulumi up --refresh` puts it back. A write sends
only the owned vars that differ, with the `currentHash` just read: Cloud refuses it if someone changed the env vars
in between, and then the vars are read again and the write retried once. No other env var is ever sent.

The first write of an owned var remembers what the project had there: the value it replaced (`replaced`, a secret
output) or that it had none (`added`). Destroy puts that back (`updateTenantEnv`) and deletes what the stack added
(`deleteTenantEnv`), with the same hash check and retry; a var someone changed since the stack wrote it is left as
they set it. A var the stack stops owning is left as it is and forgotten. A stack deployed by a release that kept
no such record leaves its vars in place on destroy (that release's behaviour), except those it starts owning
later, which are recorded as above.

The provider holds no client: one is built inside each method from the (secret) inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from components.targets.hasura_cloud.client import HasuraCloudClient, HasuraCloudTokenRefused, TenantEnv
from components.targets.shared.hosted import PlatformError, wait_until_serving

SECRET_OUTPUTS = ["token", "owned", "live", "adminSecret", "replaced"]
#: Inputs that change nothing in Cloud: a change of one of them is an update that writes nothing.
_CONNECTION_INPUTS = ("apiUrl", "token", "hasuraUrl", "adminSecret", "restartTimeout")


class ConcurrentEnvEdit(PlatformError):
    """Someone kept changing the project's env vars while a deploy or destroy wrote the stack's."""


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


@dataclass(frozen=True)
class EnvEdit:
    """What one pass writes: `put` with updateTenantEnv, then `remove` with deleteTenantEnv."""

    put: dict[str, str] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)

    def applied_to(self, variables: dict[str, str]) -> dict[str, str]:
        return {key: value for key, value in {**variables, **self.put}.items() if key not in self.remove}


@dataclass(frozen=True)
class EnvWrite:
    before: TenantEnv
    """The env vars as read just before the write that went through (or the last read, when nothing was written)."""
    after: TenantEnv
    wrote: bool


def edit_env(client: HasuraCloudClient, tenant_id: str, edit_for: Callable[[TenantEnv], EnvEdit],
             command: str) -> EnvWrite:
    """Read the env vars and write `edit_for(what was read)`, each write naming the hash of the env it changes. A
    refused write whose hash has moved (someone edited the env vars in between) is planned and written once more
    from a new read; `command` names what to run again when that happens twice."""
    for attempt in (1, 2):
        current = client.get_env(tenant_id)
        edit = edit_for(current)
        if not edit.put and not edit.remove:
            return EnvWrite(current, current, False)
        named = current.hash
        try:
            if edit.put:
                named = client.update_env(tenant_id, named, edit.put).hash
            if edit.remove:
                named = client.delete_env(tenant_id, named, edit.remove).hash
        except HasuraCloudTokenRefused:
            raise
        except PlatformError:
            # Refused: if the hash moved, someone edited the env vars between our read (or our last write) and this
            # write.
            if client.get_env(tenant_id).hash == named:
                raise
            if attempt == 2:
                raise ConcurrentEnvEdit(
                    f"Hasura Cloud env vars: they changed again while this {command} wrote the stack's (each write "
                    "names the hash it read, and Cloud refused it twice). Nothing of the other edits was "
                    f"overwritten. Fix: run the {command} again once nobody is editing the project's env vars"
                ) from None
            continue
        return EnvWrite(current, TenantEnv(named, edit.applied_to(current.variables)), True)
    raise AssertionError("unreachable")


def apply_env(client: HasuraCloudClient, tenant_id: str, wanted: dict[str, str]) -> EnvWrite:
    """Make the owned vars `wanted` live."""
    return edit_env(client, tenant_id, lambda current: EnvEdit(
        put={key: value for key, value in wanted.items() if current.variables.get(key) != value}), "deploy")


def restore_env(client: HasuraCloudClient, tenant_id: str, written: dict[str, str], replaced: dict[str, str],
                added: list[str]) -> EnvWrite:
    """Put back the values the stack's writes `written` replaced and delete the vars it `added`; a var whose live
    value is no longer the stack's was changed by someone since, and is left as they set it."""
    def edit_for(current: TenantEnv) -> EnvEdit:
        ours = {key for key, value in written.items() if current.variables.get(key) == value}
        return EnvEdit(put={key: value for key, value in replaced.items() if key in ours and value != written[key]},
                       remove=sorted(key for key in added if key in ours))
    return edit_env(client, tenant_id, edit_for, "destroy")


def remembered(olds: dict[str, Any], wanted: dict[str, str], before: TenantEnv) -> dict[str, Any]:
    """The `replaced` and `added` outputs after a write of `wanted` over `before`: a var owned before keeps its
    record (none on a stack deployed before records were kept); a var owned from now on records what `before` had."""
    owned_before = olds.get("owned") or {}
    replaced = {key: value for key, value in (olds.get("replaced") or {}).items() if key in wanted}
    added = {key for key in olds.get("added") or [] if key in wanted}
    for key in wanted.keys() - owned_before.keys():
        if key in before.variables:
            replaced[key] = before.variables[key]
        else:
            added.add(key)
    return {"replaced": replaced, "added": sorted(added)}


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
        return CreateResult(props["tenantId"], _ensure({}, props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_ensure(olds, news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _client(props) as cloud:
            env = cloud.get_env(props["tenantId"])
        return ReadResult(id_, {**props, "live": live_owned(env, props.get("owned") or {}), "hash": env.hash})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if "replaced" not in props and "added" not in props:
            return  # deployed by a release that kept no record of what was there before: see the module docstring
        with _client(props) as cloud:
            if cloud.find_tenant(props["tenantId"]) is None:
                return  # the project is gone (deleted in the dashboard, or by the stack that created it)
            restore_env(cloud, props["tenantId"], props.get("owned") or {}, props.get("replaced") or {},
                        props.get("added") or [])


def _client(props: dict[str, Any]) -> HasuraCloudClient:
    return HasuraCloudClient(props.get("token") or "", props["apiUrl"])


def _ensure(olds: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """Write the owned vars; `olds` are the outputs of the last deploy ({} on create, when the project's tenant is
    written for the first time)."""
    wanted = props.get("owned") or {}
    with _client(props) as cloud:
        written = apply_env(cloud, props["tenantId"], wanted)
    if written.wrote:
        wait_until_serving(props["hasuraUrl"], props["adminSecret"], timeout=float(props["restartTimeout"]),
                           what="The Hasura Cloud project's env vars")
    return {**props, "live": live_owned(written.after, wanted), "hash": written.after.hash,
            **remembered(olds, wanted, written.before)}


class HasuraCloudEnv(Resource, module="hasura_cloud_env", name="HasuraCloudEnv"):
    """The env vars of one Hasura Cloud project that the stack owns; `hash` changes with every write."""

    hash: pulumi.Output[str]
    live: pulumi.Output[dict[str, Any]]
    replaced: pulumi.Output[dict[str, str]]
    """Secret: the values the stack's first writes replaced, by env var, put back on destroy."""
    added: pulumi.Output[list[str]]
    """The env vars the project did not have before the stack wrote them, deleted on destroy."""

    def __init__(self, resource_name: str, args: HasuraCloudEnvArgs, opts: pulumi.ResourceOptions | None = None):
        props = {"hash": None, "live": None, "replaced": None, "added": None, **args}
        super().__init__(HasuraCloudEnvProvider(), resource_name, props, pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)))
