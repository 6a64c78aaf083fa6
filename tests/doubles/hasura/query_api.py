"""`POST /v1/query` — the v1 query API that v2 servers still serve (server source Hasura/Server/API/Query.hs).

The Hasura CLI checks every server with `{"type":"export_metadata","args":{}}` here before anything else
(hasura.md §1.11). The API takes the metadata operations under their v1 names (`track_table`,
`create_select_permission`, `replace_metadata`, `export_metadata`, …, RQLQueryV1), `run_sql` and `bulk`; with
`"version": 2`, `track_table` and `replace_metadata` take their v2 arguments (RQLQueryV2). Each operation behaves
as on `/v1/metadata` and `/v2/query` (one implementation: `MetadataApi`, `SchemaApi`); v1 `export_metadata`
answers the bare metadata object. Anything else is `parse-failed`, as aeson's tagged decoding of RQLQuery fails.

Subset: a `bulk` made only of metadata operations is all or nothing (one metadata change, as the server saves it
once); a `bulk` that mixes in `run_sql` runs its children in order and stops at the first failure, SQL already
committed by earlier children staying committed.
"""

from __future__ import annotations

from typing import Any

from .admin_api import AdminApi
from .metadata_api import MetadataApi
from .metadata import parse_failed
from .schema_api import SchemaApi

#: RQLQueryV1 constructors the double implements (snakeCase . drop 2), and the /v1/metadata name each runs as.
V1_OPERATIONS = {
    "add_existing_table_or_view": "track_table",
    "track_table": "track_table",
    "untrack_table": "untrack_table",
    **{f"{verb}_{kind}_permission": f"{verb}_{kind}_permission"
       for verb in ("create", "drop") for kind in ("insert", "select", "update", "delete")},
    "get_inconsistent_metadata": "get_inconsistent_metadata",
    "drop_inconsistent_metadata": "drop_inconsistent_metadata",
    "replace_metadata": "replace_metadata",
    "export_metadata": "export_metadata",
    "clear_metadata": "clear_metadata",
    "reload_metadata": "reload_metadata",
}
#: RQLQueryV2 constructors (snakeCase . drop 4) the double implements.
V2_OPERATIONS = {"track_table", "replace_metadata"}


class QueryApi(AdminApi):
    @classmethod
    def writes(cls, query: dict[str, Any]) -> bool:
        kind = query.get("type")
        if kind == "run_sql":
            return SchemaApi.is_write(query)
        return kind in V1_OPERATIONS and MetadataApi.is_write({"type": V1_OPERATIONS[kind]})

    def run(self, query: Any) -> Any:
        kind, version = self.query_type(query), query.get("version", 1)
        if kind == "bulk" and version == 1:
            return self._bulk(query.get("args"))
        if kind == "run_sql" and version == 1:
            return SchemaApi(self.engine).run_sql(query.get("args"))
        known = V2_OPERATIONS if version == 2 else V1_OPERATIONS if version == 1 else set()
        if kind not in known:
            raise parse_failed(f'unknown query type "{kind}" for version {version}', "$.type")
        metadata_query = {"type": V1_OPERATIONS[kind], "args": query.get("args", {})}
        if version == 2:
            metadata_query["version"] = 2
        return MetadataApi(self.engine).run(metadata_query)

    def _bulk(self, children: Any) -> list[Any]:
        if not isinstance(children, list):
            raise parse_failed("expected Array for bulk args", "$.args")
        if all(isinstance(c, dict) and c.get("type") in V1_OPERATIONS and c.get("version", 1) == 1
               for c in children):
            return MetadataApi(self.engine).run({"type": "bulk", "args": [
                {"type": V1_OPERATIONS[c["type"]], "args": c.get("args", {})} for c in children]})
        return [self.run(child) for child in children]
