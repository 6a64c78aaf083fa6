"""The dynamic resources of a component provider package, served by the package's own provider process.

Why (pulumi/pulumi#5455, measured in tests/engine/test_component_provider.py): a `pulumi.dynamic.Resource` made
inside a component provider registers as `pulumi-python:dynamic/...`, so the engine sends its Check/Create/... to
the `pulumi-python` resource plugin, a shell script (`pulumi-resource-pulumi-python`) that the engine starts with
the *consumer's* environment: the consumer project's directory as working directory and, for its interpreter,
`PULUMI_RUNTIME_VIRTUALENV` (the consumer's `runtime.options.virtualenv`), else `PULUMI_PYTHON_CMD`, else `python3`.
For a YAML (or Node.js, Go, ...) consumer that is whatever `python3` is on PATH, usually without `pulumi` ("No
module named 'pulumi'"); for a Python consumer it is the consumer's virtualenv, which has the generated SDK but not
the provider's code, so unpickling a provider class pickled by reference fails ("No module named 'components'").
Nothing the component provider does reaches that process's environment.

So the component provider answers those calls itself: the child is registered under the package's own token
(`<package>:index:<Name>`), the engine routes its CRUD to the package's provider plugin (this process, started by
the Python language host in the provider's own virtualenv), and the calls go to the unchanged `ResourceProvider`
class of the dynamic resource. No pickled provider is stored in state either.

The seam: a dynamic resource class derives from `HostableResource`; a package's provider entry calls
`host_resources` before `serve`, and from then on, in that process only, those classes register under the package's
tokens. Everywhere else (this repository's own program, a Python program importing the component) they stay the
`pulumi.dynamic` resources they were, with the same types, URNs and state.
"""

import argparse
import asyncio
import sys
from typing import Any, Optional

import grpc.aio
import pulumi
from google.protobuf import empty_pb2
from pulumi.dynamic import Resource, ResourceProvider
from pulumi.provider import Provider
from pulumi.provider.server import ProviderServicer
from pulumi.runtime import proto, rpc
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import provider_pb2_grpc


class HostableResource(Resource):
    """A `pulumi.dynamic.Resource` that registers as `<package>:index:<ClassName>` instead, served by `serve`, once
    `host_resources` has named its class in this process."""

    def __init__(self, provider: ResourceProvider, name: str, props: dict[str, Any],
                 opts: Optional[pulumi.ResourceOptions] = None) -> None:
        token = _HOSTED_TOKENS.get(type(self))
        if token is None:
            super().__init__(provider, name, props, opts)
        else:
            # No `__provider` property: the process that serves the token has the provider class itself.
            pulumi.CustomResource.__init__(self, token, name, props, opts)


#: The classes this process hosts (`host_resources`), with their tokens.
_HOSTED_TOKENS: dict[type[HostableResource], str] = {}


def host_resources(package: str, providers: dict[type[HostableResource], ResourceProvider]
                   ) -> dict[str, ResourceProvider]:
    """Register the `providers`' resource classes under `package`'s tokens from now on, in this process; returns
    the token -> provider map `serve` answers the CRUD of."""
    tokens = {kind: f"{package}:index:{kind.__name__}" for kind in providers}
    _HOSTED_TOKENS.update(tokens)
    return {tokens[kind]: provider for kind, provider in providers.items()}


def _type_of(urn: str) -> str:
    # urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>
    return urn.split("::")[2].split("$")[-1]


def _plain(struct: Any, keep_unknowns: bool = False) -> tuple[dict[str, Any], set[str]]:
    """The properties without their secret wrappers, and the names of those that were secret.

    This provider accepts secrets (the component part needs them), so they arrive wrapped; a dynamic
    `ResourceProvider` expects plain values, as the `pulumi-python` host (which refuses secrets) gives it."""
    props = rpc.deserialize_properties(struct, keep_unknowns) if struct is not None else {}
    secret = {key for key, value in props.items() if rpc.is_rpc_secret(value)}
    return {key: rpc.unwrap_rpc_secret(value) for key, value in props.items()}, secret


async def _wire(props: dict[str, Any], secret: set[str]) -> Any:
    # What the engine does for a provider that refuses secrets (annotateSecrets): an output whose input of the same
    # name was secret stays secret. Outputs listed in additional_secret_outputs are made secret by the engine.
    return await rpc.serialize_properties(
        {key: rpc.wrap_rpc_secret(value) if key in secret else value for key, value in props.items()}, {})


class _Servicer(ProviderServicer):
    """The SDK's component provider servicer (Construct, GetSchema, Configure, ...) plus the CRUD of hosted types."""

    def __init__(self, provider: Provider, args: list[str], engine_address: str,
                 resources: dict[str, ResourceProvider]) -> None:
        super().__init__(provider, args, engine_address=engine_address)
        self.resources = resources

    async def Construct(self, request, context):
        try:
            return await super().Construct(request, context)
        except pulumi.RunError as error:
            # A component's own error (an invalid input) ends the call with its message alone: raised on, gRPC would
            # prefix it with "Unexpected <class 'pulumi.errors.RunError'>:" and log a traceback.
            await context.abort(grpc.StatusCode.UNKNOWN, str(error))

    def _provider_for(self, urn: str) -> ResourceProvider:
        token = _type_of(urn)
        if token not in self.resources:
            raise Exception(f"this provider hosts no resource of type {token}; it hosts {sorted(self.resources)}")
        return self.resources[token]

    async def Check(self, request, context):
        olds, _ = _plain(request.olds, keep_unknowns=True)
        news, secret = _plain(request.news, keep_unknowns=True)
        result = self._provider_for(request.urn).check(olds, news)
        return proto.CheckResponse(inputs=await _wire(result.inputs, secret), failures=[
            proto.CheckFailure(property=failure.property, reason=failure.reason) for failure in result.failures or []])

    async def Diff(self, request, context):
        olds, _ = _plain(request.olds, keep_unknowns=True)
        news, _ = _plain(request.news, keep_unknowns=True)
        result = self._provider_for(request.urn).diff(request.id, olds, news)
        changes = {None: proto.DiffResponse.DIFF_UNKNOWN, True: proto.DiffResponse.DIFF_SOME,
                   False: proto.DiffResponse.DIFF_NONE}[result.changes]
        return proto.DiffResponse(changes=changes, replaces=result.replaces or [],
                                  deleteBeforeReplace=bool(result.delete_before_replace))

    async def Create(self, request, context):
        props, secret = _plain(request.properties)
        result = self._provider_for(request.urn).create(props)
        return proto.CreateResponse(id=result.id, properties=await _wire(result.outs or {}, secret))

    async def Read(self, request, context):
        # On refresh the engine sends the prior outputs; on a `get`, only inputs.
        props, secret = _plain(request.properties)
        if not props:
            props, secret = _plain(request.inputs)
        result = self._provider_for(request.urn).read(request.id, props)
        response = proto.ReadResponse(id=result.id or "", properties=await _wire(result.outs or {}, secret))
        if result.inputs is not None:
            response.inputs.CopyFrom(await _wire(result.inputs, secret))
        return response

    async def Update(self, request, context):
        olds, _ = _plain(request.olds)
        news, secret = _plain(request.news)
        result = self._provider_for(request.urn).update(request.id, olds, news)
        return proto.UpdateResponse(properties=await _wire(result.outs or {}, secret))

    async def Delete(self, request, context):
        props, _ = _plain(request.properties)
        self._provider_for(request.urn).delete(request.id, props)
        return empty_pb2.Empty()


def serve(provider: Provider, resources: dict[str, ResourceProvider]) -> None:
    """`pulumi.provider.main` with the servicer above: serves `provider` (e.g. the SDK's ComponentProvider) and
    the `resources` (type token -> ResourceProvider) until the engine stops the plugin."""
    parser = argparse.ArgumentParser(description="Pulumi provider plugin (gRPC server)")
    parser.add_argument("engine", help="Pulumi engine address")
    engine_address = parser.parse_known_args()[0].engine

    async def run() -> None:
        server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(
            _Servicer(provider, sys.argv[1:], engine_address, resources), server)
        port = server.add_insecure_port(address="127.0.0.1:0")
        await server.start()
        # The engine reads the port from the first line of stdout.
        sys.stdout.buffer.write(f"{port}\n".encode())
        sys.stdout.buffer.flush()
        await server.wait_for_termination()

    asyncio.run(run())
