"""The seam of components/providers/hosted.py, under Pulumi's mocks: a hostable dynamic resource registers as the
`pulumi.dynamic` resource it always was (type `pulumi-python:dynamic/...`, its provider pickled into `__provider`),
until the process's package provider names its class with `host_resources`; from then on, in that process, it is a
resource of the package (`clerk-hasura:index:<Class>`) with the same inputs and no pickled provider. The provider
process serving those types for real: tests/engine/test_package.py and tests/engine/test_component_provider.py."""

from __future__ import annotations

from tests.pulumi_harness import run_program

PROGRAM = """\
import pulumi
from components.providers.generated_secret import GeneratedSecret, GeneratedSecretProvider
from components.providers.hosted import host_resources

GeneratedSecret("before", length=32)
tokens = host_resources("clerk-hasura", {GeneratedSecret: GeneratedSecretProvider()})
GeneratedSecret("after", length=32)
pulumi.export("tokens", sorted(tokens))
"""


def test_a_hostable_resource_is_dynamic_until_the_package_provider_hosts_its_class(tmp_path):
    program = tmp_path / "__main__.py"
    program.write_text(PROGRAM)
    run = run_program("dev", {}, program=program).check()
    assert run.outputs["tokens"].value == ["clerk-hasura:index:GeneratedSecret"]
    dynamic = run.one("pulumi-python:dynamic/generated_secret:GeneratedSecret", "before")
    hosted = run.one("clerk-hasura:index:GeneratedSecret", "after")
    assert "__provider" in dynamic.raw_inputs and "__provider" not in hosted.raw_inputs
    assert {key: value for key, value in dynamic.plain_inputs.items() if key != "__provider"} == \
        hosted.plain_inputs == {"length": 32}
    assert dynamic.additional_secret_outputs == hosted.additional_secret_outputs == ["value"]
    assert hosted.custom and hosted.provider == ""
