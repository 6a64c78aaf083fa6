"""The clerk-hasura Pulumi program: read settings, build the stack, export outputs."""

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from components.stack import ClerkHasuraStack, ClerkHasuraStackArgs
from components.errors import ClerkHasuraError
from components.targets import SCALAR_KEYS, TOP_LEVEL_KEYS
from components.plan import plan_stack


def read_stack_config() -> dict:
    config = pulumi.Config()
    prefix = f"{pulumi.get_project()}:"
    # Every key of this project's namespace, so a misspelled top-level key is reported instead of ignored.
    set_keys = {key.removeprefix(prefix) for key in {**get_config_env(), **CONFIG.get()} if key.startswith(prefix)}
    raw: dict = {key: config.get(key) for key in set_keys - set(TOP_LEVEL_KEYS)}
    raw |= {key: config.get_object(key) for key in TOP_LEVEL_KEYS if key not in SCALAR_KEYS}
    # Secrets are read as plain strings only to validate them; every value derived from them is exported
    # through pulumi.Output.secret, so they stay encrypted in state.
    raw |= {key: config.get(key) for key in SCALAR_KEYS}
    return raw


# Everything is validated (the JWKS reached, metadata/ loaded) before the first resource is registered.
try:
    plan = plan_stack(read_stack_config(), pulumi.get_stack())
except ClerkHasuraError as error:
    raise pulumi.RunError(str(error)) from None
settings, jwt_secret = plan.settings, plan.jwt_secret

backend = ClerkHasuraStack("backend", ClerkHasuraStackArgs(
    settings=settings, jwt_secret=jwt_secret, metadata_project=plan.metadata_project,
    project=pulumi.get_project(), stack=pulumi.get_stack(), target_preflight=plan.target_preflight))

pulumi.export("jwtSecret", pulumi.Output.secret(jwt_secret.value) if jwt_secret.holds_key else jwt_secret.value)
pulumi.export("jwksUrl", jwt_secret.jwks_url)
pulumi.export("issuer", jwt_secret.issuer)
pulumi.export("jwtTemplate", settings.clerk.jwt_template)
pulumi.export("graphqlUrl", backend.graphql_url)
pulumi.export("hasuraUrl", backend.hasura_url)
pulumi.export("healthzUrl", backend.healthz_url)
pulumi.export("hasuraAdminSecret", backend.admin_secret)
for name, value in backend.target.outputs.items():
    pulumi.export(name, value)
pulumi.export("appEnv", backend.app_env)
pulumi.export("metadataHash", backend.metadata.metadata_hash)
# What the CI commands (drift, status, export) need to read the stack's project as the deploy did.
pulumi.export("target", settings.target)
pulumi.export("metadataDir", settings.metadata_dir)
if backend.jwt_template is not None:
    pulumi.export("jwtTemplateId", backend.jwt_template.templateId)
if backend.smoke_report is not None:
    pulumi.export("smoke", backend.smoke_report)
