"""What every target gives the shared part of the stack, and what it is given.

A target is where Hasura (and, for some, Postgres) runs: `docker` (containers on one host), `existing` (a Hasura
that already runs), `kubernetes`. Each target module has one function, `deploy(TargetArgs) -> HasuraTarget`; the
shared part (JWT secret, metadata, Clerk template, smoke check, outputs: `components.stack`) needs nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.config.settings import StackSettings


@dataclass(frozen=True)
class TargetArgs:
    name: str
    """Prefix of every resource name (the stack component's name)."""
    settings: StackSettings
    project: str
    stack: str
    admin_secret: pulumi.Output[str]
    """Secret: configured, or generated once by the shared part."""
    jwt_secret: pulumi.Input[str]
    """`HASURA_GRAPHQL_JWT_SECRET` (a secret Output when it embeds a key)."""
    parent: pulumi.Resource
    """Every resource a target creates is a child of this (the stack component)."""


@dataclass(frozen=True)
class HasuraTarget:
    deployer_url: pulumi.Input[str]
    """Base URL (no /v1/graphql) at which the machine running `pulumi up` reaches Hasura: metadata, the smoke
    check and the drift command use it."""
    public_url: pulumi.Input[str]
    """Base URL apps outside the platform use (`graphqlUrl`, `appEnv`)."""
    instance: pulumi.Input[str]
    """Changes whenever a new Hasura starts serving (container id, rollout); reruns the smoke check."""
    serving: Sequence[pulumi.Resource] = ()
    """Resources that exist only once Hasura serves; metadata is applied after them."""
    outputs: Mapping[str, pulumi.Input[Any]] = field(default_factory=dict)
    """Stack outputs only this target has (e.g. `dockerNetwork`, `postgresUrl`), by output name."""
