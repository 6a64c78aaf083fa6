"""What the CI commands (`components.commands.drift`, `components.commands.smoke`) read instead of running the Pulumi program:
the stack's outputs piped on stdin, flags, and the environment."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.errors import ClerkHasuraError
from components.hasura.loader import PROJECT_DIR
from components.config.settings import SECRET_ENV_VARS

ENV_HASURA_URL = "CLERK_HASURA_HASURA_URL"
ENV_ADMIN_SECRET = SECRET_ENV_VARS["hasuraAdminSecret"]


class StackOutputsError(ClerkHasuraError):
    """A command was not told where Hasura is or how to authenticate, or its stdin is not stack outputs."""


@dataclass(frozen=True)
class HasuraEndpoint:
    url: str
    """Base URL, without /v1/graphql."""
    admin_secret: str = field(repr=False)


def read_stack_outputs(stdin: Any) -> dict[str, Any]:
    """`pulumi stack output --json --show-secrets` piped into the command; {} when nothing is piped."""
    if stdin is None or stdin.isatty():
        return {}
    text = stdin.read().strip()
    if not text:
        return {}
    try:
        outputs = json.loads(text)
    except ValueError:
        raise StackOutputsError("stdin is not JSON. Fix: pipe `pulumi stack output --json --show-secrets` into the "
                                "command, or pass --hasura-url and set the secrets in the environment") from None
    if not isinstance(outputs, dict):
        raise StackOutputsError("stdin JSON is not an object of stack outputs. Fix: pipe `pulumi stack output "
                                "--json --show-secrets`")
    if any(value == "[secret]" for value in outputs.values()):
        raise StackOutputsError("the stack outputs on stdin hide their secrets (`[secret]`). Fix: add --show-secrets")
    return outputs


def hasura_endpoint(url_flag: str | None, outputs: Mapping[str, Any], environ: Mapping[str, str]) -> HasuraEndpoint:
    """Where Hasura is (flag, then environment, then stack outputs) and its admin secret (environment, then
    stack outputs: never a flag, so it stays out of process lists)."""
    url = url_flag or environ.get(ENV_HASURA_URL) or outputs.get("hasuraUrl") or outputs.get("graphqlUrl")
    if not url:
        raise StackOutputsError(f"no Hasura URL. Fix: pass --hasura-url, set {ENV_HASURA_URL}, or pipe "
                                "`pulumi stack output --json --show-secrets` into the command")
    admin_secret = environ.get(ENV_ADMIN_SECRET) or outputs.get("hasuraAdminSecret")
    if not admin_secret:
        raise StackOutputsError(f"no Hasura admin secret. Fix: set {ENV_ADMIN_SECRET}, or pipe the stack outputs "
                                "with --show-secrets")
    return HasuraEndpoint(str(url).rstrip("/").removesuffix("/v1/graphql"), str(admin_secret))


def add_hasura_arguments(parser: argparse.ArgumentParser, *, project_dir_help: str) -> None:
    """The flags of every command that reads a stack's live Hasura against a Hasura CLI project."""
    parser.add_argument("--hasura-url", help=f"Hasura base URL (or {ENV_HASURA_URL}, or stack output hasuraUrl)")
    parser.add_argument("--project-dir", default=str(PROJECT_DIR), help=project_dir_help)
    parser.add_argument("--wait", type=float, default=30.0,
                        help="seconds to keep retrying while Hasura does not answer (default 30)")
