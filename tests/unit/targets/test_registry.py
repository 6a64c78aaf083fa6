"""The registry of targets: every target is one folder with its keys and the three functions, the `target` setting
allows exactly the registered names, the shared keys a target does not read are refused, and checking a stack loads no
provider SDK it does not deploy with."""

from __future__ import annotations

import base64
import importlib
import subprocess
import sys

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components.config.settings import TARGET_DEPENDENT_KEYS, SettingsError
from components.targets import (TARGET_NAMES, TARGETS, health_hint, load_settings, platform_schemas, stack_problems,
                                target_named)
from tests.fixtures.engine import ROOT


def test_every_registered_target_provides_problems_preflight_and_deploy():
    assert TARGET_NAMES == ("docker", "existing", "kubernetes", "hasura-cloud", "nhost")
    for name in TARGET_NAMES:
        module = target_named(name)
        assert all(callable(getattr(module, function, None))
                   for function in ("problems", "preflight", "deploy", "health_hint")), name


PROJECT_ID = "7a79cf94-0e53-4520-a560-1b02bf522f08"


@pytest.mark.parametrize(("raw", "hint"), [
    ({"target": "docker"}, "`docker logs clerk-hasura-staging-hasura`"),
    ({"target": "kubernetes"}, "`kubectl -n clerk-hasura-staging logs deploy/hasura`"),
    ({"target": "kubernetes", "kubernetes": {"namespace": "graphql", "context": "prod"}},
     "`kubectl --context prod -n graphql logs deploy/hasura`"),
    ({"target": "existing", "hasura": {"publicUrl": "https://graphql.example.com"}},
     "that Hasura's own logs, where it runs; https://graphql.example.com/healthz answers OK when it is healthy"),
    ({"target": "hasura-cloud", "hasuraCloud": {"projectId": PROJECT_ID}},
     f"project {PROJECT_ID} in the Hasura Cloud dashboard (https://cloud.hasura.io)"),
    ({"target": "nhost", "nhost": {"subdomain": "abcdefghijklmnopqrst", "region": "eu-central-1"}},
     "project abcdefghijklmnopqrst in the Nhost dashboard: whether it is paused, and its Hasura service's logs"),
])
def test_each_target_names_what_to_look_at_when_its_hasura_does_not_answer(raw, hint):
    assert hint in health_hint(load_settings(raw, environ={}), "clerk-hasura", "staging")


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


def test_every_shared_key_a_target_declares_is_a_shared_key_that_depends_on_the_target():
    """A misspelt entry of `SHARED_KEYS` or `UNREAD_KEYS` would refuse the key it meant to allow, or never be said."""
    settings = load_settings({}, environ={})
    keys = set()
    for section in TARGET_DEPENDENT_KEYS:
        value = getattr(settings, next(name for name, field in type(settings).model_fields.items()
                                       if (field.alias or name) == section))
        keys |= {section} | ({f"{section}.{field.alias or name}" for name, field in type(value).model_fields.items()}
                             if value is not None else set())
    for name in TARGET_NAMES:
        module = target_named(name)
        assert module.SHARED_KEYS <= keys, (name, module.SHARED_KEYS - keys)
        assert set(module.UNREAD_KEYS) <= keys - module.SHARED_KEYS, (name, set(module.UNREAD_KEYS) - keys)


def test_a_shared_key_a_target_does_not_declare_is_refused_naming_the_target():
    """The kubernetes target reads no host port: set, it is refused with the reason, not silently ignored; a key no
    target explains gets the plain refusal."""
    refused = stack_problems(load_settings({"target": "kubernetes", "hasura": {"port": 9000, "publicUrl":
                                                                                 "https://graphql.example.com"}},
                                           environ={}), "dev")
    assert refused == ["hasura.port: the `kubernetes` target ignores it: Hasura publishes no host port there; it "
                       "listens on 8080 behind the Service `hasura`. Fix: remove the key; the deploy and apps outside "
                       "the cluster use hasura.publicUrl"]
    assert stack_problems(load_settings({"target": "docker", "hasura": {"port": 9000}}, environ={}), "dev") == []


@pytest.mark.parametrize(("module", "provider"), [
    ("components.targets.nhost.jwt_secrets", "NhostJwtSecretsProvider"),
    ("components.targets.hasura_cloud.env_vars", "HasuraCloudEnvProvider"),
    ("components.targets.hasura_cloud.project", "HasuraCloudProjectProvider"),
])
def test_the_dynamic_providers_of_the_targets_keep_the_module_path_existing_state_holds(module, provider):
    """A dynamic provider is pickled into the state as a reference to its module: moving the module would break the
    refresh and destroy of every stack deployed before."""
    raw = base64.b64decode(serialize_provider(getattr(importlib.import_module(module), provider)()))
    assert len(raw) < 200 and module.encode() in raw and provider.encode() in raw
