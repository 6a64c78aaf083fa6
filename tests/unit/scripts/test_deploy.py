"""scripts/deploy, run by dash (Debian's /bin/sh; no bash features), handing over to `clerk-hasura deploy`:
prerequisites reported up front, then the local backend, passphrase, stack and `pulumi up`.

Runs the real script in a copy of the project with stand-in `docker` and `pulumi` executables on PATH that record
how they are called, and an installed-looking .venv whose `clerk-hasura` is this checkout's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pulumi_harness import PROJECT_DIR

PLACEHOLDER_KEY = "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA"
#: The shell the script must run under: dash, Debian's /bin/sh (POSIX only, as macOS's bash 3.2 needs too).
DASH = shutil.which("dash") or "/bin/dash"
TOOLS = ("bash", "env", "grep", "cat", "mkdir", "head", "tail", "sort", "tee", "dirname", "sed")

RECORDER = """#!/usr/bin/env bash
python3 - "$0" "$@" <<'EOF'
import json, os, sys
with open(os.environ["CALLS_FILE"], "a") as calls:
    calls.write(json.dumps({"tool": os.path.basename(sys.argv[1]), "args": sys.argv[2:], "env": {
        k: os.environ.get(k) for k in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "DOCKER_HOST")}}) + "\\n")
EOF
"""
#: `docker version --format '{{.Server.APIVersion}}'` of Docker Engine 28.2 (API 1.50).
DOCKER_OK = RECORDER + """
case "$1" in
  version) echo 1.50 ;;
  context) echo unix:///home/me/.docker/run/docker.sock ;;
esac
"""
#: `pulumi stack ls --json` on a backend without stacks: an empty JSON array.
PULUMI = RECORDER + """
if [ "$1 $2" = "stack ls" ]; then echo '[]'; fi
"""
#: Docker Engine 19.03 speaks API 1.40, one below the minimum (20.10, API 1.41, what Debian 12 ships).
DOCKER_19_03 = """#!/usr/bin/env bash
echo 1.40
"""
DOCKER_20_10 = DOCKER_OK.replace("echo 1.50", "echo 1.41")
#: `pulumi stack ls --json` on a backend that already holds the stacks (the file backend's shape, names bare).
PULUMI_WITH_STACKS = RECORDER + """
if [ "$1 $2" = "stack ls" ]; then
  printf '[\\n  {\\n    "name": "dev",\\n    "current": false\\n  },\\n  {\\n    "name": "staging",\\n    "current": true\\n  }\\n]\\n'
fi
"""
DOCKER_NO_ENGINE = """#!/usr/bin/env bash
echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
exit 1
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's deploy inputs, with an installed-looking .venv and a real publishable key."""
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "scripts" / "deploy", root / "scripts" / "deploy")
    shutil.copy(PROJECT_DIR / "pyproject.toml", root / "pyproject.toml")
    dev_yaml = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()
    (root / "Pulumi.dev.yaml").write_text(dev_yaml.replace(PLACEHOLDER_KEY, "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k"))
    (root / ".venv" / "bin").mkdir(parents=True)
    # The venv's python runs only the post-deploy smoke command here: recorded, as the pulumi stand-in is.
    (root / ".venv" / "bin" / "python").write_text(RECORDER)
    (root / ".venv" / "bin" / "python").chmod(0o755)
    # What `pip install -e .` installs as the console script, run by this checkout's interpreter.
    (root / ".venv" / "bin" / "clerk-hasura").write_text(f'#!/bin/sh\nexec {sys.executable} -m components.cli "$@"\n')
    (root / ".venv" / "bin" / "clerk-hasura").chmod(0o755)
    (root / ".venv" / ".clerk-hasura-installed").write_text(
        hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest() + "\n")
    return root


def bin_dir(tmp_path: Path, **tools: str) -> Path:
    """A PATH directory with the basic tools plus the given stand-ins (name -> script)."""
    directory = tmp_path / "bin"
    directory.mkdir(exist_ok=True)
    for name in TOOLS:
        if not (directory / name).exists():
            (directory / name).symlink_to(shutil.which(name))
    (directory / "python3").unlink(missing_ok=True)
    (directory / "python3").symlink_to(sys.executable)
    for name, script in tools.items():
        (directory / name).write_text(script)
        (directory / name).chmod(0o755)
    return directory


def deploy(project: Path, path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    calls_file = project.parent / "calls.jsonl"
    calls_file.unlink(missing_ok=True)
    environment = {"PATH": str(path), "HOME": str(project.parent), "CALLS_FILE": str(calls_file), **env}
    completed = subprocess.run([DASH, str(project / "scripts" / "deploy"), *args], env=environment,
                               capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    calls = [json.loads(line) for line in calls_file.read_text().splitlines()] if calls_file.exists() else []
    return completed, calls


def test_the_script_runs_under_dash_and_is_posix_sh():
    assert Path(os.path.realpath(DASH)).name == "dash"
    assert (PROJECT_DIR / "scripts" / "deploy").read_text().startswith("#!/bin/sh\n")
    # shellcheck as a POSIX sh script: no bash arrays, `read -s`, `[[`, pipefail (scripts/build-actionlint installs it).
    assert shutil.which("shellcheck"), "shellcheck is missing (apt-get install shellcheck)"
    checked = subprocess.run(["shellcheck", "--shell=sh", str(PROJECT_DIR / "scripts" / "deploy")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout


def test_a_missing_python_is_named_before_anything_happens(project, tmp_path):
    completed, calls = deploy(project, bin_dir(tmp_path, docker=DOCKER_OK, pulumi=PULUMI),
                              PYTHON="python3.0-not-installed")
    assert completed.returncode == 2
    assert "Python 3.11 or newer: 'python3.0-not-installed' not found" in completed.stderr
    assert calls == [] and not (project / ".pulumi-state").exists()


def test_a_python_older_than_3_11_is_named(project, tmp_path):
    path = bin_dir(tmp_path, docker=DOCKER_OK, pulumi=PULUMI,
                   python3_10="#!/bin/sh\n[ \"$1\" = --version ] && echo 'Python 3.10.12'; exit 1\n")
    completed, calls = deploy(project, path, PYTHON="python3_10")
    assert completed.returncode == 2
    assert "Python 3.11 or newer: 'python3_10' is Python 3.10.12. Install a newer one" in completed.stderr
    assert calls == []


def test_every_missing_prerequisite_is_named_before_anything_happens(project, tmp_path):
    completed, calls = deploy(project, bin_dir(tmp_path))
    assert completed.returncode == 2
    assert "the docker CLI: not found" in completed.stderr
    assert "the pulumi CLI: not found" in completed.stderr
    assert calls == [] and not (project / ".pulumi-state").exists()


def test_an_unreachable_docker_engine_is_named(project, tmp_path):
    completed, calls = deploy(project, bin_dir(tmp_path, docker=DOCKER_NO_ENGINE, pulumi=PULUMI))
    assert completed.returncode == 2
    assert "a running Docker engine: the docker CLI cannot reach one (Cannot connect to the Docker daemon" \
           in completed.stderr
    assert "pulumi" not in completed.stderr.split("missing:")[1]
    assert calls == []


def test_the_dev_stack_deploys_with_a_local_backend_and_the_default_passphrase(project, tmp_path):
    completed, calls = deploy(project, bin_dir(tmp_path, docker=DOCKER_OK, pulumi=PULUMI), "--yes")
    assert completed.returncode == 0, completed.stderr
    pulumi_calls = [c for c in calls if c["tool"] == "pulumi"]
    assert [c["args"] for c in pulumi_calls] == [
        ["stack", "ls", "--json", "--non-interactive"],
        # Created, never selected: `pulumi …` without --stack keeps acting on the stack the user selected.
        ["stack", "init", "--secrets-provider", "passphrase", "--no-select", "--non-interactive", "dev"],
        # --refresh: the deploy compares with what is live, so it repairs drift.
        ["up", "--refresh", "--stack", "dev", "--yes"],
        ["stack", "output", "--json", "--show-secrets", "--stack", "dev"],
    ]
    # Every deploy ends with the standalone check, which needs no user token and writes nothing.
    assert [c["args"] for c in calls if c["tool"] == "python"] == [
        ["-m", "components.cli", "smoke", "--token-source", "none"]]
    for call in pulumi_calls:
        assert call["env"]["PULUMI_BACKEND_URL"] == f"file://{project}/.pulumi-state"
        assert call["env"]["PULUMI_CONFIG_PASSPHRASE"] == "clerk-hasura-dev"
        # The provider talks to the engine the docker CLI checked (here: its current context).
        assert call["env"]["DOCKER_HOST"] == "unix:///home/me/.docker/run/docker.sock"
    assert (project / ".pulumi-state").is_dir()
    assert "default passphrase" in completed.stderr


def test_another_stack_needs_a_passphrase(project, tmp_path):
    path = bin_dir(tmp_path, docker=DOCKER_OK, pulumi=PULUMI)
    completed, calls = deploy(project, path, "staging")
    assert completed.returncode == 2
    assert "stack 'staging' needs a passphrase for its secrets: set PULUMI_CONFIG_PASSPHRASE" in completed.stderr
    assert [c for c in calls if c["tool"] == "pulumi"] == []

    completed, calls = deploy(project, path, "staging", PULUMI_CONFIG_PASSPHRASE="correct horse battery")
    assert completed.returncode == 0, completed.stderr
    pulumi_calls = [c for c in calls if c["tool"] == "pulumi"]
    assert pulumi_calls[1]["args"][0:2] == ["stack", "init"] and pulumi_calls[1]["args"][-1] == "staging"
    assert pulumi_calls[2]["args"] == ["up", "--refresh", "--stack", "staging"]
    assert all(c["env"]["PULUMI_CONFIG_PASSPHRASE"] == "correct horse battery" for c in pulumi_calls)


def test_the_example_publishable_key_must_be_replaced_first(project, tmp_path):
    (project / "Pulumi.dev.yaml").write_text((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    completed, calls = deploy(project, bin_dir(tmp_path, docker=DOCKER_OK, pulumi=PULUMI))
    assert completed.returncode == 2
    assert "still holds the example Clerk publishable key" in completed.stderr
    assert [c for c in calls if c["tool"] == "pulumi"] == []


def test_an_explicit_docker_host_is_kept(project, tmp_path):
    completed, calls = deploy(project, bin_dir(tmp_path, docker=DOCKER_OK, pulumi=PULUMI),
                              DOCKER_HOST="tcp://10.0.0.5:2376")
    assert completed.returncode == 0, completed.stderr
    assert {c["env"]["DOCKER_HOST"] for c in calls if c["tool"] == "pulumi"} == {"tcp://10.0.0.5:2376"}


def test_a_stack_on_another_target_needs_no_docker(project, tmp_path):
    dev_yaml = (project / "Pulumi.dev.yaml").read_text()
    (project / "Pulumi.dev.yaml").write_text(dev_yaml.replace("config:\n", "config:\n  clerk-hasura:target: existing\n"))
    completed, calls = deploy(project, bin_dir(tmp_path, pulumi=PULUMI), "--yes")
    assert completed.returncode == 0, completed.stderr
    assert "docker" not in completed.stderr
    assert all(c["env"]["DOCKER_HOST"] is None for c in calls)


def test_the_script_is_executable_in_the_repository():
    assert os.access(PROJECT_DIR / "scripts" / "deploy", os.X_OK)


def test_an_existing_stack_is_neither_created_nor_selected(project, tmp_path):
    path = bin_dir(tmp_path, docker=DOCKER_OK, pulumi=PULUMI_WITH_STACKS)
    completed, calls = deploy(project, path, "dev", "--yes")
    assert completed.returncode == 0, completed.stderr
    commands = [c["args"][:2] for c in calls if c["tool"] == "pulumi"]
    assert commands == [["stack", "ls"], ["up", "--refresh"], ["stack", "output"]]
    assert all(c["args"][:2] != ["stack", "select"] for c in calls)


def test_an_engine_older_than_docker_20_10_is_refused_with_the_minimum(project, tmp_path):
    completed, calls = deploy(project, bin_dir(tmp_path, docker=DOCKER_19_03, pulumi=PULUMI))
    assert completed.returncode == 2
    assert "Docker Engine 20.10 (API 1.41) or newer: the engine the docker CLI reaches speaks API 1.40" \
        in completed.stderr
    assert calls == []

    completed, calls = deploy(project, bin_dir(tmp_path, docker=DOCKER_20_10, pulumi=PULUMI), "--yes")
    assert completed.returncode == 0, completed.stderr


def test_init_creates_only_the_backend_and_the_stack_so_secrets_can_be_set_before_the_first_deploy(project, tmp_path):
    # Nothing but the pulumi CLI (and the Python the command runs with) is needed: no Docker, the example key still
    # in place.
    (project / "Pulumi.dev.yaml").write_text((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    completed, calls = deploy(project, bin_dir(tmp_path, pulumi=PULUMI), "staging", "--init",
                              PULUMI_CONFIG_PASSPHRASE="correct horse battery")
    assert completed.returncode == 0, completed.stderr
    assert [c["args"] for c in calls] == [
        ["stack", "ls", "--json", "--non-interactive"],
        ["stack", "init", "--secrets-provider", "passphrase", "--no-select", "--non-interactive", "staging"]]
    assert (project / ".pulumi-state").is_dir()
    # The next step as a fresh shell runs it: the backend and passphrase are `clerk-hasura pulumi`'s to find.
    assert "clerk-hasura pulumi --stack staging config set --secret clerkSecretKey" in completed.stderr
    assert "export PULUMI" not in completed.stderr
    assert "correct horse battery" not in completed.stderr + completed.stdout


def test_a_backend_url_set_by_ci_is_used_instead_of_the_local_one(project, tmp_path):
    completed, calls = deploy(project, bin_dir(tmp_path, docker=DOCKER_OK, pulumi=PULUMI), "--yes",
                              PULUMI_BACKEND_URL="s3://team-bucket/clerk-hasura")
    assert completed.returncode == 0, completed.stderr
    assert {c["env"]["PULUMI_BACKEND_URL"] for c in calls if c["tool"] == "pulumi"} == {"s3://team-bucket/clerk-hasura"}
    assert not (project / ".pulumi-state").exists()


def test_the_smoke_report_is_also_written_where_deploy_smoke_report_says(project, tmp_path):
    report = tmp_path / "smoke.txt"
    (project / ".venv" / "bin" / "python").write_text(RECORDER + "\necho 'PASS  healthz'\n")
    completed, _ = deploy(project, bin_dir(tmp_path, docker=DOCKER_OK, pulumi=PULUMI), "--yes",
                          DEPLOY_SMOKE_REPORT=str(report))
    assert completed.returncode == 0, completed.stderr
    assert report.read_text() == "PASS  healthz\n"
    assert "PASS  healthz" in completed.stdout


def test_the_example_key_comment_goes_away_with_the_readme_edit():
    """The README's `perl -pi` edit replaces the key; no comment may still call the new key a placeholder."""
    edited = (PROJECT_DIR / "Pulumi.dev.yaml").read_text().replace(PLACEHOLDER_KEY, "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k")
    assert "placeholder" not in edited.lower()
    assert "REPLACE" not in edited


def test_an_empty_passphrase_is_refused_as_a_missing_ci_secret(project, tmp_path):
    completed, calls = deploy(project, bin_dir(tmp_path, docker=DOCKER_OK, pulumi=PULUMI), "staging", "--yes",
                              PULUMI_CONFIG_PASSPHRASE="")
    assert completed.returncode == 2
    assert "PULUMI_CONFIG_PASSPHRASE is set but empty" in completed.stderr
    assert "the secret PULUMI_CONFIG_PASSPHRASE of the GitHub environment 'staging'" in completed.stderr
    assert [c for c in calls if c["tool"] == "pulumi"] == []


def test_a_failing_standalone_check_fails_the_deploy_and_its_report_is_still_kept(project, tmp_path):
    report = tmp_path / "smoke.txt"
    (project / ".venv" / "bin" / "python").write_text(RECORDER + "\necho 'FAIL  anonymous-refused'\nexit 1\n")
    completed, _ = deploy(project, bin_dir(tmp_path, docker=DOCKER_OK, pulumi=PULUMI), "--yes",
                          DEPLOY_SMOKE_REPORT=str(report))
    assert completed.returncode == 1  # the check's own exit code, through the pipe
    assert report.read_text() == "FAIL  anonymous-refused\n"
