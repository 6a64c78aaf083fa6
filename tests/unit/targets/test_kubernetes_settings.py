"""The `kubernetes` object, the `kubernetes` target and its kubeconfig: every problem is found before anything is
created, named by its key, with the fix."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from components.targets.kubernetes.settings import KubernetesSettings
from components.config.settings import SettingsError
from components.plan import validate_stack_config
from components.targets.kubernetes.kubeconfig import KubeconfigProblem, preflight

PK = "pk_test_" + base64.b64encode(b"happy-hippo-12.clerk.accounts.dev$").decode().rstrip("=")
PUBLIC_URL = "https://graphql.example.com"


def kubernetes_stack(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"target": "kubernetes", "clerk": {"publishableKey": PK}, "hasura": {"publicUrl": PUBLIC_URL}}
    raw.update(overrides)
    return raw


def problems_of(raw: dict[str, Any], stack: str = "prod") -> list[str]:
    with pytest.raises(SettingsError) as error:
        validate_stack_config(raw, stack, environ={})
    return error.value.problems


# (case id, raw stack config, key the problem must start with, fragment it must contain)
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("no public url", kubernetes_stack(hasura={}), "hasura.publicUrl", "required with target `kubernetes`"),
    ("plain http public url outside dev", kubernetes_stack(hasura={"publicUrl": "http://graphql.example.com"}),
     "hasura.publicUrl", "use the https URL"),
    ("replicas below one", kubernetes_stack(kubernetes={"replicas": 0}), "kubernetes.replicas", "at least 1"),
    ("ingress without host", kubernetes_stack(kubernetes={"ingress": {"className": "nginx"}}),
     "kubernetes.ingress.className", "set kubernetes.ingress.host"),
    ("ingress host with scheme", kubernetes_stack(kubernetes={"ingress": {"host": "https://graphql.example.com"}}),
     "kubernetes.ingress.host", "without scheme"),
    ("tls secret name not a name", kubernetes_stack(kubernetes={"ingress": {"host": "g.example.com",
                                                                            "tlsSecretName": "Graphql_TLS"}}),
     "kubernetes.ingress.tlsSecretName", "lowercase letters"),
    ("namespace not a name", kubernetes_stack(kubernetes={"namespace": "My Namespace"}), "kubernetes.namespace",
     "lowercase letters"),
    ("empty kubeconfig", kubernetes_stack(kubernetes={"kubeconfig": " "}), "kubernetes.kubeconfig",
     "remove the key to use the ambient kubeconfig"),
    ("cpu request not a quantity", kubernetes_stack(kubernetes={"resources": {"requests": {"cpu": "lots"}}}),
     "kubernetes.resources.requests.cpu", "e.g. `250m`"),
    ("request above limit", kubernetes_stack(kubernetes={"resources": {"requests": {"memory": "2Gi"},
                                                                       "limits": {"memory": "1Gi"}}}),
     "kubernetes.resources.requests.memory", "lower the request or raise the limit"),
    ("autoscaler max below min", kubernetes_stack(kubernetes={"autoscaling": {"enabled": True, "minReplicas": 4,
                                                                              "maxReplicas": 2}}),
     "kubernetes.autoscaling.maxReplicas", "raise maxReplicas to at least 4"),
    ("autoscaler target not a percentage",
     kubernetes_stack(kubernetes={"autoscaling": {"enabled": True, "targetCpuUtilization": 0}}),
     "kubernetes.autoscaling.targetCpuUtilization", "use 1 to 100"),
    ("autoscaler without cpu request",
     kubernetes_stack(kubernetes={"autoscaling": {"enabled": True}, "resources": {"requests": {"cpu": None}}}),
     "kubernetes.resources.requests.cpu", "required with kubernetes.autoscaling"),
    ("replicas with autoscaler", kubernetes_stack(kubernetes={"replicas": 3, "autoscaling": {"enabled": True}}),
     "kubernetes.replicas", "set kubernetes.autoscaling.minReplicas instead"),
    ("autoscaler keys while disabled", kubernetes_stack(kubernetes={"autoscaling": {"maxReplicas": 9}}),
     "kubernetes.autoscaling.maxReplicas", "set kubernetes.autoscaling.enabled to true"),
    ("storage size not a quantity", kubernetes_stack(kubernetes={"postgresStorage": {"size": "ten gigs"}}),
     "kubernetes.postgresStorage.size", "e.g. `10Gi`"),
    ("unknown kubernetes key", kubernetes_stack(kubernetes={"replica": 2}), "kubernetes.replica",
     "did you mean `kubernetes.replicas`?"),
    ("docker host port", kubernetes_stack(hasura={"publicUrl": PUBLIC_URL, "port": 9090}), "hasura.port",
     "the `kubernetes` target ignores it"),
    ("docker bind address", kubernetes_stack(hasura={"publicUrl": PUBLIC_URL, "bindAddress": "0.0.0.0"}),
     "hasura.bindAddress", "the `kubernetes` target ignores it"),
    ("postgres host port", kubernetes_stack(postgres={"hostPort": 15432}), "postgres.hostPort",
     "kubectl port-forward"),
    ("postgres volume protection", kubernetes_stack(postgres={"protectVolume": True}), "postgres.protectVolume",
     "always kept"),
    ("postgres keys with databaseUrl", kubernetes_stack(postgres={"user": "app"}, databaseUrl="postgres://u:p@db/app"),
     "postgres.user", "`databaseUrl` replaces the in-cluster Postgres"),
    ("storage with databaseUrl", kubernetes_stack(kubernetes={"postgresStorage": {"size": "5Gi"}},
                                                  databaseUrl="postgres://u:p@db/app"),
     "kubernetes.postgresStorage", "no volume claim is made"),
    ("password with databaseUrl", kubernetes_stack(databaseUrl="postgres://u:p@db/app",
                                                   postgresPassword="p" * 20),
     "postgresPassword", "`clerk-hasura pulumi --stack prod config rm postgresPassword`"),
    ("short admin secret", kubernetes_stack(hasuraAdminSecret="short"), "hasuraAdminSecret", "fewer than 16"),
    ("kubernetes key on docker", {"clerk": {"publishableKey": PK}, "kubernetes": {"replicas": 3}},
     "kubernetes.replicas", "set `target: kubernetes`"),
    ("kubernetes key on existing", {"target": "existing", "clerk": {"publishableKey": PK},
                                    "hasura": {"publicUrl": PUBLIC_URL}, "hasuraAdminSecret": "a" * 20,
                                    "kubernetes": {"skipAwait": True}},
     "kubernetes.skipAwait", "only the `kubernetes` target reads it"),
]


@pytest.mark.parametrize(("raw", "key", "fragment"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_bad_setting_is_refused_naming_its_key_and_fix(raw: dict[str, Any], key: str, fragment: str) -> None:
    problems = problems_of(raw)
    matching = [p for p in problems if p.startswith(f"{key}:")]
    assert matching, f"no problem names {key}: {problems}"
    assert any(fragment in p and "Fix:" in p for p in matching), matching


def test_every_problem_is_listed_at_once() -> None:
    problems = problems_of(kubernetes_stack(
        hasura={"port": 9090}, kubernetes={"replicas": 3, "autoscaling": {"enabled": True},
                                          "ingress": {"tlsSecretName": "tls"}}))
    assert [p.split(":")[0] for p in problems] == [
        "hasura.publicUrl", "hasura.port", "kubernetes.replicas", "kubernetes.ingress.tlsSecretName"]


def test_defaults_follow_the_stack() -> None:
    dev = validate_stack_config(kubernetes_stack(hasura={"publicUrl": "http://hasura.dev.example.com"}), "dev",
                                environ={})
    prod = validate_stack_config(kubernetes_stack(), "prod", environ={})
    assert dev.kubernetes.resolved_replicas("dev") == 1
    assert prod.kubernetes.resolved_replicas("prod") == 2
    assert prod.kubernetes.resolved_namespace("clerk-hasura", "Prod_EU") == "clerk-hasura-prod-eu"
    assert prod.kubernetes.skip_await is False and prod.kubernetes.create_namespace is True
    assert prod.kubernetes.resources.requests.cpu == "250m" and prod.kubernetes.resources.limits.cpu is None
    # A request set alone keeps the other defaults.
    custom = validate_stack_config(kubernetes_stack(kubernetes={"resources": {"requests": {"memory": "512Mi"}}}),
                                   "prod", environ={})
    assert custom.kubernetes.resources.requests.cpu == "250m"
    assert custom.kubernetes.resources.requests.memory == "512Mi"


def write_kubeconfig(path: Path, contexts: list[str], current: str | None) -> Path:
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": current,
                                "contexts": [{"name": name, "context": {"cluster": name}} for name in contexts]}))
    return path


def preflight_problem(settings: dict[str, Any], environ: dict[str, str]) -> str:
    with pytest.raises(KubeconfigProblem) as error:
        preflight(KubernetesSettings.model_validate(settings), environ)
    return str(error.value)


def test_the_kubeconfig_and_its_context_are_checked_before_anything_is_created(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "config", ["local", "production"], "local")
    preflight(KubernetesSettings(kubeconfig=str(config), context="production"), {})
    preflight(KubernetesSettings(), {"KUBECONFIG": str(config)})

    missing = preflight_problem({"kubeconfig": str(tmp_path / "nope")}, {})
    assert missing.startswith("kubernetes.kubeconfig: there is no file") and "Fix:" in missing
    unknown = preflight_problem({"kubeconfig": str(config), "context": "staging"}, {})
    assert unknown.startswith("kubernetes.context: 'staging' is not a context") and "local, production" in unknown
    ambient = preflight_problem({}, {"KUBECONFIG": str(tmp_path / "nope")})
    assert ambient.startswith("kubernetes.kubeconfig: unset, and KUBECONFIG") and "Fix:" in ambient
    # KUBECONFIG lists several files, as kubectl merges them: the first current context wins.
    other = write_kubeconfig(tmp_path / "other", ["staging"], None)
    preflight(KubernetesSettings(context="staging"), {"KUBECONFIG": f"{config}{os.pathsep}{other}"})
    no_current = preflight_problem({}, {"KUBECONFIG": str(other)})
    assert no_current.startswith("kubernetes.context:") and "selects no current context" in no_current
    broken = tmp_path / "broken"
    broken.write_text("contexts: [unclosed")
    assert preflight_problem({"kubeconfig": str(broken)}, {}).startswith(
        f"kubernetes.kubeconfig: {broken} is not a readable kubeconfig")


def test_in_a_pod_without_a_kubeconfig_the_service_account_is_used(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    preflight(KubernetesSettings(), {"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    assert preflight_problem({}, {}).startswith("kubernetes.kubeconfig: unset, and ~/.kube/config names no file")
