"""The `kubernetes` target's objects: provider, namespace, Postgres (unless `databaseUrl`) and Hasura."""

from __future__ import annotations

import dataclasses
import os

import pulumi
import pulumi_kubernetes as kubernetes

from components.providers.generated_secret import secret_or_generated
from components.targets.base import HasuraTarget, TargetArgs
from components.targets.kubernetes.hasura import SERVICE_NAME, HasuraArgs, deploy_hasura
from components.targets.kubernetes.objects import Placement
from components.targets.kubernetes.postgres import PostgresArgs, deploy_postgres
from components.targets.shared.hasura_env import CONTAINER_PORT


def deploy_kubernetes(args: TargetArgs) -> HasuraTarget:
    settings, name = args.settings, args.name
    cluster = settings.kubernetes
    public_url = settings.hasura.public_url
    assert public_url is not None  # problems() made sure
    provider = kubernetes.Provider(
        f"{name}-kubernetes",
        kubeconfig=os.path.expanduser(cluster.kubeconfig) if cluster.kubeconfig is not None else None,
        context=cluster.context,
        enable_server_side_apply=True,
        # By default the provider replaces a Secret or ConfigMap whenever its data changes; with the fixed names
        # here that is a delete before the create, and the Deployment and StatefulSet that read them were replaced
        # with it (every pod at once). Updated in place, the digest in the pod templates rolls the pods instead.
        enable_secret_mutable=True,
        enable_config_map_mutable=True,
        opts=pulumi.ResourceOptions(parent=args.parent))
    labels = {"app.kubernetes.io/part-of": "clerk-hasura", "app.kubernetes.io/instance": f"{args.project}-{args.stack}"}
    namespace_name = cluster.resolved_namespace(args.project, args.stack)

    place = Placement(namespace=namespace_name, labels=labels, field_manager=f"{args.project}-{args.stack}",
                      skip_await=cluster.skip_await,
                      opts=pulumi.ResourceOptions(parent=args.parent, provider=provider))
    if cluster.create_namespace:
        namespace = kubernetes.core.v1.Namespace(
            f"{name}-namespace",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=namespace_name, labels=labels,
                                                       annotations=place.annotations()),
            # Deleting a namespace deletes every object in it: the in-cluster Postgres' volume claim, also one retained
            # from before a switch to `databaseUrl`. So Pulumi never deletes it; a later deploy adopts it.
            opts=place.options(retain_on_delete=True))
        # Every other object refers to the namespace through it, so it is created first.
        place = dataclasses.replace(place, namespace=namespace.metadata.name)

    outputs: dict[str, pulumi.Input] = {"kubernetesNamespace": place.namespace}
    if settings.database_url is not None:
        database_url = pulumi.Output.secret(settings.database_url.get_secret_value())
    else:
        password = secret_or_generated(f"{name}-postgres-password", settings.postgres_password,
                                       pulumi.ResourceOptions(parent=args.parent))
        postgres = deploy_postgres(name, PostgresArgs(
            settings=settings.postgres, storage=cluster.postgres_storage, password=password), place, namespace_name)
        database_url = postgres.url
    outputs["postgresUrl"] = database_url

    hasura = deploy_hasura(name, HasuraArgs(
        hasura=settings.hasura, kubernetes=cluster, stack=args.stack, database_url=database_url,
        admin_secret=args.admin_secret, jwt_secret=args.jwt_secret), place)
    outputs["internalGraphqlUrl"] = \
        f"http://{SERVICE_NAME}.{namespace_name}.svc.cluster.local:{CONTAINER_PORT}/v1/graphql"
    # The API server raises the generation on every change of the Deployment's spec, a new pod template included;
    # the uid tells a re-created Deployment from the old one.
    metadata = hasura.deployment.metadata
    instance = pulumi.Output.all(metadata.uid, metadata.generation).apply(lambda values: f"{values[0]}/{values[1]}")
    return HasuraTarget(deployer_url=public_url, public_url=public_url, instance=instance,
                        serving=[hasura.deployment], outputs=outputs)
