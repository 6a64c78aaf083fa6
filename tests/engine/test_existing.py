"""The real engine deploys the real program to an existing Hasura (the Hasura double) trusting the Clerk double.

Everything the engine decides is observed as a user would: `up`/`preview`/`refresh`/`destroy` results, stack
outputs, the checkpoint and every file the backend wrote, and the requests Hasura and Clerk received. The
documented deploy is `scripts/deploy`, which runs `pulumi up --refresh` (here: `up(refresh=True)`).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import psycopg
import pytest
import yaml
from pulumi import automation as auto

from components.auth.jwt_secret import resolve_jwt_secret
from components.targets import load_settings
from components.hasura.client import HasuraClient
from components.hasura.export import render_metadata_files, write_metadata_files
from components.hasura.compare import normalize_metadata
from components.providers.hasura_metadata import HasuraMetadata
from tests.fixtures.engine import JWT, ROOT, changes, drift_command, smoke_failures
from tests.fixtures.metadata import cli_metadata_diff

ADMIN_SECRET = "engine-admin-secret-0123456789"
USERS_TABLE = {"schema": "public", "name": "users"}
EXPECTED_OUTPUTS = {"jwtSecret", "jwksUrl", "issuer", "jwtTemplate", "graphqlUrl", "hasuraUrl", "healthzUrl",
                    "hasuraAdminSecret", "appEnv", "metadataHash", "target", "metadataDir", "jwtTemplateId", "smoke"}


def existing_config(clerk, hasura_url: str, metadata_dir: Path) -> dict:
    return {
        "target": "existing",
        "metadataDir": str(metadata_dir),
        "clerk": {"publishableKey": clerk.publishable_key, "jwksUrl": clerk.jwks_url, "apiUrl": clerk.url},
        "hasura": {"publicUrl": hasura_url},
    }


@pytest.fixture
def metadata_dir(tmp_path) -> Path:
    """A copy of metadata/ the test may change, as a team edits theirs."""
    return Path(shutil.copytree(ROOT / "metadata", tmp_path / "metadata"))


@pytest.fixture
def minted_tokens(clerk_double) -> list[str]:
    """Every token the Clerk double mints, to prove none of them reaches the backend."""
    tokens: list[str] = []
    mint = clerk_double._mint_template

    def recording(*args, **kwargs):
        tokens.append(mint(*args, **kwargs))
        return tokens[-1]

    clerk_double._mint_template = recording
    return tokens


@pytest.fixture
def hasura(clerk_double, hasura_double_factory, postgres_database_url, metadata_dir):
    """The Hasura double started as a user is told to start theirs: HASURA_GRAPHQL_JWT_SECRET = the stack's
    `jwtSecret`, and the database URL metadata/ names (PG_DATABASE_URL)."""
    settings = load_settings(existing_config(clerk_double, "http://127.0.0.1:1", metadata_dir), environ={})
    double = hasura_double_factory(jwt_secret=resolve_jwt_secret(settings).value, admin_secret=ADMIN_SECRET,
                                   env={"PG_DATABASE_URL": postgres_database_url})
    double.wait_for_jwks()
    return double


@pytest.fixture
def deployed(engine_stack_factory, clerk_double, hasura, metadata_dir, minted_tokens):
    """A stack after its first documented deploy."""
    engine = engine_stack_factory(existing_config(clerk_double, hasura.url, metadata_dir),
                                  secrets={"hasuraAdminSecret": ADMIN_SECRET,
                                           "clerkSecretKey": clerk_double.secret_key})
    result = engine.up(refresh=True)
    assert result.summary.result == "succeeded", "".join(engine.log)
    return engine


def metadata_writes(hasura) -> dict[str, int]:
    """Writes on the metadata API, by operation (the smoke check's own rows go through run_sql)."""
    return {op: n for (path, op), n in hasura.write_requests.items() if path == "/v1/metadata"}


def admin(hasura) -> HasuraClient:
    return HasuraClient(hasura.url, ADMIN_SECRET)


def set_live_select_permission(hasura, permission: dict) -> None:
    """What someone clicking in the console does: drop the `user` select permission and create another."""
    with admin(hasura) as console:
        console.metadata("pg_drop_select_permission", {"table": USERS_TABLE, "role": "user"})
        console.metadata("pg_create_select_permission", {"table": USERS_TABLE, "role": "user",
                                                         "permission": permission})


def live_select_permission(hasura) -> dict:
    with admin(hasura) as client:
        [table] = client.export_metadata().metadata["sources"][0]["tables"]
    [select] = table["select_permissions"]
    return select["permission"]


def test_first_deploy_gives_the_documented_outputs_a_passing_smoke_check_and_no_plaintext_secret(
        deployed, hasura, clerk_double, minted_tokens):
    outputs = deployed.outputs()
    assert set(outputs) == EXPECTED_OUTPUTS  # no container, network or database of ours on this target
    assert outputs["graphqlUrl"] == f"{hasura.url}/v1/graphql" and outputs["hasuraUrl"] == hasura.url
    assert outputs["appEnv"]["NEXT_PUBLIC_HASURA_GRAPHQL_URL"] == f"{hasura.url}/v1/graphql"
    assert json.loads(outputs["jwtSecret"])["issuer"] == clerk_double.issuer == outputs["issuer"]
    assert deployed.secret_outputs() == {"hasuraAdminSecret"}
    assert smoke_failures(outputs) == {}
    assert {c["name"] for c in outputs["smoke"]["checks"] if c.get("passed")} >= {
        "token-accepted", "reads-own-row", "cannot-read-others", "anonymous-refused", "forged-token-refused",
        "admin-role-refused"}

    everything = deployed.backend_text()
    assert minted_tokens, "the smoke check signed in through the Clerk double"
    for secret in (ADMIN_SECRET, clerk_double.secret_key, *minted_tokens, *(t.split(".")[2] for t in minted_tokens)):
        assert secret not in everything
    assert JWT.findall(everything) == []


def test_a_second_deploy_changes_nothing_and_writes_nothing(deployed, hasura):
    hasura.reset_counts()
    assert changes(deployed.up()) == {}
    assert changes(deployed.up(refresh=True)) == {}
    assert hasura.writes() == 0
    deployed.preview(refresh=True, expect_no_changes=True)  # raises on any change


def test_a_permission_changed_in_metadata_dir_is_one_write_and_reruns_the_smoke_check(deployed, hasura,
                                                                                       metadata_dir):
    table_file = metadata_dir / "metadata" / "databases" / "default" / "tables" / "public_users.yaml"
    table = yaml.safe_load(table_file.read_text())
    table["select_permissions"][0]["permission"]["columns"].remove("last_seen")
    table_file.write_text(yaml.safe_dump(table))
    hasura.reset_counts()
    result = deployed.up(refresh=True)
    assert changes(result) == {"update": 2}  # the metadata, then the smoke check it triggers
    assert metadata_writes(hasura) == {"replace_metadata": 1}
    assert "last_seen" not in live_select_permission(hasura)["columns"]
    assert hasura.count("/v1/graphql") > 0 and smoke_failures(deployed.outputs()) == {}


def export_rewrites(hasura, metadata_dir: Path, tmp_path: Path) -> list[str]:
    """The files `clerk-hasura export` (= `hasura metadata export`) would change or remove in
    a copy of metadata_dir."""
    copy = Path(shutil.copytree(metadata_dir, tmp_path / "exported"))
    with admin(hasura) as client:
        report = write_metadata_files(copy / "metadata", render_metadata_files(client.export_metadata().metadata))
    return report.changed + report.removed


def live_export(hasura) -> dict:
    with admin(hasura) as client:
        return client.export_metadata().metadata


def test_after_a_deploy_hasura_metadata_diff_is_empty_and_an_export_changes_no_file(deployed, hasura, metadata_dir,
                                                                                     tmp_path):
    # Hasura got metadata/ as authored: X-Hasura-User-Id in its case, columns in their order.
    assert cli_metadata_diff(live_export(hasura), metadata_dir) == {}
    assert live_select_permission(hasura)["filter"] == {"id": {"_eq": "X-Hasura-User-Id"}}
    assert export_rewrites(hasura, metadata_dir, tmp_path) == []


def test_a_stack_deployed_with_the_normalized_copy_gets_metadata_dir_as_authored_once_then_converges(
        engine_stack_factory, clerk_double, hasura, metadata_dir, monkeypatch, tmp_path):
    # Releases before this one registered normalize_metadata(metadata/): session variables lower-cased and column
    # lists sorted, which Hasura stored as sent.
    registered = HasuraMetadata.__init__

    def previous_release(self, name, args, opts=None):
        normalized = dataclasses.replace(args.project, metadata=normalize_metadata(args.project.metadata))
        registered(self, name, dataclasses.replace(args, project=normalized), opts)

    monkeypatch.setattr(HasuraMetadata, "__init__", previous_release)
    engine = engine_stack_factory(existing_config(clerk_double, hasura.url, metadata_dir),
                                  secrets={"hasuraAdminSecret": ADMIN_SECRET,
                                           "clerkSecretKey": clerk_double.secret_key})
    assert engine.up(refresh=True).summary.result == "succeeded", "".join(engine.log)
    assert set(cli_metadata_diff(live_export(hasura), metadata_dir)) == {"databases/default/tables/public_users.yaml"}
    assert live_select_permission(hasura)["filter"] == {"id": {"_eq": "x-hasura-user-id"}}
    hash_before = engine.outputs()["metadataHash"]

    monkeypatch.undo()  # this release
    hasura.reset_counts()
    result = engine.up(refresh=True)
    assert changes(result) == {"update": 2}  # the metadata written as authored, then the smoke check on it
    assert metadata_writes(hasura) == {"replace_metadata": 1}
    # The deploy's log names what it rewrote, permission by permission.
    rewritten = "hasura metadata: source default › table public.users › role user › select permission › "
    log = "".join(engine.log)
    assert (rewritten + 'filter: set to {"id": {"_eq": "X-Hasura-User-Id"}} (was {"id": {"_eq": '
            '"x-hasura-user-id"}})') in log
    assert rewritten + "columns: listed as" in log
    assert smoke_failures(engine.outputs()) == {}
    assert engine.outputs()["metadataHash"] == hash_before  # the same meaning: apps reading it see no change
    assert cli_metadata_diff(live_export(hasura), metadata_dir) == {}
    assert export_rewrites(hasura, metadata_dir, tmp_path) == []

    hasura.reset_counts()
    assert changes(engine.up(refresh=True)) == {}
    assert hasura.writes() == 0
    engine.preview(refresh=True, expect_no_changes=True)  # raises on any change


def test_live_drift_is_reported_and_the_documented_deploy_repairs_it(deployed, hasura):
    wanted = live_select_permission(hasura)
    set_live_select_permission(hasura, {**wanted, "columns": ["id"]})

    with pytest.raises(auto.CommandError) as drift:
        deployed.preview(refresh=True, expect_no_changes=True)
    assert "code: 7" in str(drift.value)  # the engine's "changes were expected not to happen" exit code
    reported = drift_command(deployed)
    assert reported.returncode == 1, reported.stdout + reported.stderr
    assert "role user › select permission" in reported.stdout and "scripts/deploy" in reported.stdout

    hasura.reset_counts()
    assert changes(deployed.up(refresh=True)) == {"update": 2}  # repaired, and the smoke check ran again
    assert live_select_permission(hasura) == wanted
    assert hasura.count("/v1/graphql") > 0 and smoke_failures(deployed.outputs()) == {}
    deployed.preview(refresh=True, expect_no_changes=True)
    assert drift_command(deployed).returncode == 0


def test_a_failing_smoke_check_fails_the_deploy_with_the_check_and_the_fix_and_the_stack_stays_usable(
        deployed, hasura):
    wanted = live_select_permission(hasura)
    # Everyone may read every row, and a plain `pulumi up` (no refresh) does not see it; a new run of the check
    # (smoke.runId) does.
    set_live_select_permission(hasura, {**wanted, "filter": {}})
    passed_before = deployed.outputs()["smoke"]
    deployed.set_config("smoke", {"runId": "after-console-change"})
    with pytest.raises(auto.CommandError) as failed:
        deployed.up()
    message = str(failed.value)
    assert "cannot-read-others" in message and "Fix:" in message and "Traceback" not in message
    # The failed run is what the stack now reports, not the last passing one.
    report = deployed.outputs()["smoke"]
    assert report["passed"] is False and report["ranAt"] > passed_before["ranAt"]
    assert "cannot-read-others" in smoke_failures(deployed.outputs())

    result = deployed.up(refresh=True)  # the documented deploy repairs the filter and checks again
    assert result.summary.result == "succeeded"
    assert live_select_permission(hasura) == wanted and smoke_failures(deployed.outputs()) == {}


def test_with_hasura_down_refresh_completes_and_the_next_deploy_reapplies_and_passes(deployed, hasura,
                                                                                       postgres_database_url):
    with psycopg.connect(postgres_database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO public.users (id, name) VALUES ('user_kept', 'Kept')")
    hasura.stop()
    refreshed = deployed.refresh()
    assert refreshed.summary.result == "succeeded"
    assert any("live state unknown" in line for line in deployed.log)
    assert deployed.resource("HasuraMetadata")["outputs"]["live_unknown"] is True

    # It comes back without its metadata (a new instance on the same database).
    hasura.start()
    hasura.wait_for_jwks()
    with admin(hasura) as client:
        client.metadata("clear_metadata", {})
    hasura.reset_counts()
    result = deployed.up()
    assert changes(result) == {"update": 2}  # the unknown live state re-checked and re-applied, then the check
    assert metadata_writes(hasura).get("replace_metadata") == 1
    assert deployed.resource("HasuraMetadata")["outputs"]["live_unknown"] is False
    assert hasura.count("/v1/graphql") > 0 and smoke_failures(deployed.outputs()) == {}
    with psycopg.connect(postgres_database_url) as conn:
        assert conn.execute("SELECT name FROM public.users WHERE id = 'user_kept'").fetchone() == ("Kept",)


def test_destroy_keeps_rows_and_metadata_and_the_adopted_template(deployed, hasura, clerk_double,
                                                                   postgres_database_url):
    metadata_before = live_select_permission(hasura)
    with psycopg.connect(postgres_database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO public.users (id, name) VALUES ('user_kept', 'Kept')")
    deployed.destroy()
    assert live_select_permission(hasura) == metadata_before
    with psycopg.connect(postgres_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM public.users WHERE id = 'user_kept'").fetchone() == (1,)
    assert "hasura" in clerk_double.templates  # it existed before the stack: adopted, so kept


def test_destroy_deletes_the_template_the_stack_created(engine_stack_factory, clerk_double_factory,
                                                        hasura_double_factory, postgres_database_url, metadata_dir):
    clerk = clerk_double_factory(seed_templates={})
    config = existing_config(clerk, "http://127.0.0.1:1", metadata_dir)
    hasura = hasura_double_factory(jwt_secret=resolve_jwt_secret(load_settings(config, environ={})).value,
                                   admin_secret=ADMIN_SECRET, env={"PG_DATABASE_URL": postgres_database_url})
    hasura.wait_for_jwks()
    engine = engine_stack_factory(existing_config(clerk, hasura.url, metadata_dir),
                                  secrets={"hasuraAdminSecret": ADMIN_SECRET, "clerkSecretKey": clerk.secret_key})
    engine.up(refresh=True)
    assert "hasura" in clerk.templates
    engine.destroy()
    assert "hasura" not in clerk.templates


def test_a_signing_key_stack_keeps_the_key_and_its_tokens_out_of_the_backend(engine_stack_factory, clerk_double,
                                                                             hasura_double_factory, metadata_dir,
                                                                             postgres_database_url):
    signing_key = "engine-test-hs256-signing-key-0123456789abcdef"

    def signing_key_config(hasura_url: str) -> dict:
        # With a signing key Hasura never reads a JWKS URL, and the stack refuses one.
        config = existing_config(clerk_double, hasura_url, metadata_dir)
        return {**config, "clerk": {key: value for key, value in config["clerk"].items() if key != "jwksUrl"}}

    settings = load_settings({**signing_key_config("http://127.0.0.1:1"), "clerkSigningKey": signing_key}, environ={})
    hasura = hasura_double_factory(jwt_secret=resolve_jwt_secret(settings).value, admin_secret=ADMIN_SECRET,
                                   env={"PG_DATABASE_URL": postgres_database_url})
    engine = engine_stack_factory({**signing_key_config(hasura.url), "smoke": {"tokenSource": "signing-key"}},
                                  secrets={"hasuraAdminSecret": ADMIN_SECRET, "clerkSigningKey": signing_key})
    engine.up(refresh=True)
    outputs = engine.outputs()
    assert smoke_failures(outputs) == {}
    assert {"jwtSecret", "hasuraAdminSecret"} <= engine.secret_outputs()  # the JWT secret embeds the key
    everything = engine.backend_text()
    assert signing_key not in everything
    assert JWT.findall(everything) == []  # the tokens the check minted with that key
    assert json.loads(outputs["jwtSecret"])["key"] == signing_key  # decrypted for the owner of the passphrase
