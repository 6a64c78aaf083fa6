"""Two components with typed arguments whose child is the project's generated secret (GeneratedSecretProvider).

SecretBox makes it a resource of this package that the provider process serves itself
(components.providers.hosted);
DynamicSecretBox makes it the project's `pulumi.dynamic` resource unchanged, which the engine sends to Pulumi's
`pulumi-python` dynamic-provider host started in the consumer's environment (the failure the tests record).

No `from __future__ import annotations`: the SDK's schema analyzer reads the annotations as types, not strings.
"""

from typing import Optional, TypedDict

import pulumi

from components.providers.generated_secret import GeneratedSecret

#: The token of the generated secret when this package's provider serves it (__main__.py maps it to the provider).
GENERATED_SECRET = "secretbox:index:GeneratedSecret"


class SecretBoxArgs(TypedDict):
    length: pulumi.Input[int]
    """How many letters and digits the secret has."""


class SecretBox(pulumi.ComponentResource):
    """A secret generated at the first deploy and kept in state, served by this package's provider."""

    value: pulumi.Output[str]
    """The secret."""

    def __init__(self, name: str, args: SecretBoxArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("secretbox:index:SecretBox", name, {}, opts)
        secret = pulumi.CustomResource(GENERATED_SECRET, f"{name}-secret", {"length": args["length"], "value": None},
                                       pulumi.ResourceOptions(parent=self, additional_secret_outputs=["value"]))
        self.value = pulumi.Output.secret(secret.value)
        self.register_outputs({"value": self.value})


class DynamicSecretBox(pulumi.ComponentResource):
    """The same with the project's `pulumi.dynamic` GeneratedSecret as the child (pulumi/pulumi#5455)."""

    value: pulumi.Output[str]
    """The secret."""

    def __init__(self, name: str, args: SecretBoxArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("secretbox:index:DynamicSecretBox", name, {}, opts)
        secret = GeneratedSecret(f"{name}-secret", length=args["length"], opts=pulumi.ResourceOptions(parent=self))
        self.value = pulumi.Output.secret(secret.value)
        self.register_outputs({"value": self.value})
