"""The real engine deploys the real program to a Hasura Cloud project: the Hasura Cloud API double
(tests/doubles/hasura_cloud.py) whose project is served by the Hasura double, restarted with every env change,
trusting the Clerk double. Observed as a user would: up/preview/refresh/destroy results, outputs, the project's env
vars and the writes the Cloud API received, every file the backend wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pulumi import automation as auto

from tests.doubles.hasura_cloud import HasuraCloudDouble
from tests.fixtures.engine import ROOT, changes, drift_command, smoke_failures
from tests.fixtures.hosted_targets import (SIGNING_KEY, assert_a_no_op_deploy_writes_nothing,
                                           assert_a_wrong_token_fails_the_preview, assert_nowhere_in_plaintext,
                                           deploy_with_a_signing_key, deployed_stack)
from tests.pulumi_harness import SECRET_SIG, SPECIAL_SIG_KEY as SECRET_SIG_KEY

PROJECT_ADMIN_SECRET = "project-admin-secret-0123456789"
JWT_SECRET_ENV = "HASURA_GRAPHQL_JWT_SECRET"
CORS_ENV = "HASURA_GRAPHQL_CORS_DOMAIN"


@pytest.fixture
def metadata_dir(tmp_path) -> Path:
    return Path(shutil.copytree(ROOT / "metadata", tmp_path / "metadata"))


@pytest.fixture
def cloud():
    double = HasuraCloudDouble().start()
    yield double
    double.stop()


@pytest.fixture
def project(cloud, hasura_double_factory, postgres_database_url):
    """A Cloud project as a user has it before the stack: a database connected, the admin secret Cloud generated, an
    env var of their own, no JWT secret; its Hasura runs with exactly that env."""
    hasura = hasura_double_factory(jwt_secret=None, admin_secret=PROJECT_ADMIN_SECRET,
                                   env={"PG_DATABASE_URL": postgres_database_url})
    project_id, tenant_id = cloud.add_project({"PG_DATABASE_URL": postgres_database_url,
                                               "HASURA_GRAPHQL_ADMIN_SECRET": PROJECT_ADMIN_SECRET,
                                               "ACTIONS_BASE_URL": "https://actions.example.com"}, hasura=hasura)
    return {"project_id": project_id, "tenant_id": tenant_id, "hasura": hasura}


def cloud_config(clerk, cloud, project_id: str, metadata_dir: Path) -> dict:
    return {"target": "hasura-cloud", "metadataDir": str(metadata_dir),
            "clerk": {"publishableKey": clerk.publishable_key, "jwksUrl": clerk.jwks_url, "apiUrl": clerk.url},
            "hasuraCloud": {"projectId": project_id, "apiUrl": cloud.url, "restartTimeout": 60}}


@pytest.fixture
def deployed(engine_stack_factory, clerk_double, cloud, project, metadata_dir):
    return deployed_stack(engine_stack_factory, cloud_config(clerk_double, cloud, project["project_id"], metadata_dir),
                          secrets={"hasuraCloudToken": cloud.token, "clerkSecretKey": clerk_double.secret_key})


def test_first_deploy_sets_the_jwt_secret_keeps_the_rest_and_the_smoke_check_passes(
        deployed, cloud, project, clerk_double, postgres_database_url):
    outputs = deployed.outputs()
    env = cloud.env(project["tenant_id"])
    assert env[JWT_SECRET_ENV] == outputs["jwtSecret"]
    assert env["HASURA_GRAPHQL_ADMIN_SECRET"] == PROJECT_ADMIN_SECRET == outputs["hasuraAdminSecret"]  # kept
    assert env["ACTIONS_BASE_URL"] == "https://actions.example.com"
    assert env["PG_DATABASE_URL"] == postgres_database_url
    assert outputs["hasuraUrl"] == project["hasura"].url
    assert outputs["hasuraCloudTenantId"] == project["tenant_id"]
    assert smoke_failures(outputs) == {}
    assert {c["name"] for c in outputs["smoke"]["checks"] if c.get("passed")} >= {"token-accepted", "reads-own-row"}

    assert_nowhere_in_plaintext(deployed, cloud.token, PROJECT_ADMIN_SECRET, clerk_double.secret_key)


def test_a_no_op_deploy_makes_no_write_to_the_cloud_api(deployed, cloud):
    assert_a_no_op_deploy_writes_nothing(deployed, cloud)


def test_a_console_edit_of_the_jwt_secret_is_drift_and_the_documented_deploy_repairs_it(deployed, cloud, project):
    wanted = cloud.env(project["tenant_id"])[JWT_SECRET_ENV]
    cloud.dashboard_set(project["tenant_id"], JWT_SECRET_ENV, json.dumps({"type": "HS256", "key": "k" * 40}))
    cloud.wait_for_restarts()

    with pytest.raises(auto.CommandError) as drift:
        deployed.preview(refresh=True, expect_no_changes=True)
    assert "code: 7" in str(drift.value)
    reported = drift_command(deployed)
    assert reported.returncode == 1, reported.stdout + reported.stderr

    writes = cloud.writes
    result = deployed.up(refresh=True)
    assert result.summary.result == "succeeded", "".join(deployed.log)
    assert cloud.writes == writes + 1
    assert cloud.env(project["tenant_id"])[JWT_SECRET_ENV] == wanted
    assert smoke_failures(deployed.outputs()) == {}
    deployed.preview(refresh=True, expect_no_changes=True)
    assert drift_command(deployed).returncode == 0


def test_another_env_var_set_in_the_console_survives_deploys_and_destroy(deployed, cloud, project):
    cloud.dashboard_set(project["tenant_id"], "FEATURE_FLAGS", "beta")
    cloud.wait_for_restarts()
    deployed.up(refresh=True)
    deployed.set_config("hasura", {"corsDomains": ["https://app.example.com"]})
    deployed.up(refresh=True)
    env = cloud.env(project["tenant_id"])
    assert env["HASURA_GRAPHQL_CORS_DOMAIN"] == "https://app.example.com"
    assert env["FEATURE_FLAGS"] == "beta" and env["ACTIONS_BASE_URL"] == "https://actions.example.com"
    deployed.destroy()
    after = cloud.env(project["tenant_id"])
    assert after["FEATURE_FLAGS"] == "beta" and after["ACTIONS_BASE_URL"] == "https://actions.example.com"
    assert after["HASURA_GRAPHQL_ADMIN_SECRET"] == PROJECT_ADMIN_SECRET
    assert JWT_SECRET_ENV not in after and CORS_ENV not in after  # the stack added them: deleted


HAND_SET_JWT_SECRET = '{"type": "HS256", "key": "a-key-set-by-hand-in-the-console-0123456789"}'
STACK_ADMIN_SECRET = "stack-admin-secret-0123456789abcdef"


@pytest.fixture
def hand_set_project(cloud, hasura_double_factory, postgres_database_url):
    """A Cloud project whose JWT secret was set by hand before the stack (as Hasura's Clerk guide says), with the admin
    secret Cloud generated; its Hasura runs with exactly that env."""
    hasura = hasura_double_factory(jwt_secret=HAND_SET_JWT_SECRET, admin_secret=PROJECT_ADMIN_SECRET,
                                   env={"PG_DATABASE_URL": postgres_database_url})
    env = {"PG_DATABASE_URL": postgres_database_url, "HASURA_GRAPHQL_ADMIN_SECRET": PROJECT_ADMIN_SECRET,
           JWT_SECRET_ENV: HAND_SET_JWT_SECRET, "ACTIONS_BASE_URL": "https://actions.example.com"}
    project_id, tenant_id = cloud.add_project(env, hasura=hasura)
    return {"project_id": project_id, "tenant_id": tenant_id, "env": env}


def test_destroy_puts_back_what_was_there_before_removes_what_the_stack_added_and_a_new_deploy_converges(
        engine_stack_factory, clerk_double, cloud, hand_set_project, metadata_dir):
    tenant_id = hand_set_project["tenant_id"]
    engine = engine_stack_factory({**cloud_config(clerk_double, cloud, hand_set_project["project_id"], metadata_dir),
                                   "hasura": {"corsDomains": ["https://app.example.com"]}},
                                  secrets={"hasuraCloudToken": cloud.token, "clerkSecretKey": clerk_double.secret_key,
                                           "hasuraAdminSecret": STACK_ADMIN_SECRET})
    result = engine.up(refresh=True)
    assert result.summary.result == "succeeded", "".join(engine.log)
    env = cloud.env(tenant_id)
    assert (env[JWT_SECRET_ENV], env["HASURA_GRAPHQL_ADMIN_SECRET"], env[CORS_ENV]) == (
        engine.outputs()["jwtSecret"], STACK_ADMIN_SECRET, "https://app.example.com")
    assert smoke_failures(engine.outputs()) == {}
    # What the first write replaced is remembered as a secret (`stack export` shows it, marked secret): the backend
    # holds it encrypted, no log shows it.
    record = engine.resource("HasuraCloudEnv")["outputs"]
    assert record["added"] == [CORS_ENV]
    assert record["replaced"][SECRET_SIG_KEY] == SECRET_SIG
    assert json.loads(record["replaced"]["plaintext"]) == {JWT_SECRET_ENV: HAND_SET_JWT_SECRET,
                                                           "HASURA_GRAPHQL_ADMIN_SECRET": PROJECT_ADMIN_SECRET}
    everything = engine.backend_text() + "".join(engine.log)
    assert "a-key-set-by-hand-in-the-console" not in everything and PROJECT_ADMIN_SECRET not in everything

    cloud.dashboard_set(tenant_id, "FEATURE_FLAGS", "beta")
    cloud.wait_for_restarts()
    writes = cloud.writes
    assert engine.destroy().summary.result == "succeeded", "".join(engine.log)
    assert cloud.env(tenant_id) == {**hand_set_project["env"], "FEATURE_FLAGS": "beta"}
    assert (cloud.writes, cloud.deletes) == (writes + 1, 1)  # the two values put back, then the CORS var deleted

    cloud.wait_for_restarts()
    result = engine.up(refresh=True)
    assert result.summary.result == "succeeded", "".join(engine.log)
    assert smoke_failures(engine.outputs()) == {}
    assert changes(engine.up(refresh=True)) == {}
    engine.preview(refresh=True, expect_no_changes=True)
    assert engine.resource("HasuraCloudEnv")["outputs"]["added"] == [CORS_ENV]  # remembered afresh


def test_a_stack_deployed_before_the_record_leaves_its_vars_on_destroy_but_deletes_one_it_added_since(
        deployed, cloud, project):
    # The previous release kept no record of what was there before its writes: its state has no `replaced` and no
    # `added`. Make this stack's state what that release left.
    state = deployed.stack.export_stack()
    [env_resource] = [r for r in state.deployment["resources"] if r["type"].endswith("HasuraCloudEnv")]
    for key in ("replaced", "added"):
        env_resource["outputs"].pop(key)
        env_resource.get("inputs", {}).pop(key, None)
    deployed.stack.import_stack(state)

    writes = cloud.writes
    assert changes(deployed.up(refresh=True)) == {}  # the upgrade alone plans nothing and writes nothing
    deployed.preview(refresh=True, expect_no_changes=True)
    assert cloud.writes == writes
    stack_jwt_secret = cloud.env(project["tenant_id"])[JWT_SECRET_ENV]

    deployed.set_config("hasura", {"corsDomains": ["https://app.example.com"]})
    assert deployed.up(refresh=True).summary.result == "succeeded", "".join(deployed.log)
    assert deployed.resource("HasuraCloudEnv")["outputs"]["added"] == [CORS_ENV]
    cloud.wait_for_restarts()
    assert deployed.destroy().summary.result == "succeeded", "".join(deployed.log)
    after = cloud.env(project["tenant_id"])
    assert after[JWT_SECRET_ENV] == stack_jwt_secret  # what was there before is unknown: left as it is
    assert CORS_ENV not in after  # owned since the upgrade, so recorded as added: deleted
    assert after["ACTIONS_BASE_URL"] == "https://actions.example.com"


def test_a_console_edit_between_read_and_write_is_retried_never_overwritten(deployed, cloud, project):
    cloud.edit_before_next_write(project["tenant_id"], "FEATURE_FLAGS", "beta")
    deployed.set_config("hasura", {"unauthorizedRole": "anonymous"})
    writes = cloud.writes
    result = deployed.up(refresh=True)
    assert result.summary.result == "succeeded", "".join(deployed.log)
    assert cloud.writes == writes + 2  # refused with the stale hash, then read again and written
    env = cloud.env(project["tenant_id"])
    assert env["FEATURE_FLAGS"] == "beta" and env["HASURA_GRAPHQL_UNAUTHORIZED_ROLE"] == "anonymous"


def test_a_wrong_token_fails_the_preview_naming_the_setting(engine_stack_factory, clerk_double, cloud, project,
                                                             metadata_dir):
    assert_a_wrong_token_fails_the_preview(
        engine_stack_factory, cloud_config(clerk_double, cloud, project["project_id"], metadata_dir), cloud,
        token_setting="hasuraCloudToken", refusal="Hasura Cloud refused the personal access token",
        clerk_secret_key=clerk_double.secret_key)


@pytest.fixture
def creating_cloud(hasura_double_factory):
    """A Cloud API double whose createTenant starts a Hasura double for the new project."""
    double = HasuraCloudDouble(new_project_hasura=lambda admin_secret: hasura_double_factory(
        jwt_secret=None, admin_secret=admin_secret, env={})).start()
    yield double
    double.stop()


def creating_config(clerk, cloud, metadata_dir: Path, **cloud_settings) -> dict:
    config = cloud_config(clerk, cloud, "unused", metadata_dir)
    config["hasuraCloud"] = {"region": "us-east-2", "apiUrl": cloud.url, "restartTimeout": 60, **cloud_settings}
    return config


def test_without_a_project_the_stack_creates_one_owns_it_and_deletes_it_on_destroy(
        engine_stack_factory, clerk_double, creating_cloud, metadata_dir, postgres_database_url):
    engine = engine_stack_factory(creating_config(clerk_double, creating_cloud, metadata_dir), secrets={
        "hasuraCloudToken": creating_cloud.token, "clerkSecretKey": clerk_double.secret_key,
        "databaseUrl": postgres_database_url})
    result = engine.up(refresh=True)
    assert result.summary.result == "succeeded", "".join(engine.log)
    [tenant_id] = creating_cloud.tenants
    outputs = engine.outputs()
    env = creating_cloud.env(tenant_id)
    assert outputs["hasuraCloudTenantId"] == tenant_id
    assert env[JWT_SECRET_ENV] == outputs["jwtSecret"] and env["PG_DATABASE_URL"] == postgres_database_url
    assert env["HASURA_GRAPHQL_ADMIN_SECRET"] == outputs["hasuraAdminSecret"]  # the stack's, not Cloud's
    assert smoke_failures(outputs) == {}
    assert changes(engine.up(refresh=True)) == {}
    engine.destroy()
    assert creating_cloud.tenants == {}


def test_a_created_project_is_protected_when_asked_and_outside_dev_by_default(
        engine_stack_factory, clerk_double, creating_cloud, metadata_dir, postgres_database_url):
    engine = engine_stack_factory(creating_config(clerk_double, creating_cloud, metadata_dir, protectProject=True),
                                  secrets={"hasuraCloudToken": creating_cloud.token,
                                           "clerkSecretKey": clerk_double.secret_key,
                                           "databaseUrl": postgres_database_url})
    assert engine.up(refresh=True).summary.result == "succeeded", "".join(engine.log)
    with pytest.raises(auto.CommandError) as refused:
        engine.destroy()
    assert "protected" in str(refused.value)
    assert len(creating_cloud.tenants) == 1


def test_a_signing_key_stack_keeps_the_key_out_of_the_backend(engine_stack_factory, clerk_double, cloud, project,
                                                              metadata_dir):
    config = cloud_config(clerk_double, cloud, project["project_id"], metadata_dir)
    engine = deploy_with_a_signing_key(engine_stack_factory, config, clerk_double, {"hasuraCloudToken": cloud.token})
    assert json.loads(cloud.env(project["tenant_id"])[JWT_SECRET_ENV])["key"] == SIGNING_KEY
    assert smoke_failures(engine.outputs()) == {}
    assert_nowhere_in_plaintext(engine, SIGNING_KEY)
