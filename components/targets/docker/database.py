"""PostgreSQL in Docker: a pinned image, a data volume that outlives the container, a health check.

Postgres sets its superuser password only when it initializes an empty data directory, but the
volume outlives containers and `pulumi destroy` (and a generated password does not). So the
container starts through a small wrapper that, once the server accepts TCP connections, sets the
role's password from `POSTGRES_PASSWORD`; the health check reports healthy only after that, and
Hasura is created only once Postgres is healthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_docker as docker

from components.config.containers import PostgresSettings
from components.targets.docker.daemon import DockerEngine
from components.targets.docker.health import health_check
from components.targets.shared.postgres_entrypoint import ENTRYPOINT_SCRIPT, PASSWORD_SYNCED_MARKER

#: The name Hasura (and app containers on the network) reach Postgres by.
NETWORK_ALIAS = "postgres"
PORT = 5432
DATA_DIRECTORY = "/var/lib/postgresql/data"
ENTRYPOINT_PATH = "/usr/local/bin/clerk-hasura-postgres-entrypoint.sh"


@dataclass(frozen=True)
class DatabaseArgs:
    settings: PostgresSettings
    docker_name: str
    """Prefix of every Docker object name, carrying project and stack (e.g. `clerk-hasura-dev`)."""
    network_name: pulumi.Input[str]
    password: pulumi.Input[str]
    """Secret."""
    protect_volume: bool
    labels: dict[str, str]
    engine: DockerEngine
    """The Docker engine found at preview: decides the health check's form."""


class Database(pulumi.ComponentResource):
    """Postgres on the stack's private network; published on 127.0.0.1 only when `hostPort` is set."""

    container: docker.Container
    volume: docker.Volume
    internal_url: pulumi.Output[str]
    """Secret connection URL for containers on the stack network (what Hasura uses)."""
    host_url: pulumi.Output[str | None]
    """Secret connection URL from the Docker host, when `hostPort` is set; else None."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("clerk-hasura:database:Database", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        labels = [docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(args.labels.items())]

        image = docker.RemoteImage(f"{name}-image", name=settings.image, keep_locally=True, opts=child)
        self.volume = docker.Volume(
            f"{name}-data",
            name=f"{args.docker_name}-pgdata",
            labels=[docker.VolumeLabelArgs(label=k, value=v) for k, v in sorted(args.labels.items())],
            # The data must survive `pulumi destroy` and any replacement: retained always; protected (destroy
            # refuses) on stacks that matter. A later `up` adopts the retained volume by its name.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                retain_on_delete=True, protect=args.protect_volume)),
        )
        password = pulumi.Output.secret(args.password)
        self.container = docker.Container(
            f"{name}-container",
            name=f"{args.docker_name}-postgres",
            image=image.image_id,
            envs=pulumi.Output.all(password).apply(lambda values: [
                f"POSTGRES_USER={settings.user}",
                f"POSTGRES_PASSWORD={values[0]}",
                f"POSTGRES_DB={settings.database}",
                # Explicit, so the mount point stays the data directory for images of any major version.
                f"PGDATA={DATA_DIRECTORY}",
            ]),
            entrypoints=["/bin/sh", ENTRYPOINT_PATH],
            command=["postgres"],
            uploads=[docker.ContainerUploadArgs(file=ENTRYPOINT_PATH, content=ENTRYPOINT_SCRIPT, executable=True)],
            init=True,
            volumes=[docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path=DATA_DIRECTORY)],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network_name, aliases=[NETWORK_ALIAS])],
            ports=[docker.ContainerPortArgs(internal=PORT, external=settings.host_port, ip="127.0.0.1")]
            if settings.host_port is not None else [],
            healthcheck=health_check(["CMD-SHELL", f"pg_isready -q -h 127.0.0.1 -p {PORT} -U \"$POSTGRES_USER\" "
                                                   f"-d \"$POSTGRES_DB\" && test -f {PASSWORD_SYNCED_MARKER}"],
                                     args.engine),
            wait=True,
            wait_timeout=180,
            restart="unless-stopped",
            # Time for a clean (checkpointed) shutdown before Docker kills the server, on `docker stop` and on delete.
            stop_timeout=60,
            destroy_grace_seconds=60,
            labels=labels,
            # Docker applies a changed health check only to a new container, and `wait` only runs at create; "*"
            # also replaces a stopped container (`~ mustRun`) instead of restarting it unwaited. A replace the
            # engine forces is create-before-delete unless asked (the provider's own delete-first applies only to
            # replaces its diff asks for), and the fixed name would conflict: delete first.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                replace_on_changes=["*"], delete_before_replace=True)),
        )
        self.internal_url = pulumi.Output.secret(pulumi.Output.all(password).apply(
            lambda values: _url(settings, values[0], NETWORK_ALIAS, PORT)))
        self.host_url = pulumi.Output.secret(pulumi.Output.all(password).apply(
            lambda values: _url(settings, values[0], "127.0.0.1", settings.host_port))) \
            if settings.host_port is not None else pulumi.Output.from_input(None)
        self.register_outputs({"internal_url": self.internal_url, "host_url": self.host_url})


def _url(settings: PostgresSettings, password: str, host: str, port: int) -> str:
    return f"postgres://{settings.user}:{quote(password, safe='')}@{host}:{port}/{settings.database}"
