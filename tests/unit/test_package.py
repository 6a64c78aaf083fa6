"""The clerk-hasura package's provider (components/package.py): the schema it serves follows Pulumi's conventions,
and the inputs of a Construct call, as the SDK's provider server hands them over (secrets, unknowns, nested
objects), become the plain arguments the component checks, or a problem naming the input. The provider on the real
engine, with programs in YAML, TypeScript and Python: tests/engine/test_package.py."""

from __future__ import annotations

import asyncio
import json
from dataclasses import fields

from google.protobuf import struct_pb2
from pulumi.provider.server import ProviderServicer
from pulumi.runtime import rpc

from components.component import ClerkArgs, ClerkHasuraArgs, HasuraArgs
from components.package import (SECRET_INPUTS, ClerkHasuraProvider, arguments_of, input_problems, plain_inputs)
from components.targets import SECRET_ENV_VARS
from components.targets.kubernetes.args import HasuraResourcesArgs, KubernetesArgs, ResourceQuantitiesArgs

TOKEN = "clerk-hasura:index:ClerkHasura"
SECRET = {rpc._special_sig_key: rpc._special_secret_sig}
UNKNOWN = rpc.UNKNOWN


def schema() -> dict:
    return json.loads(ClerkHasuraProvider().schema)


def all_properties(node: dict) -> list[dict]:
    """Every property definition in `node`, nested ones (items, additionalProperties) included."""
    found = []
    for prop in node.get("properties", {}).values():
        found += [prop, *(prop[inner] for inner in ("items", "additionalProperties") if inner in prop)]
    return found


def test_the_schema_serves_clerk_hasura_under_the_package_token_with_camel_case_inputs():
    served = schema()
    assert served["name"] == "clerk-hasura"
    component = served["resources"][TOKEN]
    assert component["isComponent"] is True
    assert sorted(component["inputProperties"]) == sorted(
        "".join([field.name.split("_")[0], *(part.title() for part in field.name.split("_")[1:])])
        for field in fields(ClerkHasuraArgs))
    assert {"graphqlUrl", "hasuraUrl", "healthzUrl", "jwtSecret", "jwksUrl", "issuer", "jwtTemplate", "jwtTemplateId",
            "adminSecret", "appEnv", "metadataHash", "smokeReport", "target", "metadataDir",
            "targetOutputs"} == set(component["properties"])
    assert served["types"][served["types"]["clerk-hasura:index:Kubernetes"]["properties"]["resources"]["$ref"]
                           .removeprefix("#/types/")]["properties"]["limits"] == {
        "$ref": "#/types/clerk-hasura:index:ResourceQuantities"}


def test_every_input_takes_outputs_and_secrets_of_other_resources_no_property_is_plain():
    served = schema()
    everything = [*all_properties({"properties": served["resources"][TOKEN]["inputProperties"]}),
                  *(prop for kind in served["types"].values() for prop in all_properties(kind))]
    assert everything and [prop for prop in everything if "plain" in prop] == []


def test_the_secret_inputs_and_outputs_are_marked_secret_and_no_other():
    component = schema()["resources"][TOKEN]
    assert {name for name, prop in component["inputProperties"].items() if prop.get("secret")} == set(
        SECRET_ENV_VARS) == {"clerkSigningKey", "clerkSecretKey", "hasuraAdminSecret", "postgresPassword",
                             "databaseUrl", "hasuraCloudToken", "nhostToken"}
    assert {name for name, prop in component["properties"].items() if prop.get("secret")} == {
        "adminSecret", "jwtSecret"}


def test_object_types_are_named_without_args_and_every_reference_resolves():
    served = schema()
    text = json.dumps(served)
    assert not [token for token in served["types"] if token.endswith("Args")]
    references = {part.split('"')[0] for part in text.split('"$ref": "#/types/')[1:]}
    assert references and references <= set(served["types"])


def test_every_object_type_is_described_in_words_not_by_its_python_signature():
    described = {token: kind.get("description", "") for token, kind in schema()["types"].items()}
    # A dataclass without a docstring is described by its signature: `IngressArgs(class_name: str | None = None, ...`.
    assert [token for token, text in described.items() if not text or "Args(" in text] == []


def construct_inputs(wire: dict) -> dict:
    """What the SDK's provider server makes of a Construct call's inputs (secrets and resource dependencies as
    resolved Outputs, nested secrets and unknowns in wire form), read by `plain_inputs` there."""
    struct = struct_pb2.Struct()
    struct.update(wire)

    async def construct() -> tuple:
        return plain_inputs(await ProviderServicer._construct_inputs(struct, {}))

    return asyncio.run(construct())


def test_secret_inputs_arrive_as_plain_values_and_their_paths_are_told():
    values, secret, unknown = construct_inputs({
        "target": "existing",
        "hasuraAdminSecret": {**SECRET, "value": "the-admin-secret"},
        "clerk": {"publishableKey": "pk_test_x", "jwksUrl": {**SECRET, "value": "https://jwks.example"}},
        "hasura": {"corsDomains": ["https://a.example", {**SECRET, "value": "https://b.example"}]},
    })
    assert values == {"target": "existing", "hasuraAdminSecret": "the-admin-secret",
                      "clerk": {"publishableKey": "pk_test_x", "jwksUrl": "https://jwks.example"},
                      "hasura": {"corsDomains": ["https://a.example", "https://b.example"]}}
    # The SDK's deserializer makes an object holding a secret a secret as a whole.
    assert secret == {"hasuraAdminSecret", "clerk", "hasura"} and unknown == []


def test_a_secret_the_component_does_not_keep_secret_and_an_unknown_input_are_refused_naming_the_input():
    _, secret, unknown = construct_inputs({
        "hasuraAdminSecret": {**SECRET, "value": "the-admin-secret"},
        "clerk": {"jwksUrl": {**SECRET, "value": "https://jwks.example"}},
        "hasura": {"publicUrl": UNKNOWN},
        "metadataDir": UNKNOWN,
        "target": {**SECRET, "value": "existing"},
    })
    assert sorted(unknown) == ["hasura.publicUrl", "metadataDir"]
    problems = input_problems(secret, unknown)
    assert [problem.split(":")[0] for problem in problems] == ["clerk", "target", "hasura.publicUrl", "metadataDir"]
    assert "hasuraAdminSecret" in SECRET_INPUTS and not any(p.startswith("hasuraAdminSecret") for p in problems)
    assert all(problem.endswith("so its resources would store this one in plaintext. Fix: pass it as a plain value")
               for problem in problems[:2])
    assert all(problem.endswith("Fix: pass a value known before the deployment (a literal or a config value), or "
                                "deploy the resource it comes from first") for problem in problems[2:])


def test_mapped_inputs_become_the_component_arguments_with_their_nested_arguments():
    arguments = arguments_of(ClerkHasuraArgs, {
        "target": "kubernetes", "hasura_admin_secret": "s",
        "clerk": {"publishable_key": "pk_test_x", "audience": ["a", "b"]},
        "hasura": {"public_url": "https://graphql.example"},
        "kubernetes": {"replicas": 2, "resources": {"limits": {"cpu": "1"}}},
    })
    assert arguments == ClerkHasuraArgs(
        target="kubernetes", hasura_admin_secret="s", clerk=ClerkArgs(publishable_key="pk_test_x", audience=["a", "b"]),
        hasura=HasuraArgs(public_url="https://graphql.example"),
        kubernetes=KubernetesArgs(replicas=2, resources=HasuraResourcesArgs(limits=ResourceQuantitiesArgs(cpu="1"))))
