"""The Hasura CLI project in `metadata/`, read into the exact metadata JSON and its migrations.

Pure: files in, data out. `load_project` resolves `!include` (hasura.md §2.1), assembles the document the Hasura
CLI would send and reads the migrations in apply order; unless told otherwise it then checks the project with
`rules.validate_project`, before anything reaches Hasura. What it returns is a `model.MetadataProject`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from components.hasura.actions import read_actions
from components.hasura.cli_yaml import yaml_v3_kind
from components.hasura.ddl import without_restrict_lines
from components.hasura.model import MetadataProject, Migration
from components.hasura.rules import MetadataError, validate_project

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

_INCLUDE = "!include "
_MIGRATION_DIR = re.compile(r"^(\d+)_(\w[\w.-]*)$")


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
    """One metadata file's YAML as `load_project` reads it, `!include` (tag or string) left as the string it names."""
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
