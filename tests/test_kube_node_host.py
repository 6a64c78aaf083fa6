"""`scripts/kube-cluster stop` (tests/fixtures/kube_node_cluster.py `stop`) puts back every host change the cluster
with a node makes (issue 21): the kubelet's sysctls, /var/lib/cni, /var/log/pods and the other paths, the KUBE-*
and CNI-* iptables chains, the bridge and the node address, the kubepods cgroups, network namespaces and mounts.
Docker keeps working throughout (its FORWARD policy stays DROP, its rules untouched).
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.fixtures import kube_node_cluster as node_cluster

pytestmark = pytest.mark.timeout(3600)


def _docker_forward_rules() -> list[str]:
    """FORWARD's policy and Docker's jumps (not the per-network rules, which come and go with other tests)."""
    rules = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True, check=True).stdout
    return [line for line in rules.splitlines()
            if line.startswith("-P") or ("DOCKER" in line and " -i " not in line and " -o " not in line)]


def test_start_runs_a_pod_and_stop_leaves_the_host_as_it_was(docker_engine):
    if node_cluster.running():
        pytest.fail("a cluster started by `scripts/kube-cluster start` is running; stop it first "
                    "(scripts/kube-cluster stop): this test starts and stops its own", pytrace=False)
    before = node_cluster.host_state()
    docker_before = _docker_forward_rules()

    started = time.monotonic()
    cluster = node_cluster.start()
    print(f"start: {time.monotonic() - started:.1f} s")
    try:
        with cluster.api() as api:
            assert api.post("/api/v1/namespaces/default/pods", json={"metadata": {"name": "sleeper"}, "spec": {
                "containers": [{"name": "sleeper", "image": "hasura/graphql-engine:v2.51.0",
                                "imagePullPolicy": "Never",
                                "command": ["python3", "-c", "import time; time.sleep(3600)"]}]}}).status_code == 201
            deadline = time.monotonic() + 120
            while api.get("/api/v1/namespaces/default/pods/sleeper").json()["status"].get("phase") != "Running":
                assert time.monotonic() < deadline, "the pod did not start in 120 s"
                time.sleep(0.5)
        during = node_cluster.host_state()
        # The cluster did change the host, as the issue lists (so the comparison below proves the restoring).
        assert during["iptables"]["iptables nat"] and during["cgroups"] and during["addresses"], during
        assert during["sysctls"] != before["sysctls"] or during["paths"] != before["paths"]
        assert _docker_forward_rules() == docker_before
    finally:
        started = time.monotonic()
        node_cluster.stop()
        print(f"stop: {time.monotonic() - started:.1f} s")

    after = node_cluster.host_state()
    assert after == before
    assert _docker_forward_rules() == docker_before
    assert node_cluster.running() is None
    assert not node_cluster.STATE_DIR.exists() and not node_cluster.RUN_DIR.exists()
