"""The real engine deploys a metadata/ with actions and custom types to an existing Hasura (the double): the action
is served to a signed-in user and calls its handler, the export writes actions.yaml and actions.graphql byte for
byte as `hasura metadata export` does, and the next `up --refresh` plans nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components.auth.jwt_secret import resolve_jwt_secret
from components.cli.main import main as cli
from components.cli.stack import ENV_ADMIN_SECRET
from components.targets import load_settings
from tests.doubles.hasura.testing import http
from tests.engine.test_existing import ADMIN_SECRET, existing_config
from tests.fixtures.engine import ROOT, changes

WITH_ACTIONS = Path(__file__).parents[1] / "data" / "cli_export" / "with_actions" / "expected"
ACTION_FILES = ("actions.yaml", "actions.graphql")
GREETING_KEY = "greeting-key-from-hasuras-env"


@pytest.fixture
def metadata_dir(tmp_path) -> Path:
    """This repository's metadata/ with the two actions and four custom types of tests/data/cli_export/with_actions
    (a mutation calling {{GREETING_HANDLER_URL}}/greet for role user, a query calling …/count)."""
    project = Path(shutil.copytree(ROOT / "metadata", tmp_path / "metadata"))
    for name in ACTION_FILES:
        shutil.copy(WITH_ACTIONS / name, project / "metadata" / name)
    return project


@pytest.fixture
def hasura(clerk_double, hasura_double_factory, postgres_database_url, metadata_dir, action_handler):
    """The double started with the stack's JWT secret and the handler's URL and key in its environment, as a team
    sets them on their Hasura."""
    settings = load_settings(existing_config(clerk_double, "http://127.0.0.1:1", metadata_dir), environ={})
    double = hasura_double_factory(jwt_secret=resolve_jwt_secret(settings).value, admin_secret=ADMIN_SECRET, env={
        "PG_DATABASE_URL": postgres_database_url, "GREETING_HANDLER_URL": action_handler.url,
        "GREETING_KEY": GREETING_KEY})
    double.wait_for_jwks()
    return double


def test_an_action_deploys_is_called_by_a_user_exports_as_the_cli_writes_it_and_converges(
        engine_stack_factory, clerk_double, hasura, metadata_dir, action_handler, capsys):
    engine = engine_stack_factory(existing_config(clerk_double, hasura.url, metadata_dir),
                                  secrets={"hasuraAdminSecret": ADMIN_SECRET,
                                           "clerkSecretKey": clerk_double.secret_key})
    result = engine.up(refresh=True)
    assert result.summary.result == "succeeded", "".join(engine.log)

    # A signed-in user calls the action with the token of the template the stack manages.
    user = clerk_double.create_user(email_address="greeter+clerk_test@example.com")
    token = clerk_double.mint_template_token(user["id"], "hasura")
    action_handler.answers["/greet"] = (200, {"message": "Dear Alice", "tone": "formal"})
    query = 'mutation { createGreeting(input: {name: "Alice"}, tone: formal) { message tone } }'
    answer = http.post(f"{hasura.url}/v1/graphql", json={"query": query},
                       headers={"Authorization": f"Bearer {token}"}).json()
    assert answer == {"data": {"createGreeting": {"message": "Dear Alice", "tone": "formal"}}}
    [(path, headers, payload)] = action_handler.calls
    assert path == "/greet" and headers["x-greeting-key"] == GREETING_KEY
    assert payload["action"] == {"name": "createGreeting"}
    assert payload["input"] == {"input": {"name": "Alice"}, "tone": "formal"}
    assert payload["session_variables"]["x-hasura-role"] == "user"
    assert payload["session_variables"]["x-hasura-user-id"] == user["id"]

    # The export writes the two action files (removed above) as the Hasura CLI does, and no other file: the deploy
    # stored metadata/ as authored.
    for name in ACTION_FILES:
        (metadata_dir / "metadata" / name).unlink()
    code = cli(["export", "--hasura-url", hasura.url, "--project-dir", str(metadata_dir), "--wait", "2"],
                       stdin=None, environ={ENV_ADMIN_SECRET: ADMIN_SECRET})
    out = capsys.readouterr().out
    assert code == 0, out
    assert {line.split()[-1] for line in out.splitlines() if line.strip().startswith("changed")} == set(ACTION_FILES)
    assert not [line for line in out.splitlines() if line.strip().startswith("removed")], out
    for name in ACTION_FILES:
        assert (metadata_dir / "metadata" / name).read_bytes() == (WITH_ACTIONS / name).read_bytes(), name

    # Converged: the exported folder is what is live, so the next documented deploy plans nothing.
    hasura.reset_counts()
    assert changes(engine.up(refresh=True)) == {}
    assert hasura.writes() == 0
    engine.preview(refresh=True, expect_no_changes=True)
