"""Metadata documents: parsing + normalization (as export shows them), consistency against the real database,
and persistence in the metadata database (hasura.md §1.3–§1.9, §2.1, §3.3).

Normalization mirrors what the server does on export (§1.3): defaults filled in (source `kind`,
`isolation_level`, `use_prepared_statements`, pool settings) or dropped (`false`/empty values), string table names
expanded to `{name, schema}`, unknown keys dropped (aeson ignores them), fixed key order, tables sorted by
(schema, name) and permissions by role (`listToMaybeOrdPairSort`). A product must therefore compare semantically.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import psycopg

from . import sql as pg
from .actions import (action_problem, check_action_definition, custom_type_problems, normalize_custom_types)
from .errors import HasuraError

PERMISSION_KINDS = ("insert", "select", "update", "delete")
_TOP_LEVEL_ORDER = (
    "remote_schemas", "query_collections", "allowlist", "actions", "custom_types", "cron_triggers",
    "rest_endpoints", "api_limits", "metrics_config", "inherited_roles", "graphql_schema_introspection",
    "network", "backend_configs", "opentelemetry",
)  # fmt: skip
_TABLE_EXTRAS = ("object_relationships", "array_relationships", "computed_fields", "remote_relationships")
#: A table's keys in the order export writes them, whatever order they were created in: relationships and
#: computed fields, then permissions insert, select, update, delete (Hasura/RQL/Types/Metadata/Serialization.hs
#: tableMetaToOrdJSON: table, is_enum, configuration, object_relationships, array_relationships,
#: computed_fields, remote_relationships, insert/select/update/delete_permissions, event_triggers,
#: apollo_federation_config).
TABLE_EXPORT_ORDER = ("table", "is_enum", "configuration", *_TABLE_EXTRAS,
                      *(f"{kind}_permissions" for kind in PERMISSION_KINDS), "event_triggers")
_PERMISSION_KEYS = {
    "select": ("columns", "computed_fields", "filter", "limit", "allow_aggregations", "query_root_fields",
               "subscription_root_fields"),
    "insert": ("check", "set", "columns", "backend_only", "validate_input"),
    "update": ("columns", "filter", "check", "set", "backend_only", "validate_input"),
    "delete": ("filter", "backend_only", "validate_input"),
}  # fmt: skip
_REQUIRED_PERMISSION_KEYS = {"select": ("columns", "filter"), "insert": ("check",), "update": ("columns", "filter"),
                             "delete": ("filter",)}  # fmt: skip
_DEFAULT_CONNECTION_LIFETIME = 600
#: Hasura/RQL/Types/Common.hs defaultActionTimeoutSecs.
_DEFAULT_ACTION_TIMEOUT = 30
_EMPTY_INTROSPECTION_OPTIONS = {"disabled_for_roles": []}

EMPTY_METADATA: dict[str, Any] = {"version": 3, "sources": []}
#: `hdb_version.version`: the server's catalog schema version (NOT NULL there; nothing here reads it).
CATALOG_VERSION = "48"


def parse_failed(message: str, path: str) -> HasuraError:
    return HasuraError("parse-failed", message, path=path)


def _require(obj: Any, key: str, path: str) -> Any:
    if not isinstance(obj, dict):
        raise parse_failed(f"expected Object, but encountered {type(obj).__name__}", path)
    if key not in obj:
        raise parse_failed(f'key "{key}" not found', path)
    return obj[key]


def _is_empty(value: Any) -> bool:
    return value is None or value is False or value == [] or value == {}


# ---------------------------------------------------------------------------------------------------------------
# Normalization
# ---------------------------------------------------------------------------------------------------------------


def qualified_table(table: Any, path: str) -> dict[str, str]:
    """`TableName`: `"users"` (schema public) or `{"schema","name"}` → `{"name","schema"}` in export order."""
    if isinstance(table, str):
        return {"name": table, "schema": "public"}
    name = _require(table, "name", path)
    return {"name": name, "schema": table.get("schema", "public")}


def table_display(table: dict[str, str]) -> str:
    return table["name"] if table["schema"] == "public" else f"{table['schema']}.{table['name']}"


def normalize_permission(kind: str, entry: Any, path: str) -> dict[str, Any]:
    role = _require(entry, "role", path)
    permission = _require(entry, "permission", path)
    for key in _REQUIRED_PERMISSION_KEYS[kind]:
        _require(permission, key, f"{path}.permission")
    # required keys are always exported (`columns: []`, `filter: {}` mean something); optional defaults are dropped.
    # Values are kept as sent: a session variable keeps its case in `filter`, `check` and `set` (Hasura/RQL/IR/
    # BoolExp.hs ColExp holds a FieldName and the JSON Value as given; presets are ColumnValues of Value), and
    # `columns` keeps its order (Hasura/RQL/Types/Permission.hs PermColSpec: PCCols [Column b], encoded as the
    # list; Serialization.hs selPermToOrdJSON/insPermToOrdJSON write it as is).
    kept = set(_REQUIRED_PERMISSION_KEYS[kind]) | {k for k, v in permission.items() if not _is_empty(v)}
    if kind == "update":
        # Export always writes an update permission's `check`, `null` when none was given (Hasura/RQL/Types/
        # Metadata/Serialization.hs updPermDefToOrdJSON: ("check", AO.toOrdered check) of a Maybe).
        kept.add("check")
    body = {k: permission.get(k) for k in _PERMISSION_KEYS[kind] if k in kept}
    normalized: dict[str, Any] = {"role": role, "permission": body}
    if entry.get("comment") is not None:
        normalized["comment"] = entry["comment"]
    return normalized


def normalize_relationship(entry: Any, path: str) -> dict[str, Any]:
    """`name`, `using`, then `comment` when given (Serialization.hs relDefToOrdJSON)."""
    out = {"name": _require(entry, "name", path), "using": _require(entry, "using", path)}
    if entry.get("comment") is not None:
        out["comment"] = entry["comment"]
    return out


def normalize_table(entry: Any, path: str) -> dict[str, Any]:
    table = qualified_table(_require(entry, "table", path), f"{path}.table")
    out: dict[str, Any] = {"table": table}
    if entry.get("is_enum"):
        out["is_enum"] = True
    configuration = {
        k: entry.get("configuration", {})[k]
        for k in ("custom_name", "custom_root_fields", "column_config", "custom_column_names", "comment")
        if not _is_empty((entry.get("configuration") or {}).get(k))
    }
    if configuration:
        out["configuration"] = configuration
    for key in _TABLE_EXTRAS:
        if not _is_empty(entry.get(key)):
            items = entry[key]
            if key in ("object_relationships", "array_relationships"):
                items = [normalize_relationship(r, f"{path}.{key}[{i}]") for i, r in enumerate(items)]
            out[key] = sorted(items, key=lambda r: str(r.get("name")))
    for kind in PERMISSION_KINDS:
        key = f"{kind}_permissions"
        entries = entry.get(key) or []
        if entries:
            out[key] = sorted(
                (normalize_permission(kind, e, f"{path}.{key}[{i}]") for i, e in enumerate(entries)),
                key=lambda p: p["role"],
            )
    if not _is_empty(entry.get("event_triggers")):
        out["event_triggers"] = sorted(entry["event_triggers"], key=lambda t: str(t.get("name")))
    return in_export_order(out)


def in_export_order(table: dict[str, Any]) -> dict[str, Any]:
    """A normalized table with its keys as export writes them (`TABLE_EXPORT_ORDER`)."""
    return {key: table[key] for key in TABLE_EXPORT_ORDER if key in table}


def normalize_connection_info(info: Any, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {"database_url": _require(info, "database_url", path)}
    out["isolation_level"] = info.get("isolation_level", "read-committed")
    if info.get("pool_settings") is not None:
        # Only what was given comes back, plus connection_lifetime: absent means 600, 0 means none (Hasura/
        # Server/Utils.hs parseConnLifeTime; PostgresPoolSettings ToJSON omits Nothing fields).
        pool = {**info["pool_settings"]}
        pool["connection_lifetime"] = pool.get("connection_lifetime", _DEFAULT_CONNECTION_LIFETIME)
        out["pool_settings"] = dict(sorted((k, v) for k, v in pool.items() if k != "connection_lifetime" or v))
    out["use_prepared_statements"] = bool(info.get("use_prepared_statements", False))
    for key in ("ssl_configuration", "extensions_schema"):
        if info.get(key) is not None:
            out[key] = info[key]
    return out


def normalize_source(entry: Any, path: str) -> dict[str, Any]:
    name = _require(entry, "name", path)
    configuration = _require(entry, "configuration", path)
    tables = entry.get("tables") or []
    normalized_tables = [normalize_table(t, f"{path}.tables[{i}]") for i, t in enumerate(tables)]
    out: dict[str, Any] = {
        "name": name,
        "kind": entry.get("kind", "postgres"),
        "tables": sorted(normalized_tables, key=lambda t: (t["table"]["schema"], t["table"]["name"])),
    }
    if not _is_empty(entry.get("functions")):
        out["functions"] = entry["functions"]
    out["configuration"] = {
        "connection_info": normalize_connection_info(
            _require(configuration, "connection_info", f"{path}.configuration"),
            f"{path}.configuration.connection_info",
        ),
        **{k: v for k, v in configuration.items() if k != "connection_info" and not _is_empty(v)},
    }
    for key in ("query_tags", "customization", "health_check"):
        if not _is_empty(entry.get(key)):
            out[key] = entry[key]
    return out


def normalize_metadata(doc: Any, path: str, *, current: dict[str, Any]) -> dict[str, Any]:
    """Parse a metadata document (v3, or the older v1/v2 formats mapped onto source `default`, §1.4)."""
    if not isinstance(doc, dict):
        raise parse_failed("expected Object for metadata", path)
    version = doc.get("version", 1)
    if version == 3:
        sources_doc = _require(doc, "sources", path)
    elif version in (1, 2):
        tables = _require(doc, "tables", path)
        default = next((s for s in current["sources"] if s["name"] == "default"), None)
        if default is None:
            raise HasuraError("not-exists", 'source with name "default" does not exist', path=path)
        sources_doc = [{**default, "tables": tables}]
    else:
        raise parse_failed(f"unexpected metadata version: {version}", f"{path}.version")
    sources = [normalize_source(s, f"{path}.sources[{i}]") for i, s in enumerate(sources_doc)]
    names = [s["name"] for s in sources]
    if len(set(names)) != len(names):
        raise parse_failed("multiple declarations exist for the following sources: " + ", ".join(names), path)
    out: dict[str, Any] = {"version": 3, "sources": sources}
    for key in _TOP_LEVEL_ORDER:
        if not _is_empty(doc.get(key)) and doc[key] != _EMPTY_INTROSPECTION_OPTIONS:
            # An introspection setting that disables nothing is dropped like every empty value
            # (Serialization.hs introspectionDisabledRolesToOrdJSON = ifNotEmpty (== mempty)).
            out[key] = _EXPORT_SHAPES.get(key, lambda value, _: value)(doc[key], f"{path}.{key}")
    return out


def normalize_query_collections(collections: Any, path: str) -> list[dict[str, Any]]:
    """Sorted by name; each `name`, `definition`, then `comment` when given (Hasura/RQL/Types/Metadata/
    Serialization.hs queryCollectionsToOrdJSONList: listToMaybeArraySort … _ccName, createCollectionToOrdJSON);
    the definition as `{"queries": [{"name", "query"}]}` (Hasura/RQL/Types/QueryCollection.hs CollectionDef and
    ListedQuery, derived ToJSON in field order)."""
    out = []
    for index, collection in enumerate(collections):
        where = f"{path}[{index}]"
        name = _require(collection, "name", where)
        definition = _require(collection, "definition", where)
        queries = [{"name": _require(q, "name", f"{where}.definition.queries[{i}]"),
                    "query": _require(q, "query", f"{where}.definition.queries[{i}]")}
                   for i, q in enumerate(_require(definition, "queries", f"{where}.definition"))]
        entry: dict[str, Any] = {"name": name, "definition": {"queries": queries}}
        if collection.get("comment") is not None:
            entry["comment"] = collection["comment"]
        out.append(entry)
    return sorted(out, key=lambda c: c["name"])


def _header_conf(header: Any, path: str) -> dict[str, str]:
    """A configured header as Hasura keeps it: parsed into HeaderConf (Hasura/RQL/Types/Headers.hs FromJSON: `name`
    and exactly one of `value` / `value_from_env`) and exported by its ToJSON, `name` first — not the object as
    sent, whose key order the sender chose (a Pulumi engine hands a dynamic provider protobuf Struct maps)."""
    if not isinstance(header, dict) or not isinstance(header.get("name"), str):
        raise HasuraError("parse-failed", 'key "name" not found', path=path)
    value, from_env = header.get("value"), header.get("value_from_env")
    if value is None and from_env is None:
        raise HasuraError("parse-failed", "expecting value or value_from_env keys", path=path)
    if value is not None and from_env is not None:
        raise HasuraError("parse-failed", "expecting only one of value or value_from_env keys", path=path)
    return {"name": header["name"], **({"value": value} if value is not None else {"value_from_env": from_env})}


def normalize_actions(actions: Any, path: str) -> list[dict[str, Any]]:
    """Sorted by name: `name`, `definition`, `comment` and `permissions` only when given; in the definition
    handler, output_type, forward_client_headers (when true), headers and arguments (when any), the transforms,
    type (+ kind for a mutation), timeout (when not 30); an argument's `description` only when it is not null
    (Serialization.hs actionMetadataToOrdJSONList / actionDefinitionToOrdJSON / argDefinitionToOrdJSON:
    maybeAnyToMaybeOrdPair "description")."""
    out = []
    for index, action in enumerate(actions):
        where = f"{path}[{index}]"
        name = _require(action, "name", where)
        given = _require(action, "definition", where)
        check_action_definition(given, f"{where}.definition")
        definition: dict[str, Any] = {"handler": _require(given, "handler", f"{where}.definition"),
                                      "output_type": _require(given, "output_type", f"{where}.definition")}
        if given.get("forward_client_headers"):
            definition["forward_client_headers"] = True
        if given.get("headers"):
            definition["headers"] = [_header_conf(h, f"{where}.definition.headers[{i}]")
                                     for i, h in enumerate(given["headers"])]
        if given.get("arguments"):
            definition["arguments"] = [
                {"name": a["name"], "type": a["type"],
                 **({"description": a["description"]} if a.get("description") is not None else {})}
                for a in given["arguments"]
            ]
        for key in ("request_transform", "response_transform"):
            if given.get(key) is not None:
                definition[key] = given[key]
        definition["type"] = given.get("type", "mutation")
        if definition["type"] == "mutation":
            definition["kind"] = given.get("kind", "synchronous")
        if given.get("timeout", _DEFAULT_ACTION_TIMEOUT) != _DEFAULT_ACTION_TIMEOUT:
            definition["timeout"] = given["timeout"]
        entry: dict[str, Any] = {"name": name, "definition": definition}
        if action.get("comment") is not None:
            entry["comment"] = action["comment"]
        if action.get("permissions"):
            entry["permissions"] = [{"role": p["role"], **({"comment": p["comment"]} if p.get("comment") else {})}
                                    for p in action["permissions"]]
        out.append(entry)
    return sorted(out, key=lambda a: a["name"])


#: Top-level keys whose export shape the double rebuilds (the others are kept as given).
_EXPORT_SHAPES = {"query_collections": normalize_query_collections, "actions": normalize_actions,
                  "custom_types": normalize_custom_types}


# ---------------------------------------------------------------------------------------------------------------
# Consistency against the real database
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class SourceState:
    """A source as the schema cache sees it: a resolved URL and a catalog snapshot, or why it is unusable."""

    name: str
    url: str | None = None
    catalog: pg.Catalog | None = None
    error: str | None = None
    message: str | None = None


def resolve_database_url(database_url: Any, env: Mapping[str, str]) -> str:
    """`database_url`: a string, `{"from_env": VAR}` (the container's env) or `{"connection_parameters": ...}` (§1.8)."""
    if isinstance(database_url, str):
        return database_url
    if isinstance(database_url, dict) and "from_env" in database_url:
        var = database_url["from_env"]
        if var not in env:
            raise LookupError(f'environment variable "{var}" not set')
        return env[var]
    if isinstance(database_url, dict) and "connection_parameters" in database_url:
        p = database_url["connection_parameters"]
        password = f":{p['password']}" if p.get("password") else ""
        return f"postgres://{p['username']}{password}@{p['host']}:{p.get('port', 5432)}/{p['database']}"
    raise LookupError("invalid database_url")


def load_source(source: dict[str, Any], env: Mapping[str, str]) -> SourceState:
    state = SourceState(source["name"])
    if source["kind"] not in ("postgres", "pg"):
        state.error = f'backend kind "{source["kind"]}" is not supported by the test double'
        return state
    try:
        state.url = resolve_database_url(source["configuration"]["connection_info"]["database_url"], env)
    except LookupError as exc:
        state.error = str(exc)
        return state
    try:
        with pg.connect(state.url, connect_timeout=3) as conn:
            state.catalog = pg.introspect(conn)
    except psycopg.Error as exc:
        state.error, state.message = "connection error", str(exc).strip()
    return state


def inconsistent_object(kind: str, name: str, definition: Any, reason: str, message: str | None = None) -> dict:
    """One entry of `inconsistent_objects` (§1.4, §1.6); reasons are rendered with Hasura's prefix."""
    obj = {"definition": definition, "name": name, "reason": f"Inconsistent object: {reason}", "type": kind}
    if message is not None:
        obj["message"] = message
    return obj


def permission_problem(kind: str, permission: dict[str, Any], table: pg.Table,
                       relationships: frozenset[str] = frozenset()) -> str | None:
    referenced: list[str] = []
    columns = permission.get("columns", [])
    if columns != "*":
        referenced += list(columns)
    referenced += list((permission.get("set") or {}).keys())
    for key in ("filter", "check"):
        if key in permission and permission[key] is not None:
            try:
                referenced += pg.bool_exp_columns(permission[key], relationships)
            except pg.BoolExpError as exc:
                return str(exc)
    for column in referenced:
        if column not in table.columns:
            return f'column "{column}" does not exist'
    return None


#: metadata key -> relationship type (Hasura/RQL/Types/Relationships/Local.hs RelType: "object" / "array").
_RELATIONSHIP_KINDS = {"object_relationships": "object", "array_relationships": "array"}
RELATIONSHIP_KEYS = tuple(_RELATIONSHIP_KINDS)


def relationship_object_name(rel_type: str, name: str, table: dict[str, str], source: str) -> str:
    """Inconsistent-object name of a relationship (Hasura/RQL/Types/Metadata/Object.hs moiName: the type name
    `object_relation` / `array_relation`, the relationship, then " in " and the table's own name)."""
    return f"{rel_type}_relation {name} in table {table_display(table)} in source {source}"


def _columns_of(spec: Any) -> tuple[str, ...]:
    return (spec,) if isinstance(spec, str) else tuple(spec)


def relationship_problem(rel_type: str, using: Any, table: dict[str, str], catalog: pg.Catalog) -> str | None:
    """Why a relationship cannot be built, as Hasura/RQL/DDL/Relationship.hs says it (None when it can):
    `foreign_key_constraint_on` needs exactly one foreign key on exactly those columns (getRequiredFkey, from this
    table for an object relationship on its own columns, from the other table back to this one otherwise), and
    the other table must exist (mkFkeyRel); a manual configuration needs its columns on both sides."""
    here = (table["schema"], table["name"])
    if not isinstance(using, dict):
        return "expected an object for using"
    if "manual_configuration" in using:
        manual = using["manual_configuration"] or {}
        remote = qualified_table(manual.get("remote_table"), "$.using.manual_configuration.remote_table")
        remote_table = catalog.get(remote["schema"], remote["name"])
        if remote_table is None:
            return f'table "{table_display(remote)}" does not exist in source'
        for left, right in (manual.get("column_mapping") or {}).items():
            if left not in catalog.get(*here).columns:
                return f'column "{left}" does not exist'
            if right not in remote_table.columns:
                return f'column "{right}" does not exist'
        return None
    spec = using.get("foreign_key_constraint_on")
    if isinstance(spec, dict):  # {table, column | columns}: a key on the other table pointing here
        remote = qualified_table(spec.get("table"), "$.using.foreign_key_constraint_on.table")
        if catalog.get(remote["schema"], remote["name"]) is None:
            return f'table "{table_display(remote)}" does not exist in source'
        columns = _columns_of(spec.get("columns", spec.get("column")))
        keys = [k for k in catalog.foreign_keys if k.table == (remote["schema"], remote["name"]) and k.ref_table == here
                and set(k.columns) == set(columns)]
    elif rel_type == "object" and spec is not None:
        columns = _columns_of(spec)
        keys = [k for k in catalog.foreign_keys if k.table == here and set(k.columns) == set(columns)]
    else:
        return "expected foreign_key_constraint_on or manual_configuration in using"
    if not keys:
        return "no foreign constraint exists on the given column(s)"
    if len(keys) > 1:
        return "more than one foreign key constraint exists on the given column(s)"
    return None


def relationship_inconsistencies(source: str, entry: dict[str, Any], catalog: pg.Catalog) -> list[dict[str, Any]]:
    found = []
    for key, rel_type in _RELATIONSHIP_KINDS.items():
        for relationship in entry.get(key, []):
            problem = relationship_problem(rel_type, relationship.get("using"), entry["table"], catalog)
            if problem is not None:
                definition = {"source": source, "table": entry["table"], **relationship}
                found.append(inconsistent_object(
                    f"{rel_type}_relation",
                    relationship_object_name(rel_type, relationship["name"], entry["table"], source),
                    definition,
                    f'in table "{table_display(entry["table"])}": in relationship "{relationship["name"]}": {problem}',
                ))  # fmt: skip
    return found


#: Postgres base types a source offers as GraphQL scalars to custom types and actions (Hasura reads them from
#: pg_type, Note [Postgres scalars in custom types] in Hasura/RQL/DDL/CustomTypes.hs); the common ones.
POSTGRES_SCALARS = frozenset({
    "bigint", "bit", "bool", "boolean", "bpchar", "bytea", "char", "citext", "date", "float4", "float8", "inet",
    "int2", "int4", "int8", "integer", "interval", "json", "jsonb", "ltree", "money", "numeric", "smallint", "text",
    "time", "timestamp", "timestamptz", "timetz", "uuid", "varchar",
})


def action_inconsistencies(metadata: dict[str, Any], env: Mapping[str, str]) -> list[dict[str, Any]]:
    """Custom types as one object (MOCustomTypes, name `custom_types`), then each action (MOAction, `action <name>`);
    an action is not built while the custom types are inconsistent."""
    custom = metadata.get("custom_types") or {}
    problems = custom_type_problems(custom, POSTGRES_SCALARS)
    if problems:
        reason = "validation for the given custom types failed " + (
            f"because {problems[0]}" if len(problems) == 1 else
            "for the following reasons:\n" + "".join(f"  • {p}\n" for p in problems))
        return [inconsistent_object("custom_types", "custom_types", custom, reason)]
    found = []
    for action in metadata.get("actions") or []:
        problem = action_problem(action, custom, POSTGRES_SCALARS, env)
        if problem is not None:
            found.append(inconsistent_object("action", f"action {action['name']}", action,
                                             f'in action "{action["name"]}": {problem}'))
    return found


def find_inconsistencies(metadata: dict[str, Any], states: Mapping[str, SourceState],
                         env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Every object that cannot be built: sources, then tables, then permissions, then custom types and actions."""
    found: list[dict[str, Any]] = []
    for source in metadata["sources"]:
        state = states[source["name"]]
        if state.catalog is None:
            found.append(inconsistent_object("source", f"source {source['name']}", source["name"], state.error,
                                             state.message))  # fmt: skip
            continue
        for entry in source["tables"]:
            qt = entry["table"]
            table = state.catalog.get(qt["schema"], qt["name"])
            shown = table_display(qt)
            if table is None:
                found.append(inconsistent_object("table", f"table {shown} in source {source['name']}", qt,
                                                 f'no such table/view exists in source: "{shown}"'))  # fmt: skip
                continue
            found += relationship_inconsistencies(source["name"], entry, state.catalog)
            relationships = frozenset(r["name"] for key in _RELATIONSHIP_KINDS for r in entry.get(key, []))
            for kind in PERMISSION_KINDS:
                for perm in entry.get(f"{kind}_permissions", []):
                    problem = permission_problem(kind, perm["permission"], table, relationships)
                    if problem is not None:
                        definition = {"role": perm["role"], "source": source["name"], "comment": perm.get("comment"),
                                      "permission": perm["permission"], "table": qt}  # fmt: skip
                        found.append(inconsistent_object(
                            f"{kind}_permission",
                            f"permission {shown}.{perm['role']}.{kind} in source {source['name']}",
                            definition,
                            f'in table "{shown}": in permission for role "{perm["role"]}": {problem}',
                        ))  # fmt: skip
    return found + action_inconsistencies(metadata, env or {})


# ---------------------------------------------------------------------------------------------------------------
# Persistence (hdb_catalog.hdb_metadata in the metadata database, §2.1)
# ---------------------------------------------------------------------------------------------------------------


class MetadataStore:
    """The metadata row: one JSON blob plus `resource_version`, like Hasura's `hdb_catalog.hdb_metadata`."""

    def __init__(self, url: str, pool: pg.ConnectionPool):
        self.url = url
        self.pool = pool

    def load_or_init(self, initial: dict[str, Any]) -> tuple[dict[str, Any], int]:
        with pg.connect(self.url) as conn:
            conn.execute("CREATE SCHEMA IF NOT EXISTS hdb_catalog")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS hdb_catalog.hdb_metadata (id integer PRIMARY KEY, metadata json NOT NULL,"
                " resource_version integer NOT NULL DEFAULT 1 UNIQUE)"
            )
            conn.execute(
                "INSERT INTO hdb_catalog.hdb_metadata (id, metadata) VALUES (1, %s::json) ON CONFLICT (id) DO NOTHING",
                (json.dumps(initial),),
            )
            # The catalog state lives beside the metadata in one row of hdb_version, as the server's own catalog
            # (server/src-rsr/initialise.sql: hasura_uuid gen_random_uuid(), cli_state/console_state jsonb '{}').
            conn.execute(
                "CREATE TABLE IF NOT EXISTS hdb_catalog.hdb_version (hasura_uuid uuid PRIMARY KEY DEFAULT "
                "gen_random_uuid(), version text NOT NULL, upgraded_on timestamptz NOT NULL, cli_state jsonb NOT NULL "
                "DEFAULT '{}'::jsonb, console_state jsonb NOT NULL DEFAULT '{}'::jsonb)"
            )
            conn.execute(
                "CREATE UNIQUE INDEX IF NOT EXISTS hdb_version_one_row "
                "ON hdb_catalog.hdb_version((version IS NOT NULL))"
            )
            conn.execute(
                "INSERT INTO hdb_catalog.hdb_version (version, upgraded_on) VALUES (%s, now()) ON CONFLICT DO NOTHING",
                (CATALOG_VERSION,),
            )
        return self.load()

    def load(self) -> tuple[dict[str, Any], int]:
        with pg.connect(self.url) as conn:
            metadata, version = conn.execute(
                "SELECT metadata::text, resource_version FROM hdb_catalog.hdb_metadata WHERE id = 1"
            ).fetchone()
        return json.loads(metadata), version

    def stored_version(self) -> int | None:
        """The stored `resource_version`, or None while the database does not answer."""
        try:
            with pg.connect(self.url, connect_timeout=2) as conn:
                (version,) = conn.execute("SELECT resource_version FROM hdb_catalog.hdb_metadata WHERE id = 1").fetchone()
            return version
        except psycopg.Error:
            return None

    def catalog_state(self) -> dict[str, Any]:
        """`get_catalog_state` (Hasura/RQL/DDL/Metadata.hs runGetCatalogState; Postgres metadata storage
        getCatalogStateTx: `SELECT hasura_uuid::text, cli_state::json, console_state::json FROM hdb_version`)."""
        with pg.connect(self.url) as conn:
            uuid, cli_state, console_state = conn.execute(
                "SELECT hasura_uuid::text, cli_state::text, console_state::text FROM hdb_catalog.hdb_version"
            ).fetchone()
        return {"id": uuid, "cli_state": json.loads(cli_state), "console_state": json.loads(console_state)}

    def set_catalog_state(self, kind: str, state: Any) -> None:
        """`set_catalog_state` (setCatalogStateTx): the given value replaces the whole `cli` or `console` state."""
        column = {"cli": "cli_state", "console": "console_state"}[kind]
        with pg.connect(self.url) as conn:
            conn.execute(f"UPDATE hdb_catalog.hdb_version SET {column} = %s::jsonb", (json.dumps(state),))

    def reachable(self) -> bool:
        """The `/healthz` database check, on the pool as the server's is (healthzHandler ->
        checkMetadataStorageHealth, server/src-lib/Hasura/Server/App.hs): a connection opened before a password
        change keeps answering (PostgreSQL checks a password at connection time only); a broken one is replaced,
        and the new one may fail."""
        try:
            conn = self.pool.take(self.url, connect_timeout=2)
        except psycopg.Error:
            return False
        self.pool.give_back(self.url, conn)
        return True

    def save(self, metadata: dict[str, Any]) -> int:
        with pg.connect(self.url) as conn:
            (version,) = conn.execute(
                "UPDATE hdb_catalog.hdb_metadata SET metadata = %s::json, resource_version = resource_version + 1"
                " WHERE id = 1 RETURNING resource_version",
                (json.dumps(metadata),),
            ).fetchone()
        return version


@dataclass
class SchemaCache:
    """What the server serves from: metadata, its version, source snapshots and the inconsistencies found."""

    metadata: dict[str, Any]
    resource_version: int
    sources: dict[str, SourceState] = field(default_factory=dict)
    inconsistent: list[dict[str, Any]] = field(default_factory=list)
    #: The server's environment: action handlers' `{{VAR}}` and headers' `value_from_env` are read from it.
    env: Mapping[str, str] = field(default_factory=dict)

    def copy_metadata(self) -> dict[str, Any]:
        return copy.deepcopy(self.metadata)


def build_schema_cache(
    metadata: dict[str, Any], version: int, env: Mapping[str, str], previous: SchemaCache | None = None,
    *, reload_sources: bool | list[str] = True,
) -> SchemaCache:  # fmt: skip
    """Introspect sources (all, some, or reuse the previous snapshots) and list inconsistencies."""
    states: dict[str, SourceState] = {}
    for source in metadata["sources"]:
        name = source["name"]
        refresh = reload_sources is True or (isinstance(reload_sources, list) and name in reload_sources)
        old = previous.sources.get(name) if previous is not None else None
        same_config = old is not None and previous is not None and _source_config(previous.metadata, name) == source[
            "configuration"]  # fmt: skip
        states[name] = old if (old is not None and same_config and not refresh) else load_source(source, env)
    return SchemaCache(metadata, version, states, find_inconsistencies(metadata, states, env), env)


def _source_config(metadata: dict[str, Any], name: str) -> Any:
    return next((s["configuration"] for s in metadata["sources"] if s["name"] == name), None)
