"""Problems that span several objects of the stack config (the target, `hasura`, `postgres`, the secrets).

Each object validates itself (`components.config.settings`); what only shows when objects are put together is
found here, all at once, so one run lists every problem. Each problem names its key and the fix.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from components.config.containers import DEV_STACK
from components.config.settings import StackSettings
from components.config.urls import is_plain_http_off_machine


#: Shortest admin secret / password accepted from config; generated ones are 40 characters.
MIN_SECRET_LENGTH = 16


def stack_problems(settings: StackSettings, stack: str) -> list[str]:
    """Every problem of the target and of the container objects together; each names its key and the fix."""
    if settings.target == "kubernetes":
        return kubernetes_target_problems(settings, stack) + secret_problems(settings)
    problems = unread_kubernetes_problems(settings)
    if settings.target == "existing":
        # That Hasura's admin secret is whatever it was given there: not ours to judge by length.
        return problems + existing_target_problems(settings, stack)
    return problems + docker_target_problems(settings) + secret_problems(settings)


def existing_target_problems(settings: StackSettings, stack: str) -> list[str]:
    """An existing Hasura needs its URL and admin secret; container settings would silently do nothing there."""
    problems = public_url_problems(settings, stack, missing=(
        "hasura.publicUrl: required with target `existing`: the base URL of the running Hasura. Fix: `pulumi config "
        "set --path hasura.publicUrl https://<project>.hasura.app` (no /v1/graphql)"))
    if settings.hasura_admin_secret is None:
        problems.append("hasuraAdminSecret: required with target `existing`: the deploy applies metadata with that "
                        "Hasura's admin secret (HASURA_GRAPHQL_ADMIN_SECRET). Fix: `pulumi config set --secret "
                        "hasuraAdminSecret …` (or CLERK_HASURA_HASURA_ADMIN_SECRET in CI)")
    for key in sorted(settings.hasura.model_fields_set - {"public_url"}):
        alias = type(settings.hasura).model_fields[key].alias or key
        problems.append(f"hasura.{alias}: the `existing` target runs no Hasura container, so this key would do "
                        "nothing. Fix: set it on that Hasura itself (its HASURA_GRAPHQL_* environment variables) "
                        "and remove the key")
    for key in sorted(settings.postgres.model_fields_set):
        alias = type(settings.postgres).model_fields[key].alias or key
        problems.append(f"postgres.{alias}: the `existing` target creates no Postgres; that Hasura uses its own "
                        "database. Fix: remove the key")
    for key, value in (("postgresPassword", settings.postgres_password), ("databaseUrl", settings.database_url)):
        if value is not None:
            problems.append(f"{key}: the `existing` target creates no Postgres and does not configure Hasura's "
                            f"database. Fix: remove it (`pulumi config rm {key}`); give that Hasura its database "
                            "URL where it runs (Hasura Cloud: project settings, env vars)")
    return problems


def public_url_problems(settings: StackSettings, stack: str, *, missing: str) -> list[str]:
    """On targets where the deploy reaches Hasura at `hasura.publicUrl`: `missing` when it is unset. The deploy sends
    the admin secret there, so plain http only to this machine, or on the dev stack."""
    url = settings.hasura.public_url
    if url is None:
        return [missing]
    if stack != DEV_STACK and is_plain_http_off_machine(urlsplit(url)):
        return [f"hasura.publicUrl: {url} is plain http, and the deploy sends the Hasura admin secret to it; on "
                f"stack `{stack}` that is refused. Fix: use the https URL of that Hasura"]
    return []


def docker_target_problems(settings: StackSettings) -> list[str]:
    """Problems that span the `hasura` and `postgres` objects; each names its key."""
    problems = []
    if settings.database_url is not None:
        for key in sorted(settings.postgres.model_fields_set):
            alias = type(settings.postgres).model_fields[key].alias or key
            problems.append(f"postgres.{alias}: `databaseUrl` replaces the Postgres container, so this key would "
                            "do nothing. Fix: remove the key (or remove databaseUrl to run Postgres in Docker)")
        if settings.postgres_password is not None:
            problems.append("postgresPassword: `databaseUrl` replaces the Postgres container and carries its own "
                            "password. Fix: `pulumi config rm postgresPassword`")
    if settings.postgres.host_port is not None and settings.postgres.host_port == settings.hasura.port:
        problems.append(f"postgres.hostPort: {settings.postgres.host_port} is already hasura.port; two containers "
                        "cannot publish the same host port. Fix: choose another port for one of them (e.g. 5432)")
    return problems


def secret_problems(settings: StackSettings) -> list[str]:
    """Configured admin secret and Postgres password: long enough, and without characters that break them."""
    problems = []
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


#: Keys that configure Docker containers only, and why each does nothing on the `kubernetes` target.
_DOCKER_ONLY_KEYS = {
    ("hasura", "port"): "Hasura publishes no host port there; it listens on 8080 behind the Service `hasura`. "
                        "Fix: remove the key; the deploy and apps outside the cluster use hasura.publicUrl",
    ("hasura", "bind_address"): "Hasura publishes no host port there; it listens on 8080 behind the Service "
                                "`hasura`. Fix: remove the key; the deploy and apps outside the cluster use "
                                "hasura.publicUrl",
    ("postgres", "host_port"): "the in-cluster Postgres is reachable only inside the cluster (Service `postgres`). "
                               "Fix: remove the key; from this machine use `kubectl port-forward "
                               "statefulset/postgres 5432:5432 -n <namespace>`",
    ("postgres", "protect_volume"): "the data volume claim is always kept there (retained on destroy, on "
                                    "replacement and on scale-down). Fix: remove the key",
}


def kubernetes_target_problems(settings: StackSettings, stack: str) -> list[str]:
    """The deploy reaches Hasura through `hasura.publicUrl`; Docker-only keys and, with `databaseUrl`, the in-cluster
    Postgres keys would silently do nothing."""
    problems = public_url_problems(settings, stack, missing=(
        "hasura.publicUrl: required with target `kubernetes`: the URL at which this machine reaches Hasura (an "
        "Ingress or load balancer) to apply metadata and run the smoke check. Fix: `pulumi config set --path "
        "hasura.publicUrl https://graphql.example.com` (no /v1/graphql)"))
    for (section, key), why in _DOCKER_ONLY_KEYS.items():
        model = getattr(settings, section)
        if key in model.model_fields_set:
            alias = type(model).model_fields[key].alias or key
            problems.append(f"{section}.{alias}: the `kubernetes` target ignores it: {why}")
    if settings.database_url is not None:
        for key in sorted(settings.postgres.model_fields_set - {key for section, key in _DOCKER_ONLY_KEYS
                                                                if section == "postgres"}):
            alias = type(settings.postgres).model_fields[key].alias or key
            problems.append(f"postgres.{alias}: `databaseUrl` replaces the in-cluster Postgres, so this key would do "
                            "nothing. Fix: remove the key (or remove databaseUrl to run Postgres in the cluster)")
        if "postgres_storage" in settings.kubernetes.model_fields_set:
            problems.append("kubernetes.postgresStorage: `databaseUrl` replaces the in-cluster Postgres, so no volume "
                            "claim is made. Fix: remove the key (or remove databaseUrl to run Postgres in the cluster)")
        if settings.postgres_password is not None:
            problems.append("postgresPassword: `databaseUrl` replaces the in-cluster Postgres and carries its own "
                            "password. Fix: `pulumi config rm postgresPassword`")
    return problems + settings.kubernetes.problems()


def unread_kubernetes_problems(settings: StackSettings) -> list[str]:
    """The `kubernetes` object is read by the `kubernetes` target only."""
    fields = type(settings.kubernetes).model_fields
    return [f"kubernetes.{fields[key].alias or key}: only the `kubernetes` target reads it, and this stack's target is "
            f"`{settings.target}`. Fix: remove the key (or set `target: kubernetes`)"
            for key in sorted(settings.kubernetes.model_fields_set)]
