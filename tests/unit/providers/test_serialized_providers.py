"""The smoke-check and JWT-template providers the way the engine runs them: serialized with the SDK's own
serializer, loaded in a fresh interpreter, then driven."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import dill
from pulumi.dynamic.dynamic import serialize_provider

from components.providers.clerk_jwt_template import ClerkJwtTemplateProvider
from components.providers.smoke_check import SmokeCheckProvider

ROOT = Path(__file__).resolve().parents[3]

# The provider host runs `python -m pulumi.dynamic` in the project directory, so `components` is importable there
# and nothing from this test process is.
DRIVER = """
import base64, json, sys
import dill
request = json.load(sys.stdin)
provider = dill.loads(base64.b64decode(request["provider"]))
result = getattr(provider, request["method"])(*request["args"])
print(json.dumps({"type": type(provider).__module__ + "." + type(provider).__name__,
                  "id": getattr(result, "id", None), "outs": getattr(result, "outs", None),
                  "changes": getattr(result, "changes", None)}, default=str))
"""


def drive(provider, method: str, *args):
    serialized = serialize_provider(provider)
    completed = subprocess.run([sys.executable, "-c", DRIVER], cwd=ROOT, capture_output=True, text=True, timeout=120,
                               input=json.dumps({"provider": serialized, "method": method, "args": list(args)}))
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout), completed


def test_providers_are_pickled_by_reference_and_hold_no_client():
    for provider in (ClerkJwtTemplateProvider(), SmokeCheckProvider()):
        raw = base64.b64decode(serialize_provider(provider))
        assert len(raw) < 200, "the provider should pickle as a module reference, not by value"
        assert type(dill.loads(raw)) is type(provider)


def test_template_provider_works_in_a_fresh_interpreter(clerk_double_factory):
    clerk = clerk_double_factory(seed_templates={})
    inputs = ClerkJwtTemplateProvider().check({}, {"name": "hasura", "clerkSecretKey": clerk.secret_key,
                                                   "clerkApiUrl": clerk.url}).inputs
    created, _ = drive(ClerkJwtTemplateProvider(), "create", inputs)
    assert created["type"] == "components.providers.clerk_jwt_template.ClerkJwtTemplateProvider"
    assert created["id"] == clerk.templates["hasura"]["id"]
    read, _ = drive(ClerkJwtTemplateProvider(), "read", created["id"], created["outs"])
    diffed, _ = drive(ClerkJwtTemplateProvider(), "diff", created["id"], read["outs"], inputs)
    assert diffed["changes"] is False


def test_smoke_provider_works_in_a_fresh_interpreter_and_reports_a_failure_without_raising():
    props = {"hasuraUrl": "http://127.0.0.1:9", "hasuraAdminSecret": "admin-secret-value", "timeoutSeconds": 1,
             "tokenSource": "none", "triggers": {}, "runId": ""}
    created, completed = drive(SmokeCheckProvider(), "create", props)
    assert created["outs"]["passed"] is False and completed.stderr == ""
    checks = {check["name"]: check for check in created["outs"]["report"]["checks"]}
    assert checks["healthz"]["passed"] is False
    assert "admin-secret-value" not in json.dumps(created["outs"]["report"]) + completed.stderr


TEMPLATE_URN = "urn:pulumi:dev::clerk-hasura::pulumi-python:dynamic/clerk_jwt_template:ClerkJwtTemplate::backend-jwt"
SMOKE_URN = "urn:pulumi:dev::clerk-hasura::pulumi-python:dynamic/smoke_check:SmokeCheck::backend-smoke"


def test_template_lifecycle_through_the_dynamic_provider_host(clerk_double_factory):
    from pulumi.runtime.proto import provider_pb2

    from tests.pulumi_harness import DynamicProviderHost

    clerk = clerk_double_factory(seed_templates={"other": {"a": "b"}})
    news = {"__provider": serialize_provider(ClerkJwtTemplateProvider()), "name": "hasura",
            "clerkSecretKey": clerk.secret_key, "clerkApiUrl": clerk.url, "allowedClockSkew": 5}
    with DynamicProviderHost() as host:
        host.configure({})
        inputs, failures = host.check(TEMPLATE_URN, {}, news)
        assert failures == [] and inputs["lifetime"] == 60
        template_id, outs = host.create(TEMPLATE_URN, inputs)
        assert template_id == clerk.templates["hasura"]["id"] and outs["live"]["claims"] == inputs["claims"]
        _, refreshed = host.read(TEMPLATE_URN, template_id, outs)
        assert host.diff(TEMPLATE_URN, template_id, refreshed, inputs).changes == provider_pb2.DiffResponse.DIFF_NONE
        clerk.templates["hasura"]["allowed_clock_skew"] = 60  # edited in the dashboard
        _, refreshed = host.read(TEMPLATE_URN, template_id, outs)
        # What Clerk holds is reported under `live`; no input is overwritten by an output of the same name.
        assert refreshed["live"]["allowedClockSkew"] == 60
        assert {key: refreshed[key] for key in inputs} == inputs
        assert host.diff(TEMPLATE_URN, template_id, refreshed, inputs).changes == provider_pb2.DiffResponse.DIFF_SOME
        updated = host.update(TEMPLATE_URN, template_id, refreshed, inputs)
        assert {key: updated[key] for key in inputs} == inputs
        assert clerk.templates["hasura"]["allowed_clock_skew"] == 5 and clerk.templates["other"]["claims"] == {"a": "b"}
