"""The health check both containers use, in the form the docker provider reads back.

The provider reads durations back as Go prints them (`time.Duration.String()`: `2m0s`, `500ms`, `10s`), so any
other spelling (`120s`) is a diff on every refresh and the deploy never converges (pulumi.md §1.5a).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi_docker as docker

from components.targets.docker.daemon import DockerEngine

#: Time a container has to become healthy before failed probes count.
START_PERIOD = "2m0s"


def health_check(tests: Sequence[str], engine: DockerEngine) -> docker.ContainerHealthcheckArgs:
    """Probed every 500 ms while starting where the engine takes `start_interval` (Docker 25+), so `pulumi up` goes
    on within half a second of the container serving, then every 10 s, unhealthy after 3 misses. Older engines
    probe at `interval` during the start period too: every 2 s there, unhealthy after 15 misses (the same 30 s)."""
    if engine.takes_start_interval:
        return docker.ContainerHealthcheckArgs(tests=list(tests), interval="10s", timeout="5s", retries=3,
                                               start_period=START_PERIOD, start_interval="500ms")
    return docker.ContainerHealthcheckArgs(tests=list(tests), interval="2s", timeout="5s", retries=15,
                                           start_period=START_PERIOD)
