"""A failed smoke check is visible as failed and never passes off an old report as current (issue 10): the
provider keeps the failed report as the resource's new state (raising would make the engine keep the old, passing
one), reruns it at the next `pulumi up` until it passes, and the program fails the deploy with the readable report
as its error. The report says when it ran, against what, in which mode and with which token source."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2

from components.providers.smoke_check import SmokeCheckProvider
from components.smoke.report import CheckResult, SmokeReport
from tests.pulumi_harness import DynamicProviderHost, run_program
from tests.unit.smoke.test_checks import clerk_jwt_secret, deploy, project  # noqa: F401 - fixtures

URN = "urn:pulumi:dev::clerk-hasura::pulumi-python:dynamic/smoke_check:SmokeCheck::backend-smoke"
SMOKE = "pulumi-python:dynamic/smoke_check:SmokeCheck"
TRIGGERS = {"hasura": "container-1", "metadata": "hash-1", "template": "jtmp_1", "jwtSecret": "jwt-hash-1"}


def test_a_failed_run_is_the_new_state_and_reruns_until_it_passes(deploy, clerk_double):  # noqa: F811
    hasura = deploy(clerk_jwt_secret(clerk_double))
    props = {"__provider": serialize_provider(SmokeCheckProvider()), "hasuraUrl": hasura.url,
             "hasuraAdminSecret": hasura.admin_secret, "issuer": clerk_double.issuer, "jwksUrl": clerk_double.jwks_url,
             "clerkSecretKey": clerk_double.secret_key, "clerkApiUrl": clerk_double.url, "timeoutSeconds": 2,
             "writes": False, "tokenSource": "auto", "triggers": TRIGGERS, "runId": ""}
    with DynamicProviderHost() as host:
        host.configure({})
        inputs, _ = host.check(URN, {}, props)
        _, passed = host.create(URN, inputs)
        assert passed["passed"] is True and passed["report"]["passed"] is True
        assert host.diff(URN, "smoke-1", passed, inputs).changes == provider_pb2.DiffResponse.DIFF_NONE

        time.sleep(1)  # ranAt has a resolution of one second
        hasura.stop()  # e.g. the container stopped: the same inputs, rerun on demand
        failed = host.update(URN, "smoke-1", passed, {**inputs, "runId": "again"})
        assert failed["passed"] is False and failed["report"]["passed"] is False
        assert failed["ranAt"] > passed["ranAt"] and failed["report"]["ranAt"] == failed["ranAt"]
        assert {c["name"]: c.get("passed") for c in failed["report"]["checks"]}["healthz"] is False
        # Nothing changed in the program, yet the next `pulumi up` reruns the check because it did not pass.
        again = {**inputs, "runId": "again"}
        assert host.diff(URN, "smoke-1", failed, again).changes == provider_pb2.DiffResponse.DIFF_SOME

        hasura.start()
        repaired = host.update(URN, "smoke-1", failed, again)
        assert repaired["passed"] is True
        assert host.diff(URN, "smoke-1", repaired, again).changes == provider_pb2.DiffResponse.DIFF_NONE


def test_the_report_says_when_against_what_and_how_it_ran(deploy, clerk_double):  # noqa: F811
    hasura = deploy(clerk_jwt_secret(clerk_double))
    props = {"hasuraUrl": hasura.url, "hasuraAdminSecret": hasura.admin_secret, "issuer": clerk_double.issuer,
             "clerkSecretKey": clerk_double.secret_key, "clerkApiUrl": clerk_double.url, "timeoutSeconds": 30,
             "writes": True, "tokenSource": "clerk", "triggers": TRIGGERS, "runId": ""}
    before = time.time()
    report = SmokeCheckProvider().create(props).outs["report"]
    ran_at = datetime.fromisoformat(report["ranAt"])
    assert ran_at.utcoffset().total_seconds() == 0 and before - 1 <= ran_at.timestamp() <= time.time()
    assert report["against"] == {"hasura": "container-1", "metadata": "hash-1", "template": "jtmp_1"}
    assert "jwt-hash-1" not in json.dumps(report), "the JWT secret's hash stays out of the plain report"
    assert (report["mode"], report["tokenSource"], report["hasuraUrl"]) == ("seeded", "clerk", hasura.url)
    assert report["tokenSourceUsed"].startswith("clerk: Clerk template 'hasura'")


# The deploy fails with the report ---------------------------------------------------------------------------

FAILED = SmokeReport("http://127.0.0.1:8080", "2026-11-27T04:47:04+00:00", "read-only", "auto", "none", (
    CheckResult("healthz", False, "Hasura answered 'ERROR'. Fix: run scripts/deploy", 3),
    CheckResult("user-token", None, "Hasura is not healthy (see healthz)", 0),
)).to_dict()

PROGRAM = '''
import pulumi
from components.providers.smoke_check import SmokeCheck, fail_deploy_unless_passed

smoke = SmokeCheck("backend-smoke", {"hasuraUrl": "http://127.0.0.1:8080",
                                     "hasuraAdminSecret": pulumi.Output.secret("the-admin-secret-value")})
pulumi.export("smoke", smoke.report)
fail_deploy_unless_passed(smoke)
'''


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    path = Path(tmp_path_factory.mktemp("program")) / "__main__.py"
    path.write_text(PROGRAM)
    return path


def failed_run(program: Path, *, preview: bool = False):
    # Pulumi state drops null values: a skipped check comes back without `passed`.
    report = json.loads(json.dumps(FAILED).replace('"passed": null, ', ""))
    return run_program("dev", {}, program=program, preview=preview,
                       mock_outputs={SMOKE: {"passed": False, "report": report}})


def test_a_failed_check_fails_the_deploy_with_the_report_as_the_last_word(program):
    run = failed_run(program)
    assert run.error is not None and "Traceback" not in run.error
    first, *rest = run.error.splitlines()
    assert first.startswith("The smoke check failed") and "`smoke` stack output" in first
    assert rest[0].startswith("Smoke check of http://127.0.0.1:8080 at 2026-11-27T04:47:04+00:00 (read-only")
    assert rest[1:] == ["  FAIL  healthz          3 ms  Hasura answered 'ERROR'. Fix: run scripts/deploy",
                        "  SKIP  user-token       0 ms  Hasura is not healthy (see healthz)"]
    assert run.outputs["smoke"].value["passed"] is False  # the stack output shows the failed report


def test_a_preview_and_a_passing_check_do_not_fail(program):
    assert failed_run(program, preview=True).error is None
    passing = run_program("dev", {}, program=program,
                          mock_outputs={SMOKE: {"passed": True, "report": {**FAILED, "passed": True}}})
    assert passing.error is None
