"""Everything a deploy needs, checked before the first resource is registered.

Pulumi starts creating resources as soon as the program registers them, so a problem found halfway through
the program would leave a half-built stack: every check runs here, first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.config.stack_checks import stack_problems
from components.hasura.loader import PROJECT_DIR
from components.auth.jwt_secret import JwtSecret, clerk_problems, resolve_jwt_secret
from components.hasura.loader import MetadataProject, load_project
from components.config.settings import SettingsError, StackSettings, load_settings
from components.smoke.target import preflight
from components.targets import existing


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


def plan_stack(raw: Mapping[str, Any], stack: str, environ: Mapping[str, str] | None = None) -> StackPlan:
    """Validate the config, reach Clerk's JWKS (and an existing Hasura, or read the kubeconfig), load and validate
    `metadata/` and the smoke token source; any failure is a `ClerkHasuraError` naming what to fix."""
    settings = validate_stack_config(raw, stack, environ)
    jwt_secret = resolve_jwt_secret(settings)
    metadata_project = load_project(PROJECT_DIR.parent / settings.metadata_dir)
    preflight(settings, environ)
    if settings.target == "existing":
        existing.preflight(settings)
    if settings.target == "kubernetes":
        # Imported here: only this target loads the Kubernetes SDK.
        from components.targets.kubernetes import kubeconfig

        kubeconfig.preflight(settings.kubernetes, os.environ if environ is None else environ)
    return StackPlan(settings, jwt_secret, metadata_project)
