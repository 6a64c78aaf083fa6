"""The clerk-hasura Pulumi program: the stack config as `ClerkHasura`'s arguments, the component, its outputs as the
stack outputs (what scripts/deploy, the workflows, the CLI commands and apps read)."""

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from components.component import ClerkHasura, arguments_from_settings
from components.errors import ClerkHasuraError
from components.targets import SCALAR_KEYS, TOP_LEVEL_KEYS, load_settings

#: The component's type before it was `ClerkHasura` (`ClerkHasuraStack`): a stack deployed by an earlier release
#: holds it in every URN, so the alias keeps the component and its children (their names start with its name).
PREVIOUS_TYPE = "clerk-hasura:backend_stack:ClerkHasuraStack"


def read_stack_config() -> dict:
    config = pulumi.Config()
    prefix = f"{pulumi.get_project()}:"
    # Every key of this project's namespace, so a misspelled top-level key is reported instead of ignored.
    set_keys = {key.removeprefix(prefix) for key in {**get_config_env(), **CONFIG.get()} if key.startswith(prefix)}
    raw: dict = {key: config.get(key) for key in set_keys - set(TOP_LEVEL_KEYS)}
    raw |= {key: config.get_object(key) for key in TOP_LEVEL_KEYS if key not in SCALAR_KEYS}
    # Secrets are read as plain strings only to validate them; the component keeps every value derived from them
    # secret, so they stay encrypted in state.
    raw |= {key: config.get(key) for key in SCALAR_KEYS}
    return raw


# The settings' own problems (and the CI's secret overrides from the environment) as the stack config names them;
# the component checks everything else before it registers anything.
try:
    settings = load_settings(read_stack_config())
except ClerkHasuraError as error:
    raise pulumi.RunError(str(error)) from None

backend = ClerkHasura("backend", arguments_from_settings(settings),
                      opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=PREVIOUS_TYPE)]),
                      settings_from="stack config")

pulumi.export("jwtSecret", backend.jwt_secret)
pulumi.export("jwksUrl", backend.jwks_url)
pulumi.export("issuer", backend.issuer)
pulumi.export("jwtTemplate", backend.jwt_template)
pulumi.export("graphqlUrl", backend.graphql_url)
pulumi.export("hasuraUrl", backend.hasura_url)
pulumi.export("healthzUrl", backend.healthz_url)
pulumi.export("hasuraAdminSecret", backend.admin_secret)
for name, value in backend.target_outputs.items():
    pulumi.export(name, value)
pulumi.export("appEnv", backend.app_env)
pulumi.export("metadataHash", backend.metadata_hash)
# What the CI commands (drift, status, export) need to read the stack's project as the deploy did.
pulumi.export("target", backend.target)
pulumi.export("metadataDir", backend.metadata_dir)
if backend.jwt_template_id is not None:
    pulumi.export("jwtTemplateId", backend.jwt_template_id)
if backend.smoke_report is not None:
    pulumi.export("smoke", backend.smoke_report)
