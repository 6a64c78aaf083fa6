"""The Docker engine the docker target deploys to, asked at preview, before anything is created.

The docker provider talks to the engine named by `DOCKER_HOST`; so does this check, over the Docker Engine API
(`GET /version`, docs.docker.com/reference/api/engine, "Get version"). It finds two things a deploy would otherwise
learn halfway through, with resources already created:
- an engine the project does not support (older than Docker Engine 20.10, API 1.41: the oldest we test on);
- whether the engine takes a health check's `start_interval`, which needs API 1.44 (Docker Engine 25). Older
  engines refuse the whole container create ("specify health-check start interval" requires API version 1.44).

With `DOCKER_HOST` unset, both try `unix:///var/run/docker.sock`, then Docker Desktop's per-user sockets (its
"adminless" install on macOS makes no /var/run/docker.sock), and use the first that answers: pulumi-docker's
configureDockerClient (provider/image.go) does so and sets DOCKER_HOST to it for every resource.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from components.config.settings import SharedSettings
from components.errors import ClerkHasuraError

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
#: Docker Desktop's sockets under the user's home, in the order pulumi-docker tries them after the default.
DESKTOP_SOCKETS = (".docker/run/docker.sock", ".docker/desktop/docker.sock")
#: The oldest engine API the project is tested on: Docker Engine 20.10 (Debian 12's docker.io).
MINIMUM_API = (1, 41)
MINIMUM_ENGINE = "Docker Engine 20.10"
#: The first API that takes `HealthConfig.StartInterval` (Docker Engine 25.0).
START_INTERVAL_API = (1, 44)
#: The engine runs on this machine or a host the user named: it answers at once or not at all.
TIMEOUT_SECONDS = 10.0


class DockerEngineUnavailable(ClerkHasuraError):
    """The Docker engine did not answer, or is older than the project supports."""


@dataclass(frozen=True)
class DockerEngine:
    host: str
    """Where the engine was reached (`DOCKER_HOST`, or the first of the default sockets that answered)."""
    version: str
    """The engine's own version, e.g. "20.10.24"."""
    api_version: str
    """The engine's Docker API version, e.g. "1.41" (Docker 20.10) or "1.45" (Docker 26)."""

    @property
    def takes_start_interval(self) -> bool:
        return _api_tuple(self.api_version) >= START_INTERVAL_API


def preflight(settings: SharedSettings, environ: Mapping[str, str]) -> DockerEngine:
    """The engine the docker provider will use, if it answers and is recent enough; else `DockerEngineUnavailable`
    with the fix."""
    del settings  # every docker stack deploys to the engine the environment names
    failures: list[str] = []
    for host in _candidate_hosts(environ):
        try:
            with _client(host, environ) as client:
                response = client.get("/version")
                response.raise_for_status()
                answer = response.json()
        except (httpx.HTTPError, ValueError, OSError) as error:
            failures.append(f"{host} ({type(error).__name__}: {error})")
            continue
        return _supported(DockerEngine(host=host, version=str(answer.get("Version", "?")),
                                       api_version=str(answer.get("ApiVersion", "0"))))
    raise DockerEngineUnavailable(
        f"Docker: no Docker engine answered at {'; '.join(failures)}. Fix: start Docker (Docker Desktop, or "
        "`sudo systemctl start docker`), or set DOCKER_HOST to the engine to deploy to (scripts/deploy sets it from "
        "the current docker context)")


def _candidate_hosts(environ: Mapping[str, str]) -> list[str]:
    if environ.get("DOCKER_HOST"):
        return [environ["DOCKER_HOST"]]
    home = environ.get("HOME") or os.path.expanduser("~")
    return [DEFAULT_DOCKER_HOST, *(f"unix://{os.path.join(home, socket)}" for socket in DESKTOP_SOCKETS)]


def _supported(engine: DockerEngine) -> DockerEngine:
    if _api_tuple(engine.api_version) < MINIMUM_API:
        raise DockerEngineUnavailable(
            f"Docker: the engine at {engine.host} is Docker Engine {engine.version} (API {engine.api_version}); the "
            f"oldest this project supports is {MINIMUM_ENGINE} (API {'.'.join(map(str, MINIMUM_API))}). Fix: upgrade "
            "Docker (https://docs.docker.com/engine/install/)")
    return engine


def _client(host: str, environ: Mapping[str, str]) -> httpx.Client:
    parts = urlsplit(host)
    if parts.scheme == "unix":
        return httpx.Client(transport=httpx.HTTPTransport(uds=parts.path), base_url="http://docker",
                            timeout=TIMEOUT_SECONDS)
    if parts.scheme == "tcp":
        # The docker CLI's convention (docs.docker.com/engine/security/protect-access): TLS when DOCKER_TLS_VERIFY
        # is set, with ca.pem/cert.pem/key.pem from DOCKER_CERT_PATH (default ~/.docker).
        if environ.get("DOCKER_TLS_VERIFY"):
            certs = environ.get("DOCKER_CERT_PATH") or os.path.expanduser("~/.docker")
            context = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
            context.load_cert_chain(os.path.join(certs, "cert.pem"), os.path.join(certs, "key.pem"))
            return httpx.Client(base_url=f"https://{parts.netloc}", verify=context, timeout=TIMEOUT_SECONDS)
        return httpx.Client(base_url=f"http://{parts.netloc}", timeout=TIMEOUT_SECONDS)
    raise DockerEngineUnavailable(
        f"DOCKER_HOST: {host} is not a unix:// or tcp:// address, the two this deploy checks before it starts. "
        "Fix: reach the engine through one of them (e.g. an SSH tunnel: `ssh -NL /tmp/docker.sock:/var/run/docker.sock "
        "HOST` and DOCKER_HOST=unix:///tmp/docker.sock)")


def _api_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)
