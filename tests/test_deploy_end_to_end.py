"""A `pulumi up` of the dev stack, step by step as the engine takes it, with nothing written by hand in between.

1. The real `__main__.py` (under mocks) with the example `Pulumi.dev.yaml`, pointed at a Clerk instance, says what
   the Hasura container runs with.
2. The Hasura double starts with exactly that environment (only the database is this test's: the container's
   URL names the stack's Docker network).
3. The program again, for that Hasura's port, gives the inputs of the resources that follow the containers.
4. Those inputs, as registered, go through `check` and `create` of the metadata, JWT-template and smoke-check
   providers in a fresh `python -m pulumi.dynamic`, in dependency order. The deploy must end with a passing smoke
   check.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from components.clerk.client import HASURA_TEMPLATE_CLAIMS
from tests.pulumi_harness import DynamicProviderHost, ProgramRun, example_dev_config, run_program, with_overrides

CONTAINER = "docker:index/container:Container"
METADATA = "pulumi-python:dynamic/hasura_metadata:HasuraMetadata"
TEMPLATE = "pulumi-python:dynamic/clerk_jwt_template:ClerkJwtTemplate"
SMOKE = "pulumi-python:dynamic/smoke_check:SmokeCheck"
ADMIN_SECRET = "end-to-end-admin-secret-0123456789"
SECRET_KEYS = ["hasuraAdminSecret", "clerkSecretKey"]


def dev_stack(clerk, hasura_port: int) -> ProgramRun:
    config = with_overrides(example_dev_config(clerk.jwks_url), {
        "clerk.publishableKey": clerk.publishable_key,
        "clerkSecretKey": clerk.secret_key,
        "hasuraAdminSecret": ADMIN_SECRET,
        "hasura.port": hasura_port,
    })
    return run_program("dev", config, secret_keys=SECRET_KEYS).check()


def hasura_environment(run: ProgramRun) -> dict[str, str]:
    envs = run.one(CONTAINER, "backend-hasura-container").plain_inputs["envs"]
    return dict(entry.split("=", 1) for entry in envs)


def engine_create(host: DynamicProviderHost, run: ProgramRun, type_: str, **where_it_runs) -> tuple[str, dict]:
    """What the engine does for a new resource: `check` the registered inputs, then `create` with the result."""
    registration = run.one(type_)
    news = {**registration.plain_inputs, **where_it_runs}
    inputs, failures = host.check(registration.urn, {}, news)
    assert failures == [], failures
    return host.create(registration.urn, inputs)


def test_a_dev_stack_deploy_ends_with_a_passing_smoke_check(clerk_double, hasura_double_factory,
                                                             postgres_database_url):
    planned = hasura_environment(dev_stack(clerk_double, hasura_port=8080))
    # Every database URL of the container names the stack's Docker network; here they are this test's database.
    environment = {key: postgres_database_url if value.startswith("postgres://") else value
                   for key, value in planned.items()}
    hasura = hasura_double_factory(
        jwt_secret=environment["HASURA_GRAPHQL_JWT_SECRET"], admin_secret=environment["HASURA_GRAPHQL_ADMIN_SECRET"],
        unauthorized_role=environment.get("HASURA_GRAPHQL_UNAUTHORIZED_ROLE"),
        database_url=environment["HASURA_GRAPHQL_METADATA_DATABASE_URL"], env=environment)
    hasura.wait_for_jwks()

    run = dev_stack(clerk_double, hasura_port=urlsplit(hasura.url).port)
    assert hasura_environment(run) == planned, "the same settings must give the same container environment"
    assert run.one(METADATA).plain_inputs["hasura_url"] == hasura.url

    with DynamicProviderHost() as host:
        host.configure({})
        _, metadata = engine_create(host, run, METADATA)
        template_id, template = engine_create(host, run, TEMPLATE, clerkApiUrl=clerk_double.url)
        smoke_inputs = run.one(SMOKE).plain_inputs
        _, smoke = engine_create(host, run, SMOKE, clerkApiUrl=clerk_double.url,
                                 triggers={**smoke_inputs["triggers"], "template": template_id})

    assert metadata["applied_migrations"] == ["1763856000000"]
    assert clerk_double.templates["hasura"]["claims"] == HASURA_TEMPLATE_CLAIMS
    assert template["templateId"] == template_id
    report = {check["name"]: check for check in smoke["report"]["checks"]}
    failed = {name: check["detail"] for name, check in report.items() if check.get("passed") is False}
    assert failed == {}
    assert smoke["tokenSourceUsed"].startswith("clerk: Clerk template 'hasura'")
    for proof in ("token-accepted", "reads-own-row", "cannot-read-others", "anonymous-refused",
                  "forged-token-refused", "admin-role-refused"):
        assert report[proof].get("passed") is True, (proof, report[proof]["detail"])
