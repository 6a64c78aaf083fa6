"""What a target provides (`Target`), what its deploy is given (`TargetArgs`) and what it gives back
(`HasuraTarget`).

A target is where Hasura (and, for some, Postgres) runs; the registry (`components.targets`) names them. Each is one
module (or package) with three functions: its settings problems, its preflight (what it checks and finds before
anything is created) and its deploy. The shared part (JWT secret, metadata, Clerk template, smoke check, outputs:
`components.stack`, checked first by `components.plan`) needs nothing else of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    preflight: Any = None
    """What the target's `preflight` found before anything was created (e.g. the docker target's engine), or None."""


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


class Target(Protocol):
    """A target module. The registry imports only the module of the stack's target, so a target may load a heavy
    SDK (pulumi_kubernetes, pulumi_docker) at import.

    A target whose platform creates tables itself (Nhost: `auth.*`, `storage.*`) also has `PLATFORM_SCHEMAS`, a
    `frozenset[str]` of those schemas: the metadata may track their tables though no migration creates them
    (`components.targets.platform_schemas` reads it; a target without one has none)."""

    def problems(self, settings: StackSettings, stack: str) -> list[str]:
        """Every problem of the settings on this target, each naming its key and the fix; [] when deployable.
        Pure: no I/O (the preview reports these all at once, before `preflight`)."""
        ...

    def preflight(self, settings: StackSettings, environ: Mapping[str, str]) -> Any:
        """Reach what the target deploys to (a Docker engine, a cluster's kubeconfig, a platform API) before anything
        is created; raise a `ClerkHasuraError` naming the setting to fix. Returns what `deploy` needs of it (handed
        over as `TargetArgs.preflight`), or None. When it has an `admin_secret` that is not None (a hosted platform
        holds one), the stack uses that admin secret instead of a configured or generated one."""
        ...

    def deploy(self, args: TargetArgs) -> HasuraTarget:
        """Register the target's resources, children of `args.parent`."""
        ...
