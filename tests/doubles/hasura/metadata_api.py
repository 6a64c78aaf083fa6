"""`POST /v1/metadata` operations (hasura.md §1.1, §1.3–§1.9).

Writes run under the engine lock on a copy of the metadata; each one rebuilds the schema cache against the real
database (re-introspecting sources) and fails if it introduced new inconsistencies, as `buildSchemaCacheFor` does.
Only a successful write is persisted, and it bumps `resource_version` (also `reload_metadata`, §1.5).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Callable

from .admin_api import AdminApi
from .engine import Engine
from .errors import HasuraError
from .metadata import (
    PERMISSION_KINDS,
    SchemaCache,
    build_schema_cache,
    in_export_order,
    normalize_metadata,
    RELATIONSHIP_KEYS,
    normalize_permission,
    normalize_relationship,
    normalize_source,
    normalize_table,
    parse_failed,
    qualified_table,
    relationship_object_name,
    table_display,
)

READ_OPERATIONS = frozenset({"export_metadata", "get_inconsistent_metadata", "get_catalog_state"})
#: Operations on the catalog state: they leave the metadata and its resource_version alone.
CATALOG_STATE_OPERATIONS = frozenset({"get_catalog_state", "set_catalog_state"})


def _strip_prefix(reason: str) -> str:
    return reason.removeprefix("Inconsistent object: ")


def _put(table: dict[str, Any], key: str, items: list[dict[str, Any]]) -> None:
    """Set one list of a tracked table, its keys staying in export order: a permission or relationship created
    one call at a time is exported where tableMetaToOrdJSON writes its kind, not after the kinds made before it."""
    ordered = in_export_order({**table, key: items})
    table.clear()
    table.update(ordered)


@dataclass
class Work:
    """A metadata write in progress (possibly several, inside `bulk`)."""

    metadata: dict[str, Any]
    cache: SchemaCache

    def source(self, name: str, path: str = "$.args") -> dict[str, Any]:
        for source in self.metadata["sources"]:
            if source["name"] == name:
                return source
        raise HasuraError("not-exists", f'source with name "{name}" does not exist', path=path)


class MetadataApi(AdminApi):
    BULK_TYPES = frozenset({"bulk", "bulk_atomic"})

    def __init__(self, engine: Engine):
        super().__init__(engine)
        self._writes: dict[str, Callable[[Work, Any, int | None], Any]] = {
            "replace_metadata": self.replace_metadata,
            "reload_metadata": self.reload_metadata,
            "clear_metadata": self.clear_metadata,
            "drop_inconsistent_metadata": self.drop_inconsistent_metadata,
            "bulk": self.bulk,
            "bulk_atomic": self.bulk,
            "pg_add_source": self.add_source,
            "pg_drop_source": self.drop_source,
            "pg_track_table": self.track_table,
            "track_table": self.track_table,
            "pg_track_tables": self.track_tables,
            "pg_untrack_table": self.untrack_table,
            "pg_untrack_tables": self.untrack_tables,
            "untrack_table": self.untrack_table,
        }
        for kind in PERMISSION_KINDS:
            for prefix in ("pg_", ""):
                self._writes[f"{prefix}create_{kind}_permission"] = self._create_permission(kind)
                self._writes[f"{prefix}drop_{kind}_permission"] = self._drop_permission(kind)
        for rel_type in ("object", "array"):
            for prefix in ("pg_", ""):
                self._writes[f"{prefix}create_{rel_type}_relationship"] = self._create_relationship(rel_type)
        for prefix in ("pg_", ""):
            self._writes[f"{prefix}drop_relationship"] = self.drop_relationship

    @classmethod
    def writes(cls, query: dict[str, Any]) -> bool:
        """Metadata or the catalog state."""
        return query.get("type") not in READ_OPERATIONS

    @classmethod
    def _modifies_metadata(cls, query: Any) -> bool:
        if query.get("type") in cls.BULK_TYPES:
            return any(isinstance(q, dict) and cls._modifies_metadata(q) for q in query.get("args") or [])
        return query.get("type") not in READ_OPERATIONS | CATALOG_STATE_OPERATIONS

    def set_catalog_state(self, args: Any) -> dict[str, str]:
        """`{"type": "cli"|"console", "state": <any JSON>}` replaces that state whole and answers success; it is
        no metadata change, so `resource_version` stays (Hasura/Server/API/Metadata.hs queryModifiesMetadata:
        RMSetCatalogState -> False; Hasura/RQL/DDL/Metadata.hs runSetCatalogState)."""
        if not isinstance(args, dict) or "type" not in args:
            raise parse_failed('key "type" not found', "$.args")
        if args["type"] not in ("cli", "console"):
            raise parse_failed(
                f"parsing CatalogStateType failed, expected one of the tags ['cli', 'console'], "
                f"but found tag {json.dumps(args['type'])}", "$.args.type"
            )
        if "state" not in args:
            raise parse_failed('key "state" not found', "$.args")
        self.engine.store.set_catalog_state(args["type"], args["state"])
        return {"message": "success"}

    # -- dispatch ---------------------------------------------------------------------------------------------

    def run(self, query: Any) -> Any:
        """Run one request body (already authorized as admin)."""
        kind, args, version = self.query_type(query), query.get("args", {}), query.get("version")
        if kind == "export_metadata":
            cache = self.engine.cache
            metadata = copy.deepcopy(cache.metadata)
            return {"resource_version": cache.resource_version, "metadata": metadata} if version == 2 else metadata
        if kind == "get_inconsistent_metadata":
            inconsistent = self.engine.cache.inconsistent
            return {"is_consistent": not inconsistent, "inconsistent_objects": inconsistent}
        if kind == "get_catalog_state":
            return self.engine.store.catalog_state()
        if kind == "set_catalog_state":
            return self.set_catalog_state(args)
        if kind not in self._writes:
            raise parse_failed(f'unknown metadata operation "{kind}"', "$.type")
        with self.engine.lock:
            cache = self.engine.cache
            expected = query.get("resource_version")
            if expected is not None and expected != cache.resource_version:
                raise HasuraError(
                    "conflict",
                    f"metadata resource version referenced ({expected}) did not match current version",
                    status=409,
                )
            work = Work(copy.deepcopy(cache.metadata), cache)
            result = self._writes[kind](work, args, version)
            if not self._modifies_metadata(query):  # e.g. a bulk of reads
                return result
            version_now = self.engine.store.save(work.metadata)
            work.cache.resource_version = version_now
            work.cache.metadata = work.metadata
            self.engine.install(work.cache)
            return result

    def _rebuild(self, work: Work, target: str | None, *, reload_sources: bool | list[str] = True) -> None:
        """Rebuild the schema cache; new inconsistencies fail the operation (`buildSchemaCacheFor`)."""
        before = {obj["name"] for obj in work.cache.inconsistent}
        cache = build_schema_cache(
            work.metadata, work.cache.resource_version, self.engine.env, work.cache, reload_sources=reload_sources
        )
        new = [obj for obj in cache.inconsistent if obj["name"] not in before]
        matching = [obj for obj in new if obj["name"] == target]
        if matching:
            raise HasuraError(
                "invalid-configuration",
                ", ".join(_strip_prefix(obj["reason"]) for obj in matching),
                path="$.args",
                internal=matching,
            )
        if new:
            raise HasuraError(
                "unexpected", "cannot continue due to new inconsistent metadata", path="$.args", internal=new
            )
        work.cache = cache

    # -- whole-metadata operations ----------------------------------------------------------------------------

    def replace_metadata(self, work: Work, args: Any, version: int | None) -> Any:
        """§1.4: v1 args = metadata; v2 args = {metadata, allow_inconsistent_metadata, allow_warnings}."""
        v2 = version == 2 or (version is None and isinstance(args, dict) and "metadata" in args)
        if v2:
            document = args.get("metadata") if isinstance(args, dict) else None
            if document is None:
                raise parse_failed('key "metadata" not found', "$.args")
            allow_inconsistent = bool(args.get("allow_inconsistent_metadata", False))
            path = "$.args.metadata"
        else:
            document, allow_inconsistent, path = args, False, "$.args"
        metadata = normalize_metadata(document, path, current=work.metadata)
        cache = build_schema_cache(metadata, work.cache.resource_version, self.engine.env)
        if cache.inconsistent and not allow_inconsistent:
            raise HasuraError(
                "unexpected", "cannot continue due to inconsistent metadata", path="$.args",
                internal=cache.inconsistent,
            )  # fmt: skip
        work.metadata, work.cache = metadata, cache
        if not v2:
            return {"message": "success"}
        return {"is_consistent": not cache.inconsistent, "inconsistent_objects": cache.inconsistent}

    def reload_metadata(self, work: Work, args: Any, version: int | None) -> Any:
        """§1.6: re-read the stored metadata; `reload_sources` (default true) re-introspects the databases."""
        args = args or {}
        stored, _ = self.engine.store.load_or_init(work.metadata)
        work.metadata = stored
        work.cache = build_schema_cache(
            stored, work.cache.resource_version, self.engine.env, work.cache,
            reload_sources=args.get("reload_sources", True),
        )  # fmt: skip
        result: dict[str, Any] = {"is_consistent": not work.cache.inconsistent, "message": "success"}
        if work.cache.inconsistent:
            result["inconsistent_objects"] = work.cache.inconsistent
        return result

    def clear_metadata(self, work: Work, args: Any, version: int | None) -> Any:
        """§1.6 clear_metadata: empties metadata but keeps the `default` source's configuration."""
        sources = [{**s, "tables": []} for s in work.metadata["sources"] if s["name"] == "default"]
        work.metadata = {"version": 3, "sources": sources}
        work.cache = build_schema_cache(work.metadata, work.cache.resource_version, self.engine.env, work.cache)
        return {"message": "success"}

    def drop_inconsistent_metadata(self, work: Work, args: Any, version: int | None) -> Any:
        """§1.6: drops every inconsistent object whole (a permission with one bad column goes entirely, #8414)."""
        names = {obj["name"] for obj in work.cache.inconsistent}
        sources = []
        for source in work.metadata["sources"]:
            if f"source {source['name']}" in names:
                continue
            tables = []
            for entry in source["tables"]:
                if f"table {table_display(entry['table'])} in source {source['name']}" in names:
                    continue
                for kind in PERMISSION_KINDS:
                    key = f"{kind}_permissions"
                    kept = [
                        p for p in entry.get(key, [])
                        if f"permission {table_display(entry['table'])}.{p['role']}.{kind} in source {source['name']}"
                        not in names
                    ]  # fmt: skip
                    if kept:
                        entry[key] = kept
                    else:
                        entry.pop(key, None)
                tables.append(entry)
            sources.append({**source, "tables": tables})
        work.metadata["sources"] = sources
        # Custom types go as one object (clearCustomTypesInMetadata), actions one by one (dropActionInMetadata).
        if "custom_types" in names:
            work.metadata.pop("custom_types", None)
        actions = [a for a in work.metadata.get("actions", []) if f"action {a['name']}" not in names]
        if actions:
            work.metadata["actions"] = actions
        else:
            work.metadata.pop("actions", None)
        work.cache = build_schema_cache(work.metadata, work.cache.resource_version, self.engine.env, work.cache)
        return {"message": "success"}

    def bulk(self, work: Work, args: Any, version: int | None) -> Any:
        """§1.7: children in order, fail-fast, all-or-nothing; result is the array of child results."""
        if not isinstance(args, list):
            raise parse_failed("expected Array for bulk args", "$.args")
        results = []
        for index, child in enumerate(args):
            kind = child.get("type") if isinstance(child, dict) else None
            if kind in READ_OPERATIONS:
                results.append(self._read_in_bulk(work, child))
                continue
            if kind == "set_catalog_state":
                results.append(self.set_catalog_state(child.get("args")))
                continue
            if kind not in self._writes:
                raise parse_failed(f'unknown metadata operation "{kind}"', f"$.args[{index}].type")
            results.append(self._writes[kind](work, child.get("args", {}), child.get("version")))
        return results

    def _read_in_bulk(self, work: Work, child: dict) -> Any:
        if child["type"] == "export_metadata":
            return copy.deepcopy(work.metadata)
        if child["type"] == "get_inconsistent_metadata":
            return {"is_consistent": not work.cache.inconsistent, "inconsistent_objects": work.cache.inconsistent}
        return self.engine.store.catalog_state()

    # -- sources ----------------------------------------------------------------------------------------------

    def add_source(self, work: Work, args: Any, version: int | None) -> Any:
        """§1.8 pg_add_source; an existing name needs `replace_configuration: true`."""
        name = args.get("name") if isinstance(args, dict) else None
        if name is None:
            raise parse_failed('key "name" not found', "$.args")
        existing = [s for s in work.metadata["sources"] if s["name"] == name]
        if existing and not args.get("replace_configuration", False):
            raise HasuraError("already-exists", f'source with name "{name}" already exists', path="$.args")
        source = normalize_source(
            {"name": name, "kind": "postgres", "tables": existing[0]["tables"] if existing else [],
             "configuration": args.get("configuration")}, "$.args",
        )  # fmt: skip
        work.metadata["sources"] = [s for s in work.metadata["sources"] if s["name"] != name] + [source]
        self._rebuild(work, f"source {name}")
        return {"message": "success"}

    def drop_source(self, work: Work, args: Any, version: int | None) -> Any:
        """pg_drop_source (§1.8 sources); unknown name → `not-exists`."""
        name = (args or {}).get("name")
        work.source(name)
        work.metadata["sources"] = [s for s in work.metadata["sources"] if s["name"] != name]
        self._rebuild(work, None)
        return {"message": "success"}

    # -- tables -----------------------------------------------------------------------------------------------

    @staticmethod
    def _table_args(args: Any) -> tuple[str, dict[str, str]]:
        if not isinstance(args, dict) or "table" not in args:
            raise parse_failed('key "table" not found', "$.args")
        return args.get("source", "default"), qualified_table(args["table"], "$.args.table")

    @staticmethod
    def _find_table(source: dict[str, Any], table: dict[str, str]) -> dict[str, Any] | None:
        return next((t for t in source["tables"] if t["table"] == table), None)

    def track_table(self, work: Work, args: Any, version: int | None) -> Any:
        """§1.8 pg_track_table; re-track → `already-tracked`; missing table → `invalid-configuration`."""
        source_name, table = self._table_args(args)
        source = work.source(source_name)
        if self._find_table(source, table) is not None:
            raise HasuraError("already-tracked", f'view/table already tracked: "{table_display(table)}"', path="$.args")
        entry = normalize_table(
            {"table": table, "configuration": args.get("configuration") or {}, "is_enum": args.get("is_enum", False)},
            "$.args",
        )
        source["tables"] = sorted(source["tables"] + [entry], key=lambda t: (t["table"]["schema"], t["table"]["name"]))
        self._rebuild(work, f"table {table_display(table)} in source {source_name}")
        return {"message": "success"}

    def track_tables(self, work: Work, args: Any, version: int | None) -> Any:
        """§1.8 pg_track_tables (v2.26+): `{"tables": [{source, table, configuration?}]}`, all or nothing."""
        for entry in self._tables_arg(args):
            self.track_table(work, entry, version)
        return {"message": "success"}

    def untrack_tables(self, work: Work, args: Any, version: int | None) -> Any:
        """pg_untrack_tables (v2.26+), the plural of pg_untrack_table (§1.8)."""
        for entry in self._tables_arg(args):
            self.untrack_table(work, entry, version)
        return {"message": "success"}

    @staticmethod
    def _tables_arg(args: Any) -> list[Any]:
        if not isinstance(args, dict) or not isinstance(args.get("tables"), list):
            raise parse_failed('key "tables" not found', "$.args")
        return args["tables"]

    def untrack_table(self, work: Work, args: Any, version: int | None) -> Any:
        """§1.8 pg_untrack_table (its permissions go with it); untracked twice → `already-untracked`."""
        source_name, table = self._table_args(args)
        source = work.source(source_name)
        if self._find_table(source, table) is None:
            raise HasuraError(
                "already-untracked", f'view/table already untracked: "{table_display(table)}"', path="$.args"
            )
        source["tables"] = [t for t in source["tables"] if t["table"] != table]
        self._rebuild(work, None)
        return {"message": "success"}

    # -- permissions ------------------------------------------------------------------------------------------

    def _permission_target(self, work: Work, args: Any) -> tuple[str, dict, dict, str]:
        source_name, table = self._table_args(args)
        source = work.source(source_name)
        entry = self._find_table(source, table)
        if entry is None:
            raise HasuraError(
                "not-exists", f'table "{table_display(table)}" does not exist in source: {source_name}', path="$.args"
            )
        role = args.get("role")
        if role is None:
            raise parse_failed('key "role" not found', "$.args")
        return source_name, table, entry, role

    def _create_permission(self, kind: str) -> Callable[[Work, Any, int | None], Any]:
        def create(work: Work, args: Any, version: int | None) -> Any:
            """§1.9 pg_create_<kind>_permission; duplicate (or role admin) → `already-exists`."""
            source_name, table, entry, role = self._permission_target(work, args)
            key = f"{kind}_permissions"
            existing = entry.get(key, [])
            if role == "admin" or any(p["role"] == role for p in existing):
                raise HasuraError(
                    "already-exists",
                    f'{kind} permission already defined on table "{table_display(table)}" with role "{role}"',
                    path="$.args",
                )
            permission = normalize_permission(
                kind, {"role": role, "permission": args.get("permission"), "comment": args.get("comment")}, "$.args"
            )
            _put(entry, key, sorted(existing + [permission], key=lambda p: p["role"]))
            self._rebuild(work, f"permission {table_display(table)}.{role}.{kind} in source {source_name}")
            return {"message": "success"}

        return create

    def _drop_permission(self, kind: str) -> Callable[[Work, Any, int | None], Any]:
        def drop(work: Work, args: Any, version: int | None) -> Any:
            """§1.9 pg_drop_<kind>_permission; missing → `not-exists`."""
            _, table, entry, role = self._permission_target(work, args)
            key = f"{kind}_permissions"
            if not any(p["role"] == role for p in entry.get(key, [])):
                raise HasuraError(
                    "not-exists",
                    f'{kind} permission on "{table_display(table)}" for role "{role}" does not exist',
                    path="$.args",
                )
            kept = [p for p in entry[key] if p["role"] != role]
            if kept:
                entry[key] = kept
            else:
                del entry[key]
            self._rebuild(work, None)
            return {"message": "success"}

        return drop

    # -- relationships ----------------------------------------------------------------------------------------

    def _create_relationship(self, rel_type: str) -> Callable[[Work, Any, int | None], Any]:
        def create(work: Work, args: Any, version: int | None) -> Any:
            """pg_create_<object|array>_relationship (Hasura/RQL/DDL/Relationship.hs execCreateRelationship): a
            name any column or relationship of the table already has is `already-exists` "field with name "<n>"
            already exists in table "<t>""; then the schema cache is rebuilt for the new relationship, so a
            missing foreign key fails the request with that relationship's inconsistency."""
            source_name, table = self._table_args(args)
            entry = self._find_table(work.source(source_name), table)
            if entry is None:
                raise HasuraError(
                    "not-exists", f'table "{table_display(table)}" does not exist in source: {source_name}',
                    path="$.args",
                )  # fmt: skip
            relationship = normalize_relationship(args, "$.args")
            name = relationship["name"]
            catalog = work.cache.sources[source_name].catalog
            columns = catalog.get(table["schema"], table["name"]).columns if catalog is not None else {}
            taken = set(columns) | {r["name"] for key in RELATIONSHIP_KEYS for r in entry.get(key, [])}
            if name in taken:
                raise HasuraError(
                    "already-exists", f'field with name "{name}" already exists in table "{table_display(table)}"',
                    path="$.args",
                )  # fmt: skip
            key = f"{rel_type}_relationships"
            _put(entry, key, sorted(entry.get(key, []) + [relationship], key=lambda r: r["name"]))
            self._rebuild(work, relationship_object_name(rel_type, name, table, source_name))
            return {"message": "success"}

        return create

    def drop_relationship(self, work: Work, args: Any, version: int | None) -> Any:
        """pg_drop_relationship `{table, relationship}` (execDropRel: askRelType on the table's fields; the
        wording of the `not-exists` error for an unknown name is not verified)."""
        source_name, table = self._table_args(args)
        entry = self._find_table(work.source(source_name), table)
        name = args.get("relationship")
        if name is None:
            raise parse_failed('key "relationship" not found', "$.args")
        present = entry is not None and any(r["name"] == name for key in RELATIONSHIP_KEYS for r in entry.get(key, []))
        if not present:
            raise HasuraError("not-exists", f'relationship "{name}" not found in table "{table_display(table)}"',
                              path="$.args")
        for key in RELATIONSHIP_KEYS:
            kept = [r for r in entry.get(key, []) if r["name"] != name]
            if kept:
                entry[key] = kept
            else:
                entry.pop(key, None)
        self._rebuild(work, None)
        return {"message": "success"}
