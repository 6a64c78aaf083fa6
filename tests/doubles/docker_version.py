"""A Docker engine that answers only `GET /version`, for program runs under mocks (no engine runs there).

The docker target asks the engine's API version at preview (components/targets/docker/daemon.py). The answer's
shape is the Engine API's "Get version" (docs.docker.com/reference/api/engine, `SystemVersion`: `Version`,
`ApiVersion`, `MinAPIVersion`, …); these are the fields the project reads. Real-engine tests use a real engine.
"""

from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Docker Engine 26.1 (Debian 13's docker.io): takes a health check's start_interval.
CURRENT = {"Version": "26.1.5", "ApiVersion": "1.45", "MinAPIVersion": "1.24", "Os": "linux", "Arch": "amd64"}
#: Docker Engine 20.10 (Debian 12's docker.io): the oldest the project supports.
OLDEST = {"Version": "20.10.24", "ApiVersion": "1.41", "MinAPIVersion": "1.12", "Os": "linux", "Arch": "amd64"}


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class DockerVersionDouble:
    """`with DockerVersionDouble(OLDEST) as docker_host: ...` serves that answer at `tcp://127.0.0.1:<port>`, or at
    `unix://<socket>` when given a socket path (as Docker Desktop's per-user sockets)."""

    def __init__(self, answer: dict[str, str] = CURRENT, socket: str | None = None) -> None:
        body = json.dumps(answer).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                found = self.path.rstrip("/").endswith("/version")
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body if found else b'{"message":"page not found"}')

            def log_message(self, *args: object) -> None:
                pass

            def address_string(self) -> str:
                return "local"  # a unix socket's peer has no address

        if socket is None:
            self.server: socketserver.BaseServer = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            self.docker_host = f"tcp://127.0.0.1:{self.server.server_address[1]}"
        else:
            self.server = _UnixHTTPServer(socket, Handler)
            self.docker_host = f"unix://{socket}"

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.docker_host

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
