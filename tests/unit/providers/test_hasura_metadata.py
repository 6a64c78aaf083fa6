"""The metadata dynamic provider, serialized by the SDK and run in `python -m pulumi.dynamic` as the engine does,
against the Hasura double: create applies, read sees live drift, diff reports it, update repairs, delete keeps."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2

from components.hasura.client import HasuraClient
from components.providers.hasura_metadata import HasuraMetadataProvider, changed_properties
from components.hasura.compare import normalize_metadata
from components.hasura.project import load_project
from components.hasura.model import content_hash
from tests.fixtures.metadata import cli_metadata_diff, track_nhost_tables
from tests.pulumi_harness import DynamicProviderHost

PROJECT = Path(__file__).resolve().parents[3] / "metadata"
URN = "urn:pulumi:dev::clerk-hasura::pulumi-python:dynamic/hasura_metadata:HasuraMetadata::backend-metadata"
#: The column lists of public_users.yaml's permissions as authored, and as earlier releases sent them (sorted).
LISTED = {"insert": '["email", "name", "image_url"]',
          "select": '["id", "email", "name", "image_url", "last_seen", "created_at", "updated_at"]',
          "update": '["email", "name", "image_url", "last_seen"]'}
SORTED = {"insert": '["email", "image_url", "name"]',
          "select": '["created_at", "email", "id", "image_url", "last_seen", "name", "updated_at"]',
          "update": '["email", "image_url", "last_seen", "name"]'}


def inputs_for(double, project_dir: Path = PROJECT) -> dict:
    project = load_project(project_dir)
    return {
        "__provider": serialize_provider(HasuraMetadataProvider()),
        "hasura_url": double.url,
        "admin_secret": double.admin_secret,
        "metadata": project.metadata,
        "migrations": project.to_inputs()["migrations"],
        "metadata_hash": content_hash(normalize_metadata(project.metadata), project.migrations),
    }


def as_stored(metadata: dict) -> dict:
    return normalize_metadata(metadata, as_stored=True)


@pytest.fixture
def host():
    with DynamicProviderHost() as provider_host:
        provider_host.configure({})
        yield provider_host


def test_the_provider_is_pickled_by_reference_and_captures_no_client():
    serialized = serialize_provider(HasuraMetadataProvider())
    assert len(serialized) < 200  # module + class name only: no client, no secret, no bytecode


def test_lifecycle_in_a_fresh_interpreter(host, hasura_double):
    inputs, failures = host.check(URN, {}, inputs_for(hasura_double))
    assert failures == []
    resource_id, outs = host.create(URN, inputs)
    assert resource_id.startswith("hasura-metadata-")
    assert outs["metadata"] == inputs["metadata"] and outs["live_metadata"] == as_stored(inputs["metadata"])
    assert outs["applied_migrations"] == ["1763856000000"]
    assert outs["hasura_url"] == hasura_double.url and outs["admin_secret"] == hasura_double.admin_secret

    _, refreshed = host.read(URN, resource_id, outs)
    assert host.diff(URN, resource_id, refreshed, inputs).changes == provider_pb2.DiffResponse.DIFF_NONE
    with HasuraClient(hasura_double.url, hasura_double.admin_secret) as admin:
        [table] = admin.export_metadata().metadata["sources"][0]["tables"]
    limit = table["select_permissions"][0]["permission"]["limit"]
    assert limit == 1 and isinstance(limit, int)  # not 1.0, although numbers cross the engine as floats

    # Someone lets users update their id in the console.
    with HasuraClient(hasura_double.url, hasura_double.admin_secret) as console:
        console.metadata("pg_drop_update_permission", {"table": "users", "role": "user"})
        console.metadata("pg_create_update_permission", {"table": "users", "role": "user", "permission": {
            "columns": ["id", "name", "email", "image_url", "last_seen"], "filter": {"id": {"_eq": "X-Hasura-User-Id"}},
            "check": {"id": {"_eq": "X-Hasura-User-Id"}}}})
    _, drifted = host.read(URN, resource_id, outs)
    assert host.diff(URN, resource_id, drifted, inputs).changes == provider_pb2.DiffResponse.DIFF_SOME
    assert changed_properties(drifted, inputs) == [
        "source default › table public.users › role user › update permission › column id: "
        "allowed live, not in metadata/"]

    hasura_double.reset_counts()
    repaired = host.update(URN, resource_id, drifted, inputs)
    assert hasura_double.count("/v1/metadata", "replace_metadata") == 1
    assert {key: repaired[key] for key in ("hasura_url", "admin_secret", "metadata", "migrations", "metadata_hash",
                                           "live_metadata", "applied_migrations", "inconsistent_objects")} == {
        **{key: inputs[key] for key in ("hasura_url", "admin_secret", "metadata", "migrations", "metadata_hash")},
        "live_metadata": as_stored(inputs["metadata"]), "applied_migrations": ["1763856000000"],
        "inconsistent_objects": []}
    assert repaired["applied_at"] > outs["applied_at"]  # a repair is an apply: it reruns the smoke check
    _, refreshed = host.read(URN, resource_id, repaired)
    assert host.diff(URN, resource_id, refreshed, inputs).changes == provider_pb2.DiffResponse.DIFF_NONE

    # A no-op update (e.g. only the program re-ran) writes nothing.
    hasura_double.reset_counts()
    host.update(URN, resource_id, refreshed, inputs)
    assert hasura_double.writes() == 0

    # Deleting the resource keeps metadata and data.
    with HasuraClient(hasura_double.url, hasura_double.admin_secret) as admin:
        admin.run_sql("INSERT INTO public.users (id, name) VALUES ('user_kept', 'Kept')")
        hasura_double.reset_counts()
        host.stub.Delete(provider_pb2.DeleteRequest(urn=URN, id=resource_id, properties=host._struct(refreshed)))
        assert hasura_double.writes() == 0
        assert admin.run_sql("SELECT id FROM public.users", read_only=True).records() == [{"id": "user_kept"}]
        assert as_stored(admin.export_metadata().metadata) == as_stored(inputs["metadata"])


def test_check_accepts_tables_of_the_platforms_schemas_only_with_the_platform_schemas_input(host, project_copy):
    track_nhost_tables(project_copy)
    project = load_project(project_copy, platform_schemas=frozenset({"auth", "storage"}))
    inputs = {"__provider": serialize_provider(HasuraMetadataProvider()), "hasura_url": "http://127.0.0.1:9",
              "admin_secret": "x" * 32, "metadata": project.metadata,
              "migrations": project.to_inputs()["migrations"], "metadata_hash": "0" * 64}
    _, failures = host.check(URN, {}, {**inputs, "platform_schemas": ["auth", "storage"]})
    assert failures == []
    _, failures = host.check(URN, {}, inputs)
    assert [reason for _property, reason in failures] == [
        "tables/auth_users.yaml: table auth.users is not created by any migration in migrations/default/ (did you "
        "mean public.users?). Fix: add a migration that creates it, or fix the name",
        "tables/storage_files.yaml: table storage.files is not created by any migration in migrations/default/. "
        "Fix: add a migration that creates it, or fix the name"]


def test_a_table_dropped_live_shows_in_read_and_diff_once_hasura_reloaded(host, hasura_double):
    inputs, _ = host.check(URN, {}, inputs_for(hasura_double))
    resource_id, outs = host.create(URN, inputs)
    # Dropped behind Hasura's back (run_sql would refuse: the table is tracked).
    with psycopg.connect(hasura_double.database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE public.users")
    # A refresh reads and never writes, so it sees what Hasura's schema cache knows; the drift command (or the
    # console's reload) rebuilds it from the database.
    hasura_double.reset_counts()
    _, unseen = host.read(URN, resource_id, outs)
    assert hasura_double.writes() == 0 and unseen["inconsistent_objects"] == []
    with HasuraClient(hasura_double.url, hasura_double.admin_secret) as drift_command:
        drift_command.reload_metadata(reload_sources=True)
    _, drifted = host.read(URN, resource_id, outs)
    assert drifted["inconsistent_objects"]
    assert host.diff(URN, resource_id, drifted, inputs).changes == provider_pb2.DiffResponse.DIFF_SOME
    assert any(line.startswith("inconsistent live: ") and "users" in line
               for line in changed_properties(drifted, inputs))


def test_check_reports_invalid_metadata_per_problem(host, hasura_double):
    props = inputs_for(hasura_double)
    select = props["metadata"]["sources"][0]["tables"][0]["select_permissions"][0]["permission"]
    select["columns"] = [*select["columns"], "nickname"]
    select["filter"] = {"id": {"_eq": "X-Hasura-UserId"}}
    _, failures = host.check(URN, {}, props)
    assert [prop for prop, _ in failures] == ["metadata", "metadata"]
    reasons = " ".join(reason for _, reason in failures)
    assert "nickname" in reasons and "X-Hasura-UserId" in reasons


def test_a_changed_admin_secret_or_url_is_an_update_not_a_replace(host, hasura_double):
    inputs, _ = host.check(URN, {}, inputs_for(hasura_double))
    resource_id, outs = host.create(URN, inputs)
    moved = {**inputs, "hasura_url": hasura_double.url + "/"}
    response = host.diff(URN, resource_id, outs, moved)
    assert response.changes == provider_pb2.DiffResponse.DIFF_SOME and list(response.replaces) == []
    assert changed_properties(outs, {**inputs, "admin_secret": "other"}) == ["admin_secret changed"]


def test_a_refresh_with_hasura_down_completes_and_the_next_up_reapplies(host, hasura_double):
    inputs, _ = host.check(URN, {}, inputs_for(hasura_double))
    resource_id, outs = host.create(URN, inputs)
    hasura_double.stop()
    _, unknown = host.read(URN, resource_id, outs)
    assert unknown["live_unknown"] is True
    assert unknown["live_metadata"] == outs["live_metadata"]  # nothing is lost from state on the way
    assert host.diff(URN, resource_id, unknown, inputs).changes == provider_pb2.DiffResponse.DIFF_SOME
    assert changed_properties(unknown, inputs)[0].startswith("live state unknown")

    hasura_double.start()
    hasura_double.reset_counts()
    back = host.update(URN, resource_id, unknown, inputs)
    assert back["live_unknown"] is False and hasura_double.writes() == 0  # re-checked; nothing was missing


def test_a_refresh_asks_a_hasura_that_does_not_answer_once_and_records_it_unknown(host, hasura_double):
    # A stopped container refuses or drops the connection: known at once, no waiting (a deploy after `docker stop`
    # spent 20 of its 21 s in two 10 s read retries). The next apply is the one that waits for Hasura to start.
    import socket
    import threading

    inputs, _ = host.check(URN, {}, inputs_for(hasura_double))
    resource_id, outs = host.create(URN, inputs)
    listener = socket.create_server(("127.0.0.1", 0))
    attempts: list[int] = []

    def drop_every_connection() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            attempts.append(1)
            connection.close()

    threading.Thread(target=drop_every_connection, daemon=True).start()
    try:
        _, unknown = host.read(URN, resource_id, {**outs, "hasura_url": f"http://127.0.0.1:{listener.getsockname()[1]}"})
    finally:
        listener.close()
    assert unknown["live_unknown"] is True
    assert len(attempts) == 1


def test_a_stack_deployed_with_the_normalized_copy_gets_metadata_as_authored_once(host, hasura_double, tmp_path):
    # Earlier releases sent normalize_metadata(metadata/): session variables lower-cased, column lists sorted.
    authored = inputs_for(hasura_double)
    old_inputs, _ = host.check(URN, {}, {**authored, "metadata": normalize_metadata(authored["metadata"])})
    resource_id, old_outs = host.create(URN, old_inputs)
    with HasuraClient(hasura_double.url, hasura_double.admin_secret) as admin:
        assert set(cli_metadata_diff(admin.export_metadata().metadata)) == {
            "databases/default/tables/public_users.yaml"}  # what `hasura metadata diff` showed after such a deploy

    inputs, failures = host.check(URN, old_inputs, authored)
    assert failures == []
    # Seen with and without a refresh: state still holds the lower-cased copy, and so does Hasura.
    _, refreshed = host.read(URN, resource_id, old_outs)
    for olds in (old_outs, refreshed):
        assert host.diff(URN, resource_id, olds, inputs).changes == provider_pb2.DiffResponse.DIFF_SOME
    where = "source default › table public.users › role user ›"
    own_row, lowered = '{"id": {"_eq": "X-Hasura-User-Id"}}', '{"id": {"_eq": "x-hasura-user-id"}}'
    columns = {kind: f"{where} {kind} permission › columns: listed as {LISTED[kind]} in metadata/, as "
                     f"{SORTED[kind]} live (same columns)" for kind in LISTED}
    assert changed_properties(refreshed, inputs) == [
        columns["select"],
        f"{where} select permission › filter: metadata/ has {own_row}, live has {lowered}",
        f"{where} insert permission › check: metadata/ has {own_row}, live has {lowered}",
        columns["insert"],
        f'{where} insert permission › set: metadata/ has {{"id": "X-Hasura-User-Id"}}, live has '
        f'{{"id": "x-hasura-user-id"}}',
        f"{where} update permission › check: metadata/ has {own_row}, live has {lowered}",
        columns["update"],
        f"{where} update permission › filter: metadata/ has {own_row}, live has {lowered}"]

    hasura_double.reset_counts()
    updated = host.update(URN, resource_id, refreshed, inputs)
    assert hasura_double.count("/v1/metadata", "replace_metadata") == 1
    assert updated["metadata_hash"] == old_outs["metadata_hash"]  # what the metadata means did not change
    with HasuraClient(hasura_double.url, hasura_double.admin_secret) as admin:
        assert cli_metadata_diff(admin.export_metadata().metadata) == {}
    _, refreshed = host.read(URN, resource_id, updated)
    assert host.diff(URN, resource_id, refreshed, inputs).changes == provider_pb2.DiffResponse.DIFF_NONE
    hasura_double.reset_counts()
    host.update(URN, resource_id, refreshed, inputs)
    assert hasura_double.writes() == 0


def test_a_dirty_mark_is_drift_to_the_refresh_and_the_update_clears_it(host, hasura_double):
    inputs, _ = host.check(URN, {}, inputs_for(hasura_double))
    resource_id, outs = host.create(URN, inputs)
    # A deploy died after the migration's SQL committed (with its row), before clearing the mark.
    with HasuraClient(hasura_double.url, hasura_double.admin_secret) as admin:
        state = admin.get_catalog_state().cli_state
        state["migrations"]["default"]["1763856000000"] = True
        admin.set_catalog_state("cli", state)
    _, drifted = host.read(URN, resource_id, outs)
    assert drifted["applied_migrations"] == [] and drifted["dirty_migrations"] == ["1763856000000"]
    assert host.diff(URN, resource_id, drifted, inputs).changes == provider_pb2.DiffResponse.DIFF_SOME
    assert changed_properties(drifted, inputs) == [
        "migration default/1763856000000_create_users marked dirty live (a deploy or `hasura migrate apply` stopped "
        "in the middle of it): the deploy clears the mark if its SQL committed, and otherwise stops naming the fix"]

    repaired = host.update(URN, resource_id, drifted, inputs)
    assert repaired["applied_migrations"] == ["1763856000000"] and repaired["dirty_migrations"] == []
    with HasuraClient(hasura_double.url, hasura_double.admin_secret) as admin:
        assert admin.get_catalog_state().cli_state["migrations"] == {"default": {"1763856000000": False}}
    _, refreshed = host.read(URN, resource_id, repaired)
    assert host.diff(URN, resource_id, refreshed, inputs).changes == provider_pb2.DiffResponse.DIFF_NONE
