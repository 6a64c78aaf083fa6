"""`clerk-hasura pulumi --stack …` with the real pulumi CLI, from a fresh shell: no PULUMI_* variable, an empty home
(no Pulumi Cloud login), the project's local backend."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.fixtures.engine import ROOT

CONSOLE_SCRIPT = os.path.join(os.path.dirname(sys.executable), "clerk-hasura")


def test_config_set_then_get_on_the_local_backend_from_a_fresh_shell(tmp_path, pulumi_bin):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.pathsep.join([str(pulumi_bin), "/usr/bin", "/bin"]), "HOME": str(home)}

    def clerk_hasura(*words: str) -> subprocess.CompletedProcess:
        return subprocess.run([CONSOLE_SCRIPT, *words], cwd=project, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120)

    created = clerk_hasura("deploy", "dev", "--init")  # what every walkthrough runs first
    assert created.returncode == 0, created.stderr
    assert "pulumi --stack dev config set --secret clerkSecretKey" in created.stderr

    stored = clerk_hasura("pulumi", "--stack", "dev", "config", "set", "x", "y")
    assert stored.returncode == 0, stored.stderr
    read = clerk_hasura("pulumi", "--stack", "dev", "config", "get", "x")
    assert read.returncode == 0, read.stderr
    assert read.stdout == "y\n"

    assert 'clerk-hasura:x: "y"' in (project / "Pulumi.dev.yaml").read_text()
    assert (project / ".pulumi-state" / ".pulumi" / "stacks" / "clerk-hasura" / "dev.json").is_file()
    assert "login" not in stored.stderr + read.stderr and "PULUMI_ACCESS_TOKEN" not in stored.stderr + read.stderr
    assert not (home / ".pulumi" / "credentials.json").exists()
