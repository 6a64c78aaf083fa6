"""A new target is its folder and one line in the registry: a toy target added to a copy of the package gets its
settings object, its token and that token's environment variable, its keys refused on other targets, the shared keys
it does not read refused on it, its own problems, and a place in the import graph's rules, with no other file
touched."""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.unit.test_import_graph import ROOT, graph_problems, import_graph, registered_targets

REGISTRY_LINE = '    "nhost": "components.targets.nhost",\n'
TOY_LINE = '    "toy": "components.targets.toy",\n'

TOY_PACKAGE = '''"""Target `toy`: a Hasura at `toy.url`; it creates nothing."""

from __future__ import annotations

from pydantic import SecretStr

from components.targets.base import HasuraTarget
from components.targets.toy.settings import ToySettings

OWN_KEYS = {"toy": ToySettings, "toy_token": SecretStr}
SHARED_KEYS = frozenset({"hasuraAdminSecret"})
UNREAD_KEYS = {"postgres": "the `toy` target creates no Postgres. Fix: remove the key"}


def problems(settings, stack):
    return [] if settings.toy.url else ["toy.url: required with target `toy`. Fix: set it"]


def preflight(settings, environ):
    return None


def deploy(args):
    url = args.settings.toy.url
    return HasuraTarget(deployer_url=url, public_url=url, instance=url)


def health_hint(settings, project, stack):
    return f"the toy at {settings.toy.url}"
'''

TOY_SETTINGS = '''"""The `toy` stack config object."""

from components.config.base import StrictModel


class ToySettings(StrictModel):
    url: str | None = None
'''

PROGRAM = '''
import json
import components
from components.config.settings import SettingsError
from components.targets import SECRET_ENV_VARS, TOP_LEVEL_KEYS, load_settings, stack_problems, target_named

def problems(raw, environ={}):
    return stack_problems(load_settings(raw, environ=environ), "dev")

toy = load_settings({"target": "toy", "toy": {"url": "https://toy.example.com"}},
                    environ={"CLERK_HASURA_TOY_TOKEN": "from-ci"})
try:
    load_settings({"target": "toys"}, environ={})
except SettingsError as error:
    refused = str(error)
print(json.dumps({
    "package": components.__file__,
    "keys": TOP_LEVEL_KEYS,
    "env": SECRET_ENV_VARS,
    "token": toy.toy_token.get_secret_value(),
    "url": toy.toy.url,
    "refused": refused,
    "missing": problems({"target": "toy"}),
    "unread": problems({"target": "toy", "toy": {"url": "https://toy.example.com"}, "hasura": {"port": 9000},
                        "postgres": {"user": "app"}}),
    "elsewhere": problems({"target": "docker", "toy": {"url": "https://toy.example.com"}}),
    "deploys": callable(target_named("toy").deploy),
}))
'''


def differing_files(left: Path, right: Path) -> list[str]:
    """Files of the two trees that differ or are in one only, relative to them (caches left out)."""
    found = []

    def walk(comparison: filecmp.dircmp, prefix: str) -> None:
        found.extend(f"{prefix}{name}" for name in comparison.diff_files + comparison.left_only + comparison.right_only)
        for name, sub in comparison.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right, ignore=["__pycache__"]), "")
    return sorted(found)


def test_a_toy_target_needs_only_its_folder_and_one_registry_line(tmp_path):
    shutil.copytree(ROOT / "components", tmp_path / "components", ignore=shutil.ignore_patterns("__pycache__"))
    toy = tmp_path / "components" / "targets" / "toy"
    toy.mkdir()
    (toy / "__init__.py").write_text(TOY_PACKAGE)
    (toy / "settings.py").write_text(TOY_SETTINGS)
    registry = tmp_path / "components" / "targets" / "__init__.py"
    text = registry.read_text()
    assert text.count(REGISTRY_LINE) == 1
    registry.write_text(text.replace(REGISTRY_LINE, REGISTRY_LINE + TOY_LINE))

    assert differing_files(ROOT / "components", tmp_path / "components") == ["targets/__init__.py", "targets/toy"]
    assert len(registry.read_text().splitlines()) == len(text.splitlines()) + 1

    done = subprocess.run([sys.executable, "-c", PROGRAM], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert Path(seen["package"]).is_relative_to(tmp_path)
    assert {"toy", "toyToken"} <= set(seen["keys"])
    assert seen["env"]["toyToken"] == "CLERK_HASURA_TOY_TOKEN" and seen["token"] == "from-ci"
    assert seen["url"] == "https://toy.example.com"
    assert "'toy'" in seen["refused"]
    assert seen["missing"] == ["toy.url: required with target `toy`. Fix: set it"]
    assert seen["unread"] == [
        "hasura.port: the `toy` target does not read it, so this key would do nothing. Fix: remove it",
        "postgres.user: the `toy` target creates no Postgres. Fix: remove the key"]
    assert seen["elsewhere"] == ["toy.url: only the `toy` target reads it, and this stack's target is `docker`. "
                                 "Fix: remove the key (or set `target: toy`)"]
    assert seen["deploys"] is True

    assert "components.targets.toy" in registered_targets(import_graph(tmp_path))
    assert graph_problems(tmp_path) == []
