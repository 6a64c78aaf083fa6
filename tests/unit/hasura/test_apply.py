"""Applying metadata/ to the Hasura double (real PostgreSQL behind it): once, exactly, never half-applied."""

from __future__ import annotations

import time

import jwt
import psycopg
import pytest
import yaml

from components.errors import ClerkHasuraError
from components.hasura.client import HasuraClient, HasuraConflict, HasuraInconsistentMetadata, HasuraUnreachable
from components.hasura.apply import MIGRATIONS_TABLE, apply_project, read_applied_migrations
from components.hasura.compare import diff_metadata, normalize_metadata
from components.hasura.project import load_project
from components.hasura.rules import MetadataError
from tests.fixtures.metadata import PROJECT, edit_users

MIGRATION = "default/1763856000000_create_users"


@pytest.fixture
def client(hasura_double):
    with HasuraClient(hasura_double.url, hasura_double.admin_secret, retry_seconds=3) as hasura_client:
        yield hasura_client


def live(client: HasuraClient) -> dict:
    return normalize_metadata(client.export_metadata().metadata)


def rows(database_url: str, sql: str) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql).fetchall()


def test_a_fresh_hasura_without_sources_gets_the_source_then_the_migrations(hasura_double_factory):
    double = hasura_double_factory(jwt_secret=None)  # env only PG_DATABASE_URL, as the container sets it
    with HasuraClient(double.url, double.admin_secret) as client:
        assert client.export_metadata().metadata["sources"] == []
        result = apply_project(client, load_project(PROJECT))
        assert result.migrations_applied == [MIGRATION]
        assert live(client) == normalize_metadata(load_project(PROJECT).metadata)
        double.reset_counts()
        assert not apply_project(client, load_project(PROJECT)).wrote_anything
        assert double.writes() == 0


def test_first_apply_creates_the_table_and_the_permissions(client, hasura_double):
    project = load_project(PROJECT)
    result = apply_project(client, project)
    assert result.migrations_applied == [MIGRATION] and result.metadata_replaced
    columns = {row[0] for row in rows(hasura_double.database_url, "select column_name from information_schema.columns "
                                                                   "where table_schema = 'public' and table_name = 'users'")}
    assert {"id", "name", "email", "last_seen", "created_at", "updated_at"} <= columns
    assert live(client) == normalize_metadata(project.metadata)
    [table] = live(client)["sources"][0]["tables"]
    assert [p["role"] for p in table["select_permissions"]] == ["user"]
    assert {"insert_permissions", "update_permissions"} <= set(table) and "delete_permissions" not in table
    assert [m.version for m in read_applied_migrations(client)] == [1763856000000]
    assert client.get_inconsistent_metadata() == []


def test_re_apply_writes_nothing(client, hasura_double):
    project = load_project(PROJECT)
    apply_project(client, project)
    hasura_double.reset_counts()
    result = apply_project(client, project)
    assert not result.wrote_anything and result.changes == []
    assert hasura_double.writes() == 0
    assert hasura_double.count("/v1/metadata", "replace_metadata") == 0
    assert hasura_double.count("/v1/metadata", "get_catalog_state") == 1  # the Hasura CLI's migration record
    assert hasura_double.count("/v2/query") == 2  # migrations table present? + recorded versions (read-only)


def test_a_fresh_deploy_logs_what_it_did_in_deploy_words(hasura_double_factory):
    double = hasura_double_factory(jwt_secret=None)  # as the container starts: no source yet
    with HasuraClient(double.url, double.admin_secret) as client:
        result = apply_project(client, load_project(PROJECT))
    assert result.changes == [
        f"migration {MIGRATION} › applied and recorded",
        "source default › table public.users › tracked",
    ]
    assert not any("live" in line for line in result.changes)  # nothing reads like drift


def test_changing_one_permission_changes_only_that(client, hasura_double, project_copy):
    apply_project(client, load_project(PROJECT))
    before = live(client)
    edit_users(project_copy, lambda d: d["update_permissions"][0]["permission"]["columns"].remove("last_seen"))
    hasura_double.reset_counts()
    result = apply_project(client, load_project(project_copy))
    assert result.changes == [
        "source default › table public.users › role user › update permission › column last_seen: no longer allowed"]
    assert result.migrations_applied == [] and hasura_double.count("/v1/metadata", "replace_metadata") == 1
    assert hasura_double.writes() == 1
    after = live(client)
    # The drift check words the same difference from metadata/'s side.
    assert [str(c) for c in diff_metadata(after, before)] == [
        "source default › table public.users › role user › update permission › column last_seen: allowed live, "
        "not in metadata/"]


def test_a_concurrent_edit_between_export_and_replace_fails_and_is_kept(client, hasura_double, project_copy):
    apply_project(client, load_project(PROJECT))
    edit_users(project_copy, lambda d: d["select_permissions"][0]["permission"].update(limit=2))

    class EditedMeanwhile(HasuraClient):
        def export_metadata(self):
            exported = super().export_metadata()
            # Someone adds a role in the console right after our export.
            with HasuraClient(hasura_double.url, hasura_double.admin_secret) as console:
                console.metadata("pg_create_select_permission", {
                    "source": "default", "table": {"schema": "public", "name": "users"}, "role": "auditor",
                    "permission": {"columns": ["id"], "filter": {}}})
            return exported

    with EditedMeanwhile(hasura_double.url, hasura_double.admin_secret) as racing:
        with pytest.raises(HasuraConflict) as caught:
            apply_project(racing, load_project(project_copy))
    assert "did not match current version" in str(caught.value)
    assert "nothing was overwritten" in str(caught.value) and "run the deploy again" in str(caught.value)
    [table] = live(client)["sources"][0]["tables"]
    assert [p["role"] for p in table["select_permissions"]] == ["auditor", "user"]
    assert table["select_permissions"][1]["permission"]["limit"] == 1


def test_an_invalid_metadata_file_is_refused_before_anything_is_sent(hasura_double, project_copy):
    edit_users(project_copy, lambda d: d["select_permissions"][0]["permission"]["columns"].append("nickname"))
    hasura_double.reset_counts()
    with pytest.raises(MetadataError, match="columns names column 'nickname'"):
        load_project(project_copy)
    assert sum(hasura_double.requests.values()) == 0


def test_metadata_hasura_finds_inconsistent_fails_listing_objects_with_nothing_changed(client, hasura_double,
                                                                                       project_copy):
    apply_project(client, load_project(PROJECT))
    exported = client.export_metadata()
    # The table disappears behind Hasura's back (psql, another tool), then a permission change is deployed.
    with psycopg.connect(hasura_double.database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.users RENAME TO users_archived")
    edit_users(project_copy, lambda d: d["select_permissions"][0]["permission"].update(limit=2))
    with pytest.raises(HasuraInconsistentMetadata) as caught:
        apply_project(client, load_project(project_copy))
    message = str(caught.value)
    assert "nothing was changed" in message and "users" in message
    assert any("users" in str(obj.get("name")) for obj in caught.value.objects)
    after = client.export_metadata()
    assert after.metadata == exported.metadata


def test_rows_survive_re_apply_and_metadata_changes(client, hasura_double, project_copy):
    apply_project(client, load_project(PROJECT))
    client.run_sql("INSERT INTO public.users (id, name, email) VALUES ('user_a', 'Ann', 'ann@example.com'), "
                   "('user_b', 'Bob', 'bob@example.com')")
    apply_project(client, load_project(PROJECT))
    edit_users(project_copy, lambda d: d["update_permissions"][0]["permission"]["columns"].remove("email"))
    apply_project(client, load_project(project_copy))
    assert rows(hasura_double.database_url, "select id, name, email from public.users order by id") == [
        ("user_a", "Ann", "ann@example.com"), ("user_b", "Bob", "bob@example.com")]
    assert [m.version for m in read_applied_migrations(client)] == [1763856000000]


def test_a_failing_migration_is_rolled_back_whole(client, hasura_double, project_copy):
    broken = project_copy / "migrations/default/1763856000001_broken"
    broken.mkdir()
    (broken / "up.sql").write_text("ALTER TABLE public.users ADD COLUMN bio text;\nSELECT no_such_function();")
    with pytest.raises(ClerkHasuraError, match=r"1763856000001_broken failed and was rolled back.*no_such_function"):
        apply_project(client, load_project(project_copy))
    assert [m.version for m in read_applied_migrations(client)] == [1763856000000]
    columns = {r[0] for r in rows(hasura_double.database_url, "select column_name from information_schema.columns "
                                                               "where table_name = 'users'")}
    assert "bio" not in columns
    assert live(client)["sources"][0]["tables"] == []  # metadata is only replaced once migrations succeeded


class FaultAt(HasuraClient):
    """Tells the double to fail the `at`-th request this client makes (0-based)."""

    def __init__(self, *args, double, at: int, mode: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.double, self.at, self.mode, self.sent = double, at, mode, 0

    def _send(self, method, path, **kwargs):
        if self.sent == self.at:
            self.double.fail_next(1, self.mode)
        self.sent += 1
        return super()._send(method, path, **kwargs)


def test_faults_during_apply_end_applied_or_cleanly_failed(hasura_double_factory, postgres_cluster):
    project = load_project(PROJECT)
    desired = normalize_metadata(project.metadata)
    outcomes = []
    for mode in ("500", "drop"):
        # healthz, export, pg_add_source, export, catalog state, migrations table, mark dirty (read + write),
        # the migration, mark clean (read + write), export, replace
        for at in range(13):
            database_url = postgres_cluster.create_database("faults")
            # Like the container: only PG_DATABASE_URL, so source `default` is added by the first apply.
            double = hasura_double_factory(jwt_secret=None, database_url=database_url,
                                           env={"PG_DATABASE_URL": database_url})
            with FaultAt(double.url, double.admin_secret, double=double, at=at, mode=mode, retry_seconds=2) as faulty:
                try:
                    apply_project(faulty, project)
                    outcomes.append("applied")
                except ClerkHasuraError as error:
                    assert "not confirmed" in str(error) or "not reachable" in str(error), error
                    outcomes.append("failed")
            with HasuraClient(double.url, double.admin_secret) as check:
                metadata = live(check)
                recorded = [m.version for m in read_applied_migrations(check)]
                table = rows(database_url, "select to_regclass('public.users') is not null")[0][0]
                # Never half-applied: a migration is there with its record or not at all, and the metadata is
                # either the old document or the whole new one.
                assert (recorded == [1763856000000]) == table, (mode, at)
                assert metadata == desired or all(not s["tables"] for s in metadata["sources"]), (mode, at)
                if outcomes[-1] == "applied":
                    assert metadata == desired and table, (mode, at)
                # And the next deploy finishes the job.
                apply_project(check, project)
                assert live(check) == desired
            double.stop()
    assert "applied" in outcomes and "failed" in outcomes


def user_token(double, user_id: str) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 60, "https://hasura.io/jwt/claims": {
        "x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "x-hasura-user-id": user_id}}
    return jwt.encode(claims, double.jwt_key, algorithm="HS256")


def as_user(client: HasuraClient, double, user_id: str, query: str, variables=None) -> dict:
    return client.graphql(query, variables, headers={"Authorization": f"Bearer {user_token(double, user_id)}"},
                          as_admin=False)


def test_through_graphql_a_user_reads_and_updates_only_their_own_row(client, hasura_double):
    apply_project(client, load_project(PROJECT))
    created = as_user(client, hasura_double, "user_ann",
                      'mutation { insert_users_one(object: {name: "Ann", email: "ann@example.com"}) { id name } }')
    assert created == {"data": {"insert_users_one": {"id": "user_ann", "name": "Ann"}}}
    as_user(client, hasura_double, "user_bob", 'mutation { insert_users_one(object: {name: "Bob"}) { id } }')

    seen = as_user(client, hasura_double, "user_ann", "{ users { id name email } }")
    assert seen == {"data": {"users": [{"id": "user_ann", "name": "Ann", "email": "ann@example.com"}]}}
    assert as_user(client, hasura_double, "user_ann", '{ users_by_pk(id: "user_bob") { id } }') == \
        {"data": {"users_by_pk": None}}

    updated = as_user(client, hasura_double, "user_ann",
                      'mutation { update_users(where: {}, _set: {name: "Ann B."}) { affected_rows } }')
    assert updated == {"data": {"update_users": {"affected_rows": 1}}}
    other = as_user(client, hasura_double, "user_ann",
                    'mutation { update_users_by_pk(pk_columns: {id: "user_bob"}, _set: {name: "x"}) { id } }')
    assert other == {"data": {"update_users_by_pk": None}}

    steal = as_user(client, hasura_double, "user_ann",
                    'mutation { update_users(where: {}, _set: {id: "user_bob2"}) { affected_rows } }')
    assert steal["errors"][0]["extensions"]["code"] == "validation-failed"
    spoof = as_user(client, hasura_double, "user_ann",
                    'mutation { insert_users_one(object: {id: "user_eve", name: "Eve"}) { id } }')
    assert spoof["errors"][0]["extensions"]["code"] == "validation-failed"
    delete = as_user(client, hasura_double, "user_ann", "mutation { delete_users(where: {}) { affected_rows } }")
    assert delete["errors"][0]["extensions"]["code"] == "validation-failed"

    assert rows(hasura_double.database_url, "select id, name from public.users order by id") == [
        ("user_ann", "Ann B."), ("user_bob", "Bob")]


def test_the_migrations_table_follows_the_hasura_cli_convention(client):
    apply_project(client, load_project(PROJECT))
    [record] = client.run_sql(f"select version, dirty from {MIGRATIONS_TABLE}", read_only=True).records()
    assert record == {"version": "1763856000000", "dirty": "f"}


def test_an_unchanged_but_inconsistent_live_metadata_is_not_reported_as_success(client, hasura_double):
    project = load_project(PROJECT)
    apply_project(client, project)
    with psycopg.connect(hasura_double.database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.users DROP COLUMN image_url")
    client.reload_metadata()
    hasura_double.reset_counts()
    with pytest.raises(ClerkHasuraError, match=r"(?s)already holds this metadata, but it is inconsistent.*image_url"):
        apply_project(client, project)
    assert hasura_double.writes() == 0


class AnswerLostAfterWrite(HasuraClient):
    """Every write reaches Hasura and is applied, but its answer is lost (what a proxy timeout looks like)."""

    def _send(self, method, path, *, idempotent, **kwargs):
        response = super()._send(method, path, idempotent=idempotent, **kwargs)
        if not idempotent:
            raise HasuraUnreachable("lost answer", outcome_unknown=True)
        return response


def test_writes_whose_answer_was_lost_are_confirmed_from_the_live_state(hasura_double_factory):
    double = hasura_double_factory(jwt_secret=None)
    with AnswerLostAfterWrite(double.url, double.admin_secret, retry_seconds=2) as lossy:
        result = apply_project(lossy, load_project(PROJECT))
    assert result.migrations_applied == [MIGRATION] and result.metadata_replaced
    with HasuraClient(double.url, double.admin_secret) as check:
        assert live(check) == normalize_metadata(load_project(PROJECT).metadata)
        assert [m.version for m in read_applied_migrations(check)] == [1763856000000]


def test_what_export_fills_in_or_leaves_out_compares_equal(client, hasura_double, project_copy):
    """Hasura exports a partial pool_settings with connection_lifetime added, an update permission without check
    as `check: null`, and drops an introspection setting that disables nothing (the double does the same):
    none of it is a difference, so a second deploy writes nothing."""
    databases = project_copy / "metadata/databases/databases.yaml"
    sources = yaml.safe_load(databases.read_text())
    sources[0]["configuration"]["connection_info"]["pool_settings"] = {"max_connections": 10}
    databases.write_text(yaml.safe_dump(sources, sort_keys=False))
    edit_users(project_copy, lambda d: d["update_permissions"][0]["permission"].pop("check"))
    project = load_project(project_copy)
    apply_project(client, project)
    exported = client.export_metadata().metadata
    [source] = exported["sources"]
    assert source["configuration"]["connection_info"]["pool_settings"] == {"connection_lifetime": 600,
                                                                          "max_connections": 10}
    assert source["tables"][0]["update_permissions"][0]["permission"]["check"] is None
    assert "graphql_schema_introspection" not in exported
    hasura_double.reset_counts()
    assert not apply_project(client, project).wrote_anything
    assert hasura_double.writes() == 0
