"""The Hasura double's actions and custom types (tests/doubles/hasura/actions.py): stored and exported as Hasura
does, refused where Hasura refuses, served as root fields of the roles allowed to call them, the handler called with
Hasura's payload and its answer or error passed on as Hasura passes it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.doubles.hasura.testing import http

CASE = Path(__file__).parents[2] / "data" / "cli_export" / "with_actions"
GREETING_KEY = "key-from-the-servers-env"


def actions_metadata() -> dict:
    return json.loads((CASE / "metadata.json").read_text())


@pytest.fixture
def double(hasura_double_factory, postgres_database_url, action_handler):
    double = hasura_double_factory(jwt_secret=None, env={
        "PG_DATABASE_URL": postgres_database_url, "GREETING_HANDLER_URL": action_handler.url,
        "GREETING_KEY": GREETING_KEY})
    assert replace(double, actions_metadata()).json()["is_consistent"] is True
    return double


def replace(double, metadata: dict):
    return http.post(f"{double.url}/v1/metadata", headers={"X-Hasura-Admin-Secret": double.admin_secret},
                     json={"type": "replace_metadata", "version": 2, "args": {"metadata": metadata}})


def graphql(double, query: str, role: str | None = "user", variables: dict | None = None, **headers) -> dict:
    sent = {"X-Hasura-Admin-Secret": double.admin_secret, **headers}
    if role is not None:
        sent |= {"X-Hasura-Role": role, "X-Hasura-User-Id": "user_alice"}
    response = http.post(f"{double.url}/v1/graphql", json={"query": query, "variables": variables}, headers=sent)
    assert response.status_code == 200  # every GraphQL error is HTTP 200 (hasura.md §1.2)
    return response.json()


GREET = 'mutation { createGreeting(input: {name: "Alice"}, tone: formal) { message tone } }'


def test_export_gives_back_the_servers_shape(double):
    exported = http.post(f"{double.url}/v1/metadata", headers={"X-Hasura-Admin-Secret": double.admin_secret},
                         json={"type": "export_metadata", "version": 2, "args": {}}).json()["metadata"]
    assert exported["actions"] == actions_metadata()["actions"]
    assert exported["custom_types"] == actions_metadata()["custom_types"]
    assert list(exported["custom_types"]) == ["input_objects", "objects", "scalars", "enums"]


def test_a_call_posts_hasuras_payload_and_returns_the_selected_answer(double, action_handler):
    action_handler.answers["/greet"] = (200, {"message": "Dear Alice", "tone": "formal", "sent_at": "now"})
    body = graphql(double, GREET, **{"X-Request-Id": "r-1"})
    assert body == {"data": {"createGreeting": {"message": "Dear Alice", "tone": "formal"}}}
    [(path, headers, payload)] = action_handler.calls
    assert path == "/greet"
    assert payload == {"action": {"name": "createGreeting"}, "input": {"input": {"name": "Alice"}, "tone": "formal"},
                       "session_variables": {"x-hasura-role": "user", "x-hasura-user-id": "user_alice"},
                       "request_query": GREET}
    # Configured headers from the server's env; client headers forwarded (forward_client_headers: true).
    assert headers["x-greeting-key"] == GREETING_KEY and headers["x-request-id"] == "r-1"
    assert headers["content-type"] == "application/json"


def test_a_role_without_permission_does_not_see_the_action_and_admin_does(double, action_handler):
    assert graphql(double, GREET, role="guest")["errors"][0]["message"] == "no mutations exist"
    assert graphql(double, "{ greetingCount }", role="guest")["errors"][0]["message"] == \
        "field 'greetingCount' not found in type: 'query_root'"
    action_handler.answers["/count"] = (200, 3)
    assert graphql(double, "{ greetingCount }", role=None) == {"data": {"greetingCount": 3}}
    assert action_handler.calls[-1][2]["session_variables"] == {"x-hasura-role": "admin"}


def test_handler_errors_come_back_as_hasura_returns_them(double, action_handler):
    action_handler.answers["/greet"] = (400, {"message": "name is taken", "code": "name-taken"})
    assert graphql(double, GREET)["errors"] == [
        {"extensions": {"path": "$", "code": "name-taken"}, "message": "name is taken"}]
    action_handler.answers["/greet"] = (422, {"message": "bad", "extensions": {"field": "name"}})
    assert graphql(double, GREET)["errors"] == [{"extensions": {"field": "name"}, "message": "bad"}]
    action_handler.answers["/greet"] = (500, {"oops": True})
    error = graphql(double, GREET)["errors"][0]
    assert (error["message"], error["extensions"]["code"], "internal" in error["extensions"]) == \
        ("internal error", "unexpected", False)  # details for admins only
    action_handler.answers["/greet"] = (200, {"tone": "warm"})
    assert graphql(double, GREET)["errors"][0]["message"] == \
        'field "message" expected in webhook response, but not found'


def test_a_configured_header_is_kept_as_hasura_parses_it_name_first_whatever_order_it_was_sent_in(double):
    metadata = actions_metadata()
    [header] = metadata["actions"][0]["definition"]["headers"]
    metadata["actions"][0]["definition"]["headers"] = [dict(reversed(list(header.items())))]
    assert replace(double, metadata).json()["is_consistent"] is True
    exported = http.post(f"{double.url}/v1/metadata", headers={"X-Hasura-Admin-Secret": double.admin_secret},
                         json={"type": "export_metadata", "version": 2, "args": {}}).json()["metadata"]
    [kept] = next(a for a in exported["actions"] if a["name"] == "createGreeting")["definition"]["headers"]
    assert list(kept.items()) == [("name", "X-Greeting-Key"), ("value_from_env", "GREETING_KEY")]


@pytest.mark.parametrize("change, code, message", [
    (lambda m: m["actions"][0]["definition"].update(kind="asynchronous"), "not-supported",
     "asynchronous actions are not supported by the Hasura test double"),
    (lambda m: m["actions"][0]["definition"].update(request_transform={"method": "GET"}), "not-supported",
     "action request/response transforms are not supported by the Hasura test double"),
    (lambda m: m["custom_types"]["objects"][0].update(relationships=[{"name": "u"}]), "not-supported",
     "relationships of custom object types are not supported by the Hasura test double"),
    (lambda m: m["actions"][0]["definition"].update(kind="sometimes"), "parse-failed",
     'unexpected action kind "sometimes"'),
    (lambda m: m["actions"][0]["definition"].pop("handler"), "parse-failed", 'key "handler" not found'),
    (lambda m: m["actions"][0]["definition"]["headers"][0].update(value="v"), "parse-failed",
     "expecting only one of value or value_from_env keys"),
    (lambda m: m["actions"][0]["definition"]["headers"][0].pop("value_from_env"), "parse-failed",
     "expecting value or value_from_env keys"),
])
def test_what_the_double_does_not_reproduce_or_hasura_cannot_parse_is_refused(double, change, code, message):
    metadata = actions_metadata()
    change(metadata)
    body = replace(double, metadata).json()
    assert (body["code"], body["error"]) == (code, message)


@pytest.mark.parametrize("change, name, reason", [
    (lambda m: m["actions"][0]["definition"].update(output_type="Greting"), "action createGreeting",
     'in action "createGreeting": the type: "Greting" is not an object or scalar type defined in custom types'),
    (lambda m: m["actions"][0]["definition"]["arguments"].append({"name": "g", "type": "Greeting"}),
     "action createGreeting", 'in action "createGreeting": the type: "Greeting" is not defined in custom types or '
                              "it is not a scalar/enum/input_object"),
    (lambda m: m["custom_types"]["objects"][0]["fields"].append({"name": "x", "type": "Nope"}), "custom_types",
     'validation for the given custom types failed because the type "Nope" for field "x" in  object type '
     '"Greeting" does not exist'),
])
def test_inconsistent_actions_and_custom_types_are_refused_as_hasura_refuses_them(double, change, name, reason):
    metadata = actions_metadata()
    change(metadata)
    body = replace(double, metadata).json()
    assert body["error"] == "cannot continue due to inconsistent metadata"
    assert [(o["name"], o["reason"]) for o in body["internal"]] == [(name, f"Inconsistent object: {reason}")]


def test_a_handler_whose_env_variable_is_unset_makes_the_action_inconsistent(double):
    metadata = copy.deepcopy(actions_metadata())
    metadata["actions"][1]["definition"]["handler"] = "{{UNSET_HANDLER_URL}}/count"
    body = replace(double, metadata).json()
    assert [o["name"] for o in body["internal"]] == ["action greetingCount"]
