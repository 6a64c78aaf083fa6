"""A stack deployed by the previous release's program upgrades to the current one with no replace and no delete, on
the real engine (existing target, the Hasura and Clerk doubles of tests/engine/test_existing.py).

The previous release (`PREVIOUS_RELEASE`: `ClerkHasuraStack`, type `clerk-hasura:backend_stack:ClerkHasuraStack`,
built from a plan validated by `__main__.py`) is taken from git into a project folder and run there by the language
host, as `pulumi up` runs it, with its own `components` (PYTHONPATH: the dynamic providers too). Then the current
`__main__.py` and `components/` replace it in the same folder, on the same state.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from tests.engine.test_existing import ADMIN_SECRET, existing_config, hasura, metadata_dir  # noqa: F401 (fixtures)
from tests.fixtures.engine import ROOT, changes, smoke_passed

PREVIOUS_RELEASE = "bd4517b"
PROJECT_FILE = "name: clerk-hasura\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: venv\n"


def program_folder(root: Path) -> Path:
    """A project folder holding the previous release's program, run with this test run's virtualenv."""
    root.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", PREVIOUS_RELEASE, "__main__.py", "components"],
                             capture_output=True, check=True).stdout
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(root, filter="data")
    (root / "Pulumi.yaml").write_text(PROJECT_FILE)
    (root / "venv").symlink_to(Path(sys.prefix))
    return root


def install_current_program(root: Path) -> None:
    shutil.rmtree(root / "components")
    shutil.copytree(ROOT / "components", root / "components", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "__main__.py", root / "__main__.py")


def test_a_stack_of_the_previous_program_upgrades_with_no_replace_and_no_delete_then_converges(
        engine_stack_factory, clerk_double, hasura, metadata_dir, tmp_path):
    project = program_folder(tmp_path / "program")
    assert "ClerkHasuraStack" in (project / "components" / "stack.py").read_text()
    engine = engine_stack_factory(existing_config(clerk_double, hasura.url, metadata_dir), project_dir=project,
                                  secrets={"hasuraAdminSecret": ADMIN_SECRET,
                                           "clerkSecretKey": clerk_double.secret_key},
                                  env={"PYTHONPATH": str(project)})
    first = engine.up(refresh=True)
    assert first.summary.result == "succeeded", "".join(engine.log)
    previous = {resource["urn"] for resource in engine.resources()}
    assert any(urn.endswith("clerk-hasura:backend_stack:ClerkHasuraStack::backend") for urn in previous)
    outputs = engine.outputs()

    install_current_program(project)
    hasura.reset_counts()
    upgrade = engine.up(refresh=True)
    assert upgrade.summary.result == "succeeded", "".join(engine.log)
    summary = changes(upgrade)
    assert {op: n for op, n in summary.items() if "replace" in str(op) or "delete" in str(op)} == {}, summary
    assert summary.get("create", 0) == 0, summary

    current = {resource["urn"] for resource in engine.resources()}
    assert len(current) == len(previous)
    assert any(urn.endswith("clerk-hasura:index:ClerkHasura::backend") for urn in current)
    assert not any("ClerkHasuraStack" in urn for urn in current)
    assert engine.outputs().keys() == outputs.keys()
    assert {name: engine.outputs()[name] for name in outputs if name != "smoke"} == \
        {name: value for name, value in outputs.items() if name != "smoke"}
    smoke_passed(engine)

    assert changes(engine.up(refresh=True)) == {}
    engine.preview(refresh=True, expect_no_changes=True)  # raises on any change
