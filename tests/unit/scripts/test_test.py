"""scripts/test: the fast lane first, so a broken change fails before any build; then the Go builds with the
images built beside them; then every other test. `--fast` runs the fast lane alone.

Runs the real script in a copy of `scripts/` whose build scripts, `scripts/test-docker` and `.venv/bin/python` are
stand-ins recording their calls (no Go build, no dockerd, no pytest here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.fixtures.engine import ROOT

FAST_LANE = "not engine and not docker and not cluster and not root and not actionlint"


def _stand_in(path: Path, calls: Path, body: str = "") -> None:
    path.write_text(f'#!/bin/sh\necho "$(basename "$0") $*" >> "{calls}"\n{body}')
    path.chmod(0o755)


def _checkout(tmp_path: Path, *, fast_lane_exit: int = 0) -> tuple[Path, Path]:
    """A copy of scripts/test beside stand-ins; the stand-in pytest exits `fast_lane_exit` for the fast lane."""
    root, calls = tmp_path / "repo", tmp_path / "calls"
    (root / "scripts").mkdir(parents=True)
    (root / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "test", root / "scripts" / "test")
    for build in ("build-pulumi", "build-actionlint", "build-docker-provider", "build-kubernetes"):
        _stand_in(root / "scripts" / build, calls)
    # `images` is slow, so it is still running when the builds are done: it must be waited for.
    _stand_in(root / "scripts" / "test-docker", calls,
              f'[ "$1" = images ] && sleep 1 && echo "images done" >> "{calls}"\nexit 0\n')
    _stand_in(root / ".venv" / "bin" / "python", calls,
              f'case "$*" in *"-m {FAST_LANE}"*) exit {fast_lane_exit} ;; esac\nexit 0\n')
    return root, calls


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(root / "scripts" / "test"), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": "python3"})


def _steps(calls: Path) -> list[str]:
    """The calls without the installs."""
    return [line for line in calls.read_text().splitlines() if " pip install " not in line]


def test_the_fast_lane_runs_first_then_the_builds_beside_the_images_then_every_other_test(tmp_path):
    root, calls = _checkout(tmp_path)
    done = _run(root, "-q", "-k", "smoke")
    assert done.returncode == 0, done.stderr
    steps = _steps(calls)
    assert steps[0] == f"python -m pytest -n 4 -m {FAST_LANE} -q -k smoke"
    assert steps[1] == "test-docker start"
    builds = [step for step in steps if step.startswith("build-")]
    assert builds == ["build-actionlint ", "build-pulumi ", "build-docker-provider ",
                      "build-kubernetes control-plane provider node"]
    # No two apt-gets at once: actionlint's (shellcheck) is done before the images' (debootstrap) start.
    assert steps.index("build-actionlint ") < steps.index("test-docker images")
    assert steps.index("images done") < len(steps) - 1  # the images are waited for before the tests that use them
    assert steps[-1].startswith("python -c ") and steps[-1].endswith(f"-m not ({FAST_LANE}) -q -k smoke")
    assert "scripts/test: fast lane took" in done.stderr and "scripts/test: Go builds took" in done.stderr


def test_a_failing_fast_lane_stops_the_run_before_any_build(tmp_path):
    root, calls = _checkout(tmp_path, fast_lane_exit=1)
    done = _run(root, "-q")
    assert done.returncode == 1
    assert _steps(calls) == [f"python -m pytest -n 4 -m {FAST_LANE} -q"]


def test_fast_runs_the_fast_lane_alone_with_its_exit_code(tmp_path):
    root, calls = _checkout(tmp_path, fast_lane_exit=1)
    done = _run(root, "--fast", "-x")
    assert done.returncode == 1
    assert _steps(calls) == [f"python -m pytest -n 4 -m {FAST_LANE} -x"]
