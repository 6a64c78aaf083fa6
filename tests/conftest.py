"""Shared fixtures: real PostgreSQL and the Hasura and Clerk doubles, each served on 127.0.0.1."""

from tests.fixtures.clerk import *  # noqa: F403
from tests.fixtures.hasura import *  # noqa: F403
from tests.fixtures.postgres import *  # noqa: F403
