"""Actions and custom types in `metadata/`: actions.graphql merged with actions.yaml as the Hasura CLI does it,
checked before anything reaches Hasura, and their changes named in the diff."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from components.hasura.compare import diff_metadata, normalize_metadata
from components.hasura.project import load_project
from components.hasura.rules import MetadataError

CASE = Path(__file__).parents[2] / "data" / "cli_export" / "with_actions"


@pytest.fixture
def project(tmp_path) -> Path:
    """A CLI project holding the with_actions layout (two actions, four custom types)."""
    shutil.copytree(CASE / "expected", tmp_path / "metadata")
    (tmp_path / "config.yaml").write_text("version: 3\n")
    return tmp_path


def edit_actions_yaml(project: Path, change) -> None:
    path = project / "metadata" / "actions.yaml"
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def problems_of(project: Path) -> str:
    with pytest.raises(MetadataError) as caught:
        load_project(project, validate=False)
    return str(caught.value)


def test_the_sdl_gives_arguments_and_output_and_the_yaml_the_rest(project):
    metadata = load_project(project, validate=False).metadata
    greeting = metadata["actions"][0]
    assert greeting == {"name": "createGreeting", "definition": {
        "kind": "synchronous", "type": "mutation", "handler": "{{GREETING_HANDLER_URL}}/greet",
        "arguments": [{"name": "input", "type": "GreetingInput!"},
                      {"name": "tone", "type": "Tone", "description": "how it sounds"}],
        "output_type": "Greeting", "forward_client_headers": True,
        "headers": [{"name": "X-Greeting-Key", "value_from_env": "GREETING_KEY"}], "timeout": 10},
        "permissions": [{"role": "user"}], "comment": "says hello"}
    assert metadata["actions"][1]["definition"] == {"type": "query", "handler": "{{GREETING_HANDLER_URL}}/count",
                                                    "output_type": "Int!"}
    # A type's description comes from actions.yaml (ActionConfig.Build), its fields from the SDL.
    assert metadata["custom_types"]["objects"] == [{"name": "Greeting", "description": "what the handler answers",
                                                    "fields": [{"name": "message", "type": "String!"},
                                                               {"name": "tone", "type": "Tone"},
                                                               {"name": "sent_at", "type": "Moment",
                                                                "description": "when it was sent"}]}]


def test_an_action_the_sdl_lacks_is_refused_with_the_clis_words(project):
    sdl = project / "metadata" / "actions.graphql"
    sdl.write_text(sdl.read_text().replace("type Query {\n  greetingCount: Int!\n}\n\n", ""))
    assert "action greetingCount is not present in actions.graphql" in problems_of(project)


def test_an_sdl_action_without_a_handler_in_actions_yaml_is_refused(project):
    edit_actions_yaml(project, lambda d: d["actions"].pop(1))
    message = problems_of(project)
    assert "action greetingCount has no entry in actions.yaml" in message and "handler" in message


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["actions"][0]["definition"].update(kind="asynchronous"), "asynchronous actions are not supported"),
    (lambda d: d["actions"][0]["definition"].pop("kind"), "`definition.kind` is missing"),
    (lambda d: d["actions"][0]["definition"].pop("handler"), "`definition.handler` is missing"),
    (lambda d: d["actions"][0]["definition"].update(request_transform={"method": "GET"}),
     "`request_transform` (Kriti transforms) is not supported"),
    (lambda d: d["custom_types"]["objects"][0].update(relationships=[{"name": "user", "type": "object"}]),
     "relationships of action output types are not supported"),
    (lambda d: d["actions"][0]["permissions"].append({"role": "user"}), "permission for role user is defined twice"),
    (lambda d: d["actions"][0]["definition"].update(timeout=-1), "`timeout` must be a positive number"),
    (lambda d: d["custom_types"]["scalars"].append({"name": "Instant"}),
     "custom type Instant is not present in actions.graphql"),
])
def test_what_hasura_or_this_package_refuses_is_refused_before_anything_is_sent(project, change, expected):
    edit_actions_yaml(project, change)
    assert expected in problems_of(project)


def test_a_type_the_sdl_does_not_define_is_refused_with_hasuras_words_and_a_hint(project):
    sdl = project / "metadata" / "actions.graphql"
    sdl.write_text(sdl.read_text().replace("): Greeting\n", "): Greting\n"))
    message = problems_of(project)
    assert 'the type: "Greting" is not an object or scalar type defined in custom types' in message
    assert "did you mean Greeting?" in message


def test_sdl_the_cli_cannot_read_is_refused(project):
    (project / "metadata" / "actions.graphql").write_text("type Mutation {")
    assert "actions.graphql: not valid GraphQL SDL" in problems_of(project)
    (project / "metadata" / "actions.graphql").write_text("interface Node { id: ID! }")
    assert "Interface types are not supported" in problems_of(project)


def test_action_changes_are_named_by_action_role_and_type():
    live = json.loads((CASE / "metadata.json").read_text())
    wanted = copy.deepcopy(live)
    wanted["actions"][0]["definition"]["handler"] = "{{GREETING_HANDLER_URL}}/hello"
    wanted["actions"][0]["permissions"] = [{"role": "editor"}]
    wanted["custom_types"].pop("scalars")
    changes = [str(c) for c in diff_metadata(normalize_metadata(wanted), normalize_metadata(live))]
    assert changes == [
        "action createGreeting › definition.handler: metadata/ has '{{GREETING_HANDLER_URL}}/hello', "
        "live has '{{GREETING_HANDLER_URL}}/greet'",
        "action createGreeting › role editor: may call it in metadata/, not live",
        "action createGreeting › role user: may call it live, not in metadata/",
        "custom type scalar Moment › present live, not in metadata/",
    ]


def test_hasuras_defaults_compare_equal():
    live = json.loads((CASE / "metadata.json").read_text())
    spelled_out = copy.deepcopy(live)
    spelled_out["actions"][1]["definition"]["timeout"] = 30  # the default, which export leaves out
    spelled_out["actions"][0]["definition"]["arguments"][0]["description"] = None
    spelled_out["actions"].reverse()
    assert diff_metadata(normalize_metadata(spelled_out), normalize_metadata(live)) == []
