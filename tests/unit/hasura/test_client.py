"""The Hasura client turns each documented error shape (hasura.md §1) into its own exception type."""

from __future__ import annotations

import json

import httpx
import pytest

from components.errors import ClerkHasuraError
from components.hasura.client import (
    HasuraAccessDenied,
    HasuraApiError,
    HasuraClient,
    HasuraConflict,
    HasuraInconsistentMetadata,
    HasuraUnreachable,
)

SECRET = "s3cret-admin-value"


def client_for(handler, **kwargs) -> HasuraClient:
    kwargs.setdefault("retry_seconds", 1.0)
    return HasuraClient("http://hasura.test:8080/", SECRET, transport=httpx.MockTransport(handler), **kwargs)


def answer(status: int, body) -> callable:
    return lambda request: httpx.Response(status, json=body)


def test_wrong_admin_secret_is_access_denied_and_never_echoes_the_secret():
    client = client_for(answer(401, {"path": "$", "error": "invalid x-hasura-admin-secret/x-hasura-access-key",
                                     "code": "access-denied"}))
    with pytest.raises(HasuraAccessDenied) as caught:
        client.export_metadata()
    assert "admin secret" in str(caught.value) and "hasuraAdminSecret" in str(caught.value)
    assert SECRET not in str(caught.value) and SECRET not in repr(client)
    assert isinstance(caught.value, ClerkHasuraError)


def test_the_admin_secret_fix_names_the_variable_the_commands_read_and_the_command_that_sets_it():
    from components.cli.stack import ENV_ADMIN_SECRET

    client = client_for(answer(401, {"path": "$", "error": "invalid x-hasura-admin-secret/x-hasura-access-key",
                                     "code": "access-denied"}))
    with pytest.raises(HasuraAccessDenied) as caught:
        client.export_metadata()
    assert f"or {ENV_ADMIN_SECRET} in the environment" in str(caught.value)
    assert "`clerk-hasura pulumi --stack <stack> config set --secret hasuraAdminSecret`" in str(caught.value)


def test_unreachable_names_what_the_caller_says_to_look_at_and_otherwise_no_platform():
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    hint = "`docker logs clerk-hasura-dev-hasura`"
    with pytest.raises(HasuraUnreachable) as caught:
        client_for(refused, retry_seconds=0, health_hint=hint).export_metadata()
    assert f"Fix: check that Hasura is running and healthy ({hint}) and that the Hasura URL is right" \
        in str(caught.value)
    with pytest.raises(HasuraUnreachable) as caught:
        client_for(refused, retry_seconds=0).export_metadata()
    assert "(Hasura's logs, where the stack's target runs it)" in str(caught.value)
    assert "docker" not in str(caught.value)


def test_non_admin_on_metadata_api_is_access_denied():
    client = client_for(answer(400, {"path": "$.args", "error": "restricted access : admin only",
                                     "code": "access-denied"}))
    with pytest.raises(HasuraAccessDenied, match="admin only"):
        client.get_inconsistent_metadata()


def test_stale_resource_version_is_a_conflict_naming_the_fix():
    client = client_for(answer(409, {"path": "$", "code": "conflict",
                                     "error": "metadata resource version referenced (2) did not match current version"}))
    with pytest.raises(HasuraConflict, match="did not match current version.*nothing was overwritten"):
        client.replace_metadata({"version": 3, "sources": []}, resource_version=2)


def test_inconsistent_replace_lists_the_objects():
    objects = [{"definition": {"schema": "public", "name": "users"}, "name": "table public.users in source default",
                "reason": "Inconsistent object: no such table/view exists in source: \"public.users\"",
                "type": "table"}]
    client = client_for(answer(400, {"internal": objects, "path": "$.args", "code": "unexpected",
                                     "error": "cannot continue due to inconsistent metadata"}))
    with pytest.raises(HasuraInconsistentMetadata) as caught:
        client.replace_metadata({"version": 3, "sources": []}, resource_version=1)
    assert caught.value.objects == objects
    assert "table public.users in source default: Inconsistent object" in str(caught.value)
    assert "nothing was changed" in str(caught.value)


def test_other_errors_keep_code_and_path():
    client = client_for(answer(400, {"path": "$.args", "code": "already-tracked",
                                     "error": "view/table already tracked: \"users\""}))
    with pytest.raises(HasuraApiError) as caught:
        client.metadata("pg_track_table", {"table": "users"})
    assert (caught.value.code, caught.value.path, caught.value.status) == ("already-tracked", "$.args", 400)


def test_replace_sends_resource_version_at_top_level_and_disallows_inconsistency():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((dict(request.headers), json.loads(request.content)))
        return httpx.Response(200, json={"is_consistent": True, "inconsistent_objects": []})

    client_for(handler).replace_metadata({"version": 3, "sources": []}, resource_version=7)
    headers, body = seen[0]
    assert headers["x-hasura-admin-secret"] == SECRET
    assert body == {"type": "replace_metadata", "version": 2, "resource_version": 7,
                    "args": {"allow_inconsistent_metadata": False, "metadata": {"version": 3, "sources": []}}}


def test_connection_errors_are_retried_until_hasura_answers():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) < 3:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(200, text="OK")

    assert client_for(handler, retry_seconds=5).healthz() == "OK"
    assert len(calls) == 3


def test_5xx_on_reads_is_retried_but_bounded():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, text="starting")

    with pytest.raises(HasuraUnreachable, match="not reachable or not healthy.*Fix") as caught:
        client_for(handler, retry_seconds=0.5).export_metadata()
    assert not caught.value.outcome_unknown
    assert 2 <= len(calls) < 10


def test_a_write_whose_answer_was_lost_is_not_resent_and_says_so():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    with pytest.raises(HasuraUnreachable, match="may or may not have been applied") as caught:
        client_for(handler, retry_seconds=5).replace_metadata({"version": 3}, resource_version=1)
    assert caught.value.outcome_unknown and len(calls) == 1


def test_a_write_that_never_reached_hasura_is_retried():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(200, json={"result_type": "CommandOk", "result": None})

    assert client_for(handler, retry_seconds=5).run_sql("create table t ()").result_type == "CommandOk"
    assert len(calls) == 2


def test_run_sql_rows_become_records():
    client = client_for(answer(200, {"result_type": "TuplesOk", "result": [["id", "name"], ["user_1", "Ann"]]}))
    assert client.run_sql("select id, name from users", read_only=True).records() == [{"id": "user_1", "name": "Ann"}]


def test_graphql_errors_come_back_as_data_and_admin_secret_can_be_left_out():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.headers))
        return httpx.Response(200, json={"errors": [{"extensions": {"path": "$", "code": "invalid-headers"},
                                                     "message": "Missing 'Authorization' or 'Cookie' header"}]})

    body = client_for(handler).graphql("{ __typename }", headers={"X-Hasura-Role": "user"}, as_admin=False)
    assert body["errors"][0]["extensions"]["code"] == "invalid-headers"
    assert "x-hasura-admin-secret" not in seen[0] and seen[0]["x-hasura-role"] == "user"


def test_non_json_answer_names_the_likely_cause():
    client = client_for(lambda request: httpx.Response(200, text="<html>proxy</html>"))
    with pytest.raises(HasuraApiError, match="not JSON.*points at Hasura"):
        client.version()


def test_postgres_errors_from_run_sql_carry_postgres_message():
    client = client_for(answer(400, {"code": "postgres-error", "error": "query execution failed", "path": "$",
                                     "internal": {"error": {"message": "relation \"users\" already exists",
                                                            "status_code": "42P07", "hint": None}}}))
    with pytest.raises(HasuraApiError, match=r'query execution failed: relation "users" already exists '
                                             r"\(SQLSTATE 42P07\)") as caught:
        client.run_sql("create table users ()")
    assert caught.value.code == "postgres-error"


def test_a_disabled_config_api_is_an_api_error_with_code_not_found():
    client = client_for(answer(404, {"path": "$", "error": "resource does not exist", "code": "not-found"}))
    with pytest.raises(HasuraApiError) as caught:
        client.server_config()
    assert caught.value.code == "not-found" and caught.value.status == 404


def test_catalog_state_is_read_and_written_whole_and_a_lost_write_answer_is_retried():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        if body["type"] == "get_catalog_state":
            return httpx.Response(200, json={"id": "9c5e1f1e-6a3b-4f61-9d9a-2f0f3b7c8e11", "cli_state": {
                "isStateCopyCompleted": True}, "console_state": {"onboardingShown": True}})
        if len(seen) == 2:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, json={"message": "success"})

    client = client_for(handler, retry_seconds=5)
    state = client.get_catalog_state()
    assert (state.cli_state, state.console_state) == ({"isStateCopyCompleted": True}, {"onboardingShown": True})
    client.set_catalog_state("cli", {"migrations": {}})  # writing the same whole state twice is the same state
    assert seen[1:] == [{"type": "set_catalog_state", "args": {"type": "cli", "state": {"migrations": {}}}}] * 2


def test_a_catalog_state_that_is_not_an_object_is_named():
    client = client_for(answer(200, {"id": "x", "cli_state": ["not", "an", "object"], "console_state": {}}))
    with pytest.raises(HasuraApiError, match="cli_state that is not a JSON object.*Fix"):
        client.get_catalog_state()
