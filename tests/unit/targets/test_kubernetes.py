"""The resource graph of `target: kubernetes`, run under Pulumi's mocks (tests/pulumi_harness.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from components.config.containers import DEFAULT_HASURA_IMAGE, DEFAULT_POSTGRES_IMAGE
from components.targets.shared.postgres_entrypoint import ENTRYPOINT_SCRIPT
from components.targets.kubernetes.postgres import PASSWORD_FOLLOWER_SCRIPT
from tests.fixtures.jwks import new_rsa_signing_key
from tests.pulumi_harness import ProgramRun, Registration, Secret, plaintext_leaks, run_program, serve_jwks

PROVIDER = "pulumi:providers:kubernetes"
NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SERVICE = "kubernetes:core/v1:Service"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SMOKE = "pulumi-python:dynamic/smoke_check:SmokeCheck"
METADATA = "pulumi-python:dynamic/hasura_metadata:HasuraMetadata"
DIGEST = "clerk-hasura/inputs-sha256"

ADMIN_SECRET = "kubernetes-admin-secret-0123456789"
OTHER_ADMIN_SECRET = "another-admin-secret-9876543210"
POSTGRES_PASSWORD = "p@ss:w/rd?#kubernetes-0123"
DATABASE_URL = "postgres://app:managed-db-password-0123@db.example.com:5432/app?sslmode=require"
PK = "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA"


def config(jwks_url: str, **overrides: object) -> dict:
    base: dict = {
        "target": "kubernetes",
        "clerk": {"publishableKey": PK, "jwksUrl": jwks_url},
        "hasura": {"publicUrl": "https://graphql.example.com", "corsDomains": ["https://app.example.com"]},
        "hasuraAdminSecret": ADMIN_SECRET,
        "postgresPassword": POSTGRES_PASSWORD,
    }
    return base | overrides


def write_kubeconfig(path: Path) -> Path:
    """A kubeconfig with the contexts `local` (current) and `production` (the program only checks they exist)."""
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "local",
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}} for name in ("local", "production")],
    }))
    return path


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")


@pytest.fixture(scope="module")
def runs(kubeconfig: Path) -> Iterator[dict[str, ProgramRun]]:
    with serve_jwks({"keys": [new_rsa_signing_key().jwk]}) as jwks_url:
        production = config(
            jwks_url, postgresPassword=None, databaseUrl=DATABASE_URL,
            kubernetes={"kubeconfig": str(kubeconfig), "context": "production", "namespace": "graphql",
                        "createNamespace": False, "skipAwait": True,
                        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}},
                        "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 8},
                        "ingress": {"className": "nginx", "host": "graphql.example.com",
                                    "tlsSecretName": "graphql-tls",
                                    "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"}},
                        "postgresStorage": None})
        production = {k: v for k, v in production.items() if v is not None}
        production["kubernetes"] = {k: v for k, v in production["kubernetes"].items() if v is not None}
        scenarios = {
            "dev": ("dev", config(jwks_url, kubernetes={"postgresStorage": {"size": "2Gi", "className": "fast"}})),
            "staging": ("staging", config(jwks_url)),
            "staging-rotated": ("staging", config(jwks_url, hasuraAdminSecret=OTHER_ADMIN_SECRET)),
            "production": ("production", production),
        }
        secret_keys = ["hasuraAdminSecret", "postgresPassword", "databaseUrl"]
        with ThreadPoolExecutor(len(scenarios)) as pool:
            # The ambient kubeconfig, as kubectl finds it.
            futures = {name: pool.submit(run_program, stack, raw, env={"KUBECONFIG": str(kubeconfig)},
                                         secret_keys=[k for k in secret_keys if k in raw])
                       for name, (stack, raw) in scenarios.items()}
            yield {name: future.result().check() for name, future in futures.items()}


def kubernetes_objects(run: ProgramRun) -> list[Registration]:
    return [r for r in run.registrations if r.type.startswith("kubernetes:")]


def hasura_pod(run: ProgramRun) -> dict:
    return run.one(DEPLOYMENT).plain_inputs["spec"]["template"]["spec"]


def test_every_object_goes_through_the_explicit_provider_under_the_stack_component(runs, kubeconfig):
    run = runs["dev"]
    provider = run.one(PROVIDER)
    # Unset: the ambient kubeconfig (the SDK reads KUBECONFIG) and its current context.
    assert provider.plain_inputs["kubeconfig"] == str(kubeconfig) and "context" not in provider.plain_inputs
    # Secrets and ConfigMaps are updated in place (a replacement would take the Deployment's pods with it).
    assert provider.plain_inputs["enableSecretMutable"] == "true"
    assert provider.plain_inputs["enableConfigMapMutable"] == "true"
    component = run.one("clerk-hasura:index:ClerkHasura")
    assert provider.parent == component.urn
    assert sorted(r.type for r in kubernetes_objects(run)) == sorted([
        NAMESPACE, SECRET, SECRET, CONFIG_MAP, SERVICE, SERVICE, DEPLOYMENT, STATEFULSET, PDB])
    for registration in kubernetes_objects(run):
        assert registration.parent == component.urn, registration.name
        assert registration.provider.startswith(f"{provider.urn}::"), registration.name
        assert registration.name.startswith("backend-"), registration.name
        if registration.type != NAMESPACE:
            assert registration.plain_inputs["metadata"]["namespace"] == "clerk-hasura-dev"
    assert run.one(NAMESPACE).plain_inputs["metadata"]["name"] == "clerk-hasura-dev"
    # Metadata is applied once the Deployment is there.
    assert run.one(DEPLOYMENT).urn in run.one(METADATA).dependencies


def test_the_metadata_says_which_pods_to_look_at_in_the_stacks_namespace_and_cluster(runs):
    staging = runs["staging"]
    namespace = staging.one(NAMESPACE).plain_inputs["metadata"]["name"]
    deployment = staging.one(DEPLOYMENT).plain_inputs["metadata"]["name"]
    assert staging.one(METADATA).plain_inputs["health_hint"].startswith(
        f"`kubectl -n {namespace} get pods` and `kubectl -n {namespace} logs deploy/{deployment}`")
    production = runs["production"]  # its own kubeconfig file, context and namespace
    assert production.one(DEPLOYMENT).plain_inputs["metadata"]["namespace"] == "graphql"
    hint = production.one(METADATA).plain_inputs["health_hint"]
    assert hint.startswith("`kubectl --kubeconfig ") and " --context production -n graphql logs deploy/hasura`" in hint


def test_the_hasura_deployment(runs):
    deployment = runs["staging"].one(DEPLOYMENT).plain_inputs
    spec = deployment["spec"]
    assert deployment["metadata"]["name"] == "hasura"
    assert spec["replicas"] == 2
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    assert spec["selector"]["matchLabels"] == spec["template"]["metadata"]["labels"]
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (1001, 1001)
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    spread = pod["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
    container = pod["containers"][0]
    assert container["image"] == DEFAULT_HASURA_IMAGE
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] == 300  # metadata loading allowance
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def test_secrets_reach_hasura_only_through_the_secret(runs):
    run = runs["staging"]
    secret = next(r for r in run.by_type(SECRET) if r.plain_inputs["metadata"]["name"] == "hasura-env")
    assert isinstance(secret.inputs["stringData"], Secret)
    data = secret.plain_inputs["stringData"]
    assert data["HASURA_GRAPHQL_ADMIN_SECRET"] == ADMIN_SECRET
    assert data["PG_DATABASE_URL"] == data["HASURA_GRAPHQL_METADATA_DATABASE_URL"]
    assert data["PG_DATABASE_URL"].startswith("postgres://postgres:p%40ss%3Aw%2Frd%3F%23kubernetes-0123@"
                                              "postgres.clerk-hasura-staging.svc.cluster.local:5432/app")
    env = {e["name"]: e for e in hasura_pod(run)["containers"][0]["env"]}
    for name in data:
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "hasura-env", "key": name}
        assert "value" not in env[name]
    assert env["HASURA_GRAPHQL_CORS_DOMAIN"]["value"] == "https://app.example.com"
    assert plaintext_leaks(run, [ADMIN_SECRET, POSTGRES_PASSWORD, "p%40ss%3Aw%2Frd"]) == []
    assert plaintext_leaks(runs["production"], [ADMIN_SECRET, DATABASE_URL, "managed-db-password"]) == []


def test_a_changed_secret_changes_the_pod_template_and_nothing_else_shows_it(runs):
    def digest(run: ProgramRun) -> object:
        return run.one(DEPLOYMENT).inputs["spec"]["template"]["metadata"]["annotations"][DIGEST]

    assert isinstance(digest(runs["staging"]), Secret)
    assert digest(runs["staging"]) != digest(runs["staging-rotated"])
    # Postgres follows a new password live (follow-password): its pod template does not change.
    def postgres_digest(run: ProgramRun) -> object:
        return run.one(STATEFULSET).plain_inputs["spec"]["template"]["metadata"]["annotations"][DIGEST]

    assert postgres_digest(runs["staging"]) == postgres_digest(runs["staging-rotated"])


def test_defaults_per_stack_follow_the_docker_target(runs):
    dev_env = {e["name"]: e.get("value") for e in hasura_pod(runs["dev"])["containers"][0]["env"]}
    staging_env = {e["name"]: e.get("value") for e in hasura_pod(runs["staging"])["containers"][0]["env"]}
    assert runs["dev"].one(DEPLOYMENT).plain_inputs["spec"]["replicas"] == 1
    assert dev_env["HASURA_GRAPHQL_ENABLE_CONSOLE"] == "true" and dev_env["HASURA_GRAPHQL_DEV_MODE"] == "true"
    assert staging_env["HASURA_GRAPHQL_ENABLE_CONSOLE"] == "false"
    assert staging_env["HASURA_GRAPHQL_DEV_MODE"] == "false"
    assert "pgdump" in dev_env["HASURA_GRAPHQL_ENABLED_APIS"] and "pgdump" not in staging_env[
        "HASURA_GRAPHQL_ENABLED_APIS"]


def test_service_and_disruption_budget(runs):
    run = runs["staging"]
    service = next(r for r in run.by_type(SERVICE) if r.plain_inputs["metadata"]["name"] == "hasura").plain_inputs
    selector = run.one(DEPLOYMENT).plain_inputs["spec"]["selector"]["matchLabels"]
    assert service["spec"]["type"] == "ClusterIP" and service["spec"]["selector"] == selector
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http"}]
    pdb = run.one(PDB).plain_inputs["spec"]
    assert pdb == {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
    assert run.by_type(HPA) == [] and run.by_type(INGRESS) == []


def test_in_cluster_postgres_keeps_its_data(runs):
    run = runs["dev"]
    statefulset = run.one(STATEFULSET)
    assert statefulset.retain_on_delete is True
    # Deleting the namespace would delete the claim in it.
    assert run.one(NAMESPACE).retain_on_delete is True
    spec = statefulset.plain_inputs["spec"]
    assert spec["replicas"] == 1 and spec["serviceName"] == "postgres"
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    claim = spec["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"] == {"storage": "2Gi"}
    assert claim["spec"]["storageClassName"] == "fast"
    pod = spec["template"]["spec"]
    assert pod["shareProcessNamespace"] is True  # the pause container reaps the password sync
    # Ownership is given once, not re-applied to every file of the database at each start.
    assert (pod["securityContext"]["fsGroup"], pod["securityContext"]["fsGroupChangePolicy"]) == (999, "OnRootMismatch")
    container = pod["containers"][0]
    assert container["image"] == DEFAULT_POSTGRES_IMAGE
    assert container["command"] == ["/bin/sh", "/clerk-hasura/entrypoint.sh"]
    env = {e["name"]: e for e in container["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "postgres", "key": "POSTGRES_PASSWORD"}
    assert env["PGDATA"]["value"].startswith("/var/lib/postgresql/data/")
    assert run.one(CONFIG_MAP).plain_inputs["data"] == {"entrypoint.sh": ENTRYPOINT_SCRIPT,
                                                        "follow-password.sh": PASSWORD_FOLLOWER_SCRIPT}
    follower = pod["containers"][1]
    assert follower["name"] == "follow-password" and follower["command"] == ["/bin/sh",
                                                                             "/clerk-hasura/follow-password.sh"]
    assert {m["mountPath"]: m["name"] for m in follower["volumeMounts"]} == {
        "/clerk-hasura": "entrypoint", "/clerk-hasura-secret": "password"}
    assert "POSTGRES_PASSWORD" not in {e["name"] for e in follower["env"]}
    password_volume = next(v for v in pod["volumes"] if v["name"] == "password")
    assert password_volume["secret"] == {"secretName": "postgres", "defaultMode": 0o440}
    service = next(r for r in run.by_type(SERVICE) if r.plain_inputs["metadata"]["name"] == "postgres").plain_inputs
    assert service["spec"]["clusterIP"] == "None"
    assert run.outputs["postgresUrl"].secret


def test_production_shape(runs, kubeconfig):
    run = runs["production"]
    provider = run.one(PROVIDER).plain_inputs
    assert (provider["kubeconfig"], provider["context"]) == (str(kubeconfig), "production")
    assert run.by_type(NAMESPACE) == [] and run.by_type(STATEFULSET) == []
    assert {r.plain_inputs["metadata"]["namespace"] for r in kubernetes_objects(run)} == {"graphql"}
    for registration in kubernetes_objects(run):
        assert registration.plain_inputs["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    # The autoscaler owns the replica count.
    assert "replicas" not in run.one(DEPLOYMENT).plain_inputs["spec"]
    hpa = run.one(HPA).plain_inputs["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 8)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hasura"}
    assert hpa["metrics"][0]["resource"] == {"name": "cpu",
                                             "target": {"type": "Utilization", "averageUtilization": 70}}
    ingress = run.one(INGRESS).plain_inputs
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["graphql.example.com"], "secretName": "graphql-tls"}]
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "graphql.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "hasura", "port": {"name": "http"}}
    container = hasura_pod(run)["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}}
    hasura_secret = run.one(SECRET).plain_inputs["stringData"]
    assert hasura_secret["PG_DATABASE_URL"] == DATABASE_URL
    assert run.outputs["postgresUrl"].secret and run.outputs["postgresUrl"].value == DATABASE_URL


def test_outputs_and_what_reruns_the_smoke_check(runs):
    for name, namespace in (("dev", "clerk-hasura-dev"), ("production", "graphql")):
        outputs = runs[name].outputs
        assert outputs["kubernetesNamespace"].value == namespace
        assert outputs["internalGraphqlUrl"].value == f"http://hasura.{namespace}.svc.cluster.local:8080/v1/graphql"
        assert outputs["hasuraUrl"].value == "https://graphql.example.com"
        assert outputs["graphqlUrl"].value == "https://graphql.example.com/v1/graphql"
    # The mocks give every object uid `uid-<name>` and generation 1, as an API server gives a new object.
    triggers = runs["dev"].one(SMOKE).plain_inputs["triggers"]
    assert triggers["hasura"] == "uid-backend-hasura/1"
    # Without skipAwait the provider waits for every object to be ready; every object is applied as the stack's
    # own field manager, so a deploy after `destroy` adopts what Pulumi kept.
    for registration in kubernetes_objects(runs["staging"]):
        assert registration.plain_inputs["metadata"]["annotations"] == {
            "pulumi.com/patchFieldManager": "clerk-hasura-staging"}, registration.name
