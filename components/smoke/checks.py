"""The smoke checks proper: each sends one kind of request as an app or an attacker would and says, with the
fix, what a wrong answer means for this stack. Each returns (passed, detail); none writes.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from components.auth.jwks import JwksError, fetch_jwks
from components.clerk.client import HASURA_CLAIMS_NAMESPACE
from components.hasura.client import HasuraApiError, HasuraClient, SqlResult
from components.smoke.run_state import SmokeRun
from components.smoke.tokens import SMOKE_USER_ID, forge, mint_with_signing_key, template_claims_for, unverified_claims

USERS_TABLE = "public.users"
#: Where metadata/ defines the permissions on users.
USERS_METADATA_FILE = "metadata/metadata/databases/default/tables/public_users.yaml"
ROW_FILTER = '{"id": {"_eq": "X-Hasura-User-Id"}}'
#: Longest single wait between retries while Hasura warms up.
MAX_BACKOFF_SECONDS = 2.0
#: How long a replica may still serve the schema from before the metadata apply: each Hasura instance picks up
#: another's metadata change at its next schema sync poll (HASURA_GRAPHQL_SCHEMA_SYNC_POLL_INTERVAL, 1 s by
#: default) plus the rebuild of its schema. Only a check expecting an answer waits; a refusal is a refusal.
SCHEMA_SYNC_ALLOWANCE_SECONDS = 10.0

#: Every check of a seeded run (`smoke.writes` true), in report order.
SEEDED_CHECKS = (
    "healthz",
    "user-token",
    "seed-rows",
    "token-accepted",
    "token-claims",
    "reads-own-row",
    "cannot-read-others",
    "anonymous-refused",
    "forged-token-refused",
    "admin-role-refused",
    "expired-token-refused",
    "cleanup",
)
#: A read-only run samples the rows already there instead of seeding its own.
READ_ONLY_CHECKS = tuple("sample-rows" if name == "seed-rows" else name for name in SEEDED_CHECKS)


def check_names(writes: bool) -> tuple[str, ...]:
    """The checks of a run in `smoke.writes` mode `writes`, in report order."""
    return SEEDED_CHECKS if writes else READ_ONLY_CHECKS


def _credentials(run: SmokeRun, token: str) -> dict[str, str]:
    """How an app sends the token: `Authorization: Bearer`, or Clerk's `__session` cookie with `clerk.cookie`."""
    if run.target.token_cookie:
        return {"Cookie": f"{run.target.token_cookie}={token}"}
    return {"Authorization": f"Bearer {token}"}


def _first_error(body: dict[str, Any]) -> tuple[str, str] | None:
    errors = body.get("errors")
    if not errors:
        return None
    first = errors[0] if isinstance(errors[0], dict) else {}
    return (first.get("extensions") or {}).get("code", "unknown"), str(first.get("message", ""))


def metadata_fix(wanted: str) -> str:
    """The fix when Hasura enforces a permission other than the wanted one. Either metadata/ is right and the live
    metadata drifted from it (a refreshing deploy re-applies it), or metadata/ itself is wrong."""
    return (f"Fix: {wanted} in {USERS_METADATA_FILE}. If the file already says so, the live metadata has drifted "
            "from it: `scripts/deploy` (pulumi up --refresh) applies metadata/ again; if not, change the file and "
            "run `scripts/deploy`")


def check_healthz(run: SmokeRun, hasura: HasuraClient) -> tuple[bool, str]:
    status = hasura.healthz()
    if status == "OK":
        return True, "Hasura answered OK"
    return False, (f"Hasura answered {status!r}: its metadata is inconsistent with the database. Fix: "
                   "`clerk-hasura drift` names what is inconsistent. If metadata/ is right, "
                   "`scripts/deploy` (pulumi up --refresh) applies it again; if not, correct metadata/ (or the "
                   "database) and run `scripts/deploy`")


def _graphql_as(hasura: HasuraClient, query: str, headers: dict[str, str],
                variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return hasura.graphql(query, variables, headers, as_admin=False)


def _graphql_expecting_data(run: SmokeRun, hasura: HasuraClient, query: str, headers: dict[str, str],
                            variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """A query that should be answered: a field "not found" (a replica behind the same URL that has not synced the
    new metadata yet) is asked again until SCHEMA_SYNC_ALLOWANCE_SECONDS have passed."""
    give_up = time.monotonic() + min(SCHEMA_SYNC_ALLOWANCE_SECONDS, run.remaining())
    backoff = 0.2
    while True:
        body = _graphql_as(hasura, query, headers, variables)
        error = _first_error(body)
        if error is None or error[0] != "validation-failed" or time.monotonic() + backoff > give_up:
            return body
        time.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


def run_sql_once_synced(run: SmokeRun, hasura: HasuraClient, sql: str, *, read_only: bool = False) -> SqlResult:
    """Admin `run_sql` on the users' source: a replica that has not synced the metadata that added the source yet
    answers `not-exists` (the statement did not run), and is asked again until SCHEMA_SYNC_ALLOWANCE_SECONDS have
    passed."""
    give_up = time.monotonic() + min(SCHEMA_SYNC_ALLOWANCE_SECONDS, run.remaining())
    backoff = 0.2
    while True:
        try:
            return hasura.run_sql(sql, read_only=read_only)
        except HasuraApiError as error:
            if error.code != "not-exists" or time.monotonic() + backoff > give_up:
                raise
        time.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


def check_token_accepted(run: SmokeRun, hasura: HasuraClient) -> tuple[bool, str]:
    assert run.user is not None
    backoff = 0.2
    while True:
        body = _graphql_as(hasura, "query { __typename }", _credentials(run, run.user.token))
        error = _first_error(body)
        if error is None:
            typename = (body.get("data") or {}).get("__typename")
            if typename == "query_root":
                return True, "Hasura verified the token (query { __typename } -> query_root)"
            return False, f"Hasura answered an unexpected body for query {{ __typename }}: {typename!r}"
        code, message = error
        if "NoUsableKeys" in message and (mismatch := _kid_missing_from_jwks(run)):
            return False, f"Hasura refused the token: {code}: {message}. {mismatch}"
        # Right after start Hasura has not loaded its keys yet and answers NoUsableKeys (hasura.md §4.4).
        if "NoUsableKeys" in message and run.remaining() > backoff:
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            continue
        return False, f"Hasura refused the token: {code}: {message}. {rejection_hint(message, run)}"


def _kid_missing_from_jwks(run: SmokeRun) -> str | None:
    """Why the token can never verify against the JWKS Hasura trusts (its `kid` is not there), or None."""
    assert run.user is not None
    kid = jwt.get_unverified_header(run.user.token).get("kid")
    if not run.target.jwks_url or not kid or run.jwks_has_kid:
        return None
    try:
        keys = fetch_jwks(run.target.jwks_url, setting="clerk.jwksUrl", timeout=min(10.0, run.remaining() or 1.0))
    except JwksError:
        return None  # Hasura fetches it from its own network; keep waiting rather than guess
    kids = [key.get("kid") for key in keys["keys"] if isinstance(key, dict)]
    if kid in kids:
        run.jwks_has_kid = True  # the key is there: Hasura is still loading it, keep waiting
        return None
    return (f"The JWKS Hasura trusts ({run.target.jwks_url}) holds the keys {kids or 'none'}, not the key {kid!r} "
            "that signed the token: Hasura trusts a different Clerk instance than the one issuing tokens. Fix: set "
            "clerk.publishableKey (or clerk.jwksUrl) to the instance that issues the tokens, and redeploy")


def rejection_hint(message: str, run: SmokeRun) -> str:
    """What a Hasura JWT error means for this stack, and the fix."""
    claims = unverified_claims(run.user.token) if run.user else {}
    kid = jwt.get_unverified_header(run.user.token).get("kid") if run.user else None
    template = run.target.jwt_template
    if "JWTNotInIssuer" in message:
        return (f"Hasura requires another issuer than this token's iss {claims.get('iss')!r}: it trusts a different "
                "Clerk instance. Fix: set clerk.publishableKey (or clerk.frontendApi) to the instance that issues "
                "the tokens, and redeploy")
    if "NoUsableKeys" in message:
        return (f"Hasura holds no key that can verify this token (kid {kid!r}) even after waiting "
                f"{run.target.timeout_seconds:g} s: the JWKS it trusts is not the one of the Clerk instance that "
                "signed the token. Fix: check clerk.publishableKey / clerk.jwksUrl, and that Hasura can reach the "
                "JWKS URL")
    if "JWSInvalidSignature" in message:
        return ("The signature does not verify with the key Hasura trusts: the token was signed by another key. "
                f"Fix: check clerk.publishableKey / clerk.jwksUrl, or, if template {template!r} uses a custom signing "
                "key, that clerkSigningKey is that key")
    if "JWTExpired" in message:
        return ("The token had expired when Hasura checked it: the clocks of this machine, Clerk and Hasura "
                "disagree. Fix: sync the clocks (NTP) or raise clerk.allowedSkew")
    if "JWTIssuedAtFuture" in message or "JWTNotYetValid" in message:
        return "Hasura's clock is behind the token issuer's. Fix: sync the clocks (NTP) or raise clerk.allowedSkew"
    if "JWTNotInAudience" in message:
        return (f"The token's aud {claims.get('aud')!r} is not the audience Hasura requires. Fix: make "
                f"clerk.audience match the `aud` template {template!r} issues, or remove clerk.audience")
    if "claims" in message or "x-hasura" in message:
        return (f"The token does not carry the Hasura claims Hasura expects. Fix: give JWT template {template!r} "
                f"the claims {{\"{HASURA_CLAIMS_NAMESPACE}\": {{\"x-hasura-allowed-roles\": [\"user\"], "
                "\"x-hasura-default-role\": \"user\", \"x-hasura-user-id\": \"{{user.id}}\"}} (set clerkSecretKey "
                "so the stack manages the template)")
    if "Missing 'Authorization' or 'Cookie'" in message or "Malformed Authorization header" in message:
        sent = f"the {run.target.token_cookie} cookie" if run.target.token_cookie else "the Authorization header"
        return (f"Hasura did not find the token in {sent}: it reads tokens from somewhere else. Fix: set "
                "clerk.cookie to match how apps send the token (true: Clerk's __session cookie; false: "
                "`Authorization: Bearer`) and redeploy")
    if "allowed roles" in message:
        return f"Fix: template {template!r} must list `user` in x-hasura-allowed-roles and use it as default role"
    return "Fix: compare Hasura's JWT secret (stack output jwtSecret) with the template and the Clerk instance"


def check_token_claims(run: SmokeRun) -> tuple[bool, str]:
    assert run.user is not None
    claims = unverified_claims(run.user.token)
    namespace = claims.get(HASURA_CLAIMS_NAMESPACE)
    problems = []
    if run.target.claims == "session":  # Hasura's claims_map: role `user`, user id from `sub`
        if claims.get("sub") != run.user.user_id:
            problems.append(f"sub is {claims.get('sub')!r}, not the user's id {run.user.user_id!r}")
    elif not isinstance(namespace, dict):
        problems.append(f"no {HASURA_CLAIMS_NAMESPACE!r} object (is {run.target.jwt_template!r} the Hasura template?)")
    else:
        if "user" not in (namespace.get("x-hasura-allowed-roles") or []):
            problems.append(f"x-hasura-allowed-roles is {namespace.get('x-hasura-allowed-roles')!r}, without `user`")
        if namespace.get("x-hasura-default-role") != "user":
            problems.append(f"x-hasura-default-role is {namespace.get('x-hasura-default-role')!r}, not `user`")
        if namespace.get("x-hasura-user-id") != run.user.user_id:
            problems.append(f"x-hasura-user-id is {namespace.get('x-hasura-user-id')!r}, not the user's id "
                            f"{run.user.user_id!r} (the template should say \"{{{{user.id}}}}\")")
    if run.target.audience:
        wanted = {run.target.audience} if isinstance(run.target.audience, str) else set(run.target.audience)
        carried = {claims.get("aud")} if isinstance(claims.get("aud"), str) else set(claims.get("aud") or [])
        if not wanted & carried:
            problems.append(f"aud is {claims.get('aud')!r}, but Hasura requires one of {sorted(wanted)} "
                            "(clerk.audience)")
    if run.target.issuer and claims.get("iss") != run.target.issuer:
        problems.append(f"iss is {claims.get('iss')!r}, but Hasura trusts {run.target.issuer!r}")
    for reserved in ("exp", "iat", "sub"):
        if reserved not in claims:
            problems.append(f"no `{reserved}` claim")
    if problems:
        return False, ("the token's claims do not fit Hasura: " + "; ".join(problems) + ". Fix: give JWT template "
                       f"{run.target.jwt_template!r} the Hasura claims (set clerkSecretKey so the stack manages it)")
    if run.target.claims == "session":
        return True, (f"sub {run.user.user_id} (Hasura's claims_map makes it the user id, role `user`), "
                      f"iss {claims.get('iss')}")
    return True, f"role `user` (default and allowed), x-hasura-user-id {run.user.user_id}, iss {claims.get('iss')}"


_USERS_QUERY = "query { users { id } }"


def check_reads_own_row(run: SmokeRun, hasura: HasuraClient) -> tuple[bool | None, str]:
    assert run.user is not None
    body = _graphql_expecting_data(run, hasura, _USERS_QUERY, _credentials(run, run.user.token))
    error = _first_error(body)
    if error:
        return False, (f"the user could not read {USERS_TABLE}: {error[0]}: {error[1]} (the token must resolve to "
                       "role `user`, see token-claims). "
                       + metadata_fix(f"role `user` must have a select permission on users with the filter "
                                      f"{ROW_FILTER}"))
    ids = [row.get("id") for row in body["data"]["users"]]
    if run.user.user_id not in ids and not run.target.writes and not run.own_row_exists:
        return None, (f"no row for this user yet: {USERS_TABLE} has no row with id {run.user.user_id}, and the "
                      "read-only check (smoke.writes false, or --read-only) writes none")
    if run.user.user_id not in ids:
        return False, (f"the user's own row ({run.user.user_id}) is not among the {len(ids)} rows it can read: "
                       "Hasura resolved another user id or the row filter compares the wrong column. "
                       + metadata_fix(f"the `user` select permission on users must have the filter {ROW_FILTER}"))
    return True, f"role `user` read its own row {run.user.user_id}"


def check_cannot_read_others(run: SmokeRun, hasura: HasuraClient) -> tuple[bool | None, str]:
    """Every row the user reads is its own, and another user's row (seeded, or sampled read-only) is invisible by
    primary key. A sampled id is real personal data: it never reaches the report or a log line."""
    assert run.user is not None
    other = run.other_user_id
    query = ("query ($id: String!) { users { id } other: users_by_pk(id: $id) { id } }" if other
             else _USERS_QUERY)
    body = _graphql_expecting_data(run, hasura, query, _credentials(run, run.user.token),
                                   {"id": other} if other else None)
    error = _first_error(body)
    if error:
        return False, f"the query failed: {error[0]}: {error[1]}"
    visible = [row.get("id") for row in body["data"]["users"]]
    foreign = [i for i in visible if i != run.user.user_id]
    by_key = other is not None and body["data"].get("other") is not None
    other_named = f"the row of {other}" if run.target.writes else "another user's row"
    if foreign or by_key:
        seen = [f"{len(foreign)} other users' rows in the list"] if foreign else []
        seen += [f"{other_named} by primary key"] if by_key else []
        return False, (f"user {run.user.user_id} can read other users' rows ({' and '.join(seen)}): the `user` "
                       "role's select permission on users has no row filter. "
                       + metadata_fix(f"the `user` select permission on users must have the filter {ROW_FILTER}"))
    if other is None:
        return None, (f"could not prove row isolation: {USERS_TABLE} holds no row of another user to test against "
                      f"(the user reads {len(visible)} rows, all its own). It is proven once another user has a "
                      "row, or with smoke.writes true, which seeds one")
    if run.target.writes:
        return True, f"another user's row ({other}) stays invisible (list and by primary key)"
    return True, ("another user's row, sampled read-only, stays invisible (list and by primary key); of the "
                  f"{len(visible)} rows the user reads, none is another user's")


def check_anonymous_refused(hasura: HasuraClient) -> tuple[bool, str]:
    body = _graphql_as(hasura, _USERS_QUERY, {})
    error = _first_error(body)
    if error is None:
        rows = len((body.get("data") or {}).get("users") or [])
        return False, (f"a request without a token can query users ({rows} rows visible): the unauthorized role "
                       "(hasura.unauthorizedRole) has a select permission on users. "
                       + metadata_fix("the unauthorized role must have no select permission on users (or unset "
                                      "hasura.unauthorizedRole)"))
    code, message = error
    if code == "invalid-headers":
        return True, f"refused: {code}: {message}"
    if code in ("validation-failed", "not-found", "access-denied"):
        return True, f"runs as the unauthorized role, which cannot read users ({code}: {message})"
    return False, f"unexpected answer without a token: {code}: {message}"


def check_forged_refused(run: SmokeRun, hasura: HasuraClient) -> tuple[bool, str]:
    forged = forge(run.user.token if run.user else None, issuer=run.target.issuer, now=run.clock())
    run.scrub.add(forged)
    body = _graphql_as(hasura, _USERS_QUERY, _credentials(run, forged))
    error = _first_error(body)
    if error and error[0] == "invalid-jwt":
        return True, f"refused: {error[0]}: {error[1]}"
    if error:
        return False, (f"expected invalid-jwt for a token signed by an untrusted key, got {error[0]}: {error[1]}")
    return False, ("Hasura ACCEPTED a token signed by a key it should not trust. Fix: check HASURA_GRAPHQL_JWT_SECRET "
                   "(stack output jwtSecret): it must name only the Clerk instance's JWKS or your own signing key")


def check_admin_role_refused(run: SmokeRun, hasura: HasuraClient) -> tuple[bool, str]:
    assert run.user is not None
    body = _graphql_as(hasura, _USERS_QUERY, {**_credentials(run, run.user.token), "X-Hasura-Role": "admin"})
    error = _first_error(body)
    if error and error[0] == "access-denied":
        return True, f"refused: {error[0]}: {error[1]}"
    if error:
        return False, f"expected access-denied for x-hasura-role: admin, got {error[0]}: {error[1]}"
    return False, (f"a user token with x-hasura-role: admin got an answer as admin. Fix: template "
                   f"{run.target.jwt_template!r} must allow only the `user` role (x-hasura-allowed-roles: [\"user\"])")


def check_expired_refused(run: SmokeRun, hasura: HasuraClient) -> tuple[bool, str]:
    target = run.target
    user_id = run.user.user_id if run.user else SMOKE_USER_ID
    # Issued an hour ago, expired long before any clock skew Hasura may allow (at most 300 s).
    claims = template_claims_for(user_id, issuer=target.issuer, now=run.clock() - 3600,
                                 lifetime=target.template_lifetime, skew=target.template_clock_skew,
                                 audience=target.audience)
    expired = mint_with_signing_key(claims, target.signing_key or "", target.signing_algorithm)
    run.scrub.add(expired)
    body = _graphql_as(hasura, _USERS_QUERY, _credentials(run, expired))
    error = _first_error(body)
    if error and error[0] == "invalid-jwt":
        return True, f"refused: {error[0]}: {error[1]}"
    if error:
        return False, f"expected invalid-jwt for an expired token, got {error[0]}: {error[1]}"
    return False, "Hasura ACCEPTED a token that expired an hour ago. Fix: lower clerk.allowedSkew"
