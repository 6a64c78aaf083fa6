"""The generated reference pages (scripts/docs_reference.py): committed as the generator makes them now, every key
described with a working example, every output the program exports described, for the targets it names, with the
component attribute it is, and every argument of `ClerkHasura` with the key it mirrors."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from components.targets import SECRET_ENV_VARS, load_settings
from scripts import docs_reference
from components.component import ClerkHasura
from scripts.docs_reference import (ALL_TARGETS, OUTPUTS, PROGRAM, REGENERATE, ROOT, argument_groups, argument_type,
                                    output_attributes, pages, settings_sections)
from tests.doubles.hasura_cloud import HasuraCloudDouble
from tests.doubles.nhost import NhostDouble
from tests.fixtures.metadata import track_nhost_tables
from tests.pulumi_harness import ProgramRun, example_dev_config, run_program, with_overrides

CLERK_SECRET_KEY = "sk_test_" + "d" * 40
ADMIN_SECRET = "docs-admin-secret-0123456789"
#: What the mocks cannot make up: the outputs the dynamic resources compute.
MOCK_OUTPUTS = {"pulumi-python:dynamic/clerk_jwt_template:ClerkJwtTemplate": {"templateId": "jtmp_mock"},
                "pulumi-python:dynamic/smoke_check:SmokeCheck": {"report": {"passed": True, "checks": []}}}
PK = "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA"


@pytest.mark.parametrize("page", sorted(str(path) for path in pages()))
def test_the_committed_page_is_what_the_generator_makes_now(page):
    committed = (ROOT / page).read_text() if (ROOT / page).exists() else None
    assert committed == pages()[Path(page)], f"{page} is stale. Fix: run {REGENERATE} and commit {page}"


def test_the_check_mode_names_a_stale_page_and_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(docs_reference, "ROOT", tmp_path)
    assert docs_reference.main(["--check"]) == 1
    assert f"Fix: run {REGENERATE}" in capsys.readouterr().err
    assert docs_reference.main([]) == 0
    assert docs_reference.main(["--check"]) == 0


def test_every_key_has_a_description():
    undocumented = [key.path for section in settings_sections() for key in section.keys if not key.description]
    assert undocumented == [], ("add a docstring under each field in its settings model (components/config/, "
                                f"components/targets/*/settings.py): {undocumented}")


def test_every_key_of_the_stack_settings_is_in_the_reference():
    documented = {key.path.split(".", 1)[0] for section in settings_sections() for key in section.keys}
    assert documented == {field.alias or name for name, field in docs_reference.StackSettings.model_fields.items()}


def test_the_stack_dependent_defaults_are_resolved_per_stack():
    keys = {key.path: key for section in settings_sections() for key in section.keys}
    for path, dev, other in [("hasura.console", True, False), ("hasura.devMode", True, False),
                             ("postgres.protectVolume", False, True), ("smoke.writes", True, False),
                             ("kubernetes.replicas", 1, 2), ("hasuraCloud.protectProject", False, True)]:
        assert (keys[path].dev_default, keys[path].other_default) == (dev, other), path
    assert "query-log" in keys["hasura.logTypes"].dev_default
    assert "query-log" not in keys["hasura.logTypes"].other_default
    assert "pgdump" in keys["hasura.enabledApis"].dev_default
    assert "pgdump" not in keys["hasura.enabledApis"].other_default


def test_the_readers_follow_each_targets_declared_keys():
    keys = {key.path: key for section in settings_sections() for key in section.keys}
    assert keys["hasura.port"].targets == ("docker",)
    assert keys["hasura.publicUrl"].targets == ALL_TARGETS
    assert keys["postgres.protectVolume"].targets == ("docker",)
    assert keys["kubernetes.replicas"].targets == ("kubernetes",)
    assert keys["nhostToken"].targets == ("nhost",)
    assert keys["clerk.allowedSkew"].targets == ALL_TARGETS
    assert keys["hasuraAdminSecret"].targets == ("docker", "existing", "kubernetes", "hasura-cloud")


def test_every_example_is_a_valid_value_of_its_key():
    problems = []
    for section in settings_sections():
        for key in section.keys:
            if key.secret_env_var:
                continue
            assert key.example is not None, f"{key.path}: give it an example in EXAMPLES (scripts/docs_reference.py)"
            top, *rest = key.path.split(".")
            value = key.example
            for part in reversed(rest):
                value = {part: value}
            try:
                load_settings({"clerk": {"publishableKey": PK}, top: value} if top != "clerk" else {top: value}, {})
            except Exception as error:  # noqa: BLE001 - reported with the key below
                problems.append(f"{key.path}: {error}")
    assert problems == []


def test_secret_keys_name_their_environment_variable():
    keys = {key.path: key for section in settings_sections() for key in section.keys}
    assert {path: key.secret_env_var for path, key in keys.items() if key.secret_env_var} == SECRET_ENV_VARS


# --- outputs: what the program exports under Pulumi's mocks, on every target -----------------------------------

def _kubeconfig(path: Path) -> Path:
    path.write_text('{"apiVersion": "v1", "kind": "Config", "current-context": "local", "contexts": '
                    '[{"name": "local", "context": {"cluster": "local", "user": "local"}}]}')
    return path


@pytest.fixture
def runs(tmp_path, jwks_url, hasura_double_factory, postgres_database_url) -> dict[str, ProgramRun]:
    base = with_overrides(example_dev_config(jwks_url), {"clerkSecretKey": CLERK_SECRET_KEY})
    secret = ["clerkSecretKey", "hasuraAdminSecret", "hasuraCloudToken", "nhostToken"]
    existing_hasura = hasura_double_factory(jwt_secret=None, admin_secret=ADMIN_SECRET)
    cloud, nhost = HasuraCloudDouble().start(), NhostDouble(restart_seconds=0.0).start()
    try:
        project_id, _ = cloud.add_project({"PG_DATABASE_URL": postgres_database_url},
                                          endpoint="https://project.hasura.app/v1/graphql")
        nhost_hasura = hasura_double_factory(jwt_secret=None, admin_secret=ADMIN_SECRET)
        nhost.add_app("abcdefghijklmnopqrst", "eu-central-1", hasura=nhost_hasura,
                      secrets={"HASURA_GRAPHQL_ADMIN_SECRET": ADMIN_SECRET})
        nhost_metadata = Path(shutil.copytree(ROOT / "metadata", tmp_path / "nhost"))
        track_nhost_tables(nhost_metadata)
        no_containers = {"hasura": None, "postgres": None}
        scenarios = {
            "docker": ("dev", base, {}),
            "existing": ("dev", with_overrides(base, {
                "target": "existing", **no_containers, "hasura": {"publicUrl": existing_hasura.url},
                "hasuraAdminSecret": ADMIN_SECRET}), {}),
            "kubernetes": ("dev", with_overrides(base, {
                "target": "kubernetes", "postgres": None, "hasura": {"publicUrl": "https://graphql.example.com"},
                "kubernetes": {"skipAwait": True}}), {"KUBECONFIG": str(_kubeconfig(tmp_path / "kubeconfig"))}),
            "hasura-cloud": ("dev", with_overrides(base, {
                "target": "hasura-cloud", **no_containers, "hasuraCloudToken": cloud.token,
                "hasuraCloud": {"projectId": project_id, "apiUrl": cloud.url}}), {}),
            "nhost": ("dev", with_overrides(base, {
                "target": "nhost", **no_containers, "hasura": {"publicUrl": nhost_hasura.url}, "metadataDir": str(nhost_metadata), "nhostToken": nhost.token,
                "clerk.templatePreset": "nhost",
                "nhost": {"subdomain": "abcdefghijklmnopqrst", "region": "eu-central-1", "authUrl": nhost.auth_url,
                          "apiUrl": nhost.api_url}}), {}),
        }
        assert set(scenarios) == set(ALL_TARGETS)
        with ThreadPoolExecutor(len(scenarios)) as pool:
            futures = {target: pool.submit(run_program, stack, config, env=env, mock_outputs=MOCK_OUTPUTS,
                                           secret_keys=[key for key in secret if key in config])
                       for target, (stack, config, env) in scenarios.items()}
            return {target: future.result().check() for target, future in futures.items()}
    finally:
        cloud.stop()
        nhost.stop()


def test_every_exported_output_is_described_for_the_targets_that_export_it(runs):
    problems = []
    for target, run in runs.items():
        for name in sorted(run.outputs):
            if name not in OUTPUTS:
                problems.append(f"{name} (exported on {target}) has no description. Fix: add it to OUTPUTS in "
                                f"scripts/docs_reference.py, then run {REGENERATE}")
            elif target not in OUTPUTS[name].targets:
                problems.append(f"{name} is exported on {target}, which OUTPUTS does not list for it")
        for name, output in OUTPUTS.items():
            if target in output.targets and name not in run.outputs:
                problems.append(f"{name} is described for {target}, which does not export it")
    assert problems == [], "\n".join(problems)


def test_the_outputs_the_issue_names_are_in_the_reference():
    page = pages()[docs_reference.OUTPUTS_PAGE]
    for name in ("hasuraUrl", "internalGraphqlUrl", "hasuraCloudTenantId", "nhostAppId"):
        assert f"| `{name}` |" in page


def test_each_output_names_the_component_attribute_the_program_exports_as_it():
    attributes = output_attributes(PROGRAM.read_text())
    assert set(attributes) == set(OUTPUTS)
    assert attributes["hasuraAdminSecret"] == "admin_secret" and attributes["smoke"] == "smoke_report"
    assert attributes["dockerNetwork"] == 'target_outputs["dockerNetwork"]'
    declared = ClerkHasura.__annotations__
    assert [name for name in attributes.values() if name.split("[", 1)[0] not in declared] == []
    page = pages()[docs_reference.OUTPUTS_PAGE]
    assert "| `hasuraAdminSecret` | `admin_secret` |" in page


def test_an_export_the_program_adds_is_read_as_its_attribute():
    program = ('backend = ClerkHasura("backend", args)\n'
               'pulumi.export("graphqlUrl", backend.graphql_url)\n'
               'for name, value in backend.target_outputs.items():\n    pulumi.export(name, value)\n')
    attributes = output_attributes(program)
    assert attributes["graphqlUrl"] == "graphql_url" and attributes["nhostAppId"] == 'target_outputs["nhostAppId"]'
    assert "graphqlUrl" in output_attributes('pulumi.export("graphqlUrl", backend.graphql_url)\n')
    assert "nhostAppId" not in output_attributes('pulumi.export("graphqlUrl", backend.graphql_url)\n')


# --- the component's arguments ------------------------------------------------------------------------------------

def test_every_argument_mirrors_one_key_and_every_key_has_its_argument():
    arguments = [argument for group in argument_groups() for argument in group.arguments]
    keys = [key.path for section in settings_sections() for key in section.keys]
    assert sorted(argument.key.path for argument in arguments) == sorted(keys)
    by_path = {argument.path: argument.key for argument in arguments}
    assert by_path["clerk.allowed_skew"].path == "clerk.allowedSkew"
    assert by_path["kubernetes.postgres_storage.class_name"].path == "kubernetes.postgresStorage.className"
    assert by_path["hasura_cloud_token"].targets == ("hasura-cloud",)


def test_an_argument_is_described_by_its_settings_docstring_in_argument_terms():
    page = pages()[docs_reference.ARGUMENTS_PAGE]
    section = page.split("## `clerk_signing_key`", 1)[1].split("\n## ", 1)[0]
    # The docstring of `clerkSigningKey` names `clerk.signingAlgorithm`; told to a component user, its argument.
    assert "(`clerk.signing_algorithm`)" in section and "signingAlgorithm`)" not in section.split("| type |")[0]
    assert "[`clerkSigningKey`](settings.md#clerksigningkey)" in section and "Secret: kept secret" in section


def test_argument_types_are_written_as_a_consumer_writes_them():
    types = {argument.path: argument_type(argument.annotation)
             for group in argument_groups() for argument in group.arguments}
    # Plain types only: the package schema has neither literals nor unions (the allowed values are in the docstrings).
    assert types["clerk.jwks"] == "str"
    assert types["clerk.audience"] == "list[str]"
    assert types["hasura.cors_domains"] == "list[str]"
    assert types["kubernetes.ingress.annotations"] == "dict[str, str]"
    assert types["hasura.port"] == "int" and types["smoke.writes"] == "bool"


def test_a_default_only_null_removes_is_said_to_have_no_argument_form():
    from components.component import ClerkHasuraArgs, stack_config_of
    from components.targets.kubernetes.args import HasuraResourcesArgs, KubernetesArgs, ResourceQuantitiesArgs
    flagged = [argument.path for group in argument_groups() for argument in group.arguments
               if argument.null_removes_default]
    assert flagged == ["kubernetes.resources.requests.cpu", "kubernetes.resources.requests.memory",
                       "kubernetes.resources.limits.memory"]
    # What the page says: an argument of None is unset, so the setting keeps its default.
    args = ClerkHasuraArgs(target="kubernetes", kubernetes=KubernetesArgs(resources=HasuraResourcesArgs(
        requests=ResourceQuantitiesArgs(cpu=None))))
    assert load_settings(stack_config_of(args), {}).kubernetes.resources.requests.cpu == "250m"
