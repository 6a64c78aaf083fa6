"""The `kubernetes` stack config object: where in a cluster Hasura runs, how many, with what resources.

Pure: no Pulumi here. Read only with `target: kubernetes` (the target registry, `components.targets`, refuses the
object on other targets). Defaults that differ by stack follow the same rule as the `hasura` object: the stack called `dev`
gets one replica, every other stack two.
"""

from __future__ import annotations

import re
from decimal import Decimal

from pydantic import field_validator

from components.config.base import StrictModel
from components.config.containers import DEV_STACK

#: Replicas outside the `dev` stack: one pod may be rolled, drained or lost while the other serves.
DEFAULT_REPLICAS = 2

#: A Kubernetes resource quantity (`250m`, `0.5`, `512Mi`, `1G`); the API server refuses anything else.
_QUANTITY = re.compile(r"^(?P<number>[0-9]+(\.[0-9]+)?)(?P<suffix>m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_SUFFIX_FACTORS = {
    None: Decimal(1), "m": Decimal("0.001"), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18, "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
#: An object name the API server accepts for a namespace, Secret or Ingress TLS secret (a DNS-1123 label).
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
#: A host an Ingress rule accepts: a DNS name, optionally with one leading wildcard label; no scheme, no port.
_INGRESS_HOST = re.compile(r"^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def quantity_value(text: str) -> Decimal:
    """The number a valid quantity stands for (`500m` -> 0.5, `1Gi` -> 1073741824)."""
    match = _QUANTITY.match(text)
    assert match is not None, text  # validated on load
    return Decimal(match["number"]) * _SUFFIX_FACTORS[match["suffix"]]


def _check_quantity(value: str | None, example: str) -> str | None:
    if value is None:
        return None
    if not _QUANTITY.match(str(value)):
        raise ValueError(f"{value!r} is not a Kubernetes quantity. Fix: write it as Kubernetes does, e.g. {example}")
    return str(value)


def _check_dns_label(value: str | None, what: str) -> str | None:
    if value is not None and not _DNS_LABEL.match(value):
        raise ValueError(f"{value!r} is not a valid {what} name. Fix: use at most 63 lowercase letters, digits and "
                         "`-`, starting and ending with a letter or digit")
    return value


class _ComputeResources(StrictModel):
    """CPU and memory of one Hasura container, as Kubernetes quantities; `null` removes a default."""

    cpu: str | None
    memory: str | None

    @field_validator("cpu", mode="before")
    @classmethod
    def _cpu(cls, value: object) -> object:
        return _check_quantity(None if value is None else str(value), "`250m` or `1`")

    @field_validator("memory", mode="before")
    @classmethod
    def _memory(cls, value: object) -> object:
        return _check_quantity(None if value is None else str(value), "`512Mi` or `1Gi`")


class ResourceRequests(_ComputeResources):
    """`resources.requests`: reserved per pod; the CPU request is also what the autoscaler's utilization is
    measured against."""

    cpu: str | None = "250m"
    """CPU reserved per Hasura pod (a Kubernetes quantity); `null` removes the request."""
    memory: str | None = "256Mi"
    """Memory reserved per Hasura pod; `null` removes the request."""


class ResourceLimits(_ComputeResources):
    """`resources.limits`: the most a pod may use. No CPU limit by default: a throttled Hasura answers slowly
    rather than failing, and requests already share the node fairly. Memory is limited: a leak ends in a restart,
    not a starved node."""

    cpu: str | None = None
    """CPU limit per Hasura pod; none by default: throttling slows Hasura down instead of protecting anything."""
    memory: str | None = "1Gi"
    """Memory limit per Hasura pod; `null` removes it."""


class HasuraResources(StrictModel):
    """`resources` of each Hasura container."""

    requests: ResourceRequests = ResourceRequests()
    limits: ResourceLimits = ResourceLimits()


class AutoscalingSettings(StrictModel):
    """`autoscaling`: a HorizontalPodAutoscaler on CPU utilization (needs the cluster's metrics-server)."""

    enabled: bool = False
    """Create a HorizontalPodAutoscaler (it then owns the replica count; not with `replicas`)."""
    min_replicas: int = DEFAULT_REPLICAS
    """Fewest Hasura pods the autoscaler keeps."""
    max_replicas: int = 5
    """Most Hasura pods the autoscaler makes."""
    target_cpu_utilization: int = 70
    """Percent of `resources.requests.cpu`, averaged over the pods."""


class IngressSettings(StrictModel):
    """`ingress`: an Ingress routing `host` to the Hasura Service; none without `host`."""

    class_name: str | None = None
    """The IngressClass (e.g. `nginx`); unset: the cluster's default class."""
    host: str | None = None
    """The DNS name routed to Hasura (the host of `hasura.publicUrl`)."""
    tls_secret_name: str | None = None
    """A `kubernetes.io/tls` Secret in the namespace holding the host's certificate (e.g. made by cert-manager)."""
    annotations: dict[str, str] | None = None
    """Annotations for the ingress controller or cert-manager (e.g. `cert-manager.io/cluster-issuer`)."""

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and not _INGRESS_HOST.match(value):
            raise ValueError(f"{value!r} is not a host name. Fix: give the lowercase DNS name only, without scheme, "
                             "port or path, e.g. graphql.example.com")
        return value

    @field_validator("tls_secret_name")
    @classmethod
    def _tls_secret(cls, value: str | None) -> str | None:
        return _check_dns_label(value, "Secret")


class PostgresStorageSettings(StrictModel):
    """`postgresStorage`: the volume claim of the in-cluster Postgres (only without `databaseUrl`)."""

    size: str = "10Gi"
    """Size of the in-cluster Postgres' volume claim; fixed at the first deploy (Kubernetes refuses changes to a
    StatefulSet's claim template)."""
    class_name: str | None = None
    """The StorageClass; unset: the cluster's default class."""

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, value: object) -> object:
        return _check_quantity(str(value), "`10Gi`")


class KubernetesSettings(StrictModel):
    """The `kubernetes` object."""

    kubeconfig: str | None = None
    """Path of the kubeconfig file; unset: the ambient one (`KUBECONFIG`, else ~/.kube/config)."""
    context: str | None = None
    """The kubeconfig context; unset: its current context."""
    namespace: str | None = None
    """Namespace of every object; unset: `<project>-<stack>`."""
    create_namespace: bool = True
    """Create the namespace (false: it must exist, e.g. made by the cluster's admins)."""
    replicas: int | None = None
    """Hasura pods; default 2, 1 on the `dev` stack. Not with `autoscaling` (the autoscaler sets the count)."""
    resources: HasuraResources = HasuraResources()
    autoscaling: AutoscalingSettings = AutoscalingSettings()
    ingress: IngressSettings = IngressSettings()
    skip_await: bool = False
    """Annotate every object with `pulumi.com/skipAwait: "true"`: `pulumi up` does not wait for pods to be ready.
    Only for clusters where nothing runs pods (tests against a bare API server)."""
    postgres_storage: PostgresStorageSettings = PostgresStorageSettings()

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        return _check_dns_label(value, "namespace")

    @field_validator("kubeconfig", "context")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is empty. Fix: remove the key to use the ambient kubeconfig and its current context")
        return value

    @field_validator("replicas")
    @classmethod
    def _replicas(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"must be at least 1, got {value}. Fix: set 2 or more so a rollout or a lost node "
                             "never leaves no Hasura serving (1 for a dev cluster)")
        return value

    def resolved_replicas(self, stack: str) -> int:
        return self.replicas if self.replicas is not None else (1 if stack == DEV_STACK else DEFAULT_REPLICAS)

    def resolved_namespace(self, project: str, stack: str) -> str:
        """`namespace`, or `<project>-<stack>` made a valid name (lowercase, other characters as `-`)."""
        if self.namespace is not None:
            return self.namespace
        name = re.sub(r"[^a-z0-9-]+", "-", f"{project}-{stack}".lower())[:63].strip("-")
        return name

    def problems(self) -> list[str]:
        """What only shows when the keys of this object are put together; each names its key and the fix."""
        problems = []
        requests, limits = self.resources.requests, self.resources.limits
        for resource in ("cpu", "memory"):
            request, limit = getattr(requests, resource), getattr(limits, resource)
            if request is not None and limit is not None and quantity_value(request) > quantity_value(limit):
                problems.append(f"kubernetes.resources.requests.{resource}: {request} is more than "
                                f"kubernetes.resources.limits.{resource} ({limit}); the API server refuses such a "
                                f"pod. Fix: lower the request or raise the limit")
        scaling = self.autoscaling
        if scaling.enabled:
            if scaling.min_replicas < 1:
                problems.append(f"kubernetes.autoscaling.minReplicas: must be at least 1, got "
                                f"{scaling.min_replicas}. Fix: set 2 or more outside dev")
            if scaling.max_replicas < scaling.min_replicas:
                problems.append(f"kubernetes.autoscaling.maxReplicas: {scaling.max_replicas} is less than "
                                f"minReplicas ({scaling.min_replicas}). Fix: raise maxReplicas to at least "
                                f"{scaling.min_replicas}")
            if not 1 <= scaling.target_cpu_utilization <= 100:
                problems.append(f"kubernetes.autoscaling.targetCpuUtilization: {scaling.target_cpu_utilization} is "
                                "not a percentage of the CPU request. Fix: use 1 to 100, e.g. 70")
            if requests.cpu is None:
                problems.append("kubernetes.resources.requests.cpu: the autoscaler measures CPU utilization against "
                                "it, so it is required with kubernetes.autoscaling. Fix: set it, e.g. `250m`")
            if self.replicas is not None:
                problems.append("kubernetes.replicas: with kubernetes.autoscaling the autoscaler sets the replica "
                                "count, so this key would fight it. Fix: remove it and set "
                                "kubernetes.autoscaling.minReplicas instead")
        else:
            for key in sorted(scaling.model_fields_set - {"enabled"}):
                alias = AutoscalingSettings.model_fields[key].alias or key
                problems.append(f"kubernetes.autoscaling.{alias}: does nothing while kubernetes.autoscaling.enabled "
                                "is false. Fix: set kubernetes.autoscaling.enabled to true, or remove the key")
        ingress = self.ingress
        if ingress.host is None:
            for key in sorted(ingress.model_fields_set - {"host"}):
                alias = IngressSettings.model_fields[key].alias or key
                problems.append(f"kubernetes.ingress.{alias}: no Ingress is made without kubernetes.ingress.host, "
                                "so this key would do nothing. Fix: set kubernetes.ingress.host to the DNS name of "
                                "hasura.publicUrl (e.g. graphql.example.com), or remove the key")
        return problems
