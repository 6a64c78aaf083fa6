"""Target `kubernetes`: Hasura as a replicated Deployment in a namespace of a Kubernetes cluster.

The deploy reaches Hasura at `hasura.publicUrl` (an Ingress or a load balancer in front of the Service `hasura`);
apps in the cluster use the Service directly. Postgres is `databaseUrl` (a managed database: recommended for
production) or, for dev and test stacks, a StatefulSet in the same namespace whose volume claim is never deleted.

The objects are in `resources`, imported by `deploy` only: checking settings loads no Kubernetes SDK.
"""

from __future__ import annotations

from collections.abc import Mapping

from components.config.settings import SharedSettings
from components.config.stack_checks import key_name, public_url_problems, secret_problems
from components.targets.base import HasuraTarget, TargetArgs
from components.targets.kubernetes import kubeconfig
from components.targets.kubernetes.settings import KubernetesSettings


#: Its settings object (`kubernetes`); no token.
OWN_KEYS = {"kubernetes": KubernetesSettings}
#: Hasura's image and switches, the in-cluster Postgres's image, database and user, and the secrets. Not the host
#: port keys or volume protection of the containers.
SHARED_KEYS = frozenset({
    "hasura.image", "hasura.publicUrl", "hasura.corsDomains", "hasura.unauthorizedRole", "hasura.console",
    "hasura.devMode", "hasura.logTypes", "hasura.enabledApis", "postgres.image", "postgres.database", "postgres.user",
    "hasuraAdminSecret", "postgresPassword", "databaseUrl",
})
_NO_HOST_PORT = ("the `kubernetes` target ignores it: Hasura publishes no host port there; it listens on 8080 behind "
                 "the Service `hasura`. Fix: remove the key; the deploy and apps outside the cluster use "
                 "hasura.publicUrl")
UNREAD_KEYS = {
    "hasura.port": _NO_HOST_PORT,
    "hasura.bindAddress": _NO_HOST_PORT,
    "postgres.hostPort": "the `kubernetes` target ignores it: the in-cluster Postgres is reachable only inside the "
                         "cluster (Service `postgres`). Fix: remove the key; from this machine use `kubectl "
                         "port-forward statefulset/postgres 5432:5432 -n <namespace>`",
    "postgres.protectVolume": "the `kubernetes` target ignores it: the data volume claim is always kept there "
                              "(retained on destroy, on replacement and on scale-down). Fix: remove the key",
    "hasura": "the `kubernetes` target ignores it. Fix: remove the key",
    "postgres": "the `kubernetes` target ignores it. Fix: remove the key",
}


def problems(settings: SharedSettings, stack: str) -> list[str]:
    """The deploy reaches Hasura through `hasura.publicUrl`; with `databaseUrl`, the in-cluster Postgres keys would
    silently do nothing (the registry refuses the shared keys it does not read)."""
    found = public_url_problems(settings, stack, missing=(
        "hasura.publicUrl: required with target `kubernetes`: the URL at which this machine reaches Hasura (an "
        "Ingress or load balancer) to apply metadata and run the smoke check. Fix: `clerk-hasura pulumi --stack "
        f"{stack} config set --path "
        "hasura.publicUrl https://graphql.example.com` (no /v1/graphql)"))
    if settings.database_url is not None:
        for key in sorted(key for key in settings.postgres.model_fields_set
                          if f"postgres.{key_name(settings.postgres, key)}" in SHARED_KEYS):
            found.append(f"postgres.{key_name(settings.postgres, key)}: `databaseUrl` replaces the in-cluster "
                         "Postgres, so this key would do nothing. Fix: remove the key (or remove databaseUrl to run "
                         "Postgres in the cluster)")
        if "postgres_storage" in settings.kubernetes.model_fields_set:
            found.append("kubernetes.postgresStorage: `databaseUrl` replaces the in-cluster Postgres, so no volume "
                         "claim is made. Fix: remove the key (or remove databaseUrl to run Postgres in the cluster)")
        if settings.postgres_password is not None:
            found.append("postgresPassword: `databaseUrl` replaces the in-cluster Postgres and carries its own "
                         f"password. Fix: `clerk-hasura pulumi --stack {stack} config rm postgresPassword`")
    return found + settings.kubernetes.problems() + secret_problems(settings, stack)


def preflight(settings: SharedSettings, environ: Mapping[str, str]) -> None:
    kubeconfig.preflight(settings.kubernetes, environ)


def health_hint(settings: SharedSettings, project: str, stack: str) -> str:
    cluster = settings.kubernetes
    kubectl = "kubectl" + (f" --kubeconfig {cluster.kubeconfig}" if cluster.kubeconfig else "") + (
        f" --context {cluster.context}" if cluster.context else "")
    namespace = cluster.resolved_namespace(project, stack)
    # The Deployment is named after its Service, `hasura` (kubernetes/hasura.py SERVICE_NAME).
    return (f"`{kubectl} -n {namespace} get pods` and `{kubectl} -n {namespace} logs deploy/hasura`; from outside the "
            "cluster, also the Ingress or load balancer behind hasura.publicUrl")


def deploy(args: TargetArgs) -> HasuraTarget:
    from components.targets.kubernetes.resources import deploy_kubernetes

    return deploy_kubernetes(args)
