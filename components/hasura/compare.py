"""Comparing metadata: `normalize_metadata` makes two documents comparable, `diff_metadata` names what differs.

Pure. `normalize_metadata` turns a document, or a live export, into the form that compares equal exactly when the
two mean the same to Hasura (defaults filled in or dropped on export, order of roles/columns/tables), or, `as_stored`,
when Hasura would export the same for both. Normalizing is for comparing only: Hasura gets the document as authored.
`diff_metadata` lists what differs between two normalized documents, each `Change` naming source, table, role and
permission, in drift words (metadata/ against the live server) and in deploy words (what replacing the live
metadata with metadata/ does).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from components.hasura.actions import normalize_actions, normalize_custom_types
from components.hasura.rules import PERMISSION_KINDS, SESSION_VARIABLE, table_key

#: Connection defaults Hasura fills in on export (hasura.md §1.3, source.mdx).
CONNECTION_DEFAULTS = {"isolation_level": "read-committed", "use_prepared_statements": False}
POOL_DEFAULTS = {"max_connections": 50, "idle_timeout": 180, "retries": 1, "pool_timeout": 360,
                 "connection_lifetime": 600}
#: Permission fields whose default Hasura may add or drop on export.
PERMISSION_DEFAULTS = {"allow_aggregations": False, "backend_only": False, "computed_fields": [], "set": {},
                       "query_root_fields": None, "subscription_root_fields": None, "validate_input": None}


# ---------------------------------------------------------------------------------------------------
# Normalizing for semantic comparison


def normalize_metadata(metadata: dict[str, Any], *, as_stored: bool = False) -> dict[str, Any]:
    """The form in which two documents are equal exactly when Hasura treats them the same.

    Drops what export leaves out or fills in (defaults, nulls, empty lists and objects outside permission
    logic), spells tables as `{schema, name}`, sorts what export sorts (sources, tables, roles, relationships),
    and, for meaning only, lower-cases session variables (Hasura matches them case-insensitively) and sorts
    permission columns.

    `as_stored` keeps those last two as given: Hasura stores and exports a session variable's case and a column
    list's order as they were sent (Hasura/RQL/IR/BoolExp.hs ColExp keeps the JSON value, Hasura/RQL/Types/
    Permission.hs PermColSpec the list; Metadata/Serialization.hs exports both as is), so two documents are then
    equal exactly when Hasura would export the same thing for them, defaults aside — the form that decides
    whether the live metadata is `metadata/` as authored, and so whether a deploy writes it.
    """
    document = {key: _prune(value) for key, value in metadata.items() if key not in ("sources", "version")}
    if metadata.get("actions"):
        document["actions"] = normalize_actions(metadata["actions"])
    if metadata.get("custom_types"):
        document["custom_types"] = normalize_custom_types(metadata["custom_types"])
    document = {key: value for key, value in document.items() if not _empty(value)}
    document["version"] = metadata.get("version", 3)
    document["sources"] = sorted((_normalize_source(s, as_stored) for s in metadata.get("sources") or []),
                                 key=lambda s: str(s.get("name")))
    return document


def _normalize_source(source: dict[str, Any], as_stored: bool) -> dict[str, Any]:
    normalized = {key: _prune(value) for key, value in source.items() if key not in ("tables", "configuration")}
    normalized["kind"] = source.get("kind") or "postgres"
    configuration = dict(source.get("configuration") or {})
    connection = dict(configuration.get("connection_info") or {})
    for key, default in CONNECTION_DEFAULTS.items():
        if connection.get(key, default) == default:
            connection.pop(key, None)
    pool = {k: v for k, v in (connection.get("pool_settings") or {}).items() if POOL_DEFAULTS.get(k, object()) != v}
    connection.pop("pool_settings", None)
    if pool:
        connection["pool_settings"] = pool
    if connection:
        configuration["connection_info"] = connection
    normalized["configuration"] = _prune(configuration)
    normalized["tables"] = sorted((_normalize_table(t, as_stored) for t in source.get("tables") or []),
                                  key=lambda t: (t["table"]["schema"], t["table"]["name"]))
    return {key: value for key, value in normalized.items() if key in ("name", "kind", "tables") or not _empty(value)}


def _normalize_table(entry: dict[str, Any], as_stored: bool) -> dict[str, Any]:
    schema, name = table_key(entry.get("table"))
    table: dict[str, Any] = {"table": {"schema": schema, "name": name}}
    for key, value in entry.items():
        if key == "table":
            continue
        if key.endswith("_permissions"):
            kind = key.removesuffix("_permissions")
            value = sorted((_normalize_permission(kind, p, as_stored) for p in value or []),
                           key=lambda p: str(p.get("role")))
        elif isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value):
            value = sorted((_prune(v) for v in value), key=lambda v: str(v["name"]))
        else:
            value = _prune(value)
        if key == "is_enum" and value is False:
            continue
        if not _empty(value):
            table[key] = value
    return table


def _normalize_permission(kind: str, item: dict[str, Any], as_stored: bool) -> dict[str, Any]:
    permission = {key: value if as_stored else _session_variables_lower(value)
                  for key, value in (item.get("permission") or {}).items()
                  if key not in PERMISSION_DEFAULTS or value != PERMISSION_DEFAULTS[key]}
    if isinstance(permission.get("columns"), list) and not as_stored:
        permission["columns"] = sorted(permission["columns"])
    if kind in ("update", "delete") and not permission.get("check"):
        permission.pop("check", None)  # no post-update check and `check: {}` (always true) are the same
    normalized = {"role": item.get("role"), "permission": permission}
    if item.get("comment"):
        normalized["comment"] = item["comment"]
    return normalized


def _session_variables_lower(value: Any) -> Any:
    if isinstance(value, str) and SESSION_VARIABLE.fullmatch(value):
        return value.lower()
    if isinstance(value, dict):
        return {key: _session_variables_lower(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_session_variables_lower(item) for item in value]
    return value


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {key: _prune(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if not _empty(item)}
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


# ---------------------------------------------------------------------------------------------------
# Semantic diff


@dataclass(frozen=True)
class Change:
    """One semantic difference: `where` names source, table, role and permission; `what` the column or field,
    from metadata/'s point of view against the live server (drift words); `done` the same difference as what
    replacing the live metadata with metadata/ does about it (deploy words)."""

    where: str
    what: str
    done: str = ""

    def __str__(self) -> str:
        return f"{self.where} › {self.what}" if self.where else self.what

    def applied(self) -> str:
        return f"{self.where} › {self.done}" if self.where else self.done


def diff_metadata(desired: dict[str, Any], live: dict[str, Any]) -> list[Change]:
    """Differences between two NORMALIZED documents (both alike: as_stored or not), naming source, table, role,
    permission and column.

    Each `Change.what` reads from the point of view of `metadata/` (desired) against the live server; each
    `Change.done` says what replacing the live metadata with the desired one does about it.
    """
    changes: list[Change] = []
    for key in sorted((set(desired) | set(live)) - {"sources", "actions", "custom_types"}):
        changes += [Change("", what, done) for what, done in _generic_diff(desired.get(key), live.get(key), key)]
    changes += _action_changes(desired, live)
    changes += _matched_diff({s["name"]: s for s in desired.get("sources", [])},
                             {s["name"]: s for s in live.get("sources", [])},
                             lambda name: f"source {name}", _source_diff,
                             missing_live=("missing live (declared in metadata/)", "added"),
                             missing_desired=("present live, not in metadata/", "removed from the metadata"))
    return changes


def _action_changes(desired: dict[str, Any], live: dict[str, Any]) -> list[Change]:
    """Actions by name and custom types by kind and name, each change naming the one it is about."""
    changes = _matched_diff({a["name"]: a for a in desired.get("actions", [])},
                            {a["name"]: a for a in live.get("actions", [])},
                            lambda name: f"action {name}", _action_diff,
                            missing_live=("missing live (defined in metadata/)", "created"),
                            missing_desired=("present live, not in metadata/", "dropped"))
    types = {side: {f"{kind.removesuffix('s')} {t['name']}": t
                    for kind, items in (document.get("custom_types") or {}).items() for t in items}
             for side, document in (("desired", desired), ("live", live))}
    return changes + _matched_diff(types["desired"], types["live"], lambda label: f"custom type {label}",
                                   lambda want, have, where: [Change(where, what, done) for what, done in
                                                              _generic_diff(want, have, "definition")],
                                   missing_live=("missing live (defined in metadata/actions.graphql)", "created"),
                                   missing_desired=("present live, not in metadata/", "dropped"))


def _action_diff(desired: dict[str, Any], live: dict[str, Any], where: str) -> list[Change]:
    changes = [Change(where, what, done) for what, done in
               _generic_diff(desired.get("definition"), live.get("definition"), "definition")]
    changes += [Change(where, what, done)
                for what, done in _generic_diff(desired.get("comment"), live.get("comment"), "comment")]
    roles = ({p["role"] for p in desired.get("permissions", [])}, {p["role"] for p in live.get("permissions", [])})
    changes += [Change(where, f"role {role}: may call it in metadata/, not live", f"role {role}: may now call it")
                for role in sorted(roles[0] - roles[1])]
    changes += [Change(where, f"role {role}: may call it live, not in metadata/", f"role {role}: may no longer call it")
                for role in sorted(roles[1] - roles[0])]
    return changes


def _matched_diff(desired: dict[str, Any], live: dict[str, Any], where: Callable[[str], str],
                  inner: Callable[[Any, Any, str], list[Change]], *, missing_live: tuple[str, str],
                  missing_desired: tuple[str, str]) -> list[Change]:
    """Items matched by key: one change for each item on one side only, `inner` for each item on both.
    `missing_live` and `missing_desired` are (drift words, deploy words)."""
    changes: list[Change] = []
    for key in sorted(set(desired) | set(live)):
        here = where(key)
        if key not in live:
            changes.append(Change(here, *missing_live))
        elif key not in desired:
            changes.append(Change(here, *missing_desired))
        else:
            changes += inner(desired[key], live[key], here)
    return changes


def _source_diff(desired: dict[str, Any], live: dict[str, Any], where: str) -> list[Change]:
    changes: list[Change] = []
    for key in sorted((set(desired) | set(live)) - {"tables", "name"}):
        changes += [Change(where, what, done) for what, done in _generic_diff(desired.get(key), live.get(key), key)]
    changes += _matched_diff({_table_label(t): t for t in desired.get("tables", [])},
                             {_table_label(t): t for t in live.get("tables", [])},
                             lambda label: f"{where} › table {label}", _table_diff,
                             missing_live=("not tracked live (tracked in metadata/)", "tracked"),
                             missing_desired=("tracked live, not in metadata/", "untracked (its rows stay)"))
    return changes


def _table_label(table: dict[str, Any]) -> str:
    return f"{table['table']['schema']}.{table['table']['name']}"


def _table_diff(desired: dict[str, Any], live: dict[str, Any], where: str) -> list[Change]:
    changes: list[Change] = []
    permission_keys = {f"{kind}_permissions" for kind in PERMISSION_KINDS}
    for key in sorted((set(desired) | set(live)) - permission_keys - {"table"}):
        changes += [Change(where, what, done) for what, done in _generic_diff(desired.get(key), live.get(key), key)]
    for kind in PERMISSION_KINDS:
        changes += _matched_diff({p["role"]: p for p in desired.get(f"{kind}_permissions", [])},
                                 {p["role"]: p for p in live.get(f"{kind}_permissions", [])},
                                 lambda role, kind=kind: f"{where} › role {role} › {kind} permission",
                                 _permission_diff,
                                 missing_live=("missing live (defined in metadata/)", "created"),
                                 missing_desired=("present live, not in metadata/", "dropped"))
    return changes


def _permission_diff(desired: dict[str, Any], live: dict[str, Any], where: str) -> list[Change]:
    changes: list[Change] = []
    want, have = desired.get("permission", {}), live.get("permission", {})
    for key in sorted(set(want) | set(have)):
        if key == "columns" and isinstance(want.get(key), list) and isinstance(have.get(key), list):
            for column in sorted(set(have[key]) - set(want[key])):
                changes.append(Change(where, f"column {column}: allowed live, not in metadata/",
                                      f"column {column}: no longer allowed"))
            for column in sorted(set(want[key]) - set(have[key])):
                changes.append(Change(where, f"column {column}: in metadata/, not allowed live",
                                      f"column {column}: now allowed"))
            if set(want[key]) == set(have[key]) and want[key] != have[key]:
                changes.append(Change(where, f"columns: listed as {_show(want[key])} in metadata/, as "
                                             f"{_show(have[key])} live (same columns)",
                                      f"columns: listed as {_show(want[key])} (was {_show(have[key])})"))
        elif want.get(key) != have.get(key):
            # A boolean expression or preset reads best whole.
            [(what, done)] = _generic_diff(want.get(key), have.get(key), key, whole=True)
            changes.append(Change(where, what, done))
    if desired.get("comment") != live.get("comment"):
        changes += [Change(where, what, done)
                    for what, done in _generic_diff(desired.get("comment"), live.get("comment"), "comment")]
    return changes


def _generic_diff(want: Any, have: Any, key: str, *, whole: bool = False) -> list[tuple[str, str]]:
    """(drift words, deploy words) for each leaf that differs, or for the value as one (`whole`)."""
    if want == have:
        return []
    if isinstance(want, dict) and isinstance(have, dict) and not whole:
        return [item for sub in sorted(set(want) | set(have))
                for item in _generic_diff(want.get(sub), have.get(sub), f"{key}.{sub}")]
    return [(f"{key}: metadata/ has {_show(want)}, live has {_show(have)}", _set_to(key, want, have))]


def _set_to(key: str, want: Any, have: Any) -> str:
    if want is None:  # absent from metadata/, which for normalized documents means Hasura's default
        return f"{key}: reset to the default (was {_show(have)})"
    return f"{key}: set to {_show(want)} (was {_show(have)})"


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
