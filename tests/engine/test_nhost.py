"""The real engine deploys the real program to an Nhost project: the Nhost double (tests/doubles/nhost.py) whose
project is served by the Hasura double, restarted with every configuration change, trusting the Clerk double. The
project is as Nhost makes it (the double provisions it): its own auth/storage tables in the database and tracked, an
HS256 JWT secret and an admin secret of its own. The app's metadata is its nhost/ folder: it tracks those tables too,
and none of its migrations creates them."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from pulumi import automation as auto

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from components.hasura.client import HasuraClient
from components.targets.nhost.jwt_secrets import NHOST_DEFAULT_JWT_SECRET
from tests.doubles.nhost import PLATFORM_TABLES, NhostDouble, default_config
from tests.fixtures.engine import PROJECT, ROOT, changes, drift_command, smoke_failures
from tests.fixtures.hosted_targets import (SIGNING_KEY, assert_a_no_op_deploy_writes_nothing,
                                           assert_a_wrong_token_fails_the_preview, assert_nowhere_in_plaintext,
                                           deploy_with_a_signing_key, deployed_stack)
from tests.fixtures.metadata import track_nhost_tables

SUBDOMAIN, REGION = "abcdefghijklmnopqrst", "eu-central-1"
NHOST_ADMIN_SECRET = "nhost-admin-secret-0123456789"
NHOST_JWT_KEY = "0f987876650b4a085e64594fae9219e7781b17506bec02489ad061fba8cb22db"


@pytest.fixture
def nhost():
    double = NhostDouble().start()
    yield double
    double.stop()


@pytest.fixture
def metadata_dir(tmp_path) -> Path:
    """The app's metadata as kept in its nhost/ folder: this project's metadata/ plus Nhost's own tables, tracked (one
    with a permission of the app's) and created by none of its migrations."""
    directory = Path(shutil.copytree(ROOT / "metadata", tmp_path / "metadata"))
    track_nhost_tables(directory)
    return directory


@pytest.fixture
def project(nhost, hasura_double_factory, postgres_database_url):
    hasura = hasura_double_factory(jwt_secret=json.dumps({"type": "HS256", "key": NHOST_JWT_KEY}),
                                   admin_secret=NHOST_ADMIN_SECRET, env={"PG_DATABASE_URL": postgres_database_url})
    app_id = nhost.add_app(SUBDOMAIN, REGION, hasura=hasura, secrets={
        "HASURA_GRAPHQL_ADMIN_SECRET": NHOST_ADMIN_SECRET, "HASURA_GRAPHQL_JWT_SECRET": NHOST_JWT_KEY,
        "NHOST_WEBHOOK_SECRET": "nhost-webhook-secret"})
    return {"app_id": app_id, "hasura": hasura}


def nhost_config(clerk, nhost, hasura, metadata_dir: Path) -> dict:
    return {"target": "nhost", "metadataDir": str(metadata_dir),
            "clerk": {"publishableKey": clerk.publishable_key, "jwksUrl": clerk.jwks_url, "apiUrl": clerk.url,
                      "templatePreset": "nhost"},
            "hasura": {"publicUrl": hasura.url},
            "nhost": {"subdomain": SUBDOMAIN, "region": REGION, "authUrl": nhost.auth_url, "apiUrl": nhost.api_url,
                      "restartTimeout": 60}}


@pytest.fixture
def deployed(engine_stack_factory, clerk_double, nhost, project, metadata_dir):
    return deployed_stack(engine_stack_factory, nhost_config(clerk_double, nhost, project["hasura"], metadata_dir),
                          secrets={"nhostToken": nhost.token, "clerkSecretKey": clerk_double.secret_key})


def without_jwt_secrets(config: dict) -> dict:
    return {**config, "hasura": {k: v for k, v in config["hasura"].items() if k != "jwtSecrets"}}


def test_first_deploy_sets_jwt_secrets_keeps_the_rest_and_the_smoke_check_passes(deployed, nhost, project,
                                                                                  clerk_double):
    outputs = deployed.outputs()
    config = nhost.config(project["app_id"])
    assert config["hasura"]["jwtSecrets"] == [json.loads(outputs["jwtSecret"])]
    # the engine hands allowed_skew 5 to the provider as 5.0, which Nhost (and the double) refuse for a uint32
    assert type(config["hasura"]["jwtSecrets"][0]["allowed_skew"]) is int
    assert without_jwt_secrets(config) == without_jwt_secrets(default_config())
    assert outputs["hasuraAdminSecret"] == NHOST_ADMIN_SECRET and outputs["nhostAppId"] == project["app_id"]
    assert clerk_double.templates["hasura"]["claims"]["https://hasura.io/jwt/claims"]["x-hasura-allowed-roles"] == \
        ["me", "user"]
    assert smoke_failures(outputs) == {}
    assert {c["name"] for c in outputs["smoke"]["checks"] if c.get("passed")} >= {"token-accepted", "reads-own-row"}
    with HasuraClient(project["hasura"].url, NHOST_ADMIN_SECRET) as client:
        tracked = {(t["table"]["schema"], t["table"]["name"])
                   for t in client.export_metadata().metadata["sources"][0]["tables"]}
    assert set(PLATFORM_TABLES) <= tracked

    assert_nowhere_in_plaintext(deployed, nhost.token, NHOST_ADMIN_SECRET, clerk_double.secret_key)


def test_an_nhost_folder_tracking_nhosts_tables_without_migrations_deploys_and_a_no_op_deploy_plans_nothing(
        deployed, project, metadata_dir):
    migrations = "".join(path.read_text() for path in metadata_dir.glob("migrations/*/*/up.sql"))
    assert "auth." not in migrations and "storage." not in migrations
    assert smoke_failures(deployed.outputs()) == {}
    with HasuraClient(project["hasura"].url, NHOST_ADMIN_SECRET) as client:
        tables = {(t["table"]["schema"], t["table"]["name"]): t
                  for t in client.export_metadata().metadata["sources"][0]["tables"]}
        assert client.get_inconsistent_metadata() == []
    assert set(tables) == {("public", "users"), *PLATFORM_TABLES}
    assert tables["storage", "files"]["select_permissions"][0]["role"] == "user"
    # The drift command, fed the stack's outputs, checks this folder (output metadataDir) with Nhost's platform
    # schemas (output target), as the deploy validated it.
    reported = drift_command(deployed)
    assert reported.returncode == 0, reported.stdout + reported.stderr
    assert f"against {metadata_dir}/ (target nhost):" in reported.stdout

    assert changes(deployed.up(refresh=True)) == {}
    deployed.preview(refresh=True, expect_no_changes=True)


def test_a_no_op_deploy_makes_no_write_to_nhost(deployed, nhost):
    assert_a_no_op_deploy_writes_nothing(deployed, nhost)


def test_a_dashboard_edit_of_the_jwt_secret_is_drift_and_the_documented_deploy_repairs_it(deployed, nhost, project):
    wanted = nhost.config(project["app_id"])["hasura"]["jwtSecrets"]
    nhost.dashboard_set(project["app_id"], ("hasura", "jwtSecrets"), [{"type": "HS256", "key": NHOST_JWT_KEY}])
    nhost.wait_for_restarts()

    with pytest.raises(auto.CommandError) as drift:
        deployed.preview(refresh=True, expect_no_changes=True)
    assert "code: 7" in str(drift.value)
    reported = drift_command(deployed)
    assert reported.returncode == 1, reported.stdout + reported.stderr
    assert "metadata     in sync" in reported.stdout and "auth         DRIFT" in reported.stdout

    writes = nhost.writes
    result = deployed.up(refresh=True)
    assert result.summary.result == "succeeded", "".join(deployed.log)
    assert nhost.writes == writes + 1
    assert nhost.config(project["app_id"])["hasura"]["jwtSecrets"] == wanted
    assert smoke_failures(deployed.outputs()) == {}
    deployed.preview(refresh=True, expect_no_changes=True)


def test_another_key_set_in_the_dashboard_survives_deploys_and_destroy_puts_back_nhosts_default_entry(
        deployed, nhost, project):
    nhost.dashboard_set(project["app_id"], ("hasura", "settings", "devMode"), False)
    nhost.wait_for_restarts()
    deployed.up(refresh=True)
    deployed.set_config("clerk", {**nhost_config_clerk(deployed), "allowedSkew": 10})
    deployed.up(refresh=True)
    config = nhost.config(project["app_id"])
    assert config["hasura"]["settings"]["devMode"] is False
    assert config["hasura"]["jwtSecrets"][0]["allowed_skew"] == 10
    assert deployed.destroy().summary.result == "succeeded", "".join(deployed.log)
    after = nhost.config(project["app_id"])
    # Nhost's schema wants exactly one entry: a new project's, whose key is the project's own HS256 secret
    assert after["hasura"]["jwtSecrets"] == [NHOST_DEFAULT_JWT_SECRET] == default_config()["hasura"]["jwtSecrets"]
    assert after["hasura"]["settings"]["devMode"] is False
    assert after["hasura"]["adminSecret"] == "{{ secrets.HASURA_GRAPHQL_ADMIN_SECRET }}"
    nhost.wait_for_restarts()
    assert json.loads(project["hasura"].jwt_secret) == {"type": "HS256", "key": NHOST_JWT_KEY}

    # the project is left deployable: the stack deploys again and then plans nothing
    result = deployed.up(refresh=True)
    assert result.summary.result == "succeeded", "".join(deployed.log)
    assert nhost.config(project["app_id"])["hasura"]["jwtSecrets"] == [json.loads(deployed.outputs()["jwtSecret"])]
    assert smoke_failures(deployed.outputs()) == {}
    deployed.preview(refresh=True, expect_no_changes=True)


def nhost_config_clerk(engine) -> dict:
    return json.loads(engine.stack.get_config("clerk-hasura:clerk").value)


def test_clerk_settings_nhost_cannot_hold_fail_the_preview_naming_each_with_its_fix(deployed, nhost):
    clerk = nhost_config_clerk(deployed)
    ec_public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    deployed.set_config("clerk", {**clerk, "cookie": True, "audience": ["my-api", "other-api"],
                                  "signingAlgorithm": "ES256"})
    deployed.set_config("clerkSigningKey", ec_public, secret=True)
    writes = nhost.writes
    with pytest.raises(auto.CommandError) as failed:
        deployed.preview()
    for setting in ("clerk.cookie", "clerk.signingAlgorithm", "clerk.audience"):
        assert re.search(rf"{setting}: [^\n]*Nhost[^\n]* Fix: ", str(failed.value)), str(failed.value)
    assert nhost.writes == writes

    deployed.set_config("clerk", clerk)
    deployed.stack.remove_config(f"{PROJECT}:clerkSigningKey")
    deployed.preview(refresh=True, expect_no_changes=True)


def test_a_dashboard_save_between_read_and_write_is_built_on_never_overwritten(deployed, nhost, project):
    # up without refresh reads the configuration in the preflight (1), then in the provider (2) and again just
    # before writing (3): the save lands right after (2).
    nhost.edit_after_reads(project["app_id"], 2, ("hasura", "settings", "corsDomain"), ["https://app.example.com"])
    deployed.set_config("clerk", {**nhost_config_clerk(deployed), "allowedSkew": 15})
    writes = nhost.writes
    result = deployed.up()
    assert result.summary.result == "succeeded", "".join(deployed.log)
    assert nhost.writes == writes + 1
    config = nhost.config(project["app_id"])
    assert config["hasura"]["settings"]["corsDomain"] == ["https://app.example.com"]
    assert config["hasura"]["jwtSecrets"][0]["allowed_skew"] == 15


def test_a_wrong_token_fails_the_preview_naming_the_setting(engine_stack_factory, clerk_double, nhost, project,
                                                             metadata_dir):
    assert_a_wrong_token_fails_the_preview(
        engine_stack_factory, nhost_config(clerk_double, nhost, project["hasura"], metadata_dir), nhost,
        token_setting="nhostToken", refusal="Nhost refused the personal access token",
        clerk_secret_key=clerk_double.secret_key)


def test_metadata_that_would_untrack_nhosts_tables_is_refused_naming_them(engine_stack_factory, clerk_double, nhost,
                                                                          project, tmp_path):
    plain = Path(shutil.copytree(ROOT / "metadata", tmp_path / "plain-metadata"))
    engine = engine_stack_factory(nhost_config(clerk_double, nhost, project["hasura"], plain),
                                  secrets={"nhostToken": nhost.token, "clerkSecretKey": clerk_double.secret_key})
    with pytest.raises(auto.CommandError) as failed:
        engine.preview()
    assert "metadataDir:" in str(failed.value) and "auth.users, storage.files" in str(failed.value)
    assert nhost.writes == 0


def test_a_signing_key_stack_keeps_the_key_out_of_the_backend(engine_stack_factory, clerk_double, nhost, project,
                                                              metadata_dir):
    config = nhost_config(clerk_double, nhost, project["hasura"], metadata_dir)
    engine = deploy_with_a_signing_key(engine_stack_factory, config, clerk_double, {"nhostToken": nhost.token})
    assert nhost.config(project["app_id"])["hasura"]["jwtSecrets"][0]["key"] == SIGNING_KEY
    assert smoke_failures(engine.outputs()) == {}
    assert_nowhere_in_plaintext(engine, SIGNING_KEY)
