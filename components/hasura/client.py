"""A plain HTTP client for Hasura GraphQL Engine v2: metadata API, run_sql, GraphQL, health.

Pure: no Pulumi here, so the metadata provider, the drift command and the smoke check share it.
Hasura's error bodies (hasura.md §1.1, §1.2, §1.4) become one exception type per failure kind, each
message naming what to fix. The admin secret is only ever sent as a header: never logged, never in a
message, never in `repr`.

Retries: connection errors (nothing reached Hasura) are always retried with backoff within
`retry_seconds`, which covers Hasura still starting. 5xx answers and connections dropped after the
request was sent are retried only for calls that change nothing (`idempotent=True`); for a write the
outcome is then unknown, so the error says so (`HasuraUnreachable.outcome_unknown`) and the caller
checks what happened instead of blindly sending the write again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from components.errors import ClerkHasuraError

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_RETRY_SECONDS = 60.0
FIRST_BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 5.0

_ADMIN_SECRET_HEADER = "X-Hasura-Admin-Secret"
#: Where to look when Hasura does not answer, for a caller that does not know the stack's target (a target says
#: more: `components.targets.health_hint`).
DEFAULT_HEALTH_HINT = "Hasura's logs, where the stack's target runs it"
#: The variable the program and the clerk-hasura commands read the admin secret from before the stack's setting
#: (`components.targets.SECRET_ENV_VARS`, which this core module does not import).
ADMIN_SECRET_ENV = "CLERK_HASURA_HASURA_ADMIN_SECRET"


class HasuraError(ClerkHasuraError):
    """A call to Hasura failed."""


class HasuraUnreachable(HasuraError):
    """Hasura did not answer (connection refused, timeout, dropped connection) or kept answering 5xx.

    `outcome_unknown` is true when a write was sent and the answer was lost: it may have been applied.
    """

    def __init__(self, message: str, *, outcome_unknown: bool = False):
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class HasuraAccessDenied(HasuraError):
    """The admin secret is missing or wrong, or the call needs admin rights it did not have."""


class HasuraConflict(HasuraError):
    """The metadata changed since it was read (`resource_version` is stale): someone else edited it."""


class HasuraInconsistentMetadata(HasuraError):
    """Hasura refused metadata that does not match the database; `objects` lists what is inconsistent."""

    def __init__(self, message: str, objects: list[dict[str, Any]]):
        super().__init__(message)
        self.objects = objects


class HasuraApiError(HasuraError):
    """Any other error answer; carries Hasura's `code`, `path` and HTTP status."""

    def __init__(self, message: str, *, code: str | None, path: str | None, status: int):
        super().__init__(message)
        self.code = code
        self.path = path
        self.status = status


@dataclass(frozen=True)
class ExportedMetadata:
    """`export_metadata` v2: the document and the version a later replace must name."""

    resource_version: int
    metadata: dict[str, Any]


@dataclass(frozen=True)
class CatalogState:
    """`get_catalog_state`: the server's id and the free-form states the Hasura CLI (`cli`) and the console
    (`console`) keep on the server, each written whole by `set_catalog_state` (server source
    `Hasura/RQL/DDL/Metadata.hs` runGetCatalogState/runSetCatalogState; stored in `hdb_catalog.hdb_version`)."""

    id: str
    cli_state: dict[str, Any]
    console_state: dict[str, Any]


@dataclass(frozen=True)
class SqlResult:
    """A `run_sql` answer: `rows` are lists of text values; for `TuplesOk` the first row holds the column names."""

    result_type: str
    rows: list[list[str | None]]

    def records(self) -> list[dict[str, str | None]]:
        """The result rows as dicts keyed by column name."""
        if not self.rows:
            return []
        header, *body = self.rows
        return [dict(zip(header, row, strict=True)) for row in body]


def describe_inconsistent_objects(objects: list[dict[str, Any]]) -> list[str]:
    """One line per inconsistent object, as Hasura names it and why (`name: reason`)."""
    lines = []
    for obj in objects:
        name = obj.get("name") or f"{obj.get('type', 'object')} {obj.get('definition')}"
        reason = obj.get("reason") or obj.get("message") or "inconsistent"
        lines.append(f"{name}: {reason}")
    return lines


class HasuraClient:
    """One Hasura endpoint, as admin. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        url: str,
        admin_secret: str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        transport: httpx.BaseTransport | None = None,
        health_hint: str = DEFAULT_HEALTH_HINT,
    ):
        """`health_hint`: what to look at when Hasura does not answer (the stack's target knows: a container's logs,
        a deployment's pods, a platform's dashboard)."""
        self.url = url.rstrip("/")
        self.retry_seconds = retry_seconds
        self.health_hint = health_hint
        headers = {_ADMIN_SECRET_HEADER: admin_secret} if admin_secret else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"HasuraClient({self.url!r})"

    def __enter__(self) -> HasuraClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- health ---------------------------------------------------------------------------------

    def healthz(self, *, strict: bool = False) -> str:
        """`GET /healthz`: `OK`, or `WARN: inconsistent objects in schema`; raises while Hasura is not up."""
        response = self._send("GET", "/healthz", params={"strict": "true"} if strict else None, idempotent=True)
        if response.status_code != 200:
            self._raise_for(response, "GET /healthz")
        return response.text.strip()

    def version(self) -> str:
        """`GET /v1/version`: the server version, e.g. `v2.48.1`."""
        return self._json("GET", "/v1/version", idempotent=True, operation="GET /v1/version")["version"]

    def server_config(self) -> dict[str, Any]:
        """`GET /v1alpha1/config` (admin): `is_jwt_set`, `is_auth_hook_set`, the JWT claims location. Raises
        `HasuraApiError` (code `not-found`) when the `config` API is disabled (HASURA_GRAPHQL_ENABLED_APIS)."""
        return self._json("GET", "/v1alpha1/config", idempotent=True, operation="GET /v1alpha1/config")

    # -- metadata API ---------------------------------------------------------------------------

    def metadata(self, type_: str, args: Any, *, version: int | None = None, resource_version: int | None = None,
                 idempotent: bool = False) -> Any:
        """One `POST /v1/metadata` call; `resource_version` goes at the top level (hasura.md §1.4)."""
        body: dict[str, Any] = {"type": type_, "args": args}
        if version is not None:
            body["version"] = version
        if resource_version is not None:
            body["resource_version"] = resource_version
        return self._json("POST", "/v1/metadata", json=body, idempotent=idempotent, operation=type_)

    def export_metadata(self) -> ExportedMetadata:
        answer = self.metadata("export_metadata", {}, version=2, idempotent=True)
        return ExportedMetadata(resource_version=int(answer["resource_version"]), metadata=answer["metadata"])

    def replace_metadata(self, metadata: dict[str, Any], *, resource_version: int | None) -> dict[str, Any]:
        """Replace all metadata, refusing inconsistent documents and stale `resource_version`s."""
        return self.metadata(
            "replace_metadata",
            {"allow_inconsistent_metadata": False, "metadata": metadata},
            version=2,
            resource_version=resource_version,
        )

    def get_inconsistent_metadata(self) -> list[dict[str, Any]]:
        answer = self.metadata("get_inconsistent_metadata", {}, idempotent=True)
        return list(answer.get("inconsistent_objects") or [])

    def reload_metadata(self, *, reload_sources: bool = True) -> list[dict[str, Any]]:
        """Re-read the sources (so DDL done outside Hasura shows up, issue #8245); returns inconsistent objects."""
        answer = self.metadata(
            "reload_metadata",
            {"reload_remote_schemas": True, "reload_sources": reload_sources},
            idempotent=True,
        )
        if "inconsistent_objects" in answer:
            return list(answer["inconsistent_objects"] or [])
        # Servers older than the fix of issue #8129 do not report inconsistencies from a reload.
        return self.get_inconsistent_metadata()

    def get_catalog_state(self) -> CatalogState:
        answer = self.metadata("get_catalog_state", {}, idempotent=True)
        return CatalogState(id=str(answer.get("id")), cli_state=_state(answer.get("cli_state"), "cli_state"),
                            console_state=_state(answer.get("console_state"), "console_state"))

    def set_catalog_state(self, kind: str, state: dict[str, Any]) -> None:
        """Replace the whole `cli` or `console` state. Sending the same state twice leaves the same state, so a
        lost answer is retried like a read (the caller read, changed and wrote it back whole)."""
        self.metadata("set_catalog_state", {"type": kind, "state": state}, idempotent=True)

    # -- schema API and GraphQL -----------------------------------------------------------------

    def run_sql(self, sql: str, *, source: str = "default", read_only: bool = False) -> SqlResult:
        """`POST /v2/query` run_sql in one transaction; never `cascade` (it silently drops permissions, #4717)."""
        answer = self._json(
            "POST",
            "/v2/query",
            json={"type": "run_sql", "args": {"source": source, "sql": sql, "cascade": False, "read_only": read_only}},
            idempotent=read_only,
            operation="run_sql",
        )
        return SqlResult(result_type=answer.get("result_type", ""), rows=answer.get("result") or [])

    def graphql(self, query: str, variables: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None, *, as_admin: bool = True) -> dict[str, Any]:
        """`POST /v1/graphql`; returns the whole body (`data` and/or `errors`, which Hasura sends with HTTP 200).

        `headers` are added to the request (e.g. `Authorization`, `X-Hasura-Role`); `as_admin=False` leaves
        out the admin secret, to make the request exactly as an app or an attacker would.
        """
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        request_headers = dict(headers or {})
        response = self._send("POST", "/v1/graphql", json=body, headers=request_headers,
                              idempotent=True, as_admin=as_admin)
        if response.status_code != 200:
            self._raise_for(response, "POST /v1/graphql")
        return response.json()

    # -- plumbing -------------------------------------------------------------------------------

    def _json(self, method: str, path: str, *, operation: str, idempotent: bool, **kwargs: Any) -> Any:
        response = self._send(method, path, idempotent=idempotent, **kwargs)
        if response.status_code != 200:
            self._raise_for(response, operation)
        try:
            return response.json()
        except ValueError:
            raise HasuraApiError(
                f"Hasura at {self.url} answered {operation} with something that is not JSON "
                f"({response.text[:200]!r}). Fix: check that the URL points at Hasura GraphQL Engine, not a proxy page",
                code=None, path=None, status=response.status_code,
            ) from None

    def _send(self, method: str, path: str, *, idempotent: bool, as_admin: bool = True,
              headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        deadline = time.monotonic() + self.retry_seconds
        backoff = FIRST_BACKOFF_SECONDS
        request = self._http.build_request(method, path, headers=headers, **kwargs)
        if not as_admin:
            request.headers.pop(_ADMIN_SECRET_HEADER, None)
        while True:
            try:
                response = self._http.send(request)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                # Nothing reached Hasura: always safe to try again.
                failure: str = f"{type(error).__name__}: {error}"
                sent = False
            except httpx.TransportError as error:
                failure = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                sent = True
            else:
                if response.status_code < 500:
                    return response
                failure = f"HTTP {response.status_code} {_error_text(response)}"
                sent = True
            if (sent and not idempotent) or time.monotonic() + backoff > deadline:
                raise self._unreachable(method, path, failure, outcome_unknown=sent and not idempotent)
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _unreachable(self, method: str, path: str, failure: str, *, outcome_unknown: bool) -> HasuraUnreachable:
        if outcome_unknown:
            return HasuraUnreachable(
                f"Hasura at {self.url} did not confirm {method} {path} ({failure}); the change may or may not "
                f"have been applied. Fix: look at what Hasura did ({self.health_hint}) and run the deploy again "
                "(it re-reads the live state before writing)",
                outcome_unknown=True,
            )
        return HasuraUnreachable(
            f"Hasura at {self.url} is not reachable or not healthy after {self.retry_seconds:g}s "
            f"({method} {path}: {failure}). Fix: check that Hasura is running and healthy ({self.health_hint}) "
            "and that the Hasura URL is right"
        )

    def _raise_for(self, response: httpx.Response, operation: str) -> None:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {"error": str(body)}
        if isinstance(body.get("errors"), list) and body["errors"]:
            # GraphQL-shaped error (e.g. from /v1alpha1/graphql or a proxy in front of Hasura).
            first = body["errors"][0]
            body = {"error": first.get("message"), "code": (first.get("extensions") or {}).get("code")}
        code = body.get("code")
        error = body.get("error") or response.text[:300] or f"HTTP {response.status_code}"
        path = body.get("path")
        where = f"Hasura at {self.url} refused {operation}"
        if response.status_code == 401 or code == "access-denied":
            if "admin only" in str(error):
                fix = "the call needs the admin secret and was made with a role or without it"
            else:
                fix = ("use the admin secret that Hasura runs with: the stack's `hasuraAdminSecret` "
                       "(`clerk-hasura pulumi --stack <stack> config set --secret hasuraAdminSecret`), or "
                       f"{ADMIN_SECRET_ENV} in the environment, which the deploy and the clerk-hasura commands read "
                       "first")
            raise HasuraAccessDenied(f"{where}: {error} ({code or response.status_code}). Fix: {fix}")
        if response.status_code == 409 or code == "conflict":
            raise HasuraConflict(
                f"{where}: {error}. Someone changed the metadata (console, CLI or another deploy) between reading "
                "and writing it, so nothing was overwritten. Fix: look at what changed "
                "(`clerk-hasura drift`), then run the deploy again"
            )
        internal = body.get("internal")
        if code == "unexpected" and "inconsistent" in str(error) and isinstance(internal, list):
            lines = describe_inconsistent_objects(internal)
            raise HasuraInconsistentMetadata(
                f"{where}: {error}; nothing was changed. Inconsistent objects:\n"
                + "\n".join(f"  - {line}" for line in lines)
                + "\nFix: make metadata/ match the database (a migration that creates the table/column, or remove "
                "the reference), or find out who changed the database",
                internal,
            )
        if code == "postgres-error" and isinstance(internal, dict) and isinstance(internal.get("error"), dict):
            # run_sql failures carry Postgres's own message (and SQLSTATE) under `internal.error`.
            detail = internal["error"]
            error = f"{error}: {detail.get('message')} (SQLSTATE {detail.get('status_code')})" + (
                f"; hint: {detail['hint']}" if detail.get("hint") else "")
        raise HasuraApiError(f"{where}: {error} (code {code or 'none'}, path {path or '$'}, HTTP "
                             f"{response.status_code})", code=code, path=path, status=response.status_code)


def _state(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise HasuraApiError(
            f"get_catalog_state answered a {key} that is not a JSON object ({str(value)[:100]!r}). Fix: find what "
            "wrote it and write a JSON object back (`set_catalog_state`); the Hasura CLI and the deploy keep their "
            "migration records in it", code=None, path=f"$.{key}", status=200)
    return value


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("error", body))[:200] if isinstance(body, dict) else str(body)[:200]
