"""A secret generated once at create and kept, unchanged, in (encrypted) state across updates.

The offline replacement for `pulumi_random.RandomPassword` (which needs a plugin download): a
create-only dynamic resource, as in Pulumi's "stable random ID" example (pulumi.md §2.7). The value
is listed in `additional_secret_outputs`, so the engine encrypts it in state and outputs.

This module is imported by the dynamic-provider host process: it registers no resources itself.
"""

from __future__ import annotations

import secrets
import string
import uuid
from typing import Any

import pulumi
from pydantic import SecretStr
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, \
    UpdateResult

from components.providers.hosted import HostableResource

#: Letters and digits only: the value goes into URLs and env vars unescaped. 40 of 62 symbols ≈ 238 bits.
ALPHABET = string.ascii_letters + string.digits
DEFAULT_LENGTH = 40
MIN_LENGTH = 24
MAX_LENGTH = 256


def generate_secret(length: int) -> str:
    """A uniformly random string of `length` letters and digits from the OS CSPRNG."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


class GeneratedSecretProvider(ResourceProvider):
    """Creates the value; never changes it unless `length` changes (which replaces the resource)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        length = news.get("length")
        if pulumi.output.contains_unknowns(length):
            return CheckResult(news, [])
        # Numbers cross the engine's wire format as doubles: 40 arrives as 40.0.
        whole = isinstance(length, (int, float)) and not isinstance(length, bool) and float(length).is_integer()
        if not whole or not MIN_LENGTH <= length <= MAX_LENGTH:
            return CheckResult(news, [CheckFailure("length", f"must be a whole number between {MIN_LENGTH} and "
                                                             f"{MAX_LENGTH}, got {length!r}")])
        return CheckResult({**news, "length": int(length)}, [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        length = int(props["length"])
        return CreateResult(id_=uuid.uuid4().hex, outs={"length": length, "value": generate_secret(length)})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if news.get("length") != olds.get("length"):
            return DiffResult(changes=True, replaces=["length"], delete_before_replace=False)
        return DiffResult(changes=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Reached only when the engine updates without a diff (e.g. after an interrupted create): keep the value.
        return UpdateResult(outs={"length": news.get("length", olds.get("length")), "value": olds["value"]})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # The value lives only in state; there is nothing outside it that could drift.
        return ReadResult(id_, props)


class GeneratedSecret(HostableResource, module="generated_secret", name="GeneratedSecret"):
    """`value` (secret): `length` random letters and digits, generated at create and stable afterwards."""

    value: pulumi.Output[str]
    length: pulumi.Output[int]

    def __init__(self, resource_name: str, length: int = DEFAULT_LENGTH,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["value"]))
        super().__init__(GeneratedSecretProvider(), resource_name, {"length": length, "value": None}, opts)


def secret_or_generated(name: str, configured: SecretStr | None, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """The configured secret, or one generated at the first deploy and kept in state afterwards."""
    if configured is not None:
        return pulumi.Output.secret(configured.get_secret_value())
    return pulumi.Output.secret(GeneratedSecret(name, opts=opts).value)
