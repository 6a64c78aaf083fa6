"""`ClerkHasura`: one backend as a Pulumi component: Hasura trusting Clerk on the chosen target, its metadata, the
Clerk JWT template, the smoke check, and what apps consume.

A team adds it to its own Pulumi program (`from components.component import ClerkHasura, ClerkHasuraArgs`); this
repository's program (`__main__.py`) is one such user, whose arguments come from its stack config. The shared part is
written once here; where Hasura runs is the target's business (`components.targets`).

The arguments are the stack settings (`components.targets.StackSettings`): each attribute is the snake_case name of
a camelCase key (`clerk.allowed_skew` is `clerk.allowedSkew`), None leaves it at the setting's default. They are
plain values, not `pulumi.Input`s: the component validates them, reaches Clerk's JWKS, loads the metadata and runs
the target's preflight before it registers anything, and a `pulumi.Output` (pulumi 3.272) has no synchronous read
of its value; resources created inside an `apply` instead would be invisible to a preview. Secrets are plain `str`
(`pulumi.Config().require(...)` reads a secret config value), wrapped with `pulumi.Output.secret` here so they stay
encrypted in state and outputs.

The package's provider (components/package.py) infers its schema from these annotations, read as types (so no
`from __future__ import annotations` here, nor in the targets' args modules). Its type system has no `Literal` and no
union: a setting with a few allowed values is a `str` (its docstring lists them; the settings' rules check it), and
`clerk.audience` is a list (one audience is a list of one).
"""

import os
import re
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

import pulumi
from pydantic import BaseModel, SecretStr
from pydantic.alias_generators import to_camel

from components.errors import ClerkHasuraError
from components.plan import StackPlan, plan_stack
from components.providers.clerk_jwt_template import ClerkJwtTemplate, template_args
from components.providers.generated_secret import secret_or_generated
from components.providers.hasura_metadata import HasuraMetadata, HasuraMetadataArgs
from components.providers.smoke_check import SmokeCheck, fail_deploy_unless_passed, smoke_check_args
from components.targets import (SECRET_ENV_VARS, HasuraCloudArgs, KubernetesArgs, NhostArgs, StackSettings,
                                health_hint, platform_schemas, target_named)
from components.targets.base import HasuraTarget, TargetArgs

TYPE = "clerk-hasura:index:ClerkHasura"


@dataclass(frozen=True)
class ClerkArgs:
    """`clerk`: which Clerk instance Hasura trusts and how tokens reach it (`ClerkSettings`)."""

    publishable_key: str | None = None
    frontend_api: str | None = None
    jwt_template: str | None = None
    jwks: str | None = None
    """`url` or `pinned`."""
    jwks_url: str | None = None
    audience: list[str] | None = None
    """The `aud` values Hasura requires (one or more)."""
    allowed_skew: int | None = None
    claims: str | None = None
    """`template` or `session`."""
    template_preset: str | None = None
    """`hasura` or `nhost`."""
    cookie: bool | None = None
    signing_algorithm: str | None = None
    api_url: str | None = None


@dataclass(frozen=True)
class HasuraArgs:
    """`hasura`: the GraphQL engine (`HasuraSettings`); which keys a target reads is its business."""

    image: str | None = None
    port: int | None = None
    bind_address: str | None = None
    public_url: str | None = None
    cors_domains: list[str] | None = None
    unauthorized_role: str | None = None
    console: bool | None = None
    dev_mode: bool | None = None
    log_types: list[str] | None = None
    enabled_apis: list[str] | None = None


@dataclass(frozen=True)
class PostgresArgs:
    """`postgres`: the database the docker and kubernetes targets run (`PostgresSettings`)."""

    image: str | None = None
    database: str | None = None
    user: str | None = None
    host_port: int | None = None
    protect_volume: bool | None = None


@dataclass(frozen=True)
class SmokeArgs:
    """`smoke`: the post-deploy smoke check (`SmokeSettings`)."""

    enabled: bool | None = None
    token_source: str | None = None
    """`auto`, `clerk`, `signing-key`, `env` or `none`."""
    token_env_var: str | None = None
    timeout_seconds: int | None = None
    test_user_email: str | None = None
    writes: bool | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class ClerkHasuraArgs:
    """The stack settings, as arguments. Secrets (`*_key`, `*_secret`, `*_password`, `database_url`, `*_token`) are
    plain strings the component keeps secret."""

    target: str | None = None
    """Where Hasura runs: docker (default), existing, kubernetes, hasura-cloud or nhost."""
    metadata_dir: str | None = None
    """The Hasura CLI project to apply, relative to the consumer's project directory (where its Pulumi.yaml is);
    default `metadata`."""
    clerk: ClerkArgs | None = None
    hasura: HasuraArgs | None = None
    postgres: PostgresArgs | None = None
    smoke: SmokeArgs | None = None
    clerk_signing_key: str | None = None
    clerk_secret_key: str | None = None
    hasura_admin_secret: str | None = None
    postgres_password: str | None = None
    database_url: str | None = None
    kubernetes: KubernetesArgs | None = None
    hasura_cloud: HasuraCloudArgs | None = None
    hasura_cloud_token: str | None = None
    nhost: NhostArgs | None = None
    nhost_token: str | None = None


def stack_config_of(args: Any) -> dict[str, Any]:
    """The stack config `args` (a `ClerkHasuraArgs` or one of its sub-arguments) stands for: camelCase keys, the
    unset ones left out."""
    return {to_camel(field.name): stack_config_of(value) if is_dataclass(value) else value
            for field in fields(args) if (value := getattr(args, field.name)) is not None}


def arguments_from_settings(settings: BaseModel, kind: type = ClerkHasuraArgs) -> Any:
    """The arguments (`kind`) that stand for validated stack settings: the keys set there, secrets revealed (the
    component keeps them secret)."""
    hints = get_type_hints(kind)
    values = {}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, BaseModel):
            value = arguments_from_settings(value, next(t for t in get_args(hints[name]) if is_dataclass(t)))
        values[name] = value
    return kind(**values)


def output_problems(args: Any, path: str = "") -> list[str]:
    """Arguments given as `pulumi.Output`s, whose values the component cannot read before it registers anything."""
    problems = []
    for field in fields(args):
        value, key = getattr(args, field.name), f"{path}{field.name}"
        if isinstance(value, pulumi.Output):
            problems.append(f"{key}: is a pulumi.Output; the component checks every argument before it creates "
                            "anything and cannot read an Output's value then. Fix: pass the plain value (a secret "
                            "config value as `pulumi.Config().require(...)`; the component keeps secrets secret)")
        elif is_dataclass(value):
            problems += output_problems(value, f"{key}.")
    return problems


def _renamed_keys(model: type[BaseModel], alias_prefix: str = "", name_prefix: str = "") -> dict[str, str]:
    """Each key path as the stack config spells it -> as the arguments do, where the two differ."""
    renamed = {}
    for name, field in model.model_fields.items():
        alias_path, name_path = alias_prefix + (field.alias or name), name_prefix + name
        if alias_path != name_path:
            renamed[alias_path] = name_path
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            renamed |= _renamed_keys(field.annotation, f"{alias_path}.", f"{name_path}.")
    return renamed


_RENAMED_KEYS = _renamed_keys(StackSettings)
_KEY = re.compile(r"(?<![\w.])(" + "|".join(re.escape(key) for key in sorted(_RENAMED_KEYS, key=len, reverse=True))
                  + r")(?!\w)")
#: How a fix spells a pulumi command: `clerk-hasura pulumi --stack <stack> …`, or (the settings' own) bare `pulumi …`.
_PULUMI = r"`(?:clerk-hasura pulumi --stack [^` ]+ |pulumi )"
_NESTED_KEYS = re.compile(r"nested keys in Pulumi\.<stack>\.yaml, or " + _PULUMI + r"config set --path`")
_CONFIG_SET = re.compile(_PULUMI + r"config set(?: --secret| --path)* (?P<key>[\w.]+)(?: (?P<value>[^`]+))?`")
_CONFIG_RM = re.compile(_PULUMI + r"config rm(?: --path)? (?P<key>[\w.]+)`")
#: The component reads no secret from the environment: that override is the stack config's (`__main__`).
_CI_OVERRIDE = re.compile(r" \(or CLERK_HASURA_\w+ in CI\)")


def in_argument_terms(message: str) -> str:
    """A message about the stack config, told to a `ClerkHasura` user: keys as argument paths, and each
    `pulumi config` command of a fix as the argument to set (a component user has no stack config of ours)."""
    message = message.replace("Invalid stack configuration", "Invalid ClerkHasura arguments")
    message = _KEY.sub(lambda match: _RENAMED_KEYS[match.group(1)], message)
    message = _NESTED_KEYS.sub("its `…Args` dataclass", message)
    message = _CI_OVERRIDE.sub("", message)
    message = _CONFIG_SET.sub(lambda match: f"`ClerkHasuraArgs.{match['key']} = {match['value'] or '…'}`", message)
    return _CONFIG_RM.sub(lambda match: f"`ClerkHasuraArgs.{match['key']} = None`", message)


def in_input_terms(message: str) -> str:
    """A message about the stack config, told to a program using the package from another language: the keys are
    already the inputs' names (the stack config's camelCase), and each `pulumi config` command of a fix becomes the
    input to set on the ClerkHasura resource (its program has no stack config of ours)."""
    message = message.replace("Invalid stack configuration", "Invalid ClerkHasura inputs")
    message = _NESTED_KEYS.sub("nested inputs", message)
    message = _CI_OVERRIDE.sub("", message)
    message = _CONFIG_SET.sub(lambda match: f"set the ClerkHasura input `{match['key']}` to "
                                            f"{match['value'] or '…'}", message)
    return _CONFIG_RM.sub(lambda match: f"leave the ClerkHasura input `{match['key']}` unset", message)


#: Where the settings were written, so a problem's fix names that: a Python program's `ClerkHasuraArgs`, this
#: repository's stack config, or the inputs a program in another language gives the package (components.package).
SettingsFrom = Literal["arguments", "stack config", "package inputs"]
_REWORDING = {"arguments": in_argument_terms, "stack config": str, "package inputs": in_input_terms}


def project_directory() -> Path:
    """The consumer's project directory (where its Pulumi.yaml is): the SDK's root directory, else the working
    directory, which the language host makes it."""
    return Path(pulumi.get_root_directory() or os.getcwd())


def plan_component(args: ClerkHasuraArgs, settings_from: SettingsFrom) -> StackPlan:
    """Everything the component is built from, checked; `pulumi.RunError` with every problem otherwise, worded for
    where the settings came from."""
    reword = _REWORDING[settings_from]
    if problems := output_problems(args):
        raise pulumi.RunError(reword(f"Invalid ClerkHasura arguments ({len(problems)} problem"
                                     f"{'' if len(problems) == 1 else 's'}):\n"
                                     + "\n".join(f"  - {problem}" for problem in problems)))
    # The secrets are the arguments' (this repository's program applied the CI overrides to its stack config).
    environ = {name: value for name, value in os.environ.items() if name not in SECRET_ENV_VARS.values()}
    try:
        return plan_stack(stack_config_of(args), pulumi.get_stack(), environ, project_dir=project_directory())
    except ClerkHasuraError as error:
        raise pulumi.RunError(reword(str(error))) from None


def deploy_target(args: TargetArgs) -> HasuraTarget:
    """The target named by `target` deploys Hasura (the registry imports only its module)."""
    return target_named(args.settings.target).deploy(args)


class ClerkHasura(pulumi.ComponentResource):
    """Hasura on its target, with metadata, the Clerk template and the smoke check. Every output is an attribute."""

    graphql_url: pulumi.Output[str]
    hasura_url: pulumi.Output[str]
    """Base URL from the machine running the deploy."""
    healthz_url: pulumi.Output[str]
    jwt_secret: pulumi.Output[str]
    """`HASURA_GRAPHQL_JWT_SECRET`; secret when it embeds a key."""
    jwks_url: pulumi.Output[str | None]
    issuer: pulumi.Output[str | None]
    jwt_template: pulumi.Output[str]
    """The name of the Clerk JWT template apps request tokens from."""
    jwt_template_id: pulumi.Output[str] | None
    """The managed Clerk JWT template's id (with `clerk_secret_key` and `clerk.claims` `template`), else None."""
    admin_secret: pulumi.Output[str]
    """Secret: `hasura_admin_secret`, the platform's own (found by a hosted target's preflight), or generated once."""
    app_env: pulumi.Output[dict[str, str]]
    """Environment variables a Next.js app needs."""
    metadata_hash: pulumi.Output[str]
    smoke_report: pulumi.Output[dict[str, Any]] | None
    """The post-deploy smoke check's report; None when `smoke.enabled` is false."""
    target: pulumi.Output[str]
    metadata_dir: pulumi.Output[str]
    """As given (relative to the project directory): what the CLI commands read the stack's metadata from."""
    target_outputs: dict[str, pulumi.Output[Any]]
    """What only the target has (e.g. `dockerNetwork`, `postgresUrl`), by stack output name."""

    def __init__(self, name: str, args: ClerkHasuraArgs, opts: pulumi.ResourceOptions | None = None, *,
                 settings_from: SettingsFrom = "arguments") -> None:
        """`settings_from`: what the user wrote the settings in, so a problem's fix names that (this repository's
        program: its `stack config`)."""
        # Everything is validated (the JWKS reached, the metadata loaded) before the first resource is registered.
        plan = plan_component(args, settings_from)
        super().__init__(TYPE, name, None, opts)
        settings, jwt = plan.settings, plan.jwt_secret
        child = pulumi.ResourceOptions(parent=self)

        # A hosted platform may hold the admin secret itself (its preflight found it): then that one is used.
        platform_secret = getattr(plan.target_preflight, "admin_secret", None)
        self.admin_secret = pulumi.Output.secret(platform_secret) if platform_secret is not None \
            else secret_or_generated(f"{name}-admin-secret", settings.hasura_admin_secret, child)
        self.jwt_secret = pulumi.Output.secret(jwt.value) if jwt.holds_key else pulumi.Output.from_input(jwt.value)
        target = deploy_target(TargetArgs(
            name=name, settings=settings, project=pulumi.get_project(), stack=pulumi.get_stack(),
            admin_secret=self.admin_secret, jwt_secret=self.jwt_secret, parent=self, preflight=plan.target_preflight))
        self.hasura_url = pulumi.Output.from_input(target.deployer_url)
        public = pulumi.Output.from_input(target.public_url)
        self.graphql_url = public.apply(lambda url: f"{url}/v1/graphql")
        self.healthz_url = public.apply(lambda url: f"{url}/healthz")
        self.app_env = public.apply(lambda url: app_environment(settings, url))
        self.jwks_url = pulumi.Output.from_input(jwt.jwks_url)
        self.issuer = pulumi.Output.from_input(jwt.issuer)
        self.jwt_template = pulumi.Output.from_input(settings.clerk.jwt_template)
        self.target = pulumi.Output.from_input(settings.target)
        self.metadata_dir = pulumi.Output.from_input(settings.metadata_dir)
        self.target_outputs = {key: pulumi.Output.from_input(value) for key, value in target.outputs.items()}

        metadata = HasuraMetadata(f"{name}-metadata", HasuraMetadataArgs(
            hasura_url=self.hasura_url, admin_secret=self.admin_secret, project=plan.metadata_project,
            platform_schemas=platform_schemas(settings.target),
            health_hint=health_hint(settings, pulumi.get_project(), pulumi.get_stack()),
        ), opts=pulumi.ResourceOptions(parent=self, depends_on=list(target.serving)))
        self.metadata_hash = metadata.metadata_hash

        template = template_args(settings) if settings.clerk.claims == "template" else None
        jwt_template = None if template is None else ClerkJwtTemplate(f"{name}-jwt-template", template, opts=child)
        self.jwt_template_id = None if jwt_template is None else jwt_template.templateId
        self.smoke_report = None
        if settings.smoke.enabled:
            # Rerun the check whenever what it proves may have changed: a new Hasura (image, env, JWT secret),
            # new metadata, any re-apply of metadata (a drift repair restores the same hash), or a re-made
            # template.
            triggers: dict[str, Any] = {"hasura": target.instance, "metadata": metadata.metadata_hash,
                                        "metadataApplied": metadata.applied_at}
            if jwt_template is not None:
                triggers["template"] = jwt_template.templateId
            smoke = SmokeCheck(f"{name}-smoke", smoke_check_args(
                settings, jwt, hasura_url=self.hasura_url, admin_secret=self.admin_secret, triggers=triggers,
                writes=settings.smoke.resolved_writes(pulumi.get_stack()),
            ), opts=pulumi.ResourceOptions(
                parent=self, depends_on=[metadata, *([jwt_template] if jwt_template else [])]))
            self.smoke_report = smoke.report
            # The failed report is already in the state and outputs; this makes `pulumi up` fail with it.
            fail_deploy_unless_passed(smoke)

        self.register_outputs({
            "graphql_url": self.graphql_url, "hasura_url": self.hasura_url, "healthz_url": self.healthz_url,
            "jwt_secret": self.jwt_secret, "jwks_url": self.jwks_url, "issuer": self.issuer,
            "jwt_template": self.jwt_template, "jwt_template_id": self.jwt_template_id,
            "admin_secret": self.admin_secret, "app_env": self.app_env, "metadata_hash": self.metadata_hash,
            "smoke_report": self.smoke_report, "target": self.target, "metadata_dir": self.metadata_dir,
            "target_outputs": self.target_outputs,
        })


def app_environment(settings: StackSettings, public_url: str) -> dict[str, str]:
    """What a Next.js app needs to reach this backend."""
    env = {
        "NEXT_PUBLIC_HASURA_GRAPHQL_URL": f"{public_url}/v1/graphql",
        "NEXT_PUBLIC_CLERK_JWT_TEMPLATE": settings.clerk.jwt_template,
    }
    if settings.clerk.publishable_key is not None:
        env["NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY"] = settings.clerk.publishable_key.strip()
    return env
