"""Target `hasura-cloud` without the engine: what its settings refuse, what its preflight finds or refuses, and how
the env vars are written (only the owned ones, with the hash read, a concurrent console edit retried and kept) —
against the Hasura Cloud double (tests/doubles/hasura_cloud.py) over real HTTP."""

from __future__ import annotations

import time

import pytest

from components.config.settings import SettingsError, load_settings
from components.errors import ClerkHasuraError
from components.plan import validate_stack_config
from components.targets import hasura_cloud
from components.targets.hasura_cloud.client import HasuraCloudClient, HasuraCloudTokenRefused
from components.targets.hasura_cloud.env_vars import ConcurrentEnvEdit, apply_env
from components.targets.hosted import PlatformRestartTimeout, wait_until_serving
from tests.doubles.hasura_cloud import HasuraCloudDouble
from tests.doubles.platform_http import HasuraRestarter

PROJECT_ADMIN_SECRET = "project-admin-secret-0123456789"
DATABASE_URL = "postgres://app:db-password-0123@db.example.com:5432/app?sslmode=require"


@pytest.fixture
def cloud():
    double = HasuraCloudDouble(restart_seconds=0.0).start()
    yield double
    double.stop()


def cloud_stack(cloud: HasuraCloudDouble, project_id: str, **overrides) -> dict:
    return {"target": "hasura-cloud", "clerk": {"frontendApi": "happy-hippo-12.clerk.accounts.dev"},
            "hasuraCloud": {"projectId": project_id, "apiUrl": cloud.url}, "hasuraCloudToken": cloud.token,
            **overrides}


def problems_of(raw: dict, stack: str = "dev") -> str:
    with pytest.raises(SettingsError) as caught:
        validate_stack_config(raw, stack, environ={})
    return str(caught.value)


def test_needs_the_token_and_the_project_and_refuses_container_keys():
    text = problems_of({"target": "hasura-cloud", "clerk": {"frontendApi": "happy-hippo-12.clerk.accounts.dev"},
                        "hasura": {"port": 9090, "corsDomains": ["https://app.example.com"]},
                        "postgres": {"hostPort": 15432}, "postgresPassword": "p" * 20})
    assert "hasuraCloudToken: required with target `hasura-cloud`" in text
    assert "pulumi config set --secret hasuraCloudToken" in text
    assert "hasuraCloud.projectId: required with target `hasura-cloud`" in text
    assert "hasura.port: the `hasura-cloud` target does not set it" in text
    assert "postgres.hostPort:" in text and "postgresPassword:" in text
    assert "corsDomains" not in text  # owned as HASURA_GRAPHQL_CORS_DOMAIN


def test_the_object_is_refused_on_other_targets():
    text = problems_of({"clerk": {"frontendApi": "happy-hippo-12.clerk.accounts.dev"},
                        "hasuraCloud": {"projectId": "7a79cf94-0e53-4520-a560-1b02bf522f08"}})
    assert "hasuraCloud.projectId: only the `hasura-cloud` target reads it" in text


def test_a_project_id_that_is_not_a_uuid_is_named():
    text = problems_of({"target": "hasura-cloud", "hasuraCloud": {"projectId": "my-project"}})
    assert "hasuraCloud.projectId: 'my-project' is not a UUID" in text


def test_preflight_finds_the_tenant_the_endpoint_and_keeps_the_projects_admin_secret(cloud):
    project_id, tenant_id = cloud.add_project({"PG_DATABASE_URL": DATABASE_URL,
                                               "HASURA_GRAPHQL_ADMIN_SECRET": PROJECT_ADMIN_SECRET},
                                              endpoint="https://my-app.hasura.app/v1/graphql")
    settings = load_settings(cloud_stack(cloud, project_id), environ={})
    found = hasura_cloud.preflight(settings, {})
    assert (found.tenant_id, found.hasura_url, found.admin_secret) == (
        tenant_id, "https://my-app.hasura.app", PROJECT_ADMIN_SECRET)
    assert PROJECT_ADMIN_SECRET not in repr(found)
    # The stack's own admin secret wins, and is then owned.
    configured = load_settings(cloud_stack(cloud, project_id, hasuraAdminSecret="stack-admin-secret-0123456789"),
                               environ={})
    assert hasura_cloud.preflight(configured, {}).admin_secret is None
    assert cloud.writes == 0


@pytest.mark.parametrize("what", ["token", "project", "database"])
def test_preflight_names_the_setting_to_fix(cloud, what):
    project_id, _ = cloud.add_project({} if what == "database" else {"PG_DATABASE_URL": DATABASE_URL},
                                      endpoint="https://my-app.hasura.app/v1/graphql")
    raw = cloud_stack(cloud, project_id)
    if what == "token":
        raw["hasuraCloudToken"] = "not-the-token"
    if what == "project":
        raw["hasuraCloud"]["projectId"] = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ClerkHasuraError) as failed:
        hasura_cloud.preflight(load_settings(raw, environ={}), {})
    setting = {"token": "hasuraCloudToken:", "project": "hasuraCloud.projectId:", "database": "databaseUrl:"}[what]
    assert str(failed.value).startswith(setting) and "Fix:" in str(failed.value)
    assert "not-the-token" not in str(failed.value)


def test_a_write_sends_only_the_owned_vars_that_differ_and_keeps_every_other(cloud):
    _, tenant_id = cloud.add_project({"PG_DATABASE_URL": DATABASE_URL, "ACTIONS_URL": "https://actions.example.com"})
    with HasuraCloudClient(cloud.token, cloud.url) as client:
        env, wrote = apply_env(client, tenant_id, {"HASURA_GRAPHQL_JWT_SECRET": "{}", "PG_DATABASE_URL": DATABASE_URL})
        assert wrote and cloud.writes == 1
        assert cloud.env(tenant_id) == {"PG_DATABASE_URL": DATABASE_URL, "ACTIONS_URL": "https://actions.example.com",
                                        "HASURA_GRAPHQL_JWT_SECRET": "{}"}
        assert env.hash == client.get_env(tenant_id).hash
        _, wrote = apply_env(client, tenant_id, {"HASURA_GRAPHQL_JWT_SECRET": "{}"})
    assert not wrote and cloud.writes == 1


def test_a_console_edit_between_read_and_write_is_retried_and_kept(cloud):
    _, tenant_id = cloud.add_project({"PG_DATABASE_URL": DATABASE_URL})
    cloud.edit_before_next_write(tenant_id, "ACTIONS_URL", "https://actions.example.com")
    with HasuraCloudClient(cloud.token, cloud.url) as client:
        _, wrote = apply_env(client, tenant_id, {"HASURA_GRAPHQL_JWT_SECRET": "{}"})
    assert wrote and cloud.writes == 2  # the first was refused (stale hash), the second went through
    assert cloud.env(tenant_id)["ACTIONS_URL"] == "https://actions.example.com"
    assert cloud.env(tenant_id)["HASURA_GRAPHQL_JWT_SECRET"] == "{}"


def test_edits_that_keep_coming_stop_the_write_without_overwriting_them(cloud):
    _, tenant_id = cloud.add_project({"PG_DATABASE_URL": DATABASE_URL})
    cloud.edit_before_next_write(tenant_id, "FIRST", "1")
    cloud.edit_before_next_write(tenant_id, "SECOND", "2")
    with HasuraCloudClient(cloud.token, cloud.url) as client, pytest.raises(ConcurrentEnvEdit) as failed:
        apply_env(client, tenant_id, {"HASURA_GRAPHQL_JWT_SECRET": "{}"})
    assert "run the deploy again" in str(failed.value)
    assert cloud.env(tenant_id) == {"PG_DATABASE_URL": DATABASE_URL, "FIRST": "1", "SECOND": "2"}


def test_a_refused_token_is_named_and_never_shown(cloud):
    _, tenant_id = cloud.add_project({})
    with HasuraCloudClient("wrong-token-value", cloud.url) as client, pytest.raises(HasuraCloudTokenRefused) as failed:
        client.get_env(tenant_id)
    assert str(failed.value).startswith("hasuraCloudToken:") and "wrong-token-value" not in str(failed.value)


def test_the_wait_after_a_write_sees_the_restart_or_trusts_a_gapless_platform_after_the_settle_time(
        hasura_double_factory):
    hasura = hasura_double_factory(jwt_secret=None, admin_secret=PROJECT_ADMIN_SECRET)
    restarter = HasuraRestarter(hasura, restart_seconds=0.5)
    restarter.restart(jwt_secret=None, admin_secret=PROJECT_ADMIN_SECRET, unauthorized_role=None, env=hasura.env)
    wait_until_serving(hasura.url, PROJECT_ADMIN_SECRET, timeout=10, what="env", settle=60)  # returns once back
    assert hasura.running and restarter.restarts == 1
    started = time.monotonic()
    wait_until_serving(hasura.url, PROJECT_ADMIN_SECRET, timeout=10, what="env", settle=0.6)  # no gap: settle
    assert time.monotonic() - started >= 0.6


def test_a_restart_that_never_serves_fails_naming_what_was_written(hasura_double_factory):
    hasura = hasura_double_factory(jwt_secret=None, admin_secret="another-admin-secret-0123456789")
    with pytest.raises(PlatformRestartTimeout) as failed:
        wait_until_serving(hasura.url, PROJECT_ADMIN_SECRET, timeout=1, what="The project's env vars")
    assert str(failed.value).startswith("The project's env vars was written") and "Fix:" in str(failed.value)
    assert PROJECT_ADMIN_SECRET not in str(failed.value)


def test_creating_a_project_needs_a_database_and_its_keys_are_refused_with_a_project_given():
    text = problems_of({"target": "hasura-cloud", "hasuraCloudToken": "t" * 20,
                        "clerk": {"frontendApi": "happy-hippo-12.clerk.accounts.dev"},
                        "hasuraCloud": {"region": "us-east-2"}})
    assert "databaseUrl: required when the stack creates the Hasura Cloud project" in text
    text = problems_of({"target": "hasura-cloud", "hasuraCloudToken": "t" * 20,
                        "clerk": {"frontendApi": "happy-hippo-12.clerk.accounts.dev"},
                        "hasuraCloud": {"projectId": "7a79cf94-0e53-4520-a560-1b02bf522f08", "region": "us-east-2",
                                        "protectProject": False}})
    assert "hasuraCloud.region: only for a project the stack creates" in text
    assert "hasuraCloud.protectProject: only for a project the stack creates" in text


def test_a_created_project_is_protected_everywhere_but_dev_unless_told():
    cloud = load_settings({"hasuraCloud": {"region": "us-east-2"}}, environ={}).hasura_cloud
    assert cloud.creates_project
    assert (cloud.resolved_protect_project("dev"), cloud.resolved_protect_project("prod")) == (False, True)
    told = load_settings({"hasuraCloud": {"region": "us-east-2", "protectProject": False}}, environ={}).hasura_cloud
    assert told.resolved_protect_project("prod") is False


def test_preflight_of_a_project_to_create_checks_the_token_and_finds_nothing(cloud):
    raw = {"target": "hasura-cloud", "clerk": {"frontendApi": "happy-hippo-12.clerk.accounts.dev"},
           "hasuraCloud": {"region": "us-east-2", "apiUrl": cloud.url}, "hasuraCloudToken": cloud.token,
           "databaseUrl": DATABASE_URL}
    found = hasura_cloud.preflight(load_settings(raw, environ={}), {})
    assert (found.tenant_id, found.hasura_url, found.admin_secret) == (None, None, None)
    with pytest.raises(HasuraCloudTokenRefused):
        hasura_cloud.preflight(load_settings({**raw, "hasuraCloudToken": "wrong-token-value"}, environ={}), {})
    assert cloud.tenants == {}
