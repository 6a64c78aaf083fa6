"""The Hasura double counts requests and injects faults on demand (test/benchmark instrumentation)."""

from __future__ import annotations

import httpx
import pytest

from tests.doubles.hasura.testing import USERS_DDL, hasura_token, http, users_metadata


def admin_post(double, path: str, body: dict) -> httpx.Response:
    return http.post(f"{double.url}{path}", json=body, headers={"X-Hasura-Admin-Secret": double.admin_secret})


def test_requests_are_counted_by_endpoint_and_operation(hasura_double):
    admin_post(hasura_double, "/v2/query", {"type": "run_sql", "args": {"sql": USERS_DDL}})
    admin_post(hasura_double, "/v1/metadata", {"type": "export_metadata", "version": 2, "args": {}})
    admin_post(hasura_double, "/v1/metadata", {"type": "replace_metadata", "args": {"metadata": users_metadata()}})
    admin_post(hasura_double, "/v2/query", {"type": "run_sql", "args": {"sql": "select 1", "read_only": True}})
    token = hasura_token(hasura_double.jwt_key)
    for query in ("{ users { id } }", "query Q { __typename }", 'mutation { update_users(where: {}) { affected_rows } }'):
        http.post(f"{hasura_double.url}/v1/graphql", json={"query": query},
                   headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    http.get(f"{hasura_double.url}/healthz")
    assert hasura_double.requests == {
        ("/v2/query", "run_sql"): 2,
        ("/v1/metadata", "export_metadata"): 1,
        ("/v1/metadata", "replace_metadata"): 1,
        ("/v1/graphql", "query"): 2,
        ("/v1/graphql", "mutation"): 1,
        ("/healthz", None): 1,
    }
    assert hasura_double.count("/v1/metadata") == 2
    assert hasura_double.writes() == 2  # the DDL run_sql and replace_metadata; reads don't count
    hasura_double.reset_counts()
    assert hasura_double.requests == {} and hasura_double.writes() == 0


def test_bulk_counts_as_a_write_only_when_a_child_writes(hasura_double):
    admin_post(hasura_double, "/v1/metadata", {"type": "bulk", "args": [{"type": "export_metadata", "args": {}}]})
    assert hasura_double.writes() == 0
    admin_post(hasura_double, "/v1/metadata", {"type": "bulk", "args": [{"type": "reload_metadata", "args": {}}]})
    assert hasura_double.writes() == 1


@pytest.mark.parametrize("status", ["500", "503"])
def test_fail_next_answers_5xx_then_recovers(hasura_double, status):
    hasura_double.fail_next(2, status)
    responses = [http.get(f"{hasura_double.url}/healthz") for _ in range(3)]
    assert [r.status_code for r in responses] == [int(status), int(status), 200]
    assert hasura_double.count("/healthz") == 3


def test_fail_next_drop_closes_the_connection_without_response(hasura_double):
    hasura_double.fail_next(1, "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(f"{hasura_double.url}/v1/version")
    assert http.get(f"{hasura_double.url}/v1/version").status_code == 200


def test_fail_next_can_target_one_endpoint(hasura_double):
    hasura_double.fail_next(1, "502", path="/v1/metadata")
    assert http.get(f"{hasura_double.url}/healthz").status_code == 200
    assert admin_post(hasura_double, "/v1/metadata", {"type": "export_metadata", "args": {}}).status_code == 502
    assert admin_post(hasura_double, "/v1/metadata", {"type": "export_metadata", "args": {}}).status_code == 200


def test_slow_responses_time_out_a_client_with_a_short_timeout(hasura_double):
    hasura_double.slow(0.5)
    with pytest.raises(httpx.ReadTimeout):
        http.get(f"{hasura_double.url}/healthz", timeout=0.1)
    hasura_double.slow(0)
    assert http.get(f"{hasura_double.url}/healthz", timeout=5).status_code == 200


def test_stopped_double_refuses_connections_and_restart_serves_again(hasura_double):
    hasura_double.stop()
    with pytest.raises(httpx.ConnectError):
        http.get(f"{hasura_double.url}/healthz")
    hasura_double.start()
    assert http.get(f"{hasura_double.url}/healthz").text == "OK"


def test_invalid_fail_mode_is_rejected(hasura_double):
    with pytest.raises(ValueError, match="fail_next mode"):
        hasura_double.fail_next(1, "404")
