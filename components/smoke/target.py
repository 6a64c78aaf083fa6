"""What the smoke check runs against (`SmokeTarget`) and where its user token comes from (the token-source
choice), built from stack settings, from a provider's inputs or by hand; `preflight` checks the choice before
anything is deployed.

Pure: no Pulumi, no I/O.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.clerk.client import DEFAULT_CLERK_API_URL
from components.config.smoke import DEFAULT_TEST_USER_EMAIL, DEFAULT_TOKEN_ENV_VAR
from components.errors import ClerkHasuraError

#: The cookie Clerk's frontend SDKs keep the session token in (clerk.md §4).
SESSION_COOKIE = "__session"
TEMPLATE_LIFETIME_SECONDS = 60
TEMPLATE_CLOCK_SKEW_SECONDS = 5
#: The sources `auto` tries, in order.
TOKEN_SOURCES = ("clerk", "signing-key", "env")


class SmokeConfigError(ClerkHasuraError):
    """The smoke check cannot run as configured (e.g. `smoke.tokenSource` names a source that is unavailable)."""


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
    writes: bool = False
    """`smoke.writes`: seed (and remove) test rows; False proves row isolation on the rows already there, read-only."""
    template_lifetime: int = TEMPLATE_LIFETIME_SECONDS
    template_clock_skew: int = TEMPLATE_CLOCK_SKEW_SECONDS

    @property
    def mode(self) -> str:
        return "seeded" if self.writes else "read-only"

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
    "clerk": "`clerk-hasura pulumi --stack <stack> config set --secret clerkSecretKey sk_test_…` (a development "
             "instance's secret key)",
    "signing-key": "use an HMAC custom signing key (clerkSigningKey with clerk.signingAlgorithm HS256)",
    "env": "export the token in that variable, or name another one with smoke.tokenEnvVar",
}


def target_from_settings(settings: Any, *, hasura_url: str, admin_secret: str, issuer: str | None,
                         jwks_url: str | None = None, writes: bool = False) -> SmokeTarget:
    """A `SmokeTarget` from validated `StackSettings` and the deployed Hasura's URL and admin secret; `writes` is
    `settings.smoke.resolved_writes(stack)`."""
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
        clerk_api_url=settings.clerk.api_url,
        signing_key=signing,
        signing_algorithm=settings.clerk.signing_algorithm or "HS256",
        token_env_var=settings.smoke.token_env_var,
        test_user_email=settings.smoke.test_user_email,
        timeout_seconds=settings.smoke.timeout_seconds,
        writes=writes,
        template_clock_skew=settings.clerk.allowed_skew,
    )


def preflight(settings: Any, environ: Mapping[str, str] | None = None) -> TokenSourceChoice | None:
    """Before anything is deployed: the token source the smoke check will use, or `SmokeConfigError` when
    `smoke.tokenSource` names one that is unavailable. None when the check is disabled."""
    if not settings.smoke.enabled:
        return None
    return choose_token_source(target_from_settings(settings, hasura_url="", admin_secret="", issuer=None), environ)
