"""The real engine deploys the real program to an existing Hasura (the Hasura double) trusting the Clerk double.

Everything the engine decides is observed as a user would: `up`/`preview`/`refresh`/`destroy` results, stack
outputs, the checkpoint and every file the backend wrote, and the requests Hasura and Clerk received.
"""

from __future__ import annotations

import json

import pytest

from components.auth.jwt_secret import resolve_jwt_secret
from components.config.settings import load_settings

ADMIN_SECRET = "engine-admin-secret-0123456789"


def existing_config(clerk, hasura_url: str) -> dict:
    return {
        "target": "existing",
        "clerk": {"publishableKey": clerk.publishable_key, "jwksUrl": clerk.jwks_url, "apiUrl": clerk.url,
                  "jwtTemplate": "hasura"},
        "hasura": {"publicUrl": hasura_url},
    }


@pytest.fixture
def existing_hasura(clerk_double, hasura_double_factory, postgres_database_url):
    """The Hasura double started as the user is told to start theirs: with the stack's `jwtSecret`."""
    settings = load_settings(existing_config(clerk_double, "http://127.0.0.1:1"), environ={})
    jwt_secret = resolve_jwt_secret(settings)
    hasura = hasura_double_factory(
        jwt_secret=jwt_secret.value, admin_secret=ADMIN_SECRET,
        env={"PG_DATABASE_URL": postgres_database_url, "HASURA_GRAPHQL_DATABASE_URL": postgres_database_url})
    hasura.wait_for_jwks()
    return hasura


def test_up_from_an_empty_stack(engine_stack_factory, clerk_double, existing_hasura):
    engine = engine_stack_factory(existing_config(clerk_double, existing_hasura.url),
                                  secrets={"hasuraAdminSecret": ADMIN_SECRET, "clerkSecretKey": clerk_double.secret_key})
    result = engine.up()
    print("".join(engine.log))
    outputs = engine.outputs()
    assert outputs["graphqlUrl"] == f"{existing_hasura.url}/v1/graphql"
    assert result.summary.result == "succeeded"
