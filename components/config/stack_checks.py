"""Rules several targets apply to the stack config (`hasura.publicUrl`, the configured secrets, key names).

Each object validates itself (`components.config.settings`); what only shows when objects are put together is
each target's `problems` (`components.targets`), written with these, and the registry's refusal of the shared keys a
target does not read. Each problem names its key and the fix.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel

from components.config.containers import DEV_STACK
from components.config.settings import SharedSettings
from components.config.urls import is_plain_http_off_machine


#: Shortest admin secret / password accepted from config; generated ones are 40 characters.
MIN_SECRET_LENGTH = 16


def public_url_problems(settings: SharedSettings, stack: str, *, missing: str) -> list[str]:
    """On targets where the deploy reaches Hasura at `hasura.publicUrl`: `missing` when it is unset. The deploy sends
    the admin secret there, so plain http only to this machine, or on the dev stack."""
    url = settings.hasura.public_url
    if url is None:
        return [missing]
    if stack != DEV_STACK and is_plain_http_off_machine(urlsplit(url)):
        return [f"hasura.publicUrl: {url} is plain http, and the deploy sends the Hasura admin secret to it; on "
                f"stack `{stack}` that is refused. Fix: use the https URL of that Hasura"]
    return []


def secret_problems(settings: SharedSettings, stack: str) -> list[str]:
    """Configured admin secret and Postgres password of `stack`: long enough, and without characters that break
    them."""
    problems = []
    for key, secret in (("hasuraAdminSecret", settings.hasura_admin_secret),
                        ("postgresPassword", settings.postgres_password)):
        if secret is None:
            continue
        value = secret.get_secret_value()
        set_again = f"`clerk-hasura pulumi --stack {stack} config set --secret {key}`"
        if len(value) < MIN_SECRET_LENGTH:
            problems.append(f"{key}: is {len(value)} characters, fewer than {MIN_SECRET_LENGTH}. Fix: set a longer "
                            f"one (e.g. `openssl rand -hex 24`) with {set_again}, or remove it and a strong one is "
                            "generated once and kept")
        elif not value.isprintable() or value != value.strip():
            problems.append(f"{key}: contains spaces at the ends or control characters. Fix: set it again without "
                            f"them: {set_again}")
    return problems


def key_name(model: BaseModel, field: str) -> str:
    """The key of `field` as users type it (its camelCase alias)."""
    return type(model).model_fields[field].alias or field
