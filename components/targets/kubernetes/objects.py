"""What every object of the `kubernetes` target shares: where it goes, how it is labelled, which options it has."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

#: Tells the provider not to wait for an object to become ready (pulumi-kubernetes "skipAwait" annotation).
SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait"
#: The server-side apply field manager the provider applies an object as (by default a random name per resource).
FIELD_MANAGER_ANNOTATION = "pulumi.com/patchFieldManager"
#: On a pod template: a digest of the Secrets (and scripts) its containers read at start, so changing one of them
#: changes the template and rolls the pods (Kubernetes does not restart pods when a Secret changes).
INPUTS_DIGEST_ANNOTATION = "clerk-hasura/inputs-sha256"


@dataclass(frozen=True)
class Placement:
    """The namespace, labels and options every object of one stack is created with."""

    namespace: pulumi.Input[str]
    labels: Mapping[str, str]
    """On every object: which stack it belongs to."""
    field_manager: str
    """One per stack: a deploy after `destroy` applies the objects Pulumi kept (namespace, Postgres StatefulSet) as
    the same manager that made them, so it adopts them instead of conflicting with itself; another stack's objects
    of the same name conflict instead of being overwritten."""
    skip_await: bool
    opts: pulumi.ResourceOptions
    """Parent (the stack component) and the explicit Kubernetes provider."""

    def metadata(self, name: str, labels: Mapping[str, str] | None = None,
                 annotations: Mapping[str, str] | None = None) -> kubernetes.meta.v1.ObjectMetaArgs:
        """Metadata of a namespaced object with a fixed name (so apps and the other objects can find it)."""
        return kubernetes.meta.v1.ObjectMetaArgs(
            name=name, namespace=self.namespace, labels={**self.labels, **(labels or {})},
            annotations=self.annotations(annotations))

    def annotations(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**(extra or {}), FIELD_MANAGER_ANNOTATION: self.field_manager,
                **({SKIP_AWAIT_ANNOTATION: "true"} if self.skip_await else {})}

    def options(self, **extra: object) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(self.opts, pulumi.ResourceOptions(**extra))


def secret_digest(values: pulumi.Input[Mapping[str, str]]) -> pulumi.Output[str]:
    """A sha256 of `values`, itself kept secret: a digest of a short secret could be reversed by guessing."""
    return pulumi.Output.secret(pulumi.Output.from_input(values).apply(
        lambda plain: hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()))
