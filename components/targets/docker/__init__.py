"""Target `docker` (the default): Postgres and Hasura as containers on one Docker host, on a private network.

With `databaseUrl` set, Hasura uses that database and no Postgres container or volume is created. It reads every
shared key. The resources are in `resources`, imported by `deploy` only: checking settings loads no Docker SDK.
"""

from __future__ import annotations

from collections.abc import Mapping

from components.config.settings import SharedSettings
from components.config.stack_checks import key_name, secret_problems
from components.targets.base import HasuraTarget, TargetArgs
from components.targets.docker import daemon
from components.targets.docker.daemon import DockerEngine

#: No settings object or token of its own.
OWN_KEYS: dict[str, type] = {}
#: Every shared key configures the containers.
SHARED_KEYS = frozenset({"hasura", "postgres", "hasuraAdminSecret", "postgresPassword", "databaseUrl"})
UNREAD_KEYS: dict[str, str] = {}


def problems(settings: SharedSettings, stack: str) -> list[str]:
    """The configured secrets, and what spans the `hasura` and `postgres` objects; each names its key."""
    found = []
    if settings.database_url is not None:
        for key in sorted(settings.postgres.model_fields_set):
            found.append(f"postgres.{key_name(settings.postgres, key)}: `databaseUrl` replaces the Postgres "
                         "container, so this key would do nothing. Fix: remove the key (or remove databaseUrl to run "
                         "Postgres in Docker)")
        if settings.postgres_password is not None:
            found.append("postgresPassword: `databaseUrl` replaces the Postgres container and carries its own "
                         f"password. Fix: `clerk-hasura pulumi --stack {stack} config rm postgresPassword`")
    if settings.postgres.host_port is not None and settings.postgres.host_port == settings.hasura.port:
        found.append(f"postgres.hostPort: {settings.postgres.host_port} is already hasura.port; two containers "
                     "cannot publish the same host port. Fix: choose another port for one of them (e.g. 5432)")
    return found + secret_problems(settings, stack)


def preflight(settings: SharedSettings, environ: Mapping[str, str]) -> DockerEngine:
    return daemon.preflight(settings, environ)


def health_hint(settings: SharedSettings, project: str, stack: str) -> str:
    # The Hasura container's name (docker/engine.py: `<docker_name_prefix>-hasura`).
    name = f"{project}-{stack}-hasura"
    return f"`docker logs {name}`, and `docker ps -a --filter name={name}` for whether it runs"


def deploy(args: TargetArgs) -> HasuraTarget:
    from components.targets.docker.resources import deploy_docker

    return deploy_docker(args)
