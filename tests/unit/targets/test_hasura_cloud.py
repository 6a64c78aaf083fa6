"""Target `hasura-cloud` without the engine: what its settings refuse, what its preflight finds or refuses, how the
env vars are written (only the owned ones, with the hash read, a concurrent console edit retried and kept) and put
back on destroy — against the Hasura Cloud double (tests/doubles/hasura_cloud.py) over real HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

from components.config.settings import SettingsError
from components.targets import SECRET_ENV_VARS, load_settings
from components.errors import ClerkHasuraError
from components.plan import validate_stack_config
from components.targets import hasura_cloud
from components.targets.hasura_cloud.client import HasuraCloudClient, HasuraCloudTokenRefused
from components.targets.hasura_cloud.client import TenantEnv
from components.targets.hasura_cloud.env_vars import (ConcurrentEnvEdit, HasuraCloudEnvProvider, apply_env,
                                                      remembered, restore_env)
from components.targets.shared.hosted import PlatformError
from components.targets.shared.hosted import PlatformRestartTimeout, wait_until_serving
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
    assert "`clerk-hasura pulumi --stack dev config set --secret hasuraCloudToken …`" in text
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
        written = apply_env(client, tenant_id, {"HASURA_GRAPHQL_JWT_SECRET": "{}", "PG_DATABASE_URL": DATABASE_URL})
        assert written.wrote and cloud.writes == 1
        assert cloud.env(tenant_id) == {"PG_DATABASE_URL": DATABASE_URL, "ACTIONS_URL": "https://actions.example.com",
                                        "HASURA_GRAPHQL_JWT_SECRET": "{}"}
        assert written.after == client.get_env(tenant_id)
        assert "HASURA_GRAPHQL_JWT_SECRET" not in written.before.variables
        assert not apply_env(client, tenant_id, {"HASURA_GRAPHQL_JWT_SECRET": "{}"}).wrote
    assert cloud.writes == 1


def test_a_console_edit_between_read_and_write_is_retried_and_kept(cloud):
    _, tenant_id = cloud.add_project({"PG_DATABASE_URL": DATABASE_URL})
    cloud.edit_before_next_write(tenant_id, "ACTIONS_URL", "https://actions.example.com")
    with HasuraCloudClient(cloud.token, cloud.url) as client:
        written = apply_env(client, tenant_id, {"HASURA_GRAPHQL_JWT_SECRET": "{}"})
    assert written.wrote and cloud.writes == 2  # the first was refused (stale hash), the second went through
    assert written.before.variables["ACTIONS_URL"] == "https://actions.example.com"  # read before the write that went
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


def test_the_double_refuses_a_delete_or_a_write_as_cloud_does(cloud):
    _, tenant_id = cloud.add_project({"PG_DATABASE_URL": DATABASE_URL, "ACTIONS_URL": "https://actions.example.com"})
    with HasuraCloudClient(cloud.token, cloud.url) as client:
        current = client.get_env(tenant_id)
        refused = {
            "a stale hash": lambda: client.delete_env(tenant_id, "0" * 40, ["ACTIONS_URL"]),
            "a name it does not have": lambda: client.delete_env(tenant_id, current.hash, ["ACTIONS_URL", "NOPE"]),
            "no names": lambda: client.delete_env(tenant_id, current.hash, []),
            "a name that is not a string": lambda: client.delete_env(tenant_id, current.hash, [1]),
            "a write that changes nothing": lambda: client.update_env(tenant_id, current.hash,
                                                                      {"PG_DATABASE_URL": DATABASE_URL}),
        }
        for what, call in refused.items():
            with pytest.raises(PlatformError):
                call()
            assert cloud.env(tenant_id) == current.variables, what
        after = client.delete_env(tenant_id, current.hash, ["ACTIONS_URL"])
        assert after == client.get_env(tenant_id) and after.variables == {"PG_DATABASE_URL": DATABASE_URL}
    assert cloud.deletes == 5


JWT_SECRET_ENV, ADMIN_SECRET_ENV, CORS_ENV = ("HASURA_GRAPHQL_JWT_SECRET", "HASURA_GRAPHQL_ADMIN_SECRET",
                                              "HASURA_GRAPHQL_CORS_DOMAIN")
HAND_SET_JWT_SECRET = '{"type": "HS256", "key": "a-key-set-by-hand-in-the-console-0123456789"}'
STACK_OWNED = {JWT_SECRET_ENV: '{"type": "RS256", "jwk_url": "https://clerk.example.com/.well-known/jwks.json"}',
               ADMIN_SECRET_ENV: "stack-admin-secret-0123456789", CORS_ENV: "https://app.example.com"}


def deployed_props(cloud: HasuraCloudDouble, env: dict[str, str]) -> tuple[str, dict]:
    """A project with `env`, the stack's first write of STACK_OWNED to it, and the resource's outputs after it."""
    _, tenant_id = cloud.add_project(env)
    with HasuraCloudClient(cloud.token, cloud.url) as client:
        written = apply_env(client, tenant_id, STACK_OWNED)
    return tenant_id, {"apiUrl": cloud.url, "token": cloud.token, "tenantId": tenant_id, "owned": STACK_OWNED,
                       **remembered({}, STACK_OWNED, written.before)}


def test_destroy_puts_back_what_the_first_write_replaced_and_deletes_what_it_added(cloud):
    before = {JWT_SECRET_ENV: HAND_SET_JWT_SECRET, ADMIN_SECRET_ENV: PROJECT_ADMIN_SECRET,
              "PG_DATABASE_URL": DATABASE_URL}
    tenant_id, props = deployed_props(cloud, before)
    assert (props["replaced"], props["added"]) == (
        {JWT_SECRET_ENV: HAND_SET_JWT_SECRET, ADMIN_SECRET_ENV: PROJECT_ADMIN_SECRET}, [CORS_ENV])
    cloud.dashboard_set(tenant_id, "FEATURE_FLAGS", "beta")
    writes = cloud.writes
    HasuraCloudEnvProvider().delete(tenant_id, props)
    assert cloud.env(tenant_id) == {**before, "FEATURE_FLAGS": "beta"}
    assert (cloud.writes, cloud.deletes) == (writes + 1, 1)  # one updateTenantEnv, then one deleteTenantEnv


def test_destroy_leaves_a_var_someone_changed_since_the_stack_wrote_it(cloud):
    theirs = '{"type": "HS256", "key": "changed-in-the-console-since-0123"}'
    tenant_id, props = deployed_props(cloud, {JWT_SECRET_ENV: HAND_SET_JWT_SECRET})
    cloud.dashboard_set(tenant_id, JWT_SECRET_ENV, theirs)
    cloud.dashboard_set(tenant_id, CORS_ENV, "*")
    HasuraCloudEnvProvider().delete(tenant_id, props)
    # Their two edits stay; the admin secret, still the stack's and added by it, is deleted.
    assert cloud.env(tenant_id) == {JWT_SECRET_ENV: theirs, CORS_ENV: "*"}
    assert (cloud.writes, cloud.deletes) == (1, 1)


def test_a_console_edit_before_the_delete_is_retried_and_kept(cloud):
    tenant_id, props = deployed_props(cloud, {})
    cloud.edit_before_next_write(tenant_id, "FEATURE_FLAGS", "beta")
    with HasuraCloudClient(cloud.token, cloud.url) as client:
        restored = restore_env(client, tenant_id, STACK_OWNED, props["replaced"], props["added"])
    assert restored.wrote and cloud.deletes == 2  # refused with the stale hash, read again and sent again
    assert cloud.env(tenant_id) == {"FEATURE_FLAGS": "beta"} and restored.after == TenantEnv(
        cloud.tenants[tenant_id].hash, {"FEATURE_FLAGS": "beta"})


def test_the_record_keeps_the_first_write_forgets_what_is_no_longer_owned_and_knows_nothing_of_older_stacks():
    first = remembered({}, {"A": "stack", "B": "stack"}, TenantEnv("h1", {"A": "theirs"}))
    assert first == {"replaced": {"A": "theirs"}, "added": ["B"]}
    later = remembered({"owned": {"A": "stack", "B": "stack"}, **first}, {"A": "stack 2", "C": "stack"},
                       TenantEnv("h2", {"A": "stack", "B": "stack", "C": "theirs"}))
    assert later == {"replaced": {"A": "theirs", "C": "theirs"}, "added": []}  # A kept, B forgotten, C recorded
    # A stack deployed by a release that kept no record: what it owned then stays unknown, what it owns from now on
    # is recorded.
    upgraded = remembered({"owned": {"A": "stack"}}, {"A": "stack", "D": "stack"}, TenantEnv("h3", {"A": "stack"}))
    assert upgraded == {"replaced": {}, "added": ["D"]}


def test_destroy_of_a_stack_without_a_record_or_whose_project_is_gone_changes_nothing(cloud):
    tenant_id, props = deployed_props(cloud, {JWT_SECRET_ENV: HAND_SET_JWT_SECRET})
    deployed = cloud.env(tenant_id)
    requests = sum(cloud.requests.values())
    HasuraCloudEnvProvider().delete(tenant_id, {key: value for key, value in props.items()
                                                if key not in ("replaced", "added")})
    assert cloud.env(tenant_id) == deployed and sum(cloud.requests.values()) == requests  # not even a read
    del cloud.tenants[tenant_id]
    HasuraCloudEnvProvider().delete(tenant_id, props)  # no error: nothing left to put back
    assert cloud.writes == 1 and cloud.deletes == 0


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


def cloud_answering(monkeypatch: pytest.MonkeyPatch, answer: httpx.Response) -> HasuraCloudClient:
    client = HasuraCloudClient("cloud-pat-value", "https://data.pro.hasura.test/v1/graphql")
    monkeypatch.setattr(client, "_http", httpx.Client(transport=httpx.MockTransport(lambda request: answer)))
    return client


PROJECT_ID = "7a79cf94-0e53-4520-a560-1b02bf522f08"
SET_TOKEN = "`clerk-hasura pulumi --stack <stack> config set --secret hasuraCloudToken` (it asks for the value)"


@pytest.mark.parametrize(("answer", "failure", "fix"), [
    (httpx.Response(200, json={"errors": [{"message": "field 'getTenantEnv' not found in type: 'query_root'"}]}),
     HasuraCloudTokenRefused,
     "Fix: make one in the Cloud dashboard (https://cloud.hasura.io, My Account, Access Tokens) with an account that "
     f"has access to the project, and store it: {SET_TOKEN} (or {SECRET_ENV_VARS['hasuraCloudToken']} in CI)"),
    (httpx.Response(403, json={"errors": [{"message": "forbidden"}]}), HasuraCloudTokenRefused, SET_TOKEN),
    (httpx.Response(200, json={"errors": [{"message": "you are not allowed to update env vars of this project"}]}),
     PlatformError, "Fix: if it says the token may not do this, use a token of an account that may change the "
                    f"project's env vars (its owner, or a collaborator given that right): {SET_TOKEN}"),
    (httpx.Response(503, text="service unavailable"), PlatformError,
     "answered HTTP 503, a failure on the platform's side. Fix: run the deploy again in a few minutes"),
])
def test_each_failure_of_the_cloud_api_names_its_fix(answer, failure, fix, monkeypatch):
    with cloud_answering(monkeypatch, answer) as client, pytest.raises(failure) as failed:
        client.get_env(PROJECT_ID)
    assert fix in str(failed.value) and "cloud-pat-value" not in str(failed.value)


def test_a_project_the_token_does_not_see_names_the_project_id_setting(cloud):
    with HasuraCloudClient(cloud.token, cloud.url) as client, pytest.raises(PlatformError) as failed:
        client.tenant_of_project(PROJECT_ID)
    assert str(failed.value).startswith(f"hasuraCloud.projectId: Hasura Cloud has no project {PROJECT_ID}")
    assert "Fix: copy the Project ID from the project's settings (General)" in str(failed.value)


def test_an_unreachable_cloud_api_says_to_check_the_network_and_run_again():
    with HasuraCloudClient("t", "http://127.0.0.1:9/v1/graphql") as client, \
            pytest.raises(PlatformError, match=r"did not answer \(ConnectError\). Fix: check the network and run "
                                               r"the deploy again"):
        client.get_env(PROJECT_ID)
