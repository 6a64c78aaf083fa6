"""Serves the `secretbox` package: the components' schema comes from their type annotations (the SDK's
ComponentProvider, what `component_provider_host` serves), and the provider also serves the generated secret
(components.providers.hosted: `component_provider_host` itself has no place for resources other than
components)."""

from pulumi.provider.experimental.component import ComponentProvider

from components.providers.generated_secret import GeneratedSecretProvider
from components.providers.hosted import serve
from secret_box import GENERATED_SECRET, DynamicSecretBox, SecretBox

if __name__ == "__main__":
    serve(ComponentProvider([SecretBox, DynamicSecretBox], "secretbox", None, "0.0.0"),
          {GENERATED_SECRET: GeneratedSecretProvider()})
