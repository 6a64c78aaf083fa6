"""The real engine deploys the real program with `target: kubernetes` to a real Kubernetes API server.

No kubelet runs (tests/fixtures/kube_cluster.py), so pods never start: `kubernetes.skipAwait` tells the provider not
to wait for them, and `hasura.publicUrl` points at the Hasura double, so metadata, the Clerk template and the smoke
check run as on any deploy. What is checked is what the cluster decided: the objects it accepted (read back from
the API server), what its controllers made of them (ReplicaSets, the StatefulSet's volume claim), and what the
engine wrote (the checkpoint, the update summaries).
"""

from __future__ import annotations

import base64
import ssl
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from components.auth.jwt_secret import resolve_jwt_secret
from components.targets import load_settings
from tests.fixtures.kube_cluster import KubeCluster
from tests.fixtures.kubernetes_plugin import install_kubernetes_plugin
from tests.fixtures.waiting import eventually

# The first test to use the cluster may build it (about 40 minutes cold on 2 cores); later runs reuse the cache.
pytestmark = pytest.mark.timeout(5400)

ADMIN_SECRET = "kubernetes-admin-secret-0123456789"
POSTGRES_PASSWORD = "kubernetes-postgres-password-0123456789"
NEW_POSTGRES_PASSWORD = "rotated-postgres-password-9876543210"


@pytest.fixture
def api(kube_cluster: KubeCluster) -> Iterator[httpx.Client]:
    """The API server as an admin reads it."""
    with httpx.Client(base_url=kube_cluster.server, verify=ssl.create_default_context(cafile=kube_cluster.ca_path),
                      timeout=10,
                      headers={"Authorization": f"Bearer {kube_cluster.token}"}) as client:
        yield client


def clerk_config(clerk) -> dict:
    return {"publishableKey": clerk.publishable_key, "jwksUrl": clerk.jwks_url, "apiUrl": clerk.url,
            "jwtTemplate": "hasura"}


def kubernetes_config(clerk, hasura_url: str, cluster: KubeCluster, namespace: str, **kubernetes: Any) -> dict:
    return {
        "target": "kubernetes",
        "clerk": clerk_config(clerk),
        "hasura": {"publicUrl": hasura_url, "corsDomains": ["http://localhost:3000"]},
        "kubernetes": {"kubeconfig": str(cluster.kubeconfig), "context": cluster.context, "namespace": namespace,
                       "skipAwait": True, **kubernetes},
    }


@pytest.fixture
def kubernetes_hasura(clerk_double, hasura_double_factory, postgres_database_url):
    """The Hasura double, standing in for the pods behind `hasura.publicUrl`, with the stack's JWT secret."""
    settings = load_settings({"clerk": clerk_config(clerk_double)}, environ={})
    hasura = hasura_double_factory(
        jwt_secret=resolve_jwt_secret(settings).value, admin_secret=ADMIN_SECRET,
        env={"PG_DATABASE_URL": postgres_database_url, "HASURA_GRAPHQL_DATABASE_URL": postgres_database_url})
    hasura.wait_for_jwks()
    return hasura


@pytest.fixture
def kubernetes_stack(engine_stack_factory, pulumi_bin, kube_cluster, clerk_double, kubernetes_hasura):
    """`(config overrides, stack name, extra secrets) -> EngineStack` with the provider plugin installed."""
    def create(namespace: str, *, stack: str = "dev", secrets: dict[str, str] | None = None, **kubernetes: Any):
        engine = engine_stack_factory(
            kubernetes_config(clerk_double, kubernetes_hasura.url, kube_cluster, namespace, **kubernetes),
            stack=stack, secrets={"hasuraAdminSecret": ADMIN_SECRET, "clerkSecretKey": clerk_double.secret_key,
                                  **(secrets or {})})
        install_kubernetes_plugin(engine, pulumi_bin, kube_cluster.plugin_path)
        return engine
    return create


def _unique_namespace(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def test_in_cluster_postgres_deploy_rolls_on_change_and_keeps_its_data_claim(kubernetes_stack, api):
    namespace = _unique_namespace("dev")
    engine = kubernetes_stack(namespace, secrets={"postgresPassword": POSTGRES_PASSWORD})

    # A preview plans every object and creates none.
    preview = engine.preview()
    assert preview.change_summary.get("create", 0) >= 10, preview.change_summary
    assert api.get(f"/api/v1/namespaces/{namespace}").status_code == 404

    started = time.monotonic()
    result = engine.up()
    print(f"first up: {time.monotonic() - started:.1f} s")
    assert result.summary.result == "succeeded", "".join(engine.log)
    outputs = engine.outputs()
    assert outputs["kubernetesNamespace"] == namespace
    assert outputs["internalGraphqlUrl"] == f"http://hasura.{namespace}.svc.cluster.local:8080/v1/graphql"
    assert {"postgresUrl", "hasuraAdminSecret"} <= engine.secret_outputs()
    # The smoke check ran against what hasura.publicUrl serves (a failed check fails the deploy).
    assert outputs["smoke"]["hasuraUrl"] == engine.outputs()["hasuraUrl"]
    checks = {check["name"]: check for check in outputs["smoke"]["checks"]}
    assert checks["token-accepted"]["passed"] is True and checks["reads-own-row"]["passed"] is True

    base = f"/api/v1/namespaces/{namespace}"
    apps = f"/apis/apps/v1/namespaces/{namespace}"
    deployment = api.get(f"{apps}/deployments/hasura").json()
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 1  # the dev stack's default
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1001
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http", "scheme": "HTTP"}
    assert {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") for e in container["env"]}[
        "HASURA_GRAPHQL_ADMIN_SECRET"] == "hasura-env"
    assert api.get(f"{base}/services/hasura").json()["spec"]["ports"][0]["port"] == 8080
    assert api.get(f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets/hasura").status_code == 200
    secret = api.get(f"{base}/secrets/hasura-env").json()
    assert base64.b64decode(secret["data"]["HASURA_GRAPHQL_ADMIN_SECRET"]).decode() == ADMIN_SECRET

    # Secrets stay encrypted in everything the backend wrote, in plain text and in the base64 of a Secret's data.
    text = engine.backend_text()
    for value in (ADMIN_SECRET, POSTGRES_PASSWORD):
        assert value not in text and base64.b64encode(value.encode()).decode() not in text

    # The StatefulSet controller makes the data claim from the template.
    eventually(lambda: api.get(f"{base}/persistentvolumeclaims/data-postgres-0").status_code == 200,
               "the StatefulSet's volume claim data-postgres-0", 30)

    started = time.monotonic()
    again = engine.up()
    print(f"second up: {time.monotonic() - started:.1f} s")
    assert set(again.summary.resource_changes) == {"same"}, again.summary.resource_changes

    assert engine.outputs()["smoke"]["ranAt"] == outputs["smoke"]["ranAt"]

    generation = deployment["metadata"]["generation"]
    engine.set_config("hasura", {"publicUrl": outputs["hasuraUrl"], "corsDomains": ["https://app.example.com"]})
    changed = engine.up()
    assert changed.summary.resource_changes.get("update", 0) >= 1
    # A new pod template is a new Hasura: the smoke check proves it again.
    assert engine.outputs()["smoke"]["ranAt"] != outputs["smoke"]["ranAt"]
    rolled = api.get(f"{apps}/deployments/hasura").json()
    assert rolled["metadata"]["generation"] == generation + 1
    env = {e["name"]: e.get("value") for e in rolled["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["HASURA_GRAPHQL_CORS_DOMAIN"] == "https://app.example.com"
    # The Deployment controller rolls the new template out as a new ReplicaSet beside the old one.
    eventually(lambda: len(api.get(f"{apps}/replicasets").json()["items"]) == 2, "a second ReplicaSet", 30)

    # A changed password: Hasura reads it only at start, so its pod template changes and it rolls; Postgres takes it
    # live from its mounted Secret (the follow-password container), so its pod template stays as it was.
    statefulset_generation = api.get(f"{apps}/statefulsets/postgres").json()["metadata"]["generation"]
    engine.set_config("postgresPassword", NEW_POSTGRES_PASSWORD, secret=True)
    rotated = engine.up()
    assert "replace" not in rotated.summary.resource_changes, "".join(engine.log)
    assert api.get(f"{apps}/deployments/hasura").json()["metadata"]["generation"] == generation + 2
    assert api.get(f"{apps}/statefulsets/postgres").json()["metadata"]["generation"] == statefulset_generation
    password = api.get(f"{base}/secrets/postgres").json()["data"]["POSTGRES_PASSWORD"]
    assert base64.b64decode(password).decode() == NEW_POSTGRES_PASSWORD
    assert NEW_POSTGRES_PASSWORD not in engine.backend_text()

    started = time.monotonic()
    engine.destroy()
    print(f"destroy: {time.monotonic() - started:.1f} s")
    assert api.get(f"{apps}/deployments/hasura").status_code == 404
    assert api.get(f"{base}/secrets/hasura-env").status_code == 404
    # What holds data stays: the claim, the StatefulSet that owns it, and the namespace around them.
    claim = api.get(f"{base}/persistentvolumeclaims/data-postgres-0").json()
    assert claim["status"]["phase"] in ("Pending", "Bound")
    assert api.get(f"{apps}/statefulsets/postgres").status_code == 200
    assert api.get(f"/api/v1/namespaces/{namespace}").json()["status"]["phase"] == "Active"

    # The next deploy adopts them (server-side apply takes over what exists) and the same claim.
    started = time.monotonic()
    assert engine.up().summary.result == "succeeded", "".join(engine.log)
    print(f"up after destroy: {time.monotonic() - started:.1f} s")
    again = api.get(f"{base}/persistentvolumeclaims/data-postgres-0").json()
    assert again["metadata"]["uid"] == claim["metadata"]["uid"]
    assert api.get(f"{apps}/deployments/hasura").status_code == 200


def test_production_shape_in_a_given_namespace_with_external_database_autoscaler_and_ingress(
        kubernetes_stack, api, postgres_database_url):
    namespace = _unique_namespace("prod")
    # Made by the cluster's admins, as `createNamespace: false` expects.
    assert api.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}).status_code == 201
    engine = kubernetes_stack(
        namespace, stack="prod", secrets={"databaseUrl": postgres_database_url}, createNamespace=False,
        autoscaling={"enabled": True, "minReplicas": 3, "maxReplicas": 6, "targetCpuUtilization": 60},
        ingress={"className": "nginx", "host": "graphql.example.com", "tlsSecretName": "graphql-tls",
                 "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"}})
    result = engine.up()
    assert result.summary.result == "succeeded", "".join(engine.log)
    assert "postgresUrl" in engine.secret_outputs()
    assert not [r for r in engine.resources() if r["type"] == "kubernetes:core/v1:Namespace"]

    apps = f"/apis/apps/v1/namespaces/{namespace}"
    deployment = api.get(f"{apps}/deployments/hasura").json()
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["HASURA_GRAPHQL_ENABLE_CONSOLE"] == "false" and env["HASURA_GRAPHQL_DEV_MODE"] == "false"
    hpa = api.get(f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/hasura").json()
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hasura"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 6)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    ingress = api.get(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/hasura").json()
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["graphql.example.com"], "secretName": "graphql-tls"}]
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"] == {
        "name": "hasura", "port": {"name": "http"}}
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    # No in-cluster Postgres with databaseUrl.
    assert api.get(f"{apps}/statefulsets/postgres").status_code == 404
    assert postgres_database_url.split("@")[0] not in engine.backend_text()

    engine.destroy()
    for path in (f"{apps}/deployments/hasura", f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/"
                 "hasura", f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/hasura",
                 f"/api/v1/namespaces/{namespace}/secrets/hasura-env"):
        assert api.get(path).status_code == 404, path
    # Not the stack's namespace: it stays as it was.
    assert api.get(f"/api/v1/namespaces/{namespace}").json()["status"]["phase"] == "Active"
