"""Problems that span several objects of the stack config (the target, `hasura`, `postgres`, the secrets).

Each object validates itself (`components.config.settings`); what only shows when objects are put together is
found here, all at once, so one run lists every problem. Each problem names its key and the fix.
"""

from __future__ import annotations

from components.config.settings import StackSettings


#: Shortest admin secret / password accepted from config; generated ones are 40 characters.
MIN_SECRET_LENGTH = 16


def container_problems(settings: StackSettings) -> list[str]:
    """Problems that span the `hasura` and `postgres` objects and the secrets they use; each names its key."""
    problems = []
    if settings.postgres.host_port is not None and settings.postgres.host_port == settings.hasura.port:
        problems.append(f"postgres.hostPort: {settings.postgres.host_port} is already hasura.port; two containers "
                        "cannot publish the same host port. Fix: choose another port for one of them (e.g. 5432)")
    for key, secret in (("hasuraAdminSecret", settings.hasura_admin_secret),
                        ("postgresPassword", settings.postgres_password)):
        if secret is None:
            continue
        value = secret.get_secret_value()
        if len(value) < MIN_SECRET_LENGTH:
            problems.append(f"{key}: is {len(value)} characters, fewer than {MIN_SECRET_LENGTH}. Fix: set a longer "
                            f"one (`openssl rand -hex 24`) with `pulumi config set --secret {key} …`, or remove it "
                            "and a strong one is generated once and kept")
        elif not value.isprintable() or value != value.strip():
            problems.append(f"{key}: contains spaces at the ends or control characters. Fix: set it again without "
                            f"them: `pulumi config set --secret {key} …`")
    return problems

