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
    requests: ResourceQuantitiesArgs | None = None
    limits: ResourceQuantitiesArgs | None = None


@dataclass(frozen=True)
class AutoscalingArgs:
    enabled: bool | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    target_cpu_utilization: int | None = None


@dataclass(frozen=True)
class IngressArgs:
    class_name: str | None = None
    host: str | None = None
    tls_secret_name: str | None = None
    annotations: dict[str, str] | None = None


@dataclass(frozen=True)
class PostgresStorageArgs:
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
