"""The registry of targets: every target is one module with the three functions, the `target` setting allows exactly
the registered names, and checking a stack loads no provider SDK it does not deploy with."""

from __future__ import annotations

import subprocess
import sys

import pytest

from components.config.settings import SettingsError
from components.targets import load_settings
from components.targets import TARGET_NAMES, TARGETS, platform_schemas, target_named
from tests.fixtures.engine import ROOT


def test_every_registered_target_provides_problems_preflight_and_deploy():
    assert TARGET_NAMES == ("docker", "existing", "kubernetes", "hasura-cloud", "nhost")
    for name in TARGET_NAMES:
        module = target_named(name)
        assert all(callable(getattr(module, function, None)) for function in ("problems", "preflight", "deploy")), name


def test_only_nhost_owns_schemas_whose_tables_the_metadata_may_track_without_a_migration():
    assert {name: platform_schemas(name) for name in TARGET_NAMES} == {
        "docker": frozenset(), "existing": frozenset(), "kubernetes": frozenset(), "hasura-cloud": frozenset(),
        "nhost": frozenset({"auth", "storage"})}


def test_the_target_setting_allows_exactly_the_registered_names():
    with pytest.raises(SettingsError) as refused:
        load_settings({"target": "heroku"}, environ={})
    assert all(f"'{name}'" in str(refused.value) for name in TARGET_NAMES)
    for name in TARGET_NAMES:
        assert load_settings({"target": name}, environ={}).target == name


def test_each_settings_object_of_a_target_exists_on_the_settings_model():
    settings = load_settings({}, environ={})
    for module in TARGETS.values():
        for field, kind in module.OWN_KEYS.items():
            assert isinstance(getattr(settings, field), kind) or getattr(settings, field) is None, field


@pytest.mark.parametrize("target", ["docker", "kubernetes", "hasura-cloud"])
def test_checking_a_stack_loads_no_provider_sdk_on_any_target(target):
    """Settings problems are checked for every target, the kubernetes and docker ones included, without their SDKs:
    only their deploy loads them."""
    program = ("import sys\n"
               "from components.targets import load_settings\n"
               "from components.targets import stack_problems\n"
               f"settings = load_settings({{'target': {target!r}}}, environ={{}})\n"
               "stack_problems(settings, 'dev')\n"
               "print('pulumi_kubernetes' in sys.modules, 'pulumi_docker' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False False"
