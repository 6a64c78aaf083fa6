"""The Nhost double refuses what Nhost's `replaceConfigRawJSON` refuses (tests/doubles/nhost.py cites each source): Go's
decoding into the generated insert types, then Nhost's CUE schema. A document it accepted while Nhost refuses it hid
three failures of real deploys (issue 25, items 7-9)."""

from __future__ import annotations

import json

import pytest

from components.errors import ClerkHasuraError
from components.targets.nhost.client import NhostClient
from tests.fixtures.nhost import CLERK_JWKS_ENTRY, nhost  # noqa: F401 - nhost is a fixture
from tests.doubles.nhost import NhostDouble, default_config

DECODE = "failed to decode raw JSON: json: "
INVALID = "failed to resolve config: failed to validate config: config is not valid: #Config."


def replace(nhost: NhostDouble, raw: str) -> str | None:
    """Nhost's error for writing `raw`, or None when it took the document."""
    app_id = nhost.add_app("abcdefghijklmnopqrst", "eu-central-1")
    with NhostClient(nhost.token, nhost.auth_url, nhost.api_url) as client:
        try:
            client.replace_config_raw(app_id, raw)
        except ClerkHasuraError as error:
            return str(error)
    assert nhost.config(app_id) == json.loads(raw)
    return None


def with_entries(*entries: dict) -> str:
    config = default_config()
    config["hasura"]["jwtSecrets"] = list(entries)
    return json.dumps(config)


def test_a_new_projects_document_and_the_stacks_entries_are_taken(nhost):
    assert replace(nhost, json.dumps(default_config())) is None
    assert replace(nhost, with_entries(CLERK_JWKS_ENTRY)) is None
    assert replace(nhost, with_entries({"type": "RS256", "key": "-----BEGIN PUBLIC KEY-----…", "issuer": "x",
                                        "allowed_skew": 0, "audience": "my-api"})) is None


@pytest.mark.parametrize(("raw", "refused"), [
    # allowed_skew is *uint32: Go takes only a whole-number literal (Pulumi hands 5 to providers as 5.0)
    ('{"hasura": {"jwtSecrets": [{"jwk_url": "https://x", "allowed_skew": 5.0}]}}',
     "cannot unmarshal number 5.0 into Go struct field ConfigJWTSecretInsertInput.hasura.jwtSecrets.allowed_skew "
     "of type uint32"),
    ('{"hasura": {"jwtSecrets": [{"jwk_url": "https://x", "allowed_skew": -1}]}}', "cannot unmarshal number -1 "),
    # header and audience are *string: Hasura's cookie object and a list of audiences do not decode
    ('{"hasura": {"jwtSecrets": [{"jwk_url": "https://x", "header": {"type": "Cookie", "name": "__session"}}]}}',
     "cannot unmarshal object into Go struct field ConfigJWTSecretInsertInput.hasura.jwtSecrets.header of type "
     "string"),
    ('{"hasura": {"jwtSecrets": [{"jwk_url": "https://x", "audience": ["a", "b"]}]}}',
     "cannot unmarshal array into Go struct field ConfigJWTSecretInsertInput.hasura.jwtSecrets.audience of type "
     "string"),
    # Hasura's claims_map object is not Nhost's list of {claim, value|path}
    ('{"hasura": {"jwtSecrets": [{"jwk_url": "https://x", "claims_map": {"x-hasura-user-id": {"path": "$.sub"}}}]}}',
     "cannot unmarshal object into Go struct field ConfigJWTSecretInsertInput.hasura.jwtSecrets.claims_map of type "
     "[]*model.ConfigClaimMapInsertInput"),
    ('{"hasura": {"jwtSecrets": [{"jwk_url": "https://x", "kid": "k"}]}}', 'unknown field "kid"'),
    ('[]', "cannot unmarshal array into Go value of type model.ConfigConfigInsertInput"),
])
def test_a_value_of_another_type_or_an_unknown_field_is_refused_with_gos_words(nhost, raw, refused):
    assert DECODE + refused in replace(nhost, raw)


@pytest.mark.parametrize(("change", "refused"), [
    # jwtSecrets: [#JWTSecret] is exactly one entry
    (lambda hasura: hasura.pop("jwtSecrets"), 'hasura.jwtSecrets.0: incomplete value {claims_format?:*"json"'),
    (lambda hasura: hasura.update(jwtSecrets=None), "hasura.jwtSecrets.0: incomplete value {"),
    (lambda hasura: hasura.update(jwtSecrets=[]), "hasura.jwtSecrets: incompatible list lengths (0 and 1)"),
    (lambda hasura: hasura.update(jwtSecrets=[CLERK_JWKS_ENTRY, CLERK_JWKS_ENTRY]), "hasura.jwtSecrets.1: field not allowed"),
    # type: HS256/384/512 or RS256/384/512 only, with a key; jwk_url alone
    (lambda hasura: hasura.update(jwtSecrets=[{"type": "ES256", "key": "-----BEGIN PUBLIC KEY-----…"}]),
     "hasura.jwtSecrets.0: 2 errors in empty disjunction: (and 2 more errors)"),
    (lambda hasura: hasura.update(jwtSecrets=[{"type": "Ed25519", "key": "-----BEGIN PUBLIC KEY-----…"}]),
     "hasura.jwtSecrets.0: 2 errors in empty disjunction: (and 2 more errors)"),
    (lambda hasura: hasura.update(jwtSecrets=[{"type": "ES256"}]), "hasura.jwtSecrets.0.type: field not allowed"),
    (lambda hasura: hasura.update(jwtSecrets=[{"type": "RS256"}]), "hasura.jwtSecrets.0.key: incomplete value string"),
    (lambda hasura: hasura.update(jwtSecrets=[{**CLERK_JWKS_ENTRY, "key": "k" * 32}]),
     "hasura.jwtSecrets.0.key: field not allowed"),
    (lambda hasura: hasura.update(jwtSecrets=[{**CLERK_JWKS_ENTRY, "type": "RS256"}]),
     "hasura.jwtSecrets.0.type: field not allowed"),
    (lambda hasura: hasura.update(jwtSecrets=[{"jwk_url": None}]), "hasura.jwtSecrets.0: incomplete value {"),
    # the optional keys
    (lambda hasura: hasura.update(jwtSecrets=[{**CLERK_JWKS_ENTRY, "claims_format": "yaml"}]),
     "hasura.jwtSecrets.0: 3 errors in empty disjunction: (and 3 more errors)"),
    (lambda hasura: hasura.update(jwtSecrets=[{**CLERK_JWKS_ENTRY, "claims_namespace_path": "$.x"}]),
     "hasura.jwtSecrets.0: 2 errors in empty disjunction: (and 2 more errors)"),
    (lambda hasura: hasura.update(jwtSecrets=[{"key": "k" * 32, "claims_namespace": "a",
                                               "claims_namespace_path": "b"}]),
     "hasura.jwtSecrets.0: 4 errors in empty disjunction: (and 4 more errors)"),
    (lambda hasura: hasura.update(jwtSecrets=[{**CLERK_JWKS_ENTRY,
                                               "claims_map": [{"claim": "x", "value": "v", "path": "$"}]}]),
     "hasura.jwtSecrets.0: 3 errors in empty disjunction: (and 3 more errors)"),
    (lambda hasura: hasura.update(jwtSecrets=[{**CLERK_JWKS_ENTRY, "claims_map": [{"value": "v"}]}]),
     "hasura.jwtSecrets.0.claims_map.0.claim: incomplete value string"),
    (lambda hasura: hasura.update(jwtSecrets=[{**CLERK_JWKS_ENTRY, "claims_map": [{"claim": "x"}]}]),
     'hasura.jwtSecrets.0.claims_map.0: incomplete value {claim:"x",value:string} | '
     '{claim:"x",path:string,default?:string}'),
])
def test_what_nhosts_schema_refuses_is_refused_with_cues_words(nhost, change, refused):
    config = default_config()
    change(config["hasura"])
    assert INVALID + refused in replace(nhost, json.dumps(config))


def test_a_missing_admin_or_webhook_secret_is_taken_as_nhost_decodes_it_an_empty_string(nhost):
    config = default_config()
    del config["hasura"]["adminSecret"], config["hasura"]["webhookSecret"]
    app_id = nhost.add_app("abcdefghijklmnopqrst", "eu-central-1")
    with NhostClient(nhost.token, nhost.auth_url, nhost.api_url) as client:
        client.replace_config_raw(app_id, json.dumps(config))
    stored = nhost.config(app_id)["hasura"]
    assert (stored["adminSecret"], stored["webhookSecret"]) == ("", "")
