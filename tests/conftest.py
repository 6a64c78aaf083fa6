"""Shared fixtures: real PostgreSQL, the Hasura and Clerk doubles and a canned-JWKS server, all on 127.0.0.1."""

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
