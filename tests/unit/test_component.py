"""`ClerkHasura` (components/component.py): its arguments mirror the stack settings, and a program of a team's own
(in a project folder elsewhere, with its own metadata/) using it, run under Pulumi's mocks (tests/pulumi_harness.py).
What the repository's own program registers through it is tests/unit/test_stack.py."""

from __future__ import annotations

import dataclasses
import re
import shutil
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from components.component import (ClerkHasuraArgs, arguments_from_settings, in_argument_terms, in_input_terms,
                                  stack_config_of)
from components.hasura.project import load_project
from components.config.settings import SettingsError
from components.targets import StackSettings, load_settings, stack_problems
from tests.fixtures.jwks import new_rsa_signing_key
from tests.pulumi_harness import PROJECT_DIR, ProgramRun, plaintext_leaks, run_program, serve_jwks

COMPONENT = "clerk-hasura:index:ClerkHasura"
ADMIN_SECRET = "component-admin-secret-0123456789"
PUBLISHABLE_KEY = "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA"

PROGRAM = """\
import pulumi
from components.component import ClerkArgs, ClerkHasura, ClerkHasuraArgs, HasuraArgs, SmokeArgs

config = pulumi.Config()
app = ClerkHasura("app", ClerkHasuraArgs({arguments}))
for name in ("graphql_url", "hasura_url", "healthz_url", "jwt_secret", "jwks_url", "issuer", "jwt_template",
             "admin_secret", "app_env", "metadata_hash", "smoke_report", "target", "metadata_dir"):
    pulumi.export(name, getattr(app, name))
pulumi.export("target_outputs", app.target_outputs)
"""


def mirrored(args_type: type, model: type[BaseModel], path: str = "") -> list[str]:
    """Where the attributes of `args_type` and the fields of `model` differ, recursively."""
    hints = typing.get_type_hints(args_type)
    attributes = {field.name for field in dataclasses.fields(args_type)}
    differences = [f"{path}{name}" for name in sorted(attributes ^ set(model.model_fields))]
    for name in sorted(attributes & set(model.model_fields)):
        annotation = model.model_fields[name].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            [nested] = [kind for kind in typing.get_args(hints[name]) if dataclasses.is_dataclass(kind)]
            differences += mirrored(nested, annotation, f"{path}{name}.")
    return differences


def test_the_arguments_mirror_every_stack_setting_of_every_target():
    assert mirrored(ClerkHasuraArgs, StackSettings) == []


def test_arguments_from_settings_stand_for_the_same_settings_with_the_same_keys_set():
    raw = {"target": "kubernetes", "clerk": {"publishableKey": PUBLISHABLE_KEY, "allowedSkew": 10},
           "hasura": {"publicUrl": "https://graphql.example.com"}, "hasuraAdminSecret": ADMIN_SECRET,
           "kubernetes": {"postgresStorage": {"className": "fast"}, "ingress": {"host": "graphql.example.com"}}}
    settings = load_settings(raw, environ={})
    args = arguments_from_settings(settings)
    assert args.kubernetes.postgres_storage.class_name == "fast" and args.hasura_admin_secret == ADMIN_SECRET
    assert stack_config_of(args) == raw
    again = load_settings(stack_config_of(args), environ={})
    assert again == settings and again.kubernetes.model_fields_set == settings.kubernetes.model_fields_set


#: Problems as the stack config's checks word them, to be reworded for a component user in each language.
STACK_CONFIG_PROBLEMS = (
    "Invalid stack configuration (3 problems):\n"
    "  - clerk.allowedSkew: must be between 0 and 300 seconds, got 999. Fix: use a few seconds\n"
    "  - hasuraAdminSecret: required with target `existing`. Fix: `pulumi config set --secret hasuraAdminSecret …`"
    " (or CLERK_HASURA_HASURA_ADMIN_SECRET in CI)\n"
    "  - postgres.hostPort: the `existing` target creates no Postgres. Fix: remove it (`pulumi config rm "
    "postgres.hostPort`)\n"
    "  - kubernetes.postgresStorage.className: Fix: `pulumi config set --path hasuraCloud.projectId <id>`"
)


def test_a_problem_told_to_a_component_user_names_argument_paths_and_no_pulumi_config_command():
    told = in_argument_terms(STACK_CONFIG_PROBLEMS)
    assert told == (
        "Invalid ClerkHasura arguments (3 problems):\n"
        "  - clerk.allowed_skew: must be between 0 and 300 seconds, got 999. Fix: use a few seconds\n"
        "  - hasura_admin_secret: required with target `existing`. Fix: `ClerkHasuraArgs.hasura_admin_secret = …`\n"
        "  - postgres.host_port: the `existing` target creates no Postgres. Fix: remove it "
        "(`ClerkHasuraArgs.postgres.host_port = None`)\n"
        "  - kubernetes.postgres_storage.class_name: Fix: `ClerkHasuraArgs.hasura_cloud.project_id = <id>`")


def test_the_settings_own_fixes_reach_a_component_user_as_arguments():
    """The fixes the settings themselves write (`clerk-hasura pulumi --stack … config set …`) are reworded too."""
    clerk = {"publishableKey": "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA"}
    with pytest.raises(SettingsError) as caught:
        load_settings({"clerk": clerk, "hasura": "graphql.example.com"}, environ={})
    short_secret = stack_problems(load_settings({"clerk": clerk, "hasuraAdminSecret": "short"}, environ={}), "prod")
    assert [in_argument_terms(problem) for problem in caught.value.problems + short_secret] == [
        "hasura: Input should be a valid dictionary or instance of HasuraSettings (got 'graphql.example.com'). "
        "Fix: give an object (its `…Args` dataclass)",
        "hasura_admin_secret: is 5 characters, fewer than 16. Fix: set a longer one (e.g. `openssl rand -hex 24`) "
        "with `ClerkHasuraArgs.hasura_admin_secret = …`, or remove it and a strong one is generated once and kept"]


def test_a_problem_told_to_a_program_in_another_language_names_its_inputs_and_no_pulumi_config_command():
    told = in_input_terms(STACK_CONFIG_PROBLEMS)
    assert told == (
        "Invalid ClerkHasura inputs (3 problems):\n"
        "  - clerk.allowedSkew: must be between 0 and 300 seconds, got 999. Fix: use a few seconds\n"
        "  - hasuraAdminSecret: required with target `existing`. Fix: set the ClerkHasura input `hasuraAdminSecret` "
        "to …\n"
        "  - postgres.hostPort: the `existing` target creates no Postgres. Fix: remove it (leave the ClerkHasura input "
        "`postgres.hostPort` unset)\n"
        "  - kubernetes.postgresStorage.className: Fix: set the ClerkHasura input `hasuraCloud.projectId` to <id>")


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    with serve_jwks({"keys": [new_rsa_signing_key().jwk]}) as url:
        yield url


@pytest.fixture(scope="module")
def team_project(tmp_path_factory) -> Path:
    """A team's project folder, away from this repository, with its own copy of metadata/."""
    root = tmp_path_factory.mktemp("team-project")
    shutil.copytree(PROJECT_DIR / "metadata", root / "metadata")
    # Theirs differs from the package's: one column fewer for the `user` role.
    table_file = root / "metadata" / "metadata" / "databases" / "default" / "tables" / "public_users.yaml"
    table = yaml.safe_load(table_file.read_text())
    table["select_permissions"][0]["permission"]["columns"].remove("last_seen")
    table_file.write_text(yaml.safe_dump(table))
    return root


def run_team_program(project: Path, arguments: str, **options) -> ProgramRun:
    program = project / "__main__.py"
    program.write_text(PROGRAM.format(arguments=arguments))
    return run_program("dev", {}, program=program, **options)


@pytest.fixture(scope="module")
def team_run(team_project, jwks_url) -> ProgramRun:
    """The admin secret given as an argument; the environment's override of the stack config is not one."""
    return run_team_program(team_project, (
        f"clerk=ClerkArgs(publishable_key={PUBLISHABLE_KEY!r}, jwks_url={jwks_url!r}), "
        f"hasura_admin_secret={ADMIN_SECRET!r}, hasura=HasuraArgs(port=18080)"),
        env={"CLERK_HASURA_HASURA_ADMIN_SECRET": "an-environment-override-is-no-argument"}).check()


def test_the_component_and_its_children_each_parented_and_named_after_it(team_run):
    component = team_run.one(COMPONENT, "app")
    children = [r for r in team_run.registrations if r.type != COMPONENT]
    assert children and all(r.name.startswith("app-") for r in children)
    top = [r for r in children if r.parent == component.urn]
    assert {r.name for r in top} >= {"app-metadata", "app-smoke", "app-hasura", "app-postgres"}
    urns = {r.urn for r in team_run.registrations}
    assert all(r.parent in urns for r in children)


def test_every_output_is_an_attribute_and_the_secrets_stay_secret(team_run):
    outputs = team_run.outputs
    assert outputs["graphql_url"].value == "http://127.0.0.1:18080/v1/graphql"
    assert outputs["healthz_url"].value == "http://127.0.0.1:18080/healthz"
    assert outputs["target"].value == "docker" and outputs["metadata_dir"].value == "metadata"
    assert outputs["jwt_template"].value == "hasura" and outputs["issuer"].value.startswith("https://")
    assert outputs["admin_secret"].secret and outputs["admin_secret"].value == ADMIN_SECRET  # not the environment's
    assert set(outputs["target_outputs"].value) >= {"dockerNetwork"}
    assert plaintext_leaks(team_run, [ADMIN_SECRET]) == []


def test_metadata_dir_is_read_from_the_consumers_project_directory(team_run, team_project):
    metadata = team_run.one("pulumi-python:dynamic/hasura_metadata:HasuraMetadata", "app-metadata")
    assert metadata.plain_inputs["metadata"] == load_project(team_project / "metadata").metadata
    assert metadata.plain_inputs["metadata"] != load_project(PROJECT_DIR / "metadata").metadata


def test_without_a_metadata_folder_in_the_consumers_project_it_names_that_folder_not_the_packages(tmp_path, jwks_url):
    program = tmp_path / "__main__.py"
    program.write_text(PROGRAM.format(arguments=f"clerk=ClerkArgs(publishable_key={PUBLISHABLE_KEY!r}, "
                                                f"jwks_url={jwks_url!r})"))
    run = run_program("dev", {}, program=program)
    assert run.error is not None and f"config.yaml: not found in {tmp_path / 'metadata'}" in run.error, run.error
    assert run.registrations == []


def test_an_invalid_argument_fails_before_anything_is_registered_naming_it_and_its_fix(team_project):
    run = run_team_program(team_project, f"clerk=ClerkArgs(publishable_key={PUBLISHABLE_KEY!r}, allowed_skew=999)")
    assert run.registrations == []
    assert run.error == ("Invalid ClerkHasura arguments (1 problem):\n  - clerk.allowed_skew: must be between 0 and "
                         "300 seconds, got 999. Fix: use a few seconds (default 5); Clerk tokens live 60 s")


def test_arguments_that_do_not_fit_the_target_are_each_named_with_a_fix_that_is_no_pulumi_config_command(
        team_project):
    run = run_team_program(team_project, "target='existing', clerk=ClerkArgs(publishable_key="
                                         f"{PUBLISHABLE_KEY!r}), hasura=HasuraArgs(port=18080)")
    assert run.error is not None and run.registrations == []
    assert run.error.startswith("Invalid ClerkHasura arguments ("), run.error
    for expected in ("hasura.public_url: required with target `existing`", "`ClerkHasuraArgs.hasura.public_url = ",
                     "hasura_admin_secret: required with target `existing`",
                     "Fix: `ClerkHasuraArgs.hasura_admin_secret = …`", "hasura.port: "):
        assert expected in run.error, run.error
    assert "pulumi config" not in run.error and "CLERK_HASURA_" not in run.error and "Traceback" not in run.error


def test_an_output_argument_is_refused_naming_it(team_project, jwks_url):
    run = run_team_program(team_project, (
        f"clerk=ClerkArgs(publishable_key={PUBLISHABLE_KEY!r}, jwks_url={jwks_url!r}), "
        "hasura_admin_secret=pulumi.Output.secret('a-secret-given-as-an-output-0123')"))
    assert run.registrations == []
    assert run.error.startswith("Invalid ClerkHasura arguments (1 problem):\n  - hasura_admin_secret: is a "
                                "pulumi.Output"), run.error
    assert "a-secret-given-as-an-output-0123" not in run.error


def message_texts(root: Path) -> list[str]:
    """Every string literal of the modules a deploy's checks run (the CLI and docstrings aside) that names a
    `pulumi config` command (bare or through `clerk-hasura pulumi --stack`), placeholders as `key`."""
    import ast

    texts = []
    for path in sorted((root / "components").rglob("*.py")):
        if "cli" in path.relative_to(root).parts or path.name == "component.py":  # the rewording's own patterns
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                      and isinstance(node.body[0], ast.Expr)}
        docstrings |= {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(part.value if isinstance(part, ast.Constant) else "key" for part in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                text = re.sub(r"\{\w+\}", "key", node.value)  # a str.format template
            else:
                continue
            if CONFIG_COMMAND.search(text):
                texts.append(text)
    return texts


#: `pulumi config …` or `clerk-hasura pulumi --stack <stack> config …`.
CONFIG_COMMAND = re.compile(r"pulumi (?:--stack \S+ )?config")


def test_no_fix_of_the_checks_keeps_a_pulumi_config_command_when_told_to_a_component_or_package_user():
    texts = message_texts(PROJECT_DIR)
    assert len(texts) > 20  # the scan finds the hints
    assert [text for text in texts if CONFIG_COMMAND.search(in_argument_terms(text))] == []
    assert [text for text in texts if CONFIG_COMMAND.search(in_input_terms(text))] == []
