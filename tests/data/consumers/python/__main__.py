"""A Python Pulumi program using the clerk-hasura package through the SDK `pulumi package add` generates: Hasura you
already run (target `existing`) trusting your Clerk instance, with this project's metadata/ applied and the smoke
check run. Add the package first:
    pulumi package add <clerk-hasura checkout>/provider
(it generates the SDK into sdks/clerk-hasura and adds it to requirements.txt), set the config, then `pulumi up`.
(A Python program may also import the component itself: `from components.component import ClerkHasura`.)"""

import pulumi
import pulumi_clerk_hasura as clerk_hasura

config = pulumi.Config()
backend = clerk_hasura.ClerkHasura(
    "backend",
    target="existing",
    metadata_dir=config.get("metadataDir") or "metadata",
    clerk=clerk_hasura.ClerkArgs(
        publishable_key=config.require("publishableKey"),
        jwks_url=config.require("jwksUrl"),
        api_url=config.get("clerkApiUrl") or "https://api.clerk.com",
    ),
    hasura=clerk_hasura.HasuraArgs(public_url=config.require("hasuraUrl")),
    hasura_admin_secret=config.require_secret("hasuraAdminSecret"),
    clerk_secret_key=config.require_secret("clerkSecretKey"),
)

# What a Next.js app's .env needs, and whether the deploy was proven to work.
pulumi.export("graphqlUrl", backend.graphql_url)
pulumi.export("appEnv", backend.app_env)
pulumi.export("adminSecret", backend.admin_secret)
pulumi.export("smokePassed", backend.smoke_report.apply(lambda report: bool(report and report.get("passed"))))
