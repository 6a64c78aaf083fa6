"""The registry of targets: the values the `target` setting takes, the package that implements each, and the stack
settings assembled from the shared ones and every target's own keys.

A target is one folder here whose package provides `OWN_KEYS`, `SHARED_KEYS`, `UNREAD_KEYS`, `problems`, `preflight`
and `deploy` (`components.targets.base.Target`), and, when its platform creates tables of its own, `PLATFORM_SCHEMAS`
(`platform_schemas`). Adding a target is its folder, one line in `TARGETS` and its README section. What several
targets share (not a target) is in `shared/`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from components.config.settings import (TARGET_DEPENDENT_KEYS, SharedSettings, load_stack_settings, scalar_keys,
                                        secret_env_vars, stack_settings_model, top_level_keys)
from components.config.stack_checks import key_name
from components.targets.base import Target
# Each target's own settings as the `ClerkHasura` component's typed argument (`components.component`).
from components.targets.hasura_cloud.args import HasuraCloudArgs
from components.targets.kubernetes.args import (AutoscalingArgs, HasuraResourcesArgs, IngressArgs, KubernetesArgs,
                                                PostgresStorageArgs, ResourceQuantitiesArgs)
from components.targets.nhost.args import NhostArgs

#: By the value of the `target` setting, the package of each; the first is the default.
TARGETS: dict[str, ModuleType] = {name: importlib.import_module(module) for name, module in {
    "docker": "components.targets.docker",
    "existing": "components.targets.existing",
    "kubernetes": "components.targets.kubernetes",
    "hasura-cloud": "components.targets.hasura_cloud",
    "nhost": "components.targets.nhost",
}.items()}
TARGET_NAMES = tuple(TARGETS)
DEFAULT_TARGET = TARGET_NAMES[0]

#: One stack's settings: the shared ones and every target's own keys.
StackSettings = stack_settings_model(TARGET_NAMES, {key: kind for module in TARGETS.values()
                                                    for key, kind in module.OWN_KEYS.items()}, module=__name__)
#: Top-level stack config keys, those whose values are plain strings, and the environment variable that overrides
#: each secret (for CI).
TOP_LEVEL_KEYS = top_level_keys(StackSettings)
SCALAR_KEYS = scalar_keys(StackSettings)
SECRET_ENV_VARS = secret_env_vars(StackSettings)


def load_settings(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Any:
    """The stack settings (a `StackSettings`) from raw stack config (keys without the project prefix) and the secrets
    of `environ` (default: this process's environment), or `SettingsError` listing every problem."""
    return load_stack_settings(StackSettings, raw, os.environ if environ is None else environ)


def target_named(name: str) -> Target:
    """The package of target `name` (a value of `TARGET_NAMES`: the settings model allows no other)."""
    return TARGETS[name]  # type: ignore[return-value]


def health_hint(settings: SharedSettings, project: str, stack: str) -> str:
    """What to look at when the stack's Hasura does not answer, as its target names it (`Target.health_hint`)."""
    return target_named(settings.target).health_hint(settings, project, stack)


def platform_schemas(name: str) -> frozenset[str]:
    """The schemas whose tables target `name`'s platform creates itself (its `PLATFORM_SCHEMAS`), which the metadata
    may track without a migration creating them; none for a target that deploys to a bare Hasura."""
    return getattr(target_named(name), "PLATFORM_SCHEMAS", frozenset())


def stack_problems(settings: SharedSettings, stack: str) -> list[str]:
    """Every problem of the stack's target and its settings, each naming its key and the fix, grouped by top-level
    key in the order of the settings model."""
    found = (target_named(settings.target).problems(settings, stack) + unread_shared_key_problems(settings)
             + unread_object_problems(settings))
    order = {key: index for index, key in enumerate(TOP_LEVEL_KEYS)}
    return sorted(found, key=lambda problem: order.get(problem.split(":", 1)[0].split(".", 1)[0], len(order)))


def unread_object_problems(settings: SharedSettings) -> list[str]:
    """Keys set in a settings object that only another target reads."""
    problems = []
    for name, module in TARGETS.items():
        if name == settings.target:
            continue
        for field, kind in module.OWN_KEYS.items():
            model = getattr(settings, field)
            if not hasattr(model, "model_fields_set"):
                continue  # a token: CI may hand every stack every secret
            section = type(settings).model_fields[field].alias or field
            problems += [f"{section}.{key_name(model, key)}: only the `{name}` target reads it, and this stack's target is "
                         f"`{settings.target}`. Fix: remove the key (or set `target: {name}`)"
                         for key in sorted(model.model_fields_set)]
    return problems


def unread_shared_key_problems(settings: SharedSettings) -> list[str]:
    """Shared keys set that the stack's target does not read (not in its `SHARED_KEYS`): they would do nothing."""
    target = target_named(settings.target)
    reasons = target.UNREAD_KEYS
    problems = []
    for section in TARGET_DEPENDENT_KEYS:
        value = getattr(settings, _field(settings, section))
        keys = ([f"{section}.{key_name(value, key)}" for key in sorted(value.model_fields_set)]
                if hasattr(value, "model_fields_set") else [section] if value is not None else [])
        for key in keys:
            if key not in target.SHARED_KEYS and section not in target.SHARED_KEYS:
                reason = reasons.get(key) or reasons.get(section) or (
                    f"the `{settings.target}` target does not read it, so this key would do nothing. Fix: remove it")
                problems.append(f"{key}: {reason}")
    return problems


def _field(settings: SharedSettings, key: str) -> str:
    """The field name of top-level `key`."""
    return next(name for name, field in type(settings).model_fields.items() if (field.alias or name) == key)

