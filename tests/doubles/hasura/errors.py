"""Hasura's error shapes (hasura.md §1.1, §1.2, §4.3).

One exception type carries what Hasura needs to render an error on every API:
- metadata / schema API: HTTP status + `{"path", "error", "code"}` (+ `"internal"` for admins), §1.1;
- `/v1/graphql`: always HTTP 200 with `{"errors":[{"extensions":{"path","code"},"message"}]}`, §1.2 / §4.3.
"""

from __future__ import annotations

from typing import Any


class HasuraError(Exception):
    """An error Hasura reports to the client (never a crash of the double)."""

    def __init__(self, code: str, message: str, *, status: int = 400, path: str = "$", internal: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.path = path
        self.internal = internal

    def api_body(self) -> dict[str, Any]:
        """Body on /v1/metadata and /v2/query (§1.1)."""
        body: dict[str, Any] = {"path": self.path, "error": self.message, "code": self.code}
        if self.internal is not None:
            body["internal"] = self.internal
        return body

    def graphql_body(self, *, admin: bool = False) -> dict[str, Any]:
        """Body on /v1/graphql, always sent with HTTP 200 (§1.2 `allMod200`); `internal` only for admins
        (HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS, default true, §1.1)."""
        extensions: dict[str, Any] = {"path": self.path, "code": self.code}
        if self.internal is not None and admin:
            extensions["internal"] = self.internal
        return {"errors": [{"extensions": extensions, "message": self.message}]}


class StartupError(RuntimeError):
    """The server would exit at startup (hasura.md §3.2 fatal errors, §4.4 unreachable JWK URL)."""


def access_denied_admin_only() -> HasuraError:
    """Non-admin role on the metadata/schema API (§1.1)."""
    return HasuraError("access-denied", "restricted access : admin only", status=400, path="$.args")
