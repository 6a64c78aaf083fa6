"""`hasura.jwtSecrets` of an Nhost project's configuration, owned by the stack, as a dynamic resource.

The configuration is one JSON document; a write replaces all of it (`replaceConfigRawJSON`, as `nhost config apply`
does), so the document is read, only `hasura.jwtSecrets` is changed, and every other key goes back as it was read.
Nhost's replace carries no version check: the document is read again just before the write, and if someone saved in
the dashboard in between, the change is rebuilt on what they saved (once more, then a clear error). A save landing in
the instant between that second read and the write is the one case this cannot see; the README says so.

`read()` returns the live `hasura.jwtSecrets`, and `diff()` compares it with the wanted entry, so a dashboard edit
shows in `pulumi preview --refresh` and `pulumi up --refresh` puts it back. Nhost's schema wants exactly one entry, so
destroy replaces the stack's entry, if it is still there, with the one a new Nhost project has
(`NHOST_DEFAULT_JWT_SECRET`).

Numbers reach a dynamic provider from the engine as floats (pulumi/pulumi#13830: `allowed_skew` 5 arrives as 5.0),
and Nhost decodes `allowed_skew` into a uint32, refusing `5.0`: the entry is written with whole numbers as integers.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, TypedDict

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from components.targets.nhost.client import NhostClient
from components.targets.shared.hosted import PlatformError, wait_until_serving

SECRET_OUTPUTS = ["token", "entry", "live", "adminSecret"]
_CONNECTION_INPUTS = ("authUrl", "apiUrl", "token", "hasuraUrl", "adminSecret", "restartTimeout")
#: The `hasura.jwtSecrets` entry of a new Nhost project: the nhost CLI's `project.DefaultConfig()`
#: (nhost/nhost, cli/project/config.go), Nhost's HS256 secret held as the project secret HASURA_GRAPHQL_JWT_SECRET.
NHOST_DEFAULT_JWT_SECRET = {"type": "HS256", "key": "{{ secrets.HASURA_GRAPHQL_JWT_SECRET }}"}


class ConcurrentConfigEdit(PlatformError):
    """Someone kept saving the project's configuration while the deploy tried to write its JWT secret."""


class NhostJwtSecretsArgs(TypedDict):
    authUrl: pulumi.Input[str]
    apiUrl: pulumi.Input[str]
    appId: pulumi.Input[str]
    token: pulumi.Input[str]
    entry: pulumi.Input[dict[str, Any]]
    """The JWT secret (Hasura's `HASURA_GRAPHQL_JWT_SECRET` object) that becomes the only `hasura.jwtSecrets` entry."""
    hasuraUrl: pulumi.Input[str]
    adminSecret: pulumi.Input[str]
    restartTimeout: pulumi.Input[int]


def jwt_secrets_of(config: dict[str, Any]) -> list[Any] | None:
    hasura = config.get("hasura")
    return hasura.get("jwtSecrets") if isinstance(hasura, dict) else None


def with_jwt_secrets(config: dict[str, Any], secrets: list[Any]) -> dict[str, Any]:
    """`config` with `hasura.jwtSecrets` set; every other key as it was."""
    return {**config, "hasura": {**(config.get("hasura") or {}), "jwtSecrets": secrets}}


def without_entry(current: list[Any] | None, entry: Any) -> list[Any] | None:
    """`current` without the stack's `entry`; Nhost's default entry when that leaves none (its schema wants one).
    Unchanged when `entry` is not there (someone replaced it since)."""
    if entry not in (current or []):
        return current
    return [secret for secret in current or [] if secret != entry] or [NHOST_DEFAULT_JWT_SECRET]


def whole_numbers_as_integers(value: Any) -> Any:
    """`value` with every float that is a whole number (how the engine hands integers over) as an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: whole_numbers_as_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers_as_integers(item) for item in value]
    return value


def apply_jwt_secrets(client: NhostClient, app_id: str, change: Any) -> tuple[list[Any] | None, bool]:
    """Write `change(current jwtSecrets) -> wanted jwtSecrets` into the configuration, keeping every other key;
    returns the live jwtSecrets after, and whether anything was written."""
    for _attempt in (1, 2, 3):
        raw = client.config_raw(app_id)
        config = json.loads(raw)
        wanted = change(jwt_secrets_of(config))
        if wanted == jwt_secrets_of(config):
            return wanted, False
        if client.config_raw(app_id) != raw:
            continue  # saved in the dashboard since the first read: build the change on what is there now
        client.replace_config_raw(app_id, json.dumps(with_jwt_secrets(config, wanted)))
        return wanted, True
    raise ConcurrentConfigEdit(
        "Nhost configuration: it kept changing while this deploy wrote hasura.jwtSecrets (read three times, "
        "different each time); nothing was written. Fix: run the deploy again once nobody is editing the project's "
        "settings")


class NhostJwtSecretsProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["appId"] if olds.get("appId") != news.get("appId") else []
        changed = olds.get("live") != [news.get("entry")]
        changed |= any(olds.get(key) != news.get(key) for key in _CONNECTION_INPUTS)
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(props["appId"], _ensure(props, applied_at=None))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_ensure(news, applied_at=olds.get("appliedAt")))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _client(props) as nhost:
            live = jwt_secrets_of(json.loads(nhost.config_raw(props["appId"])))
        return ReadResult(id_, {**props, "live": live})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with _client(props) as nhost:
            apply_jwt_secrets(nhost, props["appId"], lambda current: without_entry(current, props.get("entry")))


def _client(props: dict[str, Any]) -> NhostClient:
    return NhostClient(props.get("token") or "", props["authUrl"], props["apiUrl"])


def _ensure(props: dict[str, Any], *, applied_at: str | None) -> dict[str, Any]:
    with _client(props) as nhost:
        live, wrote = apply_jwt_secrets(nhost, props["appId"],
                                        lambda _current: [whole_numbers_as_integers(props["entry"])])
    if wrote:
        wait_until_serving(props["hasuraUrl"], props["adminSecret"], timeout=float(props["restartTimeout"]),
                           what="The Nhost project's hasura.jwtSecrets")
        applied_at = datetime.now(timezone.utc).isoformat()
    return {**props, "live": live, "appliedAt": applied_at}


class NhostJwtSecrets(Resource, module="nhost_jwt_secrets", name="NhostJwtSecrets"):
    """`hasura.jwtSecrets` of one Nhost project, set to the stack's JWT secret."""

    live: pulumi.Output[list[Any]]
    appliedAt: pulumi.Output[str]
    """When the stack last wrote the entry (Nhost then restarted Hasura with it)."""

    def __init__(self, resource_name: str, args: NhostJwtSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        props = {"live": None, "appliedAt": None, **args}
        super().__init__(NhostJwtSecretsProvider(), resource_name, props, pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)))
