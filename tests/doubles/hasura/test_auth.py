"""The Hasura double authenticates like Hasura v2 (hasura.md §1.2, §4.1, §4.3, §4.4)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from joserfc.jwk import ECKey, OKPKey, RSAKey

from tests.doubles.hasura import StartupError
from tests.doubles.hasura.jwks import jwk_expiry_lifetime
from tests.doubles.hasura.jwt_config import parse_json_path
from tests.doubles.hasura.testing import HASURA_NAMESPACE, USERS_DDL, JwksServer, hasura_token, http, rsa_key, sign

QUERY = {"query": "{ __typename }"}


def graphql(double, headers: dict[str, str], body: dict | None = None) -> httpx.Response:
    return http.post(f"{double.url}/v1/graphql", json=body or QUERY, headers=headers)


def error_of(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 200, response.text
    error = response.json()["errors"][0]
    return error["extensions"]["code"], error["message"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- admin secret (§1.2) --------------------------------------------------------------------------------------


def test_wrong_admin_secret_is_401_access_denied_on_metadata_api(hasura_double):
    response = http.post(
        f"{hasura_double.url}/v1/metadata",
        json={"type": "export_metadata", "args": {}},
        headers={"X-Hasura-Admin-Secret": "wrong"},
    )
    assert response.status_code == 401
    assert response.json() == {
        "path": "$", "error": "invalid x-hasura-admin-secret/x-hasura-access-key", "code": "access-denied"
    }  # fmt: skip


def test_wrong_admin_secret_on_graphql_is_http_200_with_error(hasura_double):
    code, message = error_of(graphql(hasura_double, {"X-Hasura-Admin-Secret": "wrong"}))
    assert (code, message) == ("access-denied", "invalid x-hasura-admin-secret/x-hasura-access-key")


def test_legacy_access_key_header_is_accepted(hasura_double):
    response = graphql(hasura_double, {"X-Hasura-Access-Key": hasura_double.admin_secret})
    assert response.json() == {"data": {"__typename": "query_root"}}


def test_non_admin_role_on_metadata_api_is_400_admin_only(hasura_double):
    response = http.post(
        f"{hasura_double.url}/v1/metadata",
        json={"type": "export_metadata", "args": {}},
        headers={"X-Hasura-Admin-Secret": hasura_double.admin_secret, "X-Hasura-Role": "user"},
    )
    assert response.status_code == 400
    assert response.json() == {"path": "$.args", "error": "restricted access : admin only", "code": "access-denied"}


def test_jwt_user_on_schema_api_is_400_admin_only(hasura_double):
    response = http.post(
        f"{hasura_double.url}/v2/query",
        json={"type": "run_sql", "args": {"sql": "select 1"}},
        headers=bearer(hasura_token(hasura_double.jwt_key)),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "access-denied"


def test_admin_secret_only_mode_without_secret_is_401(hasura_double_factory):
    double = hasura_double_factory(jwt_secret=None)
    response = http.post(f"{double.url}/v1/metadata", json={"type": "export_metadata", "args": {}})
    assert response.status_code == 401
    assert response.json()["error"] == "x-hasura-admin-secret/x-hasura-access-key required, but not found"


# -- JWT mode headers (§4.1, §4.3) ----------------------------------------------------------------------------


def test_no_authorization_in_jwt_mode_is_invalid_headers(hasura_double):
    code, message = error_of(graphql(hasura_double, {}))
    assert code == "invalid-headers"
    assert message == "Missing 'Authorization' or 'Cookie' header in JWT authentication mode"


@pytest.mark.parametrize("value", ["bearer abc.def.ghi", "Bearer", "Bearer a b", "Token abc"])
def test_authorization_not_two_words_bearer_is_malformed(hasura_double, value):
    assert error_of(graphql(hasura_double, {"Authorization": value})) == (
        "invalid-headers", "Malformed Authorization header"
    )  # fmt: skip


def test_not_a_compact_jwt_is_compact_decode_error(hasura_double):
    assert error_of(graphql(hasura_double, bearer("undefined"))) == (
        "invalid-jwt",
        "Could not verify JWT: JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)",
    )


def test_unauthorized_role_runs_requests_without_credentials(hasura_double_factory):
    double = hasura_double_factory(
        jwt_secret=json.dumps({"type": "HS256", "key": "k" * 32}), unauthorized_role="anonymous"
    )
    response = graphql(double, {}, {"query": "{ users { id } }"})
    assert error_of(response) == ("validation-failed", "field 'users' not found in type: 'query_root'")
    assert graphql(double, {}).json() == {"data": {"__typename": "query_root"}}


# -- token verification (§4.3) --------------------------------------------------------------------------------


def test_valid_token_is_accepted(hasura_double):
    assert graphql(hasura_double, bearer(hasura_token(hasura_double.jwt_key))).json() == {
        "data": {"__typename": "query_root"}
    }


def test_expired_token_is_jwt_expired(hasura_double):
    token = hasura_token(hasura_double.jwt_key, lifetime=-10)
    assert error_of(graphql(hasura_double, bearer(token))) == ("invalid-jwt", "Could not verify JWT: JWTExpired")


def test_allowed_skew_accepts_recently_expired_token(hasura_double_factory):
    key = "s" * 32
    double = hasura_double_factory(jwt_secret=json.dumps({"type": "HS256", "key": key, "allowed_skew": 60}))
    assert "data" in graphql(double, bearer(hasura_token(key, lifetime=-10))).json()


def test_wrong_signature_is_jws_invalid_signature(hasura_double):
    token = hasura_token("another-key-that-is-long-enough-000")
    assert error_of(graphql(hasura_double, bearer(token))) == (
        "invalid-jwt", "Could not verify JWT: JWSError JWSInvalidSignature"
    )  # fmt: skip


def test_token_algorithm_not_usable_with_key_is_no_usable_keys(hasura_double):
    token = hasura_token(rsa_key("k1"), alg="RS256")
    assert error_of(graphql(hasura_double, bearer(token))) == ("invalid-jwt", "Could not verify JWT: JWSError NoUsableKeys")


def test_issuer_and_audience_are_checked_when_configured(hasura_double_factory):
    key = "i" * 32
    double = hasura_double_factory(
        jwt_secret=json.dumps({"type": "HS256", "key": key, "issuer": "https://clerk.example", "audience": "app"})
    )
    wrong_issuer = hasura_token(key, iss="https://evil.example", aud="app")
    assert error_of(graphql(double, bearer(wrong_issuer))) == ("invalid-jwt", "Could not verify JWT: JWTNotInIssuer")
    wrong_audience = hasura_token(key, iss="https://clerk.example", aud="other")
    assert error_of(graphql(double, bearer(wrong_audience))) == (
        "invalid-jwt", "Could not verify JWT: JWTNotInAudience"
    )  # fmt: skip
    no_issuer = hasura_token(key, aud=["other", "app"])  # a token without iss matches a configured issuer
    assert "data" in graphql(double, bearer(no_issuer)).json()


def test_future_nbf_is_not_yet_valid(hasura_double):
    token = hasura_token(hasura_double.jwt_key, nbf=int(time.time()) + 600)
    assert error_of(graphql(hasura_double, bearer(token))) == ("invalid-jwt", "Could not verify JWT: JWTNotYetValid")


def test_future_iat_is_issued_at_future(hasura_double):
    token = hasura_token(hasura_double.jwt_key, iat=int(time.time()) + 600)
    assert error_of(graphql(hasura_double, bearer(token))) == (
        "invalid-jwt", "Could not verify JWT: JWTIssuedAtFuture"
    )  # fmt: skip


# -- claims (§4.1, §4.3) --------------------------------------------------------------------------------------


def test_missing_namespace_is_jwt_invalid_claims(hasura_double):
    token = hasura_token(hasura_double.jwt_key, namespace="https://elsewhere/claims")
    assert error_of(graphql(hasura_double, bearer(token))) == (
        "jwt-invalid-claims", "claims key: 'https://hasura.io/jwt/claims' not found"
    )  # fmt: skip


def test_namespace_that_is_not_an_object_is_jwt_invalid_claims(hasura_double):
    token = sign(hasura_double.jwt_key, {"exp": int(time.time()) + 60, HASURA_NAMESPACE: "x-hasura-role=user"})
    assert error_of(graphql(hasura_double, bearer(token))) == (
        "jwt-invalid-claims", "expecting a json object when claims_format is json"
    )  # fmt: skip


def test_missing_role_claims(hasura_double):
    key = hasura_double.jwt_key
    now = int(time.time())
    no_roles = sign(key, {"exp": now + 60, HASURA_NAMESPACE: {"x-hasura-default-role": "user"}})
    assert error_of(graphql(hasura_double, bearer(no_roles))) == (
        "jwt-missing-role-claims", "JWT claim does not contain x-hasura-allowed-roles"
    )  # fmt: skip
    no_default = sign(key, {"exp": now + 60, HASURA_NAMESPACE: {"x-hasura-allowed-roles": ["user"]}})
    assert error_of(graphql(hasura_double, bearer(no_default))) == (
        "jwt-missing-role-claims", "JWT claim does not contain x-hasura-default-role"
    )  # fmt: skip
    roles_string = sign(
        key, {"exp": now + 60, HASURA_NAMESPACE: {"x-hasura-allowed-roles": "user", "x-hasura-default-role": "user"}}
    )
    assert error_of(graphql(hasura_double, bearer(roles_string))) == (
        "jwt-invalid-claims",
        "invalid x-hasura-allowed-roles; should be a list of roles: parsing [] failed, "
        "expected Array, but encountered String",
    )


def test_requested_role_must_be_allowed(hasura_double):
    token = hasura_token(hasura_double.jwt_key, roles=["user"])
    response = graphql(hasura_double, {**bearer(token), "X-Hasura-Role": "admin"})
    assert error_of(response) == ("access-denied", "Your requested role is not in allowed roles")
    default_not_allowed = hasura_token(hasura_double.jwt_key, roles=["viewer"], default_role="user")
    assert error_of(graphql(hasura_double, bearer(default_not_allowed)))[0] == "access-denied"


def test_stringified_claims_and_namespace_path(hasura_double_factory):
    key = "p" * 32
    double = hasura_double_factory(
        jwt_secret=json.dumps({"type": "HS256", "key": key, "claims_namespace_path": "$.hasura.claims",
                               "claims_format": "stringified_json"})  # fmt: skip
    )
    claims = {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user"}
    good = sign(key, {"exp": int(time.time()) + 60, "hasura": {"claims": json.dumps(claims)}})
    assert "data" in graphql(double, bearer(good)).json()
    as_object = sign(key, {"exp": int(time.time()) + 60, "hasura": {"claims": claims}})
    assert error_of(graphql(double, bearer(as_object))) == (
        "jwt-invalid-claims", "expecting a string when claims_format is stringified_json"
    )  # fmt: skip
    missing = sign(key, {"exp": int(time.time()) + 60})
    assert error_of(graphql(double, bearer(missing))) == (
        "jwt-invalid-claims", "claims not found at claims_namespace_path: '$.hasura.claims'"
    )  # fmt: skip


def test_claims_map_with_paths_and_defaults(hasura_double_factory, postgres_database_url):
    key = "m" * 32
    claims_map = {
        "x-hasura-allowed-roles": ["user"],
        "x-hasura-default-role": "user",
        "x-hasura-user-id": {"path": "$.sub"},
        "x-hasura-org-id": {"path": "$.org", "default": "none"},
    }
    double = hasura_double_factory(
        jwt_secret=json.dumps({"type": "HS256", "key": key, "claims_map": claims_map}),
        env={"HASURA_GRAPHQL_DATABASE_URL": postgres_database_url},
    )
    admin = {"X-Hasura-Admin-Secret": double.admin_secret}
    http.post(f"{double.url}/v2/query", json={"type": "run_sql", "args": {"sql": USERS_DDL}}, headers=admin)
    http.post(f"{double.url}/v1/metadata", headers=admin, json={"type": "bulk", "args": [
        {"type": "pg_track_table", "args": {"table": "users"}},
        {"type": "pg_create_select_permission", "args": {"table": "users", "role": "user", "permission": {
            "columns": ["clerk_user_id"], "filter": {"clerk_user_id": {"_eq": "X-Hasura-User-Id"}}}}},
    ]})  # fmt: skip
    token = sign(key, {"sub": "user_bob", "exp": int(time.time()) + 60})
    response = graphql(double, bearer(token), {"query": "{ users { clerk_user_id } }"})
    assert response.json() == {"data": {"users": [{"clerk_user_id": "user_bob"}]}}


def test_cookie_and_custom_header_locations(hasura_double_factory):
    key = "c" * 32
    cookie = hasura_double_factory(
        jwt_secret=json.dumps({"type": "HS256", "key": key, "header": {"type": "Cookie", "name": "session"}})
    )
    token = hasura_token(key)
    assert "data" in graphql(cookie, {"Cookie": f"other=1; session={token}"}).json()
    custom = hasura_double_factory(
        jwt_secret=json.dumps({"type": "HS256", "key": key, "header": {"type": "CustomHeader", "name": "X-Token"}})
    )
    assert "data" in graphql(custom, {"X-Token": token}).json()
    assert error_of(graphql(custom, bearer(token)))[0] == "invalid-headers"


@pytest.mark.parametrize(
    ("key_type", "make_key", "alg"),
    [
        ("RS256", lambda: RSAKey.generate_key(2048), "RS256"),
        ("ES256", lambda: ECKey.generate_key("P-256"), "ES256"),
        ("Ed25519", lambda: OKPKey.generate_key("Ed25519"), "EdDSA"),
    ],
)
def test_public_key_configs(hasura_double_factory, key_type, make_key, alg):
    key = make_key()
    double = hasura_double_factory(jwt_secret=json.dumps({"type": key_type, "key": key.as_pem(private=False).decode()}))
    assert "data" in graphql(double, bearer(hasura_token(key, alg=alg))).json()
    other = make_key()
    assert error_of(graphql(double, bearer(hasura_token(other, alg=alg)))) == (
        "invalid-jwt", "Could not verify JWT: JWSError JWSInvalidSignature"
    )  # fmt: skip


def test_x509_certificate_as_key(hasura_double_factory):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = RSAKey.generate_key(2048)
    private = key.private_key
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(private, hashes.SHA256())
    )  # fmt: skip
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    double = hasura_double_factory(jwt_secret=json.dumps({"type": "RS256", "key": pem}))
    assert "data" in graphql(double, bearer(hasura_token(key, alg="RS256"))).json()


# -- startup failures (§3.2, §4.1, §4.4) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("{not json", "Failed reading"),
        ("{}", "key and jwk_url both cannot be empty"),
        ('{"type":"HS256","key":"' + "k" * 32 + '","jwk_url":"http://x"}', "key, jwk_url both cannot be present"),
        ('{"type":"HS999","key":"' + "k" * 32 + '"}', "Invalid JWK: Key type: HS999 is not supported"),
        ('{"type":"HS256","key":"short"}', "Key size too small"),
    ],
)
def test_bad_jwt_secret_is_fatal_at_start(hasura_double_factory, secret, reason):
    with pytest.raises(StartupError, match="HASURA_GRAPHQL_JWT_SECRET") as raised:
        hasura_double_factory(jwt_secret=secret)
    assert reason in str(raised.value)


def test_jwt_secret_requires_admin_secret(hasura_double_factory):
    with pytest.raises(StartupError, match="requires --admin-secret"):
        hasura_double_factory(jwt_secret=json.dumps({"type": "HS256", "key": "k" * 32}), admin_secret=None)


def test_unreachable_jwk_url_is_fatal_at_start(hasura_double_factory):
    with JwksServer([rsa_key("a")]) as jwks:
        url = jwks.url
    with pytest.raises(StartupError, match="Error fetching JWK"):
        hasura_double_factory(jwt_secret=json.dumps({"jwk_url": url}))


def test_jwk_url_non_2xx_is_fatal_at_start(hasura_double_factory):
    with JwksServer([rsa_key("a")]) as jwks:
        jwks.status = 503
        with pytest.raises(StartupError, match="Non-2xx response on fetching JWK from"):
            hasura_double_factory(jwt_secret=json.dumps({"jwk_url": jwks.url}))


# -- JWK refresh (§4.4) ---------------------------------------------------------------------------------------


def _wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_first_jwks_fetch_is_discarded_so_tokens_fail_until_the_refresher_loads_keys(hasura_double_factory):
    key = rsa_key("ins_1")
    with JwksServer([key]) as jwks:
        jwks.statuses, jwks.status = [200], 500  # startup fetch succeeds (and is discarded); refreshes fail
        double = hasura_double_factory(jwt_secret=json.dumps({"jwk_url": jwks.url}))
        token = hasura_token(key, alg="RS256", kid="ins_1")
        assert error_of(graphql(double, bearer(token))) == (
            "invalid-jwt", "Could not verify JWT: JWSError NoUsableKeys"
        )  # fmt: skip
        jwks.status = 200
        double.wait_for_jwks()
        assert "data" in graphql(double, bearer(token)).json()


def test_key_rotation_without_cache_headers_is_not_picked_up(hasura_double_factory):
    old, new = rsa_key("ins_old"), rsa_key("ins_new")
    with JwksServer([old]) as jwks:
        double = hasura_double_factory(jwt_secret=json.dumps({"jwk_url": jwks.url}))
        double.wait_for_jwks()
        fetches = double.jwks_fetches
        jwks.keys = [new]
        time.sleep(1.5)  # more than one refresher period; no expiry headers → never refetched
        assert double.jwks_fetches == fetches
        token = hasura_token(new, alg="RS256", kid="ins_new")
        assert error_of(graphql(double, bearer(token))) == ("invalid-jwt", "Could not verify JWT: JWSError NoUsableKeys")
        double.restart()  # only a restart picks up the new key (issue #5552)
        double.wait_for_jwks()
        assert "data" in graphql(double, bearer(token)).json()


def test_key_rotation_with_max_age_is_picked_up(hasura_double_factory):
    old, new = rsa_key("ins_old"), rsa_key("ins_new")
    with JwksServer([old], headers={"Cache-Control": "public, max-age=0"}) as jwks:
        double = hasura_double_factory(jwt_secret=json.dumps({"jwk_url": jwks.url}))
        double.wait_for_jwks()
        jwks.keys = [new]
        token = hasura_token(new, alg="RS256", kid="ins_new")
        _wait_until(lambda: "data" in graphql(double, bearer(token)).json())


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"cache-control": "max-age=300"}, 300.0),
        ({"cache-control": "public, s-maxage=60"}, 60.0),
        ({"cache-control": "no-cache"}, 0.0),
        ({"cache-control": "no-store, max-age=300"}, 0.0),
        ({"cache-control": "must-revalidate, max-age=30"}, 30.0),
        ({"cache-control": "must-revalidate"}, 0.0),
        ({"expires": "Thu, 01 Jan 2026 00:01:00 GMT"}, 60.0),
    ],
)
def test_jwk_expiry_from_response_headers(headers, expected):
    from email.utils import parsedate_to_datetime

    now = parsedate_to_datetime("Thu, 01 Jan 2026 00:00:00 GMT").timestamp()
    assert jwk_expiry_lifetime(headers, now=now) == expected


def test_unauthorized_role_in_admin_secret_only_mode(hasura_double_factory):
    double = hasura_double_factory(jwt_secret=None, unauthorized_role="anonymous")
    assert graphql(double, {}).json() == {"data": {"__typename": "query_root"}}
    metadata = http.post(f"{double.url}/v1/metadata", json={"type": "export_metadata", "args": {}})
    assert (metadata.status_code, metadata.json()["error"]) == (400, "restricted access : admin only")


# -- claims_map, replayed from Hasura's own tests (server/tests-py/test_jwt_claims_map.py) -------------------------
# That suite runs against a claims map whose paths use the bracket form, once with defaults for every claim and once
# without; each case below is one of its tests, with this repository's users table standing in for its articles.

MYAPP = "https://myapp.com/jwt/claims"


def _claims_map_config(quote: str, *, defaults: bool) -> dict:
    base = f"$.[{quote}{MYAPP}{quote}]"
    claims_map = {"x-hasura-user-id": {"path": f"{base}.user.id"},
                  "x-hasura-allowed-roles": {"path": f"{base}.role.allowed"},
                  "x-hasura-default-role": {"path": f"{base}.role.default"}}
    if defaults:
        claims_map["x-hasura-user-id"]["default"] = "user_alice"
        claims_map["x-hasura-allowed-roles"]["default"] = ["user", "editor"]
        claims_map["x-hasura-default-role"]["default"] = "user"
    return claims_map


def _double_with_claims_map(factory, database_url: str, claims_map: dict):
    key = "c" * 32
    double = factory(jwt_secret=json.dumps({"type": "HS256", "key": key, "claims_map": claims_map}),
                     env={"HASURA_GRAPHQL_DATABASE_URL": database_url})
    admin = {"X-Hasura-Admin-Secret": double.admin_secret}
    assert http.post(f"{double.url}/v2/query", json={"type": "run_sql", "args": {"sql": USERS_DDL}},
                     headers=admin).status_code == 200
    assert http.post(f"{double.url}/v1/metadata", headers=admin, json={"type": "bulk", "args": [
        {"type": "pg_track_table", "args": {"table": "users"}},
        {"type": "pg_create_select_permission", "args": {"table": "users", "role": "user", "permission": {
            "columns": ["clerk_user_id"], "filter": {"clerk_user_id": {"_eq": "X-Hasura-User-Id"}}}}},
    ]}).status_code == 200
    return double, key


def _ask(double, key: str, app_claims: dict, role: str = "user") -> httpx.Response:
    token = sign(key, {"sub": "1234567890", "exp": int(time.time()) + 60, MYAPP: app_claims})
    return graphql(double, {**bearer(token), "X-Hasura-Role": role}, {"query": "{ users { clerk_user_id } }"})


OWN_ROW = {"data": {"users": [{"clerk_user_id": "user_bob"}]}}


@pytest.mark.parametrize("quote", ["'", '"'])
@pytest.mark.parametrize("defaults", [True, False], ids=["with-defaults", "without-defaults"])
def test_claims_map_with_bracket_paths_as_hasuras_test_suite(hasura_double_factory, postgres_database_url, quote,
                                                             defaults):
    double, key = _double_with_claims_map(hasura_double_factory, postgres_database_url,
                                          _claims_map_config(quote, defaults=defaults))
    full = {"user": {"id": "user_bob"}, "role": {"allowed": ["user", "editor"], "default": "user"}}
    # test_jwt_claims_map_valid_claims_success: the user id is read through the bracket path
    assert _ask(double, key, full).json() == OWN_ROW
    # test_jwt_claims_map_invalid_role_in_request_header
    assert error_of(_ask(double, key, {**full, "role": {"allowed": ["contractor", "editor"],
                                                        "default": "contractor"}})) == (
        "access-denied", "Your requested role is not in allowed roles")
    # test_jwt_claims_map_invalid_allowed_roles_in_claim
    assert error_of(_ask(double, key, {**full, "role": {"allowed": "user", "default": "user"}})) == (
        "jwt-invalid-claims", "invalid x-hasura-allowed-roles; should be a list of roles: parsing [] failed, "
                              "expected Array, but encountered String")
    no_allowed = _ask(double, key, {**full, "role": {"default": "user"}})
    no_default = _ask(double, key, {**full, "role": {"allowed": ["user"]}})
    no_user_id = _ask(double, key, {"role": full["role"]})
    if defaults:
        # test_jwt_claims_map_no_allowed_roles_in_claim / _no_default_role / _claim_not_found, defaults set
        assert no_allowed.json() == OWN_ROW and no_default.json() == OWN_ROW
        assert no_user_id.json() == {"data": {"users": [{"clerk_user_id": "user_alice"}]}}
    else:
        assert error_of(no_allowed) == ("jwt-missing-role-claims", "JWT claim does not contain x-hasura-allowed-roles")
        assert error_of(no_default) == ("jwt-missing-role-claims", "JWT claim does not contain x-hasura-default-role")
        assert error_of(no_user_id) == ("jwt-invalid-claims", "JWT claim from claims_map, x-hasura-user-id not found")


def test_claims_map_with_static_role_values_as_hasuras_test_suite(hasura_double_factory, postgres_database_url):
    # TestJWTClaimsMapWithStaticHasuraClaimsMapValues
    claims_map = {"x-hasura-user-id": {"path": f"$.['{MYAPP}'].user.id"},
                  "x-hasura-allowed-roles": ["user", "editor"], "x-hasura-default-role": "user"}
    double, key = _double_with_claims_map(hasura_double_factory, postgres_database_url, claims_map)
    assert _ask(double, key, {"user": {"id": "user_bob"}}).json() == OWN_ROW
    assert error_of(_ask(double, key, {"user": {"id": "user_bob"}}, role="random_string")) == (
        "access-denied", "Your requested role is not in allowed roles")
    assert error_of(_ask(double, key, {})) == (
        "jwt-invalid-claims", "JWT claim from claims_map, x-hasura-user-id not found")
    # GET /v1alpha1/config shows a claims map with the default namespace and format (Server/API/Config.hs).
    config = http.get(f"{double.url}/v1alpha1/config", headers={"X-Hasura-Admin-Secret": double.admin_secret}).json()
    assert config["jwt"] == [{"claims_namespace": "https://hasura.io/jwt/claims", "claims_format": "json",
                              "claims_map": claims_map}]


@pytest.mark.parametrize(("path", "elements"), [
    # Data/Parser/JSONPath.hs: optional "$", names with "-", indexes, quoted keys (after an optional "."), escapes
    ("$", []), ("$.a.b-c", ["a", "b-c"]), ("a[0]", ["a", 0]), ("$['x.y']", ["x.y"]), ('$.["x"].y', ["x", "y"]),
    ("$.['https://hasura.io/jwt/claims'].x-hasura-user-id", ["https://hasura.io/jwt/claims", "x-hasura-user-id"]),
    (r"$['it\'s']", ["it's"]),
])
def test_json_paths_read_as_hasura_reads_them(path, elements):
    assert parse_json_path(path) == elements


@pytest.mark.parametrize("path", ["$.", "$.1a", "$['open", "$[x]", "$.a..b"])
def test_a_claims_map_path_hasura_cannot_read_is_fatal_at_start(hasura_double_factory, path):
    secret = json.dumps({"type": "HS256", "key": "k" * 32, "claims_map": {"x-hasura-user-id": {"path": path}}})
    with pytest.raises(StartupError, match="Use single quotes enclosed in bracket"):
        hasura_double_factory(jwt_secret=secret)
