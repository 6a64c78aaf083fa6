"""What the platform doubles (`hasura_cloud`, `nhost`) share: a JSON-over-HTTP server on 127.0.0.1 in a background
thread, and restarting an attached Hasura double the way a platform restarts a project's Hasura.

A platform applies a settings change by restarting the project's Hasura: the old one stops serving as the change is
accepted and a new one comes up with the new settings a moment later (Hasura Cloud's console: the change is "applied
to your project"; Nhost's dashboard redeploys the service). That the old one stops before the API answers is an
assumption of these doubles (unverified); the delay is `restart_seconds`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: (status, JSON body) for a request (method, path, headers, parsed body).
Handler = Callable[[str, str, dict[str, str], Any], tuple[int, Any]]


class JsonServer:
    def __init__(self, handle: Handler, name: str):
        self._handle, self._name = handle, name
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def start(self) -> None:
        handle = self._handle

        class _Request(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                status, answer = handle(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                        body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Request)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self._name,
                         daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class HasuraRestarter:
    """Restarts an attached Hasura double (tests/doubles/hasura, started by tests/fixtures/hasura.py's factory) with
    new settings: stopped at once, started again on the same port after `restart_seconds`, through its public
    attributes and `start()`."""

    def __init__(self, hasura: Any, restart_seconds: float):
        self.hasura, self.restart_seconds = hasura, restart_seconds
        self.restarts = 0
        self._lock = threading.Lock()
        self._pending: threading.Thread | None = None

    def restart(self, *, jwt_secret: str | None, admin_secret: str | None, unauthorized_role: str | None,
                env: dict[str, str]) -> None:
        with self._lock:
            self.wait()
            if self.hasura.running:
                self.hasura.stop()
            self.restarts += 1

            def come_back() -> None:
                time.sleep(self.restart_seconds)
                self.hasura.jwt_secret, self.hasura.admin_secret = jwt_secret, admin_secret
                self.hasura.unauthorized_role, self.hasura.env = unauthorized_role, dict(env)
                self.hasura.start()

            self._pending = threading.Thread(target=come_back, name="platform-restart", daemon=True)
            self._pending.start()

    def wait(self) -> None:
        """Until a restart under way has finished."""
        if self._pending is not None:
            self._pending.join()
            self._pending = None
