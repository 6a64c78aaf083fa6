"""Target `nhost` without the engine: what its settings refuse, how the project is found, how `hasura.jwtSecrets` is
written (every other key kept; a dashboard save between read and write rebuilt on, never overwritten), the Nhost
preset claims of the Clerk template, and which tracked tables of Nhost's own schemas a metadata set would untrack —
against the Nhost double (tests/doubles/nhost.py) over real HTTP."""

from __future__ import annotations

import asyncio

import json

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from components.auth.jwt_secret import jwt_secret_config
from components.clerk.client import NHOST_TEMPLATE_CLAIMS
from components.config.settings import SettingsError
from components.targets import SECRET_ENV_VARS, load_settings
from components.errors import ClerkHasuraError
from components.plan import validate_stack_config
from components.providers.clerk_jwt_template import template_args
from components.targets.nhost import nhost_tables
from components.targets.nhost.client import NhostClient, NhostTokenRefused
from components.targets.nhost.jwt_secrets import (
    NHOST_DEFAULT_JWT_SECRET,
    ConcurrentConfigEdit,
    apply_jwt_secrets,
    whole_numbers_as_integers,
    without_entry,
)
from tests.fixtures.nhost import CLERK_JWKS_ENTRY, nhost  # noqa: F401 - nhost is a fixture
from tests.doubles.nhost import NhostDouble



def client(nhost: NhostDouble, token: str | None = None) -> NhostClient:
    return NhostClient(token or nhost.token, nhost.auth_url, nhost.api_url)


def public_pem(private_key) -> str:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode()


EC_PUBLIC_KEY = public_pem(ec.generate_private_key(ec.SECP256R1()))
RSA_PUBLIC_KEY = public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
NHOST_STACK = {"target": "nhost", "nhost": {"subdomain": "abcdefghijklmnopqrst", "region": "eu-central-1"},
               "nhostToken": "nhost-pat-" + "n" * 24}


def problems_of(raw: dict, stack: str = "dev") -> str:
    with pytest.raises(SettingsError) as caught:
        validate_stack_config(raw, stack, environ={})
    return str(caught.value)


def test_needs_token_subdomain_and_region_and_refuses_what_nhost_holds_itself():
    text = problems_of({"target": "nhost", "clerk": {"frontendApi": "happy-hippo-12.clerk.accounts.dev",
                                                     "claims": "session"},
                        "hasura": {"corsDomains": ["https://app.example.com"]},
                        "hasuraAdminSecret": "a" * 20, "databaseUrl": "postgres://u:p@db.example.com/app"})
    for expected in ("nhostToken: required with target `nhost`", "nhost.subdomain: required",
                     "nhost.region: required", "hasuraAdminSecret: the `nhost` target uses the project's own",
                     "databaseUrl: an Nhost project runs its own Postgres", "clerk.claims: `session`",
                     "hasura.corsDomains: the `nhost` target does not set it"):
        assert expected in text


def test_the_object_is_refused_on_other_targets():
    text = problems_of({"clerk": {"frontendApi": "happy-hippo-12.clerk.accounts.dev"},
                        "nhost": {"subdomain": "abcdefghijklmnopqrst"}})
    assert "nhost.subdomain: only the `nhost` target reads it" in text


def test_the_nhost_preset_gives_the_template_nhosts_claims():
    # template_args makes pulumi Outputs, which need an event loop; an earlier test may have closed this thread's.
    asyncio.set_event_loop(asyncio.new_event_loop())
    settings = load_settings({"clerk": {"frontendApi": "happy-hippo-12.clerk.accounts.dev", "templatePreset": "nhost"},
                              "clerkSecretKey": "sk_test_" + "k" * 40}, environ={})
    assert template_args(settings)["claims"] == NHOST_TEMPLATE_CLAIMS
    assert NHOST_TEMPLATE_CLAIMS["https://hasura.io/jwt/claims"]["x-hasura-allowed-roles"] == ["me", "user"]


def test_the_project_is_found_by_subdomain_and_region_or_the_setting_is_named(nhost):
    app_id = nhost.add_app("abcdefghijklmnopqrst", "eu-central-1")
    with client(nhost) as cl:
        assert cl.find_app("abcdefghijklmnopqrst", "eu-central-1").id == app_id
        with pytest.raises(ClerkHasuraError, match=r"^nhost.region: .* `clerk-hasura pulumi --stack <stack> "
                                                   r"config set --path nhost.region eu-central-1`"):
            cl.find_app("abcdefghijklmnopqrst", "us-east-1")
        with pytest.raises(ClerkHasuraError, match=r"^nhost.subdomain: no project with subdomain other"):
            cl.find_app("other", "eu-central-1")
    with client(nhost, "wrong-token-value") as cl, pytest.raises(NhostTokenRefused) as refused:
        cl.find_app("abcdefghijklmnopqrst", "eu-central-1")
    assert str(refused.value).startswith("nhostToken:") and "wrong-token-value" not in str(refused.value)


def test_only_jwt_secrets_changes_and_every_other_key_is_written_back_as_read(nhost):
    app_id = nhost.add_app("abcdefghijklmnopqrst", "eu-central-1")
    before = nhost.config(app_id)
    with client(nhost) as cl:
        live, wrote = apply_jwt_secrets(cl, app_id, lambda _current: [CLERK_JWKS_ENTRY])
        assert wrote and live == [CLERK_JWKS_ENTRY] and nhost.writes == 1
        _, wrote = apply_jwt_secrets(cl, app_id, lambda _current: [CLERK_JWKS_ENTRY])
    assert not wrote and nhost.writes == 1
    after = nhost.config(app_id)
    assert after["hasura"].pop("jwtSecrets") == [CLERK_JWKS_ENTRY]
    before["hasura"].pop("jwtSecrets")
    assert after == before  # adminSecret template, settings, auth, postgres: untouched


def test_a_dashboard_save_between_read_and_write_is_built_on_never_overwritten(nhost):
    app_id = nhost.add_app("abcdefghijklmnopqrst", "eu-central-1")
    nhost.edit_after_reads(app_id, 1, ("hasura", "settings", "corsDomain"), ["https://app.example.com"])
    with client(nhost) as cl:
        _, wrote = apply_jwt_secrets(cl, app_id, lambda _current: [CLERK_JWKS_ENTRY])
    assert wrote and nhost.writes == 1
    config = nhost.config(app_id)
    assert config["hasura"]["settings"]["corsDomain"] == ["https://app.example.com"]
    assert config["hasura"]["jwtSecrets"] == [CLERK_JWKS_ENTRY]


def test_saves_that_keep_coming_stop_the_write(nhost):
    app_id = nhost.add_app("abcdefghijklmnopqrst", "eu-central-1")
    for reads, value in ((1, ["a"]), (3, ["b"]), (5, ["c"])):  # each right after the first read of an attempt
        nhost.edit_after_reads(app_id, reads, ("hasura", "settings", "corsDomain"), value)
    with client(nhost) as cl, pytest.raises(ConcurrentConfigEdit):
        apply_jwt_secrets(cl, app_id, lambda _current: [CLERK_JWKS_ENTRY])
    assert nhost.writes == 0


def test_a_document_nhost_refuses_is_reported_with_nhosts_reason(nhost):
    app_id = nhost.add_app("abcdefghijklmnopqrst", "eu-central-1")
    with client(nhost) as cl, pytest.raises(ClerkHasuraError) as refused:
        apply_jwt_secrets(cl, app_id, lambda _current: [{"type": "HS999", "key": "k" * 40}])
    assert "config is not valid: #Config.hasura.jwtSecrets.0: 2 errors in empty disjunction" in str(refused.value)


def test_the_admin_secret_is_read_resolved(nhost):
    app_id = nhost.add_app("abcdefghijklmnopqrst", "eu-central-1",
                           secrets={"HASURA_GRAPHQL_ADMIN_SECRET": "nhost-admin-secret-0123456789"})
    with client(nhost) as cl:
        assert cl.admin_secret(app_id) == "nhost-admin-secret-0123456789"
    assert json.loads(json.dumps(nhost.config(app_id)))["hasura"]["adminSecret"].startswith("{{")


def test_nhost_tables_are_those_of_the_auth_and_storage_schemas_in_any_source():
    metadata = {"sources": [{"name": "default", "tables": [
        {"table": {"schema": "auth", "name": "users"}}, {"table": {"schema": "storage", "name": "files"}},
        {"table": {"schema": "public", "name": "users"}}]}]}
    assert nhost_tables(metadata) == {"auth.users", "storage.files"}


@pytest.mark.parametrize(("clerk", "secrets", "refused", "fixed_clerk", "fixed_secrets"), [
    ({"cookie": True}, {}, "clerk.cookie: ", {}, {}),
    ({"signingAlgorithm": "ES256"}, {"clerkSigningKey": EC_PUBLIC_KEY}, "clerk.signingAlgorithm: ",
     {"signingAlgorithm": "RS256"}, {"clerkSigningKey": RSA_PUBLIC_KEY}),
    ({"audience": ["my-api", "other-api"]}, {}, "clerk.audience: ", {"audience": "my-api"}, {}),
])
def test_clerk_settings_nhost_cannot_hold_are_refused_at_preview_and_the_fix_deploys(
        nhost, clerk, secrets, refused, fixed_clerk, fixed_secrets):
    host = {"frontendApi": "happy-hippo-12.clerk.accounts.dev"}
    text = problems_of({**NHOST_STACK, "clerk": {**host, **clerk}, **secrets})
    assert refused in text and "Fix: " in text.split(refused)[1].split("\n")[0]

    # what those settings would write, Nhost refuses; what the fix writes, it takes
    app_id = nhost.add_app("abcdefghijklmnopqrst", "eu-central-1")
    for raw_clerk, raw_secrets, taken in ((clerk, secrets, False), (fixed_clerk, fixed_secrets, True)):
        settings = load_settings({**NHOST_STACK, "clerk": {**host, **raw_clerk}, **raw_secrets}, environ={})
        signing_key = settings.clerk_signing_key.get_secret_value() if settings.clerk_signing_key else None
        entry = jwt_secret_config(settings.clerk, host="happy-hippo-12.clerk.accounts.dev",
                                  jwks_url=None if signing_key else CLERK_JWKS_ENTRY["jwk_url"], signing_key=signing_key)
        with client(nhost) as cl:
            if taken:
                validate_stack_config({**NHOST_STACK, "clerk": {**host, **raw_clerk}, **raw_secrets}, "dev", environ={})
                assert apply_jwt_secrets(cl, app_id, lambda _current: [entry]) == ([entry], True)
            else:
                with pytest.raises(ClerkHasuraError, match="failed to decode raw JSON|config is not valid"):
                    apply_jwt_secrets(cl, app_id, lambda _current: [entry])


def test_whole_numbers_from_the_engine_are_written_as_integers(nhost):
    from_engine = {**CLERK_JWKS_ENTRY, "allowed_skew": 5.0}  # how the engine hands 5 to a dynamic provider
    app_id = nhost.add_app("abcdefghijklmnopqrst", "eu-central-1")
    with client(nhost) as cl:
        with pytest.raises(ClerkHasuraError, match="cannot unmarshal number 5.0"):
            apply_jwt_secrets(cl, app_id, lambda _current: [from_engine])
        apply_jwt_secrets(cl, app_id, lambda _current: [whole_numbers_as_integers(from_engine)])
    written = nhost.config(app_id)["hasura"]["jwtSecrets"][0]["allowed_skew"]
    assert written == 5 and type(written) is int
    assert whole_numbers_as_integers({"a": [1.5, 2.0], "b": True}) == {"a": [1.5, 2], "b": True}


def test_destroy_leaves_nhosts_default_entry_in_place_of_the_stacks_only():
    assert without_entry([CLERK_JWKS_ENTRY], CLERK_JWKS_ENTRY) == [NHOST_DEFAULT_JWT_SECRET]
    someone_elses = {"type": "HS256", "key": "k" * 32}
    assert without_entry([someone_elses], CLERK_JWKS_ENTRY) == [someone_elses]  # replaced since: left as it is
    assert NHOST_DEFAULT_JWT_SECRET == {"type": "HS256", "key": "{{ secrets.HASURA_GRAPHQL_JWT_SECRET }}"}


def nhost_answering(monkeypatch: pytest.MonkeyPatch, auth: httpx.Response, api: httpx.Response) -> NhostClient:
    """A client whose requests Nhost's auth service and API answer with `auth` and `api`."""
    cl = NhostClient("nhost-pat-value", "https://auth.nhost.test/v1", "https://api.nhost.test/v1/graphql")
    route = lambda request: auth if request.url.host == "auth.nhost.test" else api  # noqa: E731
    monkeypatch.setattr(cl, "_http", httpx.Client(transport=httpx.MockTransport(route)))
    return cl


SESSION = httpx.Response(200, json={"session": {"accessToken": "session-value"}})
SET_TOKEN = ("Fix: make a token with an account that is a member of the project's organization or workspace (Nhost "
             "dashboard: Account, Personal Access Tokens) and store it: `clerk-hasura pulumi --stack <stack> config "
             f"set --secret nhostToken` (it asks for the value), or {SECRET_ENV_VARS['nhostToken']} in CI")


@pytest.mark.parametrize(("auth", "api", "failure", "fix"), [
    (httpx.Response(401, json={"message": "Invalid or expired personal access token"}), None, NhostTokenRefused,
     "Fix: make one in the Nhost dashboard (Account, Personal Access Tokens) and store it: `clerk-hasura pulumi "
     "--stack <stack> config set --secret nhostToken`"),
    (SESSION, httpx.Response(403, json={"errors": [{"message": "access denied"}]}), NhostTokenRefused, SET_TOKEN),
    (httpx.Response(503, text="upstream unavailable"), None, ClerkHasuraError,
     "a failure on Nhost's side. Fix: run the deploy again in a few minutes"),
    (SESSION, httpx.Response(502, text="bad gateway"), ClerkHasuraError,
     "answered HTTP 502, a failure on the platform's side. Fix: run the deploy again in a few minutes"),
    (SESSION, httpx.Response(200, json={"errors": [{"message": "not allowed to change this app"}]}), ClerkHasuraError,
     "Fix: if it says the token may not do this, use a token of an account that may change the project's settings: "
     "`clerk-hasura pulumi --stack <stack> config set --secret nhostToken`"),
])
def test_each_failure_of_nhosts_api_names_its_fix(auth, api, failure, fix, monkeypatch):
    with nhost_answering(monkeypatch, auth, api) as cl, pytest.raises(failure) as failed:
        cl.find_app("abcdefghijklmnopqrst", "eu-central-1")
    assert fix in str(failed.value)
    assert "nhost-pat-value" not in str(failed.value) and "session-value" not in str(failed.value)


def test_an_unreachable_nhost_api_says_to_check_the_network_and_run_again():
    with NhostClient("t", "http://127.0.0.1:9", "http://127.0.0.1:9/v1/graphql") as cl, \
            pytest.raises(ClerkHasuraError, match=r"nhost.authUrl: .* did not answer \(ConnectError\). Fix: check "
                                                  r"the network"):
        cl.find_app("abcdefghijklmnopqrst", "eu-central-1")
