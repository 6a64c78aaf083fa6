"""The Docker engine the docker target deploys to, as found at preview (before anything is created).

Stub: the engine API version check is being written; until then every engine counts as current.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.config.settings import StackSettings


@dataclass(frozen=True)
class DockerEngine:
    api_version: str
    """The engine's Docker API version, e.g. "1.41" (Docker 20.10) or "1.45" (Docker 26)."""


def preflight(settings: StackSettings, environ: Mapping[str, str]) -> DockerEngine:
    return DockerEngine(api_version="1.45")
