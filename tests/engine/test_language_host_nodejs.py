"""The stand-in Node.js language host (scripts/language-host/nodejs, built by scripts/build-pulumi next to the CLI)
runs a TypeScript program as the real host does: through the runner in the program's own @pulumi/pulumi (ts-node
compiling index.ts), with the stack's config and secret keys, project, stack, organization and dry-run reaching the
SDK, the program's output streamed, and its failures reported once; it installs the program's npm dependencies
(`pulumi install`) and generates a package's Node.js SDK with the CLI's own code generator.

Tiny programs in projects beside the `secretbox` package (its environment, whose HOME holds the npm cache the
session shares); tests/engine/test_component_provider.py covers `package add` (linking) and deployments.
"""

from __future__ import annotations

import json

import pytest

from tests.engine.test_component_provider import TSCONFIG, TYPESCRIPT_PACKAGE
from tests.fixtures.component_provider import ConsumerProject, PackageWorkspace

PROGRAM = """\
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
console.log(`program says hello (dry run: ${pulumi.runtime.isDryRun()})`);
if (config.getBoolean("fail")) {
    throw new Error("the program failed on purpose");
}
export const greeting = config.get("greeting");
export const token = config.requireSecret("token");
export const where = [pulumi.getProject(), pulumi.getStack(), pulumi.getOrganization()];
export const dryRun = pulumi.runtime.isDryRun();
"""


def _project(secretbox: PackageWorkspace, name: str) -> ConsumerProject:
    return secretbox.project(name, {"Pulumi.yaml": f"name: {name}\nruntime: nodejs\n",
                                    "package.json": json.dumps(TYPESCRIPT_PACKAGE, indent=2),
                                    "tsconfig.json": json.dumps(TSCONFIG, indent=2), "index.ts": PROGRAM})


@pytest.fixture(scope="module")
def program(secretbox) -> ConsumerProject:
    project = _project(secretbox, "tshost")
    installed = project.pulumi("install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (project.root / "node_modules" / "@pulumi" / "pulumi" / "cmd" / "run" / "index.js").is_file()
    assert project.pulumi("config", "set", "greeting", "hi").returncode == 0
    assert project.pulumi("config", "set", "--secret", "token", "s3cr3t-value").returncode == 0
    return project


def test_a_typescript_program_runs_with_its_config_secrets_and_identity(program):
    preview = program.pulumi("preview")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "program says hello (dry run: true)" in preview.stdout  # a preview runs the program as a dry run
    up = program.pulumi("up", "--yes")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "program says hello (dry run: false)" in up.stdout  # the program's stdout reaches the user
    outputs = json.loads(program.pulumi("stack", "output", "--json", "--show-secrets").stdout)
    assert outputs == {"greeting": "hi", "token": "s3cr3t-value", "where": ["tshost", "dev", "organization"],
                       "dryRun": False}
    assert json.loads(program.pulumi("stack", "output", "--json").stdout)["token"] == "[secret]"
    assert "s3cr3t-value" not in up.stdout + up.stderr


def test_a_failing_program_fails_the_update_with_its_error_once(program):
    assert program.pulumi("config", "set", "fail", "true").returncode == 0
    try:
        up = program.pulumi("up", "--yes")
    finally:
        assert program.pulumi("config", "rm", "fail").returncode == 0
    assert up.returncode != 0
    output = up.stdout + up.stderr
    assert output.count("Error: the program failed on purpose") == 1
    # Exit 32 of the runner means "already shown to the user": the host adds no second error.
    assert "Program exited with non-zero exit code" not in output


def test_without_its_npm_dependencies_installed_the_fix_is_named(secretbox):
    project = _project(secretbox, "tsnotinstalled")
    preview = project.pulumi("preview")
    assert preview.returncode != 0
    output = preview.stdout + preview.stderr
    assert "@pulumi/pulumi/cmd/run cannot be found from" in output
    assert "run `pulumi install`" in output


def test_an_unknown_runtime_option_is_named(secretbox):
    project = _project(secretbox, "tsbadoption")
    (project.root / "Pulumi.yaml").write_text("name: tsbadoption\nruntime:\n  name: nodejs\n  options:\n"
                                              "    nodeargs: --inspect\n")
    preview = project.pulumi("preview")
    assert preview.returncode != 0
    assert 'the runtime option "nodeargs" in Pulumi.yaml is not supported by the stand-in' in (preview.stdout
                                                                                              + preview.stderr)


def test_gen_sdk_writes_the_nodejs_package_of_a_component_provider(secretbox, tmp_path):
    generated = ConsumerProject(secretbox.base, secretbox.env).pulumi(
        "package", "gen-sdk", "./secretbox", "--language", "nodejs", "--out", str(tmp_path))
    assert generated.returncode == 0, generated.stderr
    sdk = tmp_path / "nodejs"
    files = sorted(str(path.relative_to(sdk)) for path in sdk.rglob("*") if path.is_file())
    assert files == [".gitattributes", ".gitignore", "README.md", "dynamicSecretBox.ts", "index.ts", "package.json",
                     "provider.ts", "secretBox.ts", "tsconfig.json", "utilities.ts"]
    manifest = json.loads((sdk / "package.json").read_text())
    assert manifest["name"] == "@pulumi/secretbox"
    assert manifest["pulumi"] == {"resource": True, "name": "secretbox", "version": "0.0.0"}
    module = (sdk / "secretBox.ts").read_text()
    assert "export class SecretBox extends pulumi.ComponentResource {" in module
    assert "length: pulumi.Input<number>;" in module
    assert "Missing required property 'length'" in module


def test_the_provider_packages_in_node_modules_are_the_programs_plugins(secretbox):
    # GetRequiredPackages: what `pulumi about` and the engine (before it runs the program) learn of the plugins a
    # program needs, from the package.json of each provider SDK installed; `pulumi install` is not needed for it.
    project = _project(secretbox, "tsplugins")
    for name, manifest in {"@pulumi/secretbox": {"name": "@pulumi/secretbox", "version": "0.0.0",
                                                 "pulumi": {"resource": True, "name": "secretbox"}},
                           "@acme/widgets": {"name": "@acme/widgets", "version": "1.2.3",
                                             "pulumi": {"resource": True, "name": "widgets", "version": "2.0.0"}},
                           "left-pad": {"name": "left-pad", "version": "1.3.0"}}.items():
        folder = project.root / "node_modules" / name
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(json.dumps(manifest))
    about = project.pulumi("about", "--json")
    assert about.returncode == 0, about.stderr
    reported = json.loads(about.stdout)
    assert sorted((p["name"], p["version"]) for p in reported["plugins"] if p["kind"] == "resource") == [
        ("secretbox", "0.0.0"), ("widgets", "2.0.0")]
    assert reported["runtime"]["language"] == "nodejs" and reported["runtime"]["executable"].endswith("/node")
