"""Shared fixtures: real PostgreSQL, the Hasura and Clerk doubles and a canned-JWKS server, all on 127.0.0.1.

Markers say what a test needs beyond Python and the embedded PostgreSQL (pyproject.toml describes each); they are
set here, never by hand: by the folder a test is in (tests/engine/, tests/docker/, tests/cluster/) and by the
fixtures it uses, directly or through other fixtures. `scripts/test --fast` runs the tests with none of them.
"""

from pathlib import Path

import pytest

from tests.fixtures.action_handler import *  # noqa: F403
from tests.fixtures.clerk import *  # noqa: F403
from tests.fixtures.hasura import *  # noqa: F403
from tests.fixtures.jwks import *  # noqa: F403
from tests.fixtures.metadata import *  # noqa: F403
from tests.fixtures.postgres import *  # noqa: F403
from tests.fixtures.engine import *  # noqa: F403
from tests.fixtures.kube_cluster import *  # noqa: F403
from tests.fixtures.docker_engine import *  # noqa: F403
from tests.fixtures.docker_plugin import *  # noqa: F403
from tests.fixtures.component_provider import *  # noqa: F403

TESTS = Path(__file__).parent

MARKS_BY_FOLDER = {
    "engine": ("engine",),
    "docker": ("docker",),
    "cluster": ("cluster",),
}

MARKS_BY_FIXTURE = {
    "pulumi_bin": ("engine",),                          # scripts/build-pulumi (Go)
    "docker_provider_plugin": ("docker",),              # scripts/build-docker-provider (Go)
    "docker_engine": ("docker", "root"),                # dockerd and the stand-in images (scripts/test-docker)
    "kube_cluster": ("cluster",),                       # scripts/build-kubernetes (Go)
    "kube_node_cluster": ("cluster", "docker", "root"),  # kubelet, containerd, iptables on this host
    "actionlint": ("actionlint",),                      # scripts/build-actionlint (Go)
    "postgres_15": ("root",),                           # apt-get install postgresql-15 when it is missing
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0]
        needs = set(MARKS_BY_FOLDER.get(folder, ()))
        for fixture in getattr(item, "fixturenames", ()):
            needs.update(MARKS_BY_FIXTURE.get(fixture, ()))
        for name in sorted(needs):
            item.add_marker(name)
