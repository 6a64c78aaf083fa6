"""What a target provides (`Target`), what its deploy is given (`TargetArgs`) and what it gives back
(`HasuraTarget`).

A target is where Hasura (and, for some, Postgres) runs; the registry (`components.targets`) names them. Each is one
folder whose package declares its own settings keys (`OWN_KEYS`) and the shared keys it reads (`SHARED_KEYS`), and
has three functions: its settings problems, its preflight (what it checks and finds before anything is created) and
its deploy. The shared part (JWT secret, metadata, Clerk template, smoke check, outputs: `components.component`, checked
first by `components.plan`) needs nothing else of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi

from components.config.settings import SharedSettings


@dataclass(frozen=True)
class TargetArgs:
    name: str
    """Prefix of every resource name (the stack component's name)."""
    settings: SharedSettings
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
    """A target's package (`components/targets/<name>/__init__.py`). The registry imports every one of them to
    assemble the settings, so it loads its platform's SDK (pulumi_docker, pulumi_kubernetes) in `deploy` only.

    A target whose platform creates tables itself (Nhost: `auth.*`, `storage.*`) also has `PLATFORM_SCHEMAS`, a
    `frozenset[str]` of those schemas: the metadata may track their tables though no migration creates them
    (`components.targets.platform_schemas` reads it; a target without one has none)."""

    OWN_KEYS: Mapping[str, type]
    """The top-level keys only this target reads, by field name: its settings object's model (set on another
    target, its keys are refused), or `SecretStr` for a token. Empty when it has none."""
    SHARED_KEYS: frozenset[str]
    """Which of the shared keys that depend on where Hasura runs (`components.config.settings.TARGET_DEPENDENT_KEYS`)
    this target reads, as users type them: an object (`hasura`: all its keys) or one key (`hasura.publicUrl`). The
    registry refuses every other one that is set."""
    UNREAD_KEYS: Mapping[str, str]
    """Why a shared key this target does not read would do nothing, and the fix, by key or by object (the problem
    reads `<key>: <reason>`); a key without one gets a plain "does not read it"."""

    def problems(self, settings: SharedSettings, stack: str) -> list[str]:
        """Every problem of the settings on this target, each naming its key and the fix; [] when deployable.
        Pure: no I/O (the preview reports these all at once, before `preflight`)."""
        ...

    def preflight(self, settings: SharedSettings, environ: Mapping[str, str]) -> Any:
        """Reach what the target deploys to (a Docker engine, a cluster's kubeconfig, a platform API) before anything
        is created; raise a `ClerkHasuraError` naming the setting to fix. Returns what `deploy` needs of it (handed
        over as `TargetArgs.preflight`), or None. When it has an `admin_secret` that is not None (a hosted platform
        holds one), the stack uses that admin secret instead of a configured or generated one."""
        ...

    def deploy(self, args: TargetArgs) -> HasuraTarget:
        """Register the target's resources, children of `args.parent`."""
        ...

    def health_hint(self, settings: SharedSettings, project: str, stack: str) -> str:
        """What a person looks at when this target's Hasura does not answer (its logs, its pods, the platform's
        dashboard), named for this stack; the Hasura client puts it in its "not reachable" fix. Pure."""
        ...
