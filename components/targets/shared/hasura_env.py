"""Hasura's environment, the same on every target that runs Hasura (hasura.md §3.2).

Pure: no Pulumi here. Split in what carries secrets (a Docker container gets it inline, a Kubernetes pod from a
Secret) and the server switches, whose defaults follow the stack (the console and dev mode on `dev` only).
"""

from __future__ import annotations

from components.config.containers import HasuraSettings

#: Port Hasura listens on in its container. Fixed: the image's own health check hardcodes it (hasura.md §3.1).
CONTAINER_PORT = 8080
#: Env var the metadata's `databases.yaml` reads the app database URL from (`from_env`), so no password is
#: ever part of the metadata.
APP_DATABASE_URL_ENV = "PG_DATABASE_URL"
#: The variables that carry secrets (the database URL holds the password), in the order they are set.
SECRET_VARIABLES = ("HASURA_GRAPHQL_METADATA_DATABASE_URL", APP_DATABASE_URL_ENV, "HASURA_GRAPHQL_ADMIN_SECRET",
                    "HASURA_GRAPHQL_JWT_SECRET")


def hasura_secret_environment(*, database_url: str, admin_secret: str, jwt_secret: str) -> dict[str, str]:
    """The `SECRET_VARIABLES` and their values. Hasura keeps its metadata in the app database."""
    return dict(zip(SECRET_VARIABLES, (database_url, database_url, admin_secret, jwt_secret), strict=True))


def hasura_switches(settings: HasuraSettings, stack: str) -> dict[str, str]:
    """The server's switches, none of them secret, with the defaults of `stack` resolved."""
    env = {
        "HASURA_GRAPHQL_ENABLE_CONSOLE": _flag(settings.resolved_console(stack)),
        "HASURA_GRAPHQL_DEV_MODE": _flag(settings.resolved_dev_mode(stack)),
        "HASURA_GRAPHQL_ENABLED_LOG_TYPES": ", ".join(settings.resolved_log_types(stack)),
        "HASURA_GRAPHQL_ENABLED_APIS": ",".join(settings.resolved_enabled_apis(stack)),
    }
    if settings.unauthorized_role is not None:
        env["HASURA_GRAPHQL_UNAUTHORIZED_ROLE"] = settings.unauthorized_role
    if settings.cors_domains is not None:
        env["HASURA_GRAPHQL_CORS_DOMAIN"] = ", ".join(settings.cors_domains)
    return env


def hasura_environment(settings: HasuraSettings, stack: str, *, database_url: str, admin_secret: str,
                       jwt_secret: str) -> list[str]:
    """The whole environment as `KEY=VALUE` entries, in a fixed order (a container's env list)."""
    env = {
        "HASURA_GRAPHQL_SERVER_PORT": str(CONTAINER_PORT),
        **hasura_secret_environment(database_url=database_url, admin_secret=admin_secret, jwt_secret=jwt_secret),
        **hasura_switches(settings, stack),
    }
    return [f"{key}={value}" for key, value in env.items()]


def _flag(value: bool) -> str:
    return "true" if value else "false"
