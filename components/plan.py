"""Everything a deploy needs, checked before the first resource is registered.

Pulumi starts creating resources as soon as the program registers them, so a problem found halfway through
the program would leave a half-built stack: every check runs here, first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.auth.jwt_secret import JwtSecret, clerk_problems, resolve_jwt_secret
from components.config.settings import SettingsError
from components.hasura.project import load_project
from components.hasura.model import MetadataProject
from components.smoke.target import preflight
from components.targets import StackSettings, load_settings, platform_schemas, stack_problems, target_named


def validate_stack_config(raw: Mapping[str, Any], stack: str,
                          environ: Mapping[str, str] | None = None) -> StackSettings:
    """Settings whose every object, and every combination of objects, is valid; or `SettingsError` listing all."""
    settings = load_settings(raw, environ)
    if problems := clerk_problems(settings) + stack_problems(settings, stack):
        raise SettingsError(problems)
    return settings


@dataclass(frozen=True)
class StackPlan:
    """What the stack is built from, all of it valid."""

    settings: StackSettings
    jwt_secret: JwtSecret
    metadata_project: MetadataProject
    target_preflight: Any = None
    """What the target's preflight found (`TargetArgs.preflight`)."""


def plan_stack(raw: Mapping[str, Any], stack: str, environ: Mapping[str, str] | None = None, *,
               project_dir: Path | None = None) -> StackPlan:
    """Validate the config, reach Clerk's JWKS, load and validate `metadataDir` (relative to `project_dir`, the
    project directory holding Pulumi.yaml; default the working directory, which the language host makes it) and the
    smoke token source, and run the target's preflight (what it deploys to); any failure is a `ClerkHasuraError`
    naming what to fix."""
    settings = validate_stack_config(raw, stack, environ)
    jwt_secret = resolve_jwt_secret(settings)
    metadata_dir = (Path.cwd() if project_dir is None else project_dir) / settings.metadata_dir
    metadata_project = load_project(metadata_dir, platform_schemas=platform_schemas(settings.target))
    preflight(settings, environ)
    # The target's preflight may read the metadata too (nhost): it gets the folder resolved here.
    found = target_named(settings.target).preflight(settings.model_copy(update={"metadata_dir": str(metadata_dir)}),
                                                    os.environ if environ is None else environ)
    return StackPlan(settings, jwt_secret, metadata_project, target_preflight=found)
