"""The loader reads metadata/ exactly as the Hasura CLI would and refuses bad documents before sending."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.hasura.compare import diff_metadata, normalize_metadata
from components.hasura.ddl import split_sql, table_columns
from components.hasura.project import load_project
from components.hasura.model import Migration
from components.hasura.rules import MetadataError
from tests.fixtures.metadata import PROJECT, USERS_YAML, edit_users, track_nhost_tables



def test_the_project_loads_into_the_metadata_hasura_expects():
    project = load_project(PROJECT)
    assert project.metadata["version"] == 3
    [source] = project.metadata["sources"]
    assert source["name"] == "default" and source["kind"] == "postgres"
    assert source["configuration"]["connection_info"]["database_url"] == {"from_env": "PG_DATABASE_URL"}
    [users] = source["tables"]
    assert users["table"] == {"name": "users", "schema": "public"}
    select = users["select_permissions"][0]
    assert select["role"] == "user" and select["permission"]["filter"] == {"id": {"_eq": "X-Hasura-User-Id"}}
    insert = users["insert_permissions"][0]["permission"]
    assert insert["set"] == {"id": "X-Hasura-User-Id"} and "id" not in insert["columns"]
    update = users["update_permissions"][0]["permission"]
    assert "id" not in update["columns"] and update["check"] == {"id": {"_eq": "X-Hasura-User-Id"}}
    assert "delete_permissions" not in users
    # Empty top-level files (allow_list.yaml: [] …) are left out, as in Hasura's export.
    assert set(project.metadata) == {"version", "sources"}
    [migration] = project.migrations
    assert migration.source == "default" and migration.name == "create_users"


def test_the_users_table_has_what_the_issue_asks_for():
    [migration] = load_project(PROJECT).migrations
    columns = table_columns([migration], "default")[("public", "users")].columns
    assert {"id", "name", "last_seen", "email", "created_at", "updated_at"} <= columns
    assert "id text PRIMARY KEY" in migration.up_sql
    assert "last_seen timestamptz NOT NULL DEFAULT now()" in migration.up_sql


def test_include_as_a_yaml_tag_is_resolved_too(project_copy: Path):
    tables = project_copy / "metadata/databases/default/tables/tables.yaml"
    tables.write_text("- !include public_users.yaml\n")
    assert load_project(project_copy).metadata == load_project(PROJECT).metadata


def test_a_missing_include_names_the_file(project_copy: Path):
    (project_copy / USERS_YAML).unlink()
    with pytest.raises(MetadataError, match=r"tables.yaml: `!include public_users.yaml` names .*public_users.yaml, "
                                            r"which does not exist"):
        load_project(project_copy)


def test_a_permission_on_a_column_no_migration_creates_is_refused(project_copy: Path):
    edit_users(project_copy, lambda d: d["select_permissions"][0]["permission"]["columns"].append("emial"))
    with pytest.raises(MetadataError) as caught:
        load_project(project_copy)
    message = str(caught.value)
    assert "public_users.yaml: role 'user' select permission: columns names column 'emial'" in message
    assert "did you mean 'email'" in message and "nothing was sent to Hasura" in message


def test_a_filter_on_a_missing_column_is_refused(project_copy: Path):
    edit_users(project_copy, lambda d: d["select_permissions"][0]["permission"].update(
        filter={"user_id": {"_eq": "X-Hasura-User-Id"}}))
    with pytest.raises(MetadataError, match="filter names column 'user_id'"):
        load_project(project_copy)


def test_a_table_no_migration_creates_is_refused(project_copy: Path):
    edit_users(project_copy, lambda d: d["table"].update(name="user"))
    with pytest.raises(MetadataError, match=r"table public.user is not created by any migration.*did you mean "
                                            r"public.users"):
        load_project(project_copy)


NHOST_SCHEMAS = frozenset({"auth", "storage"})


def test_tables_of_the_platforms_schemas_load_without_a_migration_only_when_the_target_names_them(
        project_copy: Path):
    track_nhost_tables(project_copy)
    [source] = load_project(project_copy, platform_schemas=NHOST_SCHEMAS).metadata["sources"]
    assert {(t["table"]["schema"], t["table"]["name"]) for t in source["tables"]} == {
        ("public", "users"), ("auth", "users"), ("storage", "files")}

    with pytest.raises(MetadataError) as refused:
        load_project(project_copy)
    assert refused.value.problems == [
        "tables/auth_users.yaml: table auth.users is not created by any migration in migrations/default/ (did you "
        "mean public.users?). Fix: add a migration that creates it, or fix the name",
        "tables/storage_files.yaml: table storage.files is not created by any migration in migrations/default/. "
        "Fix: add a migration that creates it, or fix the name"]


def test_platform_schemas_excuse_no_other_schema_and_no_other_check(project_copy: Path):
    track_nhost_tables(project_copy)
    tables = project_copy / "metadata/databases/default/tables"
    (tables / "public_profiles.yaml").write_text("table:\n  name: profiles\n  schema: public\n")
    (tables / "tables.yaml").write_text((tables / "tables.yaml").read_text() + "- '!include public_profiles.yaml'\n")
    files = tables / "storage_files.yaml"
    files.write_text(files.read_text().replace("true", "X-Hasura-UserId"))
    with pytest.raises(MetadataError) as refused:
        load_project(project_copy, platform_schemas=NHOST_SCHEMAS)
    assert [problem.split(":")[0] for problem in refused.value.problems] == [
        "tables/storage_files.yaml", "tables/public_profiles.yaml"]
    assert "table public.profiles is not created by any migration" in refused.value.problems[1]
    assert "X-Hasura-UserId" in refused.value.problems[0] and "misspelling" in refused.value.problems[0]


@pytest.mark.parametrize("spelling", ["x_hasura_user_id", "X-Hasura_User_Id", "{{X-Hasura-User-Id}}",
                                      "X-Hasura-User-Id ", "X-Hasura-UserId", "X-Hasura-User-Ids"])
def test_misspelled_session_variables_are_refused(project_copy: Path, spelling: str):
    edit_users(project_copy, lambda d: d["select_permissions"][0]["permission"].update(
        filter={"id": {"_eq": spelling}}))
    with pytest.raises(MetadataError, match="X-Hasura-User-Id"):
        load_project(project_copy)


@pytest.mark.parametrize("spelling", ["x-hasura-user-id", "X-HASURA-USER-ID", "X-Hasura-Org-Id"])
def test_session_variables_are_case_insensitive_and_custom_ones_pass(project_copy: Path, spelling: str):
    edit_users(project_copy, lambda d: d["select_permissions"][0]["permission"].update(
        filter={"id": {"_eq": spelling}}))
    load_project(project_copy)


def test_making_the_owner_column_updatable_without_a_check_is_refused(project_copy: Path):
    def change(document):
        document["update_permissions"][0]["permission"]["columns"].append("id")
        del document["update_permissions"][0]["permission"]["check"]
    edit_users(project_copy, change)
    with pytest.raises(MetadataError, match="column 'id' decides whose row it is"):
        load_project(project_copy)


def test_misspelled_keys_and_missing_required_keys_are_refused(project_copy: Path):
    def change(document):
        document["select_permisions"] = document.pop("select_permissions")
        del document["update_permissions"][0]["permission"]["filter"]
        document["insert_permissions"][0]["permission"]["colums"] = ["name"]
    edit_users(project_copy, change)
    with pytest.raises(MetadataError) as caught:
        load_project(project_copy)
    message = str(caught.value)
    assert "unknown key 'select_permisions' (did you mean 'select_permissions'?)" in message
    assert "role 'user' update permission: `filter` is required" in message
    assert "unknown key 'colums' (did you mean 'columns'?)" in message
    assert "(3 problems)" in message


def test_a_plaintext_password_in_the_database_url_is_refused(project_copy: Path):
    databases = project_copy / "metadata/databases/databases.yaml"
    databases.write_text(databases.read_text().replace(
        "database_url:\n        from_env: PG_DATABASE_URL", "database_url: postgres://app:hunter2@db:5432/app"))
    with pytest.raises(MetadataError, match="password in plain text.*from_env"):
        load_project(project_copy)


def test_later_migrations_change_the_columns_the_loader_knows():
    migrations = [
        Migration("default", 1, "a", "CREATE TABLE IF NOT EXISTS \"public\".\"Things\" (id int, \"Label\" text, "
                                     "CONSTRAINT things_pk PRIMARY KEY (id), CHECK (id > 0));"),
        Migration("default", 2, "b", "ALTER TABLE public.\"Things\" ADD COLUMN note text, DROP COLUMN \"Label\";\n"
                                     "-- ALTER TABLE public.\"Things\" ADD COLUMN commented_out text;\n"
                                     "ALTER TABLE public.\"Things\" RENAME COLUMN note TO remark;"),
        Migration("default", 3, "c", "CREATE TABLE audit.log (at timestamptz default now(), body text "
                                     "default 'a,b;c');  CREATE VIEW public.v AS SELECT 1;"
                                     "CREATE TABLE public.copy AS SELECT * FROM audit.log;"),
        Migration("default", 4, "d", "DROP TABLE IF EXISTS public.gone; ALTER TABLE audit.log RENAME TO entries;"),
    ]
    tables = table_columns(migrations, "default")
    assert tables[("public", "Things")].columns == {"id", "remark"}
    assert tables[("audit", "entries")].columns == {"at", "body"}
    assert tables[("public", "v")].columns is None and tables[("public", "copy")].columns is None
    assert ("audit", "log") not in tables


def test_split_sql_keeps_dollar_quoted_bodies_whole():
    sql = "create function f() returns int as $$ begin return 1; end; $$ language plpgsql; select ';' as x"
    assert len(split_sql(sql)) == 2


def test_normalizing_ignores_what_export_adds_or_drops():
    [source] = load_project(PROJECT).metadata["sources"]
    desired = {"version": 3, "sources": [source]}
    exported = {"version": 3, "sources": [{
        "name": "default", "kind": "postgres",
        "configuration": {"connection_info": {
            "database_url": {"from_env": "PG_DATABASE_URL"}, "isolation_level": "read-committed",
            "pool_settings": {"connection_lifetime": 600, "idle_timeout": 180, "max_connections": 50, "retries": 1},
            "use_prepared_statements": False}},
        "tables": [{"table": {"name": "users", "schema": "public"},
                    **{key: [{"role": p["role"], "permission": {
                        **{k: (sorted(v, reverse=True) if k == "columns" else v) for k, v in p["permission"].items()},
                        "backend_only": False}, "comment": None} for p in value]
                       for key, value in source["tables"][0].items() if key.endswith("_permissions")}}],
    }], "remote_schemas": [], "allowlist": []}
    exported["sources"][0]["tables"][0]["select_permissions"][0]["permission"]["filter"] = {
        "id": {"_eq": "x-hasura-user-id"}}
    assert normalize_metadata(exported) == normalize_metadata(desired)
    assert diff_metadata(normalize_metadata(desired), normalize_metadata(exported)) == []


def test_as_stored_evens_out_what_export_changes_but_keeps_case_and_column_order():
    # What Hasura does to metadata/ on the way (defaults filled in or dropped, keys and lists in its order)
    # compares equal; what it keeps as sent (session-variable case, column order) does not, so a deploy
    # writes over a live copy spelled otherwise, and only that.
    authored = load_project(PROJECT).metadata
    exported = copy.deepcopy(authored)
    source = exported["sources"][0]
    source["configuration"]["connection_info"]["pool_settings"] = {"connection_lifetime": 600}
    given = source["tables"][0]
    table = source["tables"][0] = {"table": given["table"],
                                   **{key: given[key] for key in reversed(given) if key != "table"}}
    for entry in table["select_permissions"]:
        entry["permission"]["allow_aggregations"] = False
        entry["comment"] = None
    assert normalize_metadata(exported, as_stored=True) == normalize_metadata(authored, as_stored=True)

    spelled_otherwise = normalize_metadata(authored)  # X-Hasura-User-Id lower-cased, columns sorted
    assert normalize_metadata(spelled_otherwise) == normalize_metadata(authored)
    assert normalize_metadata(spelled_otherwise, as_stored=True) != normalize_metadata(authored, as_stored=True)
    select = table["select_permissions"][0]["permission"]
    select["columns"] = sorted(select["columns"])
    assert [str(c) for c in diff_metadata(normalize_metadata(authored, as_stored=True),
                                          normalize_metadata(exported, as_stored=True))] == [
        "source default › table public.users › role user › select permission › columns: listed as "
        '["id", "email", "name", "image_url", "last_seen", "created_at", "updated_at"] in metadata/, as '
        '["created_at", "email", "id", "image_url", "last_seen", "name", "updated_at"] live (same columns)']


def test_the_diff_names_table_role_permission_and_column():
    desired = normalize_metadata(load_project(PROJECT).metadata)
    live = normalize_metadata(load_project(PROJECT).metadata)
    live["sources"][0]["tables"][0]["update_permissions"][0]["permission"]["columns"].append("id")
    live["sources"][0]["tables"][0]["select_permissions"][0]["permission"]["filter"] = {}
    del live["sources"][0]["tables"][0]["insert_permissions"]
    lines = [str(change) for change in diff_metadata(desired, live)]
    assert lines == [
        "source default › table public.users › role user › select permission › filter: metadata/ has "
        "{\"id\": {\"_eq\": \"x-hasura-user-id\"}}, live has {}",
        "source default › table public.users › role user › insert permission › missing live (defined in metadata/)",
        "source default › table public.users › role user › update permission › column id: allowed live, "
        "not in metadata/",
    ]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_normalizing_is_blind_to_order_case_and_defaults_but_not_to_columns(data):
    desired = load_project(PROJECT).metadata
    exported = copy.deepcopy(desired)
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    table = exported["sources"][0]["tables"][0]
    for key in [k for k in table if k.endswith("_permissions")]:
        for entry in table[key]:
            permission = entry["permission"]
            rng.shuffle(permission["columns"])
            if rng.random() < 0.5:
                permission["backend_only"] = False
            if rng.random() < 0.5:
                entry["comment"] = None
            for expression in (permission.get("filter"), permission.get("check")):
                if expression and rng.random() < 0.5:
                    expression["id"]["_eq"] = rng.choice(["x-hasura-user-id", "X-HASURA-USER-ID"])
    if rng.random() < 0.5:
        exported["sources"][0]["configuration"]["connection_info"]["pool_settings"] = {
            "max_connections": 50, "idle_timeout": 180, "retries": 1}
    assert normalize_metadata(exported) == normalize_metadata(desired)

    kinds = [k for k in table if k.endswith("_permissions")]
    kind = data.draw(st.sampled_from(sorted(kinds)))
    columns = table[kind][0]["permission"]["columns"]
    removed = data.draw(st.sampled_from(sorted(columns)))
    columns.remove(removed)
    changes = [str(c) for c in diff_metadata(normalize_metadata(desired), normalize_metadata(exported))]
    assert changes == [f"source default › table public.users › role user › {kind.removesuffix('_permissions')} "
                       f"permission › column {removed}: in metadata/, not allowed live"]
