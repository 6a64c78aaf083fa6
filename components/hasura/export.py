"""Live metadata written into a Hasura CLI (config v3) project, in the files `hasura metadata export` writes.

Pure but for the file writes: `render_metadata_files` turns a metadata document (an `export_metadata` answer)
into the CLI's layout (`cli/internal/metadataobject/*`; hasura.md §2.1), which `project.load_project` reads back
into the same document:

- `databases/databases.yaml`: the sources with the keys the CLI's `Source` struct declares, in its order: name,
  kind, configuration, query_tags, customization, health_check, logical_models, native_queries,
  stored_procedures, then `tables: "!include <source>/tables/tables.yaml"` and, when there are functions,
  `functions: …` (`cli/internal/metadataobject/sources/sources.go` SourceWithNormalFields/Source: a key the
  struct has no field for is not written, as by the CLI);
- `databases/<source>/tables/tables.yaml`: one `- "!include <schema>_<table>.yaml"` per table, each table in its
  own file (`cli/internal/metadataobject/sources/sources.go` Export); functions alike under `functions/`;
- one file per other top-level key (`allow_list.yaml`, `remote_schemas.yaml`, …) as the server orders it
  (metadataobject.go DefaultExport), written with its empty value when the server leaves the key out, but
  `graphql_schema_introspection.yaml` always `disabled_for_roles` alone (its own struct); `version.yaml`;
- `actions.yaml` and `actions.graphql` as the CLI's actions object and its cli-ext write them
  (`actions.render_actions_files`; empty lists and an SDL of blank lines when there are no actions);
- `query_collections.yaml` through the CLI's own struct (querycollections/query_collections.go Export): each
  collection `name` then `definition.queries`, each query `name` then `query`, the query text reformatted by
  gqlparser's printer (`graphql_format.format_query`); a collection's `comment` is not written, as by the CLI.

Every file is byte for byte what `hasura metadata export` (v2.48) writes for the same metadata, proven against
files written by hand from the CLI's source (tests/data/cli_export). The YAML itself is the CLI encoder's
(`cli_yaml.dump_yaml`), and `load_project` reads it as the CLI does (YAML 1.2 core: `on`, `yes`, `1:20` are strings).

`write_metadata_files` rewrites a file only when what it says changed (YAML compared as data), so an export
right after a deploy changes no file and keeps its comments, and a change made in the console becomes a diff of
exactly the files it touched. Table and function files the live metadata no longer has are removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.errors import ClerkHasuraError
from components.hasura.actions import render_actions_files
from components.hasura.cli_yaml import dump_yaml
from components.hasura.graphql_format import GraphQLFormatError, format_query
from components.hasura.project import TOP_LEVEL_FILES, parse_yaml

#: The value each top-level file holds when the live metadata leaves its key out (as `hasura metadata export`).
EMPTY_TOP_LEVEL = {
    "allow_list.yaml": [],
    "api_limits.yaml": {},
    "backend_configs.yaml": {},
    "cron_triggers.yaml": [],
    "graphql_schema_introspection.yaml": {"disabled_for_roles": []},
    "inherited_roles.yaml": [],
    "metrics_config.yaml": {},
    "network.yaml": {},
    "opentelemetry.yaml": {},
    "query_collections.yaml": [],
    "remote_schemas.yaml": [],
    "rest_endpoints.yaml": [],
}
#: The keys of a source the CLI writes into databases.yaml before `tables`/`functions`, in its struct's order
#: (sources.go SourceWithNormalFields; name/kind/configuration always, the others only when present).
_SOURCE_FIELDS = ("name", "kind", "configuration", "query_tags", "customization", "health_check", "logical_models",
                  "native_queries", "stored_procedures")
_ALWAYS_WRITTEN = ("name", "kind", "configuration")


class ExportError(ClerkHasuraError):
    """The live metadata cannot be written as this project's files; nothing was written."""


@dataclass
class ExportReport:
    """Paths relative to the metadata directory."""

    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def render_metadata_files(metadata: dict[str, Any]) -> dict[str, str]:
    """Every file of the metadata directory (path relative to it -> text) for one metadata document."""
    unsupported = sorted(set(metadata) - {"version", "sources", "actions", "custom_types", *TOP_LEVEL_FILES.values()})
    if unsupported:
        raise ExportError(f"the live metadata holds {', '.join(unsupported)}, which this export has no file for. "
                          "Fix: export with the Hasura CLI (`hasura metadata export`)")
    files = {"version.yaml": dump_yaml({"version": metadata.get("version", 3)}), **render_actions_files(metadata)}
    for file_name, key in TOP_LEVEL_FILES.items():
        value = metadata.get(key)
        if key == "query_collections" and value is not None:
            value = _cli_query_collections(value)
        if key == "graphql_schema_introspection" and value is not None:
            # Re-encoded through the CLI's struct (graphql_schema_introspection.go): disabled_for_roles only.
            value = {"disabled_for_roles": value.get("disabled_for_roles") or []}
        files[file_name] = dump_yaml(value if value is not None else EMPTY_TOP_LEVEL[file_name])
    sources = []
    for source in metadata.get("sources") or []:
        entry = {key: source.get(key) for key in _SOURCE_FIELDS if key in _ALWAYS_WRITTEN or key in source}
        # A source without a tables key is written `tables: null` (the struct's field is not omitempty).
        entry["tables"] = None
        if "tables" in source:
            files.update(_included_files(source["name"], "tables", "table", source["tables"] or []))
            entry["tables"] = f"!include {source['name']}/tables/tables.yaml"
        if source.get("functions"):
            files.update(_included_files(source["name"], "functions", "function", source["functions"]))
            entry["functions"] = f"!include {source['name']}/functions/functions.yaml"
        elif "functions" in source:
            entry["functions"] = source["functions"]  # an empty list stays as it is (only its items get files)
        sources.append(entry)
    files["databases/databases.yaml"] = dump_yaml(sources)
    return files


def _cli_query_collections(collections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Collections as the CLI's `querycollection` struct re-encodes them: `name` (when given), then
    `definition: {queries: [...]}` with each query's `name` (when given) and its reformatted `query` (left out
    when empty); other keys, the collection's `comment` among them, are not written."""
    written = []
    for collection in collections:
        entry: dict[str, Any] = {"name": collection["name"]} if "name" in collection else {}
        queries = []
        for query in (collection.get("definition") or {}).get("queries") or []:
            item: dict[str, Any] = {"name": query["name"]} if "name" in query else {}
            text = query.get("query") or ""
            if text:
                try:
                    item["query"] = format_query(text) or text
                except GraphQLFormatError as error:
                    raise ExportError(f"query {query.get('name')!r} of query collection {collection.get('name')!r} "
                                      f"is {error}; the Hasura CLI cannot export it either. Fix: correct that "
                                      "query in the Hasura console and export again") from None
            queries.append(item)
        entry["definition"] = {"queries": queries}
        written.append(entry)
    return written


def _included_files(source: str, folder: str, key: str, items: list[dict[str, Any]]) -> dict[str, str]:
    """`<folder>/<folder>.yaml` listing one `!include <schema>_<name>.yaml` per item, and those files."""
    files: dict[str, str] = {}
    includes = []
    for item in items:
        name = item[key] if isinstance(item[key], dict) else {"schema": "public", "name": item[key]}
        file_name = f"{name.get('schema', 'public')}_{name['name']}.yaml"
        includes.append(f"!include {file_name}")
        files[f"databases/{source}/{folder}/{file_name}"] = dump_yaml(item)
    files[f"databases/{source}/{folder}/{folder}.yaml"] = dump_yaml(includes)
    return files


def write_metadata_files(metadata_dir: Path, files: dict[str, str]) -> ExportReport:
    """Write the files whose content changed; remove table/function files the metadata no longer has."""
    report = ExportReport()
    for relative, text in sorted(files.items()):
        path = metadata_dir / relative
        if path.exists() and _same_content(path.read_text(), text, relative):
            report.unchanged.append(relative)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        report.changed.append(relative)
    databases = metadata_dir / "databases"
    if databases.is_dir():
        for path in sorted(databases.rglob("*.yaml")):
            relative = path.relative_to(metadata_dir).as_posix()
            if relative not in files:
                path.unlink()
                report.removed.append(relative)
        for folder in sorted((p for p in databases.rglob("*") if p.is_dir()), key=lambda p: len(p.parts),
                             reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
    return report


def _same_content(existing: str, rendered: str, relative: str) -> bool:
    if existing == rendered or not relative.endswith(".yaml"):
        return existing == rendered
    try:
        return parse_yaml(existing) == parse_yaml(rendered)
    except yaml.YAMLError:
        return False


def metadata_directory(project_dir: Path) -> Path:
    """The metadata folder a config v3 project's config.yaml names (`metadata_directory`, default `metadata`)."""
    config_file = project_dir / "config.yaml"
    if not config_file.is_file():
        raise ExportError(f"{project_dir} has no config.yaml, so it is not a Hasura CLI project. Fix: pass the "
                          "folder holding config.yaml (this repository's metadata/) as --project-dir")
    try:
        config = yaml.safe_load(config_file.read_text()) or {}
    except yaml.YAMLError as error:
        raise ExportError(f"{config_file} is not valid YAML ({error})".replace("\n", " ")) from None
    if not isinstance(config, dict) or config.get("version") != 3:
        raise ExportError(f"{config_file} is not a config v3 project (version: 3). Fix: run "
                          "`hasura scripts update-project-v3` on it first")
    return project_dir / str(config.get("metadata_directory") or "metadata")
