"""A small client of the Clerk Backend API: JWT templates, test users, sessions and template tokens (clerk.md §2).

Plain httpx, built per use and never pickled. The secret key travels only in the Authorization header and
tokens only in return values: neither is logged or put into an exception message.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import httpx

from components.errors import ClerkHasuraError

DEFAULT_CLERK_API_URL = "https://api.clerk.com"
#: The Backend API version the request and response shapes here follow (clerk.md §2.1).
CLERK_API_VERSION = "2025-11-10"
REQUEST_TIMEOUT_SECONDS = 15.0
#: How long a call may wait in total for Clerk's rate limit (429 + Retry-After) before giving up.
DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS = 30.0
#: Transient failures (connection errors, 5xx) of read-only calls are retried this many times.
READ_RETRIES = 2

SECRET_KEY_SETTING = "clerkSecretKey"

HASURA_CLAIMS_NAMESPACE = "https://hasura.io/jwt/claims"
#: The claims of Clerk's built-in Hasura template (clerk.md §1.1); `{{user.id}}` is the Clerk user id.
HASURA_TEMPLATE_CLAIMS: dict[str, Any] = {
    HASURA_CLAIMS_NAMESPACE: {
        "x-hasura-allowed-roles": ["user"],
        "x-hasura-default-role": "user",
        "x-hasura-user-id": "{{user.id}}",
    }
}
#: The claims of Clerk's built-in Nhost template (clerk.md §1.1): the Hasura claims with a second role `me`, as
#: Nhost's own tokens carry it.
NHOST_TEMPLATE_CLAIMS: dict[str, Any] = {
    HASURA_CLAIMS_NAMESPACE: {
        "x-hasura-allowed-roles": ["me", "user"],
        "x-hasura-default-role": "user",
        "x-hasura-user-id": "{{user.id}}",
    }
}
#: The template claims per `clerk.templatePreset`: what each of Clerk's presets makes.
TEMPLATE_PRESETS: dict[str, dict[str, Any]] = {"hasura": HASURA_TEMPLATE_CLAIMS, "nhost": NHOST_TEMPLATE_CLAIMS}
#: Claims Clerk sets itself on every template token; a template containing one is refused (clerk.md §1.4).
RESERVED_CLAIMS = frozenset({"azp", "exp", "iat", "iss", "jti", "nbf", "sub", "sid", "fva"})


class ClerkApiError(ClerkHasuraError):
    """A Clerk Backend API call failed; `status` and `code` are Clerk's HTTP status and error code, if any."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class ClerkUnreachable(ClerkApiError):
    """Clerk's Backend API could not be reached or answered with a server error."""


class ClerkAuthenticationFailed(ClerkApiError):
    """Clerk refused the secret key (401/403)."""


class ClerkNotFound(ClerkApiError):
    """The object (template, session, user) does not exist."""


class ClerkRateLimited(ClerkApiError):
    """Clerk kept answering 429 for longer than the call may wait."""


class ClerkRequestRejected(ClerkApiError):
    """Clerk rejected the request's content (400/402/422), e.g. a reserved claim in a template."""


class ClerkSessionsUnavailable(ClerkApiError):
    """Clerk refused to create a session: the instance is a production instance (sessions are test-only there)."""


class ClerkClient:
    """The Backend API subset this project uses. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        secret_key: str,
        *,
        base_url: str = DEFAULT_CLERK_API_URL,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        max_rate_limit_wait: float = DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not secret_key or not secret_key.strip():
            raise ClerkAuthenticationFailed(f"{SECRET_KEY_SETTING} is empty. Fix: set it with `clerk-hasura pulumi "
                                            f"--stack <stack> config set --secret {SECRET_KEY_SETTING}` (it asks for "
                                            "the value)")
        self.base_url = base_url.rstrip("/")
        self.max_rate_limit_wait = max_rate_limit_wait
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url + "/v1",
            timeout=timeout,
            headers={"Authorization": f"Bearer {secret_key.strip()}", "Clerk-API-Version": CLERK_API_VERSION,
                     "Accept": "application/json"},
        )

    def __enter__(self) -> ClerkClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # JWT templates (clerk.md §2.2)

    def list_jwt_templates(self) -> list[dict[str, Any]]:
        """Every JWT template of the instance (both list shapes Clerk answers with are accepted)."""
        templates: list[dict[str, Any]] = []
        page_size = 100
        while True:
            body = self._call("GET", "/jwt_templates", what="list JWT templates",
                              params={"paginated": "true", "limit": page_size, "offset": len(templates)})
            if isinstance(body, list):  # older API versions ignore `paginated` and return everything at once
                return body
            page = body.get("data") or []
            templates += page
            if not page or len(templates) >= int(body.get("total_count", 0)):
                return templates

    def get_jwt_template(self, template_id: str) -> dict[str, Any]:
        return self._call("GET", f"/jwt_templates/{template_id}", what=f"read JWT template {template_id}")

    def create_jwt_template(self, template: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/jwt_templates", json=template, what=f"create JWT template {template.get('name')!r}")

    def update_jwt_template(self, template_id: str, template: dict[str, Any]) -> dict[str, Any]:
        """PATCH a template; Clerk requires `name` and `claims` in every update."""
        return self._call("PATCH", f"/jwt_templates/{template_id}", json=template,
                          what=f"update JWT template {template.get('name')!r}")

    def delete_jwt_template(self, template_id: str) -> None:
        self._call("DELETE", f"/jwt_templates/{template_id}", what=f"delete JWT template {template_id}")

    # Users, sessions, tokens (clerk.md §2.3, §2.4)

    def find_users_by_email(self, email_address: str) -> list[dict[str, Any]]:
        body = self._call("GET", "/users", params={"email_address": email_address}, what="look up the test user")
        return body if isinstance(body, list) else body.get("data", [])

    def create_user(self, email_address: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/users", json={"email_address": [email_address], **fields},
                          what="create the test user")

    def delete_user(self, user_id: str) -> None:
        self._call("DELETE", f"/users/{user_id}", what=f"delete user {user_id}")

    def create_session(self, user_id: str) -> dict[str, Any]:
        """Create a session for `user_id`. Clerk allows this only on development instances."""
        try:
            return self._call("POST", "/sessions", json={"user_id": user_id}, what="create a session for the test user")
        except (ClerkRequestRejected, ClerkAuthenticationFailed) as error:
            if error.status in (400, 403, 422) and _refused_for_environment(error):
                raise ClerkSessionsUnavailable(
                    "Clerk refused to create a session: this is a production instance, where sessions can only be "
                    "created by signing in. Fix: hand a token in through smoke.tokenEnvVar, or use the secret key "
                    "of a development instance", status=error.status, code=error.code) from None
            raise

    def token_from_template(self, session_id: str, template_name: str, *, expires_in_seconds: int | None = None) -> str:
        """A token of `session_id` minted from the named template. The return value is a credential."""
        body = {} if expires_in_seconds is None else {"expires_in_seconds": expires_in_seconds}
        try:
            answer = self._call("POST", f"/sessions/{session_id}/tokens/{template_name}", json=body,
                                what=f"mint a token from JWT template {template_name!r}")
        except ClerkNotFound as error:
            raise ClerkNotFound(
                f"Clerk has no JWT template named {template_name!r} (or the session is gone): {error}. Fix: create "
                f"the template (set {SECRET_KEY_SETTING} so the stack manages it, or add it in the Clerk dashboard "
                "under JWT templates) or correct clerk.jwtTemplate", status=error.status, code=error.code) from None
        token = answer.get("jwt") if isinstance(answer, dict) else None
        if not isinstance(token, str) or token.count(".") != 2:
            raise ClerkApiError(f"Clerk answered the token request for template {template_name!r} without a JWT")
        return token

    def session_token(self, session_id: str) -> str:
        """The session's default token (no template; clerk.md §4). The return value is a credential."""
        answer = self._call("POST", f"/sessions/{session_id}/tokens", json={}, what="mint a session token")
        token = answer.get("jwt") if isinstance(answer, dict) else None
        if not isinstance(token, str) or token.count(".") != 2:
            raise ClerkApiError("Clerk answered the session token request without a JWT")
        return token

    def revoke_session(self, session_id: str) -> None:
        self._call("POST", f"/sessions/{session_id}/revoke", what=f"revoke session {session_id}")

    def jwks(self) -> dict[str, Any]:
        return self._call("GET", "/jwks", what="fetch the instance JWKS")

    # Transport

    def _call(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        waited = 0.0
        attempts = 0
        while True:
            attempts += 1
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.HTTPError as error:
                if method == "GET" and attempts <= READ_RETRIES:
                    self._sleep(0.5 * attempts)
                    continue
                raise ClerkUnreachable(
                    f"Could not {what}: Clerk's Backend API at {self.base_url} is unreachable "
                    f"({type(error).__name__}). Fix: check this machine's network access to {self.base_url}"
                ) from None
            if response.status_code == 429:
                delay = _retry_after_seconds(response)
                if waited + delay > self.max_rate_limit_wait:
                    raise ClerkRateLimited(
                        f"Could not {what}: Clerk is rate limiting this instance (429, retry after {delay:g} s; "
                        f"already waited {waited:g} s of the {self.max_rate_limit_wait:g} s allowed). Development "
                        "instances allow 100 Backend API requests per 10 s. Fix: wait a minute and rerun, and check "
                        "that nothing else is calling the API with this secret key in a loop", status=429)
                self._sleep(delay)
                waited += delay
                continue
            if response.status_code >= 500 and method == "GET" and attempts <= READ_RETRIES:
                self._sleep(0.5 * attempts)
                continue
            if response.is_success:
                return response.json() if response.content else None
            raise _error_for(response, what, self.base_url)


def _retry_after_seconds(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - time.time())
    return 1.0


def _clerk_error(response: httpx.Response) -> tuple[str | None, str]:
    """Clerk's error code and a readable message from its error body (clerk.md §2.1)."""
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    message = first.get("long_message") or first.get("message") or response.reason_phrase or "no details"
    return first.get("code"), message


def _refused_for_environment(error: ClerkApiError) -> bool:
    # Clerk's InvalidRequestForEnvironment: "Request only valid for development, staging instances."
    return error.code == "request_invalid_for_environment" or "production" in str(error).lower()


def _error_for(response: httpx.Response, what: str, base_url: str) -> ClerkApiError:
    status = response.status_code
    code, message = _clerk_error(response)
    detail = f"Clerk answered {status}" + (f" {code}" if code else "") + f": {message}"
    if status == 401:
        return ClerkAuthenticationFailed(
            f"Could not {what}: {detail}. Fix: set {SECRET_KEY_SETTING} to the secret key (sk_test_… or sk_live_…) "
            f"of the Clerk instance, from the dashboard's API keys page", status=status, code=code)
    if status == 403:
        return ClerkAuthenticationFailed(f"Could not {what}: {detail}. Fix: use a secret key of this instance "
                                         "that may manage it", status=status, code=code)
    if status == 404:
        return ClerkNotFound(f"Could not {what}: {detail}", status=status, code=code)
    if status >= 500:
        return ClerkUnreachable(f"Could not {what}: {detail}. Fix: Clerk is having trouble; rerun later "
                                f"(status: https://status.clerk.com)", status=status, code=code)
    fix = (" Fix: remove that claim from the template; Clerk adds the standard claims (sub, iss, exp, …) itself"
           if code == "jwt_template_reserved_claim" else "")
    return ClerkRequestRejected(f"Could not {what}: {detail}.{fix}", status=status, code=code)
