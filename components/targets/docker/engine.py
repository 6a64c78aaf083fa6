"""Hasura GraphQL Engine v2 in Docker, started only once Postgres is healthy, trusting Clerk's tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.config.containers import HasuraSettings
from components.targets.docker.daemon import DockerEngine
from components.targets.docker.health import health_check
from components.targets.shared.hasura_env import CONTAINER_PORT, hasura_environment


@dataclass(frozen=True)
class EngineArgs:
    settings: HasuraSettings
    stack: str
    """Stack name: decides the console/dev-mode/log/API defaults."""
    docker_name: str
    network_name: pulumi.Input[str]
    network_alias: str
    """The name app containers on the network reach Hasura by."""
    database_url: pulumi.Input[str]
    """Secret; Hasura's metadata database and the app database (`PG_DATABASE_URL`)."""
    admin_secret: pulumi.Input[str]
    """Secret."""
    jwt_secret: pulumi.Input[str]
    """The `HASURA_GRAPHQL_JWT_SECRET` JSON (secret when it holds a key)."""
    depends_on: Sequence[pulumi.Resource]
    """Created only after these (the Postgres container, which is created healthy)."""
    labels: dict[str, str]
    engine: DockerEngine
    """The Docker engine found at preview: decides the health check's form."""


class Engine(pulumi.ComponentResource):
    """The Hasura container, published on `bindAddress:port`, healthy on `/healthz` before create returns."""

    container: docker.Container
    url: pulumi.Output[str]
    """Base URL from the machine running the deploy (http://127.0.0.1:<port> unless bound elsewhere)."""

    def __init__(self, name: str, args: EngineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("clerk-hasura:engine:Engine", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)

        image = docker.RemoteImage(f"{name}-image", name=settings.image, keep_locally=True, opts=child)
        envs = pulumi.Output.all(args.database_url, args.admin_secret, args.jwt_secret).apply(
            lambda values: hasura_environment(settings, args.stack, database_url=values[0], admin_secret=values[1],
                                              jwt_secret=values[2]))
        self.container = docker.Container(
            f"{name}-container",
            name=f"{args.docker_name}-hasura",
            image=image.image_id,
            envs=pulumi.Output.secret(envs),
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name, aliases=[args.network_alias])],
            ports=[docker.ContainerPortArgs(internal=CONTAINER_PORT, external=settings.port, ip=settings.bind_address)],
            healthcheck=health_check(
                ["CMD", "curl", "-fsS", "-o", "/dev/null", f"http://127.0.0.1:{CONTAINER_PORT}/healthz"], args.engine),
            wait=True,
            # SIGTERM starts Hasura's graceful shutdown (in-flight requests finish); Docker kills only after this.
            stop_timeout=30,
            destroy_grace_seconds=30,
            # Hasura exits when it cannot fetch Clerk's JWKS at start; `restart` retries it within this window.
            wait_timeout=180,
            restart="unless-stopped",
            labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(args.labels.items())],
            # See database.py: health check changes and unhealthy creates need a new container, deleted first.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                replace_on_changes=["*"], delete_before_replace=True, depends_on=list(args.depends_on))),
        )
        self.url = pulumi.Output.from_input(settings.local_url())
        self.register_outputs({"url": self.url})
