"""A real install: the wheel built from this checkout, installed (not editable) with its dependencies into a fresh
virtualenv, and a team's own Python program in its own project folder (tests/data/consumers/python-wheel, the one
docs/guides/use-from-your-program.md shows: its Pulumi.yaml naming that virtualenv, its own metadata/) using
`ClerkHasura`, on the real engine with the existing target against the Hasura and Clerk doubles (the fixtures of
tests/engine/test_existing.py). Nothing of this checkout is on the program's path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi import automation as auto

from tests.engine.test_existing import ADMIN_SECRET, hasura, metadata_dir  # noqa: F401 (fixtures)
from tests.fixtures.engine import ROOT, changes, smoke_passed

#: The team's project as the docs show it (docs/guides/use-from-your-program.md includes these files): its
#: Pulumi.yaml runs the program with the virtualenv ./venv, here the one the wheel was installed into.
TEAM_PROJECT = ROOT / "tests" / "data" / "consumers" / "python-wheel"


@pytest.fixture(scope="module")
def installed_venv(tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel of this checkout installed as a team installs it."""
    root = tmp_path_factory.mktemp("install")
    # Built from a copy: setuptools reuses a checkout's build/ folder.
    source = Path(shutil.copytree(ROOT, root / "source", ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache")))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir",
                            str(root / "dist"), str(source)], capture_output=True, text=True, cwd=root)
    assert built.returncode == 0, built.stderr
    (wheel,) = (root / "dist").glob("clerk_hasura-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                               capture_output=True, text=True, cwd=root, timeout=600)
    assert installed.returncode == 0, installed.stderr
    return venv


def test_a_team_program_deploys_the_installed_component_converges_and_destroys_to_nothing(
        installed_venv, engine_stack_factory, clerk_double, hasura, metadata_dir, tmp_path):
    team = Path(shutil.copytree(TEAM_PROJECT, tmp_path / "team-app"))
    (team / "venv").symlink_to(installed_venv, target_is_directory=True)
    shutil.copytree(metadata_dir, team / "metadata")
    # Nothing of this checkout on the program's path: the interpreter its Pulumi.yaml names, in its folder, with
    # the environment the engine gets, imports the component from the installed wheel.
    no_path = {"PYTHONPATH": ""}
    imported = subprocess.run([str(team / "venv" / "bin" / "python"), "-c",
                               "import components.component as c; print(c.__file__)"],
                              capture_output=True, text=True, cwd=team, env={"PATH": "/usr/bin:/bin", **no_path})
    assert imported.returncode == 0, imported.stderr
    assert Path(imported.stdout.strip()).resolve().is_relative_to(installed_venv.resolve())
    engine = engine_stack_factory(
        {"publishableKey": clerk_double.publishable_key, "jwksUrl": clerk_double.jwks_url,
         "clerkApiUrl": clerk_double.url, "hasuraUrl": hasura.url},
        secrets={"hasuraAdminSecret": ADMIN_SECRET, "clerkSecretKey": clerk_double.secret_key},
        env={"PULUMI_PYTHON_CMD": str(team / "venv" / "bin" / "python"), **no_path}, project_dir=team)

    # An invalid argument stops the preview before anything exists, named as the team's program spells it.
    engine.set_config("publishableKey", "pk_test_bogus")
    with pytest.raises(auto.CommandError):
        engine.preview()
    told = "".join(engine.log)
    assert ("clerk.publishable_key: does not decode (its part after `pk_test_`/`pk_live_` is not base64). Fix: copy "
            "the whole publishable key from the Clerk dashboard") in told, told
    assert "pulumi config" not in told and not engine.stack.export_stack().deployment.get("resources")
    engine.set_config("publishableKey", clerk_double.publishable_key)

    result = engine.up(refresh=True)
    assert result.summary.result == "succeeded", "".join(engine.log)
    outputs = engine.outputs()
    assert outputs["graphqlUrl"] == f"{hasura.url}/v1/graphql"
    assert outputs["appEnv"]["NEXT_PUBLIC_HASURA_GRAPHQL_URL"] == outputs["graphqlUrl"]
    assert smoke_passed(engine)["passed"]
    assert engine.secret_outputs() == {"hasuraAdminSecret"}
    assert ADMIN_SECRET not in engine.backend_text() + "".join(engine.log)
    types = {resource["type"] for resource in engine.resources()}
    assert "clerk-hasura:index:ClerkHasura" in types

    assert changes(engine.up(refresh=True)) == {}
    engine.preview(refresh=True, expect_no_changes=True)  # raises on any change

    assert engine.destroy().summary.result == "succeeded", "".join(engine.log)
    assert not engine.stack.export_stack().deployment.get("resources")
