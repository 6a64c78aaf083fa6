"""The stand-in Python language host (scripts/language-host, built by scripts/build-pulumi next to the CLI) runs a
program as the real host does: with the `virtualenv` of Pulumi.yaml, the stack's config and secret keys, project,
stack, organization and dry-run reaching the SDK, the program's output streamed, and its failures reported once.

A tiny program in a temporary project, run by the real CLI (`pulumi up` / `pulumi preview`) on a local backend.

For component packages (tests/data/component_provider, the `secretbox` fixture) it also runs a Python plugin in the
virtualenv it makes for it, and generates the package's Python SDK with the CLI's own code generator;
tests/engine/test_component_provider.py covers `package add` (linking) and deployments.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.component_provider import ConsumerProject

PROGRAM = """\
import pulumi

config = pulumi.Config()
print(f"program says hello (dry run: {pulumi.runtime.is_dry_run()})")
pulumi.export("greeting", config.get("greeting"))
pulumi.export("token", config.get_secret("token"))
pulumi.export("secretKeys", sorted(pulumi.runtime.get_config_secret_keys_env()))
pulumi.export("where", [pulumi.get_project(), pulumi.get_stack(), pulumi.get_organization()])
pulumi.export("dryRun", pulumi.runtime.is_dry_run())
if config.get_bool("fail"):
    raise ValueError("the program failed on purpose")
"""


@pytest.fixture
def project(tmp_path, pulumi_bin):
    root = tmp_path / "project"
    root.mkdir()
    # The project's virtualenv is this test run's (it has the pulumi SDK), as `virtualenv: venv` names it.
    (root / "venv").symlink_to(Path(sys.prefix))
    (root / "Pulumi.yaml").write_text("name: hosttest\nruntime:\n  name: python\n  options:\n"
                                      "    toolchain: pip\n    virtualenv: venv\n")
    (root / "__main__.py").write_text(PROGRAM)
    (tmp_path / "state").mkdir()
    env = {"PATH": os.pathsep.join([str(pulumi_bin), "/usr/local/bin", "/usr/bin", "/bin"]),
           "HOME": str(tmp_path), "PULUMI_HOME": str(tmp_path / "pulumi-home"),
           "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}", "PULUMI_CONFIG_PASSPHRASE": "host-test",
           "PULUMI_SKIP_UPDATE_CHECK": "true"}

    def pulumi(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pulumi", *args, "--non-interactive"], cwd=root, env=env, capture_output=True,
                              text=True, timeout=300)

    assert pulumi("stack", "init", "dev", "--secrets-provider", "passphrase").returncode == 0
    assert pulumi("config", "set", "greeting", "hi").returncode == 0
    assert pulumi("config", "set", "--secret", "token", "s3cr3t-value").returncode == 0
    pulumi.root = root
    return pulumi


def test_a_program_runs_in_the_projects_virtualenv_with_its_config_secrets_and_identity(project):
    preview = project("preview", "--color", "never")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "program says hello (dry run: True)" in preview.stdout  # a preview runs the program as a dry run
    up = project("up", "--yes", "--color", "never")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "program says hello (dry run: False)" in up.stdout  # the program's stdout reaches the user
    outputs = json.loads(project("stack", "output", "--json", "--show-secrets").stdout)
    assert outputs == {"greeting": "hi", "token": "s3cr3t-value", "secretKeys": ["hosttest:token"],
                       "where": ["hosttest", "dev", "organization"], "dryRun": False}
    assert "s3cr3t-value" not in up.stdout + up.stderr


def test_a_failing_program_fails_the_update_with_its_traceback_once(project):
    assert project("config", "set", "fail", "true").returncode == 0
    up = project("up", "--yes", "--color", "never")
    assert up.returncode != 0
    output = up.stdout + up.stderr
    assert output.count("ValueError: the program failed on purpose") == 1
    # Exit 32 of the exec shim means "already shown to the user": the host adds no second error.
    assert "Program exited with non-zero exit code" not in output


def test_a_missing_virtualenv_is_named_with_the_fix(project):
    (project.root / "venv").unlink()
    up = project("up", "--yes", "--color", "never")
    assert up.returncode != 0
    assert "the 'virtualenv' option in Pulumi.yaml is \"venv\"" in up.stdout + up.stderr
    assert "python3 -m venv" in up.stdout + up.stderr


def test_a_python_plugin_runs_in_its_own_virtualenv_and_serves_its_schema(secretbox):
    # `package get-schema <folder>`: InstallDependencies creates the plugin's `venv` (the default for plugins) from
    # its requirements.txt, then RunPlugin starts `venv/bin/python <folder> <engine>` and the CLI asks it for the
    # schema the component provider infers from the type annotations.
    got = ConsumerProject(secretbox.base, secretbox.env).pulumi("package", "get-schema", "./secretbox")
    assert got.returncode == 0, got.stderr
    assert (secretbox.plugin / "venv" / "bin" / "python").exists()
    # Installed from a copy: pip builds a local project in its folder (build/), where test processes installing the
    # checkout itself side by side collided.
    (installed,) = (secretbox.plugin / "venv").glob("lib/python*/site-packages/clerk_hasura-*.dist-info")
    assert json.loads((installed / "direct_url.json").read_text())["url"] == f"file://{secretbox.base}/clerk-hasura"
    schema = json.loads(got.stdout)
    assert (schema["name"], schema["version"]) == ("secretbox", "0.0.0")
    box = schema["resources"]["secretbox:index:SecretBox"]
    assert box["isComponent"] is True
    assert box["inputProperties"]["length"]["type"] == "integer" and box["requiredInputs"] == ["length"]
    assert box["properties"]["value"]["type"] == "string"


def test_gen_sdk_writes_the_python_package_of_a_component_provider(secretbox, tmp_path):
    generated = ConsumerProject(secretbox.base, secretbox.env).pulumi(
        "package", "gen-sdk", "./secretbox", "--language", "python", "--out", str(tmp_path))
    assert generated.returncode == 0, generated.stderr
    sdk = tmp_path / "python"
    assert sorted(str(path.relative_to(sdk)) for path in sdk.rglob("*") if path.is_file()) == [
        ".gitattributes", ".gitignore", "pulumi_secretbox/README.md", "pulumi_secretbox/__init__.py",
        "pulumi_secretbox/_utilities.py", "pulumi_secretbox/dynamic_secret_box.py", "pulumi_secretbox/provider.py",
        "pulumi_secretbox/pulumi-plugin.json", "pulumi_secretbox/py.typed", "pulumi_secretbox/secret_box.py",
        "setup.py"]
    assert json.loads((sdk / "pulumi_secretbox" / "pulumi-plugin.json").read_text()) == {
        "resource": True, "name": "secretbox", "version": "0.0.0"}
    module = (sdk / "pulumi_secretbox" / "secret_box.py").read_text()
    assert "class SecretBox(pulumi.ComponentResource):" in module
    assert "length: pulumi.Input[_builtins.int]" in module
    assert "Missing required property 'length'" in module
