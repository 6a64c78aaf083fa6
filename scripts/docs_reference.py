"""The three generated pages of the docs site: the settings reference (docs/reference/settings.md), from the settings
models' field docstrings; the outputs reference (docs/reference/outputs.md), from `OUTPUTS` and the component
attribute `__main__.py` exports as each; and the `ClerkHasura` arguments reference (docs/reference/arguments.md),
from the argument dataclasses (`components.component.ClerkHasuraArgs`), each described by the setting it mirrors.

Reads the models, the dataclasses and `__main__.py` (parsed, not run) and writes Markdown; registers no resource.
`scripts/docs-reference` writes the pages; tests/unit/docs/test_docs_reference.py fails when a committed page
differs from what this makes, when a key has no description or example, and when the program (run under Pulumi's
mocks per target) exports an output `OUTPUTS` does not describe, or for other targets than it says.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
import sys
import textwrap
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, SecretStr
from pydantic_core import PydanticUndefined

from components.component import ClerkHasuraArgs, in_argument_terms
from components.config.containers import DEV_STACK
from components.config.settings import TARGET_DEPENDENT_KEYS
from components.targets import SECRET_ENV_VARS, TARGETS, StackSettings

PROJECT = "clerk-hasura"
ROOT = Path(__file__).resolve().parent.parent
SETTINGS_PAGE = Path("docs/reference/settings.md")
OUTPUTS_PAGE = Path("docs/reference/outputs.md")
ARGUMENTS_PAGE = Path("docs/reference/arguments.md")
#: This repository's program: each stack output it exports is an attribute of its `ClerkHasura`.
PROGRAM = ROOT / "__main__.py"
REGENERATE = "scripts/docs-reference"
#: A stack other than `dev`, to resolve the defaults that differ by stack.
OTHER_STACK = "prod"
ALL_TARGETS = tuple(TARGETS)

#: The tokens a target adds as top-level secret keys have no model of their own to carry a docstring.
TOKEN_DOCS = {
    "hasuraCloudToken": "Hasura Cloud personal access token (Dashboard → My Account → Access Tokens), sent as "
                        "`Authorization: pat …` to the Cloud API.",
    "nhostToken": "Nhost personal access token (Dashboard → your account → Personal Access Tokens), exchanged for a "
                  "session at each deploy.",
}

#: An example value of each key whose default is no example (unset, or empty); the test validates each.
EXAMPLES: dict[str, Any] = {
    "target": "kubernetes",
    "clerk.publishableKey": "pk_live_Y2xlcmsuZXhhbXBsZS5jb20k",
    "clerk.frontendApi": "happy-hippo-12.clerk.accounts.dev",
    "clerk.jwksUrl": "https://clerk.example.com/.well-known/jwks.json",
    "clerk.audience": "https://app.example.com",
    "clerk.claims": "session",
    "clerk.signingAlgorithm": "RS256",
    "hasura.publicUrl": "https://graphql.example.com",
    "hasura.corsDomains": ["http://localhost:3000", "https://*.example.com"],
    "hasura.unauthorizedRole": "anonymous",
    "hasura.console": True,
    "hasura.devMode": False,
    "hasura.logTypes": ["startup", "http-log", "webhook-log", "websocket-log", "jwk-refresh-log"],
    "hasura.enabledApis": ["metadata", "graphql"],
    "postgres.hostPort": 15432,
    "postgres.protectVolume": True,
    "smoke.writes": False,
    "smoke.runId": "1733500000",
    "kubernetes.kubeconfig": "~/.kube/prod.yaml",
    "kubernetes.context": "prod-cluster",
    "kubernetes.namespace": "graphql",
    "kubernetes.replicas": 3,
    "kubernetes.resources.limits.cpu": "2",
    "kubernetes.ingress.className": "nginx",
    "kubernetes.ingress.host": "graphql.example.com",
    "kubernetes.ingress.tlsSecretName": "graphql-example-com-tls",
    "kubernetes.ingress.annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
    "kubernetes.postgresStorage.className": "fast-ssd",
    "hasuraCloud.projectId": "7a79cf94-0e53-4520-a560-1b02bf522f08",
    "hasuraCloud.tenantId": "2f0d5c3e-8a1b-4c6d-9e7f-0a1b2c3d4e5f",
    "hasuraCloud.region": "us-east-2",
    "hasuraCloud.protectProject": False,
    "nhost.subdomain": "abcdefghijklmnopqrst",
    "nhost.region": "eu-central-1",
}


@dataclass(frozen=True)
class Output:
    """One stack output: what it holds, and the targets that export it."""

    description: str
    targets: tuple[str, ...] = ALL_TARGETS
    secret: bool = False
    when: str = ""
    """The condition beyond the target, when there is one."""


_CONTAINERS = ("docker", "kubernetes")

#: Every output the program exports (__main__.py, and each target's `HasuraTarget.outputs`), in one place.
OUTPUTS: dict[str, Output] = {
    "graphqlUrl": Output("The GraphQL endpoint apps use: `hasura.publicUrl` (or Hasura's own URL on the target) + "
                         "`/v1/graphql`; on the `dev` stack `http://127.0.0.1:8080/v1/graphql`."),
    "hasuraUrl": Output("Hasura's base URL, without a path (what the console, `/healthz` and the `clerk-hasura` "
                        "commands use): `hasura.publicUrl`, else the target's own URL."),
    "healthzUrl": Output("Hasura's health endpoint (`<hasuraUrl>/healthz`)."),
    "hasuraAdminSecret": Output("The Hasura admin secret: configured, generated once and kept, or the platform's "
                                "own (`hasura-cloud` when the project has one, `nhost`).", secret=True),
    "internalGraphqlUrl": Output(
        "The GraphQL endpoint from beside Hasura: on `docker`, `http://hasura:8080/v1/graphql` on the stack's "
        "network (`dockerNetwork`); on `kubernetes`, the Service's "
        "`http://hasura.<namespace>.svc.cluster.local:8080/v1/graphql`.", targets=_CONTAINERS),
    "dockerNetwork": Output("The stack's private Docker network: attach app containers to it to reach "
                            "`hasura:8080` (and `postgres:5432`).", targets=("docker",)),
    "postgresUrl": Output("The app database's URL: `databaseUrl`, or the Postgres the stack runs (on `docker` "
                          "valid on `dockerNetwork`, or from this machine when `postgres.hostPort` is set; on "
                          "`kubernetes` at `postgres.<namespace>.svc.cluster.local`).", targets=_CONTAINERS,
                          secret=True),
    "kubernetesNamespace": Output("The namespace every object of the stack is in.", targets=("kubernetes",)),
    "hasuraCloudTenantId": Output("The Hasura Cloud project's tenant id (found from `hasuraCloud.projectId`, or "
                                  "the project the stack created).", targets=("hasura-cloud",)),
    "nhostAppId": Output("The Nhost project's app id (found from `nhost.subdomain` and `nhost.region`).",
                         targets=("nhost",)),
    "appEnv": Output("An object of environment variables for a Next.js app: `NEXT_PUBLIC_HASURA_GRAPHQL_URL`, "
                     "`NEXT_PUBLIC_CLERK_JWT_TEMPLATE`, and `NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY` when "
                     "`clerk.publishableKey` is set."),
    "jwtSecret": Output("The exact `HASURA_GRAPHQL_JWT_SECRET` Hasura trusts, computed from the `clerk` settings "
                        "(secret whenever it embeds a key: `jwks: pinned` or `clerkSigningKey`).",
                        secret=True),
    "jwksUrl": Output("The Clerk JWKS URL Hasura fetches its keys from; absent (null) with a custom signing key or "
                      "`jwks: pinned`."),
    "issuer": Output("The issuer (`iss`) Hasura requires: the Clerk Frontend API URL."),
    "jwtTemplate": Output("The name of the Clerk JWT template apps request tokens from (`clerk.jwtTemplate`)."),
    "jwtTemplateId": Output("The id of the Clerk JWT template the stack manages.",
                            when="`clerkSecretKey` set and `clerk.claims: template`"),
    "metadataHash": Output("sha256 of the metadata and migrations applied from `metadataDir` (of what the metadata "
                           "means: a change of spelling only leaves it)."),
    "target": Output("The stack's `target` setting (the drift, status and export commands read it)."),
    "metadataDir": Output("The stack's `metadataDir` setting (the drift, status and export commands read it)."),
    "smoke": Output("The last smoke check's report: `passed`, `ranAt`, each check's result.",
                    when="`smoke.enabled` (the default)"),
}


# --- the settings ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    path: str
    """As typed in Pulumi.<stack>.yaml under `clerk-hasura:`, dotted for a nested key (`clerk.allowedSkew`)."""
    annotation: Any
    description: str
    dev_default: Any
    other_default: Any
    targets: tuple[str, ...]
    secret_env_var: str | None
    example: Any


@dataclass(frozen=True)
class Section:
    """A top-level key: a settings object with its keys, or one value."""

    name: str
    description: str
    keys: tuple[Key, ...]


def field_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """The attribute docstrings of `model` and its bases, by field name (the string right after each field)."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls in (BaseModel,):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(cls))
        except (OSError, TypeError):
            continue  # a model made by create_model has no source
        body = ast.parse(source).body[0].body  # type: ignore[attr-defined]
        for statement, following in zip(body, body[1:]):
            if (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                    and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                docs[statement.target.id] = inspect.cleandoc(following.value.value)
    return docs


def _alias(model: type[BaseModel], name: str) -> str:
    return model.model_fields[name].alias or name


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _readers(path: str) -> tuple[str, ...]:
    """The targets that read key `path`: its own target's, or those declaring the shared key, or every target."""
    top = path.split(".", 1)[0]
    for name, module in TARGETS.items():
        if any(_alias(StackSettings, field) == top for field in module.OWN_KEYS):
            return (name,)
    if top in TARGET_DEPENDENT_KEYS:
        return tuple(name for name, module in TARGETS.items() if path in module.SHARED_KEYS or top in module.SHARED_KEYS)
    return ALL_TARGETS


def _defaults(model: type[BaseModel], name: str) -> tuple[Any, Any]:
    """The default on `dev` and on every other stack: the field's default, or what `resolved_<name>(stack)` makes
    of an unset one."""
    field = model.model_fields[name]
    default = field.get_default(call_default_factory=True)
    resolver = getattr(model, f"resolved_{name}", None)
    if default is None and resolver is not None and len(inspect.signature(resolver).parameters) == 2:
        instance = model()
        return resolver(instance, DEV_STACK), resolver(instance, OTHER_STACK)
    return default, default


def settings_sections() -> list[Section]:
    """Every key of the stack settings, grouped by top-level key in the order of the model."""
    sections = []
    top_docs = field_docstrings(StackSettings)
    for name, field in StackSettings.model_fields.items():
        alias = _alias(StackSettings, name)
        if _is_model(field.annotation):
            keys = tuple(_keys(field.annotation, alias))
            sections.append(Section(alias, inspect.cleandoc(field.annotation.__doc__ or ""), keys))
        else:
            description = top_docs.get(name) or TOKEN_DOCS.get(alias, "")
            sections.append(Section(alias, "", (_key(StackSettings, name, alias, description),)))
    return sections


def _keys(model: type[BaseModel], prefix: str) -> list[Key]:
    docs = field_docstrings(model)
    keys = []
    for name, field in model.model_fields.items():
        path = f"{prefix}.{_alias(model, name)}"
        if _is_model(field.annotation):
            keys += _keys(field.annotation, path)
        else:
            keys.append(_key(model, name, path, docs.get(name, "")))
    return keys


def _key(model: type[BaseModel], name: str, path: str, description: str) -> Key:
    dev_default, other_default = _defaults(model, name)
    if model.model_fields[name].default is PydanticUndefined:
        dev_default = other_default = None
    example = EXAMPLES.get(path, dev_default)
    return Key(path, model.model_fields[name].annotation, description, dev_default, other_default,
               _readers(path), SECRET_ENV_VARS.get(path), example)


def type_name(annotation: Any) -> str:
    """A key's type in words, as typed in YAML."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args) if len(args) > 1 else type_name(args[0])
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin is list:
        return f"list of {type_name(args[0])}s"
    if origin is dict:
        return f"object ({type_name(args[0])} → {type_name(args[1])})"
    return {str: "string", int: "integer", bool: "boolean", SecretStr: "secret string"}[annotation]


def _value(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "unset"
    return f"`{json.dumps(value, ensure_ascii=False)}`" if not isinstance(value, str) else f"`{value}`"


def _example_yaml(key: Key) -> str:
    """`key` set to its example, as it stands in Pulumi.<stack>.yaml."""
    top, *rest = key.path.split(".")
    lines = ["config:"]
    if not rest:
        return "\n".join([*lines, f"  {PROJECT}:{top}: {_yaml_scalar(key.example)}"])
    lines.append(f"  {PROJECT}:{top}:")
    for depth, part in enumerate(rest[:-1], start=2):
        lines.append(f"{'  ' * depth}{part}:")
    lines.append(f"{'  ' * (len(rest) + 1)}{rest[-1]}: {_yaml_scalar(key.example)}")
    return "\n".join(lines)


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value) if value == "" or value[:1] in "*{[&!|>'\"%@`" or ": " in value else value
    return json.dumps(value, ensure_ascii=False)


def render_settings() -> str:
    sections = settings_sections()
    lines = [
        "# Settings reference",
        "",
        f"<!-- Generated by {REGENERATE} from the settings models' field docstrings; do not edit by hand. -->",
        "",
        "Every key a stack can set, as typed under `clerk-hasura:` in `Pulumi.<stack>.yaml`. Nested keys are written "
        "here with dots (`clerk.allowedSkew` is the key `allowedSkew` of the object `clerk-hasura:clerk`). A key "
        "that is unset takes its default; the defaults of some keys differ between the stack called `dev` and every "
        "other stack ([Stacks](../concepts/stacks.md#dev-and-every-other-stack)). Unknown keys, and keys the stack's "
        "target does not read, are refused before anything is created.",
        "",
        "Secret keys are never written into the file in plain text: set them with "
        "`clerk-hasura pulumi --stack <stack> config set --secret <key> <value>` (stored encrypted), or in the "
        "environment variable named below, which wins (for CI).",
        "",
        "| key | type | targets |",
        "|---|---|---|",
    ]
    for section in sections:
        for key in section.keys:
            lines.append(f"| [`{key.path}`](#{_anchor(key.path)}) | {type_name(key.annotation)} | "
                         f"{_targets(key.targets)} |")
    for section in sections:
        lines += ["", f"## `{section.name}`", ""]
        if section.description:
            lines += [section.description, ""]
        for key in section.keys:
            if len(section.keys) > 1 or key.path != section.name:
                lines += [f"### `{key.path}`", ""]
            lines += [key.description, ""]
            lines += ["| type | default on `dev` | default on other stacks | read by |", "|---|---|---|---|",
                      f"| {type_name(key.annotation)} | {_value(key.dev_default)} | {_value(key.other_default)} | "
                      f"{_targets(key.targets)} |", ""]
            if key.secret_env_var:
                lines += [f"Secret. Environment variable: `{key.secret_env_var}`. Example: "
                          f"`clerk-hasura pulumi --stack prod config set --secret {key.path} …`", ""]
            else:
                lines += ["```yaml", _example_yaml(key), "```", ""]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).rstrip("\n") + "\n"


def _anchor(path: str) -> str:
    """The anchor MkDocs gives the heading `` `path` ``: lowercase, dots dropped."""
    return path.lower().replace(".", "")


def _targets(targets: tuple[str, ...]) -> str:
    return "every target" if targets == ALL_TARGETS else ", ".join(f"`{t}`" for t in targets)


# --- the outputs ----------------------------------------------------------------------------------------------

def output_attributes(program: str) -> dict[str, str]:
    """Each stack output `program` (this repository's `__main__.py`) exports -> the `ClerkHasura` attribute it is:
    `pulumi.export("name", component.attribute)`, and every target output through its loop over
    `component.target_outputs.items()` (as `target_outputs["name"]`, for each output of OUTPUTS not exported by
    name)."""
    exported: dict[str, str] = {}
    loops_over_target_outputs = False
    for node in ast.walk(ast.parse(program)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "export"
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[1], ast.Attribute)):
            exported[node.args[0].value] = node.args[1].attr
        elif (isinstance(node, ast.For) and isinstance(node.iter, ast.Call)
              and isinstance(node.iter.func, ast.Attribute) and isinstance(node.iter.func.value, ast.Attribute)
              and node.iter.func.value.attr == "target_outputs"):
            loops_over_target_outputs = True
    if loops_over_target_outputs:
        exported |= {name: f'target_outputs["{name}"]' for name in OUTPUTS if name not in exported}
    return exported


def render_outputs() -> str:
    attributes = output_attributes(PROGRAM.read_text())
    lines = [
        "# Outputs reference",
        "",
        f"<!-- Generated by {REGENERATE} from OUTPUTS in scripts/docs_reference.py and the exports of "
        f"{PROGRAM.name}; do not edit by hand. -->",
        "",
        "What a deployed stack exports, for apps and scripts ([Consuming outputs](../guides/consuming-outputs.md)). "
        "Read them with `clerk-hasura outputs <stack>` (secrets shown as `[secret]`; `--show-secrets` decrypts "
        "them). A test runs the program under Pulumi's mocks on every target and fails when it exports an output "
        "that is not described here, or on other targets than listed.",
        "",
        "Each is an attribute of the `ClerkHasura` component, which this repository's program exports under the "
        "name on the left; a program of your own reads the attribute "
        "([Use it from your own Pulumi program](../guides/use-from-your-program.md#outputs)).",
        "",
        "| output | `ClerkHasura` attribute | targets | secret | |",
        "|---|---|---|---|---|",
    ]
    for name, output in OUTPUTS.items():
        when = f" Only with {output.when}." if output.when else ""
        attribute = f"`{attributes[name]}`" if name in attributes else ""
        lines.append(f"| `{name}` | {attribute} | {_targets(output.targets)} | {'yes' if output.secret else ''} | "
                     f"{output.description}{when} |")
    return "\n".join(lines) + "\n"


# --- the component's arguments ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Argument:
    """One leaf of `ClerkHasuraArgs`, and the stack config key it mirrors (its description, defaults, readers)."""

    path: str
    """Dotted attribute names from `ClerkHasuraArgs` (`clerk.allowed_skew`, `kubernetes.postgres_storage.size`)."""
    annotation: Any
    """As the dataclass declares it (every argument is optional: None leaves it at the setting's default)."""
    key: Key
    null_removes_default: bool = False
    """The setting's `null` removes its default (a Kubernetes resource request), which None, meaning unset, cannot
    say."""


@dataclass(frozen=True)
class ArgumentGroup:
    """A top-level argument: a sub-argument dataclass with its arguments, or one value."""

    name: str
    kind: type | None
    """The sub-argument dataclass (`ClerkArgs`), None for a plain value."""
    description: str
    arguments: tuple[Argument, ...]


def argument_groups() -> list[ArgumentGroup]:
    """Every argument of `ClerkHasuraArgs`, grouped by top-level argument in the order of the dataclass."""
    sections = {section.name: section for section in settings_sections()}
    keys = {key.path: key for section in sections.values() for key in section.keys}
    hints = typing.get_type_hints(ClerkHasuraArgs)
    groups = []
    for field in dataclasses.fields(ClerkHasuraArgs):
        alias = _alias(StackSettings, field.name)
        kind = _dataclass_in(hints[field.name])
        arguments = (tuple(_arguments(field.name, hints[field.name], StackSettings.model_fields[field.name].annotation,
                                      alias, keys)) if kind is not None
                     else (Argument(field.name, hints[field.name], keys[alias]),))
        groups.append(ArgumentGroup(field.name, kind, sections[alias].description, arguments))
    return groups


def _dataclass_in(annotation: Any) -> type | None:
    return next((kind for kind in typing.get_args(annotation) if dataclasses.is_dataclass(kind)), None)


def _arguments(path: str, annotation: Any, model: Any, key_path: str, keys: dict[str, Key]) -> list[Argument]:
    """The leaves under argument `path` (a sub-argument dataclass in `annotation`), mirroring settings `model` at
    `key_path`."""
    kind = _dataclass_in(annotation)
    hints = typing.get_type_hints(kind)
    arguments = []
    for field in dataclasses.fields(kind):
        setting = model.model_fields[field.name]
        path_of, key_of = f"{path}.{field.name}", f"{key_path}.{_alias(model, field.name)}"
        if _dataclass_in(hints[field.name]) is not None:
            arguments += _arguments(path_of, hints[field.name], setting.annotation, key_of, keys)
        else:
            nullable = type(None) in typing.get_args(setting.annotation)
            arguments.append(Argument(path_of, hints[field.name], keys[key_of],
                                      null_removes_default=nullable and setting.default not in (None, PydanticUndefined)))
    return arguments


def argument_type(annotation: Any) -> str:
    """An argument's Python type, as a consumer writes it (the `| None` every argument has left out)."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return " | ".join(argument_type(a) for a in args)
    if origin is Literal:
        return " | ".join(json.dumps(a) for a in typing.get_args(annotation))
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(argument_type(a) for a in args)}]"
    return annotation.__name__


def _python_value(value: Any) -> str:
    """A default as a Python literal (the settings page writes it as YAML)."""
    return "unset" if value is None or isinstance(value, SecretStr) else f"`{value!r}`"


def _argument_anchor(path: str) -> str:
    """The anchor MkDocs gives the heading `` `path` ``: lowercase, dots dropped, underscores kept."""
    return path.lower().replace(".", "")


def render_arguments() -> str:
    groups = argument_groups()
    lines = [
        "# `ClerkHasura` arguments reference",
        "",
        f"<!-- Generated by {REGENERATE} from the argument dataclasses of components/component.py and the settings "
        "models' field docstrings; do not edit by hand. -->",
        "",
        "Every argument of `ClerkHasuraArgs`, for a Pulumi program of your own "
        "([Use it from your own Pulumi program](../guides/use-from-your-program.md)). Each mirrors one key of the "
        "stack settings this repository's own program reads from `Pulumi.<stack>.yaml` "
        "([Settings reference](settings.md)): same meaning, same rules, same defaults, the name in snake_case "
        "(`clerk.allowed_skew` is the key `clerk.allowedSkew`). A nested argument is an attribute of its "
        "sub-argument dataclass (`ClerkHasuraArgs(clerk=ClerkArgs(allowed_skew=10))`). Every argument is optional: "
        "`None` (the default) leaves it at the setting's default, and the defaults of some differ between a stack "
        "called `dev` and every other stack ([Stacks](../concepts/stacks.md#dev-and-every-other-stack)). An "
        "argument the target does not read is refused, naming it, before anything is created.",
        "",
        "Arguments are plain values, not `pulumi.Output`s (the component checks them all before it creates "
        "anything). A secret is a plain `str` the component keeps secret in state and outputs: read it with "
        "`pulumi.Config().require(...)`; the component reads no environment variable for it.",
        "",
        "| argument | type | targets | stack config key |",
        "|---|---|---|---|",
    ]
    for group in groups:
        for argument in group.arguments:
            lines.append(f"| [`{argument.path}`](#{_argument_anchor(argument.path)}) | "
                         f"`{argument_type(argument.annotation)}` | {_targets(argument.key.targets)} | "
                         f"[`{argument.key.path}`](settings.md#{_anchor(argument.key.path)}) |")
    for group in groups:
        lines += ["", f"## `{group.name}`", ""]
        if group.kind is not None:
            # The model's docstring names the config object (`The \`clerk\` object: …`); the argument is a dataclass.
            description = re.sub(r"^The `[^`]+` object[:.]\s*", "", in_argument_terms(group.description))
            lines += [f"A `{group.kind.__name__}`. {description[:1].upper()}{description[1:]}".rstrip(), ""]
        for argument in group.arguments:
            key = argument.key
            if len(group.arguments) > 1 or argument.path != group.name:
                lines += [f"### `{argument.path}`", ""]
            lines += [in_argument_terms(key.description), ""]
            lines += ["| type | default on `dev` | default on other stacks | read by | mirrors |",
                      "|---|---|---|---|---|",
                      f"| `{argument_type(argument.annotation)}` | {_python_value(key.dev_default)} | "
                      f"{_python_value(key.other_default)} | {_targets(key.targets)} | "
                      f"[`{key.path}`](settings.md#{_anchor(key.path)}) |", ""]
            if key.secret_env_var:
                lines += ["Secret: kept secret by the component.", ""]
            if argument.null_removes_default:
                lines += [f"`None` leaves the default {_python_value(key.dev_default)}: no argument removes it, as "
                          "`null` does in the stack config.", ""]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).rstrip("\n") + "\n"


def pages() -> dict[Path, str]:
    """Each generated page's path (relative to the project) and content."""
    return {SETTINGS_PAGE: render_settings(), OUTPUTS_PAGE: render_outputs(), ARGUMENTS_PAGE: render_arguments()}


def main(argv: list[str]) -> int:
    """Write the generated pages (or, with --check, exit 1 naming each page that differs)."""
    stale = []
    for path, content in pages().items():
        target = ROOT / path
        if "--check" in argv:
            if not target.exists() or target.read_text() != content:
                stale.append(str(path))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}. Fix: run {REGENERATE} and commit the pages", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
