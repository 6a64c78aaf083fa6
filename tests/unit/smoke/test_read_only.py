"""`smoke.writes`: the read-only smoke check proves row isolation with the rows already in `public.users` and writes
nothing (issue 13), counted at the Hasura double and by a Postgres trigger on `users`; the setting's default follows
the stack (read-only everywhere but `dev`) and a bad value is refused before anything is created."""

from __future__ import annotations

import copy
import json
import logging
import secrets

import pytest

from components.config.settings import SettingsError
from components.targets import load_settings
from components.hasura.client import HasuraClient
from components.smoke.runner import run_smoke
from components.smoke.target import SmokeTarget
from components.smoke.tokens import SMOKE_USER_ID
from tests.pulumi_harness import run_program
from tests.unit.smoke.test_checks import deploy, project, results  # noqa: F401 - fixtures

HMAC_KEY = secrets.token_hex(24)
ISSUER = "https://happy-hippo-12.clerk.accounts.dev"
OTHERS = ["user_alice_2b9f", "user_bob_7c1d"]
PROOFS = ("token-accepted", "token-claims", "reads-own-row", "cannot-read-others", "anonymous-refused",
          "forged-token-refused", "admin-role-refused", "expired-token-refused")

# Records every row-level change of public.users, whoever makes it (Hasura's event triggers are such triggers).
AUDIT_DDL = """
CREATE TABLE public.users_audit (op text NOT NULL, id text);
CREATE FUNCTION public.record_users_change() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO public.users_audit VALUES (TG_OP, OLD.id);
  ELSE
    INSERT INTO public.users_audit VALUES (TG_OP, NEW.id);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER record_users_change AFTER INSERT OR UPDATE OR DELETE ON public.users
  FOR EACH ROW EXECUTE FUNCTION public.record_users_change();
"""


@pytest.fixture
def audited(deploy):  # noqa: F811
    """`audited(rows, metadata=None)`: Hasura trusting HMAC_KEY, `users` holding `rows` and watched by the trigger;
    request counts start at zero."""

    def start(rows: list[str], *, metadata=None):
        hasura = deploy({"type": "HS256", "key": HMAC_KEY, "issuer": ISSUER, "allowed_skew": 5}, metadata=metadata)
        with HasuraClient(hasura.url, hasura.admin_secret) as client:
            if rows:
                client.run_sql("INSERT INTO public.users (id, name) VALUES "
                               + ", ".join(f"('{row}', 'Someone')" for row in rows))
            client.run_sql(AUDIT_DDL)
        hasura.reset_counts()
        return hasura

    return start


def target(hasura, **overrides) -> SmokeTarget:
    return SmokeTarget(**{"hasura_url": hasura.url, "admin_secret": hasura.admin_secret, "issuer": ISSUER,
                          "signing_key": HMAC_KEY, "token_source": "signing-key", "timeout_seconds": 30, **overrides})


def audit(hasura) -> list[tuple[str, str]]:
    with HasuraClient(hasura.url, hasura.admin_secret) as client:
        return [(r["op"], r["id"]) for r in client.run_sql("SELECT op, id FROM public.users_audit").records()]


def user_ids(hasura) -> list[str]:
    with HasuraClient(hasura.url, hasura.admin_secret) as client:
        return [r["id"] for r in client.run_sql("SELECT id FROM public.users ORDER BY id").records()]


def writes_seen(hasura) -> int:
    """Writes that reached Hasura: schema/metadata writes and non-read-only run_sql, plus GraphQL mutations."""
    return hasura.writes() + hasura.count("/v1/graphql", "mutation")


def test_read_only_passes_on_a_table_with_other_users_and_writes_nothing(audited, caplog):
    caplog.set_level(logging.DEBUG)
    hasura = audited([SMOKE_USER_ID, *OTHERS])
    report = run_smoke(target(hasura), environ={})
    checks = results(report)
    assert report.passed and report.mode == "read-only", report.render()
    assert list(checks) == ["healthz", "user-token", "sample-rows", *PROOFS, "cleanup"]
    assert all(checks[name].passed for name in ("healthz", "user-token", "sample-rows", *PROOFS)), report.render()
    assert checks["cleanup"].skipped  # nothing was written, so nothing to remove
    assert "read-only" in report.render().splitlines()[0]
    assert writes_seen(hasura) == 0 and hasura.count("/v2/query", "run_sql") == 1  # the one read-only sample
    assert audit(hasura) == [] and user_ids(hasura) == sorted([SMOKE_USER_ID, *OTHERS])
    # The sampled user's id is real personal data: it never reaches the report or a log line.
    text = report.render() + json.dumps(report.to_list()) + caplog.text
    assert not [other for other in OTHERS if other in text]


def test_read_only_without_a_row_for_the_user_says_so_and_still_proves_isolation(audited):
    hasura = audited(OTHERS)
    checks = results(run_smoke(target(hasura), environ={}))
    assert checks["reads-own-row"].skipped and checks["reads-own-row"].detail.startswith("no row for this user yet")
    assert checks["cannot-read-others"].passed, checks["cannot-read-others"].detail
    assert writes_seen(hasura) == 0 and audit(hasura) == []


def test_read_only_on_a_table_without_other_users_could_not_prove_isolation(audited):
    hasura = audited([SMOKE_USER_ID])
    report = run_smoke(target(hasura), environ={})
    others = results(report)["cannot-read-others"]
    assert others.passed is None, "an unproven isolation is never reported as passed"
    assert others.detail.startswith("could not prove row isolation")
    assert "SKIP  cannot-read-others" in report.render()
    assert report.passed  # nothing failed: the deploy goes on, and the report says what was not proven
    assert writes_seen(hasura) == 0 and audit(hasura) == []


def test_read_only_catches_a_permission_without_the_row_filter(audited, project):  # noqa: F811
    metadata = copy.deepcopy(project.metadata)
    permission = metadata["sources"][0]["tables"][0]["select_permissions"][0]["permission"]
    permission["filter"] = {}
    del permission["limit"]
    hasura = audited([SMOKE_USER_ID, *OTHERS], metadata=metadata)
    report = run_smoke(target(hasura), environ={})
    others = results(report)["cannot-read-others"]
    assert not report.passed and others.passed is False
    assert "can read other users' rows (2 other users' rows in the list and another user's row by primary key)" \
        in others.detail
    assert not [other for other in OTHERS if other in report.render()]
    assert writes_seen(hasura) == 0 and audit(hasura) == []


def test_the_permission_limit_alone_does_not_hide_a_missing_filter(audited, project):  # noqa: F811
    # metadata/ limits the select to 1 row: without the filter the list may show the user's own row only,
    # and the sampled row read by primary key is what gives it away.
    metadata = copy.deepcopy(project.metadata)
    metadata["sources"][0]["tables"][0]["select_permissions"][0]["permission"]["filter"] = {}
    hasura = audited([SMOKE_USER_ID, *OTHERS], metadata=metadata)
    others = results(run_smoke(target(hasura), environ={}))["cannot-read-others"]
    assert others.passed is False and "another user's row by primary key" in others.detail


def test_seeded_mode_writes_and_removes_its_rows_as_the_trigger_sees(audited):
    # The instruments above see writes: the seeded check's are recorded by both.
    hasura = audited(OTHERS)
    report = run_smoke(target(hasura, writes=True), environ={})
    assert report.passed and report.mode == "seeded", report.render()
    assert writes_seen(hasura) > 0
    recorded = audit(hasura)
    assert ("INSERT", SMOKE_USER_ID) in recorded and ("DELETE", SMOKE_USER_ID) in recorded
    assert user_ids(hasura) == sorted(OTHERS)


# The setting -------------------------------------------------------------------------------------------------


def test_production_stacks_default_to_read_only_and_dev_to_seeded():
    default = load_settings({}, environ={}).smoke
    assert default.resolved_writes("dev") is True
    assert default.resolved_writes("prod") is False and default.resolved_writes("staging") is False
    assert load_settings({"smoke": {"writes": True}}, environ={}).smoke.resolved_writes("prod") is True
    assert load_settings({"smoke": {"writes": False}}, environ={}).smoke.resolved_writes("dev") is False


@pytest.mark.parametrize(("stack", "writes"), [("dev", True), ("prod", False)])
def test_the_program_passes_the_resolved_setting_to_the_check(stack, writes):
    config = {"clerk": {"publishableKey": "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA",
                        "signingAlgorithm": "HS256"},
              "clerkSigningKey": HMAC_KEY, "hasuraAdminSecret": "the-admin-secret-value"}
    run = run_program(stack, config, secret_keys=["clerkSigningKey", "hasuraAdminSecret"]).check()
    assert run.one("pulumi-python:dynamic/smoke_check:SmokeCheck").plain_inputs["writes"] is writes


def test_a_bad_value_is_refused_before_anything_is_created():
    with pytest.raises(SettingsError) as caught:
        load_settings({"smoke": {"writes": "sometimes"}}, environ={})
    (problem,) = caught.value.problems
    assert problem.startswith("smoke.writes:") and "Fix: give true or false" in problem
    run = run_program("prod", {"smoke": {"writes": "sometimes"}})
    assert run.error is not None and "smoke.writes" in run.error
    assert run.registrations == []
