"""The `smoke` stack config object: how the post-deploy smoke check gets its token, whether it may write test rows,
and how long it may take."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator

from components.config.base import StrictModel
from components.config.containers import DEV_STACK

#: `auto` picks the first available of clerk, signing-key, env, none (see components.smoke.target.choose_token_source).
TokenSourceName = Literal["auto", "clerk", "signing-key", "env", "none"]

DEFAULT_TOKEN_ENV_VAR = "CLERK_HASURA_SMOKE_TOKEN"
DEFAULT_TEST_USER_EMAIL = "clerk-hasura-smoke+clerk_test@example.com"
MAX_TIMEOUT_SECONDS = 1800

_ENV_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Clerk treats `<anything>+clerk_test@<domain>` as a test address: no mail is sent, the OTP is 424242 (clerk.md §2.4).
_CLERK_TEST_EMAIL = re.compile(r"^[^@\s+]+\+clerk_test@[^@\s]+\.[^@\s]+$")


class SmokeSettings(StrictModel):
    """The `smoke` object."""

    enabled: bool = True
    """Run the smoke check as the last step of `pulumi up`."""
    token_source: TokenSourceName = "auto"
    """Where the user token comes from: `clerk` (Backend API, development instances), `signing-key` (minted
    locally with `clerkSigningKey`), `env` (handed in through `tokenEnvVar`), `none` (only checks needing no
    token), or `auto` (the first of those that is available)."""
    token_env_var: str = DEFAULT_TOKEN_ENV_VAR
    """Environment variable holding a user token for the `env` source."""
    timeout_seconds: int = 120
    """Upper bound for the whole check, including waiting for Hasura to warm up and Clerk rate limits."""
    test_user_email: str = DEFAULT_TEST_USER_EMAIL
    """Email of the Clerk test user the `clerk` source signs in (created when missing)."""
    writes: bool | None = None
    """`true`: seed a row for the test user and one for a made-up user, prove isolation on them, delete them.
    `false`: prove the same with the rows already there, writing nothing (teams attach triggers to `users`).
    Default `true` on the `dev` stack only (see `resolved_writes`)."""
    run_id: str = ""
    """Change it (e.g. `clerk-hasura pulumi --stack <stack> config set --path smoke.runId "$(date +%s)"`) to run the
    check again on demand."""

    def resolved_writes(self, stack: str) -> bool:
        """`writes` as configured, else true on the `dev` stack and false on every other (as the console)."""
        return self.writes if self.writes is not None else stack == DEV_STACK

    @field_validator("run_id", mode="before")
    @classmethod
    def _run_id(cls, value: object) -> object:
        # `config set --path smoke.runId "$(date +%s)"` stores a number: any value that reads as text will do.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("token_env_var")
    @classmethod
    def _env_var(cls, value: str) -> str:
        if not _ENV_VAR_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name. Fix: use letters, digits and "
                             f"underscores, e.g. {DEFAULT_TOKEN_ENV_VAR}")
        return value

    @field_validator("timeout_seconds")
    @classmethod
    def _timeout(cls, value: int) -> int:
        if not 5 <= value <= MAX_TIMEOUT_SECONDS:
            raise ValueError(f"must be between 5 and {MAX_TIMEOUT_SECONDS} seconds, got {value}. Fix: allow time "
                             "for Hasura to start and fetch its keys; the default is 120")
        return value

    @field_validator("test_user_email")
    @classmethod
    def _test_email(cls, value: str) -> str:
        if not _CLERK_TEST_EMAIL.match(value):
            raise ValueError(f"{value!r} is not a Clerk test email address. Fix: use one of the form "
                             f"`<name>+clerk_test@example.com` (Clerk sends no mail to those), e.g. "
                             f"{DEFAULT_TEST_USER_EMAIL}")
        return value
