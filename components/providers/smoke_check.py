"""The smoke check as the last step of `pulumi up` (a dynamic resource running components.smoke.runner).

It runs on create, and again on update, which `diff()` asks for whenever an input changes (the inputs include
`triggers`, ids or hashes of the Hasura instance, the JWT secret and the applied metadata, and `runId`, which
`smoke.runId` changes on demand) and whenever the last run did not pass.

A failing check does not raise in the provider: the engine would then keep the previous state, so the `smoke`
output would go on showing the last passing report, and the SDK's provider host would print a traceback. Instead
the run's outputs always hold the new report (`passed: false` included), and the program fails the deploy with
`fail_deploy_unless_passed`, whose error is the readable report and the fixes. The report says when it ran
(`ranAt`) and against what (`against`: the triggers, except the JWT secret's hash). Tokens never reach the report
or the state.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any, TypedDict

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult
from pulumi.runtime.settings import _get_rpc_manager

from components.clerk.client import DEFAULT_CLERK_API_URL
from components.smoke.report import SmokeReport
from components.smoke.runner import run_smoke
from components.smoke.target import SESSION_COOKIE, SmokeTarget
from components.providers.hosted import HostableResource

SECRET_OUTPUTS = ["hasuraAdminSecret", "clerkSecretKey", "signingKey"]
#: Outputs computed by the provider; every other property is an input. No output shares an input's name: an input
#: is never overwritten by what the run found (the configured `tokenSource` and the `tokenSourceUsed` stay apart).
COMPUTED = ("report", "passed", "tokenSourceUsed", "ranAt")
#: A trigger the report never repeats: a hash of the JWT secret, which is a secret when it embeds a key, while
#: `report` is a plain output.
_NOT_REPORTED_TRIGGERS = ("jwtSecret",)


class SmokeCheckArgs(TypedDict, total=False):
    """Inputs of `SmokeCheck`; `hasuraAdminSecret`, `clerkSecretKey`, `signingKey` must be `pulumi.Output.secret`s."""

    hasuraUrl: pulumi.Input[str]
    hasuraAdminSecret: pulumi.Input[str]
    issuer: pulumi.Input[str | None]
    jwksUrl: pulumi.Input[str | None]
    jwtTemplate: pulumi.Input[str]
    claims: pulumi.Input[str]
    tokenCookie: pulumi.Input[str | None]
    audience: pulumi.Input[str | list[str] | None]
    tokenSource: pulumi.Input[str]
    """`smoke.tokenSource` as configured; the output `tokenSourceUsed` says which source ran."""
    tokenEnvVar: pulumi.Input[str]
    testUserEmail: pulumi.Input[str]
    timeoutSeconds: pulumi.Input[int]
    writes: pulumi.Input[bool]
    """`smoke.writes` resolved for the stack: seed and remove test rows, or prove isolation read-only."""
    clerkSecretKey: pulumi.Input[str | None]
    clerkApiUrl: pulumi.Input[str]
    signingKey: pulumi.Input[str | None]
    signingAlgorithm: pulumi.Input[str | None]
    templateClockSkew: pulumi.Input[int]
    triggers: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Anything whose change must rerun the check: Hasura container id, JWT secret hash, metadata hash, …"""
    runId: pulumi.Input[str]


#: Input name -> SmokeTarget field.
_TARGET_FIELDS = {
    "hasuraUrl": "hasura_url", "hasuraAdminSecret": "admin_secret", "issuer": "issuer", "jwksUrl": "jwks_url",
    "jwtTemplate": "jwt_template", "claims": "claims", "tokenCookie": "token_cookie", "audience": "audience",
    "tokenSource": "token_source",
    "clerkSecretKey": "clerk_secret_key",
    "clerkApiUrl": "clerk_api_url", "signingKey": "signing_key", "signingAlgorithm": "signing_algorithm",
    "tokenEnvVar": "token_env_var", "testUserEmail": "test_user_email", "timeoutSeconds": "timeout_seconds",
    "writes": "writes",
    "templateClockSkew": "template_clock_skew",
}


def smoke_check_args(settings: Any, jwt_secret: Any, *, hasura_url: pulumi.Input[str],
                     admin_secret: pulumi.Input[str], triggers: Mapping[str, pulumi.Input[str]],
                     writes: bool) -> SmokeCheckArgs:
    """The check's inputs from validated `StackSettings` and the resolved `JwtSecret`: every smoke and clerk setting
    the check uses, unchanged. `triggers` names what must rerun the check when it changes (Hasura container id,
    metadata hash, template id); the JWT secret's hash is added here. `writes` is `smoke.writes` resolved for the
    stack being deployed."""
    smoke = settings.smoke
    jwt_hash = hashlib.sha256(jwt_secret.value.encode()).hexdigest()
    args: SmokeCheckArgs = {
        "hasuraUrl": hasura_url,
        "hasuraAdminSecret": pulumi.Output.secret(admin_secret),
        "issuer": jwt_secret.issuer,
        "jwksUrl": jwt_secret.jwks_url,
        "jwtTemplate": settings.clerk.jwt_template,
        "claims": settings.clerk.claims,
        "tokenCookie": SESSION_COOKIE if settings.clerk.cookie else None,
        "audience": settings.clerk.audience,
        "tokenSource": smoke.token_source,
        "tokenEnvVar": smoke.token_env_var,
        "testUserEmail": smoke.test_user_email,
        "timeoutSeconds": smoke.timeout_seconds,
        "writes": writes,
        "templateClockSkew": settings.clerk.allowed_skew,
        "clerkApiUrl": settings.clerk.api_url,
        "triggers": {**triggers, "jwtSecret": pulumi.Output.secret(jwt_hash) if jwt_secret.holds_key else jwt_hash},
        "runId": smoke.run_id,
    }
    if settings.clerk_secret_key is not None:
        args["clerkSecretKey"] = pulumi.Output.secret(settings.clerk_secret_key.get_secret_value())
    algorithm = settings.clerk.signing_algorithm or "HS256"
    if settings.clerk_signing_key is not None and algorithm.startswith("HS"):
        args["signingKey"] = pulumi.Output.secret(settings.clerk_signing_key.get_secret_value())
        args["signingAlgorithm"] = algorithm
    return args


def target_from_props(props: dict[str, Any]) -> SmokeTarget:
    """The smoke target the inputs describe; inputs left unset take SmokeTarget's defaults."""
    values = {field: props[key] for key, field in _TARGET_FIELDS.items() if props.get(key) is not None}
    if "template_clock_skew" in values:  # numbers reach the provider as floats (protobuf Struct)
        values["template_clock_skew"] = int(values["template_clock_skew"])
    return SmokeTarget(**values)


class SmokeCheckProvider(ResourceProvider):
    """Runs the smoke check; holds no state (clients are built inside components.smoke.runner for each run)."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"smoke-{secrets.token_hex(8)}", _run(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = (set(olds) | set(news)) - set(COMPUTED) - {"__provider"}
        changed = sorted(key for key in keys if olds.get(key) != news.get(key))
        # A run that did not pass is rerun by the next `pulumi up` even when nothing changed, until it passes.
        return DiffResult(changes=bool(changed) or olds.get("passed") is not True, replaces=[],
                          delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_run(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # A past check has no live state to read back; refresh keeps the last report instead of rerunning it.
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to remove: every run cleans up its own test rows and Clerk session."""


def _run(props: dict[str, Any]) -> dict[str, Any]:
    inputs = {key: value for key, value in props.items() if key not in COMPUTED}
    report = run_smoke(target_from_props(inputs))
    against = {key: value for key, value in (inputs.get("triggers") or {}).items()
               if key not in _NOT_REPORTED_TRIGGERS}
    return {**inputs, "report": {**report.to_dict(), "against": against}, "passed": report.passed,
            "tokenSourceUsed": report.token_source_used, "ranAt": report.ran_at}


def failure_message(report: dict[str, Any]) -> str:
    """What `pulumi up` ends with when the check failed: what happened, then the report with each fix."""
    return ("The smoke check failed, so this deploy is not proven to work. The `smoke` stack output holds this "
            "report; the check runs again at every deploy (`scripts/deploy <stack>`) until it passes.\n"
            + SmokeReport.from_dict(report).render())


def fail_deploy_unless_passed(check: SmokeCheck) -> pulumi.Output[bool]:
    """Fail `pulumi up` with the rendered report once `check` has run and not passed.

    The check's outputs (the failed report) are in the state by then, and the stack outputs are updated too; a
    `pulumi.RunError` is printed by the language host without a traceback. A preview never fails here: it has not
    run the check."""

    async def judge(values: list[Any]) -> bool:
        passed, report = values
        if passed is False and not pulumi.runtime.is_dry_run():
            await _requests_already_sent()
            raise pulumi.RunError(failure_message(report))
        return passed is not False

    return pulumi.Output.all(check.passed, check.report).apply(judge)


async def _requests_already_sent() -> None:
    """Wait for the engine requests the program has already made, the stack outputs with the failed report among
    them: an error raised sooner ends the program while they are still in flight, and the `smoke` output would keep
    the old, passing report. (The SDK exposes its request tracker only as `_get_rpc_manager`.)"""
    await asyncio.gather(*list(_get_rpc_manager().rpcs), return_exceptions=True)


class SmokeCheck(HostableResource, module="smoke_check", name="SmokeCheck"):
    """The post-deploy smoke check. `report` is {passed, ranAt, mode, tokenSource, tokenSourceUsed, hasuraUrl,
    against, checks: [{name, passed, skipped, detail, ms}]}."""

    report: pulumi.Output[dict[str, Any]]
    passed: pulumi.Output[bool]
    ranAt: pulumi.Output[str]
    tokenSource: pulumi.Output[str]
    """As configured (`smoke.tokenSource`)."""
    tokenSourceUsed: pulumi.Output[str]
    """The source that ran, and what it gave."""

    def __init__(self, resource_name: str, args: SmokeCheckArgs, opts: pulumi.ResourceOptions | None = None):
        props = {"report": None, "passed": None, "tokenSourceUsed": None, "ranAt": None, "triggers": {}, "runId": "",
                 "clerkApiUrl": DEFAULT_CLERK_API_URL, **args}
        super().__init__(SmokeCheckProvider(), resource_name, props,
                         pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                             additional_secret_outputs=SECRET_OUTPUTS)))
