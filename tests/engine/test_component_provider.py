"""A Python component package (tests/data/component_provider: PulumiPlugin.yaml, runtime python) used from other
projects through `pulumi package add <folder>`, on the real engine: a YAML program, and a Python and a TypeScript
program each using the SDK that `package add` generates (the TypeScript one through the stand-in Node.js language
host, scripts/language-host/nodejs, with @pulumi/pulumi and TypeScript from the npm registry). Each deploys the component, whose child is the project's generated secret
(components.providers.generated_secret.GeneratedSecretProvider); the secret reaches the program's outputs as a
secret and is nowhere in plaintext in the state; `up --refresh` afterwards plans nothing; `destroy` leaves nothing.

pulumi/pulumi#5455 (dynamic providers inside a multi-language component), measured here: the same child made as a
`pulumi.dynamic.Resource` fails for both consumers, because the engine runs the dynamic provider
(`pulumi-resource-pulumi-python`) in the consumer's environment, not the component provider's: the YAML consumer's
`python3` has no `pulumi`, the Python consumer's virtualenv has no `components`. Served by the component provider
itself under the package's own type (components/providers/hosted.py), it works for both.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import yaml

from tests.fixtures.component_provider import ConsumerProject, PackageWorkspace

YAML_PROGRAM = """\
name: {name}
runtime: yaml
config:
  length:
    type: integer
    default: 32
resources:
  box:
    type: secretbox:{component}
    properties:
      length: ${{length}}
outputs:
  value: ${{box.value}}
"""

PYTHON_PROGRAM = """\
import pulumi
import pulumi_secretbox as secretbox

Box = secretbox.DynamicSecretBox if pulumi.Config().get_bool("dynamic") else secretbox.SecretBox
box = Box("box", length=32)
pulumi.export("value", box.value)
"""

TYPESCRIPT_PROGRAM = """\
import * as pulumi from "@pulumi/pulumi";
import * as secretbox from "@pulumi/secretbox";

const box = new secretbox.SecretBox("box", { length: new pulumi.Config().getNumber("length") ?? 32 });
export const value = box.value;
"""

# What `pulumi new typescript` writes, with the SDK this CLI's release line serves on npm and no ts-node: the
# runner in @pulumi/pulumi brings its own when the program has none.
TYPESCRIPT_PACKAGE = {"name": "tsconsumer", "main": "index.ts", "dependencies": {"@pulumi/pulumi": "3.276.0"},
                      "devDependencies": {"@types/node": "^20", "typescript": "~5.9.3"}}
TSCONFIG = {"compilerOptions": {"strict": True, "outDir": "bin", "target": "es2020", "module": "commonjs",
                                "moduleResolution": "node", "sourceMap": True, "experimentalDecorators": True,
                                "pretty": True, "noFallthroughCasesInSwitch": True, "noImplicitReturns": True,
                                "forceConsistentCasingInFileNames": True},
            "files": ["index.ts"]}


def _yaml_project(secretbox: PackageWorkspace, name: str, component: str) -> ConsumerProject:
    project = secretbox.project(name, {"Pulumi.yaml": YAML_PROGRAM.format(name=name, component=component)})
    added = project.pulumi("package", "add", "../secretbox")
    assert added.returncode == 0, added.stdout + added.stderr
    assert yaml.safe_load((project.root / "Pulumi.yaml").read_text())["packages"] == {"secretbox": "../secretbox"}
    return project


def _python_project(secretbox: PackageWorkspace, name: str) -> ConsumerProject:
    project = secretbox.project(name, {
        "Pulumi.yaml": f"name: {name}\nruntime:\n  name: python\n  options:\n    toolchain: pip\n"
                       "    virtualenv: venv\n",
        "requirements.txt": f"pulumi=={version('pulumi')}\n",
        "__main__.py": PYTHON_PROGRAM,
    })
    # Generates the Python SDK into sdks/secretbox, links it into requirements.txt and installs it into the
    # project's new virtualenv.
    added = project.pulumi("package", "add", "../secretbox")
    assert added.returncode == 0, added.stdout + added.stderr
    assert "import pulumi_secretbox as secretbox" in added.stdout
    assert (project.root / "requirements.txt").read_text().splitlines() == [f"pulumi=={version('pulumi')}",
                                                                             "sdks/secretbox"]
    assert (project.root / "sdks" / "secretbox" / "pulumi_secretbox" / "secret_box.py").is_file()
    assert (project.root / "venv" / "bin" / "python").exists()
    return project


def _typescript_project(secretbox: PackageWorkspace, name: str) -> ConsumerProject:
    project = secretbox.project(name, {
        "Pulumi.yaml": f"name: {name}\nruntime: nodejs\n",
        "package.json": json.dumps(TYPESCRIPT_PACKAGE, indent=2),
        "tsconfig.json": json.dumps(TSCONFIG, indent=2),
        "index.ts": TYPESCRIPT_PROGRAM,
    })
    # Generates the Node.js SDK into sdks/secretbox, adds it to package.json (npm install file:sdks/secretbox) and
    # installs the project's dependencies, the SDK's postinstall compiling it with tsc.
    added = project.pulumi("package", "add", "../secretbox")
    assert added.returncode == 0, added.stdout + added.stderr
    assert 'import * as secretbox from "@pulumi/secretbox";' in added.stdout
    manifest = json.loads((project.root / "package.json").read_text())
    assert manifest["dependencies"]["@pulumi/secretbox"] == "file:sdks/secretbox"
    assert (project.root / "sdks" / "secretbox" / "secretBox.ts").is_file()
    assert (project.root / "node_modules" / "@pulumi" / "secretbox" / "bin" / "index.js").is_file()
    return project


def _resources(project: ConsumerProject) -> list[dict]:
    exported = project.pulumi("stack", "export")
    assert exported.returncode == 0, exported.stderr
    return json.loads(exported.stdout)["deployment"].get("resources") or []


def _deploys_converges_and_destroys(secretbox: PackageWorkspace, project: ConsumerProject) -> None:
    up = project.pulumi("up", "--yes")
    assert up.returncode == 0, up.stdout + up.stderr

    value = json.loads(project.pulumi("stack", "output", "--json", "--show-secrets").stdout)["value"]
    assert len(value) == 32 and value.isalnum()
    assert json.loads(project.pulumi("stack", "output", "--json").stdout)["value"] == "[secret]"
    by_type = {resource["type"]: resource for resource in _resources(project)}
    assert set(by_type) == {"pulumi:pulumi:Stack", "pulumi:providers:secretbox", "secretbox:index:SecretBox",
                            "secretbox:index:GeneratedSecret"}
    child = by_type["secretbox:index:GeneratedSecret"]
    assert child["parent"] == by_type["secretbox:index:SecretBox"]["urn"]
    # Served by the package's own provider, with no pickled provider in the state.
    assert child["provider"].startswith(by_type["pulumi:providers:secretbox"]["urn"] + "::")
    assert "__provider" not in child["inputs"] and "__provider" not in child["outputs"]
    assert child["outputs"]["length"] == 32 and "ciphertext" in child["outputs"]["value"]
    assert "ciphertext" in by_type["pulumi:pulumi:Stack"]["outputs"]["value"]
    for path in secretbox.state.rglob("*"):
        assert not path.is_file() or value not in path.read_text(errors="replace"), path
    assert value not in up.stdout + up.stderr

    # Converged: a refresh reads the same, the program asks for the same, and the secret is kept.
    again = project.pulumi("up", "--refresh", "--yes", "--expect-no-changes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(project.pulumi("stack", "output", "--json", "--show-secrets").stdout)["value"] == value

    destroyed = project.pulumi("destroy", "--yes")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert _resources(project) == []


def test_a_yaml_program_adds_the_package_and_deploys_it(secretbox):
    project = _yaml_project(secretbox, "yamlconsumer", "SecretBox")
    # The child's provider check (GeneratedSecretProvider.check) refuses a bad length at preview, through the
    # package's provider, before anything is created.
    assert project.pulumi("config", "set", "length", "10").returncode == 0
    preview = project.pulumi("preview")
    assert preview.returncode != 0
    assert "must be a whole number between 24 and 256, got 10" in preview.stdout + preview.stderr
    assert _resources(project) == []
    assert project.pulumi("config", "rm", "length").returncode == 0
    _deploys_converges_and_destroys(secretbox, project)


def test_a_python_program_deploys_it_through_the_generated_sdk(secretbox):
    _deploys_converges_and_destroys(secretbox, _python_project(secretbox, "pythonconsumer"))


def test_a_dynamic_resource_in_the_component_fails_for_a_yaml_program(secretbox):
    # The engine starts the `pulumi-python` dynamic provider for the YAML project: `python3` from PATH, in the
    # project's folder; the component provider's virtualenv is not involved.
    project = _yaml_project(secretbox, "yamldynamic", "DynamicSecretBox")
    up = project.pulumi("up", "--yes")
    assert up.returncode != 0
    assert "No module named 'pulumi'" in up.stdout + up.stderr
    assert "pulumi:providers:pulumi-python" in up.stdout


def test_a_dynamic_resource_in_the_component_fails_for_a_python_program(secretbox):
    # Here the dynamic provider runs with the consumer's virtualenv (PULUMI_RUNTIME_VIRTUALENV from its
    # Pulumi.yaml): it has pulumi and the generated SDK, not the module the provider class was pickled from.
    project = _python_project(secretbox, "pythondynamic")
    assert project.pulumi("config", "set", "dynamic", "true").returncode == 0
    up = project.pulumi("up", "--yes")
    assert up.returncode != 0
    output = up.stdout + up.stderr
    assert "ModuleNotFoundError: No module named 'components'" in output
    assert "pulumi-python:dynamic/generated_secret:GeneratedSecret" in output


def test_a_typescript_program_deploys_it_through_the_generated_sdk(secretbox):
    project = _typescript_project(secretbox, "tsconsumer")
    # The argument's error reaches the TypeScript program's preview, naming the argument, before anything exists.
    assert project.pulumi("config", "set", "length", "10").returncode == 0
    preview = project.pulumi("preview")
    assert preview.returncode != 0
    # A JavaScript number reaches the Python provider as a float, hence the "10.0" of the reason.
    assert ("'box-secret': property length value {10} has a problem: must be a whole number between 24 and 256"
            in preview.stdout + preview.stderr)
    assert _resources(project) == []
    assert project.pulumi("config", "rm", "length").returncode == 0
    _deploys_converges_and_destroys(secretbox, project)
