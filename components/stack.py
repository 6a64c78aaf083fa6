"""One stack's backend: Hasura trusting Clerk on the chosen target, its metadata, the Clerk JWT template, the
smoke check, and what apps consume.

The shared part is written once here; where Hasura runs is the target's business (`components.targets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.auth.jwt_secret import JwtSecret
from components.hasura.model import MetadataProject
from components.providers.clerk_jwt_template import ClerkJwtTemplate, template_args
from components.providers.generated_secret import secret_or_generated
from components.providers.hasura_metadata import HasuraMetadata, HasuraMetadataArgs
from components.providers.smoke_check import SmokeCheck, fail_deploy_unless_passed, smoke_check_args
from components.targets import StackSettings, health_hint, platform_schemas, target_named
from components.targets.base import HasuraTarget, TargetArgs


@dataclass(frozen=True)
class ClerkHasuraStackArgs:
    """Everything validated before the first resource is registered (`components.plan.plan_stack`)."""

    settings: StackSettings
    jwt_secret: JwtSecret
    metadata_project: MetadataProject
    project: str
    stack: str
    target_preflight: Any = None
    """What the target's preflight found (`StackPlan.target_preflight`), handed to its deploy."""


def deploy_target(args: TargetArgs) -> HasuraTarget:
    """The target named by `target` deploys Hasura (the registry imports only its module)."""
    return target_named(args.settings.target).deploy(args)


class ClerkHasuraStack(pulumi.ComponentResource):
    """Hasura on its target, with metadata, the Clerk template and the smoke check. Attributes are what apps and
    the stack outputs wire to."""

    target: HasuraTarget
    admin_secret: pulumi.Output[str]
    """Secret: `hasuraAdminSecret` from config, the platform's own (found by a hosted target's preflight), or generated
    once."""
    hasura_url: pulumi.Output[str]
    """Base URL from the machine running the deploy."""
    graphql_url: pulumi.Output[str]
    healthz_url: pulumi.Output[str]
    app_env: pulumi.Output[dict[str, str]]
    """Environment variables a Next.js app needs."""
    metadata: HasuraMetadata
    """Migrations and metadata of `metadata/`, applied once Hasura serves."""
    jwt_template: ClerkJwtTemplate | None
    """The Clerk JWT template, managed when `clerkSecretKey` is set and `clerk.claims` is `template`."""
    smoke_report: pulumi.Output[dict] | None
    """The post-deploy smoke check's report (when it ran, against what, each check); None when `smoke.enabled` is
    false."""

    def __init__(self, name: str, args: ClerkHasuraStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # The type token predates `components.stack`; changing it would change every child's URN.
        super().__init__("clerk-hasura:backend_stack:ClerkHasuraStack", name, None, opts)
        settings, jwt = args.settings, args.jwt_secret
        child = pulumi.ResourceOptions(parent=self)

        # A hosted platform may hold the admin secret itself (its preflight found it): then that one is used.
        platform_secret = getattr(args.target_preflight, "admin_secret", None)
        self.admin_secret = pulumi.Output.secret(platform_secret) if platform_secret is not None \
            else secret_or_generated(f"{name}-admin-secret", settings.hasura_admin_secret, child)
        self.target = deploy_target(TargetArgs(
            name=name, settings=settings, project=args.project, stack=args.stack, admin_secret=self.admin_secret,
            jwt_secret=pulumi.Output.secret(jwt.value) if jwt.holds_key else jwt.value, parent=self,
            preflight=args.target_preflight))
        self.hasura_url = pulumi.Output.from_input(self.target.deployer_url)
        public = pulumi.Output.from_input(self.target.public_url)
        self.graphql_url = public.apply(lambda url: f"{url}/v1/graphql")
        self.healthz_url = public.apply(lambda url: f"{url}/healthz")
        self.app_env = public.apply(lambda url: app_environment(settings, url))

        self.metadata = HasuraMetadata(f"{name}-metadata", HasuraMetadataArgs(
            hasura_url=self.hasura_url, admin_secret=self.admin_secret, project=args.metadata_project,
            platform_schemas=platform_schemas(settings.target),
            health_hint=health_hint(settings, args.project, args.stack),
        ), opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.target.serving)))

        template = template_args(settings) \
            if settings.clerk.claims == "template" else None
        self.jwt_template = None if template is None else ClerkJwtTemplate(f"{name}-jwt-template", template,
                                                                            opts=child)
        self.smoke_report = None
        if settings.smoke.enabled:
            # Rerun the check whenever what it proves may have changed: a new Hasura (image, env, JWT secret),
            # new metadata, any re-apply of metadata (a drift repair restores the same hash), or a re-made
            # template.
            triggers: dict[str, Any] = {"hasura": self.target.instance, "metadata": self.metadata.metadata_hash,
                                        "metadataApplied": self.metadata.applied_at}
            if self.jwt_template is not None:
                triggers["template"] = self.jwt_template.templateId
            smoke = SmokeCheck(f"{name}-smoke", smoke_check_args(
                settings, jwt, hasura_url=self.hasura_url, admin_secret=self.admin_secret, triggers=triggers,
                writes=settings.smoke.resolved_writes(args.stack),
            ), opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.metadata, *([self.jwt_template] if self.jwt_template else [])]))
            self.smoke_report = smoke.report
            # The failed report is already in the state and outputs; this makes `pulumi up` fail with it.
            fail_deploy_unless_passed(smoke)

        self.register_outputs({
            "admin_secret": self.admin_secret, "hasura_url": self.hasura_url, "graphql_url": self.graphql_url,
            "healthz_url": self.healthz_url, "app_env": self.app_env, "metadata_hash": self.metadata.metadata_hash,
            "smoke_report": self.smoke_report,
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
