"""The post-deploy smoke check: proves with a Clerk-style user token that sign-in reaches Hasura and that a
person sees only their own row, and that anonymous, forged, expired and role-escalating requests are refused.

Pure: no Pulumi here. `components.providers.smoke_check` runs it as the last step of `pulumi up`; `python -m
components.smoke.core` runs it from CI. Tokens, the admin secret and the Clerk keys never appear in the report,
a log line or an exception: every text leaving this module is scrubbed of them.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from components.clerk.client import (
    DEFAULT_CLERK_API_URL,
    HASURA_CLAIMS_NAMESPACE,
    ClerkClient,
    ClerkRequestRejected,
    ClerkSessionsUnavailable,
)
from components.errors import ClerkHasuraError
from components.hasura.client import HasuraClient, HasuraError
from components.auth.jwks import JwksError, fetch_jwks
from components.config.smoke import DEFAULT_TEST_USER_EMAIL, DEFAULT_TOKEN_ENV_VAR

log = logging.getLogger(__name__)

USERS_TABLE = "public.users"
#: Row id of the user the `signing-key` source signs in as; recognisable if a run is ever interrupted.
SMOKE_USER_ID = "user_clerk_hasura_smoke"
#: The cookie Clerk's frontend SDKs keep the session token in (clerk.md §4).
SESSION_COOKIE = "__session"
TEMPLATE_LIFETIME_SECONDS = 60
TEMPLATE_CLOCK_SKEW_SECONDS = 5
#: Longest single wait between retries while Hasura warms up.
MAX_BACKOFF_SECONDS = 2.0
TOKEN_SOURCES = ("clerk", "signing-key", "env")

CHECK_NAMES = (
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


_NO_TOKEN = "needs a user token, and there is none (see user-token)"


class SmokeConfigError(ClerkHasuraError):
    """The smoke check cannot run as configured (e.g. `smoke.tokenSource` names a source that is unavailable)."""


class SmokeCheckFailed(ClerkHasuraError):
    """At least one smoke check failed; the message is the readable report, `report` the structured one."""

    def __init__(self, report: SmokeReport):
        super().__init__(report.render())
        self.report = report


@dataclass(frozen=True)
class CheckResult:
    """One line of the report. `passed` is None when the check was skipped; `detail` then says why."""

    name: str
    passed: bool | None
    detail: str
    ms: int

    @property
    def skipped(self) -> bool:
        return self.passed is None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "skipped": self.skipped, "detail": self.detail,
                "ms": self.ms}


@dataclass(frozen=True)
class SmokeReport:
    """What the smoke check found, in check order."""

    hasura_url: str
    token_source: str
    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed is not False for check in self.checks)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if check.passed is False)

    def to_list(self) -> list[dict[str, Any]]:
        return [check.to_dict() for check in self.checks]

    def render(self) -> str:
        counts = {status: sum(1 for c in self.checks if c.passed is value)
                  for status, value in (("passed", True), ("failed", False), ("skipped", None))}
        heading = (f"Smoke check of {self.hasura_url} (token source: {self.token_source}): "
                   + ", ".join(f"{n} {status}" for status, n in counts.items() if n))
        width = max(len(c.name) for c in self.checks)
        lines = [heading]
        for check in self.checks:
            status = {True: "PASS", False: "FAIL", None: "SKIP"}[check.passed]
            lines.append(f"  {status}  {check.name:<{width}}  {check.ms:>6} ms  {check.detail}")
        return "\n".join(lines)


@dataclass(frozen=True)
class SmokeTarget:
    """Everything the smoke check needs; build it with `target_from_settings` or by hand (CLI, tests)."""

    hasura_url: str
    admin_secret: str = field(repr=False)
    issuer: str | None = None
    jwks_url: str | None = None
    """The JWKS Hasura trusts (url mode), to tell a wrong JWKS from Hasura still loading its keys."""
    jwt_template: str = "hasura"
    audience: str | list[str] | None = None
    """`clerk.audience`: the `aud` Hasura requires, which the template (and a locally minted token) carries."""
    token_cookie: str | None = None
    """The cookie Hasura reads the token from (`clerk.cookie`: `__session`); None for the Authorization header."""
    claims: str = "template"
    """`clerk.claims`: `template` (Hasura claims from the JWT template) or `session` (Hasura maps the plain session
    token's `sub` through `claims_map`, so the `clerk` source uses the session token)."""
    token_source: str = "auto"
    clerk_secret_key: str | None = field(default=None, repr=False)
    clerk_api_url: str = DEFAULT_CLERK_API_URL
    signing_key: str | None = field(default=None, repr=False)
    signing_algorithm: str = "HS256"
    token_env_var: str = DEFAULT_TOKEN_ENV_VAR
    test_user_email: str = DEFAULT_TEST_USER_EMAIL
    timeout_seconds: float = 120.0
    template_lifetime: int = TEMPLATE_LIFETIME_SECONDS
    template_clock_skew: int = TEMPLATE_CLOCK_SKEW_SECONDS

    def secrets(self) -> list[str]:
        return [s for s in (self.admin_secret, self.clerk_secret_key, self.signing_key) if s]


@dataclass(frozen=True)
class TokenSourceChoice:
    name: str
    """`clerk`, `signing-key`, `env` or `none`."""
    reason: str
    """Why this source (for `none`: why no source was available)."""


def token_source_unavailable(target: SmokeTarget, source: str, environ: Mapping[str, str]) -> str | None:
    """Why `source` cannot give a user token for `target`, or None when it can."""
    if source == "clerk":
        if not target.clerk_secret_key:
            return "clerkSecretKey is not set"
        if target.clerk_secret_key.startswith("sk_live_"):
            return ("clerkSecretKey belongs to a production instance (sk_live_…), where Clerk creates sessions only "
                    "by signing in")
        return None
    if source == "signing-key":
        if not target.signing_key:
            return "clerkSigningKey is not set"
        if not target.signing_algorithm.startswith("HS"):
            return (f"clerkSigningKey holds the public {target.signing_algorithm} key, which verifies tokens but "
                    "cannot sign them")
        return None
    if source == "env":
        return None if environ.get(target.token_env_var, "").strip() else f"{target.token_env_var} is not set"
    raise ValueError(source)


def choose_token_source(target: SmokeTarget, environ: Mapping[str, str] | None = None) -> TokenSourceChoice:
    """The token source to use: the one `smoke.tokenSource` names, or with `auto` the first available of
    clerk, signing-key, env; `none` when none is. Raises `SmokeConfigError` when a named source is unavailable."""
    environ = os.environ if environ is None else environ
    if target.token_source == "none":
        return TokenSourceChoice("none", "smoke.tokenSource is `none`")
    if target.token_source != "auto":
        reason = token_source_unavailable(target, target.token_source, environ)
        if reason:
            raise SmokeConfigError(f"smoke.tokenSource: is `{target.token_source}`, but {reason}. Fix: "
                                   f"{_SOURCE_FIX[target.token_source]}, or set smoke.tokenSource to `auto`")
        return TokenSourceChoice(target.token_source, "as smoke.tokenSource says")
    reasons = {}
    for source in TOKEN_SOURCES:
        reasons[source] = token_source_unavailable(target, source, environ)
        if reasons[source] is None:
            return TokenSourceChoice(source, "chosen as the first available source (smoke.tokenSource `auto`)")
    return TokenSourceChoice("none", "; ".join(f"{s}: {r}" for s, r in reasons.items()))


_SOURCE_FIX = {
    "clerk": "`pulumi config set --secret clerkSecretKey sk_test_…` (a development instance's secret key)",
    "signing-key": "use an HMAC custom signing key (clerkSigningKey with clerk.signingAlgorithm HS256)",
    "env": "export the token in that variable, or name another one with smoke.tokenEnvVar",
}


def target_from_settings(settings: Any, *, hasura_url: str, admin_secret: str, issuer: str | None,
                         jwks_url: str | None = None, clerk_api_url: str = DEFAULT_CLERK_API_URL) -> SmokeTarget:
    """A `SmokeTarget` from validated `StackSettings` and the deployed Hasura's URL and admin secret."""
    secret = settings.clerk_secret_key.get_secret_value() if settings.clerk_secret_key else None
    signing = settings.clerk_signing_key.get_secret_value() if settings.clerk_signing_key else None
    return SmokeTarget(
        hasura_url=hasura_url,
        admin_secret=admin_secret,
        issuer=issuer,
        jwks_url=jwks_url,
        jwt_template=settings.clerk.jwt_template,
        claims=settings.clerk.claims,
        token_cookie=SESSION_COOKIE if settings.clerk.cookie else None,
        audience=settings.clerk.audience,
        token_source=settings.smoke.token_source,
        clerk_secret_key=secret,
        clerk_api_url=clerk_api_url,
        signing_key=signing,
        signing_algorithm=settings.clerk.signing_algorithm or "HS256",
        token_env_var=settings.smoke.token_env_var,
        test_user_email=settings.smoke.test_user_email,
        timeout_seconds=settings.smoke.timeout_seconds,
        template_clock_skew=settings.clerk.allowed_skew,
    )


def preflight(settings: Any, environ: Mapping[str, str] | None = None) -> TokenSourceChoice | None:
    """Before anything is deployed: the token source the smoke check will use, or `SmokeConfigError` when
    `smoke.tokenSource` names one that is unavailable. None when the check is disabled."""
    if not settings.smoke.enabled:
        return None
    return choose_token_source(target_from_settings(settings, hasura_url="", admin_secret="", issuer=None), environ)


# Token minting ----------------------------------------------------------------------------------------------


def template_claims_for(user_id: str, *, issuer: str | None, now: float, lifetime: int = TEMPLATE_LIFETIME_SECONDS,
                        skew: int = TEMPLATE_CLOCK_SKEW_SECONDS,
                        audience: str | list[str] | None = None) -> dict[str, Any]:
    """The claims Clerk puts in a token of the Hasura template for `user_id` (clerk.md §1.1, §1.4), with the static
    `aud` the template carries when `clerk.audience` is set; server-side minted tokens carry no `azp`."""
    iat = int(now)
    claims: dict[str, Any] = {
        HASURA_CLAIMS_NAMESPACE: {
            "x-hasura-allowed-roles": ["user"],
            "x-hasura-default-role": "user",
            "x-hasura-user-id": user_id,
        },
        "exp": iat + lifetime,
        "iat": iat,
        "jti": secrets.token_hex(10),
        "nbf": iat - skew,
        "sub": user_id,
    }
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return claims


def mint_with_signing_key(claims: dict[str, Any], key: str, algorithm: str) -> str:
    """Sign like a Clerk template with a custom signing key: no `kid` header (clerk.md §1.2)."""
    return jwt.encode(claims, key, algorithm=algorithm)


def forge(token: str | None, *, issuer: str | None, now: float) -> str:
    """A token with the same header and claims as `token` (fresh times), signed by a key nobody trusts."""
    header = jwt.get_unverified_header(token) if token else {"alg": "RS256", "kid": "ins_forged"}
    claims = _unverified_claims(token) if token else template_claims_for("user_forged", issuer=issuer, now=now)
    lifetime = max(30, int(claims.get("exp", now + 60)) - int(claims.get("iat", now)))
    claims.update({"iat": int(now), "nbf": int(now) - 5, "exp": int(now) + lifetime, "jti": secrets.token_hex(10)})
    algorithm = header.get("alg", "RS256")
    extra = {k: v for k, v in header.items() if k not in ("alg", "typ")}
    if algorithm.startswith("HS"):
        key: Any = secrets.token_hex(64)
    elif algorithm.startswith("ES"):
        key = ec.generate_private_key({"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1()}.get(algorithm,
                                                                                          ec.SECP521R1()))
    else:
        algorithm = algorithm if algorithm.startswith(("RS", "PS")) else "RS256"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm=algorithm, headers=extra)


def _unverified_claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False, "verify_exp": False, "verify_nbf": False,
                                      "verify_iat": False, "verify_aud": False, "verify_iss": False})


def _hasura_user_id(claims: dict[str, Any]) -> str | None:
    namespace = claims.get(HASURA_CLAIMS_NAMESPACE)
    if isinstance(namespace, str):  # claims_format stringified_json
        try:
            namespace = json.loads(namespace)
        except ValueError:
            namespace = None
    if isinstance(namespace, dict) and isinstance(namespace.get("x-hasura-user-id"), str):
        return namespace["x-hasura-user-id"]
    return claims.get("sub") if isinstance(claims.get("sub"), str) else None


# The run ----------------------------------------------------------------------------------------------------


class _Scrubber:
    """Removes every secret seen during the run from any text that leaves it."""

    def __init__(self, values: list[str]):
        self._values: list[str] = []
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        if value and len(value) >= 8 and value not in self._values:
            self._values.append(value)
            self._values.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "[redacted]")
        return text


@dataclass
class _UserToken:
    token: str = field(repr=False)
    user_id: str
    description: str
    own_row_is_ours: bool
    """True when the user is the smoke check's own (Clerk test user, signing-key user): its row is always removed."""
    cleanup: Callable[[], str] | None = None


class _Run:
    def __init__(self, target: SmokeTarget, environ: Mapping[str, str], clock: Callable[[], float]):
        self.target = target
        self.environ = environ
        self.clock = clock
        self.deadline = time.monotonic() + target.timeout_seconds
        self.scrub = _Scrubber(target.secrets())
        self.results: dict[str, CheckResult] = {}
        self.user: _UserToken | None = None
        self.other_user_id = f"user_clerk_hasura_smoke_other_{secrets.token_hex(6)}"
        self.seeded: list[str] = []
        self.jwks_has_kid = False

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def record(self, name: str, passed: bool | None, detail: str, started: float) -> None:
        ms = int((time.perf_counter() - started) * 1000)
        self.results[name] = CheckResult(name, passed, self.scrub(detail), ms)
        log.info("smoke check %s: %s", name, {True: "passed", False: "FAILED", None: "skipped"}[passed])

    def skip(self, name: str, why: str) -> None:
        self.record(name, None, why, time.perf_counter())

    def run_check(self, name: str, check: Callable[[], tuple[bool, str]]) -> None:
        started = time.perf_counter()
        try:
            passed, detail = check()
        except ClerkHasuraError as error:
            passed, detail = False, str(error)
        except Exception as error:  # a check must report, not crash the deploy with a traceback
            passed, detail = False, f"unexpected {type(error).__name__}: {error}"
        self.record(name, passed, detail, started)


def run_smoke(target: SmokeTarget, *, environ: Mapping[str, str] | None = None,
              clock: Callable[[], float] = time.time) -> SmokeReport:
    """Run every check against `target`; never raises for a failing check (see `SmokeReport.passed`)."""
    environ = os.environ if environ is None else environ
    choice = choose_token_source(target, environ)
    run = _Run(target, environ, clock)
    hasura = HasuraClient(target.hasura_url, target.admin_secret, timeout=15.0,
                          retry_seconds=min(30.0, target.timeout_seconds))
    source_label = choice.name
    try:
        run.run_check("healthz", lambda: _check_healthz(run, hasura))
        if not run.results["healthz"].passed:
            for name in CHECK_NAMES[1:]:
                run.skip(name, "Hasura is not healthy (see healthz)")
            return _report(run, source_label)
        _get_user_token(run, choice)
        try:
            if run.user is not None:
                source_label = f"{choice.name}: {run.user.description}"
                run.run_check("seed-rows", lambda: _seed_rows(run, hasura))
                run.run_check("token-accepted", lambda: _check_token_accepted(run, hasura))
            else:
                run.skip("seed-rows", _NO_TOKEN)
                run.skip("token-accepted", _NO_TOKEN)
            _run_concurrently(run, hasura)
        finally:
            _cleanup(run, hasura)  # whatever happened: remove the test rows, revoke the session
    finally:
        hasura.close()
    return _report(run, source_label)


def _report(run: _Run, source_label: str) -> SmokeReport:
    checks = tuple(run.results[name] for name in CHECK_NAMES if name in run.results)
    return SmokeReport(run.target.hasura_url, run.scrub(source_label), checks)


def _run_concurrently(run: _Run, hasura: HasuraClient) -> None:
    user_checks: dict[str, Callable[[], tuple[bool, str]]] = {
        "token-claims": lambda: _check_token_claims(run),
        "reads-own-row": lambda: _check_reads_own_row(run, hasura),
        "cannot-read-others": lambda: _check_cannot_read_others(run, hasura),
        "admin-role-refused": lambda: _check_admin_role_refused(run, hasura),
    }
    always: dict[str, Callable[[], tuple[bool, str]]] = {
        "anonymous-refused": lambda: _check_anonymous_refused(hasura),
        "forged-token-refused": lambda: _check_forged_refused(run, hasura),
    }
    needs_accepted = {"reads-own-row", "cannot-read-others", "admin-role-refused"}
    accepted = run.results.get("token-accepted")
    runnable: dict[str, Callable[[], tuple[bool, str]]] = dict(always)
    for name, check in user_checks.items():
        if run.user is None:
            run.skip(name, _NO_TOKEN)
        elif name in needs_accepted and not (accepted and accepted.passed):
            run.skip(name, "Hasura did not accept the user token (see token-accepted)")
        elif name in needs_accepted and not (run.results.get("seed-rows") and run.results["seed-rows"].passed):
            run.skip(name, "the test rows could not be seeded (see seed-rows)")
        else:
            runnable[name] = check
    if run.target.signing_key and run.target.signing_algorithm.startswith("HS"):
        runnable["expired-token-refused"] = lambda: _check_expired_refused(run, hasura)
    else:
        run.skip("expired-token-refused", "needs a token signed with an expiry in the past, which only an HMAC "
                 "clerkSigningKey can mint (Clerk mints tokens living at least 30 s)")
    with ThreadPoolExecutor(max_workers=len(runnable)) as pool:
        for future in [pool.submit(run.run_check, name, check) for name, check in runnable.items()]:
            future.result()


# Token sources ----------------------------------------------------------------------------------------------


def _get_user_token(run: _Run, choice: TokenSourceChoice) -> None:
    started = time.perf_counter()
    if choice.name == "none":
        run.record("user-token", None, f"no token source available ({choice.reason}); the checks needing a user "
                   "token are skipped. Fix: set clerkSecretKey (development instance), an HMAC clerkSigningKey, "
                   f"or export a token in {run.target.token_env_var}", started)
        return
    try:
        run.user = {"clerk": _token_from_clerk, "signing-key": _token_from_signing_key,
                    "env": _token_from_env}[choice.name](run)
    except ClerkSessionsUnavailable as error:
        passed = False if run.target.token_source == "clerk" else None
        run.record("user-token", passed, f"{error}; the checks needing a user token are skipped", started)
        return
    except ClerkHasuraError as error:
        run.record("user-token", False, str(error), started)
        return
    except Exception as error:  # reported, like a failing check, instead of a traceback
        run.record("user-token", False, f"unexpected {type(error).__name__}: {error}", started)
        return
    run.scrub.add(run.user.token)
    run.record("user-token", True, f"{run.user.description}; {choice.reason}", started)


def _token_from_clerk(run: _Run) -> _UserToken:
    target = run.target
    clerk = ClerkClient(target.clerk_secret_key or "", base_url=target.clerk_api_url,
                        max_rate_limit_wait=min(30.0, run.remaining()))
    try:
        users = clerk.find_users_by_email(target.test_user_email)
        user = users[0] if users else _create_test_user(clerk, target.test_user_email)
        session = clerk.create_session(user["id"])
        try:
            token = (clerk.session_token(session["id"]) if target.claims == "session"
                     else clerk.token_from_template(session["id"], target.jwt_template))
        except ClerkHasuraError:
            _revoke_quietly(target, session["id"])
            raise
    finally:
        clerk.close()
    kind = "Clerk session token" if target.claims == "session" else f"Clerk template {target.jwt_template!r}"
    return _UserToken(
        token=token,
        user_id=user["id"],
        description=f"{kind}, test user {user['id']} ({target.test_user_email})",
        own_row_is_ours=True,
        cleanup=lambda: _revoke(target, session["id"]),
    )


def _create_test_user(clerk: ClerkClient, email_address: str) -> dict[str, Any]:
    try:
        return clerk.create_user(email_address, skip_password_requirement=True)
    except ClerkRequestRejected as error:
        raise ClerkRequestRejected(
            f"{error} (the instance's sign-up settings ask for more than an email address). Fix: create the user "
            f"{email_address} in the Clerk dashboard once, or set smoke.testUserEmail to an existing test user",
            status=error.status, code=error.code) from None


def _revoke(target: SmokeTarget, session_id: str) -> str:
    with ClerkClient(target.clerk_secret_key or "", base_url=target.clerk_api_url) as clerk:
        clerk.revoke_session(session_id)
    return f"revoked Clerk session {session_id}"


def _revoke_quietly(target: SmokeTarget, session_id: str) -> None:
    try:
        _revoke(target, session_id)
    except ClerkHasuraError:
        log.warning("could not revoke Clerk session %s after a failed token request", session_id)


def _token_from_signing_key(run: _Run) -> _UserToken:
    target = run.target
    claims = template_claims_for(SMOKE_USER_ID, issuer=target.issuer, now=run.clock(),
                                 lifetime=max(target.template_lifetime, 60), skew=target.template_clock_skew,
                                 audience=target.audience)
    token = mint_with_signing_key(claims, target.signing_key or "", target.signing_algorithm)
    return _UserToken(token=token, user_id=SMOKE_USER_ID, own_row_is_ours=True,
                      description=f"minted locally with clerkSigningKey ({target.signing_algorithm}) for "
                                  f"{SMOKE_USER_ID}, with the claims of Clerk's Hasura template")


def _token_from_env(run: _Run) -> _UserToken:
    raw = run.environ.get(run.target.token_env_var, "").strip()
    token = raw.removeprefix("Bearer ").strip()
    run.scrub.add(raw)
    run.scrub.add(token)
    try:
        claims = _unverified_claims(token)
    except jwt.PyJWTError:
        raise SmokeConfigError(f"{run.target.token_env_var} does not hold a JWT. Fix: put the raw token there (as "
                               f"`getToken({{ template: '{run.target.jwt_template}' }})` returns it)") from None
    user_id = claims.get("sub") if run.target.claims == "session" else _hasura_user_id(claims)
    if not isinstance(user_id, str) or not user_id:
        raise SmokeConfigError(f"the token in {run.target.token_env_var} carries no user id (no x-hasura-user-id, "
                               "no sub). Fix: hand in a token from the Hasura JWT template")
    expires = claims.get("exp")
    if isinstance(expires, int | float) and expires <= run.clock():
        raise SmokeConfigError(f"the token in {run.target.token_env_var} expired at {int(expires)} (Unix time). "
                               "Fix: mint a fresh one right before the check; template tokens live about 60 s")
    return _UserToken(token=token, user_id=user_id, own_row_is_ours=False,
                      description=f"token from {run.target.token_env_var} for {user_id}")


# Checks -----------------------------------------------------------------------------------------------------


def _credentials(run: _Run, token: str) -> dict[str, str]:
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


def _check_healthz(run: _Run, hasura: HasuraClient) -> tuple[bool, str]:
    status = hasura.healthz()
    if status == "OK":
        return True, "Hasura answered OK"
    return False, (f"Hasura answered {status!r}: its metadata is inconsistent with the database. Fix: see "
                   "`python -m components.commands.drift` for what is inconsistent, then redeploy")


def _sql_text(value: str) -> str:
    if "\x00" in value:
        raise SmokeConfigError("a user id contains a NUL character")
    return "'" + value.replace("'", "''") + "'"


def _seed_rows(run: _Run, hasura: HasuraClient) -> tuple[bool, str]:
    assert run.user is not None
    ids = [run.user.user_id, run.other_user_id]
    values = ", ".join(f"({_sql_text(i)}, 'clerk-hasura smoke check')" for i in ids)
    result = hasura.run_sql(f"INSERT INTO {USERS_TABLE} (id, name) VALUES {values} ON CONFLICT (id) DO NOTHING "
                            "RETURNING id")
    run.seeded = [row["id"] for row in result.records() if row["id"]]
    existing = [i for i in ids if i not in run.seeded]
    note = f"; {', '.join(existing)} already had a row, left as it was" if existing else ""
    return True, f"inserted rows {', '.join(run.seeded) or 'none'} into {USERS_TABLE} as admin{note}"


def _graphql_as(hasura: HasuraClient, query: str, headers: dict[str, str],
                variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return hasura.graphql(query, variables, headers, as_admin=False)


def _check_token_accepted(run: _Run, hasura: HasuraClient) -> tuple[bool, str]:
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


def _kid_missing_from_jwks(run: _Run) -> str | None:
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


def rejection_hint(message: str, run: _Run) -> str:
    """What a Hasura JWT error means for this stack, and the fix."""
    claims = _unverified_claims(run.user.token) if run.user else {}
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


def _check_token_claims(run: _Run) -> tuple[bool, str]:
    assert run.user is not None
    claims = _unverified_claims(run.user.token)
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


def _check_reads_own_row(run: _Run, hasura: HasuraClient) -> tuple[bool, str]:
    assert run.user is not None
    body = _graphql_as(hasura, _USERS_QUERY, _credentials(run, run.user.token))
    error = _first_error(body)
    if error:
        return False, (f"the user could not read {USERS_TABLE}: {error[0]}: {error[1]}. Fix: metadata/ must give "
                       "role `user` select on users with the row filter {\"id\": {\"_eq\": \"X-Hasura-User-Id\"}}, "
                       "and the token must resolve to role `user`")
    ids = [row.get("id") for row in body["data"]["users"]]
    if run.user.user_id not in ids:
        return False, (f"the user's own row ({run.user.user_id}) is not among the {len(ids)} rows it can read: "
                       "Hasura resolved another user id or the row filter compares the wrong column. Fix: the "
                       "filter must be {\"id\": {\"_eq\": \"X-Hasura-User-Id\"}}")
    return True, f"role `user` read its own row {run.user.user_id}"


def _check_cannot_read_others(run: _Run, hasura: HasuraClient) -> tuple[bool, str]:
    assert run.user is not None
    other = run.other_user_id
    body = _graphql_as(hasura, "query ($id: String!) { users { id } other: users_by_pk(id: $id) { id } }",
                       _credentials(run, run.user.token), {"id": other})
    error = _first_error(body)
    if error:
        return False, f"the query failed: {error[0]}: {error[1]}"
    visible = [row.get("id") for row in body["data"]["users"]]
    foreign = [i for i in visible if i != run.user.user_id]
    by_key = body["data"].get("other") is not None
    if foreign or by_key:
        seen = [f"{len(foreign)} other users' rows in the list"] if foreign else []
        seen += [f"the row of {other} by primary key"] if by_key else []
        return False, (f"user {run.user.user_id} can read other users' rows ({' and '.join(seen)}): the `user` "
                       "role's select permission on users has no row filter. Fix: in metadata/ give it the filter "
                       "{\"id\": {\"_eq\": \"X-Hasura-User-Id\"}} and redeploy")
    return True, f"another user's row ({other}) stays invisible (list and by primary key)"


def _check_anonymous_refused(hasura: HasuraClient) -> tuple[bool, str]:
    body = _graphql_as(hasura, _USERS_QUERY, {})
    error = _first_error(body)
    if error is None:
        rows = len((body.get("data") or {}).get("users") or [])
        return False, (f"a request without a token can query users ({rows} rows visible): the unauthorized role "
                       "(HASURA_GRAPHQL_UNAUTHORIZED_ROLE) has a select permission on users. Fix: remove that "
                       "permission from metadata/, or unset the unauthorized role")
    code, message = error
    if code == "invalid-headers":
        return True, f"refused: {code}: {message}"
    if code in ("validation-failed", "not-found", "access-denied"):
        return True, f"runs as the unauthorized role, which cannot read users ({code}: {message})"
    return False, f"unexpected answer without a token: {code}: {message}"


def _check_forged_refused(run: _Run, hasura: HasuraClient) -> tuple[bool, str]:
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


def _check_admin_role_refused(run: _Run, hasura: HasuraClient) -> tuple[bool, str]:
    assert run.user is not None
    body = _graphql_as(hasura, _USERS_QUERY, {**_credentials(run, run.user.token), "X-Hasura-Role": "admin"})
    error = _first_error(body)
    if error and error[0] == "access-denied":
        return True, f"refused: {error[0]}: {error[1]}"
    if error:
        return False, f"expected access-denied for x-hasura-role: admin, got {error[0]}: {error[1]}"
    return False, (f"a user token with x-hasura-role: admin got an answer as admin. Fix: template "
                   f"{run.target.jwt_template!r} must allow only the `user` role (x-hasura-allowed-roles: [\"user\"])")


def _check_expired_refused(run: _Run, hasura: HasuraClient) -> tuple[bool, str]:
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


def _cleanup(run: _Run, hasura: HasuraClient) -> None:
    started = time.perf_counter()
    done: list[str] = []
    problems: list[str] = []
    if run.user is not None:
        remove = list(run.seeded)
        if run.user.own_row_is_ours and run.user.user_id not in remove:
            remove.append(run.user.user_id)
        if remove:
            try:
                hasura.run_sql(f"DELETE FROM {USERS_TABLE} WHERE id IN ({', '.join(map(_sql_text, remove))})")
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
