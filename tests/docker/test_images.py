"""The stand-in images (tests/images/) do what the project relies on, on a real Docker engine with plain
`docker run` (no Pulumi): the Postgres image behaves as the official one documents (https://hub.docker.com/_/postgres)
and works behind the project's entrypoint wrapper; the Hasura image reads the variables the project sets and
serves like the server (hasura.md §3)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from components.config.containers import DEFAULT_HASURA_IMAGE, DEFAULT_POSTGRES_IMAGE, HasuraSettings
from components.targets.docker.database import DATA_DIRECTORY, ENTRYPOINT_PATH
from components.targets.shared.hasura_env import CONTAINER_PORT, hasura_environment
from components.targets.shared.postgres_entrypoint import ENTRYPOINT_SCRIPT, PASSWORD_SYNCED_MARKER

READY_TIMEOUT = 90.0  # seconds: an initdb here takes ~3 s, a Hasura start ~1 s; generous for a loaded machine
POSTGRES_USER, POSTGRES_DB = "app", "appdb"


class Docker:
    """`docker` against the session's engine; every container, volume and network it creates is removed after."""

    def __init__(self, docker_host: str) -> None:
        self.env = {"DOCKER_HOST": docker_host, "PATH": "/usr/local/bin:/usr/bin:/bin"}
        self.prefix = f"clerk-hasura-image-test-{secrets.token_hex(3)}"
        self._created: list[tuple[str, str]] = []  # (kind, name), removed in reverse order

    def __call__(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args[:2])} … failed ({result.returncode}): {result.stderr}")
        return result

    def name(self, kind: str, suffix: str) -> str:
        name = f"{self.prefix}-{suffix}"
        self._created.append((kind, name))
        return name

    def cleanup(self) -> None:
        for kind, name in reversed(self._created):
            self(*({"container": ["rm", "-f", "-v"], "volume": ["volume", "rm", "-f"],
                    "network": ["network", "rm"]}[kind]), name, check=False)

    def logs(self, container: str) -> str:
        result = self("logs", container, check=False)
        return result.stdout + result.stderr

    def host_port(self, container: str, port: int) -> int:
        return int(self("port", container, str(port)).stdout.split(":")[-1])


@pytest.fixture
def docker(docker_engine: str) -> Iterator[Docker]:
    client = Docker(docker_engine)
    try:
        yield client
    finally:
        client.cleanup()


def wait_until(check: Callable[[], bool], what: str, docker: Docker, container: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {READY_TIMEOUT} s; logs of {container}:\n{docker.logs(container)}")
        if docker("inspect", "--format", "{{.State.Running}}", container).stdout.strip() != "true":
            raise AssertionError(f"{what}: {container} exited; its logs:\n{docker.logs(container)}")
        time.sleep(0.2)


def pg_ready(docker: Docker, container: str) -> bool:
    # The project's health check command (components/targets/docker/database.py), over TCP inside the container.
    return docker("exec", container, "pg_isready", "-q", "-h", "127.0.0.1", "-U", POSTGRES_USER, "-d",
                  POSTGRES_DB, check=False).returncode == 0


def run_postgres(docker: Docker, container: str, volume: str, password: str, *options: str,
                 command: tuple[str, ...] = ("postgres",)) -> None:
    docker("run", "--detach", "--name", container, "--volume", f"{volume}:{DATA_DIRECTORY}",
           "--publish", "127.0.0.1::5432", "--env", f"POSTGRES_USER={POSTGRES_USER}",
           "--env", f"POSTGRES_PASSWORD={password}", "--env", f"POSTGRES_DB={POSTGRES_DB}",
           "--env", f"PGDATA={DATA_DIRECTORY}", *options, DEFAULT_POSTGRES_IMAGE, *command)


def tcp_url(docker: Docker, container: str, password: str) -> str:
    return f"postgresql://{POSTGRES_USER}:{password}@127.0.0.1:{docker.host_port(container, 5432)}/{POSTGRES_DB}"


def test_postgres_initialises_an_empty_volume_and_keeps_it(docker: Docker, tmp_path: Path) -> None:
    volume, password = docker.name("volume", "pgdata"), secrets.token_urlsafe(16)
    docker("volume", "create", volume)
    initdb = tmp_path / "initdb"
    initdb.mkdir()
    (initdb / "10-table.sql").write_text("CREATE TABLE notes (body text);\n")
    first = docker.name("container", "pg-first")
    run_postgres(docker, first, volume, password, "--volume", f"{initdb}:/docker-entrypoint-initdb.d:ro")
    wait_until(lambda: pg_ready(docker, first), "pg_isready", docker, first)

    # Server and data belong to uid 999 ("Arbitrary --user Notes"); the initdb script ran on POSTGRES_DB.
    assert docker("exec", first, "stat", "-c", "%u %a", DATA_DIRECTORY).stdout.split() == ["999", "700"]
    assert "Uid:\t999\t" in docker("exec", first, "cat", "/proc/1/status").stdout
    # From outside the container a password is required (scram-sha-256); the right one works.
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(tcp_url(docker, first, "wrong-password"), connect_timeout=10).close()
    with psycopg.connect(tcp_url(docker, first, password), connect_timeout=10, autocommit=True) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (True,)
        conn.execute("INSERT INTO notes VALUES ('kept')")
    # Inside the container, the local socket trusts (the official image's "trust authentication locally").
    assert docker("exec", first, "psql", "-U", POSTGRES_USER, "-d", POSTGRES_DB, "-tAc", "SELECT 1").stdout == "1\n"

    docker("rm", "--force", first)
    second = docker.name("container", "pg-second")
    run_postgres(docker, second, volume, "ignored-on-a-used-volume")
    wait_until(lambda: pg_ready(docker, second), "pg_isready after a restart", docker, second)
    assert "Skipping initialization" in docker.logs(second)
    with psycopg.connect(tcp_url(docker, second, password), connect_timeout=10) as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("kept",)]


def test_postgres_as_its_own_user_restores_a_group_writable_data_directory(docker: Docker) -> None:
    """A Kubernetes fsGroup leaves the data directory group-writable (the kubelet adds g+rwx and setgid), which
    PostgreSQL refuses; the official entrypoint's `chmod 700 "$PGDATA" || :` runs for any user, so a restart as
    uid 999 (the kubernetes target's runAsUser) starts again."""
    volume, password = docker.name("volume", "pgdata-fsgroup"), secrets.token_urlsafe(16)
    docker("volume", "create", volume)
    first = docker.name("container", "pg-fsgroup-first")
    run_postgres(docker, first, volume, password)
    wait_until(lambda: pg_ready(docker, first), "pg_isready", docker, first)
    docker("rm", "--force", first)
    docker("run", "--rm", "--user", "0", "--volume", f"{volume}:{DATA_DIRECTORY}", "--entrypoint", "chmod",
           DEFAULT_POSTGRES_IMAGE, "2770", DATA_DIRECTORY)

    second = docker.name("container", "pg-fsgroup-second")
    run_postgres(docker, second, volume, password, "--user", "999:999")
    wait_until(lambda: pg_ready(docker, second), "pg_isready as uid 999", docker, second)
    assert docker("exec", second, "stat", "-c", "%a", DATA_DIRECTORY).stdout.split() == ["700"]


def test_postgres_refuses_an_empty_volume_without_password(docker: Docker) -> None:
    result = docker("run", "--rm", "--name", docker.name("container", "pg-nopass"), DEFAULT_POSTGRES_IMAGE,
                    check=False, timeout=60)
    assert result.returncode == 1
    assert "superuser password is not specified" in result.stderr


def test_postgres_behind_the_projects_entrypoint_takes_a_new_password(docker: Docker, tmp_path: Path) -> None:
    """As the docker target runs it: `/bin/sh ENTRYPOINT_PATH postgres` with Docker's init; a rotated
    POSTGRES_PASSWORD is set on the next start, and the health check's marker appears."""
    volume = docker.name("volume", "pgdata-rotate")
    docker("volume", "create", volume)
    script = tmp_path / "entrypoint.sh"
    script.write_text(ENTRYPOINT_SCRIPT)
    wrapper = ("--init", "--volume", f"{script}:{ENTRYPOINT_PATH}:ro", "--entrypoint", "/bin/sh")
    old, new = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    for name, password in (("pg-old", old), ("pg-new", new)):
        container = docker.name("container", name)
        run_postgres(docker, container, volume, password, *wrapper, command=(ENTRYPOINT_PATH, "postgres"))
        wait_until(lambda: pg_ready(docker, container) and docker(
            "exec", container, "test", "-f", PASSWORD_SYNCED_MARKER, check=False).returncode == 0,
            "password synced", docker, container)
        with psycopg.connect(tcp_url(docker, container, password), connect_timeout=10) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (POSTGRES_USER,)
        docker("stop", container)
    assert "password of role app set from POSTGRES_PASSWORD" in docker.logs(container)
    assert old not in docker.logs(container) and new not in docker.logs(container)


def test_hasura_serves_against_postgres_by_its_network_alias(docker: Docker) -> None:
    network, volume = docker.name("network", "net"), docker.name("volume", "pgdata-hasura")
    docker("network", "create", network)
    docker("volume", "create", volume)
    password, admin_secret = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
    postgres = docker.name("container", "postgres")
    run_postgres(docker, postgres, volume, password, "--network", network, "--network-alias", "database")
    wait_until(lambda: pg_ready(docker, postgres), "pg_isready", docker, postgres)

    # The environment the docker target gives the container (hasura_env.py), dev stack defaults.
    database_url = f"postgres://{POSTGRES_USER}:{password}@database:5432/{POSTGRES_DB}"
    jwt_secret = json.dumps({"type": "HS256", "key": secrets.token_urlsafe(32)})
    environment = hasura_environment(HasuraSettings(cors_domains=["http://localhost:3000"]), "dev",
                                     database_url=database_url, admin_secret=admin_secret, jwt_secret=jwt_secret)
    hasura = docker.name("container", "hasura")
    docker("run", "--detach", "--name", hasura, "--network", network, "--publish", f"127.0.0.1::{CONTAINER_PORT}",
           *(arg for entry in environment for arg in ("--env", entry)), DEFAULT_HASURA_IMAGE)
    # The project's health check command, inside the container.
    wait_until(lambda: docker("exec", hasura, "curl", "-fsS", "-o", "/dev/null",
                              f"http://127.0.0.1:{CONTAINER_PORT}/healthz", check=False).returncode == 0,
               "/healthz", docker, hasura)

    url = f"http://127.0.0.1:{docker.host_port(hasura, CONTAINER_PORT)}"
    export = {"type": "export_metadata", "version": 2, "args": {}}
    answer = httpx.post(f"{url}/v1/metadata", json=export, headers={"X-Hasura-Admin-Secret": admin_secret})
    assert answer.status_code == 200, answer.text
    assert "resource_version" in answer.json()
    refused = httpx.post(f"{url}/v1/metadata", json=export, headers={"X-Hasura-Admin-Secret": "wrong"})
    assert refused.status_code in (400, 401) and refused.json()["code"] == "access-denied"

    logs = docker.logs(hasura)
    assert '"server_host": "0.0.0.0"' in logs and '"cors_domain": ["http://localhost:3000"]' in logs
    assert password not in logs and admin_secret not in logs and jwt_secret not in logs
    # Docker's SIGTERM stops it cleanly (exit 0; a server ignoring it would be killed after 30 s: 137).
    docker("stop", "--time", "30", hasura)
    assert docker("inspect", "--format", "{{.State.ExitCode}}", hasura).stdout.strip() == "0"


def test_hasura_exits_non_zero_without_its_database(docker: Docker) -> None:
    network = docker.name("network", "lonely")
    docker("network", "create", network)
    password = secrets.token_urlsafe(16)
    result = docker("run", "--rm", "--name", docker.name("container", "hasura-nodb"), "--network", network,
                    "--env", f"HASURA_GRAPHQL_METADATA_DATABASE_URL=postgres://app:{password}@database:5432/appdb",
                    "--env", "HASURA_GRAPHQL_ADMIN_SECRET=test-admin-secret", DEFAULT_HASURA_IMAGE,
                    check=False, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "database:5432/appdb" in result.stderr and password not in result.stdout + result.stderr


def test_hasura_rejects_a_bad_switch_like_the_server(docker: Docker) -> None:
    result = docker("run", "--rm", "--name", docker.name("container", "hasura-bad"),
                    "--env", "HASURA_GRAPHQL_METADATA_DATABASE_URL=postgres://app:pw@database:5432/appdb",
                    "--env", "HASURA_GRAPHQL_ENABLE_CONSOLE=maybe", DEFAULT_HASURA_IMAGE, check=False, timeout=60)
    assert result.returncode == 1
    assert "HASURA_GRAPHQL_ENABLE_CONSOLE" in result.stderr and "Not a valid boolean text" in result.stderr


def test_stop_leaves_an_engine_another_process_still_uses(docker: Docker) -> None:
    """`scripts/test-docker stop` from one user never stops the engine while another (here: a shell still running,
    and this test session) has asked for it."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "test-docker"
    env = {**os.environ, **docker.env, "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
    other = subprocess.Popen(["bash", "-c", f"{script} start >/dev/null && exec sleep 60"], env=env,
                             stderr=subprocess.PIPE, text=True)
    try:
        # The shell has become `sleep` once its `start` is done.
        while other.poll() is None and not Path(f"/proc/{other.pid}/cmdline").read_text().startswith("sleep\0"):
            time.sleep(0.05)
        assert other.poll() is None, other.stderr.read()
        # Through bash, so that the stopping user is a process of its own, not this session.
        stop = subprocess.run(["bash", "-c", f"{script} stop"], env=env, capture_output=True, text=True, timeout=60)
        assert stop.returncode == 0, stop.stderr
        assert "still used by process(es)" in stop.stderr and str(other.pid) in stop.stderr
        assert docker("version", "--format", "{{.Server.APIVersion}}").stdout.strip()
    finally:
        other.kill()
        other.wait()
