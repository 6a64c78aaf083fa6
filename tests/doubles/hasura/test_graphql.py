"""The Hasura double's GraphQL subset under role permissions (hasura.md §1.9, §4.3, §4.5)."""

from __future__ import annotations

import pytest

from tests.doubles.hasura.testing import USERS_DDL, hasura_token, http, users_metadata


@pytest.fixture
def double(hasura_double):
    admin = {"X-Hasura-Admin-Secret": hasura_double.admin_secret}
    assert http.post(f"{hasura_double.url}/v2/query", headers=admin,
                      json={"type": "run_sql", "args": {"sql": USERS_DDL}}).status_code == 200  # fmt: skip
    response = http.post(f"{hasura_double.url}/v1/metadata", headers=admin,
                          json={"type": "replace_metadata", "version": 2, "args": {"metadata": users_metadata()}})  # fmt: skip
    assert response.json()["is_consistent"] is True
    return hasura_double


def run(double, query: str, *, user: str | None = "user_alice", headers: dict | None = None, variables=None) -> dict:
    if headers is None:
        headers = {"Authorization": f"Bearer {hasura_token(double.jwt_key, user_id=user)}"}
    response = http.post(f"{double.url}/v1/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200
    return response.json()


def admin_as(double, role: str, user_id: str | None = None) -> dict[str, str]:
    headers = {"X-Hasura-Admin-Secret": double.admin_secret, "X-Hasura-Role": role}
    if user_id is not None:
        headers["X-Hasura-User-Id"] = user_id
    return headers


def first_error(body: dict) -> tuple[str, str]:
    error = body["errors"][0]
    return error["extensions"]["code"], error["message"]


def test_user_sees_only_own_row(double):
    assert run(double, "{ users { clerk_user_id email } }") == {
        "data": {"users": [{"clerk_user_id": "user_alice", "email": "alice@example.com"}]}
    }
    assert run(double, "{ users(where: {clerk_user_id: {_eq: \"user_bob\"}}) { id } }") == {"data": {"users": []}}
    assert run(double, "{ users_by_pk(id: 2) { id } }") == {"data": {"users_by_pk": None}}


def test_user_updates_only_own_row(double):
    body = run(double, 'mutation { update_users(where: {}, _set: {email: "new@example.com"}) '
                       "{ affected_rows returning { clerk_user_id email } } }")  # fmt: skip
    assert body == {"data": {"update_users": {"affected_rows": 1, "returning": [
        {"clerk_user_id": "user_alice", "email": "new@example.com"}]}}}  # fmt: skip
    other = run(double, 'mutation { update_users_by_pk(pk_columns: {id: 2}, _set: {email: "x"}) { id } }')
    assert other == {"data": {"update_users_by_pk": None}}
    admin = run(double, "{ users(order_by: {id: asc}) { email } }", headers={"X-Hasura-Admin-Secret": double.admin_secret})
    assert admin == {"data": {"users": [{"email": "new@example.com"}, {"email": "bob@example.com"}]}}


def test_ownership_column_is_not_updatable(double):
    body = run(double, 'mutation { update_users(where: {}, _set: {clerk_user_id: "user_bob"}) { affected_rows } }')
    assert first_error(body) == ("validation-failed", "field 'clerk_user_id' not found in type: 'users_set_input'")


def test_unpermitted_column_and_untracked_field_are_validation_errors(double):
    body = run(double, "{ users { secret_note } }")
    assert body["errors"][0]["extensions"] == {
        "path": "$.selectionSet.users.selectionSet.secret_note", "code": "validation-failed"
    }  # fmt: skip
    assert body["errors"][0]["message"] == "field 'secret_note' not found in type: 'users'"
    assert first_error(run(double, "{ posts { id } }")) == (
        "validation-failed", "field 'posts' not found in type: 'query_root'"
    )  # fmt: skip


def test_role_without_permission_has_no_field(double):
    body = run(double, "{ users { id } }", headers=admin_as(double, "viewer"))
    assert first_error(body) == ("validation-failed", "field 'users' not found in type: 'query_root'")


def test_admin_secret_with_role_and_user_headers_runs_as_that_user(double):
    body = run(double, "{ users { clerk_user_id } }", headers=admin_as(double, "user", "user_bob"))
    assert body == {"data": {"users": [{"clerk_user_id": "user_bob"}]}}


def test_missing_session_variable_is_not_found(double):
    body = run(double, "{ users { id } }", headers=admin_as(double, "user"))
    assert first_error(body) == ("not-found", 'missing session variable: "x-hasura-user-id"')


def test_session_variables_are_bound_not_pasted(double):
    hostile = "user_alice' or '1'='1"
    body = run(double, "{ users { id } }", headers=admin_as(double, "user", hostile))
    assert body == {"data": {"users": []}}


def test_insert_applies_presets_and_returns_row(double):
    body = run(double, 'mutation { insert_users_one(object: {email: "c@example.com"}) { clerk_user_id email } }',
               user="user_carol")  # fmt: skip
    assert body == {"data": {"insert_users_one": {"clerk_user_id": "user_carol", "email": "c@example.com"}}}
    preset_column = run(double, 'mutation { insert_users_one(object: {clerk_user_id: "x"}) { id } }')
    assert first_error(preset_column)[0] == "validation-failed"


def test_insert_duplicate_is_constraint_violation(double):
    body = run(double, 'mutation { insert_users_one(object: {email: "again"}) { id } }')
    code, message = first_error(body)
    assert code == "constraint-violation"
    assert message.startswith("Uniqueness violation. duplicate key value violates unique constraint")


def test_update_check_failure_is_permission_error(hasura_double):
    admin = {"X-Hasura-Admin-Secret": hasura_double.admin_secret}
    http.post(f"{hasura_double.url}/v2/query", headers=admin, json={"type": "run_sql", "args": {"sql": USERS_DDL}})
    metadata = users_metadata()
    update = metadata["sources"][0]["tables"][0]["update_permissions"][0]["permission"]
    update["columns"] = ["email", "clerk_user_id"]
    http.post(f"{hasura_double.url}/v1/metadata", headers=admin,
               json={"type": "replace_metadata", "args": {"metadata": metadata}})  # fmt: skip
    body = run(hasura_double, 'mutation { update_users(where: {}, _set: {clerk_user_id: "user_bob2"}) { affected_rows } }')
    assert first_error(body) == ("permission-error", "check constraint of an insert/update permission has failed")
    assert run(hasura_double, "{ users { clerk_user_id } }") == {"data": {"users": [{"clerk_user_id": "user_alice"}]}}


def test_where_operators_order_limit_as_admin(double):
    admin = {"X-Hasura-Admin-Secret": double.admin_secret}
    query = """query ($ids: [Int!]) {
      a: users(where: {_or: [{id: {_in: $ids}}, {email: {_like: "%bob%"}}]}, order_by: [{id: desc}], limit: 1) { id }
      b: users(where: {_not: {id: {_eq: 1}}}) { id }
      c: users(where: {_and: [{id: {_gt: 0}}, {id: {_lt: 2}}, {email: {_is_null: false}}]}) { id }
    }"""
    body = run(double, query, headers=admin, variables={"ids": [1]})
    assert body == {"data": {"a": [{"id": 2}], "b": [{"id": 2}], "c": [{"id": 1}]}}


def test_typename_and_schema_introspection(double):
    assert run(double, "{ __typename }") == {"data": {"__typename": "query_root"}}
    names = {t["name"] for t in run(double, "{ __schema { types { name } } }")["data"]["__schema"]["types"]}
    assert {"query_root", "mutation_root", "users", "users_bool_exp", "users_set_input"} <= names
    viewer = run(double, "{ __schema { types { name } } }", headers=admin_as(double, "viewer"))
    viewer_names = {t["name"] for t in viewer["data"]["__schema"]["types"]}
    assert "users" not in viewer_names and "query_root" in viewer_names


def test_syntax_error_and_unknown_argument(double):
    assert first_error(run(double, "{ users { id }")) == ("validation-failed", "not a valid graphql query")
    assert first_error(run(double, "{ users(bogus: 1) { id } }")) == (
        "validation-failed", "'users' has no argument named 'bogus'"
    )  # fmt: skip


def test_mutation_errors_roll_back_the_whole_request(double):
    body = run(double, 'mutation { a: update_users(where: {}, _set: {email: "changed"}) { affected_rows } '
                       'b: insert_users_one(object: {email: "dup"}) { id } }')  # fmt: skip
    assert first_error(body)[0] == "constraint-violation"
    assert run(double, "{ users { email } }") == {"data": {"users": [{"email": "alice@example.com"}]}}


def test_non_public_schema_tables_are_prefixed(hasura_double):
    admin = {"X-Hasura-Admin-Secret": hasura_double.admin_secret}
    http.post(f"{hasura_double.url}/v2/query", headers=admin, json={"type": "run_sql", "args": {
        "sql": "create schema app; create table app.notes (id int primary key, body text); "
               "insert into app.notes values (1, 'hi')"}})  # fmt: skip
    http.post(f"{hasura_double.url}/v1/metadata", headers=admin,
              json={"type": "pg_track_table", "args": {"table": {"schema": "app", "name": "notes"}}})  # fmt: skip
    body = run(hasura_double, "{ app_notes { body } app_notes_by_pk(id: 1) { id } }", headers=admin)
    assert body == {"data": {"app_notes": [{"body": "hi"}], "app_notes_by_pk": {"id": 1}}}


def test_insert_check_failure_is_permission_error(hasura_double):
    admin = {"X-Hasura-Admin-Secret": hasura_double.admin_secret}
    http.post(f"{hasura_double.url}/v2/query", headers=admin, json={"type": "run_sql", "args": {"sql": USERS_DDL}})
    metadata = users_metadata()
    insert = metadata["sources"][0]["tables"][0]["insert_permissions"][0]["permission"]
    insert.update({"columns": ["email", "clerk_user_id"], "set": {}, "check": {"clerk_user_id": {"_eq": "X-Hasura-User-Id"}}})
    http.post(f"{hasura_double.url}/v1/metadata", headers=admin,
              json={"type": "replace_metadata", "args": {"metadata": metadata}})  # fmt: skip
    body = run(hasura_double, 'mutation { insert_users_one(object: {clerk_user_id: "user_mallory"}) { id } }')
    assert first_error(body) == ("permission-error", "check constraint of an insert/update permission has failed")
    own = run(hasura_double, 'mutation { insert_users_one(object: {clerk_user_id: "user_carol"}) { clerk_user_id } }',
              user="user_carol")  # fmt: skip
    assert own == {"data": {"insert_users_one": {"clerk_user_id": "user_carol"}}}


def test_limit_from_permission_caps_results(hasura_double):
    admin = {"X-Hasura-Admin-Secret": hasura_double.admin_secret}
    http.post(f"{hasura_double.url}/v2/query", headers=admin, json={"type": "run_sql", "args": {"sql": USERS_DDL}})
    metadata = users_metadata()
    select = metadata["sources"][0]["tables"][0]["select_permissions"][0]["permission"]
    select.update({"filter": {}, "limit": 1})
    http.post(f"{hasura_double.url}/v1/metadata", headers=admin,
              json={"type": "replace_metadata", "args": {"metadata": metadata}})  # fmt: skip
    assert len(run(hasura_double, "{ users(limit: 10) { id } }")["data"]["users"]) == 1


def test_missing_argument_and_variable_use_hasura_wording(double):
    body = run(double, "mutation { update_users(_set: {email: \"x\"}) { affected_rows } }")
    assert first_error(body) == ("validation-failed", "missing required field 'where'")
    body = run(double, "query ($id: Int!) { users_by_pk(id: $id) { id } }", variables={})
    assert first_error(body) == ("validation-failed", 'expecting a value for non-nullable variable: "id"')


# -- backend_only permissions, replayed from Hasura's own tests -------------------------------------------------------
# server/tests-py/queries/graphql_mutation/insert/permissions/backend_user_*.yaml and user_with_no_backend_privilege
# .yaml (TestGraphqlInsertPermission), with this repository's users table for theirs: a backend_only insert
# permission serves only requests with the admin secret (or no auth configured) AND
# `x-hasura-use-backend-only-permissions: true` (Hasura/Session.hs mkUserInfo, Note [Backend only permissions]).

INSERT_AS_BACKEND = 'mutation { insert_users(objects: [{clerk_user_id: "user_carol"}]) { affected_rows } }'


@pytest.fixture
def backend_double(double):
    admin = {"X-Hasura-Admin-Secret": double.admin_secret}
    response = http.post(f"{double.url}/v1/metadata", headers=admin, json={
        "type": "pg_create_insert_permission", "args": {"table": "users", "role": "backend_user", "permission": {
            "check": {}, "columns": ["clerk_user_id", "email"], "backend_only": True}}})
    assert response.json() == {"message": "success"}
    return double


def test_backend_only_insert_with_the_admin_secret_and_the_header_runs(backend_double):
    # backend_user_insert_pass.yaml
    headers = {**admin_as(backend_double, "backend_user"), "X-Hasura-Use-Backend-Only-Permissions": "true"}
    assert run(backend_double, INSERT_AS_BACKEND, headers=headers) == {
        "data": {"insert_users": {"affected_rows": 1}}}


def test_backend_only_insert_without_the_header_does_not_exist(backend_double):
    # backend_user_insert_fail.yaml: the role's only mutation is backend-only, so it has no mutations at all
    assert first_error(run(backend_double, INSERT_AS_BACKEND, headers=admin_as(backend_double, "backend_user"))) == (
        "validation-failed", "no mutations exist")
    false = {**admin_as(backend_double, "backend_user"), "X-Hasura-Use-Backend-Only-Permissions": "no"}
    assert first_error(run(backend_double, INSERT_AS_BACKEND, headers=false)) == (
        "validation-failed", "no mutations exist")


def test_backend_only_insert_with_a_token_is_never_used_even_with_the_header(backend_double):
    # backend_user_no_admin_secret_fail.yaml: a JWT request gets BOFADisallowed whatever the header says
    token = hasura_token(backend_double.jwt_key, roles=["backend_user"], default_role="backend_user")
    headers = {"Authorization": f"Bearer {token}", "X-Hasura-Use-Backend-Only-Permissions": "true"}
    assert first_error(run(backend_double, INSERT_AS_BACKEND, headers=headers)) == (
        "validation-failed", "no mutations exist")


def test_the_backend_only_header_must_be_a_boolean(backend_double):
    # backend_user_insert_invalid_bool.yaml
    headers = {**admin_as(backend_double, "backend_user"), "X-Hasura-Use-Backend-Only-Permissions": "random"}
    assert first_error(run(backend_double, INSERT_AS_BACKEND, headers=headers)) == (
        "bad-request", 'x-hasura-use-backend-only-permissions:  Not a valid boolean text. True values are '
                       '["true","t","yes","y"] and  False values are ["false","f","no","n"]. All values are case '
                       "insensitive")


def test_the_header_gives_no_insert_to_a_role_without_one(backend_double):
    # user_with_no_backend_privilege.yaml: a role with a mutation (an update) but no insert, asking as backend
    admin = {"X-Hasura-Admin-Secret": backend_double.admin_secret}
    assert http.post(f"{backend_double.url}/v1/metadata", headers=admin, json={
        "type": "pg_create_update_permission", "args": {"table": "users", "role": "auditor", "permission": {
            "columns": ["email"], "filter": {}}}}).json() == {"message": "success"}
    headers = {**admin_as(backend_double, "auditor"), "X-Hasura-Use-Backend-Only-Permissions": "true"}
    body = run(backend_double, INSERT_AS_BACKEND, headers=headers)
    assert body["errors"][0]["extensions"] == {"path": "$.selectionSet.insert_users", "code": "validation-failed"}
