"""The docker target's preflight (components/targets/docker/daemon.py): the engine it asks is the one the docker
provider will use — `DOCKER_HOST`, else the default socket, then Docker Desktop's per-user sockets, as
pulumi-docker's configureDockerClient (provider/image.go) tries them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from components.config.settings import SharedSettings
from components.targets.docker import daemon
from tests.doubles.docker_version import CURRENT, OLDEST, DockerVersionDouble

SETTINGS = SharedSettings.model_construct()


@pytest.fixture
def home(monkeypatch):
    """A short home folder (a socket path has at most 107 bytes) and no engine at the default socket."""
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="home-") as folder:
        monkeypatch.setattr(daemon, "DEFAULT_DOCKER_HOST", f"unix://{folder}/no-engine.sock")
        yield Path(folder)


def _desktop_socket(home: Path, relative: str) -> str:
    socket = home / relative
    socket.parent.mkdir(parents=True, exist_ok=True)
    return str(socket)


@pytest.mark.parametrize("relative", daemon.DESKTOP_SOCKETS)
def test_with_docker_host_unset_a_docker_desktop_socket_that_answers_is_the_engine(home, relative):
    with DockerVersionDouble(OLDEST, socket=_desktop_socket(home, relative)) as docker_host:
        engine = daemon.preflight(SETTINGS, {"HOME": str(home)})
    assert (engine.host, engine.version, engine.api_version) == (docker_host, "20.10.24", "1.41")
    assert not engine.takes_start_interval


def test_the_default_socket_comes_before_docker_desktops(home, monkeypatch):
    with DockerVersionDouble(CURRENT) as default, \
            DockerVersionDouble(OLDEST, socket=_desktop_socket(home, daemon.DESKTOP_SOCKETS[0])):
        monkeypatch.setattr(daemon, "DEFAULT_DOCKER_HOST", default)
        engine = daemon.preflight(SETTINGS, {"HOME": str(home)})
    assert (engine.host, engine.api_version) == (default, "1.45") and engine.takes_start_interval


def test_with_no_engine_anywhere_the_error_names_every_socket_tried_and_the_fix(home):
    with pytest.raises(daemon.DockerEngineUnavailable) as raised:
        daemon.preflight(SETTINGS, {"HOME": str(home)})
    message = str(raised.value)
    for host in (daemon.DEFAULT_DOCKER_HOST, f"unix://{home}/.docker/run/docker.sock",
                 f"unix://{home}/.docker/desktop/docker.sock"):
        assert host in message
    assert "Fix: start Docker (Docker Desktop, or `sudo systemctl start docker`), or set DOCKER_HOST" in message


def test_a_docker_host_that_does_not_answer_is_not_replaced_by_docker_desktop(home):
    # pulumi-docker tries the other sockets only when no host was named.
    named = f"unix://{home}/named.sock"
    with DockerVersionDouble(CURRENT, socket=_desktop_socket(home, daemon.DESKTOP_SOCKETS[0])):
        with pytest.raises(daemon.DockerEngineUnavailable) as raised:
            daemon.preflight(SETTINGS, {"HOME": str(home), "DOCKER_HOST": named})
    assert f"no Docker engine answered at {named} (" in str(raised.value)
    assert ".docker/run/docker.sock" not in str(raised.value)


def test_an_engine_older_than_docker_20_10_is_refused_with_the_upgrade(home):
    with DockerVersionDouble({**OLDEST, "Version": "19.03.15", "ApiVersion": "1.40"},
                             socket=_desktop_socket(home, daemon.DESKTOP_SOCKETS[1])) as docker_host:
        with pytest.raises(daemon.DockerEngineUnavailable) as raised:
            daemon.preflight(SETTINGS, {"HOME": str(home)})
    assert str(raised.value) == (
        f"Docker: the engine at {docker_host} is Docker Engine 19.03.15 (API 1.40); the oldest this project supports "
        "is Docker Engine 20.10 (API 1.41). Fix: upgrade Docker (https://docs.docker.com/engine/install/)")
