"""The `clerk-hasura` command tree (components/cli): the console script, each subcommand's --help and exit codes, and
the one way every command finds the stack (`--stack` read with the pulumi CLI, the backend and the passphrase).

The pulumi CLI is a stand-in here that records how it is called (its real behaviour is the engine tests' and
tests/engine/test_deploy_end_to_end.py's); scripts/deploy's own checks are tests/unit/scripts/test_deploy.py's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from components.cli.main import COMMANDS, main as cli
from tests.pulumi_harness import PROJECT_DIR

SUBCOMMANDS = ("deploy", "status", "drift", "export", "smoke", "outputs", "pulumi")
UNREACHABLE = "http://127.0.0.1:9"


def stand_in_pulumi(directory: Path, *, stdout: str = "", exit_codes: dict[str, int] | None = None) -> Path:
    """A `pulumi` that appends its arguments and environment to calls.jsonl, prints `stdout` for `stack output` and
    `[]` for `stack ls`, and exits with `exit_codes[subcommand]` (default 0)."""
    directory.mkdir(exist_ok=True)
    script = directory / "pulumi"
    script.write_text(f"""#!{sys.executable}
import json, os, sys
with open({str(directory / "calls.jsonl")!r}, "a") as calls:
    calls.write(json.dumps({{"args": sys.argv[1:], "env": {{k: os.environ.get(k) for k in (
        "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_SKIP_UPDATE_CHECK")}}}}) + "\\n")
words = " ".join(sys.argv[1:3])
if words == "stack output":
    print({stdout!r})
elif words == "stack ls":
    print("[]")
sys.exit({exit_codes or {}!r}.get(sys.argv[1], 0))
""")
    script.chmod(0o755)
    return directory


def calls(directory: Path) -> list[dict]:
    path = directory / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_console_script_is_declared_and_installed():
    scripts = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"clerk-hasura": "components.cli.main:main"}
    installed = Path(sys.executable).parent / "clerk-hasura"
    completed = subprocess.run([str(installed), "--help"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    for name in SUBCOMMANDS:
        assert f"    {name} " in completed.stdout


def test_python_m_components_cli_is_the_same_command():
    completed = subprocess.run([sys.executable, "-m", "components.cli", "status", "--hasura-url", UNREACHABLE,
                                "--wait", "0"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60,
                               env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL)
    assert completed.returncode == 2
    assert "status could not be read: no Hasura admin secret" in completed.stderr


def test_the_tree_has_exactly_the_seven_subcommands():
    assert [command.__name__.rsplit(".", 1)[1] for command in COMMANDS] == list(SUBCOMMANDS)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help_naming_its_exit_codes(name, capsys):
    with pytest.raises(SystemExit) as exited:
        cli([name, "--help"])
    assert exited.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert help_text.startswith(f"usage: clerk-hasura {name}")
    assert "Exit" in help_text or "exit" in help_text


@pytest.mark.parametrize("argv", [[], ["deploi"], ["status", "--no-such-flag"]])
def test_a_wrong_command_line_exits_2_with_the_usage(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        cli(argv)
    assert exited.value.code == 2
    assert "usage: clerk-hasura" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "message"), [
    ("status", "status could not be read: no Hasura URL. Fix: pass --stack <stack> or --hasura-url"),
    ("drift", "drift check could not run: no Hasura URL. Fix: pass --stack <stack> or --hasura-url"),
    ("export", "export could not run: no Hasura URL. Fix: pass --stack <stack> or --hasura-url"),
    ("smoke", "smoke check could not run: no Hasura URL. Fix: pass --stack <stack> or --hasura-url"),
])
def test_a_reading_command_told_nothing_exits_2_naming_what_to_pass(name, message, capsys):
    assert cli([name], stdin=None, environ={}) == 2
    assert message in capsys.readouterr().err


def test_stack_reads_the_outputs_with_the_pulumi_cli_on_the_local_backend_with_the_dev_passphrase(
        tmp_path, monkeypatch, capsys):
    outputs = {"hasuraUrl": UNREACHABLE, "hasuraAdminSecret": "admin-secret-from-the-stack", "metadataDir": "metadata"}
    pulumi = stand_in_pulumi(tmp_path / "bin", stdout=json.dumps(outputs))
    monkeypatch.chdir(tmp_path)
    code = cli(["status", "--stack", "dev", "--project-dir", str(PROJECT_DIR / "metadata"), "--wait", "0"],
               stdin=None, environ={"PATH": str(pulumi)})
    assert code == 2  # the Hasura the outputs name does not answer
    err = capsys.readouterr().err
    assert UNREACHABLE in err and "admin-secret-from-the-stack" not in err
    assert calls(pulumi) == [{"args": ["stack", "output", "--json", "--show-secrets", "--non-interactive", "--stack",
                                       "dev"],
                              "env": {"PULUMI_BACKEND_URL": f"file://{tmp_path}/.pulumi-state",
                                      "PULUMI_CONFIG_PASSPHRASE": "clerk-hasura-dev",
                                      "PULUMI_SKIP_UPDATE_CHECK": "true"}}]


def test_stack_keeps_a_backend_and_passphrase_set_by_ci(tmp_path, monkeypatch, capsys):
    pulumi = stand_in_pulumi(tmp_path / "bin", stdout=json.dumps({"hasuraUrl": UNREACHABLE,
                                                                    "hasuraAdminSecret": "s"}))
    monkeypatch.chdir(tmp_path)
    cli(["smoke", "--stack", "staging", "--timeout", "1"], stdin=None,
        environ={"PATH": str(pulumi), "PULUMI_BACKEND_URL": "s3://team/clerk-hasura",
                 "PULUMI_CONFIG_PASSPHRASE": "staging passphrase"})
    [call] = calls(pulumi)
    assert call["env"]["PULUMI_BACKEND_URL"] == "s3://team/clerk-hasura"
    assert call["env"]["PULUMI_CONFIG_PASSPHRASE"] == "staging passphrase"
    assert "staging passphrase" not in "".join(capsys.readouterr())


@pytest.mark.parametrize(("environ", "message"), [
    ({"PULUMI_CONFIG_PASSPHRASE": ""}, "PULUMI_CONFIG_PASSPHRASE is set but empty: set it to stack 'staging''s "
                                       "passphrase (in CI: the secret PULUMI_CONFIG_PASSPHRASE of the GitHub "
                                       "environment 'staging')"),
    ({}, "stack 'staging' needs a passphrase for its secrets: set PULUMI_CONFIG_PASSPHRASE"),
])
def test_stack_without_the_passphrase_of_another_stack_exits_2_before_pulumi_runs(environ, message, tmp_path,
                                                                                monkeypatch, capsys):
    pulumi = stand_in_pulumi(tmp_path / "bin")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", None)  # no terminal to ask on
    assert cli(["drift", "--stack", "staging"], stdin=None, environ={"PATH": str(pulumi), **environ}) == 2
    assert message in capsys.readouterr().err
    assert calls(pulumi) == []


def test_stack_whose_outputs_cannot_be_read_exits_2(tmp_path, monkeypatch, capsys):
    pulumi = stand_in_pulumi(tmp_path / "bin", exit_codes={"stack": 255})
    monkeypatch.chdir(tmp_path)
    assert cli(["export", "--stack", "dev"], stdin=None, environ={"PATH": str(pulumi)}) == 2
    assert "export could not run: `pulumi stack output --stack dev` failed" in capsys.readouterr().err


def test_outputs_prints_the_stack_outputs_and_secrets_only_when_asked(tmp_path, monkeypatch, capsys):
    printed = '{"graphqlUrl": "http://h/v1/graphql", "hasuraAdminSecret": "[secret]"}'
    pulumi = stand_in_pulumi(tmp_path / "bin", stdout=printed)
    monkeypatch.chdir(tmp_path)
    assert cli(["outputs"], environ={"PATH": str(pulumi)}) == 0
    assert capsys.readouterr().out == printed + "\n"
    assert cli(["outputs", "dev", "--show-secrets"], environ={"PATH": str(pulumi)}) == 0
    assert [call["args"] for call in calls(pulumi)] == [
        ["stack", "output", "--json", "--non-interactive", "--stack", "dev"],
        ["stack", "output", "--json", "--non-interactive", "--stack", "dev", "--show-secrets"]]


def test_outputs_exits_2_when_pulumi_cannot_read_them(tmp_path, monkeypatch, capsys):
    pulumi = stand_in_pulumi(tmp_path / "bin", exit_codes={"stack": 255})
    monkeypatch.chdir(tmp_path)
    assert cli(["outputs", "dev"], environ={"PATH": str(pulumi)}) == 2
    assert "outputs could not be read: `pulumi stack output --stack dev` exited 255" in capsys.readouterr().err
    assert cli(["outputs", "dev"], environ={"PATH": str(tmp_path / "nowhere")}) == 2
    assert "the pulumi CLI is not on PATH" in capsys.readouterr().err


def test_deploy_passes_every_flag_to_pulumi_up_and_exits_with_its_failing_code(tmp_path, monkeypatch, capsys):
    (tmp_path / "Pulumi.staging.yaml").write_text("config:\n  clerk-hasura:target: existing\n")
    pulumi = stand_in_pulumi(tmp_path / "bin", exit_codes={"up": 255})
    monkeypatch.chdir(tmp_path)
    code = cli(["deploy", "staging", "--color", "never", "--yes"],
               environ={"PATH": str(pulumi), "PULUMI_CONFIG_PASSPHRASE": "p"})
    assert code == 255
    assert [call["args"] for call in calls(pulumi)][-1] == ["up", "--refresh", "--stack", "staging", "--color",
                                                            "never", "--yes"]
    assert "checking the deployed stack" not in capsys.readouterr().err  # no smoke check after a failed up


def test_deploy_without_a_stack_name_deploys_dev_and_a_missing_pulumi_exits_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  clerk-hasura:target: existing\n")
    monkeypatch.chdir(tmp_path)
    assert cli(["deploy", "--yes"], environ={"PATH": str(tmp_path / "nowhere")}) == 2
    err = capsys.readouterr().err
    assert "clerk-hasura deploy: cannot deploy; missing:\n  - the pulumi CLI: not found" in err
    assert "docker" not in err  # the existing target needs no Docker here
