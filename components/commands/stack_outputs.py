"""What the CI commands (`components.commands.drift`, `components.commands.smoke`, `components.commands.status`) read
instead of running the Pulumi program: the stack's outputs piped on stdin, flags, and the environment."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.errors import ClerkHasuraError
from components.hasura.project import PROJECT_DIR
from components.config.settings import SECRET_ENV_VARS
from components.targets import TARGET_NAMES

ENV_HASURA_URL = "CLERK_HASURA_HASURA_URL"
ENV_ADMIN_SECRET = SECRET_ENV_VARS["hasuraAdminSecret"]
#: What a stack's `metadataDir` is relative to, as the program reads it: the project directory (where Pulumi.yaml
#: is), i.e. the checkout these commands run from.
PROJECT_ROOT = PROJECT_DIR.parent
_PIPE_OUTPUTS = "pipe `pulumi stack output --json --show-secrets --stack <stack>` into the command"


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


def stack_project_dir(flag: str | None, outputs: Mapping[str, Any]) -> Path:
    """The Hasura CLI project the stack deploys: `--project-dir`, else the stack output `metadataDir` (relative to
    the project directory, as the program reads the setting), else, with no stack outputs piped, this repository's
    metadata/."""
    if flag:
        return Path(flag)
    if not outputs:
        return PROJECT_DIR
    if "metadataDir" not in outputs:
        raise StackOutputsError(_older_stack("metadataDir", "--project-dir DIR"))
    directory = PROJECT_ROOT / str(outputs["metadataDir"])
    if not directory.is_dir():
        raise StackOutputsError(
            f"the stack output metadataDir is {outputs['metadataDir']!r}, and this checkout has no folder {directory}. "
            "Fix: run the command in the checkout of the repository that deploys the stack (at the commit it "
            "deployed), or pass --project-dir")
    return directory


def stack_target(flag: str | None, outputs: Mapping[str, Any]) -> str:
    """The stack's `target` setting: `--target`, else the stack output `target`."""
    if flag:
        return flag
    if not outputs:
        raise StackOutputsError(f"the stack's target is unknown. Fix: {_PIPE_OUTPUTS}, or pass --target (the stack's "
                                f"`target` setting: {', '.join(TARGET_NAMES)})")
    if "target" not in outputs:
        raise StackOutputsError(_older_stack("target", "--target NAME"))
    target = outputs["target"]
    if target not in TARGET_NAMES:
        raise StackOutputsError(f"the stack output target is {target!r}, not a target of clerk-hasura "
                                f"({', '.join(TARGET_NAMES)}). Fix: pipe the outputs of a clerk-hasura stack, or pass "
                                "--target")
    return str(target)


def _older_stack(output: str, flag: str) -> str:
    return (f"the stack outputs on stdin have no `{output}`: the stack was last deployed by a clerk-hasura that did "
            f"not export it, or they are not a clerk-hasura stack's. Fix: deploy it once (`scripts/deploy <stack>` "
            f"adds the output), or pass {flag}")


def shown_folder(directory: Path) -> str:
    """`directory` as a person finds it: relative to the project directory when inside it (`metadata/`)."""
    resolved = directory.resolve()
    text = resolved.relative_to(PROJECT_ROOT).as_posix() if resolved.is_relative_to(PROJECT_ROOT) else str(resolved)
    return f"{text}/"


def add_hasura_arguments(parser: argparse.ArgumentParser, *, project_dir_help: str) -> None:
    """The flags of every command that reads a stack's live Hasura against a Hasura CLI project."""
    parser.add_argument("--hasura-url", help=f"Hasura base URL (or {ENV_HASURA_URL}, or stack output hasuraUrl)")
    parser.add_argument("--project-dir", help=project_dir_help)
    parser.add_argument("--wait", type=float, default=30.0,
                        help="seconds to keep retrying while Hasura does not answer (default 30)")
