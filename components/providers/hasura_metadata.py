"""The Hasura metadata as a Pulumi dynamic resource: applied on create/update, read back live on refresh.

The provider only wires `components.hasura.apply` and the Hasura client (pulumi.md §2): it lives in this
importable module so it is pickled by reference, captures no client (one is built inside each method), returns
full outputs from `update`, and its `read` + `diff` compare the live metadata (`live_metadata`) with the desired
one (`metadata`, an input never overwritten) field by field, both normalized as Hasura stores them (defaults and
the order export imposes evened out, session-variable case and column order kept), so `pulumi refresh --preview-only
--expect-no-changes` and `pulumi preview --refresh --expect-no-changes` report drift, and `pulumi up --refresh`
(what `scripts/deploy` runs) repairs it. `delete` leaves metadata and data in place.

A refresh never fails because Hasura is down: `read` then records that the live state is unknown, the refresh
completes (so the target's own resources are refreshed too and the next `up` can bring Hasura back), and the next
`up` re-checks and re-applies whatever is missing.

Inputs are plain data, not a path: the metadata as authored in `metadata/` (what Hasura gets, so that after a
deploy `hasura metadata diff` shows nothing and `hasura metadata export` rewrites no file), the migrations (version,
name, SQL) and their hash, so the provider process needs no files and state records exactly what was applied;
and the schemas the target's platform owns, so `check` and apply validate the project as the program did.

Stacks deployed by releases that sent a normalized copy (session variables lower-cased, column lists sorted) hold
that copy live: on the first deploy after the upgrade `diff` sees it differ from the authored document, the
update writes the authored one once, and the next refresh finds them equal. `metadata_hash` hashes what the
metadata means (`normalize_metadata`), as before, so it stays the same through that rewrite.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, \
    ResourceProvider, UpdateResult
from pulumi.output import contains_unknowns

from components.hasura.client import DEFAULT_HEALTH_HINT, DEFAULT_TIMEOUT_SECONDS, HasuraClient, HasuraUnreachable
from components.hasura.apply import apply_project, read_applied_migrations
from components.hasura.compare import diff_metadata, normalize_metadata
from components.hasura.model import MetadataProject, content_hash
from components.hasura.rules import MetadataError, validate_project
from components.providers.hosted import HostableResource

#: How long the provider waits for Hasura to answer while it starts (connection errors and 5xx).
HASURA_START_SECONDS = 180.0

#: A refresh asks what is live now: one attempt, no waiting for a Hasura that may never start (a stopped container
#: refuses at once). Unreachable is recorded as unknown, and the next apply waits for Hasura (HASURA_START_SECONDS).
HASURA_READ_RETRY_SECONDS = 0.0
#: ...but an answer that has started may take a while (a large export).
HASURA_READ_TIMEOUT_SECONDS = 10.0

#: Outputs that hold secrets; the engine only marks same-named secret inputs by itself (pulumi.md §2.4).
SECRET_OUTPUTS = ["admin_secret"]

_INPUTS = ("hasura_url", "admin_secret", "metadata", "migrations", "metadata_hash")


class HasuraMetadataProvider(ResourceProvider):
    """Create/update apply the project; read exports the live state; diff compares it field by field."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        if contains_unknowns(news.get("metadata")) or contains_unknowns(news.get("migrations")):
            return CheckResult(news, [])
        try:
            validate_project(_project(news), platform_schemas=_platform_schemas(news))
        except MetadataError as error:
            return CheckResult(news, [CheckFailure("metadata", problem) for problem in error.problems])
        return CheckResult(news, [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        resource_id = "hasura-metadata-" + hashlib.sha256(props["hasura_url"].encode()).hexdigest()[:12]
        return CreateResult(resource_id, self._apply(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._apply(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        migrated = {m["source"] for m in props.get("migrations") or []}
        try:
            with _client(props, retry_seconds=HASURA_READ_RETRY_SECONDS, timeout=HASURA_READ_TIMEOUT_SECONDS) as client:
                live = normalize_metadata(client.export_metadata().metadata, as_stored=True)
                recorded = {source: read_applied_migrations(client, source)
                            for source in sorted(migrated or {"default"})}
                # Read-only: a refresh on every deploy must write nothing (reload_metadata would). The drift
                # command reloads sources to see DDL done outside Hasura.
                inconsistent = client.get_inconsistent_metadata()
        except HasuraUnreachable as error:
            pulumi.log.warn(f"hasura metadata: live state unknown: {error}")
            return ReadResult(id_, {**props, "live_unknown": True})
        # Only a clean version is applied (the Hasura CLI's `migrate apply` refuses a dirty one); a dirty mark in a
        # source the program migrates is drift the next apply resolves or stops on (`changed_properties`).
        applied = [str(m.version) for records in recorded.values() for m in records if not m.dirty]
        dirty = [str(m.version) for source, records in recorded.items() if source in migrated
                 for m in records if m.dirty]
        return ReadResult(id_, {**props, "live_metadata": live, "applied_migrations": applied,
                                "dirty_migrations": dirty, "inconsistent_objects": inconsistent,
                                "live_unknown": False})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if any(contains_unknowns(news.get(key)) for key in _INPUTS):
            return DiffResult(changes=True)
        return DiffResult(changes=bool(changed_properties(olds, news)))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        # Deliberately nothing: dropping metadata or tables here would lose data on `pulumi destroy` or a
        # rename of the resource. Metadata and rows stay in Hasura's databases.
        return None

    def _apply(self, props: dict[str, Any]) -> dict[str, Any]:
        project = _project(props)
        with _client(props) as client:
            result = apply_project(client, project, platform_schemas=_platform_schemas(props))
        for change in result.changes:
            pulumi.log.info(f"hasura metadata: {change}")
        return {
            **{key: props[key] for key in _INPUTS},
            "live_metadata": result.live_metadata,
            "applied_migrations": result.applied_versions,
            # The apply cleared every dirty mark of the sources it migrates, or stopped.
            "dirty_migrations": [],
            "inconsistent_objects": [],
            "live_unknown": False,
            # New at every apply, including a repair that restores the same metadata: what reruns the smoke check.
            "applied_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        }


def changed_properties(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    """What differs between state/live (`olds`) and the program (`news`), one readable line each."""
    changes: list[str] = []
    if olds.get("live_unknown"):
        changes.append("live state unknown (Hasura was unreachable at the last refresh): re-checked and re-applied")
    for key in ("hasura_url", "admin_secret"):
        if olds.get(key) != news.get(key):
            changes.append(f"{key} changed" if key == "admin_secret" else
                           f"{key}: {olds.get(key)!r} -> {news.get(key)!r}")
    desired = normalize_metadata(news.get("metadata") or {}, as_stored=True)
    current = normalize_metadata(olds.get("live_metadata") or {}, as_stored=True)
    changes += [str(change) for change in diff_metadata(desired, current)]
    migrations = news.get("migrations") or []
    labels = {str(m["version"]): f"{m['source']}/{m['version']}_{m['name']}" for m in migrations}
    dirty = olds.get("dirty_migrations") or []
    changes += [f"migration {labels.get(version, version)} marked dirty live (a deploy or `hasura migrate apply` "
                "stopped in the middle of it): the deploy clears the mark if its SQL committed, and otherwise stops "
                "naming the fix" for version in dirty]
    done = set(olds.get("applied_migrations") or []) | set(dirty)
    changes += [f"migration {labels[str(m['version'])]} not applied" for m in migrations
                if str(m["version"]) not in done]
    changes += [f"inconsistent live: {obj.get('name') or obj.get('definition')}: {obj.get('reason')}"
                for obj in olds.get("inconsistent_objects") or []]
    return changes


def _project(props: dict[str, Any]) -> MetadataProject:
    return MetadataProject.from_inputs(_whole_numbers(props["metadata"]), props.get("migrations") or [])


def _platform_schemas(props: dict[str, Any]) -> frozenset[str]:
    """`HasuraMetadataArgs.platform_schemas` as the inputs carry them (a list; none when left out)."""
    return frozenset(props.get("platform_schemas") or ())


def _whole_numbers(value: Any) -> Any:
    """Numbers crossing the engine arrive as floats (protobuf Struct); Hasura wants `limit: 1`, not `1.0`."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def _client(props: dict[str, Any], retry_seconds: float = HASURA_START_SECONDS,
            timeout: float = DEFAULT_TIMEOUT_SECONDS) -> HasuraClient:
    return HasuraClient(props["hasura_url"], props["admin_secret"], retry_seconds=retry_seconds, timeout=timeout,
                        health_hint=props.get("health_hint") or DEFAULT_HEALTH_HINT)


@dataclass(frozen=True)
class HasuraMetadataArgs:
    """Where Hasura is and which project to apply."""

    hasura_url: pulumi.Input[str]
    """Base URL of Hasura as seen from where `pulumi up` runs, e.g. `http://localhost:8080` (no /v1/graphql)."""
    admin_secret: pulumi.Input[str]
    """The admin secret the Hasura container was started with."""
    project: MetadataProject
    """The Hasura CLI project, loaded and validated by `load_project` before any resource is registered."""
    platform_schemas: frozenset[str] = frozenset()
    """Schemas whose tables the target's platform creates (`components.targets.platform_schemas`): the provider
    validates the project again with them."""
    health_hint: str = DEFAULT_HEALTH_HINT
    """What to look at when Hasura does not answer, as the stack's target names it
    (`components.targets.health_hint`); not compared by `diff`, so a new wording changes nothing live."""


class HasuraMetadata(HostableResource, module="hasura_metadata", name="HasuraMetadata"):
    """Migrations and metadata of a Hasura CLI project, applied to Hasura once it is healthy."""

    hasura_url: pulumi.Output[str]
    metadata: pulumi.Output[dict]
    """The metadata of `metadata/` as authored, what Hasura gets (an input: never replaced by what is live)."""
    live_metadata: pulumi.Output[dict]
    """The live metadata (what Hasura holds after the apply, or after a refresh), normalized as Hasura stores it:
    defaults and the order export imposes evened out, session-variable case and column order as Hasura has them."""
    applied_migrations: pulumi.Output[list]
    """Migration versions recorded live, clean (applied as the Hasura CLI counts them)."""
    dirty_migrations: pulumi.Output[list]
    """Migration versions of the sources the program migrates that are marked dirty live (a deploy or `hasura
    migrate apply` stopped in the middle of them): drift, which the next apply resolves or stops on."""
    metadata_hash: pulumi.Output[str]
    """sha256 of what the desired metadata means (`normalize_metadata`) and the migrations: changes exactly when
    what Hasura does changes, not for a change of spelling only (session-variable case, column order), which is
    still applied."""
    inconsistent_objects: pulumi.Output[list]
    applied_at: pulumi.Output[str]
    """When metadata was last applied (UTC): changes at every apply, a drift repair included."""

    def __init__(self, name: str, args: HasuraMetadataArgs, opts: pulumi.ResourceOptions | None = None):
        project = args.project
        props = {
            "hasura_url": args.hasura_url,
            "admin_secret": pulumi.Output.secret(args.admin_secret),
            "metadata": project.metadata,
            "migrations": project.to_inputs()["migrations"],
            "metadata_hash": content_hash(normalize_metadata(project.metadata), project.migrations),
            "platform_schemas": sorted(args.platform_schemas),
            "health_hint": args.health_hint,
            "live_metadata": None,
            "applied_migrations": None,
            "dirty_migrations": None,
            "inconsistent_objects": None,
            "live_unknown": None,
            "applied_at": None,
        }
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS))
        super().__init__(HasuraMetadataProvider(), name, props, opts)
