"""`clerk-hasura pulumi --stack STACK …`: the pulumi CLI on PATH, run in the project directory with the stack, the
backend and the passphrase, every other argument and the terminal handed over as they are.

The pulumi CLI is a stand-in here that records how it is run; tests/engine/test_cli_pulumi.py runs the real one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components.cli.main import main as cli

CONSOLE_SCRIPT = Path(sys.executable).parent / "clerk-hasura"

#: Records its arguments, environment (DOCKER_HOST when set), working directory and what it reads on stdin; answers on
#: stdout and stderr; exits with STAND_IN_EXIT (default 0).
STAND_IN = f"""#!{sys.executable}
import json, os, sys
record = {{"args": sys.argv[1:], "cwd": os.getcwd(), "env": {{k: os.environ.get(k) for k in (
    "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_SKIP_UPDATE_CHECK")}}}}
if os.environ.get("DOCKER_HOST"):
    record["docker_host"] = os.environ["DOCKER_HOST"]
if os.environ.get("STAND_IN_READS_STDIN"):
    record["stdin"] = sys.stdin.read()
with open(os.path.join(os.path.dirname(sys.argv[0]), "calls.jsonl"), "a") as calls:
    calls.write(json.dumps(record) + "\\n")
print("pulumi says hello")
print("pulumi complains", file=sys.stderr)
sys.exit(int(os.environ.get("STAND_IN_EXIT", "0")))
"""

#: The docker CLI with Docker Desktop's context current: records its arguments, answers `context inspect`.
DOCKER_STAND_IN = f"""#!{sys.executable}
import json, os, sys
with open(os.path.join(os.path.dirname(sys.argv[0]), "docker-calls.jsonl"), "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:3] == ["context", "inspect"]:
    print("unix:///home/me/.docker/run/docker.sock")
"""


@pytest.fixture
def stand_in_bin(tmp_path: Path) -> Path:
    """A folder whose `pulumi` is the stand-in (the name the PATH lookup wants)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "pulumi").write_text(STAND_IN)
    (folder / "pulumi").chmod(0o755)
    return folder


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory (it holds Pulumi.yaml), the command run in a folder below it."""
    root = tmp_path / "project"
    (root / "metadata").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: clerk-hasura\nruntime: python\n")
    monkeypatch.chdir(root / "metadata")
    return root


def calls(folder: Path) -> list[dict]:
    path = folder / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_every_argument_goes_to_pulumi_after_the_stack_in_the_project_directory_on_the_local_backend(
        stand_in_bin, project):
    code = cli(["pulumi", "--stack", "dev", "config", "set", "--secret", "clerkSecretKey", "--", "-starts-with-dash"],
               environ={"PATH": str(stand_in_bin)})
    assert code == 0
    assert calls(stand_in_bin) == [{
        "args": ["--stack", "dev", "config", "set", "--secret", "clerkSecretKey", "--", "-starts-with-dash"],
        "cwd": str(project),
        # A fresh shell: the project's own backend (no Pulumi Cloud login) and the dev stack's default passphrase.
        "env": {"PULUMI_BACKEND_URL": f"file://{project}/.pulumi-state", "PULUMI_CONFIG_PASSPHRASE": "clerk-hasura-dev",
                "PULUMI_CONFIG_PASSPHRASE_FILE": None, "PULUMI_SKIP_UPDATE_CHECK": "true"}}]
    assert (project / ".pulumi-state").is_dir()  # the file backend wants its folder to exist
    assert not (project / "metadata" / ".pulumi-state").exists()


def test_a_pulumi_commands_own_help_reaches_pulumi(stand_in_bin, project):
    assert cli(["pulumi", "--stack=dev", "config", "--help"], environ={"PATH": str(stand_in_bin)}) == 0
    assert calls(stand_in_bin)[0]["args"] == ["--stack", "dev", "config", "--help"]


def test_a_backend_and_passphrase_set_in_the_environment_are_pulumis(stand_in_bin, project):
    cli(["pulumi", "--stack", "staging", "stack", "history"],
        environ={"PATH": str(stand_in_bin), "PULUMI_BACKEND_URL": "s3://team/clerk-hasura",
                 "PULUMI_CONFIG_PASSPHRASE_FILE": "/run/secrets/staging"})
    [call] = calls(stand_in_bin)
    assert call["env"]["PULUMI_BACKEND_URL"] == "s3://team/clerk-hasura"
    assert call["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"] == "/run/secrets/staging"
    assert call["env"]["PULUMI_CONFIG_PASSPHRASE"] is None
    assert not (project / ".pulumi-state").exists()


@pytest.fixture
def docker_stand_in(stand_in_bin: Path) -> Path:
    """The docker CLI beside the pulumi stand-in; its calls are in docker-calls.jsonl."""
    (stand_in_bin / "docker").write_text(DOCKER_STAND_IN)
    (stand_in_bin / "docker").chmod(0o755)
    return stand_in_bin / "docker-calls.jsonl"


def docker_calls(record: Path) -> list[list[str]]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def test_a_docker_stack_gets_the_engine_of_the_docker_clis_current_context(stand_in_bin, docker_stand_in, project):
    # As `clerk-hasura deploy` does: `pulumi up`, `refresh` or `destroy` reach the engine the docker CLI uses.
    assert cli(["pulumi", "--stack", "dev", "refresh"], environ={"PATH": str(stand_in_bin)}) == 0
    assert docker_calls(docker_stand_in) == [["context", "inspect", "--format", "{{.Endpoints.docker.Host}}"]]
    assert calls(stand_in_bin)[0]["docker_host"] == "unix:///home/me/.docker/run/docker.sock"


def test_a_docker_host_set_is_kept_and_a_stack_on_another_target_gets_none(stand_in_bin, docker_stand_in, project):
    path = str(stand_in_bin)
    cli(["pulumi", "--stack", "dev", "refresh"], environ={"PATH": path, "DOCKER_HOST": "tcp://10.0.0.5:2376"})
    (project / "Pulumi.staging.yaml").write_text("config:\n  clerk-hasura:target: existing\n")
    cli(["pulumi", "--stack", "staging", "refresh"], environ={"PATH": path, "PULUMI_CONFIG_PASSPHRASE": "p"})
    assert [call.get("docker_host") for call in calls(stand_in_bin)] == ["tcp://10.0.0.5:2376", None]
    assert docker_calls(docker_stand_in) == []


def test_the_terminal_is_pulumis_and_its_exit_code_is_the_commands(stand_in_bin, project):
    completed = subprocess.run(
        [str(CONSOLE_SCRIPT), "pulumi", "--stack", "staging", "config", "set", "--secret", "clerkSecretKey"],
        input="sk_test_typed_at_the_prompt\n", capture_output=True, text=True, timeout=60,
        env={"PATH": str(stand_in_bin), "PULUMI_CONFIG_PASSPHRASE": "staging passphrase", "STAND_IN_READS_STDIN": "1",
             "STAND_IN_EXIT": "7"})
    assert completed.returncode == 7
    assert completed.stdout == "pulumi says hello\n"
    assert completed.stderr == "pulumi complains\n"
    [call] = calls(stand_in_bin)
    assert call["stdin"] == "sk_test_typed_at_the_prompt\n"
    assert call["env"]["PULUMI_CONFIG_PASSPHRASE"] == "staging passphrase"


@pytest.mark.parametrize(("argv", "fix"), [
    (["pulumi"], "Fix: clerk-hasura pulumi --stack <stack> config"),
    (["pulumi", "config", "set", "x", "y"], "Fix: clerk-hasura pulumi --stack <stack> config set x y"),
    (["pulumi", "--stack"], "Fix: clerk-hasura pulumi --stack <stack> config"),
    (["pulumi", "--stack=", "stack", "ls"], "Fix: clerk-hasura pulumi --stack <stack> stack ls"),
])
def test_without_the_stack_first_it_is_refused_naming_the_command_to_run(argv, fix, stand_in_bin, project, capsys):
    assert cli(argv, environ={"PATH": str(stand_in_bin)}) == 2
    err = capsys.readouterr().err
    assert err.startswith("clerk-hasura pulumi: name the stack first. ")
    assert fix in err
    assert calls(stand_in_bin) == []


def test_another_stack_without_its_passphrase_is_refused_before_pulumi_runs(stand_in_bin, project, monkeypatch,
                                                                             capsys):
    monkeypatch.setattr(sys, "stdin", None)  # no terminal to ask on
    assert cli(["pulumi", "--stack", "staging", "config"], environ={"PATH": str(stand_in_bin)}) == 2
    assert "stack 'staging' needs a passphrase for its secrets: set PULUMI_CONFIG_PASSPHRASE" in \
        capsys.readouterr().err
    assert calls(stand_in_bin) == []


def test_outside_a_project_or_without_the_pulumi_cli_it_is_refused_with_the_fix(stand_in_bin, project, tmp_path,
                                                                               monkeypatch, capsys):
    assert cli(["pulumi", "--stack", "dev", "config"], environ={"PATH": str(tmp_path / "nowhere")}) == 2
    assert "the pulumi CLI: not found on PATH. Install it (https://www.pulumi.com/docs/install/" in \
        capsys.readouterr().err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli(["pulumi", "--stack", "dev", "config"], environ={"PATH": str(stand_in_bin)}) == 2
    assert "no Pulumi.yaml in this folder or any above it. Fix: run it in the clerk-hasura checkout" in \
        capsys.readouterr().err
    assert calls(stand_in_bin) == []


def test_its_help_is_this_commands_and_names_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as exited:
        cli(["pulumi", "--help"])
    assert exited.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert help_text.startswith("usage: clerk-hasura pulumi --stack STACK <pulumi arguments...>")
    assert "Exit codes: pulumi's own; 2 when refused" in help_text
