"""The `kube_cluster` fixture gives a working API server with a controller-manager, and a runnable provider plugin."""

from __future__ import annotations

import selectors
import ssl
import subprocess
import time
import uuid

import httpx
import pytest

# Imported here too so this file works without conftest.py; registered twice, the fixture still starts one cluster.
from tests.fixtures.kube_cluster import KubeCluster

# The first test to use the fixture may build the binaries (25 to 35 minutes cold on 2 cores); later runs reuse them.
pytestmark = pytest.mark.timeout(5400)


def _eventually(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


def test_a_deployment_gets_a_replicaset_and_its_namespace_is_deleted(kube_cluster: KubeCluster):
    namespace = f"fixture-{uuid.uuid4().hex[:8]}"
    labels = {"app": "web"}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
    }
    with httpx.Client(base_url=kube_cluster.server, verify=ssl.create_default_context(cafile=kube_cluster.ca_path), timeout=10,
                      headers={"Authorization": f"Bearer {kube_cluster.token}"}) as api:
        assert api.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}).status_code == 201
        assert api.post(f"/apis/apps/v1/namespaces/{namespace}/deployments", json=deployment).status_code == 201

        replicasets = _eventually(
            lambda: api.get(f"/apis/apps/v1/namespaces/{namespace}/replicasets").json()["items"], 30,
            "the controller-manager to create the Deployment's ReplicaSet")
        assert replicasets[0]["metadata"]["ownerReferences"][0]["name"] == "web"
        _eventually(lambda: api.get(f"/api/v1/namespaces/{namespace}/serviceaccounts/default").status_code == 200,
                    30, "the namespace's default service account")

        assert api.delete(f"/api/v1/namespaces/{namespace}").status_code == 200
        _eventually(lambda: api.get(f"/api/v1/namespaces/{namespace}").status_code == 404, 60,
                    "the controller-manager to finish deleting the namespace")


def test_the_provider_plugin_starts_and_announces_its_port(kube_cluster: KubeCluster):
    plugin = subprocess.Popen([str(kube_cluster.plugin_path)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        with selectors.DefaultSelector() as selector:  # a provider prints its gRPC port on stdout, then serves
            selector.register(plugin.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout=30)
        port = plugin.stdout.readline().strip() if ready else ""
        assert port.isdigit(), f"no port announced; stderr: {plugin.stderr.read() if plugin.poll() is not None else ''}"
    finally:
        plugin.kill()
        plugin.wait(10)
