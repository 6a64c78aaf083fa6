"""The Hasura double's metadata and schema APIs (hasura.md §1.1, §1.3–§1.11)."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.fixtures.postgres import running_postgres_cluster
from tests.doubles.hasura.testing import USERS_DDL, http, users_metadata


class Admin:
    """Admin calls against a double."""

    def __init__(self, double):
        self.double = double
        self.headers = {"X-Hasura-Admin-Secret": double.admin_secret}

    def metadata(self, body: dict) -> httpx.Response:
        return http.post(f"{self.double.url}/v1/metadata", json=body, headers=self.headers)

    def query(self, body: dict) -> httpx.Response:
        return http.post(f"{self.double.url}/v2/query", json=body, headers=self.headers)

    def sql(self, statement: str, **args) -> httpx.Response:
        return self.query({"type": "run_sql", "args": {"sql": statement, **args}})

    def export(self) -> dict:
        response = self.metadata({"type": "export_metadata", "version": 2, "args": {}})
        assert response.status_code == 200, response.text
        return response.json()

    def replace(self, metadata: dict, **args) -> httpx.Response:
        return self.metadata({"type": "replace_metadata", "version": 2, "args": {"metadata": metadata, **args}})


@pytest.fixture
def admin(hasura_double) -> Admin:
    client = Admin(hasura_double)
    assert client.sql(USERS_DDL).status_code == 200
    return client


@pytest.fixture
def plain_double(hasura_double_factory, postgres_database_url):
    """A double started compose-style: metadata DB + PG_DATABASE_URL, no source until metadata is applied."""
    return hasura_double_factory(jwt_secret=None, env={"PG_DATABASE_URL": postgres_database_url})


# -- export / replace (§1.3, §1.4) ----------------------------------------------------------------------------


def test_fresh_server_exports_empty_metadata_at_version_1(plain_double):
    assert Admin(plain_double).export() == {"resource_version": 1, "metadata": {"version": 3, "sources": []}}
    v1 = Admin(plain_double).metadata({"type": "export_metadata", "args": {}})
    assert v1.json() == {"version": 3, "sources": []}


def test_database_url_env_adds_default_source(admin):
    (source,) = admin.export()["metadata"]["sources"]
    assert source["name"] == "default"
    assert source["configuration"]["connection_info"]["database_url"] == {"from_env": "HASURA_GRAPHQL_DATABASE_URL"}


def test_replace_then_export_is_normalized_not_verbatim(admin):
    applied = users_metadata()
    response = admin.replace(applied)
    assert response.status_code == 200, response.text
    assert response.json() == {"is_consistent": True, "inconsistent_objects": []}
    exported = admin.export()
    assert exported["resource_version"] == 2
    (source,) = exported["metadata"]["sources"]
    assert list(source) == ["name", "kind", "tables", "configuration"]
    assert source["configuration"]["connection_info"] == {
        "database_url": {"from_env": "PG_DATABASE_URL"},
        "isolation_level": "read-committed",
        "use_prepared_statements": False,
    }
    (table,) = source["tables"]
    assert table["table"] == {"name": "users", "schema": "public"}
    assert list(table) == ["table", "insert_permissions", "select_permissions", "update_permissions"]
    assert exported["metadata"] != applied  # a product must compare semantically


def test_replace_v1_form_and_string_table_names(admin):
    metadata = users_metadata()
    metadata["sources"][0]["tables"] = [{"table": "users"}]
    response = admin.metadata({"type": "replace_metadata", "args": metadata})
    assert response.json() == {"message": "success"}
    assert admin.export()["metadata"]["sources"][0]["tables"] == [{"table": {"name": "users", "schema": "public"}}]


def test_defaults_are_dropped_on_export(admin):
    metadata = users_metadata()
    permission = metadata["sources"][0]["tables"][0]["select_permissions"][0]["permission"]
    permission.update({"allow_aggregations": False, "computed_fields": [], "limit": None})
    metadata["sources"][0]["tables"][0]["is_enum"] = False
    metadata["sources"][0]["tables"][0]["object_relationships"] = []
    assert admin.replace(metadata).status_code == 200
    table = admin.export()["metadata"]["sources"][0]["tables"][0]
    assert "is_enum" not in table and "object_relationships" not in table
    assert table["select_permissions"][0]["permission"] == {
        "columns": ["id", "clerk_user_id", "email"], "filter": {"clerk_user_id": {"_eq": "X-Hasura-User-Id"}}
    }  # fmt: skip


def test_inconsistent_replace_is_400_and_changes_nothing(admin):
    assert admin.replace(users_metadata()).status_code == 200
    before = admin.export()
    bad = users_metadata()
    bad["sources"][0]["tables"].append({"table": {"schema": "public", "name": "foobar"}})
    bad["sources"][0]["tables"][0]["select_permissions"][0]["permission"]["columns"].append("nope")
    response = admin.replace(bad)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["error"], body["path"]) == (
        "unexpected", "cannot continue due to inconsistent metadata", "$.args"
    )  # fmt: skip
    reasons = sorted(obj["reason"] for obj in body["internal"])
    assert reasons == [
        'Inconsistent object: in table "users": in permission for role "user": column "nope" does not exist',
        'Inconsistent object: no such table/view exists in source: "foobar"',
    ]
    assert admin.export() == before


def test_allow_inconsistent_metadata_stores_it_and_reports(admin):
    bad = users_metadata()
    bad["sources"][0]["tables"].append({"table": "foobar"})
    response = admin.replace(bad, allow_inconsistent_metadata=True)
    assert response.status_code == 200
    body = response.json()
    assert body["is_consistent"] is False
    assert body["inconsistent_objects"] == [{
        "definition": {"name": "foobar", "schema": "public"},
        "name": "table foobar in source default",
        "reason": 'Inconsistent object: no such table/view exists in source: "foobar"',
        "type": "table",
    }]  # fmt: skip
    inconsistent = admin.metadata({"type": "get_inconsistent_metadata", "args": {}}).json()
    assert inconsistent["is_consistent"] is False
    health = http.get(f"{admin.double.url}/healthz")
    assert (health.status_code, health.text) == (200, "WARN: inconsistent objects in schema")
    strict = http.get(f"{admin.double.url}/healthz?strict=true")
    assert (strict.status_code, strict.text) == (500, "ERROR: inconsistent objects in schema")


def test_unresolvable_from_env_makes_the_source_inconsistent(plain_double):
    response = Admin(plain_double).replace(users_metadata("NOT_SET_ANYWHERE"), allow_inconsistent_metadata=True)
    (obj,) = response.json()["inconsistent_objects"]
    assert (obj["type"], obj["name"]) == ("source", "source default")
    assert "NOT_SET_ANYWHERE" in obj["reason"]


def test_replace_missing_sources_key_is_parse_failed(admin):
    response = admin.replace({"version": 3})
    assert response.status_code == 400
    assert response.json() == {"path": "$.args.metadata", "error": 'key "sources" not found', "code": "parse-failed"}


def test_missing_required_permission_key_is_parse_failed(admin):
    metadata = users_metadata()
    del metadata["sources"][0]["tables"][0]["select_permissions"][0]["permission"]["filter"]
    response = admin.replace(metadata)
    assert (response.status_code, response.json()["code"]) == (400, "parse-failed")
    assert response.json()["error"] == 'key "filter" not found'


# -- resource_version (§1.5) ----------------------------------------------------------------------------------


def test_stale_resource_version_is_409_conflict(admin):
    version = admin.export()["resource_version"]
    ok = admin.metadata({"type": "replace_metadata", "version": 2, "resource_version": version,
                         "args": {"metadata": users_metadata()}})  # fmt: skip
    assert ok.status_code == 200
    stale = admin.metadata({"type": "replace_metadata", "version": 2, "resource_version": version,
                            "args": {"metadata": users_metadata()}})  # fmt: skip
    assert stale.status_code == 409
    assert stale.json() == {
        "path": "$", "code": "conflict",
        "error": f"metadata resource version referenced ({version}) did not match current version",
    }  # fmt: skip


def test_resource_version_increments_on_every_write_even_without_change(admin):
    start = admin.export()["resource_version"]
    admin.replace(users_metadata())
    admin.replace(users_metadata())
    admin.metadata({"type": "reload_metadata", "args": {}})
    admin.metadata({"type": "get_inconsistent_metadata", "args": {}})
    assert admin.export()["resource_version"] == start + 3


# -- track / permissions / bulk (§1.7–§1.9) -------------------------------------------------------------------


def test_track_and_permission_operations(admin):
    track = {"type": "pg_track_table", "args": {"source": "default", "table": {"schema": "public", "name": "users"}}}
    assert admin.metadata(track).json() == {"message": "success"}
    again = admin.metadata(track)
    assert (again.status_code, again.json()) == (
        400, {"path": "$.args", "error": 'view/table already tracked: "users"', "code": "already-tracked"}
    )  # fmt: skip
    permission = {"type": "pg_create_select_permission", "args": {"table": "users", "role": "user", "permission": {
        "columns": ["id"], "filter": {}}}}  # fmt: skip
    assert admin.metadata(permission).json() == {"message": "success"}
    duplicate = admin.metadata(permission).json()
    assert duplicate["code"] == "already-exists"
    assert duplicate["error"] == 'select permission already defined on table "users" with role "user"'
    drop = {"type": "pg_drop_select_permission", "args": {"table": "users", "role": "user"}}
    assert admin.metadata(drop).json() == {"message": "success"}
    assert admin.metadata(drop).json()["code"] == "not-exists"
    untrack = {"type": "pg_untrack_table", "args": {"table": "users"}}
    assert admin.metadata(untrack).json() == {"message": "success"}
    assert admin.metadata(untrack).json()["code"] == "already-untracked"


def test_tracking_a_missing_table_or_column_fails(admin):
    response = admin.metadata({"type": "pg_track_table", "args": {"table": "nope"}})
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["error"]) == (
        "invalid-configuration", 'no such table/view exists in source: "nope"'
    )  # fmt: skip
    admin.metadata({"type": "pg_track_table", "args": {"table": "users"}})
    response = admin.metadata({"type": "pg_create_update_permission", "args": {
        "table": "users", "role": "user", "permission": {"columns": ["ghost"], "filter": {}}}})  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"] == 'in table "users": in permission for role "user": column "ghost" does not exist'


def test_bulk_is_all_or_nothing(admin):
    version = admin.export()["resource_version"]
    response = admin.metadata({"type": "bulk", "args": [
        {"type": "pg_track_table", "args": {"table": "users"}},
        {"type": "pg_track_table", "args": {"table": "missing"}},
    ]})  # fmt: skip
    assert response.status_code == 400
    exported = admin.export()
    assert exported["metadata"]["sources"][0]["tables"] == []
    assert exported["resource_version"] == version


# -- reload / drift (§1.6) ------------------------------------------------------------------------------------


def test_external_ddl_is_noticed_only_after_reload_with_sources(admin, postgres_database_url):
    assert admin.replace(users_metadata()).status_code == 200
    with psycopg.connect(postgres_database_url, autocommit=True) as conn:
        conn.execute("alter table users rename column email to mail")
    assert admin.metadata({"type": "get_inconsistent_metadata", "args": {}}).json()["is_consistent"] is True
    stale = admin.metadata({"type": "reload_metadata", "args": {"reload_sources": False}}).json()
    assert stale == {"is_consistent": True, "message": "success"}
    reloaded = admin.metadata({"type": "reload_metadata", "args": {"reload_sources": True}}).json()
    assert reloaded["is_consistent"] is False and reloaded["message"] == "success"
    assert {obj["type"] for obj in reloaded["inconsistent_objects"]} == {"select_permission", "update_permission",
                                                                         "insert_permission"}  # fmt: skip


# -- persistence ----------------------------------------------------------------------------------------------


def test_metadata_survives_restart(admin):
    assert admin.replace(users_metadata()).status_code == 200
    before = admin.export()
    url = admin.double.url
    admin.double.restart()
    assert admin.double.url == url
    assert admin.export() == before


def test_metadata_lives_in_hdb_catalog(admin, postgres_database_url):
    admin.replace(users_metadata())
    with psycopg.connect(postgres_database_url) as conn:
        (version,) = conn.execute("select resource_version from hdb_catalog.hdb_metadata").fetchone()
    assert version == admin.export()["resource_version"]


# -- run_sql (§1.10) ------------------------------------------------------------------------------------------


def test_run_sql_result_shapes(admin):
    rows = admin.sql("select 1; select id, clerk_user_id, null as nothing from users order by id").json()
    assert rows == {
        "result_type": "TuplesOk",
        "result": [["id", "clerk_user_id", "nothing"], ["1", "user_alice", None], ["2", "user_bob", None]],
    }
    assert admin.sql("create table t (x int)").json() == {"result_type": "CommandOk", "result": None}


def test_run_sql_error_shape(admin):
    response = admin.sql("select * from nope")
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["error"], body["path"]) == ("postgres-error", "query execution failed", "$")
    assert body["internal"]["error"]["status_code"] == "42P01"
    assert body["internal"]["error"]["message"] == 'relation "nope" does not exist'
    assert body["internal"]["statement"] == "select * from nope"


def test_run_sql_read_only_refuses_writes(admin):
    response = admin.sql("insert into users (clerk_user_id) values ('x')", read_only=True)
    assert response.status_code == 400
    assert response.json()["internal"]["error"]["status_code"] == "25006"


def test_run_sql_is_one_transaction(admin):
    response = admin.sql("insert into users (clerk_user_id) values ('user_carol'); select * from nope")
    assert response.status_code == 400
    count = admin.sql("select count(*) from users").json()["result"][1][0]
    assert count == "2"


def test_run_sql_dropping_tracked_objects_needs_cascade(admin):
    assert admin.replace(users_metadata()).status_code == 200
    refused = admin.sql("alter table users drop column email")
    assert refused.status_code == 400
    assert refused.json()["code"] == "dependency-error"
    assert refused.json()["error"].startswith("cannot drop due to the following dependent objects: permission users.")
    cascaded = admin.sql("alter table users drop column email", cascade=True)
    assert cascaded.status_code == 200
    table = admin.export()["metadata"]["sources"][0]["tables"][0]
    assert "select_permissions" not in table and "update_permissions" not in table


def test_unknown_source_in_run_sql(admin):
    response = admin.sql("select 1", source="other")
    assert (response.status_code, response.json()["code"]) == (400, "not-exists")


# -- other endpoints (§1.11) ----------------------------------------------------------------------------------


def test_healthz_and_version_are_public(hasura_double):
    health = http.get(f"{hasura_double.url}/healthz")
    assert (health.status_code, health.text) == (200, "OK")
    # Hasura/App.hs getExtraDataForVersionAPI adds `server_type: ce` to the version.
    assert http.get(f"{hasura_double.url}/v1/version").json() == {"version": "v2.48.10", "server_type": "ce"}



def test_required_permission_keys_are_exported_even_when_empty(admin):
    metadata = users_metadata()
    metadata["sources"][0]["tables"][0]["select_permissions"][0]["permission"] = {"columns": [], "filter": {}}
    assert admin.replace(metadata).status_code == 200
    table = admin.export()["metadata"]["sources"][0]["tables"][0]
    assert table["select_permissions"][0]["permission"] == {"columns": [], "filter": {}}


def test_healthz_is_error_when_the_metadata_database_is_gone(hasura_double, postgres_cluster):
    postgres_cluster.drop_database(hasura_double.database_url)
    health = http.get(f"{hasura_double.url}/healthz")
    assert (health.status_code, health.text) == (500, "ERROR")


@pytest.fixture
def password_database(hasura_double_factory):
    """A double whose metadata database and source log in as `app_pw` with 'old-password', and an admin URL that
    changes that password: `(double, admin_url)`."""
    with running_postgres_cluster("clerk-hasura-pw-pg-",
                                  hba_lines=("host all app_pw 127.0.0.1/32 scram-sha-256",)) as cluster:
        admin_url = cluster.create_database("pw")
        database = admin_url.rsplit("/", 1)[1]
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("CREATE ROLE app_pw LOGIN PASSWORD 'old-password'")
            conn.execute(f"ALTER DATABASE {database} OWNER TO app_pw")
            conn.execute("ALTER SCHEMA public OWNER TO app_pw")
        url = f"postgres://app_pw:old-password@{cluster.host}:{cluster.port}/{database}"
        double = hasura_double_factory(jwt_secret=None, database_url=url,
                                       env={"PG_DATABASE_URL": url, "HASURA_GRAPHQL_DATABASE_URL": url})
        yield double, admin_url
        double.stop()


def change_password_then_end_the_sessions(admin_url: str, while_open) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("ALTER ROLE app_pw PASSWORD 'new-password'")
        while_open()
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app_pw'")


def test_healthz_keeps_its_connection_across_a_password_change(password_database):
    """Hasura's /healthz runs on the metadata pool: a connection opened before `ALTER ROLE … PASSWORD` keeps
    answering; once it breaks, a new one needs the new password."""
    double, admin_url = password_database
    assert http.get(f"{double.url}/healthz").text == "OK"
    change_password_then_end_the_sessions(
        admin_url, lambda: http.get(f"{double.url}/healthz").text == "OK" or pytest.fail("healthz failed"))
    health = http.get(f"{double.url}/healthz")
    assert (health.status_code, health.text) == (500, "ERROR")


def test_run_sql_keeps_its_connection_across_a_password_change(password_database):
    """run_sql runs on the source's pool (runRunSQL, server/src-lib/Hasura/Backends/Postgres/DDL/RunSQL.hs), so a
    Hasura that outlives a password change (an old pod during a rollout) still answers it; once the connection breaks,
    a new one needs the new password."""
    double, admin_url = password_database
    admin = Admin(double)
    created = admin.sql(USERS_DDL)
    assert created.status_code == 200, created.text

    def still_answers():
        answer = admin.sql("select count(*) from users")
        assert answer.status_code == 200 and answer.json()["result"] == [["count"], ["2"]], answer.text
        failed = admin.sql("select nope from users")  # an error hands the connection back too
        assert failed.status_code == 400 and failed.json()["code"] == "postgres-error", failed.text
        assert admin.sql("select 1").status_code == 200

    change_password_then_end_the_sessions(admin_url, still_answers)
    refused = admin.sql("select 1")
    assert refused.status_code >= 500 and "password authentication failed" in refused.text, refused.text


def test_clear_and_drop_inconsistent_metadata(admin):
    bad = users_metadata()
    bad["sources"][0]["tables"].append({"table": "foobar"})
    bad["sources"][0]["tables"][0]["select_permissions"][0]["permission"]["columns"].append("nope")
    admin.replace(bad, allow_inconsistent_metadata=True)
    assert admin.metadata({"type": "drop_inconsistent_metadata", "args": {}}).json() == {"message": "success"}
    (table,) = admin.export()["metadata"]["sources"][0]["tables"]
    assert "select_permissions" not in table and "update_permissions" in table  # the whole permission went
    assert admin.metadata({"type": "clear_metadata", "args": {}}).json() == {"message": "success"}
    (source,) = admin.export()["metadata"]["sources"]
    assert source["name"] == "default" and source["tables"] == []


def test_older_metadata_format_maps_to_source_default(admin):
    response = admin.metadata({"type": "replace_metadata", "args": {"version": 2, "tables": [{"table": "users"}]}})
    assert response.json() == {"message": "success"}
    (source,) = admin.export()["metadata"]["sources"]
    assert source["name"] == "default" and source["tables"] == [{"table": {"name": "users", "schema": "public"}}]


def test_export_v2_object_passed_as_metadata_is_rejected(admin):
    exported = admin.export()
    response = admin.replace(exported)  # issue #10324: resource_version belongs at the top level
    assert (response.status_code, response.json()["code"]) == (400, "parse-failed")


def test_track_tables_plural(admin):
    admin.sql("create table notes (id int primary key)")
    response = admin.metadata({"type": "pg_track_tables", "args": {"allow_warnings": False, "tables": [
        {"source": "default", "table": "users"}, {"table": {"schema": "public", "name": "notes"}}]}})  # fmt: skip
    assert response.json() == {"message": "success"}
    names = [t["table"]["name"] for t in admin.export()["metadata"]["sources"][0]["tables"]]
    assert names == ["notes", "users"]


def test_config_endpoint_reports_auth_mode_to_admins_only(hasura_double):
    config = http.get(f"{hasura_double.url}/v1alpha1/config", headers={"X-Hasura-Admin-Secret": hasura_double.admin_secret})
    body = config.json()
    assert (body["is_admin_secret_set"], body["is_jwt_set"]) == (True, True)
    # Hasura/Server/API/Config.hs: `jwt` is a list of JWTInfo (claims_namespace, claims_format, claims_map).
    assert body["jwt"] == [{"claims_namespace": "https://hasura.io/jwt/claims", "claims_format": "json",
                            "claims_map": None}]
    assert list(body) == ["version", "is_function_permissions_inferred", "is_remote_schema_permissions_enabled",
                          "is_admin_secret_set", "is_auth_hook_set", "is_jwt_set", "jwt", "is_allow_list_enabled",
                          "live_queries", "streaming_queries", "console_assets_dir", "experimental_features",
                          "is_prometheus_metrics_enabled", "default_naming_convention", "feature_flags",
                          "is_apollo_federation_enabled"]
    assert (body["live_queries"], body["console_assets_dir"]) == ({"batch_size": 100, "refetch_delay": 1},
                                                                  "/srv/console-assets")
    assert http.get(f"{hasura_double.url}/v1alpha1/config").json()["code"] == "invalid-headers"


# -- relationships (Hasura/RQL/DDL/Relationship.hs; export shape Serialization.hs relDefToOrdJSON) -------------------

POSTS_DDL = "CREATE TABLE public.posts (id serial PRIMARY KEY, author_id int REFERENCES public.users(id), title text)"


@pytest.fixture
def with_posts(admin) -> Admin:
    assert admin.sql(POSTS_DDL).status_code == 200
    for table in ("users", "posts"):
        assert admin.metadata({"type": "pg_track_table", "args": {"table": table}}).json() == {"message": "success"}
    return admin


def relationship(admin: Admin, rel_type: str, table: str, name: str, using: dict, **extra) -> httpx.Response:
    return admin.metadata({"type": f"pg_create_{rel_type}_relationship", "args": {
        "source": "default", "table": table, "name": name, "using": using, **extra}})


def test_object_and_array_relationships_are_created_and_exported_as_hasura_orders_them(with_posts):
    admin = with_posts
    assert relationship(admin, "object", "posts", "author", {"foreign_key_constraint_on": "author_id"},
                        comment="who wrote it").json() == {"message": "success"}
    assert relationship(admin, "array", "users", "posts", {"foreign_key_constraint_on": {
        "table": "posts", "column": "author_id"}}).json() == {"message": "success"}
    tables = {t["table"]["name"]: t for t in admin.export()["metadata"]["sources"][0]["tables"]}
    assert tables["posts"]["object_relationships"] == [
        {"name": "author", "using": {"foreign_key_constraint_on": "author_id"}, "comment": "who wrote it"}]
    assert tables["users"]["array_relationships"] == [
        {"name": "posts", "using": {"foreign_key_constraint_on": {"table": "posts", "column": "author_id"}}}]
    # A permission may filter through a relationship (the related table's expression is not a column here).
    assert admin.metadata({"type": "pg_create_select_permission", "args": {"table": "posts", "role": "user",
                           "permission": {"columns": ["id"], "filter": {"author": {"id": {"_eq": "X-Hasura-User-Id"}}}}}}
                          ).json() == {"message": "success"}
    assert admin.metadata({"type": "pg_drop_relationship", "args": {"table": "users", "relationship": "posts"}}
                          ).json() == {"message": "success"}
    assert "array_relationships" not in {t["table"]["name"]: t for t in admin.export()["metadata"]["sources"][0][
        "tables"]}["users"]


def test_a_relationship_name_a_field_already_has_is_already_exists(with_posts):
    admin = with_posts
    assert relationship(admin, "object", "posts", "author", {"foreign_key_constraint_on": "author_id"}).status_code == 200
    for name in ("author", "title"):  # an existing relationship, an existing column
        response = relationship(admin, "object", "posts", name, {"foreign_key_constraint_on": "author_id"})
        assert (response.status_code, response.json()["code"], response.json()["error"]) == (
            400, "already-exists", f'field with name "{name}" already exists in table "posts"')


def test_a_relationship_without_its_foreign_key_is_refused_as_inconsistent(with_posts):
    # getRequiredFkey: "no foreign constraint exists on the given column(s)"; the create fails, nothing is kept.
    response = relationship(with_posts, "object", "posts", "writer", {"foreign_key_constraint_on": "title"})
    body = response.json()
    assert (response.status_code, body["code"]) == (400, "invalid-configuration")
    assert "no foreign constraint exists on the given column(s)" in body["error"]
    assert body["internal"][0]["type"] == "object_relation"
    assert body["internal"][0]["name"] == "object_relation writer in table posts in source default"
    posts = {t["table"]["name"]: t for t in with_posts.export()["metadata"]["sources"][0]["tables"]}["posts"]
    assert "object_relationships" not in posts


# -- export shape (Hasura/RQL/Types/Metadata/Serialization.hs) -------------------------------------------------------


def test_export_orders_permissions_collections_and_actions_as_hasura_does(admin):
    metadata = users_metadata()
    table = metadata["sources"][0]["tables"][0]
    # Given in another order: delete, update, select, insert.
    metadata["sources"][0]["tables"][0] = {
        "delete_permissions": [{"role": "user", "permission": {"filter": {}}}],
        **{key: table[key] for key in ("table", "update_permissions", "select_permissions", "insert_permissions")}}
    metadata["query_collections"] = [
        {"definition": {"queries": [{"query": "{ users { id } }", "name": "q"}]}, "comment": "c", "name": "z"},
        {"definition": {"queries": []}, "name": "a"}]
    metadata["actions"] = [{"name": "login", "definition": {
        "kind": "synchronous", "type": "mutation", "handler": "http://127.0.0.1:1/login", "timeout": 30,
        "output_type": "LoginOutput", "arguments": [{"name": "code", "type": "String!", "description": None}]},
        "comment": None}]
    # The output type must exist (Hasura/RQL/DDL/Action.hs resolveAction), else the action is inconsistent.
    metadata["custom_types"] = {"objects": [{"name": "LoginOutput", "fields": [{"name": "token", "type": "String!"}]}]}
    assert admin.replace(metadata).status_code == 200
    exported = admin.export()["metadata"]
    # tableMetaToOrdJSON: insert, select, update, delete whatever the order given
    assert [key for key in exported["sources"][0]["tables"][0] if key.endswith("_permissions")] == [
        "insert_permissions", "select_permissions", "update_permissions", "delete_permissions"]
    # queryCollectionsToOrdJSONList: sorted by name; name, definition, comment
    assert exported["query_collections"] == [
        {"name": "a", "definition": {"queries": []}},
        {"name": "z", "definition": {"queries": [{"name": "q", "query": "{ users { id } }"}]}, "comment": "c"}]
    assert [list(c) for c in exported["query_collections"]] == [["name", "definition"],
                                                                ["name", "definition", "comment"]]
    # actionMetadataToOrdJSONList: no null description or comment, default timeout left out, type then kind
    assert exported["actions"] == [{"name": "login", "definition": {
        "handler": "http://127.0.0.1:1/login", "output_type": "LoginOutput",
        "arguments": [{"name": "code", "type": "String!"}], "type": "mutation", "kind": "synchronous"}}]
    assert list(exported["actions"][0]["definition"]) == ["handler", "output_type", "arguments", "type", "kind"]


def test_objects_created_one_call_at_a_time_are_exported_in_hasuras_order(with_posts):
    # Made in the reverse of export order: delete, update, select, insert permissions, then the relationships.
    admin = with_posts
    own_posts = {"author": {"clerk_user_id": {"_eq": "X-Hasura-User-Id"}}}
    for kind, permission in (("delete", {"filter": own_posts}), ("update", {"columns": ["title"], "filter": own_posts}),
                             ("select", {"columns": ["id", "title"], "filter": {}}),
                             ("insert", {"check": {}, "columns": ["title"]})):
        if kind == "delete":  # a filter through `author` needs the relationship first
            assert relationship(admin, "object", "posts", "author", {"foreign_key_constraint_on": "author_id"}
                                ).json() == {"message": "success"}
        response = admin.metadata({"type": f"pg_create_{kind}_permission",
                                   "args": {"table": "posts", "role": "user", "permission": permission}})
        assert response.json() == {"message": "success"}, kind
    assert relationship(admin, "array", "users", "posts", {"foreign_key_constraint_on": {
        "table": "posts", "column": "author_id"}}).json() == {"message": "success"}
    assert admin.metadata({"type": "pg_create_select_permission", "args": {
        "table": "users", "role": "user", "permission": {"columns": ["id"], "filter": {}}}}).json() == {
        "message": "success"}
    tables = {t["table"]["name"]: t for t in admin.export()["metadata"]["sources"][0]["tables"]}
    # tableMetaToOrdJSON (Serialization.hs): relationships first, then insert, select, update, delete
    assert list(tables["posts"]) == ["table", "object_relationships", "insert_permissions", "select_permissions",
                                     "update_permissions", "delete_permissions"]
    assert list(tables["users"]) == ["table", "array_relationships", "select_permissions"]
    # and so replace_metadata with that export changes nothing the CLI would see: the same export comes back
    exported = admin.export()["metadata"]
    assert admin.replace(exported).status_code == 200
    assert admin.export()["metadata"] == exported
    assert [list(t) for t in admin.export()["metadata"]["sources"][0]["tables"]] == [
        list(t) for t in exported["sources"][0]["tables"]]


def test_permission_values_are_exported_as_sent(admin):
    # Session variables keep their case and columns their order (ColExp holds the JSON value; PCCols the list).
    metadata = users_metadata()
    table = metadata["sources"][0]["tables"][0]
    table["select_permissions"][0]["permission"] = {"columns": ["email", "id", "clerk_user_id"],
                                                    "filter": {"clerk_user_id": {"_eq": "X-HASURA-USER-ID"}}}
    assert admin.replace(metadata).status_code == 200
    exported = admin.export()["metadata"]["sources"][0]["tables"][0]
    assert exported["select_permissions"][0]["permission"] == {
        "columns": ["email", "id", "clerk_user_id"], "filter": {"clerk_user_id": {"_eq": "X-HASURA-USER-ID"}}}
    assert exported["insert_permissions"][0]["permission"]["set"] == {"clerk_user_id": "x-hasura-User-Id"}
