"""Run the real `__main__.py` under Pulumi's mocks and record what it asks the engine for.

Each run happens in a fresh interpreter (a subprocess running this module), set up the way the
Python language host sets up a real program: config in `PULUMI_CONFIG` / `PULUMI_CONFIG_SECRET_KEYS`,
the project directory as working directory and on `sys.path`, the program run with `runpy` inside
`pulumi.runtime.run_in_stack`. Only the engine is replaced: a `MockMonitor` subclass records every
`RegisterResource` request (inputs in wire form, so secrets stay visibly wrapped, and the options
the engine would act on) and the stack's `RegisterResourceOutputs`. Runs are independent, so any
number of stacks can be run in one pytest session.

    with serve_jwks({"keys": [...]}) as jwks_url:       # the JWT secret's preflight fetches the JWKS
        run = run_program("dev", example_dev_config(jwks_url))
        run = run_program("prod", with_overrides(example_dev_config(jwks_url), {"hasura.port": 9090,
                          "hasuraAdminSecret": "..."}), secret_keys=["hasuraAdminSecret"])
    run.error                                   # the RunError message, or None (`run.check()` asserts None)
    container = run.one("docker:index/container:Container", name="backend-hasura-container")
    container.plain_inputs["ports"]             # inputs by wire (camelCase) name, secrets unwrapped
    container.inputs["envs"]                    # ... or with secrets as `Secret(value)`
    container.protect, container.retain_on_delete, container.dependencies, container.replace_on_changes,
    container.additional_secret_outputs, container.parent, container.replace_with, container.deleted_with
    run.outputs["hasuraAdminSecret"]            # StackOutput(value=..., secret=True)
    plaintext_leaks(run, ["the-admin-secret"])  # [] when every occurrence is inside a secret

`mock_outputs={"<type token>": {...}}` adds computed outputs the mocks should return for a resource type
(RemoteImage ids, Volume mountpoints, GeneratedSecret values and Kubernetes objects' uid and generation are
provided already).

`DynamicProviderHost` runs `python -m pulumi.dynamic` (the process the engine starts for dynamic
providers) and drives a provider serialized with the SDK's own `serialize_provider` over gRPC.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.doubles.docker_version import DockerVersionDouble
from tests.fixtures.jwks import serve_jwks  # noqa: F401 - part of the harness's API

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "clerk-hasura"

#: Markers of Pulumi's wire format (pulumi/runtime/rpc.py).
SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

STACK_TYPE = "pulumi:pulumi:Stack"
RUN_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret."""

    value: Any


@dataclass(frozen=True)
class Registration:
    """One `RegisterResource` request."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    raw_inputs: dict[str, Any]
    """Inputs in wire form (secrets wrapped in the secret signature, unknowns as the unknown sentinel)."""
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    additional_secret_outputs: list[str]
    replace_on_changes: list[str]
    ignore_changes: list[str]
    deleted_with: str
    replace_with: list[str]
    custom_timeouts: dict[str, str]
    replacement_trigger: Any
    """Wire form of `replacement_trigger`, or None."""
    provider: str

    @property
    def inputs(self) -> dict[str, Any]:
        """Inputs decoded: secrets as `Secret(value)`, unknowns as the `UNKNOWN` string."""
        return decode(self.raw_inputs)

    @property
    def plain_inputs(self) -> dict[str, Any]:
        """Inputs with secret wrappers removed (for asserting on values; check secrecy with `inputs`)."""
        return unwrap(decode(self.raw_inputs))


@dataclass(frozen=True)
class StackOutput:
    value: Any
    secret: bool


@dataclass
class ProgramRun:
    stack: str
    config: dict[str, Any]
    error: str | None
    """The message of the `pulumi.RunError` (or other exception) the program ended with."""
    registrations: list[Registration]
    """Every resource except the root stack, in registration order."""
    raw_outputs: dict[str, Any]
    logs: list[dict[str, str]] = field(default_factory=list)

    @property
    def outputs(self) -> dict[str, StackOutput]:
        return {name: StackOutput(unwrap(decode(value)), _is_secret(value)) for name, value in self.raw_outputs.items()}

    def by_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        matches = [r for r in self.by_type(type_) if name is None or r.name == name]
        assert len(matches) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in matches]}"
        return matches[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def check(self) -> ProgramRun:
        """This run, after asserting the program succeeded (the failure message otherwise)."""
        assert self.error is None, f"the program failed on stack {self.stack}:\n{self.error}"
        return self


def run_program(
    stack: str,
    config: Mapping[str, Any],
    *,
    secret_keys: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    preview: bool = False,
    mock_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    program: Path = PROJECT_DIR / "__main__.py",
) -> ProgramRun:
    """Run `program` for `stack` with `config` (keys without the project prefix; objects as dicts).

    `secret_keys` are config keys marked secret (as `pulumi config set --secret` does); `env` is added to
    the environment (e.g. the CLERK_HASURA_* overrides); `preview` makes mock-less values unknown;
    `mock_outputs` adds computed outputs per resource type token to what the mocks return.
    """
    request = {
        "project": PROJECT,
        "stack": stack,
        "preview": preview,
        "program": str(program),
        "mock_outputs": dict(mock_outputs or {}),
    }
    child_env = {k: v for k, v in os.environ.items()
                 if not k.startswith(("PULUMI_", "CLERK_HASURA_")) and k != "DOCKER_HOST"}
    child_env |= {
        "PULUMI_CONFIG": json.dumps({f"{PROJECT}:{key}": _config_string(value) for key, value in config.items()}),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps([f"{PROJECT}:{key}" for key in secret_keys]),
        "PYTHONPATH": str(PROJECT_DIR),
        **(env or {}),
    }
    with DockerVersionDouble() as docker_host:
        # No Docker engine under mocks: the docker target's preflight asks this one (unless the test names its own).
        child_env.setdefault("DOCKER_HOST", docker_host)
        completed = subprocess.run(
            [sys.executable, "-m", "tests.pulumi_harness", json.dumps(request)],
            cwd=program.parent, env=child_env, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
        )
    if completed.returncode != 0:
        raise AssertionError(f"the harness itself failed (exit {completed.returncode}):\n{completed.stderr}")
    result = json.loads(completed.stdout.splitlines()[-1])
    registrations = [Registration(**r) for r in result["registrations"] if r["type"] != STACK_TYPE]
    return ProgramRun(stack, dict(config), result["error"], registrations, result["outputs"], result["logs"])


def _config_string(value: Any) -> str:
    # The CLI hands structured config to the program as JSON strings, scalars as plain strings.
    if isinstance(value, str):
        return value
    return json.dumps(value)


def load_stack_config(path: Path) -> dict[str, Any]:
    """The `config:` of a `Pulumi.<stack>.yaml`, project prefix removed (secure values are refused)."""
    document = yaml.safe_load(path.read_text()) or {}
    config = {}
    for key, value in (document.get("config") or {}).items():
        assert not (isinstance(value, dict) and "secure" in value), f"{path}: {key} is encrypted; tests need plain values"
        config[key.removeprefix(f"{PROJECT}:")] = value
    return config


def example_dev_config(jwks_url: str) -> dict[str, Any]:
    """The example `Pulumi.dev.yaml` with the JWKS preflight pointed at `jwks_url` (e.g. from `serve_jwks`)."""
    return with_overrides(load_stack_config(PROJECT_DIR / "Pulumi.dev.yaml"), {"clerk.jwksUrl": jwks_url})


def with_overrides(config: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `config` with dotted-path overrides, e.g. {"clerk.jwksUrl": url}; a None value removes the key."""
    result = copy.deepcopy(dict(config))
    for path, value in overrides.items():
        *parents, leaf = path.split(".")
        node = result
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return result


# --- the wire format ---------------------------------------------------------------------------------

def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SPECIAL_SIG_KEY) == SECRET_SIG


def decode(value: Any) -> Any:
    """Wire form to Python: secrets become `Secret`, resource references their URN."""
    if _is_secret(value):
        return Secret(decode(value.get("value")))
    if isinstance(value, dict) and value.get(SPECIAL_SIG_KEY) == RESOURCE_SIG:
        return value.get("urn")
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def unwrap(value: Any) -> Any:
    """Decoded value with every `Secret` replaced by its content."""
    if isinstance(value, Secret):
        return unwrap(value.value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def contains_secret(value: Any) -> bool:
    """True when a decoded value is, or holds, a `Secret`."""
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


def plaintext_leaks(run: ProgramRun, secrets: Iterable[str]) -> list[str]:
    """Where any of `secrets` (or a part of one at least 8 characters long) appears outside a secret wrapper,
    in any registration input or stack output, as `<resource or output>: <path>`."""
    needles = [s for s in secrets if s]
    found: list[str] = []

    def walk(value: Any, where: str) -> None:
        if _is_secret(value):
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")
        elif isinstance(value, str) and any(needle in value for needle in needles):
            found.append(where)

    for registration in run.registrations:
        walk(registration.raw_inputs, f"{registration.type}::{registration.name}")
    for name, value in run.raw_outputs.items():
        walk(value, f"output {name}")
    return found


# --- the dynamic-provider host -------------------------------------------------------------------------

class DynamicProviderHost:
    """`python -m pulumi.dynamic` in the project directory, as the engine starts it, driven over gRPC.

        with DynamicProviderHost() as host:
            provider = serialize_provider(MyProvider())
            response = host.create({"length": 40}, provider)
    """

    def __init__(self, cwd: Path = PROJECT_DIR) -> None:
        self.cwd = cwd

    def __enter__(self) -> DynamicProviderHost:
        import grpc
        from pulumi.runtime.proto import provider_pb2_grpc

        env = {**os.environ, "PYTHONPATH": str(self.cwd)}
        self.process = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.dynamic"], cwd=self.cwd, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        port = self.process.stdout.readline().decode().strip()
        if not port.isdigit():
            self.process.kill()
            raise AssertionError(f"the dynamic provider host did not start: {self.process.stderr.read().decode()}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.channel.close()
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()

    @staticmethod
    def _struct(props: Mapping[str, Any]) -> Any:
        from pulumi.runtime import rpc

        return asyncio.run(rpc.serialize_properties(dict(props), {}))

    @staticmethod
    def _dict(struct: Any) -> dict[str, Any]:
        from pulumi.runtime import rpc

        return rpc.deserialize_properties(struct)

    def configure(self, config: Mapping[str, Any] | None = None) -> None:
        from pulumi.runtime.proto import provider_pb2

        self.stub.Configure(provider_pb2.ConfigureRequest(args=self._struct(config or {})))

    def check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> tuple[dict[str, Any], list]:
        from pulumi.runtime.proto import provider_pb2

        response = self.stub.Check(provider_pb2.CheckRequest(urn=urn, olds=self._struct(olds), news=self._struct(news)))
        return self._dict(response.inputs), [(f.property, f.reason) for f in response.failures]

    def create(self, urn: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        from pulumi.runtime.proto import provider_pb2

        response = self.stub.Create(provider_pb2.CreateRequest(urn=urn, properties=self._struct(props)))
        return response.id, self._dict(response.properties)

    def diff(self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Any:
        from pulumi.runtime.proto import provider_pb2

        return self.stub.Diff(provider_pb2.DiffRequest(urn=urn, id=id_, olds=self._struct(olds),
                                                       news=self._struct(news)))

    def update(self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        from pulumi.runtime.proto import provider_pb2

        response = self.stub.Update(provider_pb2.UpdateRequest(urn=urn, id=id_, olds=self._struct(olds),
                                                               news=self._struct(news)))
        return self._dict(response.properties)

    def read(self, urn: str, id_: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        from pulumi.runtime.proto import provider_pb2

        response = self.stub.Read(provider_pb2.ReadRequest(urn=urn, id=id_, properties=self._struct(props)))
        return response.id, self._dict(response.properties)


# --- the child process -----------------------------------------------------------------------------------

def _fake_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def mock_generated_secret(name: str) -> str:
    """The value the mocks give a `GeneratedSecret` named `name` (tests look for it in plaintext)."""
    return "mockgen" + hashlib.sha256(name.encode()).hexdigest()[:33]


def _child_main(request: dict[str, Any]) -> dict[str, Any]:
    import logging
    import runpy

    import pulumi
    from google.protobuf import empty_pb2, json_format
    from pulumi.runtime import mocks, settings as runtime_settings
    from pulumi.runtime.stack import run_in_stack

    registrations: list[dict[str, Any]] = []
    stack_outputs: dict[str, Any] = {}
    logs: list[dict[str, str]] = []

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            state = dict(args.inputs)
            if args.typ == "docker:index/remoteImage:RemoteImage":
                state |= {"imageId": _fake_digest(args.inputs["name"]),
                          "repoDigest": f"{args.inputs['name'].split(':')[0]}@{_fake_digest(args.inputs['name'])}"}
            elif args.typ == "docker:index/volume:Volume":
                state |= {"mountpoint": f"/var/lib/docker/volumes/{args.inputs.get('name')}/_data"}
            elif args.typ.endswith(":GeneratedSecret"):
                state |= {"value": mock_generated_secret(args.name)}
            elif args.typ.startswith("kubernetes:"):
                # What the API server adds to every object's metadata.
                state["metadata"] = {**state.get("metadata", {}), "uid": f"uid-{args.name}", "generation": 1}
            state |= request["mock_outputs"].get(args.typ, {})
            return f"{args.name}-id", state

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, None]:
            return {}, None

    def repeated(values: Iterable[str]) -> list[str]:
        return list(values)

    class RecordingMonitor(mocks.MockMonitor):
        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
            registrations.append({
                "type": request.type,
                "name": request.name,
                "urn": self.make_urn(request.parent, request.type, request.name),
                "parent": request.parent,
                "custom": request.custom,
                "raw_inputs": json_format.MessageToDict(request.object),
                "protect": request.protect,
                "retain_on_delete": request.retainOnDelete,
                "delete_before_replace": request.deleteBeforeReplace,
                "dependencies": repeated(request.dependencies),
                "property_dependencies": {k: repeated(v.urns) for k, v in request.propertyDependencies.items()},
                "additional_secret_outputs": repeated(request.additionalSecretOutputs),
                "replace_on_changes": repeated(request.replaceOnChanges),
                "ignore_changes": repeated(request.ignoreChanges),
                "deleted_with": request.deletedWith,
                "replace_with": repeated(request.replace_with),
                "custom_timeouts": json_format.MessageToDict(request.customTimeouts),
                "replacement_trigger": json_format.MessageToDict(request.replacement_trigger)
                if request.HasField("replacement_trigger") else None,
                "provider": request.provider,
            })
            return super().RegisterResource(request)

        def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
            if request.urn.split("::")[2] == STACK_TYPE:
                stack_outputs.update(json_format.MessageToDict(request.outputs))
            return super().RegisterResourceOutputs(request)

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logs.append({"level": record.levelname, "message": record.getMessage()})

    logger = logging.getLogger("pulumi-harness")
    logger.addHandler(Collect())
    logger.setLevel(logging.INFO)
    logger.propagate = False

    # What `set_mocks` does, minus the root stack it finishes at once: `run_in_stack` makes the real one,
    # whose outputs are then registered once, at the end, as with the engine.
    monitor = RecordingMonitor(Mocks())
    runtime_settings.configure(mocks.MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(empty_pb2.Empty()).supportedFeatures),
        engine=mocks.MockEngine(logger),
        project=request["project"],
        stack=request["stack"],
        dry_run=request["preview"],
        organization="organization",
        # Where Pulumi.yaml is, as the language host tells the SDK (the mocks' default is a placeholder).
        root_directory=str(Path(request["program"]).parent),
        callbacks=None,
    ))
    error = None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(run_in_stack(lambda: runpy.run_path(request["program"], run_name="__main__")))
    except pulumi.RunError as run_error:
        error = str(run_error)
    except Exception as exception:  # noqa: BLE001 - reported to the test, which decides
        import traceback

        error = "".join(traceback.format_exception(exception))
    return {"error": error, "registrations": registrations, "outputs": stack_outputs, "logs": logs}


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_DIR))
    result = _child_main(json.loads(sys.argv[1]))
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown of gRPC threads
