"""Reading the Hasura CLI project in `metadata/` into the exact metadata JSON, validating it, normalizing it.

Pure: files in, data out. `load_project` resolves `!include` (hasura.md §2.1) and assembles the document the
Hasura CLI would send; `validate_project` checks it before anything reaches Hasura (structure, every table and
column a permission names exists in the tables the migrations create or in a schema the platform owns, session
variables spelled as Hasura expects); `normalize_metadata` turns it, or a live export, into the form that compares
equal exactly when the two mean the same to Hasura (defaults filled in or dropped on export, order of
roles/columns/tables), or, `as_stored`, when Hasura would export the same for both. Normalizing is for comparing
only: Hasura gets the document as authored.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.errors import ClerkHasuraError
from components.hasura.actions import normalize_actions, normalize_custom_types, read_actions
from components.hasura.cli_yaml import yaml_v3_kind

#: The Hasura CLI project of this repository.
PROJECT_DIR = Path(__file__).resolve().parents[2] / "metadata"

#: Top-level files of a config v3 metadata directory and the metadata key each becomes (hasura.md §2.1).
TOP_LEVEL_FILES = {
    "allow_list.yaml": "allowlist",
    "api_limits.yaml": "api_limits",
    "backend_configs.yaml": "backend_configs",
    "cron_triggers.yaml": "cron_triggers",
    "graphql_schema_introspection.yaml": "graphql_schema_introspection",
    "inherited_roles.yaml": "inherited_roles",
    "metrics_config.yaml": "metrics_config",
    "network.yaml": "network",
    "opentelemetry.yaml": "opentelemetry",
    "query_collections.yaml": "query_collections",
    "remote_schemas.yaml": "remote_schemas",
    "rest_endpoints.yaml": "rest_endpoints",
}

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

#: Connection defaults Hasura fills in on export (hasura.md §1.3, source.mdx).
CONNECTION_DEFAULTS = {"isolation_level": "read-committed", "use_prepared_statements": False}
POOL_DEFAULTS = {"max_connections": 50, "idle_timeout": 180, "retries": 1, "pool_timeout": 360,
                 "connection_lifetime": 600}
#: Permission fields whose default Hasura may add or drop on export.
PERMISSION_DEFAULTS = {"allow_aggregations": False, "backend_only": False, "computed_fields": [], "set": {},
                       "query_root_fields": None, "subscription_root_fields": None, "validate_input": None}

SESSION_VARIABLE = re.compile(r"x-hasura-[a-z0-9_-]+", re.IGNORECASE)
USER_ID_VARIABLE = "X-Hasura-User-Id"

_INCLUDE = "!include "
_MIGRATION_DIR = re.compile(r"^(\d+)_(\w[\w.-]*)$")


class MetadataError(ClerkHasuraError):
    """`metadata/` cannot be read or does not describe valid metadata; lists every problem, each with its file."""

    def __init__(self, problems: list[str], *, directory: Path | str):
        self.problems = problems
        count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
        super().__init__("\n".join([f"Hasura metadata in {directory} is invalid ({count}); nothing was sent to "
                                    "Hasura:", *(f"  - {p}" for p in problems)]))


@dataclass(frozen=True)
class Migration:
    """One `migrations/<source>/<version>_<name>/up.sql`."""

    source: str
    version: int
    name: str
    up_sql: str
    """The SQL the deploy runs: the file without its `\\restrict` / `\\unrestrict` lines (`without_restrict_lines`)."""
    removed_lines: tuple[str, ...] = ()
    """The psql meta-command lines left out of `up_sql`, as the file has them."""

    @property
    def label(self) -> str:
        return f"{self.version}_{self.name}"

    @property
    def path(self) -> str:
        return f"migrations/{self.source}/{self.label}/up.sql"


@dataclass(frozen=True)
class MetadataProject:
    """The desired state: the metadata document and the migrations, in apply order."""

    metadata: dict[str, Any]
    migrations: tuple[Migration, ...] = ()
    directory: str = "metadata"

    def to_inputs(self) -> dict[str, Any]:
        """Plain JSON-able data (for Pulumi resource inputs); `removed_lines` only where there are some, so the
        inputs of every other migration stay as they were."""
        return {"metadata": self.metadata,
                "migrations": [{"source": m.source, "version": str(m.version), "name": m.name, "up_sql": m.up_sql,
                                **({"removed_lines": list(m.removed_lines)} if m.removed_lines else {})}
                               for m in self.migrations]}

    @classmethod
    def from_inputs(cls, metadata: dict[str, Any], migrations: list[dict[str, Any]],
                    directory: str = "metadata") -> MetadataProject:
        return cls(metadata=metadata, directory=directory, migrations=tuple(
            Migration(source=m["source"], version=int(m["version"]), name=m["name"], up_sql=m["up_sql"],
                      removed_lines=tuple(m.get("removed_lines") or ()))
            for m in migrations))


def content_hash(metadata: dict[str, Any], migrations: tuple[Migration, ...] | list[Migration]) -> str:
    """sha256 of a metadata document and migrations (pass normalized metadata to hash only what Hasura sees)."""
    payload = json.dumps({"metadata": metadata, "migrations": [[m.source, m.version, m.name, m.up_sql]
                                                               for m in migrations]}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------
# Loading


def load_project(directory: str | Path, *, validate: bool = True,
                 platform_schemas: frozenset[str] = frozenset()) -> MetadataProject:
    """Read a config v3 project folder (the one holding `config.yaml`); validated unless told otherwise, with
    `platform_schemas` as `validate_project` takes them."""
    root = Path(directory)
    problems: list[str] = []
    config = _read_yaml(root / "config.yaml", problems, root) if (root / "config.yaml").exists() else {}
    if not (root / "config.yaml").exists():
        problems.append(f"config.yaml: not found in {root}. Fix: point at the Hasura CLI project folder "
                        "(the one holding config.yaml, metadata/ and migrations/)")
    config = config if isinstance(config, dict) else {}
    if config and config.get("version") != 3:
        problems.append(f"config.yaml: version is {config.get('version')!r}; this loader reads config v3 projects. "
                        "Fix: set `version: 3` (run `hasura scripts update-project-v3` on an older project)")
    metadata_dir = root / str(config.get("metadata_directory") or "metadata")
    migrations_dir = root / str(config.get("migrations_directory") or "migrations")
    if problems:
        raise MetadataError(problems, directory=root)
    metadata = _read_metadata(metadata_dir, problems)
    migrations = _read_migrations(migrations_dir, problems)
    if problems:
        raise MetadataError(problems, directory=root)
    project = MetadataProject(metadata=metadata, migrations=tuple(migrations), directory=str(root))
    if validate:
        validate_project(project, platform_schemas=platform_schemas)
    return project


def _read_metadata(metadata_dir: Path, problems: list[str]) -> dict[str, Any]:
    if not metadata_dir.is_dir():
        problems.append(f"{metadata_dir}: the metadata folder is missing. Fix: create it with version.yaml and "
                        "databases/databases.yaml (or run `hasura metadata export`)")
        return {}
    version_file = metadata_dir / "version.yaml"
    version = _read_yaml(version_file, problems, metadata_dir) if version_file.exists() else None
    if not isinstance(version, dict) or version.get("version") != 3:
        problems.append(f"{version_file.relative_to(metadata_dir.parent)}: must say `version: 3` (metadata format v3)")
    document: dict[str, Any] = {"version": 3}
    databases = metadata_dir / "databases" / "databases.yaml"
    sources = _read_yaml(databases, problems, metadata_dir) if databases.exists() else None
    if not databases.exists():
        problems.append("metadata/databases/databases.yaml: not found. Fix: declare the source `default` there")
    document["sources"] = sources if sources is not None else []
    for file_name, key in TOP_LEVEL_FILES.items():
        path = metadata_dir / file_name
        if path.exists():
            value = _read_yaml(path, problems, metadata_dir)
            if value not in (None, [], {}) and value != {"disabled_for_roles": []}:
                document[key] = value
    actions_file, sdl_file = metadata_dir / "actions.yaml", metadata_dir / "actions.graphql"
    if actions_file.exists() or sdl_file.exists():
        value = _read_yaml(actions_file, problems, metadata_dir) if actions_file.exists() else None
        actions, action_problems = read_actions(value, sdl_file.read_text() if sdl_file.exists() else "")
        problems += action_problems
        document.update(actions)
    return document


class _IncludeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when present: 1000 tables in ms
    """SafeLoader that also accepts `!include` as a tag (the CLI writes it as a quoted string; both occur)."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        # Plain scalars as the Hasura CLI (gopkg.in/yaml.v3, YAML 1.2 core) reads them: `on`, `yes`, `1:20` are
        # strings, not YAML 1.1's booleans and sexagesimal numbers.
        if kind is yaml.ScalarNode and implicit[0]:
            return "tag:yaml.org,2002:" + yaml_v3_kind(value)
        return super().resolve(kind, value, implicit)


_IncludeLoader.add_constructor("!include", lambda loader, node: _INCLUDE + loader.construct_scalar(node))


def parse_yaml(text: str) -> Any:
    """One metadata file's YAML as the loader reads it, `!include` (tag or string) left as the string it names."""
    return yaml.load(text, Loader=_IncludeLoader)  # noqa: S506 - SafeLoader subclass


def _read_yaml(path: Path, problems: list[str], base: Path, seen: tuple[Path, ...] = ()) -> Any:
    label = _relative(path, base)
    if path.resolve() in seen:
        problems.append(f"{label}: includes itself (through {' -> '.join(_relative(p, base) for p in seen)})")
        return None
    try:
        value = parse_yaml(path.read_text())
    except FileNotFoundError:
        problems.append(f"{label}: file not found")
        return None
    except yaml.YAMLError as error:
        problems.append(f"{label}: not valid YAML ({error})".replace("\n", " "))
        return None
    return _resolve_includes(value, path, problems, base, (*seen, path.resolve()))


def _resolve_includes(value: Any, path: Path, problems: list[str], base: Path, seen: tuple[Path, ...]) -> Any:
    if isinstance(value, str) and value.startswith(_INCLUDE):
        target = path.parent / value[len(_INCLUDE):].strip()
        if not target.exists():
            problems.append(f"{_relative(path, base)}: `{value}` names {_relative(target, base)}, which does not "
                            "exist. Fix: the path is relative to the including file")
            return None
        return _read_yaml(target, problems, base, seen)
    if isinstance(value, list):
        return [_resolve_includes(item, path, problems, base, seen) for item in value]
    if isinstance(value, dict):
        return {key: _resolve_includes(item, path, problems, base, seen) for key, item in value.items()}
    return value


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base.parent))
    except ValueError:
        return str(path)


def _read_migrations(migrations_dir: Path, problems: list[str]) -> list[Migration]:
    migrations: list[Migration] = []
    if not migrations_dir.is_dir():
        return migrations
    for source_dir in sorted(p for p in migrations_dir.iterdir() if p.is_dir()):
        for migration_dir in sorted(p for p in source_dir.iterdir() if p.is_dir()):
            match = _MIGRATION_DIR.match(migration_dir.name)
            label = f"migrations/{source_dir.name}/{migration_dir.name}"
            if not match:
                problems.append(f"{label}: folder name must be `<timestamp>_<name>` (as `hasura migrate create` "
                                "makes it)")
                continue
            up = migration_dir / "up.sql"
            if not up.exists():
                problems.append(f"{label}: has no up.sql")
                continue
            up_sql, removed = without_restrict_lines(up.read_text())
            migrations.append(Migration(source=source_dir.name, version=int(match[1]), name=match[2],
                                        up_sql=up_sql, removed_lines=removed))
    migrations.sort(key=lambda m: (m.source, m.version))
    versions = [(m.source, m.version) for m in migrations]
    for duplicate in sorted({v for v in versions if versions.count(v) > 1}):
        problems.append(f"migrations/{duplicate[0]}: two migrations share version {duplicate[1]}. Fix: give each "
                        "its own timestamp")
    return migrations


#: The two psql meta-commands pg_dump 17.6 (and 16.10, 15.14, 14.19, 13.22; CVE-2025-8714) writes into a plain
#: dump: `\restrict KEY` after the header and `\unrestrict KEY` after "PostgreSQL database dump complete"
#: (src/bin/pg_dump/pg_backup_archiver.c RestoreArchive), KEY alphanumeric (src/bin/pg_dump/dumputils.c
#: valid_restrict_key). Hasura's /v1alpha1/pg_dump passes --restrict-key=hasura since v2.48.6, so files from
#: `hasura migrate create --from-server` and `hasura seed create --from-table` start and end with them.
_RESTRICT_LINE = re.compile(r"^\\(?:un)?restrict [A-Za-z0-9]+[ \t]*\r?$", re.MULTILINE)


def without_restrict_lines(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` without its `\\restrict KEY` / `\\unrestrict KEY` lines, and the lines removed.

    Left out rather than refused: they are psql meta-commands, not SQL. In psql, `\\restrict` only makes psql
    refuse further meta-commands until `\\unrestrict`; the database never sees either. Hasura's run_sql hands the
    text to PostgreSQL, which rejects the backslash (42601 syntax error at or near "\\"), so a file with them can
    never run as it is, and without them it runs exactly as psql would run it. Only whole lines of exactly that
    form, outside quotes, dollar-quoted bodies and comments, are removed; any other backslash line stays (and fails
    in run_sql as before). The deploy says so when it runs such a migration (`hasura migrate apply` would still
    fail on the file)."""
    return _without_lines(sql, _RESTRICT_LINE)


#: The statement pg_dump 17 and later writes into the preamble of every plain dump
#: (src/bin/pg_dump/pg_backup_archiver.c _doSetFixedOutputState). Hasura's /v1alpha1/pg_dump `clean_output` keeps it
#: (it is not among PGDump.hs preambleLines), so `hasura migrate create --from-server` against Hasura v2.48.6+ (pg_dump
#: 17) writes it too. transaction_timeout is new in PostgreSQL 17: 16 and older reject the statement (42704
#: unrecognized configuration parameter "transaction_timeout"), and so the whole run_sql transaction.
TRANSACTION_TIMEOUT_LINE = "SET transaction_timeout = 0;"
#: `server_version_num` of the first PostgreSQL that knows transaction_timeout.
TRANSACTION_TIMEOUT_SINCE = 170000
_TRANSACTION_TIMEOUT = re.compile(r"^SET transaction_timeout = 0;[ \t]*\r?$", re.MULTILINE)


def without_transaction_timeout(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` without its `SET transaction_timeout = 0;` lines (pg_dump 17's preamble), and the lines removed; only
    whole lines of exactly that statement, outside quotes, dollar-quoted bodies and comments. For a server older than
    PostgreSQL 17 only (`TRANSACTION_TIMEOUT_SINCE`), which the apply knows and the loader does not: on 17 and later
    the statement runs as written. Without it the dump runs as it would on a server that knows the setting, since
    pg_dump sets it only to lift a timeout older servers do not have."""
    return _without_lines(sql, _TRANSACTION_TIMEOUT)


def _without_lines(sql: str, line: re.Pattern[str]) -> tuple[str, tuple[str, ...]]:
    """`sql` without the whole lines `line` matches outside quotes, dollar-quoted bodies and comments, and those
    lines (without their line ends)."""
    candidates = list(line.finditer(sql))
    if not candidates:
        return sql, ()
    unquoted = {index for index, _char in _unquoted_chars(sql)}
    matches = [match for match in candidates if match.start() in unquoted]
    if not matches:
        return sql, ()
    kept, previous = [], 0
    for match in matches:
        kept.append(sql[previous:match.start()])
        previous = match.end() + 1 if sql.startswith("\n", match.end()) else match.end()
    kept.append(sql[previous:])
    return "".join(kept), tuple(match[0].rstrip() for match in matches)


# ---------------------------------------------------------------------------------------------------
# Tables the migrations create (a parser of the DDL subset migrations use; see `table_columns`)


@dataclass
class TableShape:
    """Columns of a table after all migrations; `columns is None` when a statement made them unknowable."""

    columns: set[str] | None = field(default_factory=set)


def table_columns(migrations: tuple[Migration, ...] | list[Migration], source: str) -> dict[tuple[str, str], TableShape]:
    """The tables (schema, name) and their columns after running `source`'s migrations in order.

    Understands CREATE TABLE (column list), CREATE VIEW, ALTER TABLE ADD/DROP/RENAME COLUMN and RENAME TO,
    DROP TABLE/VIEW. A table whose columns come from something else (`CREATE TABLE … AS`, `LIKE`,
    `PARTITION OF`, a view) gets unknown columns, so no column check is made on it rather than a wrong one;
    Hasura's own consistency check still runs on apply.
    """
    tables: dict[tuple[str, str], TableShape] = {}
    for migration in migrations:
        if migration.source != source:
            continue
        for statement in split_sql(migration.up_sql):
            _apply_statement(statement, tables)
    return tables


_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = rf"({_IDENT}(?:\s*\.\s*{_IDENT})?)"
_CREATE_TABLE = re.compile(
    rf"^CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"{_QUALIFIED}\s*(.*)$", re.IGNORECASE | re.DOTALL)
_CREATE_VIEW = re.compile(
    rf"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY)\s+)?(?:RECURSIVE\s+)?(?:MATERIALIZED\s+)?VIEW\s+"
    rf"(?:IF\s+NOT\s+EXISTS\s+)?{_QUALIFIED}", re.IGNORECASE | re.DOTALL)
_ALTER_TABLE = re.compile(rf"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_QUALIFIED}\s*\*?\s*(.*)$",
                          re.IGNORECASE | re.DOTALL)
_DROP = re.compile(r"^DROP\s+(?:MATERIALIZED\s+)?(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?(.*?)(?:\s+(?:CASCADE|RESTRICT))?$",
                   re.IGNORECASE | re.DOTALL)
_CONSTRAINT_ITEM = re.compile(r"^(CONSTRAINT|PRIMARY|UNIQUE|CHECK|FOREIGN|EXCLUDE)\b", re.IGNORECASE)


def _apply_statement(statement: str, tables: dict[tuple[str, str], TableShape]) -> None:
    if match := _CREATE_TABLE.match(statement):
        name, rest = _qualified(match[1]), match[2].strip()
        if not rest.startswith("(") or re.match(r"^\(.*\)\s*AS\b", rest, re.IGNORECASE | re.DOTALL):
            tables[name] = TableShape(columns=None)  # CREATE TABLE … AS / PARTITION OF / OF type
            return
        body = rest[1:_closing_paren(rest)]
        shape = TableShape()
        for item in _split_top_level(body, ","):
            if _CONSTRAINT_ITEM.match(item):
                continue
            if re.match(r"^LIKE\b", item, re.IGNORECASE):
                shape.columns = None
                break
            if shape.columns is not None and (column := _leading_identifier(item)):
                shape.columns.add(column)
        tables[name] = shape
    elif match := _CREATE_VIEW.match(statement):
        tables[_qualified(match[1])] = TableShape(columns=None)
    elif match := _ALTER_TABLE.match(statement):
        name = _qualified(match[1])
        shape = tables.get(name)
        for action in _split_top_level(match[2], ","):
            if renamed := re.match(rf"^RENAME\s+TO\s+({_IDENT})$", action, re.IGNORECASE):
                if shape is not None:
                    tables.pop(name)
                    name = (name[0], _identifier(renamed[1]))
                    tables[name] = shape
            elif shape is None or shape.columns is None:
                continue
            elif added := re.match(rf"^ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?({_IDENT})", action, re.IGNORECASE):
                if not _CONSTRAINT_ITEM.match(added[1]):
                    shape.columns.add(_identifier(added[1]))
            elif dropped := re.match(rf"^DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?({_IDENT})", action, re.IGNORECASE):
                if dropped[1].upper() != "CONSTRAINT":
                    shape.columns.discard(_identifier(dropped[1]))
            elif moved := re.match(rf"^RENAME\s+(?:COLUMN\s+)?({_IDENT})\s+TO\s+({_IDENT})$", action, re.IGNORECASE):
                if moved[1].upper() != "CONSTRAINT":
                    shape.columns.discard(_identifier(moved[1]))
                    shape.columns.add(_identifier(moved[2]))
    elif match := _DROP.match(statement):
        for item in _split_top_level(match[1], ","):
            tables.pop(_qualified(item), None)


def _identifier(token: str) -> str:
    token = token.strip()
    return token[1:-1].replace('""', '"') if token.startswith('"') else token.lower()


def _qualified(token: str) -> tuple[str, str]:
    parts = [_identifier(p) for p in _split_top_level(token, ".")]
    return (parts[0], parts[1]) if len(parts) == 2 else ("public", parts[0])


def _leading_identifier(item: str) -> str | None:
    match = re.match(_IDENT, item)
    return _identifier(match[0]) if match else None


def _closing_paren(text: str) -> int:
    depth = 0
    for index, char in _unquoted_chars(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and char == ")":
            return index
    return len(text)


def _split_top_level(text: str, separator: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in _unquoted_chars(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == separator and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _unquoted_chars(text: str):
    """(index, char) for every character outside quotes, dollar-quoted bodies and comments."""
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char in "'\"":
            end = index + 1
            while end < length:
                if text[end] == char:
                    if end + 1 < length and text[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            index = end + 1
            continue
        if char == "$" and (tag := re.match(r"\$[A-Za-z_0-9]*\$", text[index:])):
            end = text.find(tag[0], index + len(tag[0]))
            index = length if end < 0 else end + len(tag[0])
            continue
        if text.startswith("--", index):
            end = text.find("\n", index)
            index = length if end < 0 else end + 1
            continue
        if text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = length if end < 0 else end + 2
            continue
        yield index, char
        index += 1


def split_sql(sql: str) -> list[str]:
    """The statements of a SQL script (split on `;` outside quotes, dollar quotes and comments), comments removed."""
    text = _without_comments(sql)
    statements, start = [], 0
    for index, char in _unquoted_chars(text):
        if char == ";":
            statements.append(text[start:index])
            start = index + 1
    statements.append(text[start:])
    return [s.strip() for s in statements if s.strip()]


def _without_comments(sql: str) -> str:
    # Keep every unquoted char and every quoted/dollar-quoted span; a comment is what lies between them
    # that starts with -- or /*.
    kept, previous = [], 0
    for index, _ in _unquoted_chars(sql):
        gap = sql[previous:index]
        kept.append(" " if gap.startswith(("--", "/*")) else gap)
        kept.append(sql[index])
        previous = index + 1
    tail = sql[previous:]
    kept.append(" " if tail.startswith(("--", "/*")) else tail)
    return "".join(kept)


# ---------------------------------------------------------------------------------------------------
# Validation


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


# ---------------------------------------------------------------------------------------------------
# Normalizing for semantic comparison


def table_key(table: Any) -> tuple[str, str]:
    """(schema, name) of a `TableName` (`"users"` or `{"schema": .., "name": ..}`; schema defaults to public)."""
    if isinstance(table, str):
        return ("public", table)
    if isinstance(table, dict):
        return (str(table.get("schema") or "public"), str(table.get("name")))
    return ("public", str(table))


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
