"""Target `kubernetes`: Hasura as a replicated Deployment in a namespace of a Kubernetes cluster.

The deploy reaches Hasura at `hasura.publicUrl` (an Ingress or a load balancer in front of the Service `hasura`);
apps in the cluster use the Service directly. Postgres is `databaseUrl` (a managed database: recommended for
production) or, for dev and test stacks, a StatefulSet in the same namespace whose volume claim is never deleted.

The objects are in `resources`, imported by `deploy` only: checking settings loads no Kubernetes SDK.
"""

from __future__ import annotations

from collections.abc import Mapping

from components.config.settings import StackSettings
from components.config.stack_checks import key_name, public_url_problems, secret_problems
from components.targets.base import HasuraTarget, TargetArgs
from components.targets.kubernetes import kubeconfig


#: Keys that configure Docker containers only, and why each does nothing on the `kubernetes` target.
_DOCKER_ONLY_KEYS = {
    ("hasura", "port"): "Hasura publishes no host port there; it listens on 8080 behind the Service `hasura`. "
                        "Fix: remove the key; the deploy and apps outside the cluster use hasura.publicUrl",
    ("hasura", "bind_address"): "Hasura publishes no host port there; it listens on 8080 behind the Service "
                                "`hasura`. Fix: remove the key; the deploy and apps outside the cluster use "
                                "hasura.publicUrl",
    ("postgres", "host_port"): "the in-cluster Postgres is reachable only inside the cluster (Service `postgres`). "
                               "Fix: remove the key; from this machine use `kubectl port-forward "
                               "statefulset/postgres 5432:5432 -n <namespace>`",
    ("postgres", "protect_volume"): "the data volume claim is always kept there (retained on destroy, on "
                                    "replacement and on scale-down). Fix: remove the key",
}


def problems(settings: StackSettings, stack: str) -> list[str]:
    """The deploy reaches Hasura through `hasura.publicUrl`; Docker-only keys and, with `databaseUrl`, the in-cluster
    Postgres keys would silently do nothing."""
    found = public_url_problems(settings, stack, missing=(
        "hasura.publicUrl: required with target `kubernetes`: the URL at which this machine reaches Hasura (an "
        "Ingress or load balancer) to apply metadata and run the smoke check. Fix: `pulumi config set --path "
        "hasura.publicUrl https://graphql.example.com` (no /v1/graphql)"))
    for (section, key), why in _DOCKER_ONLY_KEYS.items():
        model = getattr(settings, section)
        if key in model.model_fields_set:
            found.append(f"{section}.{key_name(model, key)}: the `kubernetes` target ignores it: {why}")
    if settings.database_url is not None:
        for key in sorted(settings.postgres.model_fields_set - {key for section, key in _DOCKER_ONLY_KEYS
                                                                if section == "postgres"}):
            found.append(f"postgres.{key_name(settings.postgres, key)}: `databaseUrl` replaces the in-cluster "
                         "Postgres, so this key would do nothing. Fix: remove the key (or remove databaseUrl to run "
                         "Postgres in the cluster)")
        if "postgres_storage" in settings.kubernetes.model_fields_set:
            found.append("kubernetes.postgresStorage: `databaseUrl` replaces the in-cluster Postgres, so no volume "
                         "claim is made. Fix: remove the key (or remove databaseUrl to run Postgres in the cluster)")
        if settings.postgres_password is not None:
            found.append("postgresPassword: `databaseUrl` replaces the in-cluster Postgres and carries its own "
                         "password. Fix: `pulumi config rm postgresPassword`")
    return found + settings.kubernetes.problems() + secret_problems(settings)


def preflight(settings: StackSettings, environ: Mapping[str, str]) -> None:
    kubeconfig.preflight(settings.kubernetes, environ)


def deploy(args: TargetArgs) -> HasuraTarget:
    from components.targets.kubernetes.resources import deploy_kubernetes

    return deploy_kubernetes(args)
