"""What the hosted targets (`hasura-cloud`, `nhost`) share: why the shared keys they do not read would do nothing there,
the restart timeout setting, a small GraphQL-over-HTTP call for platform APIs, and waiting for the platform to serve
Hasura again after a settings change.

Pure: no Pulumi here (the dynamic providers call it from the provider process).
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from components.errors import ClerkHasuraError
from components.hasura.client import HasuraAccessDenied, HasuraClient, HasuraError

#: How long a deploy waits for the platform to restart Hasura with changed settings (`restartTimeout`).
DEFAULT_RESTART_TIMEOUT_SECONDS = 300
#: Seconds between probes while the platform restarts Hasura.
PROBE_INTERVAL_SECONDS = 0.5
#: Seconds of unchanged answers after which a platform that restarts Hasura without a visible gap is trusted.
RESTART_SETTLE_SECONDS = 15.0
#: How long one platform API call may take.
API_TIMEOUT_SECONDS = 30.0


class PlatformError(ClerkHasuraError):
    """A platform API call failed; the message names the setting to fix when one is at fault."""


class PlatformRestartTimeout(PlatformError):
    """The platform did not serve Hasura again within the restart timeout."""


def unread_key_reasons(target: str, platform: str) -> dict[str, str]:
    """Why a shared key a hosted target does not read would do nothing there, with the fix (the target's
    `UNREAD_KEYS`): the platform runs Hasura and its Postgres; `platform` is where such a setting is made instead."""
    return {
        "hasura": f"the `{target}` target does not set it, so this key would do nothing. Fix: remove it; set it in "
                  f"{platform}",
        "postgres": f"the `{target}` target creates no Postgres. Fix: remove the key",
        "postgresPassword": f"the `{target}` target creates no Postgres. Fix: `clerk-hasura pulumi --stack <stack> "
                            "config rm postgresPassword`",
    }


def check_restart_timeout(value: int) -> int:
    """The `restartTimeout` of a hosted target's settings object."""
    if not 10 <= value <= 1800:
        raise ValueError(f"must be between 10 and 1800 seconds, got {value}. Fix: remove the key for "
                         f"{DEFAULT_RESTART_TIMEOUT_SECONDS}")
    return value


def post_graphql(client: httpx.Client, url: str, query: str, variables: dict[str, Any], *,
                 headers: dict[str, str], what: str) -> dict[str, Any]:
    """One GraphQL request; returns the JSON body (`data` and/or `errors`). Transport failures and non-JSON answers
    raise `PlatformError` naming `what` was called; the caller interprets `errors`."""
    try:
        response = client.post(url, json={"query": query, "variables": variables}, headers=headers)
    except httpx.HTTPError as error:
        raise PlatformError(f"{what}: {url} did not answer ({type(error).__name__}). Fix: check the network and run "
                            "the deploy again; if you changed the API URL setting, check it") from None
    if response.status_code >= 500:
        raise PlatformError(f"{what}: {url} answered HTTP {response.status_code}, a failure on the platform's side. "
                            "Fix: run the deploy again in a few minutes (nothing was changed by this call); if it "
                            "keeps failing, look at the platform's status page")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PlatformError(f"{what}: {url} answered HTTP {response.status_code} without a GraphQL body")
    body.setdefault("status", response.status_code)
    return body


def first_error(body: dict[str, Any]) -> str | None:
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        return str(first.get("message")) if isinstance(first, dict) else str(first)
    return None


def wait_until_serving(hasura_url: str, admin_secret: str, *, timeout: float, what: str,
                       settle: float = RESTART_SETTLE_SECONDS) -> None:
    """Block until the platform serves Hasura at `hasura_url` with the settings just written: it restarts Hasura
    after accepting a change, and the old instance may answer for a moment longer. So this waits until a restart was
    seen (Hasura stopped answering, or refused `admin_secret` and then accepted it) and Hasura answers an admin read
    with `admin_secret`; a platform that swaps instances without any gap is trusted after `settle` seconds of
    answers. Raises `PlatformRestartTimeout` naming `what` was changed."""
    started = time.monotonic()
    restart_seen = False
    last = "no answer"
    while True:
        try:
            with HasuraClient(hasura_url, admin_secret, timeout=min(10.0, timeout), retry_seconds=0) as hasura:
                hasura.export_metadata()
        except HasuraAccessDenied:
            restart_seen = True  # still the old instance (the admin secret changed); the new one will accept it
            last = "it refused the admin secret (still running with the old settings?)"
        except HasuraError as error:
            restart_seen = True
            last = type(error).__name__
        else:
            if restart_seen or time.monotonic() - started >= settle:
                return
            last = "it still answers as before the change"
        if time.monotonic() - started >= timeout:
            raise PlatformRestartTimeout(
                f"{what} was written, but Hasura at {hasura_url} did not serve with it within {timeout:g} s "
                f"({last}). Fix: check the project in its dashboard; `scripts/deploy <stack>` checks again and "
                "goes on")
        time.sleep(PROBE_INTERVAL_SECONDS)
