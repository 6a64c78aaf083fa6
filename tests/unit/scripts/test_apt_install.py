"""scripts/apt-install: the one place that runs apt-get, under one lock, so the builds and tests scripts/test runs side
by side (the Kubernetes build's etcd-server beside the fast lane, the images' debootstrap, postgresql-15 and jq in
tests) wait for each other instead of failing on dpkg's lock."""

from __future__ import annotations

import re
import subprocess

from tests.fixtures.engine import ROOT

#: apt-get run: a shell command line (`apt-get …`, `DEBIAN_FRONTEND=… apt-get …`) or a Python argv (`["apt-get", …`).
APT_GET_RUN = re.compile(r"""^\s*(\w+=\S+\s+)*apt-get\s|\[\s*["']apt-get["']""")


def test_without_packages_it_says_how_to_call_it():
    done = subprocess.run([ROOT / "scripts" / "apt-install"], capture_output=True, text=True)
    assert done.returncode == 2 and "usage: scripts/apt-install PACKAGE..." in done.stderr


def test_no_script_or_test_runs_apt_get_but_apt_install():
    runs = []
    for path in [*sorted((ROOT / "scripts").glob("*")), *sorted((ROOT / "tests").rglob("*.py"))]:
        if path.is_file() and path.name not in ("apt-install", "test_apt_install.py"):
            runs += [f"{path.relative_to(ROOT)}: {line.strip()}"
                     for line in path.read_text(errors="replace").splitlines() if APT_GET_RUN.search(line)]
    assert runs == []
