"""The Hasura double's schema sync: instances on one metadata database agree after a write on any of them, as
Hasura's replicas behind one Service do (Note [Schema Cache Sync], server/src-lib/Hasura/Server/SchemaUpdate.hs;
`HASURA_GRAPHQL_SCHEMA_SYNC_POLL_INTERVAL`, default 1000 ms, 0 off)."""

from __future__ import annotations

import json
import time

from tests.doubles.hasura.testing import USERS_DDL, hasura_token, http, users_metadata

KEY = "schema-sync-test-hs256-key-" + "s" * 24
JWT_SECRET = json.dumps({"type": "HS256", "key": KEY})


def admin(double, body: dict, path: str = "/v1/metadata"):
    return http.post(f"{double.url}{path}", json=body, headers={"X-Hasura-Admin-Secret": double.admin_secret})


def exported_version(double) -> int:
    return admin(double, {"type": "export_metadata", "version": 2, "args": {}}).json()["resource_version"]


def users_query(double) -> dict:
    token = hasura_token(KEY, user_id="user_alice")
    return http.post(f"{double.url}/v1/graphql", json={"query": "{ users { id } }"},
                     headers={"Authorization": f"Bearer {token}"}).json()


def wait_until(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "no schema sync within the timeout"
        time.sleep(0.1)
    return result


def test_a_metadata_write_on_one_instance_is_served_by_the_other_after_a_poll(hasura_double_factory,
                                                                               postgres_database_url):
    env = {"PG_DATABASE_URL": postgres_database_url, "HASURA_GRAPHQL_DATABASE_URL": postgres_database_url,
           "HASURA_GRAPHQL_SCHEMA_SYNC_POLL_INTERVAL": "200"}
    first = hasura_double_factory(jwt_secret=JWT_SECRET, env=env)
    second = hasura_double_factory(jwt_secret=JWT_SECRET, env=env)
    assert admin(first, {"type": "run_sql", "args": {"sql": USERS_DDL}}, "/v2/query").status_code == 200
    assert "errors" in users_query(second)  # not tracked yet

    replaced = admin(first, {"type": "replace_metadata", "version": 2, "args": {"metadata": users_metadata()}})
    assert replaced.status_code == 200, replaced.text
    version = exported_version(first)

    wait_until(lambda: exported_version(second) == version)
    # The table made by SQL on the first instance is introspected on the second too.
    assert users_query(second) == {"data": {"users": [{"id": 1}]}}  # alice sees her own row


def test_zero_turns_the_sync_off(hasura_double_factory, postgres_database_url):
    env = {"PG_DATABASE_URL": postgres_database_url, "HASURA_GRAPHQL_DATABASE_URL": postgres_database_url,
           "HASURA_GRAPHQL_SCHEMA_SYNC_POLL_INTERVAL": "0"}
    first = hasura_double_factory(jwt_secret=JWT_SECRET, env=env)
    second = hasura_double_factory(jwt_secret=JWT_SECRET, env=env)
    before = exported_version(second)
    assert admin(first, {"type": "run_sql", "args": {"sql": USERS_DDL}}, "/v2/query").status_code == 200
    assert admin(first, {"type": "replace_metadata", "version": 2,
                         "args": {"metadata": users_metadata()}}).status_code == 200
    time.sleep(1.5)
    assert exported_version(second) == before
