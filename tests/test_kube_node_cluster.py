"""The cluster with a node (tests/fixtures/kube_node_cluster.py, scripts/kube-cluster) runs pods: a Postgres pod of
the stand-in image with a claim on a local volume becomes Ready, its Service's ClusterIP answers from the host, and
another pod reaches it by its cluster DNS name. `stop` puts the host back as it was (tests/test_kube_node_host.py).
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.fixtures.kube_node_cluster import NODE_NAME, NodeCluster

# The first run may build the node binaries (about 10 minutes cold after the control plane); later runs reuse them.
pytestmark = pytest.mark.timeout(3600)


def eventually(check: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)
    return result


def pod_ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def create(api: httpx.Client, path: str, body: dict) -> dict:
    response = api.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_postgres_pod_with_a_claim_runs_and_is_reached_by_clusterip_and_by_dns_from_a_pod(
        kube_node_cluster: NodeCluster):
    namespace = f"node-{uuid.uuid4().hex[:8]}"
    labels = {"app": "db"}
    with kube_node_cluster.api() as api:
        node = api.get(f"/api/v1/nodes/{NODE_NAME}").json()
        assert {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"] == "True"
        create(api, "/api/v1/namespaces", {"metadata": {"name": namespace}})
        base = f"/api/v1/namespaces/{namespace}"
        eventually(lambda: api.get(f"{base}/serviceaccounts/default").status_code == 200, "the service account")
        create(api, f"{base}/persistentvolumeclaims", {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
        create(api, f"{base}/pods", {"metadata": {"name": "db", "labels": labels}, "spec": {
            # What the kubernetes target's StatefulSet asks of Postgres: the image's uid, fsGroup, no capabilities.
            "securityContext": {"runAsUser": 999, "runAsGroup": 999, "fsGroup": 999, "runAsNonRoot": True},
            "containers": [{
                "name": "postgres", "image": "postgres:17.10", "imagePullPolicy": "Never",
                "env": [{"name": "POSTGRES_PASSWORD", "value": "node-test"},
                        {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"}],
                "ports": [{"containerPort": 5432}],
                "readinessProbe": {"exec": {"command": ["pg_isready", "-U", "postgres", "-h", "127.0.0.1"]},
                                   "periodSeconds": 1},
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}})
        service = create(api, f"{base}/services", {"metadata": {"name": "db"}, "spec": {
            "selector": labels, "ports": [{"port": 5432, "targetPort": 5432}]}})

        started = time.monotonic()
        eventually(lambda: pod_ready(api.get(f"{base}/pods/db").json()), "the Postgres pod to be Ready", 180)
        print(f"postgres pod Ready in {time.monotonic() - started:.1f} s")
        assert api.get(f"{base}/persistentvolumeclaims/data").json()["status"]["phase"] == "Bound"

        # From the host: kube-proxy's rules take the ClusterIP to the pod.
        cluster_ip = service["spec"]["clusterIP"]
        eventually(lambda: _connects(cluster_ip, 5432), f"a TCP connection to {cluster_ip}:5432 from the host", 30)

        # From a pod: the cluster DNS name (CoreDNS behind kube-dns), then the ClusterIP.
        create(api, f"{base}/pods", {"metadata": {"name": "client"}, "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "client", "image": "hasura/graphql-engine:v2.51.0", "imagePullPolicy": "Never",
                            "command": ["python3", "-c", (
                                "import socket; socket.create_connection("
                                f"('db.{namespace}.svc.cluster.local', 5432), 10).close(); print('connected')")]}]}})
        phase = eventually(lambda: api.get(f"{base}/pods/client").json()["status"].get("phase")
                           in ("Succeeded", "Failed") and api.get(f"{base}/pods/client").json()["status"]["phase"],
                           "the client pod to finish", 120)
        log = api.get(f"{base}/pods/client/log").text
        assert phase == "Succeeded", log
        assert "connected" in log

        assert api.delete(f"/api/v1/namespaces/{namespace}").status_code == 200


def _connects(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False
