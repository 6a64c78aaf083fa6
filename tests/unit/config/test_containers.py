"""The `hasura` and `postgres` config objects: defaults per stack, and bad input naming the key and the fix."""

from __future__ import annotations

import pytest

from components.config.containers import DEFAULT_HASURA_IMAGE, DEFAULT_POSTGRES_IMAGE, HasuraSettings, \
    PostgresSettings
from components.targets import stack_problems
from components.targets.docker.engine import hasura_environment
from components.config.settings import SettingsError
from components.targets import load_settings

CLERK = {"publishableKey": "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA"}


def settings(**raw):
    return load_settings({"clerk": CLERK, **raw}, environ={})


def problems_of(**raw) -> list[str]:
    try:
        loaded = settings(**raw)
    except SettingsError as error:
        return error.problems
    return stack_problems(loaded, "dev")


@pytest.mark.parametrize("raw, expected", [
    # ports
    ({"hasura": {"port": 0}}, "hasura.port: 0 is not a TCP port. Fix: use a port between 1 and 65535"),
    ({"hasura": {"port": 65536}}, "hasura.port: 65536 is not a TCP port"),
    ({"hasura": {"port": "http"}}, "hasura.port: "),
    ({"postgres": {"hostPort": -1}}, "postgres.hostPort: -1 is not a TCP port"),
    ({"postgres": {"hostPort": 8080}}, "postgres.hostPort: 8080 is already hasura.port; two containers cannot "
                                       "publish the same host port. Fix:"),
    ({"hasura": {"port": 5432}, "postgres": {"hostPort": 5432}}, "postgres.hostPort: 5432 is already hasura.port"),
    # images
    ({"hasura": {"image": "hasura/graphql-engine"}}, "hasura.image: 'hasura/graphql-engine' has no tag, so every "
                                                     "pull may bring a different version. Fix: pin an exact tag, e.g. "
                                                     + DEFAULT_HASURA_IMAGE),
    ({"hasura": {"image": "hasura/graphql-engine:latest"}}, "hasura.image: 'hasura/graphql-engine:latest' uses "
                                                            "`latest`"),
    ({"postgres": {"image": "postgres"}}, "postgres.image: 'postgres' has no tag"),
    ({"postgres": {"image": "postgres:latest"}}, f"e.g. {DEFAULT_POSTGRES_IMAGE}"),
    ({"postgres": {"image": "registry.local:5000/postgres"}}, "postgres.image: 'registry.local:5000/postgres' has "
                                                              "no tag"),
    ({"hasura": {"image": "hasura/graphql-engine@sha256:abc"}}, "hasura.image: 'hasura/graphql-engine@sha256:abc' has "
                                                                "a malformed digest"),
    ({"hasura": {"image": ""}}, "hasura.image: '' is not an image reference"),
    # unknown keys (typos name the key and suggest the right one)
    ({"hasura": {"bindAdress": "0.0.0.0"}}, "hasura.bindAdress: unknown key. Fix: did you mean `hasura.bindAddress`?"),
    ({"hasura": {"corsDomain": ["http://a.b"]}}, "hasura.corsDomain: unknown key. Fix: did you mean "
                                                 "`hasura.corsDomains`?"),
    ({"postgres": {"hostport": 5432}}, "postgres.hostport: unknown key. Fix: did you mean `postgres.hostPort`?"),
    ({"postgres": {"password": "x" * 20}}, "postgres.password: unknown key. Fix:"),
    # CORS
    ({"hasura": {"corsDomains": ["localhost:3000"]}}, "hasura.corsDomains: 'localhost:3000' is not an origin with a "
                                                      "scheme. Fix: write it as Hasura expects, with http:// or "
                                                      "https://"),
    ({"hasura": {"corsDomains": ["ftp://files.example.com"]}}, "hasura.corsDomains: 'ftp://files.example.com' is not "
                                                               "an origin with a scheme"),
    ({"hasura": {"corsDomains": ["https://app.example.com/path"]}}, "'https://app.example.com/path' is not an origin"),
    ({"hasura": {"corsDomains": []}}, "hasura.corsDomains: is empty"),
    ({"hasura": {"corsDomains": ["*", "https://a.example.com"]}}, "hasura.corsDomains: mixes `*` with other entries"),
    ({"hasura": {"corsDomains": "https://app.example.com"}}, "hasura.corsDomains: "),
    # bind address / public URL
    ({"hasura": {"bindAddress": "localhost"}}, "hasura.bindAddress: 'localhost' is not an IP address. Fix: use "
                                               "127.0.0.1"),
    ({"hasura": {"bindAddress": "300.1.1.1"}}, "hasura.bindAddress: '300.1.1.1' is not an IP address"),
    ({"hasura": {"publicUrl": "graphql.example.com"}}, "hasura.publicUrl: 'graphql.example.com' is not an http(s) "
                                                       "base URL"),
    # server switches
    ({"hasura": {"unauthorizedRole": "admin"}}, "hasura.unauthorizedRole: must not be `admin`"),
    ({"hasura": {"unauthorizedRole": " "}}, "hasura.unauthorizedRole: ' ' is not a role name"),
    ({"hasura": {"logTypes": ["startup", "sql-log"]}}, "hasura.logTypes: unknown log type 'sql-log'. Fix: use some of"),
    ({"hasura": {"logTypes": []}}, "hasura.logTypes: is empty. Fix: use some of"),
    ({"hasura": {"enabledApis": ["graphql"]}}, "hasura.enabledApis: lacks metadata: the deploy applies metadata"),
    ({"hasura": {"enabledApis": ["metadata", "graphql", "admin"]}}, "hasura.enabledApis: unknown API 'admin'"),
    ({"hasura": {"console": "maybe"}}, "hasura.console: "),
    # postgres identifiers
    ({"postgres": {"database": "my-app"}}, "postgres.database: 'my-app' is not a plain identifier"),
    ({"postgres": {"user": "1user"}}, "postgres.user: '1user' is not a plain identifier"),
    # secrets from config
    ({"hasuraAdminSecret": "short"}, "hasuraAdminSecret: is 5 characters, fewer than 16. Fix: set a longer one"),
    ({"hasuraAdminSecret": "short"}, "with `clerk-hasura pulumi --stack dev config set --secret hasuraAdminSecret`"),
    ({"postgresPassword": " padded-password-value "}, "postgresPassword: contains spaces at the ends"),
    ({"postgresPassword": "line\nbreak-in-the-password"}, "postgresPassword: contains spaces at the ends or control"),
])
def test_bad_input_names_the_key_what_was_wrong_and_the_fix(raw, expected):
    problems = problems_of(**raw)
    assert any(expected in problem for problem in problems), problems
    assert all("Fix" in problem for problem in problems), problems


def test_secret_values_are_never_quoted_in_problems():
    problems = problems_of(hasuraAdminSecret="tiny-secret", postgresPassword=" spaced-password-value ")
    assert len(problems) == 2
    assert not any("tiny-secret" in p or "spaced-password" in p for p in problems)


def test_defaults():
    loaded = settings()
    assert loaded.hasura == HasuraSettings()
    assert loaded.hasura.image == DEFAULT_HASURA_IMAGE and loaded.postgres.image == DEFAULT_POSTGRES_IMAGE
    assert loaded.hasura.port == 8080 and loaded.hasura.bind_address == "127.0.0.1"
    assert loaded.postgres == PostgresSettings()
    assert loaded.postgres.host_port is None and loaded.postgres.database == "app"
    assert stack_problems(loaded, "dev") == []


@pytest.mark.parametrize("stack, console, apis, query_log, protect", [
    ("dev", True, ["metadata", "graphql", "pgdump", "config"], True, False),
    ("staging", False, ["metadata", "graphql", "config"], False, True),
    ("prod", False, ["metadata", "graphql", "config"], False, True),
    ("development", False, ["metadata", "graphql", "config"], False, True),
])
def test_stack_dependent_defaults(stack, console, apis, query_log, protect):
    hasura, postgres = HasuraSettings(), PostgresSettings()
    assert hasura.resolved_console(stack) is console
    assert hasura.resolved_dev_mode(stack) is console
    assert hasura.resolved_enabled_apis(stack) == apis
    assert ("query-log" in hasura.resolved_log_types(stack)) is query_log
    assert postgres.resolved_protect_volume(stack) is protect


def test_explicit_settings_win_over_stack_defaults():
    hasura = HasuraSettings(console=False, dev_mode=False, log_types=["startup"], enabled_apis=["metadata", "graphql"])
    assert not hasura.resolved_console("dev") and not hasura.resolved_dev_mode("dev")
    assert hasura.resolved_log_types("dev") == ["startup"]
    assert hasura.resolved_enabled_apis("dev") == ["metadata", "graphql"]
    assert PostgresSettings(protect_volume=True).resolved_protect_volume("dev") is True
    assert HasuraSettings(console=True).resolved_console("prod") is True


@pytest.mark.parametrize("bind_address, port, url", [
    ("127.0.0.1", 8080, "http://127.0.0.1:8080"),
    ("0.0.0.0", 9000, "http://127.0.0.1:9000"),
    ("::", 8080, "http://[::1]:8080"),
    ("::1", 8080, "http://[::1]:8080"),
    ("192.168.1.20", 8080, "http://192.168.1.20:8080"),
])
def test_local_url_reaches_hasura_from_this_machine(bind_address, port, url):
    assert HasuraSettings(bind_address=bind_address, port=port).local_url() == url


def test_accepted_forms():
    hasura = HasuraSettings.model_validate({
        "image": "registry.local:5000/hasura/graphql-engine:v2.48.16-ce",
        "corsDomains": ["http://localhost:3000", "https://*.example.com", "https://app.example.com:8443"],
        "publicUrl": "https://graphql.example.com/",
        "bindAddress": " 0.0.0.0 ",
    })
    assert hasura.public_url == "https://graphql.example.com"
    assert hasura.bind_address == "0.0.0.0"
    assert HasuraSettings(cors_domains=["*"]).cors_domains == ["*"]
    digest = "sha256:" + "a" * 64
    assert PostgresSettings(image=f"postgres:17.10@{digest}").image == f"postgres:17.10@{digest}"
    assert PostgresSettings(image=f"postgres@{digest}").image == f"postgres@{digest}"


def test_hasura_environment_sets_optional_variables_only_when_configured():
    def env(settings: HasuraSettings, stack: str = "prod") -> dict[str, str]:
        entries = hasura_environment(settings, stack, database_url="postgres://u:p@postgres:5432/app",
                                     admin_secret="a" * 32, jwt_secret='{"jwk_url":"https://x"}')
        return dict(entry.split("=", 1) for entry in entries)

    plain = env(HasuraSettings())
    assert "HASURA_GRAPHQL_UNAUTHORIZED_ROLE" not in plain and "HASURA_GRAPHQL_CORS_DOMAIN" not in plain
    assert plain["PG_DATABASE_URL"] == plain["HASURA_GRAPHQL_METADATA_DATABASE_URL"]
    assert plain["HASURA_GRAPHQL_JWT_SECRET"] == '{"jwk_url":"https://x"}'
    assert plain["HASURA_GRAPHQL_SERVER_PORT"] == "8080"
    configured = env(HasuraSettings(unauthorized_role="anonymous", cors_domains=["*"]))
    assert configured["HASURA_GRAPHQL_UNAUTHORIZED_ROLE"] == "anonymous"
    assert configured["HASURA_GRAPHQL_CORS_DOMAIN"] == "*"
