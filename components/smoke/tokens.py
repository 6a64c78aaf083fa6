"""User tokens for the smoke check: minting with a signing key, forging with an untrusted key, and the token
sources (`clerk`, `signing-key`, `env`) that give the run its user.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from components.clerk.client import HASURA_CLAIMS_NAMESPACE, ClerkClient, ClerkRequestRejected, ClerkSessionsUnavailable
from components.errors import ClerkHasuraError
from components.smoke.run_state import SmokeRun, UserToken
from components.smoke.target import (
    TEMPLATE_CLOCK_SKEW_SECONDS,
    TEMPLATE_LIFETIME_SECONDS,
    SmokeConfigError,
    SmokeTarget,
    TokenSourceChoice,
)

log = logging.getLogger(__name__)

#: Row id of the user the `signing-key` source signs in as; recognisable if a run is ever interrupted.
SMOKE_USER_ID = "user_clerk_hasura_smoke"


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
    claims = unverified_claims(token) if token else template_claims_for("user_forged", issuer=issuer, now=now)
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


def unverified_claims(token: str) -> dict[str, Any]:
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


# Token sources ----------------------------------------------------------------------------------------------


def get_user_token(run: SmokeRun, choice: TokenSourceChoice) -> None:
    started = time.perf_counter()
    if choice.name == "none":
        if run.target.token_source == "none":
            # Chosen (e.g. the standalone check after a deploy): nothing to fix.
            run.record("user-token", None, f"no user token ({choice.reason}); the checks needing one are skipped",
                       started)
        else:
            run.record("user-token", None, f"no token source available ({choice.reason}); the checks needing a "
                       "user token are skipped. Fix: set clerkSecretKey (development instance), an HMAC "
                       f"clerkSigningKey, or export a token in {run.target.token_env_var}", started)
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


def _token_from_clerk(run: SmokeRun) -> UserToken:
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
    return UserToken(
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


def _token_from_signing_key(run: SmokeRun) -> UserToken:
    target = run.target
    claims = template_claims_for(SMOKE_USER_ID, issuer=target.issuer, now=run.clock(),
                                 lifetime=max(target.template_lifetime, 60), skew=target.template_clock_skew,
                                 audience=target.audience)
    token = mint_with_signing_key(claims, target.signing_key or "", target.signing_algorithm)
    return UserToken(token=token, user_id=SMOKE_USER_ID, own_row_is_ours=True,
                      description=f"minted locally with clerkSigningKey ({target.signing_algorithm}) for "
                                  f"{SMOKE_USER_ID}, with the claims of Clerk's Hasura template")


def _token_from_env(run: SmokeRun) -> UserToken:
    raw = run.environ.get(run.target.token_env_var, "").strip()
    token = raw.removeprefix("Bearer ").strip()
    run.scrub.add(raw)
    run.scrub.add(token)
    try:
        claims = unverified_claims(token)
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
    return UserToken(token=token, user_id=user_id, own_row_is_ours=False,
                      description=f"token from {run.target.token_env_var} for {user_id}")
