"""One stack's backend: a private network, Postgres, and Hasura trusting Clerk, plus what apps consume."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker
from pydantic import SecretStr

from components.providers.clerk_jwt_template import ClerkJwtTemplate, template_args
from components.targets.docker.database import Database, DatabaseArgs
from components.targets.docker.engine import Engine, EngineArgs
from components.providers.generated_secret import GeneratedSecret
from components.providers.hasura_metadata import HasuraMetadata, HasuraMetadataArgs
from components.auth.jwt_secret import JwtSecret
from components.hasura.loader import MetadataProject
from components.config.settings import StackSettings
from components.providers.smoke_check import SmokeCheck, smoke_check_args


@dataclass(frozen=True)
class ClerkHasuraStackArgs:
    """Everything validated before the first resource is registered (`components.plan.plan_stack`)."""

    settings: StackSettings
    jwt_secret: JwtSecret
    metadata_project: MetadataProject
    project: str
    stack: str


def docker_name_prefix(project: str, stack: str) -> str:
    """The prefix of every container, network and volume name: two stacks on one host never share a name."""
    return f"{project}-{stack}"


class ClerkHasuraStack(pulumi.ComponentResource):
    """Postgres + Hasura on a private network. Attributes are what later resources and apps wire to."""

    network_name: pulumi.Output[str]
    database: Database
    engine: Engine
    postgres_container: docker.Container
    hasura_container: docker.Container
    """Created healthy; `depends_on` this to run after Hasura is up."""
    admin_secret: pulumi.Output[str]
    """Secret: `hasuraAdminSecret` from config, or generated once."""
    database_url: pulumi.Output[str]
    """Secret: the URL Hasura connects with (valid on the stack network)."""
    postgres_url: pulumi.Output[str]
    """Secret: from the Docker host when `postgres.hostPort` is set, else on the stack network."""
    hasura_url: pulumi.Output[str]
    """Base URL from the machine running the deploy, e.g. http://127.0.0.1:8080."""
    public_url: pulumi.Output[str]
    """Base URL apps use: `hasura.publicUrl`, else `hasura_url`."""
    graphql_url: pulumi.Output[str]
    healthz_url: pulumi.Output[str]
    app_env: pulumi.Output[dict[str, str]]
    """Environment variables a Next.js app needs."""
    metadata: HasuraMetadata
    """Migrations and metadata of `metadata/`, applied once Hasura is healthy."""
    jwt_template: ClerkJwtTemplate | None
    """The Clerk JWT template, managed when `clerkSecretKey` is set and `clerk.claims` is `template`."""
    smoke_report: pulumi.Output[list] | None
    """The post-deploy smoke check's report; None when `smoke.enabled` is false."""

    def __init__(self, name: str, args: ClerkHasuraStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("clerk-hasura:backend_stack:ClerkHasuraStack", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        docker_name = docker_name_prefix(args.project, args.stack)
        labels = {"clerk-hasura.project": args.project, "clerk-hasura.stack": args.stack}

        # A user-defined bridge, not `internal`: Hasura must reach Clerk's JWKS, and Docker publishes no ports
        # from internal networks. Postgres stays private by publishing nothing unless `postgres.hostPort` is set.
        network = docker.Network(
            f"{name}-network", name=docker_name,
            labels=[docker.NetworkLabelArgs(label=k, value=v) for k, v in sorted(labels.items())], opts=child)
        self.network_name = network.name

        self.admin_secret = _secret_or_generated(f"{name}-admin-secret", settings.hasura_admin_secret, child)
        postgres_password = _secret_or_generated(f"{name}-postgres-password", settings.postgres_password, child)

        self.database = Database(f"{name}-postgres", DatabaseArgs(
            settings=settings.postgres, docker_name=docker_name, network_name=network.name,
            password=postgres_password, protect_volume=settings.postgres.resolved_protect_volume(args.stack),
            labels=labels,
        ), opts=child)
        self.postgres_container = self.database.container
        self.database_url = self.database.internal_url
        self.postgres_url = pulumi.Output.secret(
            self.database.host_url if settings.postgres.host_port is not None else self.database.internal_url)

        jwt = args.jwt_secret
        self.engine = Engine(f"{name}-hasura", EngineArgs(
            settings=settings.hasura, stack=args.stack, docker_name=docker_name, network_name=network.name,
            database_url=self.database_url, admin_secret=self.admin_secret,
            jwt_secret=pulumi.Output.secret(jwt.value) if jwt.holds_key else jwt.value,
            depends_on=[self.database.container], labels=labels,
        ), opts=child)
        self.hasura_container = self.engine.container
        self.hasura_url = self.engine.url
        public = settings.hasura.public_url or settings.hasura.local_url()
        self.public_url = pulumi.Output.from_input(public)
        self.graphql_url = pulumi.Output.from_input(f"{public}/v1/graphql")
        self.healthz_url = pulumi.Output.from_input(f"{public}/healthz")
        app_env = {
            "NEXT_PUBLIC_HASURA_GRAPHQL_URL": f"{public}/v1/graphql",
            "NEXT_PUBLIC_CLERK_JWT_TEMPLATE": settings.clerk.jwt_template,
        }
        if settings.clerk.publishable_key is not None:
            app_env["NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY"] = settings.clerk.publishable_key.strip()
        self.app_env = pulumi.Output.from_input(app_env)

        self.metadata = HasuraMetadata(f"{name}-metadata", HasuraMetadataArgs(
            hasura_url=self.hasura_url, admin_secret=self.admin_secret, project=args.metadata_project,
        ), opts=pulumi.ResourceOptions(parent=self, depends_on=[self.hasura_container]))

        template = template_args(settings) if settings.clerk.claims == "template" else None
        self.jwt_template = None if template is None else ClerkJwtTemplate(f"{name}-jwt-template", template,
                                                                            opts=child)
        self.smoke_report = None
        if settings.smoke.enabled:
            # Rerun the check whenever what it proves may have changed: a new Hasura container (image, env,
            # JWT secret), new metadata, or a re-made template.
            triggers = {"hasura": self.hasura_container.id, "metadata": self.metadata.metadata_hash}
            if self.jwt_template is not None:
                triggers["template"] = self.jwt_template.templateId
            smoke = SmokeCheck(f"{name}-smoke", smoke_check_args(
                settings, jwt, hasura_url=self.hasura_url, admin_secret=self.admin_secret, triggers=triggers,
            ), opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.metadata, *([self.jwt_template] if self.jwt_template else [])]))
            self.smoke_report = smoke.report

        self.register_outputs({
            "network_name": self.network_name, "admin_secret": self.admin_secret, "database_url": self.database_url,
            "postgres_url": self.postgres_url, "hasura_url": self.hasura_url, "graphql_url": self.graphql_url,
            "healthz_url": self.healthz_url, "app_env": self.app_env, "metadata_hash": self.metadata.metadata_hash,
            "smoke_report": self.smoke_report,
        })


def _secret_or_generated(name: str, configured: SecretStr | None, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """The configured secret, or one generated at the first deploy and kept in state afterwards."""
    if configured is not None:
        return pulumi.Output.secret(configured.get_secret_value())
    return pulumi.Output.secret(GeneratedSecret(name, opts=opts).value)
