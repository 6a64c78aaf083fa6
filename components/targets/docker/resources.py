"""The `docker` target's resources: a private network, the Postgres container (unless `databaseUrl`) and Hasura.

Imported by `deploy` only, so checking settings loads no Docker SDK.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.providers.generated_secret import secret_or_generated
from components.targets.base import HasuraTarget, TargetArgs
from components.targets.docker.daemon import DockerEngine
from components.targets.docker.database import Database, DatabaseArgs
from components.targets.docker.engine import CONTAINER_PORT, Engine, EngineArgs

#: Name of the Hasura container on the stack network, for app containers attached to it.
HASURA_NETWORK_ALIAS = "hasura"


def docker_name_prefix(project: str, stack: str) -> str:
    """The prefix of every container, network and volume name: two stacks on one host never share a name."""
    return f"{project}-{stack}"


def deploy_docker(args: TargetArgs) -> HasuraTarget:
    settings, name = args.settings, args.name
    # Children of the stack component, named as before targets existed, so stacks keep their resources.
    child = pulumi.ResourceOptions(parent=args.parent)
    docker_name = docker_name_prefix(args.project, args.stack)
    labels = {"clerk-hasura.project": args.project, "clerk-hasura.stack": args.stack}
    docker_engine: DockerEngine = args.preflight

    # A user-defined bridge, not `internal`: Hasura must reach Clerk's JWKS, and Docker publishes no ports
    # from internal networks. Postgres stays private by publishing nothing unless `postgres.hostPort` is set.
    network = docker.Network(
        f"{name}-network", name=docker_name,
        labels=[docker.NetworkLabelArgs(label=k, value=v) for k, v in sorted(labels.items())], opts=child)

    outputs: dict[str, pulumi.Input] = {"dockerNetwork": network.name}
    if settings.database_url is not None:
        database_url = pulumi.Output.secret(settings.database_url.get_secret_value())
        depends_on: list[pulumi.Resource] = []
        outputs["postgresUrl"] = database_url
    else:
        password = secret_or_generated(f"{name}-postgres-password", settings.postgres_password, child)
        database = Database(f"{name}-postgres", DatabaseArgs(
            settings=settings.postgres, docker_name=docker_name, network_name=network.name, password=password,
            protect_volume=settings.postgres.resolved_protect_volume(args.stack), labels=labels, engine=docker_engine,
        ), opts=child)
        database_url = database.internal_url
        depends_on = [database.container]
        outputs["postgresUrl"] = pulumi.Output.secret(
            database.host_url if settings.postgres.host_port is not None else database.internal_url)

    engine = Engine(f"{name}-hasura", EngineArgs(
        settings=settings.hasura, stack=args.stack, docker_name=docker_name, network_name=network.name,
        network_alias=HASURA_NETWORK_ALIAS, database_url=database_url, admin_secret=args.admin_secret,
        jwt_secret=args.jwt_secret, depends_on=depends_on, labels=labels, engine=docker_engine,
    ), opts=child)
    outputs["internalGraphqlUrl"] = f"http://{HASURA_NETWORK_ALIAS}:{CONTAINER_PORT}/v1/graphql"
    public = settings.hasura.public_url or settings.hasura.local_url()
    return HasuraTarget(deployer_url=engine.url, public_url=public, instance=engine.container.id,
                        serving=[engine.container], outputs=outputs)
