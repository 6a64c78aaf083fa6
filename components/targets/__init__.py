"""The registry of targets: the values the `target` setting takes, and the module that implements each.

A target module provides `problems`, `preflight` and `deploy` (`components.targets.base.Target`), and, when its
platform creates tables of its own, `PLATFORM_SCHEMAS` (`platform_schemas`). Only the module of the stack's target is
imported, so a stack loads only its own provider SDK. Adding a target is its module, one entry here and its README
section.

Pure and light: the settings model reads `TARGET_NAMES` from here, so nothing here imports a target at load.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.config.settings import StackSettings
    from components.targets.base import Target


@dataclass(frozen=True)
class TargetEntry:
    module: str
    """The module implementing `components.targets.base.Target`."""
    settings_object: str | None = None
    """The top-level settings object (its field name on `StackSettings`) that only this target reads; set on any
    other target it would do nothing, so it is refused."""


#: By the value of the `target` setting; the first is the default.
TARGETS: dict[str, TargetEntry] = {
    "docker": TargetEntry("components.targets.docker"),
    "existing": TargetEntry("components.targets.existing"),
    "kubernetes": TargetEntry("components.targets.kubernetes", settings_object="kubernetes"),
    "hasura-cloud": TargetEntry("components.targets.hasura_cloud", settings_object="hasura_cloud"),
    "nhost": TargetEntry("components.targets.nhost", settings_object="nhost"),
}
TARGET_NAMES = tuple(TARGETS)
DEFAULT_TARGET = TARGET_NAMES[0]


def target_named(name: str) -> Target:
    """The module of target `name` (a value of `TARGET_NAMES`: the settings model allows no other)."""
    return importlib.import_module(TARGETS[name].module)  # type: ignore[return-value]


def platform_schemas(name: str) -> frozenset[str]:
    """The schemas whose tables target `name`'s platform creates itself (its module's `PLATFORM_SCHEMAS`), which the
    metadata may track without a migration creating them; none for a target that deploys to a bare Hasura."""
    return getattr(target_named(name), "PLATFORM_SCHEMAS", frozenset())


def stack_problems(settings: StackSettings, stack: str) -> list[str]:
    """Every problem of the stack's target and its settings, each naming its key and the fix."""
    return unread_object_problems(settings) + target_named(settings.target).problems(settings, stack)


def unread_object_problems(settings: StackSettings) -> list[str]:
    """Keys set in a settings object that only another target reads."""
    problems = []
    for name, entry in TARGETS.items():
        if entry.settings_object is None or name == settings.target:
            continue
        section = type(settings).model_fields[entry.settings_object].alias or entry.settings_object
        model = getattr(settings, entry.settings_object)
        fields = type(model).model_fields
        problems += [f"{section}.{fields[key].alias or key}: only the `{name}` target reads it, and this stack's "
                     f"target is `{settings.target}`. Fix: remove the key (or set `target: {name}`)"
                     for key in sorted(model.model_fields_set)]
    return problems
