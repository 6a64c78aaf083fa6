"""The clerk-hasura package's provider: `ClerkHasura` for programs in every Pulumi language.

`provider/` (PulumiPlugin.yaml, runtime python) runs `serve_package`; `pulumi package add <checkout>/provider` makes
the component usable from a YAML program, or from a TypeScript, Python, Go, C# or Java one through the SDK it
generates. The SDK's ComponentProvider infers the schema from `ClerkHasuraArgs` and the component's output
annotations; `ClerkHasuraProvider` adds what the inference leaves out and turns a Construct call's inputs back into
the plain arguments the component checks before it registers anything. The component's dynamic resources (metadata,
Clerk template, smoke check, generated secret) are served by this process under the package's own tokens
(`clerk-hasura:index:HasuraMetadata`, ...: components.providers.hosted), not by Pulumi's `pulumi-python` dynamic
provider, which would run in the consumer's environment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from importlib.metadata import version
from typing import Any, Optional, get_args, get_type_hints

import pulumi
from pulumi.output import contains_unknowns
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.provider import ConstructResult
from pulumi.runtime import rpc

from components.component import TYPE, ClerkHasura, ClerkHasuraArgs
from components.providers.clerk_jwt_template import ClerkJwtTemplate, ClerkJwtTemplateProvider
from components.providers.generated_secret import GeneratedSecret, GeneratedSecretProvider
from components.providers.hasura_metadata import HasuraMetadata, HasuraMetadataProvider
from components.providers.hosted import host_resources, serve
from components.providers.smoke_check import SmokeCheck, SmokeCheckProvider
from components.targets import SECRET_ENV_VARS

PACKAGE = "clerk-hasura"
#: The secret inputs: the stack settings' secret keys, which are the inputs' names too.
SECRET_INPUTS = tuple(SECRET_ENV_VARS)
SECRET_OUTPUTS = ("adminSecret", "jwtSecret")


def conventional_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The inferred schema with what Pulumi's conventions ask and the inference leaves out.

    - Every property is an input (`pulumi.Input`), not plain: a program passes secrets and other resources' outputs
      (a TypeScript `config.requireSecret(...)` is an `Output`); the component refuses those unknown at preview
      itself, naming them (`input_problems`). The Python class takes plain values: a Python program passes them.
    - The secrets are marked secret, so the SDKs wrap them as secrets and the engine keeps them encrypted.
    - An object type is named without the `Args` of its Python class (`clerk-hasura:index:Clerk`): the SDKs add it
      to their input types themselves (`ClerkArgs` in Python, `inputs.ClerkArgs` in TypeScript)."""
    text = json.dumps(schema)
    for token in schema.get("types", {}):
        if token.endswith("Args"):
            text = text.replace(f'{token}"', f'{token.removesuffix("Args")}"')
    schema = json.loads(text)
    component = schema["resources"][TYPE]
    for prop in [*component["inputProperties"].values(),
                 *(prop for kind in schema.get("types", {}).values() for prop in kind.get("properties", {}).values())]:
        _not_plain(prop)
    for name in SECRET_INPUTS:
        component["inputProperties"][name]["secret"] = True
    for name in SECRET_OUTPUTS:
        component["properties"][name]["secret"] = True
    return schema


def _not_plain(prop: dict[str, Any]) -> None:
    prop.pop("plain", None)
    for inner in ("items", "additionalProperties"):
        if inner in prop:
            _not_plain(prop[inner])


def _settled(awaitable: Any) -> Any:
    """The result of a coroutine that does not suspend (it awaits an already resolved future)."""
    try:
        awaitable.send(None)
    except StopIteration as done:
        return done.value
    awaitable.close()
    raise RuntimeError("an input of the Construct call was not resolved")


def plain_inputs(inputs: Mapping[str, Any]) -> tuple[dict[str, Any], set[str], list[str]]:
    """The inputs as plain values, the paths of those that were secret, and of those unknown (at preview, an output
    of a resource the same deployment creates).

    The provider server makes an input that is secret or depends on a resource an `Output` (already resolved), and
    keeps a secret nested in an object as the wire's secret wrapper."""
    secret: set[str] = set()
    unknown: list[str] = []

    def plain(value: Any, path: str) -> Any:
        if isinstance(value, pulumi.Output):
            if _settled(value.is_secret()):
                secret.add(path)
            if not _settled(value.is_known()):
                unknown.append(path)
                return None
            value = _settled(value.future(with_unknowns=True))
        if rpc.is_rpc_secret(value):
            secret.add(path)
            value = rpc.unwrap_rpc_secret(value)
        if isinstance(value, Mapping):
            return {key: plain(item, f"{path}.{key}") for key, item in value.items()}
        if isinstance(value, list):
            return [plain(item, f"{path}[{index}]") for index, item in enumerate(value)]
        if contains_unknowns(value):
            unknown.append(path)
            return None
        return value

    return {key: plain(value, key) for key, value in inputs.items()}, secret, unknown


def input_problems(secret: set[str], unknown: list[str]) -> list[str]:
    """What the component cannot take among the inputs: secrets other than its secret inputs (it keeps only those
    secret, so the state of its resources would hold them in plaintext) and values unknown at preview."""
    return [f"{path}: came as a secret (or holds one), but ClerkHasura keeps only its secret inputs "
            f"({', '.join(SECRET_INPUTS)}) secret, so its resources would store this one in plaintext. Fix: pass it "
            "as a plain value"
            for path in sorted(secret - set(SECRET_INPUTS))] + [
        f"{path}: is not known yet (at preview it is an output of a resource this deployment creates or changes); "
        "ClerkHasura checks every input before it creates anything, so it needs the value then. Fix: pass a value "
        "known before the deployment (a literal or a config value), or deploy the resource it comes from first"
        for path in sorted(unknown)]


def arguments_of(kind: type, values: Mapping[str, Any]) -> Any:
    """`kind` (`ClerkHasuraArgs` or one of its sub-arguments) from mapped inputs (snake_case names, nested objects
    as dicts)."""
    hints = get_type_hints(kind)
    arguments = {}
    for field in fields(kind):
        if field.name not in values:
            continue
        value = values[field.name]
        nested = next((t for t in get_args(hints[field.name]) if is_dataclass(t)), None)
        arguments[field.name] = arguments_of(nested, value) if nested and isinstance(value, Mapping) else value
    return kind(**arguments)


class ClerkHasuraProvider(ComponentProvider):
    """The SDK's component provider for `ClerkHasura`, with the schema of `conventional_schema` and plain arguments."""

    def __init__(self) -> None:
        super().__init__([ClerkHasura], PACKAGE, None, version(PACKAGE))
        self.schema = json.dumps(conventional_schema(json.loads(self.schema)))

    def construct(self, name: str, resource_type: str, inputs: Mapping[str, Any],
                  options: Optional[pulumi.ResourceOptions] = None) -> ConstructResult:
        self.validate_resource_type(PACKAGE, resource_type)
        values, secret, unknown = plain_inputs(inputs)
        if problems := input_problems(secret, unknown):
            raise pulumi.RunError(f"Invalid ClerkHasura inputs ({len(problems)} problem"
                                  f"{'' if len(problems) == 1 else 's'}):\n"
                                  + "\n".join(f"  - {problem}" for problem in problems))
        component_def = self._component_defs[ClerkHasura.__name__]
        arguments = arguments_of(ClerkHasuraArgs, self.map_inputs(values, component_def))
        # A RunError (an invalid input, worded as the inputs name it) reaches the program as it is: the SDK's own
        # construct would add a traceback of the provider to it.
        component = ClerkHasura(name, arguments, options, settings_from="package inputs")
        return ConstructResult(component.urn, self.get_state(component, component_def))


def serve_package() -> None:
    """The provider plugin's entry (provider/__main__.py): serves the component and its hosted resources."""
    serve(ClerkHasuraProvider(), host_resources(PACKAGE, {
        HasuraMetadata: HasuraMetadataProvider(), ClerkJwtTemplate: ClerkJwtTemplateProvider(),
        SmokeCheck: SmokeCheckProvider(), GeneratedSecret: GeneratedSecretProvider(),
    }))
