"""The server's state: metadata store, schema cache and per-role GraphQL schemas, guarded by one lock
(Hasura serializes metadata operations); and the schema sync that keeps several instances on one metadata database
agreeing."""

from __future__ import annotations

import threading
from typing import Any, Mapping

from graphql import GraphQLSchema

from .graphql_resolvers import Resolvers
from .graphql_schema import build_role_schema
from .metadata import EMPTY_METADATA, MetadataStore, SchemaCache, build_schema_cache
from .sql import ConnectionPool

DEFAULT_SOURCE_ENV = "HASURA_GRAPHQL_DATABASE_URL"
#: Milliseconds between two looks at the stored metadata's version; 0 turns the sync off (reference: hasura.md §3.2,
#: server `--schema-sync-poll-interval`, default 1000).
SYNC_INTERVAL_ENV = "HASURA_GRAPHQL_SCHEMA_SYNC_POLL_INTERVAL"
DEFAULT_SYNC_INTERVAL_MS = 1000


def initial_metadata(env: Mapping[str, str]) -> dict[str, Any]:
    """A fresh catalog: empty, or with source `default` when `HASURA_GRAPHQL_DATABASE_URL` is set (§3.1)."""
    if DEFAULT_SOURCE_ENV not in env:
        return dict(EMPTY_METADATA)
    connection_info = {
        "database_url": {"from_env": DEFAULT_SOURCE_ENV},
        "isolation_level": "read-committed",
        "pool_settings": {"connection_lifetime": 600, "idle_timeout": 180, "max_connections": 50, "retries": 1},
        "use_prepared_statements": True,
    }
    source = {"name": "default", "kind": "postgres", "tables": [], "configuration": {"connection_info": connection_info}}
    return {"version": 3, "sources": [source]}


class Engine:
    def __init__(self, *, metadata_database_url: str, env: Mapping[str, str]):
        self.env = dict(env)
        self.pool = ConnectionPool()
        self.store = MetadataStore(metadata_database_url, self.pool)
        self.lock = threading.RLock()
        metadata, version = self.store.load_or_init(initial_metadata(self.env))
        self._cache = build_schema_cache(metadata, version, self.env)
        self._schemas: dict[tuple[str, bool], GraphQLSchema] = {}

    def sync_interval(self) -> float:
        """Seconds between schema sync polls; 0 when turned off."""
        return int(self.env.get(SYNC_INTERVAL_ENV, DEFAULT_SYNC_INTERVAL_MS)) / 1000

    def sync(self) -> bool:
        """One schema sync poll: when another instance stored newer metadata, rebuild the schema cache from it,
        sources re-introspected (their DDL may have changed too). As the server's schema sync (Note [Schema Cache
        Sync], server/src-lib/Hasura/Server/SchemaUpdate.hs): every instance polls the metadata storage, and one
        that finds a resource_version newer than its own reloads; its own writes never trigger a reload. An
        unreachable database is skipped until the next poll. Returns whether it reloaded."""
        stored = self.store.stored_version()
        if stored is None or stored <= self._cache.resource_version:
            return False
        with self.lock:  # a write of this instance holds the lock until its cache is installed
            if stored <= self._cache.resource_version:
                return False
            metadata, version = self.store.load()
            self.install(build_schema_cache(metadata, version, self.env))
            return True

    @property
    def cache(self) -> SchemaCache:
        return self._cache

    def install(self, cache: SchemaCache) -> None:
        with self.lock:
            self._cache = cache
            self._schemas = {}

    def schema_for(self, role: str, backend_only_permissions: bool = False) -> tuple[GraphQLSchema, SchemaCache]:
        """The role's schema in the frontend scenario, or the backend one (backend_only permissions included)."""
        with self.lock:
            cache = self._cache
            key = (role, backend_only_permissions)
            if key not in self._schemas:
                self._schemas[key] = build_role_schema(cache, role, Resolvers(), backend_only_permissions)
            return self._schemas[key], cache
