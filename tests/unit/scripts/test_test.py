"""scripts/test: the fast lane first, so a broken change fails in minutes, with only the Kubernetes build beside it
at the lowest priority (stopped when the fast lane fails); then the Go builds the engine and Docker tests need, with
the images built beside them; then those tests; then, once the Kubernetes build is done, the cluster tests. `--fast`
runs the fast lane alone.

Runs the real script in a copy of `scripts/` whose build scripts, `scripts/test-docker` and `.venv/bin/python` are
stand-ins recording their calls (no Go build, no dockerd, no pytest here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.fixtures.engine import ROOT

FAST_LANE = "not engine and not docker and not cluster and not root and not actionlint"
ENGINE_ONLY = "engine and not docker and not cluster and not root and not actionlint"


def _stand_in(path: Path, calls: Path, body: str = "") -> None:
    path.write_text(f'#!/bin/sh\necho "$(basename "$0") $*" >> "{calls}"\n{body}')
    path.chmod(0o755)


def _checkout(tmp_path: Path, *, fast_lane_exit: int = 0, kubernetes_exit: int = 0) -> tuple[Path, Path]:
    """A copy of scripts/test beside stand-ins; the stand-in pytest exits `fast_lane_exit` for the fast lane, the
    Kubernetes build `kubernetes_exit`."""
    root, calls = tmp_path / "repo", tmp_path / "calls"
    (root / "scripts").mkdir(parents=True)
    (root / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "test", root / "scripts" / "test")
    for build in ("build-pulumi", "build-actionlint", "build-docker-provider"):
        _stand_in(root / "scripts" / build, calls)
    # Slow too: still running when the engine and Docker tests are done, so it must be waited for.
    _stand_in(root / "scripts" / "build-kubernetes", calls,
              f'sleep 2\necho "kubernetes built at nice $(nice)" >> "{calls}"\necho "go: build failed" >&2\n'
              f'exit {kubernetes_exit}\n')
    # `images` is slow, so it is still running when the builds are done: it must be waited for.
    _stand_in(root / "scripts" / "test-docker", calls,
              f'[ "$1" = images ] && sleep 1 && echo "images done" >> "{calls}"\nexit 0\n')
    _stand_in(root / ".venv" / "bin" / "python", calls,
              f'case "$*" in *"-m {FAST_LANE}"*) exit {fast_lane_exit} ;; esac\nexit 0\n')
    return root, calls


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(root / "scripts" / "test"), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": "python3"})


KUBERNETES_BUILD = "build-kubernetes control-plane provider node"


def _steps(calls: Path) -> list[str]:
    """The calls without the installs and the Kubernetes build's start (it runs beside the others from the start)."""
    return [line for line in calls.read_text().splitlines()
            if " pip install " not in line and line != KUBERNETES_BUILD]


def test_the_fast_lane_runs_first_then_the_builds_beside_the_images_then_every_other_test(tmp_path):
    root, calls = _checkout(tmp_path)
    done = _run(root, "-q", "-k", "smoke")
    assert done.returncode == 0, done.stderr
    steps = _steps(calls)
    assert steps[0] == f"python -m pytest -n 4 -m {FAST_LANE} -q -k smoke"
    assert steps[1] == "test-docker start"
    builds = [step for step in steps if step.startswith("build-")]
    assert builds == ["build-actionlint ", "build-pulumi ", "build-docker-provider "]
    assert KUBERNETES_BUILD in calls.read_text().splitlines()
    # The images are waited for before the tests; the real-engine tests that need nothing else run first, in three
    # workers, a file to a worker; then the others but the cluster's, in one process (they share the one dockerd);
    # the Kubernetes build, at the lowest priority, ends after those here, and is waited for before the cluster tests.
    engine_tests = steps.index(f"python -m pytest -n 3 --dist loadfile -m {ENGINE_ONLY} -q -k smoke")
    other_tests = steps.index(
        f"python -m pytest -m not ({FAST_LANE}) and not ({ENGINE_ONLY}) and not cluster -q -k smoke")
    assert steps.index("images done") < engine_tests < other_tests < steps.index("kubernetes built at nice 19")
    assert steps[-1].startswith("python -c ") and steps[-1].endswith("-m cluster -q -k smoke")
    assert "scripts/test: fast lane took" in done.stderr
    assert "scripts/test: real-engine tests (3 workers) took" in done.stderr


def test_a_failing_kubernetes_build_fails_the_run_with_its_output_before_the_cluster_tests(tmp_path):
    root, calls = _checkout(tmp_path, kubernetes_exit=1)
    done = _run(root, "-q")
    assert done.returncode == 1
    assert "go: build failed" in done.stderr and "scripts/build-kubernetes failed" in done.stderr
    assert not _steps(calls)[-1].endswith("-m cluster -q")


def test_a_failing_fast_lane_stops_the_run_before_any_other_build_and_stops_the_kubernetes_build(tmp_path):
    root, calls = _checkout(tmp_path, fast_lane_exit=1)
    done = _run(root, "-q")
    assert done.returncode == 1
    assert _steps(calls) == [f"python -m pytest -n 4 -m {FAST_LANE} -q"]
    time.sleep(3)  # the stand-in build would have finished by now
    assert "kubernetes built" not in calls.read_text()


def test_fast_runs_the_fast_lane_alone_with_its_exit_code(tmp_path):
    root, calls = _checkout(tmp_path, fast_lane_exit=1)
    done = _run(root, "--fast", "-x")
    assert done.returncode == 1
    assert _steps(calls) == [f"python -m pytest -n 4 -m {FAST_LANE} -x"]
