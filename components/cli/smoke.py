"""`clerk-hasura smoke`: the smoke check from CI or a shell, without the Pulumi program.

Reads where Hasura is from flags, the environment or the stack outputs (`--stack`, or piped on stdin); secrets never
come from flags. Exit 0 when every check passed (skips allowed), 1 when one failed, 2 when the check could not run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from components.clerk.client import DEFAULT_CLERK_API_URL
from components.cli.stack import ENV_ADMIN_SECRET, ENV_HASURA_URL, add_stack_argument, hasura_endpoint, \
    stack_outputs
from components.config.smoke import DEFAULT_TEST_USER_EMAIL, DEFAULT_TOKEN_ENV_VAR
from components.errors import ClerkHasuraError
from components.smoke.runner import run_smoke
from components.smoke.target import TEMPLATE_CLOCK_SKEW_SECONDS, SmokeTarget

ENV_CLERK_SECRET_KEY = "CLERK_HASURA_CLERK_SECRET_KEY"
ENV_SIGNING_KEY = "CLERK_HASURA_CLERK_SIGNING_KEY"
ENV_CLERK_API_URL = "CLERK_HASURA_CLERK_API_URL"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "smoke", help="smoke-check a deployed stack",
        description="Smoke-check a deployed clerk-hasura stack. Secrets come from the environment "
                    f"({ENV_ADMIN_SECRET}, {ENV_CLERK_SECRET_KEY}, {ENV_SIGNING_KEY}) or from "
                    "the stack outputs (--stack, or `clerk-hasura outputs <stack> --show-secrets` piped into stdin); "
                    "never from flags. "
                    "Exit 0 passed, 1 a check failed, 2 could not run.",
    )
    add_stack_argument(parser)
    parser.add_argument("--hasura-url", help=f"Hasura base URL (or {ENV_HASURA_URL}, or stack output graphqlUrl)")
    parser.add_argument("--issuer", help="the iss Hasura trusts (default: stack output issuer)")
    parser.add_argument("--jwt-template", help="Clerk JWT template name (default: stack output jwtTemplate, "
                                               "else hasura)")
    parser.add_argument("--token-source", choices=["auto", "clerk", "signing-key", "env", "none"], default="auto")
    parser.add_argument("--token-env-var", default=DEFAULT_TOKEN_ENV_VAR)
    parser.add_argument("--test-user-email", default=DEFAULT_TEST_USER_EMAIL)
    parser.add_argument("--clerk-api-url", help=f"Clerk Backend API (or {ENV_CLERK_API_URL}; "
                                                f"default {DEFAULT_CLERK_API_URL})")
    parser.add_argument("--signing-algorithm", help="algorithm of the signing key (default: from stack output "
                                                    "jwtSecret, else HS256)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds the whole check may take")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--read-only", dest="writes", action="store_false", default=False,
                      help="prove row isolation with the rows already in public.users, writing nothing (default)")
    mode.add_argument("--writes", dest="writes", action="store_true",
                      help="seed a row for the test user and one for a made-up user, then remove them (as "
                           "smoke.writes true; fires any triggers on users)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def target_from_command_line(args: argparse.Namespace, outputs: dict[str, Any],
                             environ: Mapping[str, str]) -> SmokeTarget:
    endpoint = hasura_endpoint(args.hasura_url, outputs, environ)
    jwt_secret = outputs.get("jwtSecret")
    if isinstance(jwt_secret, str):
        try:
            jwt_secret = json.loads(jwt_secret)
        except ValueError:
            jwt_secret = None
    jwt_secret = jwt_secret if isinstance(jwt_secret, dict) else {}
    header = jwt_secret.get("header") if isinstance(jwt_secret.get("header"), dict) else {}
    signing_key = environ.get(ENV_SIGNING_KEY)
    algorithm = args.signing_algorithm or jwt_secret.get("type") or "HS256"
    if not signing_key and str(jwt_secret.get("type", "")).startswith("HS"):
        signing_key = jwt_secret.get("key")
    return SmokeTarget(
        hasura_url=endpoint.url,
        admin_secret=endpoint.admin_secret,
        issuer=args.issuer or outputs.get("issuer") or jwt_secret.get("issuer"),
        jwks_url=outputs.get("jwksUrl") or jwt_secret.get("jwk_url"),
        jwt_template=args.jwt_template or outputs.get("jwtTemplate") or "hasura",
        claims="session" if "claims_map" in jwt_secret else "template",
        token_cookie=header.get("name") if header.get("type") == "Cookie" else None,
        audience=jwt_secret.get("audience"),
        token_source=args.token_source,
        clerk_secret_key=environ.get(ENV_CLERK_SECRET_KEY),
        clerk_api_url=args.clerk_api_url or environ.get(ENV_CLERK_API_URL) or DEFAULT_CLERK_API_URL,
        signing_key=signing_key,
        signing_algorithm=algorithm,
        token_env_var=args.token_env_var,
        test_user_email=args.test_user_email,
        timeout_seconds=args.timeout,
        writes=args.writes,
        template_clock_skew=int(jwt_secret.get("allowed_skew", TEMPLATE_CLOCK_SKEW_SECONDS)),
    )


def run(args: argparse.Namespace, stdin: Any, environ: Mapping[str, str]) -> int:
    try:
        target = target_from_command_line(args, stack_outputs(args.stack, stdin, environ), environ)
        report = run_smoke(target, environ=environ)
    except ClerkHasuraError as error:
        print(f"smoke check could not run: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return 0 if report.passed else 1
