"""The whole stack config checked at once, so a user sees every problem in one run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.container_settings import container_problems
from components.jwt_secret import clerk_problems
from components.settings import SettingsError, StackSettings, load_settings


def validate_stack_config(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> StackSettings:
    """Settings whose every object, and every combination of objects, is valid; or `SettingsError` listing all."""
    settings = load_settings(raw, environ)
    if problems := clerk_problems(settings) + container_problems(settings):
        raise SettingsError(problems)
    return settings
