"""A test double of Hasura GraphQL Engine v2, served over real HTTP on 127.0.0.1 with real PostgreSQL behind it.

It follows the documented behaviour collected in `../shared/reference/hasura.md` (each handler cites its section),
so a product bug shows up against it the way it would against the real server. Modules:

- `server`             HTTP routes, request counting, fault injection, start/stop/restart (`HasuraDouble`)
- `auth`               admin secret / JWT mode / unauthorized role; `jwt_config` parses HASURA_GRAPHQL_JWT_SECRET;
                       `jwks` holds keys (static `key`, or `jwk_url` with the §4.4 refresh rules); `jwt_verify`
                       checks tokens with joserfc and extracts the Hasura claims
- `metadata`           metadata parsing/normalization, consistency against the database, storage in `hdb_catalog`
- `metadata_api`       `/v1/metadata` operations (and the catalog state); `schema_api` `/v2/query` run_sql;
                       `query_api` the v1 query API on `/v1/query`; `pg_dump` `/v1alpha1/pg_dump` (real pg_dump)
- `graphql`            `/v1/graphql` requests; `graphql_schema` builds the per-role schema (graphql-core);
                       `graphql_resolvers` turn root fields into parameterized SQL; `sql` has the Postgres helpers
- `testing`            helpers for tests: `hasura_token(...)`, `sign(...)`, `rsa_key(kid)`, `JwksServer`,
                       `USERS_DDL` + `users_metadata()` (own-row `user` permissions), a shared `http` client

Configure it like the container::

    double = HasuraDouble(
        jwt_secret='{"type":"HS256","key":"<32+ chars>"}',   # HASURA_GRAPHQL_JWT_SECRET, verbatim JSON (or None)
        admin_secret="test-admin-secret",                     # HASURA_GRAPHQL_ADMIN_SECRET
        unauthorized_role=None,                               # HASURA_GRAPHQL_UNAUTHORIZED_ROLE
        metadata_database_url="postgres://...",               # HASURA_GRAPHQL_METADATA_DATABASE_URL
        env={"PG_DATABASE_URL": "postgres://..."},            # what `database_url: {from_env: ...}` can read;
                                                              #   HASURA_GRAPHQL_DATABASE_URL adds source `default`
        pg_dump_version=None,                                 # "17.6": pg_dump as v2.48.6-10 bundle it (refuses
    ).start()                                                 #   a newer server); None: the wheel's own

`start()` raises `StartupError` where the real server would exit (bad JWT secret JSON, JWT without admin secret,
unreachable `jwk_url`). Then:

- `url` (`http://127.0.0.1:<port>`), `admin_secret`, `database_url` (the metadata database);
- serves `GET /healthz[?strict=true]`, `GET /v1/version`, `GET /v1alpha1/config` (admin), `POST /v1/metadata`,
  `POST /v2/query`, `POST /v1/query`, `POST /v1alpha1/pg_dump` (admin), `POST /v1/graphql` (and
  `/v1alpha1/graphql`, which keeps 4xx statuses) — all the Hasura CLI sends for `metadata`, `migrate` and `seed`,
  answered as v2.48.10 answers it (each behaviour cites the server source it copies; backend_only permissions
  and claims-map JSON paths are replayed against Hasura's own tests-py cases);
- `requests`: Counter keyed `(path, operation)` — operation is the metadata/query `type`
  (`("/v1/metadata", "replace_metadata")`, `("/v2/query", "run_sql")`), the GraphQL operation type
  (`("/v1/graphql", "query")`, `"mutation"`, or `"unknown"`), or None for GET endpoints;
  `count(path, operation=None)`, `writes()` (metadata and catalog-state writes + non-read-only run_sql),
  `reset_counts()`;
- `fail_next(n, mode="500"|"502"|"503"|"drop", path=None)`: the next n requests get that 5xx, or the connection
  is closed with no response; `slow(seconds)` delays every response until `slow(0)`;
- `restart()`: same port and metadata database (metadata survives; JWK key set starts empty again), `stop()`;
- `wait_for_jwks()`: block until the jwk_url key set is loaded; `jwks_fetches` counts JWK fetches.

By hand, for exploring (needs a running PostgreSQL, or let it start a throwaway one)::

    .venv/bin/python -m tests.doubles.hasura --jwt-secret '{"type":"HS256","key":"<32+ chars>"}'
"""

try:
    import graphql  # noqa: F401
    import joserfc  # noqa: F401
    import psycopg  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(f"{exc}: the Hasura double needs the test dependencies: pip install -e '.[test]'") from exc

from .errors import HasuraError, StartupError  # noqa: E402
from .server import HASURA_VERSION, HasuraDouble  # noqa: E402

__all__ = ["HasuraDouble", "HasuraError", "StartupError", "HASURA_VERSION"]
