"""Hasura on Kubernetes: its Secret, a replicated Deployment, a Service, a PodDisruptionBudget, and from settings a
HorizontalPodAutoscaler and an Ingress."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.config.containers import HasuraSettings
from components.targets.kubernetes.objects import INPUTS_DIGEST_ANNOTATION, Placement, secret_digest
from components.targets.kubernetes.settings import KubernetesSettings
from components.targets.shared.hasura_env import CONTAINER_PORT, SECRET_VARIABLES, hasura_secret_environment, hasura_switches

#: The Service (and Deployment) name apps inside the cluster reach Hasura by.
SERVICE_NAME = "hasura"
SECRET_NAME = "hasura-env"
PORT_NAME = "http"
#: The user the Hasura image creates (`hasura`, uid/gid 1001) but does not switch to: its Dockerfile has no USER,
#: so without these the container would run as root (hasura.md §3.1; graphql-engine-base/ubuntu.dockerfile).
HASURA_UID = 1001
#: Seconds a stopping pod keeps serving before SIGTERM, while Services stop sending it requests; then Hasura's own
#: graceful shutdown lets in-flight requests finish.
PRE_STOP_SECONDS = 5
TERMINATION_GRACE_SECONDS = 60
#: Hasura loads and validates its metadata before `/healthz` answers; a large schema takes minutes.
STARTUP_ALLOWANCE_SECONDS = 300


@dataclass(frozen=True)
class HasuraArgs:
    hasura: HasuraSettings
    kubernetes: KubernetesSettings
    stack: str
    """Stack name: decides the console/dev-mode/log/API defaults and the replica count."""
    database_url: pulumi.Input[str]
    admin_secret: pulumi.Input[str]
    jwt_secret: pulumi.Input[str]


@dataclass(frozen=True)
class HasuraObjects:
    deployment: kubernetes.apps.v1.Deployment
    service: kubernetes.core.v1.Service


def deploy_hasura(prefix: str, args: HasuraArgs, place: Placement) -> HasuraObjects:
    selector = {"app.kubernetes.io/name": "hasura", **place.labels}
    secret_env = pulumi.Output.secret(pulumi.Output.all(args.database_url, args.admin_secret, args.jwt_secret).apply(
        lambda values: hasura_secret_environment(database_url=values[0], admin_secret=values[1],
                                                 jwt_secret=values[2])))
    secret = kubernetes.core.v1.Secret(
        f"{prefix}-hasura-secret", metadata=place.metadata(SECRET_NAME, selector), type="Opaque",
        string_data=secret_env, opts=place.options())
    env = [kubernetes.core.v1.EnvVarArgs(name="HASURA_GRAPHQL_SERVER_PORT", value=str(CONTAINER_PORT))]
    env += [kubernetes.core.v1.EnvVarArgs(name=name, value_from=kubernetes.core.v1.EnvVarSourceArgs(
        secret_key_ref=kubernetes.core.v1.SecretKeySelectorArgs(name=secret.metadata.name, key=name)))
        for name in SECRET_VARIABLES]
    env += [kubernetes.core.v1.EnvVarArgs(name=name, value=value)
            for name, value in hasura_switches(args.hasura, args.stack).items()]

    settings = args.kubernetes
    deployment = kubernetes.apps.v1.Deployment(
        f"{prefix}-hasura",
        metadata=place.metadata(SERVICE_NAME, selector),
        spec=kubernetes.apps.v1.DeploymentSpecArgs(
            # With autoscaling, the autoscaler owns the count; setting it here would reset it on every deploy.
            replicas=None if settings.autoscaling.enabled else settings.resolved_replicas(args.stack),
            selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels=selector),
            # A new pod must be ready before an old one goes: never fewer serving pods than wanted.
            strategy=kubernetes.apps.v1.DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=kubernetes.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1)),
            template=kubernetes.core.v1.PodTemplateSpecArgs(
                metadata=kubernetes.meta.v1.ObjectMetaArgs(
                    labels=selector, annotations={INPUTS_DIGEST_ANNOTATION: secret_digest(secret_env)}),
                spec=_pod_spec(args, env, selector)),
        ),
        opts=place.options())

    service = kubernetes.core.v1.Service(
        f"{prefix}-hasura-service", metadata=place.metadata(SERVICE_NAME, selector),
        spec=kubernetes.core.v1.ServiceSpecArgs(
            type="ClusterIP", selector=selector,
            ports=[kubernetes.core.v1.ServicePortArgs(name=PORT_NAME, port=CONTAINER_PORT, target_port=PORT_NAME)]),
        opts=place.options())

    # Voluntary disruptions (node drains, cluster upgrades) take one pod at a time, whatever the replica count.
    kubernetes.policy.v1.PodDisruptionBudget(
        f"{prefix}-hasura-pdb", metadata=place.metadata(SERVICE_NAME, selector),
        spec=kubernetes.policy.v1.PodDisruptionBudgetSpecArgs(
            max_unavailable=1, selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels=selector)),
        opts=place.options())

    if settings.autoscaling.enabled:
        scaling = settings.autoscaling
        kubernetes.autoscaling.v2.HorizontalPodAutoscaler(
            f"{prefix}-hasura-hpa", metadata=place.metadata(SERVICE_NAME, selector),
            spec=kubernetes.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=kubernetes.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name=deployment.metadata.name),
                min_replicas=scaling.min_replicas, max_replicas=scaling.max_replicas,
                metrics=[kubernetes.autoscaling.v2.MetricSpecArgs(
                    type="Resource", resource=kubernetes.autoscaling.v2.ResourceMetricSourceArgs(
                        name="cpu", target=kubernetes.autoscaling.v2.MetricTargetArgs(
                            type="Utilization", average_utilization=scaling.target_cpu_utilization)))]),
            opts=place.options())

    ingress = settings.ingress
    if ingress.host is not None:
        kubernetes.networking.v1.Ingress(
            f"{prefix}-hasura-ingress",
            metadata=place.metadata(SERVICE_NAME, selector, annotations=ingress.annotations),
            spec=kubernetes.networking.v1.IngressSpecArgs(
                ingress_class_name=ingress.class_name,
                rules=[kubernetes.networking.v1.IngressRuleArgs(
                    host=ingress.host, http=kubernetes.networking.v1.HTTPIngressRuleValueArgs(paths=[
                        kubernetes.networking.v1.HTTPIngressPathArgs(
                            path="/", path_type="Prefix", backend=kubernetes.networking.v1.IngressBackendArgs(
                                service=kubernetes.networking.v1.IngressServiceBackendArgs(
                                    name=service.metadata.name,
                                    port=kubernetes.networking.v1.ServiceBackendPortArgs(name=PORT_NAME))))]))],
                tls=[kubernetes.networking.v1.IngressTLSArgs(hosts=[ingress.host],
                                                            secret_name=ingress.tls_secret_name)]
                if ingress.tls_secret_name is not None else None),
            opts=place.options())
    return HasuraObjects(deployment=deployment, service=service)


def _pod_spec(args: HasuraArgs, env: list[kubernetes.core.v1.EnvVarArgs],
              selector: dict[str, str]) -> kubernetes.core.v1.PodSpecArgs:
    resources = args.kubernetes.resources

    def healthz(period: int, timeout: int, failures: int) -> kubernetes.core.v1.ProbeArgs:
        return kubernetes.core.v1.ProbeArgs(
            http_get=kubernetes.core.v1.HTTPGetActionArgs(path="/healthz", port=PORT_NAME),
            period_seconds=period, timeout_seconds=timeout, failure_threshold=failures)

    return kubernetes.core.v1.PodSpecArgs(
        # Hasura never calls the Kubernetes API; and Service links would add HASURA_* variables of their own.
        automount_service_account_token=False,
        enable_service_links=False,
        security_context=kubernetes.core.v1.PodSecurityContextArgs(
            run_as_non_root=True, run_as_user=HASURA_UID, run_as_group=HASURA_UID,
            seccomp_profile=kubernetes.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
        termination_grace_period_seconds=TERMINATION_GRACE_SECONDS,
        # One pod per node as far as the nodes allow; a one-node cluster still schedules them all.
        topology_spread_constraints=[kubernetes.core.v1.TopologySpreadConstraintArgs(
            max_skew=1, topology_key="kubernetes.io/hostname", when_unsatisfiable="ScheduleAnyway",
            label_selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels=selector))],
        containers=[kubernetes.core.v1.ContainerArgs(
            name="hasura",
            image=args.hasura.image,
            ports=[kubernetes.core.v1.ContainerPortArgs(name=PORT_NAME, container_port=CONTAINER_PORT)],
            env=env,
            resources=kubernetes.core.v1.ResourceRequirementsArgs(
                requests=resources.requests.model_dump(exclude_none=True) or None,
                limits=resources.limits.model_dump(exclude_none=True) or None),
            # Asked every second while starting: a new pod takes traffic (and the roll moves on) as soon as it can.
            startup_probe=healthz(period=1, timeout=1, failures=STARTUP_ALLOWANCE_SECONDS),
            # A pod whose /healthz fails (its database unreachable) leaves the Service within 4 s, so apps reach the
            # pods that still answer; /healthz is a `SELECT 1`, cheap to ask every 2 s.
            readiness_probe=healthz(period=2, timeout=2, failures=2),
            # Generous: a Hasura that cannot reach Postgres answers 500 and a restart would not help it.
            liveness_probe=healthz(period=10, timeout=5, failures=6),
            lifecycle=kubernetes.core.v1.LifecycleArgs(pre_stop=kubernetes.core.v1.LifecycleHandlerArgs(
                exec_=kubernetes.core.v1.ExecActionArgs(command=["sleep", str(PRE_STOP_SECONDS)]))),
            security_context=kubernetes.core.v1.SecurityContextArgs(
                allow_privilege_escalation=False,
                capabilities=kubernetes.core.v1.CapabilitiesArgs(drop=["ALL"])),
        )],
    )
