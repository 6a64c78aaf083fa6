"""The Clerk JWT template apps request Hasura tokens from, as code (a dynamic resource; clerk.md §1, §2.2).

The provider lists the instance's templates, matches by name, and creates or patches only that one; other
templates (including the session-token template) are left alone. `read()` returns the live template and
`diff()` compares it field by field, so `pulumi refresh` shows edits made in the Clerk dashboard.

The Clerk secret key is an input the caller marks secret: the engine hands it to the provider in plain and
re-marks the same-named output secret (pulumi.md §2.4); `additional_secret_outputs` lists it as well.
"""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, \
    ResourceProvider, UpdateResult
from pulumi.output import contains_unknowns

from components.clerk.client import (
    DEFAULT_CLERK_API_URL,
    HASURA_TEMPLATE_CLAIMS,
    RESERVED_CLAIMS,
    TEMPLATE_PRESETS,
    ClerkClient,
    ClerkNotFound,
)
from components.errors import ClerkHasuraError
from components.providers.hosted import HostableResource

LIFETIME_RANGE = (30, 315_360_000)  # clerk.md §1.2
CLOCK_SKEW_RANGE = (0, 300)  # clerk.md §1.2
DEFAULT_LIFETIME = 60
DEFAULT_CLOCK_SKEW = 5

#: Inputs that describe the template in Clerk (the rest say how to reach Clerk).
TEMPLATE_FIELDS = ("name", "claims", "lifetime", "allowedClockSkew", "customSigningKey", "signingAlgorithm")
SECRET_OUTPUTS = ["clerkSecretKey", "signingKey"]


class ClerkJwtTemplateArgs(TypedDict, total=False):
    """Inputs of `ClerkJwtTemplate`. `clerkSecretKey` (and `signingKey`) must be `pulumi.Output.secret`s."""

    name: pulumi.Input[str]
    claims: pulumi.Input[dict[str, Any]]
    lifetime: pulumi.Input[int]
    allowedClockSkew: pulumi.Input[int]
    clerkSecretKey: pulumi.Input[str]
    clerkApiUrl: pulumi.Input[str]
    signingKey: pulumi.Input[str | None]
    """A custom HMAC signing key (clerkSigningKey); Clerk never returns it, so its drift cannot be seen."""
    signingAlgorithm: pulumi.Input[str | None]
    """The custom key's algorithm. Set without `signingKey` (the stack holds only the public half of an RS/ES/EdDSA
    key), the template must already use a custom key of that algorithm, which is checked, never changed."""


class TemplateSigningMismatch(ClerkHasuraError):
    """The template is not signed the way Hasura verifies, and the stack cannot fix it (it lacks the private key)."""


def template_args(settings: Any) -> ClerkJwtTemplateArgs | None:
    """The template's inputs from validated `StackSettings`; None when `clerkSecretKey` is not set."""
    if settings.clerk_secret_key is None:
        return None
    args: ClerkJwtTemplateArgs = {
        "name": settings.clerk.jwt_template,
        # A static `aud` is allowed in a template (clerk.md §1.4); Hasura requires it when clerk.audience is set.
        "claims": {**TEMPLATE_PRESETS[settings.clerk.template_preset],
                   **({"aud": settings.clerk.audience} if settings.clerk.audience else {})},
        "lifetime": DEFAULT_LIFETIME,
        "allowedClockSkew": settings.clerk.allowed_skew,
        "clerkSecretKey": pulumi.Output.secret(settings.clerk_secret_key.get_secret_value()),
        "clerkApiUrl": settings.clerk.api_url,
    }
    if settings.clerk_signing_key is not None:
        algorithm = settings.clerk.signing_algorithm or "HS256"
        args["signingAlgorithm"] = algorithm
        if algorithm.startswith("HS"):  # an HMAC secret signs and verifies; of other keys the stack has the public half
            args["signingKey"] = pulumi.Output.secret(settings.clerk_signing_key.get_secret_value())
    return args


def desired_template(props: dict[str, Any]) -> dict[str, Any]:
    """The template as the Backend API takes it (PATCH needs name and claims; clerk.md §2.2)."""
    body = {
        "name": props["name"],
        "claims": props["claims"],
        "lifetime": int(props["lifetime"]),
        "allowed_clock_skew": int(props["allowedClockSkew"]),
    }
    if props.get("signingKey"):
        body.update(custom_signing_key=True, signing_algorithm=props.get("signingAlgorithm") or "HS256",
                    signing_key=props["signingKey"])
    elif not props.get("signingAlgorithm"):
        body["custom_signing_key"] = False  # Clerk's instance key, whose JWKS Hasura trusts
    return body


def live_fields(template: dict[str, Any]) -> dict[str, Any]:
    """The comparable fields of a template Clerk returned, keyed like the inputs."""
    return {
        "name": template.get("name"),
        "claims": template.get("claims"),
        "lifetime": template.get("lifetime"),
        "allowedClockSkew": template.get("allowed_clock_skew"),
        "customSigningKey": bool(template.get("custom_signing_key")),
        "signingAlgorithm": template.get("signing_algorithm") if template.get("custom_signing_key") else None,
    }


def wanted_fields(props: dict[str, Any]) -> dict[str, Any]:
    custom = bool(props.get("signingKey") or props.get("signingAlgorithm"))
    return {
        "name": props.get("name"),
        "claims": props.get("claims"),
        "lifetime": props.get("lifetime"),
        "allowedClockSkew": props.get("allowedClockSkew"),
        "customSigningKey": custom,
        "signingAlgorithm": (props.get("signingAlgorithm") or "HS256") if custom else None,
    }


class ClerkJwtTemplateProvider(ResourceProvider):
    """Creates or patches one named Clerk JWT template. Holds no state: clients are built inside each method."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = {"claims": HASURA_TEMPLATE_CLAIMS, "lifetime": DEFAULT_LIFETIME,
                  "allowedClockSkew": DEFAULT_CLOCK_SKEW, "clerkApiUrl": DEFAULT_CLERK_API_URL, **news}
        failures = []

        def known(key: str) -> bool:
            return key in inputs and not contains_unknowns(inputs[key])

        if known("name") and (not isinstance(inputs["name"], str) or not inputs["name"].strip()):
            failures.append(CheckFailure("name", "clerk.jwtTemplate must be a non-empty template name"))
        if known("claims"):
            claims = inputs["claims"]
            if not isinstance(claims, dict):
                failures.append(CheckFailure("claims", "the template claims must be a JSON object"))
            else:
                reserved = sorted(RESERVED_CLAIMS & set(claims))
                if reserved:
                    failures.append(CheckFailure("claims", f"reserved claims {', '.join(reserved)}: Clerk sets them "
                                                 "itself and refuses templates naming them. Fix: remove them"))
        for key, (low, high), setting in (("lifetime", LIFETIME_RANGE, "the template lifetime"),
                                          ("allowedClockSkew", CLOCK_SKEW_RANGE, "clerk.allowedSkew")):
            if not known(key):
                continue
            value = inputs[key]
            # Numbers reach the provider as floats (protobuf Struct); whole ones are fine.
            if isinstance(value, float) and value.is_integer():
                value = inputs[key] = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                failures.append(CheckFailure(key, f"{setting} must be whole seconds between {low} and {high}, "
                                             f"got {value!r}"))
        if "clerkSecretKey" in inputs and not inputs.get("clerkSecretKey"):
            failures.append(CheckFailure("clerkSecretKey", "clerkSecretKey is empty. Fix: `clerk-hasura pulumi --stack "
                                                           "<stack> config set "
                                         "--secret clerkSecretKey sk_test_…`"))
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in ("name", "clerkApiUrl") if olds.get(key) != news.get(key)]
        changed = [key for key in TEMPLATE_FIELDS if wanted_fields(news).get(key) != _state_fields(olds).get(key)]
        changed += [key for key in ("clerkSecretKey", "signingKey") if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        template, adopted = _ensure(props, template_id=None, send_key=True)
        return CreateResult(template["id"], _outputs(props, template, adopted=adopted))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        send_key = olds.get("signingKey") != news.get("signingKey")
        template, _ = _ensure(news, template_id=id_, send_key=send_key)
        return UpdateResult(_outputs(news, template, adopted=bool(olds.get("adopted"))))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The live template; the engine then diffs it against the inputs to report drift (pulumi.md §2.5)."""
        with _client(props) as clerk:
            try:
                template = clerk.get_jwt_template(id_)
            except ClerkNotFound:
                return ReadResult("", {})  # deleted in Clerk: refresh drops it, the next `up` creates it again
        return ReadResult(id_, _outputs(props, template, adopted=bool(props.get("adopted"))))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        if props.get("adopted"):
            return  # it existed before this stack managed it (e.g. made from Clerk's Hasura preset): keep it
        with _client(props) as clerk:
            try:
                clerk.delete_jwt_template(id_)
            except ClerkNotFound:
                pass


def _client(props: dict[str, Any]) -> ClerkClient:
    return ClerkClient(props.get("clerkSecretKey") or "", base_url=props.get("clerkApiUrl") or DEFAULT_CLERK_API_URL)


def _state_fields(state: dict[str, Any]) -> dict[str, Any]:
    live = state.get("live")
    return live if isinstance(live, dict) else wanted_fields(state)


def _ensure(props: dict[str, Any], *, template_id: str | None, send_key: bool) -> tuple[dict[str, Any], bool]:
    """Make the named template match `props`; returns (template, whether it already existed)."""
    body = desired_template(props)
    with _client(props) as clerk:
        match = next((t for t in clerk.list_jwt_templates() if t.get("name") == props["name"]), None)
        if match is None and template_id is not None:
            # Renamed in Clerk since the last deploy: patch ours back rather than creating a second one.
            try:
                match = clerk.get_jwt_template(template_id)
            except ClerkNotFound:
                match = None
        if props.get("signingAlgorithm") and not props.get("signingKey"):
            _require_custom_key(match, props)
        if match is None:
            return clerk.create_jwt_template(body), False
        if live_fields(match) == wanted_fields(props) and not (send_key and props.get("signingKey")):
            return match, True
        return clerk.update_jwt_template(match["id"], body), True


def _require_custom_key(template: dict[str, Any] | None, props: dict[str, Any]) -> None:
    algorithm = props["signingAlgorithm"]
    if template is None or not template.get("custom_signing_key") or template.get("signing_algorithm") != algorithm:
        if template is None:
            state = "does not exist"
        elif template.get("custom_signing_key"):
            state = f"is signed with a custom {template.get('signing_algorithm')} key"
        else:
            state = "is signed with the instance key"
        raise TemplateSigningMismatch(
            f"clerkSigningKey: Hasura verifies tokens with your {algorithm} public key, but Clerk JWT template "
            f"{props['name']!r} {state}, and the stack holds only the public key, so it cannot set the signing key. "
            f"Fix: in the Clerk dashboard (JWT templates > {props['name']}) turn on \"Custom signing key\" with "
            f"algorithm {algorithm} and your private key, then deploy again")


def _outputs(props: dict[str, Any], template: dict[str, Any], *, adopted: bool) -> dict[str, Any]:
    # `live` is what Clerk holds; diff() compares it with the inputs, so refresh shows dashboard edits.
    return {**props, "templateId": template["id"], "adopted": adopted, "live": live_fields(template)}


class ClerkJwtTemplate(HostableResource, module="clerk_jwt_template", name="ClerkJwtTemplate"):
    """The Clerk JWT template (default name `hasura`) carrying the Hasura claims."""

    templateId: pulumi.Output[str]
    name: pulumi.Output[str]
    claims: pulumi.Output[dict[str, Any]]
    lifetime: pulumi.Output[int]
    allowedClockSkew: pulumi.Output[int]
    adopted: pulumi.Output[bool]

    def __init__(self, resource_name: str, args: ClerkJwtTemplateArgs,
                 opts: pulumi.ResourceOptions | None = None):
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        props = {"templateId": None, "adopted": None, "live": None, "claims": HASURA_TEMPLATE_CLAIMS,
                 "lifetime": DEFAULT_LIFETIME, "allowedClockSkew": DEFAULT_CLOCK_SKEW,
                 "clerkApiUrl": DEFAULT_CLERK_API_URL, "signingKey": None, "signingAlgorithm": None, **args}
        super().__init__(ClerkJwtTemplateProvider(), resource_name, props,
                         pulumi.ResourceOptions.merge(opts, secret_outputs))
