"""`run_smoke`: runs every check against a target in order (concurrently where they do not depend on each
other). Seeded (`smoke.writes` true), it inserts the test rows first and removes them afterwards, whatever happened;
read-only, it samples the rows already there in a read-only transaction and writes nothing.

Pure: no Pulumi here. `components.providers.smoke_check` runs it as the last step of `pulumi up`; `python -m
clerk-hasura smoke` runs it from CI. Tokens, the admin secret and the Clerk keys never appear in the report,
a log line or an exception: every text leaving a run is scrubbed of them.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from components.errors import ClerkHasuraError
from components.hasura.client import HasuraClient, HasuraError
from components.smoke.checks import (
    USERS_TABLE,
    check_admin_role_refused,
    check_anonymous_refused,
    check_cannot_read_others,
    check_expired_refused,
    check_forged_refused,
    check_healthz,
    check_reads_own_row,
    check_token_accepted,
    check_names,
    check_token_claims,
    run_sql_once_synced,
)
from components.smoke.report import SmokeReport
from components.smoke.run_state import SmokeRun
from components.smoke.target import SmokeConfigError, SmokeTarget, choose_token_source
from components.smoke.tokens import get_user_token

_NO_TOKEN = "needs a user token, and there is none (see user-token)"


def run_smoke(target: SmokeTarget, *, environ: Mapping[str, str] | None = None,
              clock: Callable[[], float] = time.time) -> SmokeReport:
    """Run every check against `target`; never raises for a failing check (see `SmokeReport.passed`)."""
    environ = os.environ if environ is None else environ
    choice = choose_token_source(target, environ)
    run = SmokeRun(target, environ, clock)
    ran_at = datetime.fromtimestamp(clock(), UTC).isoformat(timespec="seconds")
    hasura = HasuraClient(target.hasura_url, target.admin_secret, timeout=15.0,
                          retry_seconds=min(30.0, target.timeout_seconds))
    source_label = choice.name
    rows_step = _rows_step(target)
    try:
        run.run_check("healthz", lambda: check_healthz(run, hasura))
        if not run.results["healthz"].passed:
            for name in check_names(target.writes)[1:]:
                run.skip(name, "Hasura is not healthy (see healthz)")
            return _report(run, ran_at, source_label)
        get_user_token(run, choice)
        try:
            if run.user is not None:
                source_label = f"{choice.name}: {run.user.description}"
                run.run_check(rows_step, lambda: (_seed_rows if target.writes else _sample_rows)(run, hasura))
                run.run_check("token-accepted", lambda: check_token_accepted(run, hasura))
            else:
                run.skip(rows_step, _NO_TOKEN)
                run.skip("token-accepted", _NO_TOKEN)
            _run_concurrently(run, hasura)
        finally:
            _cleanup(run, hasura)  # whatever happened: remove the test rows, revoke the session
    finally:
        hasura.close()
    return _report(run, ran_at, source_label)


def _rows_step(target: SmokeTarget) -> str:
    """The step that provides the rows the isolation checks test against."""
    return "seed-rows" if target.writes else "sample-rows"


def _report(run: SmokeRun, ran_at: str, source_label: str) -> SmokeReport:
    checks = tuple(run.results[name] for name in check_names(run.target.writes) if name in run.results)
    return SmokeReport(run.target.hasura_url, ran_at, run.target.mode, run.target.token_source,
                       run.scrub(source_label), checks)


def _run_concurrently(run: SmokeRun, hasura: HasuraClient) -> None:
    user_checks: dict[str, Callable[[], tuple[bool | None, str]]] = {
        "token-claims": lambda: check_token_claims(run),
        "reads-own-row": lambda: check_reads_own_row(run, hasura),
        "cannot-read-others": lambda: check_cannot_read_others(run, hasura),
        "admin-role-refused": lambda: check_admin_role_refused(run, hasura),
    }
    always: dict[str, Callable[[], tuple[bool | None, str]]] = {
        "anonymous-refused": lambda: check_anonymous_refused(hasura),
        "forged-token-refused": lambda: check_forged_refused(run, hasura),
    }
    needs_accepted = {"reads-own-row", "cannot-read-others", "admin-role-refused"}
    accepted = run.results.get("token-accepted")
    rows = run.results.get(_rows_step(run.target))
    runnable: dict[str, Callable[[], tuple[bool | None, str]]] = dict(always)
    for name, check in user_checks.items():
        if run.user is None:
            run.skip(name, _NO_TOKEN)
        elif name in needs_accepted and not (accepted and accepted.passed):
            run.skip(name, "Hasura did not accept the user token (see token-accepted)")
        elif name in needs_accepted and not (rows and rows.passed):
            run.skip(name, f"the rows to test against are not there (see {_rows_step(run.target)})")
        else:
            runnable[name] = check
    if run.target.signing_key and run.target.signing_algorithm.startswith("HS"):
        runnable["expired-token-refused"] = lambda: check_expired_refused(run, hasura)
    else:
        run.skip("expired-token-refused", "needs a token signed with an expiry in the past, which only an HMAC "
                 "clerkSigningKey can mint (Clerk mints tokens living at least 30 s)")
    with ThreadPoolExecutor(max_workers=len(runnable)) as pool:
        for future in [pool.submit(run.run_check, name, check) for name, check in runnable.items()]:
            future.result()


def _sql_text(value: str) -> str:
    if "\x00" in value:
        raise SmokeConfigError("a user id contains a NUL character")
    return "'" + value.replace("'", "''") + "'"


def _seed_rows(run: SmokeRun, hasura: HasuraClient) -> tuple[bool, str]:
    assert run.user is not None
    ids = [run.user.user_id, run.other_user_id]
    values = ", ".join(f"({_sql_text(i)}, 'clerk-hasura smoke check')" for i in ids)
    result = run_sql_once_synced(run, hasura, f"INSERT INTO {USERS_TABLE} (id, name) VALUES {values} "
                                 "ON CONFLICT (id) DO NOTHING RETURNING id")
    run.seeded = [row["id"] for row in result.records() if row["id"]]
    existing = [i for i in ids if i not in run.seeded]
    note = f"; {', '.join(existing)} already had a row, left as it was" if existing else ""
    return True, f"inserted rows {', '.join(run.seeded) or 'none'} into {USERS_TABLE} as admin{note}"


def _sample_rows(run: SmokeRun, hasura: HasuraClient) -> tuple[bool, str]:
    """Read-only: whether the user has a row, and one other user's id to test isolation with (never reported)."""
    assert run.user is not None
    me = _sql_text(run.user.user_id)
    # Rows, not a NULL-able scalar: run_sql answers every value as text.
    result = run_sql_once_synced(run, hasura, f"(SELECT 'own' AS kind, id FROM {USERS_TABLE} WHERE id = {me}) "
                                 f"UNION ALL (SELECT 'other', id FROM {USERS_TABLE} WHERE id <> {me} LIMIT 1)",
                                 read_only=True)
    found = {row["kind"]: row["id"] for row in result.records()}
    run.own_row_exists = "own" in found
    run.other_user_id = found.get("other")
    run.scrub.add(run.other_user_id)
    own = "has a row" if run.own_row_exists else "has no row yet"
    other = ("another user's row to test against (its id is not reported)" if run.other_user_id
             else "no row of another user to test against")
    return True, f"read {USERS_TABLE} as admin in a read-only transaction: the user {own}; {other}"


def _cleanup(run: SmokeRun, hasura: HasuraClient) -> None:
    started = time.perf_counter()
    done: list[str] = []
    problems: list[str] = []
    if run.user is not None:
        remove = list(run.seeded)
        if run.target.writes and run.user.own_row_is_ours and run.user.user_id not in remove:
            remove.append(run.user.user_id)
        if remove:
            try:
                run_sql_once_synced(run, hasura,
                                    f"DELETE FROM {USERS_TABLE} WHERE id IN ({', '.join(map(_sql_text, remove))})")
                done.append(f"removed rows {', '.join(remove)}")
            except HasuraError as error:
                problems.append(f"could not remove the rows {', '.join(remove)}: {error}")
        if run.user.cleanup is not None:
            try:
                done.append(run.user.cleanup())
            except ClerkHasuraError as error:
                problems.append(f"could not revoke the Clerk session: {error}")
    if problems:
        run.record("cleanup", False, "; ".join(problems + done), started)
    elif done:
        run.record("cleanup", True, "; ".join(done), started)
    else:
        run.record("cleanup", None, "nothing to clean up", started)
