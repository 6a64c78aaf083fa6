"""The wheel a team installs holds the whole package: every module of `components/`, subpackages included.

An editable install (what scripts/test and scripts/deploy use) imports from the checkout and would hide a module
left out of the wheel, so the wheel itself is built and read here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_holds_every_module_of_components(tmp_path: Path) -> None:
    # Built from a copy: setuptools reuses a checkout's build/ folder, which could still hold modules the current
    # configuration leaves out.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp_path), str(source)],
        capture_output=True, text=True, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("clerk_hasura-*.whl")
    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith("components/")}
    expected = {path.relative_to(ROOT).as_posix() for path in (ROOT / "components").rglob("*.py")}
    assert expected - shipped == set(), "modules missing from the wheel"
    assert {name for name in shipped if not name.endswith(".py")} == set(), "unexpected files in the wheel"
