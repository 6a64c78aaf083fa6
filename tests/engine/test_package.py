"""clerk-hasura as a component provider package (provider/, components/package.py), used on the real engine by
programs that are not this repository's own: the Pulumi YAML, TypeScript and Python programs of
tests/data/consumers/ (the ones the docs show), each adding the package with `pulumi package add` as a team does.

Each deploys `ClerkHasura` (target `existing`) to the Hasura double trusting the Clerk double: the metadata, the
Clerk JWT template and the smoke check are served by the package's own provider process under its own types
(`clerk-hasura:index:HasuraMetadata`, ...), the smoke check passes with a user token, the program reads the outputs,
no secret is in plaintext in the state or the CLI's output, `up --refresh` afterwards plans nothing and `destroy`
leaves nothing. Before that, an invalid input is refused at preview, named as the program spells it, with its fix.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

from tests.engine.test_existing import ADMIN_SECRET, hasura, metadata_dir, minted_tokens  # noqa: F401
from tests.fixtures.component_provider import ConsumerProject, PackageWorkspace
from tests.fixtures.engine import JWT, ROOT

CONSUMERS = ROOT / "tests" / "data" / "consumers"
PACKAGE_TYPES = {"pulumi:pulumi:Stack", "pulumi:providers:clerk-hasura", "clerk-hasura:index:ClerkHasura",
                 "clerk-hasura:index:HasuraMetadata", "clerk-hasura:index:ClerkJwtTemplate",
                 "clerk-hasura:index:SmokeCheck"}


def _consumer(package: PackageWorkspace, language: str) -> ConsumerProject:
    """The consumer program of `language`, with the package added as its header comment says."""
    files = {path.name: path.read_text() for path in (CONSUMERS / language).iterdir() if path.is_file()}
    project = package.project(f"{language}-consumer", files)
    added = project.pulumi("package", "add", str(Path("..") / package.plugin.relative_to(package.base)))
    assert added.returncode == 0, added.stdout + added.stderr
    return project


def _configure(project: ConsumerProject, clerk_double, hasura, metadata_dir: Path, publishable_key: str) -> None:
    for key, value in {"hasuraUrl": hasura.url, "publishableKey": publishable_key, "jwksUrl": clerk_double.jwks_url,
                       "clerkApiUrl": clerk_double.url, "metadataDir": str(metadata_dir)}.items():
        assert project.pulumi("config", "set", key, value).returncode == 0
    for key, value in {"hasuraAdminSecret": ADMIN_SECRET, "clerkSecretKey": clerk_double.secret_key}.items():
        assert project.pulumi("config", "set", "--secret", key, value).returncode == 0


def _resources(project: ConsumerProject) -> list[dict]:
    exported = project.pulumi("stack", "export")
    assert exported.returncode == 0, exported.stderr
    return json.loads(exported.stdout)["deployment"].get("resources") or []


def _outputs(project: ConsumerProject, *, show_secrets: bool) -> dict:
    shown = project.pulumi("stack", "output", "--json", *(["--show-secrets"] if show_secrets else []))
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _refused_at_preview_then_deployed_converged_and_destroyed(
        package: PackageWorkspace, project: ConsumerProject, clerk_double, hasura, metadata_dir: Path,
        minted_tokens: list[str]) -> dict:
    """The whole life of a consumer's stack; returns the outputs it read (secrets shown)."""
    # An invalid input: refused at preview, before anything exists, named as the program names it, with the fix.
    _configure(project, clerk_double, hasura, metadata_dir, "pk_test_bogus")
    preview = project.pulumi("preview")
    assert preview.returncode != 0
    told = preview.stdout + preview.stderr
    assert ("clerk.publishableKey: does not decode (its part after `pk_test_`/`pk_live_` is not base64). Fix: copy "
            "the whole publishable key from the Clerk dashboard") in told
    # No frame of the provider's code, no gRPC wrapping (a Python program's own SDK may print its traceback).
    assert "components/" not in told and "Unexpected <class" not in told and "pulumi config" not in told
    assert _resources(project) == []

    assert project.pulumi("config", "set", "publishableKey", clerk_double.publishable_key).returncode == 0
    up = project.pulumi("up", "--yes")
    assert up.returncode == 0, up.stdout + up.stderr

    resources = _resources(project)
    by_type = {resource["type"]: resource for resource in resources}
    assert set(by_type) == PACKAGE_TYPES
    # The engine may run the plugin as two providers: the component through the one its SDK asks for (a Python
    # SDK names its version: `default_0_1_0`), the hosted children through the package's `default`.
    package_providers = [r["urn"] for r in resources if r["type"] == "pulumi:providers:clerk-hasura"]
    assert len(resources) == len(PACKAGE_TYPES) - 1 + len(package_providers)
    for token in ("HasuraMetadata", "ClerkJwtTemplate", "SmokeCheck"):
        child = by_type[f"clerk-hasura:index:{token}"]
        # Served by the package's own provider process, with no pickled provider in the state.
        assert child["parent"] == by_type["clerk-hasura:index:ClerkHasura"]["urn"]
        assert child["provider"].rpartition("::")[0] in package_providers
        assert "__provider" not in child["inputs"] and "__provider" not in child["outputs"]
    smoke = by_type["clerk-hasura:index:SmokeCheck"]["outputs"]["report"]
    failed = {check["name"]: check["detail"] for check in smoke["checks"] if check.get("passed") is False}
    assert smoke["passed"] and not failed, failed
    assert {check["name"] for check in smoke["checks"] if check.get("passed")} >= {
        "token-accepted", "reads-own-row", "cannot-read-others", "forged-token-refused"}
    assert minted_tokens, "the smoke check signed a user in through the Clerk double"

    outputs = _outputs(project, show_secrets=True)
    assert outputs["graphqlUrl"] == f"{hasura.url}/v1/graphql"
    assert outputs["appEnv"]["NEXT_PUBLIC_HASURA_GRAPHQL_URL"] == f"{hasura.url}/v1/graphql"
    assert outputs["adminSecret"] == ADMIN_SECRET
    assert _outputs(project, show_secrets=False)["adminSecret"] == "[secret]"
    for secret in (ADMIN_SECRET, clerk_double.secret_key, *minted_tokens):
        assert secret not in up.stdout + up.stderr
        for path in package.state.rglob("*"):
            assert not path.is_file() or secret not in path.read_text(errors="replace"), path
    assert all(JWT.findall(path.read_text(errors="replace")) == [] for path in package.state.rglob("*")
               if path.is_file())

    # Converged: a refresh reads what the deploy left, and the program asks for the same.
    again = project.pulumi("up", "--refresh", "--yes", "--expect-no-changes")
    assert again.returncode == 0, again.stdout + again.stderr

    destroyed = project.pulumi("destroy", "--yes")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert _resources(project) == []
    return outputs


def test_a_yaml_program_adds_the_package_and_deploys_clerk_hasura(
        clerk_hasura_package, clerk_double, hasura, metadata_dir, minted_tokens):
    project = _consumer(clerk_hasura_package, "yaml")
    # A secret where the component keeps none (the JWKS URL, in `clerk`) is refused: its resources would hold it in
    # plaintext.
    _configure(project, clerk_double, hasura, metadata_dir, clerk_double.publishable_key)
    assert project.pulumi("config", "set", "--secret", "jwksUrl", clerk_double.jwks_url).returncode == 0
    preview = project.pulumi("preview")
    assert preview.returncode != 0
    assert "clerk.jwksUrl: came as a secret (or holds one), but ClerkHasura keeps only its secret inputs" in (
        preview.stdout + preview.stderr)
    assert _resources(project) == []
    assert project.pulumi("config", "set", "jwksUrl", clerk_double.jwks_url).returncode == 0  # plain again
    # An input that is an output of a resource this deployment creates is not known at preview: refused by name,
    # with the fix, though the preview itself goes through the engine without error from anything else.
    program = project.root / "Pulumi.yaml"
    as_added = program.read_text()
    with_second = yaml.safe_load(as_added)
    second = copy.deepcopy(with_second["resources"]["backend"])
    second["properties"]["hasura"]["publicUrl"] = "${backend.jwtTemplateId}"  # made by the first one's template
    with_second["resources"]["second"] = second
    program.write_text(yaml.safe_dump(with_second, sort_keys=False))
    preview = project.pulumi("preview")
    assert preview.returncode != 0
    assert ("hasura.publicUrl: is not known yet (at preview it is an output of a resource this deployment creates "
            "or changes); ClerkHasura checks every input before it creates anything, so it needs the value then. "
            "Fix: pass a value known before the deployment") in preview.stdout + preview.stderr
    assert _resources(project) == []
    program.write_text(as_added)
    outputs = _refused_at_preview_then_deployed_converged_and_destroyed(
        clerk_hasura_package, project, clerk_double, hasura, metadata_dir, minted_tokens)
    assert outputs["jwtTemplate"] == "hasura"
    assert outputs["smoke"]["passed"] is True


def test_a_typescript_program_deploys_it_through_the_generated_nodejs_sdk(
        clerk_hasura_package, clerk_double, hasura, metadata_dir, minted_tokens):
    project = _consumer(clerk_hasura_package, "typescript")
    manifest = json.loads((project.root / "package.json").read_text())
    assert manifest["dependencies"]["@pulumi/clerk-hasura"] == "file:sdks/clerk-hasura"
    outputs = _refused_at_preview_then_deployed_converged_and_destroyed(
        clerk_hasura_package, project, clerk_double, hasura, metadata_dir, minted_tokens)
    assert outputs["smokePassed"] is True


def test_a_python_program_deploys_it_through_the_generated_sdk(
        clerk_hasura_package, clerk_double, hasura, metadata_dir, minted_tokens):
    project = _consumer(clerk_hasura_package, "python")
    assert (project.root / "requirements.txt").read_text().splitlines()[-1] == "sdks/clerk-hasura"
    outputs = _refused_at_preview_then_deployed_converged_and_destroyed(
        clerk_hasura_package, project, clerk_double, hasura, metadata_dir, minted_tokens)
    assert outputs["smokePassed"] is True
