"""The rules a metadata project meets before anything is sent to Hasura, and the error listing what breaks them.

Pure. `validate_project` checks the document's structure (known keys, the keys each permission needs), that every
table and column a permission names exists in the tables the migrations create (`ddl.table_columns`) or in a schema
the platform owns, that session variables are spelled as Hasura expects, and that no update permission lets a user
hand their row to someone else. `MetadataError` lists every problem, each with its file; reading `metadata/`
(`project.load_project`) reports its problems with it too. The words of the format the rules are written in
(`PERMISSION_KINDS`, `SESSION_VARIABLE`, `table_key`) are also those `compare` normalizes with.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

from components.errors import ClerkHasuraError
from components.hasura.ddl import TableShape, table_columns
from components.hasura.model import MetadataProject

if TYPE_CHECKING:
    from pathlib import Path

PERMISSION_KINDS = ("select", "insert", "update", "delete")

#: Keys each permission object may have (permission.mdx; hasura.md §1.9) and those it must have.
PERMISSION_KEYS = {
    "select": {"columns", "filter", "limit", "allow_aggregations", "computed_fields", "query_root_fields",
               "subscription_root_fields"},
    "insert": {"check", "set", "columns", "backend_only", "validate_input"},
    "update": {"columns", "filter", "check", "set", "backend_only", "validate_input"},
    "delete": {"filter", "backend_only", "validate_input"},
}
REQUIRED_PERMISSION_KEYS = {"select": {"columns", "filter"}, "insert": {"check"}, "update": {"columns", "filter"},
                            "delete": {"filter"}}

TABLE_KEYS = {"table", "configuration", "is_enum", "object_relationships", "array_relationships", "computed_fields",
              "remote_relationships", "event_triggers", "apollo_federation_config", "logical_model",
              *(f"{kind}_permissions" for kind in PERMISSION_KINDS)}
SOURCE_KEYS = {"name", "kind", "configuration", "tables", "functions", "customization", "health_check",
               "logical_models", "native_queries", "stored_procedures", "query_tags"}

SESSION_VARIABLE = re.compile(r"x-hasura-[a-z0-9_-]+", re.IGNORECASE)
USER_ID_VARIABLE = "X-Hasura-User-Id"


class MetadataError(ClerkHasuraError):
    """`metadata/` cannot be read or does not describe valid metadata; lists every problem, each with its file."""

    def __init__(self, problems: list[str], *, directory: Path | str):
        self.problems = problems
        count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
        super().__init__("\n".join([f"Hasura metadata in {directory} is invalid ({count}); nothing was sent to "
                                    "Hasura:", *(f"  - {p}" for p in problems)]))


def table_key(table: Any) -> tuple[str, str]:
    """(schema, name) of a `TableName` (`"users"` or `{"schema": .., "name": ..}`; schema defaults to public)."""
    if isinstance(table, str):
        return ("public", table)
    if isinstance(table, dict):
        return (str(table.get("schema") or "public"), str(table.get("name")))
    return ("public", str(table))


def validate_project(project: MetadataProject, *, platform_schemas: frozenset[str] = frozenset()) -> None:
    """Raise `MetadataError` listing every problem; silent when the project is fit to send.

    `platform_schemas` are the schemas whose tables the platform's own services create (Nhost's `auth` and
    `storage`, handed over by its target): a table tracked there needs no migration creating it.
    """
    problems: list[str] = []
    metadata = project.metadata
    if metadata.get("version") != 3:
        problems.append(f"version.yaml: version must be 3, got {metadata.get('version')!r}")
    sources = metadata.get("sources")
    if not isinstance(sources, list) or not sources:
        problems.append("databases/databases.yaml: must list at least one source (the `default` Postgres source)")
        raise MetadataError(problems, directory=project.directory)
    names = [s.get("name") for s in sources if isinstance(s, dict)]
    for duplicate in sorted({n for n in names if names.count(n) > 1 and n}):
        problems.append(f"databases/databases.yaml: source {duplicate!r} is declared twice")
    migration_sources = {m.source for m in project.migrations}
    for source in sources:
        problems += _source_problems(source, project, platform_schemas)
    for orphan in sorted(migration_sources - set(names)):
        problems.append(f"migrations/{orphan}: migrations for a source not declared in databases/databases.yaml. "
                        f"Fix: name the folder after a source ({', '.join(map(str, names))})")
    if problems:
        raise MetadataError(problems, directory=project.directory)


def _source_problems(source: Any, project: MetadataProject, platform_schemas: frozenset[str]) -> list[str]:
    where = "databases/databases.yaml"
    if not isinstance(source, dict):
        return [f"{where}: each source must be a mapping, got {source!r}"]
    problems = _unknown_keys(source, SOURCE_KEYS, f"{where}: source {source.get('name')!r}")
    name = source.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"{where}: a source has no `name`")
        return problems
    where = f"{where}: source {name!r}"
    if source.get("kind", "postgres") != "postgres":
        problems.append(f"{where}: kind {source.get('kind')!r} is not supported here; this project runs Postgres")
    url = ((source.get("configuration") or {}).get("connection_info") or {}).get("database_url")
    if url is None:
        problems.append(f"{where}: configuration.connection_info.database_url is missing. Fix: "
                        "`database_url: {from_env: PG_DATABASE_URL}`")
    elif isinstance(url, str) and re.search(r"://[^/@]*:[^/@]*@", url):
        problems.append(f"{where}: database_url holds a password in plain text. Fix: use "
                        "`database_url: {from_env: PG_DATABASE_URL}` (the Hasura container gets that variable)")
    tables = source.get("tables") or []
    if not isinstance(tables, list):
        return [*problems, f"{where}: `tables` must be a list"]
    known = table_columns(project.migrations, name)
    seen: set[tuple[str, str]] = set()
    for entry in tables:
        problems += _table_problems(entry, name, known, seen, platform_schemas)
    return problems


def _table_problems(entry: Any, source: str, known: dict[tuple[str, str], TableShape],
                    seen: set[tuple[str, str]], platform_schemas: frozenset[str]) -> list[str]:
    if not isinstance(entry, dict) or "table" not in entry:
        return [f"source {source!r}: a table entry has no `table` key: {entry!r}"]
    qualified = table_key(entry["table"])
    label = f"tables/{qualified[0]}_{qualified[1]}.yaml"
    problems = _unknown_keys(entry, TABLE_KEYS, label)
    if qualified in seen:
        problems.append(f"{label}: table {qualified[0]}.{qualified[1]} is tracked twice")
    seen.add(qualified)
    shape = known.get(qualified)
    if shape is None and qualified[0] in platform_schemas:
        # Created by the platform's services, not by the app's migrations: its columns are not known here, so no
        # column check is made on it; Hasura's own consistency check still runs on apply.
        shape = TableShape(columns=None)
    if shape is None:
        candidates = [f"{s}.{n}" for s, n in known]
        hint = difflib.get_close_matches(f"{qualified[0]}.{qualified[1]}", candidates, n=1)
        problems.append(f"{label}: table {qualified[0]}.{qualified[1]} is not created by any migration in "
                        f"migrations/{source}/" + (f" (did you mean {hint[0]}?)" if hint else "")
                        + ". Fix: add a migration that creates it, or fix the name")
    columns = None if shape is None else shape.columns
    relationships = {r.get("name") for kind in ("object_relationships", "array_relationships")
                     for r in entry.get(kind) or [] if isinstance(r, dict)}
    computed = {c.get("name") for c in entry.get("computed_fields") or [] if isinstance(c, dict)}
    for kind in PERMISSION_KINDS:
        permissions = entry.get(f"{kind}_permissions") or []
        if not isinstance(permissions, list):
            problems.append(f"{label}: {kind}_permissions must be a list")
            continue
        roles: list[str] = []
        for item in permissions:
            problems += _permission_problems(item, kind, label, columns, relationships, computed, roles)
    return problems


def _permission_problems(item: Any, kind: str, label: str, columns: set[str] | None, relationships: set[str],
                         computed: set[str], roles: list[str]) -> list[str]:
    if not isinstance(item, dict) or not isinstance(item.get("permission"), dict):
        return [f"{label}: each {kind}_permissions entry needs `role` and a `permission` mapping, got {item!r}"]
    role = item.get("role")
    where = f"{label}: role {role!r} {kind} permission"
    problems = _unknown_keys(item, {"role", "permission", "comment"}, f"{label}: {kind}_permissions entry")
    if not isinstance(role, str) or not role.strip():
        problems.append(f"{label}: a {kind} permission has no role")
    elif role == "admin":
        problems.append(f"{where}: `admin` always has full access; Hasura rejects permissions for it. Fix: remove it")
    elif role in roles:
        problems.append(f"{where}: defined twice. Fix: keep one entry per role")
    roles.append(role)
    permission = item["permission"]
    problems += _unknown_keys(permission, PERMISSION_KEYS[kind], where)
    for missing in sorted(REQUIRED_PERMISSION_KEYS[kind] - permission.keys()):
        problems.append(f"{where}: `{missing}` is required")
    listed = permission.get("columns")
    if listed is not None and listed != "*" and not (isinstance(listed, list) and all(isinstance(c, str) for c in listed)):
        problems.append(f"{where}: `columns` must be \"*\" or a list of column names, got {listed!r}")
        listed = None
    referenced: list[tuple[str, str]] = []
    if isinstance(listed, list):
        referenced += [(c, "columns") for c in listed]
    presets = permission.get("set") or {}
    if not isinstance(presets, dict):
        problems.append(f"{where}: `set` must map column names to values")
        presets = {}
    referenced += [(c, "set") for c in presets]
    for key in ("filter", "check"):
        if key in permission:
            expression = permission[key]
            if expression is not None and not isinstance(expression, dict):
                problems.append(f"{where}: `{key}` must be a boolean expression mapping, got {expression!r}")
                continue
            problems += _bool_exp_problems(expression or {}, f"{where}: {key}", referenced, relationships)
    for column, value in presets.items():
        problems += _session_variable_problems(value, f"{where}: set.{column}")
    if columns is not None:
        for column, part in referenced:
            if column not in columns and column not in relationships and column not in computed:
                hint = difflib.get_close_matches(column, sorted(columns), n=1)
                problems.append(f"{where}: {part} names column {column!r}, which the migrations do not create"
                                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                                + f". Columns: {', '.join(sorted(columns))}")
    if kind == "update" and isinstance(listed, list):
        pinned = _owner_columns(permission.get("check") or {})
        for owner in sorted(_owner_columns(permission.get("filter") or {}) - pinned):
            if owner in listed:
                problems.append(f"{where}: column {owner!r} decides whose row it is (filter compares it with "
                                f"{USER_ID_VARIABLE}) and is updatable with no `check` keeping it so: a user could "
                                f"hand their row to someone else. Fix: remove {owner!r} from `columns` (or add "
                                f"`check: {{{owner}: {{_eq: {USER_ID_VARIABLE}}}}}`)")
    return problems


def _bool_exp_problems(expression: dict[str, Any], where: str, referenced: list[tuple[str, str]],
                       relationships: set[str]) -> list[str]:
    problems: list[str] = []
    for key, value in expression.items():
        if key in ("_and", "_or"):
            if not isinstance(value, list):
                problems.append(f"{where}: `{key}` takes a list of expressions")
                continue
            for sub in value:
                problems += _bool_exp_problems(sub if isinstance(sub, dict) else {}, where, referenced, relationships)
        elif key == "_not":
            problems += _bool_exp_problems(value if isinstance(value, dict) else {}, where, referenced, relationships)
        elif key == "_exists":
            problems += _session_variable_problems(value, f"{where}._exists")
        elif key.startswith("_"):
            problems.append(f"{where}: `{key}` is not a boolean operator here (expected a column, _and, _or, _not "
                            "or _exists)")
        else:
            referenced.append((key, where.rsplit(": ", 1)[-1]))
            if key not in relationships:
                problems += _session_variable_problems(value, f"{where}.{key}")
    return problems


def _session_variable_problems(value: Any, where: str) -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _session_variable_problems(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [p for v in value for p in _session_variable_problems(v, where)]
    if not isinstance(value, str) or "hasura" not in value.lower():
        return []
    if SESSION_VARIABLE.fullmatch(value):
        close = difflib.SequenceMatcher(None, value.lower(), USER_ID_VARIABLE.lower()).ratio()
        if value.lower() != USER_ID_VARIABLE.lower() and close > 0.85:
            return [f"{where}: session variable {value!r} looks like a misspelling of {USER_ID_VARIABLE} (the user "
                    f"id from the JWT). Fix: write {USER_ID_VARIABLE}"]
        return []
    return [f"{where}: {value!r} looks like a session variable but is not spelled as Hasura expects, so it would be "
            f"compared as a literal string. Fix: write it as `X-Hasura-<Name>` with hyphens and no braces or "
            f"spaces, e.g. {USER_ID_VARIABLE}"]


def _owner_columns(expression: dict[str, Any]) -> set[str]:
    """Columns an expression compares with X-Hasura-User-Id (directly or under _and)."""
    owners: set[str] = set()
    for key, value in expression.items():
        if key == "_and" and isinstance(value, list):
            for sub in value:
                owners |= _owner_columns(sub if isinstance(sub, dict) else {})
        elif not key.startswith("_") and isinstance(value, dict):
            if str(value.get("_eq", "")).lower() == USER_ID_VARIABLE.lower():
                owners.add(key)
    return owners


def _unknown_keys(mapping: dict[str, Any], allowed: set[str], where: str) -> list[str]:
    problems = []
    for key in sorted(set(mapping) - allowed):
        hint = difflib.get_close_matches(key, sorted(allowed), n=1)
        problems.append(f"{where}: unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                        + f". Known keys: {', '.join(sorted(allowed))}")
    return problems
