"""A team's own Pulumi program: Hasura trusting Clerk sign-ins, through the ClerkHasura component of the
clerk-hasura package (installed into ./venv), on a Hasura the team already runs (target `existing`); the
metadata and migrations it applies are this project's own metadata/ folder."""

import pulumi

from components.component import ClerkArgs, ClerkHasura, ClerkHasuraArgs, HasuraArgs

config = pulumi.Config()
backend = ClerkHasura("backend", ClerkHasuraArgs(
    target="existing",
    clerk=ClerkArgs(
        publishable_key=config.require("publishableKey"),
        # Unset (None) unless the JWKS or Clerk's Backend API is somewhere else than Clerk's own (a proxy).
        jwks_url=config.get("jwksUrl"),
        api_url=config.get("clerkApiUrl"),
    ),
    hasura=HasuraArgs(public_url=config.require("hasuraUrl")),
    # Secret config values, read as plain strings: the component keeps them, and all it makes of them, secret.
    hasura_admin_secret=config.require("hasuraAdminSecret"),
    clerk_secret_key=config.require("clerkSecretKey"),
))

pulumi.export("graphqlUrl", backend.graphql_url)
pulumi.export("hasuraAdminSecret", backend.admin_secret)
pulumi.export("jwtSecret", backend.jwt_secret)
pulumi.export("appEnv", backend.app_env)
pulumi.export("metadataHash", backend.metadata_hash)
pulumi.export("smoke", backend.smoke_report)
