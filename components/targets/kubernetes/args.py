"""`KubernetesArgs`: the `kubernetes` settings as the `ClerkHasura` component's typed argument (`components.component`).

Each attribute is the snake_case name of a key of `KubernetesSettings` (`components.targets.kubernetes.settings`);
None leaves it at the setting's default. The component validates them with the stack settings' own rules.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceQuantitiesArgs:
    """`resources.requests` or `resources.limits`: Kubernetes quantities (`250m`, `256Mi`)."""

    cpu: str | None = None
    memory: str | None = None


@dataclass(frozen=True)
class HasuraResourcesArgs:
    """`resources` of each Hasura container: its requests and limits."""
    requests: ResourceQuantitiesArgs | None = None
    limits: ResourceQuantitiesArgs | None = None


@dataclass(frozen=True)
class AutoscalingArgs:
    """`autoscaling`: a HorizontalPodAutoscaler on CPU utilization (needs the cluster's metrics-server)."""
    enabled: bool | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    target_cpu_utilization: int | None = None


@dataclass(frozen=True)
class IngressArgs:
    """`ingress`: an Ingress routing `host` to the Hasura Service; none without `host`."""
    class_name: str | None = None
    host: str | None = None
    tls_secret_name: str | None = None
    annotations: dict[str, str] | None = None


@dataclass(frozen=True)
class PostgresStorageArgs:
    """`postgresStorage`: the volume claim of the in-cluster Postgres (only without `databaseUrl`)."""
    size: str | None = None
    class_name: str | None = None


@dataclass(frozen=True)
class KubernetesArgs:
    """Where in a cluster Hasura runs, how many, with what resources (target `kubernetes`)."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    create_namespace: bool | None = None
    replicas: int | None = None
    resources: HasuraResourcesArgs | None = None
    autoscaling: AutoscalingArgs | None = None
    ingress: IngressArgs | None = None
    skip_await: bool | None = None
    postgres_storage: PostgresStorageArgs | None = None
