"""How every `clerk-hasura` command finds the stack, its outputs and its secrets, instead of running the Pulumi program.

- The project directory: the folder holding Pulumi.yaml, the one the command runs in or the nearest above it.
- The state backend: PULUMI_BACKEND_URL when set (CI sets it to the team's backend), otherwise a local file backend
  in `.pulumi-state/` of the project directory (no Pulumi Cloud account needed, no login asked for).
- The pulumi CLI: the one on PATH.
- The Docker engine of a stack on the docker target: DOCKER_HOST when set, otherwise the docker CLI's current
  context (e.g. Docker Desktop's, whose socket is not the default one), so that the provider deploys to the engine
  the docker CLI uses.
- The passphrase its secrets are encrypted with: PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) when
  set; otherwise, for the dev stack only, the documented default "clerk-hasura-dev" (dev secrets are generated on
  this machine and guard only local containers); otherwise asked for on a terminal, refused without one.
- The stack's outputs: `pulumi stack output --json --show-secrets` of `--stack NAME`, or the same JSON piped on stdin
  (what CI does, so the decrypted outputs never reach a file).
- Where Hasura is and its admin secret: flags, then the environment, then the outputs; secrets never from flags.
"""

from __future__ import annotations

import argparse
import getpass
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.errors import ClerkHasuraError
from components.hasura.project import PROJECT_DIR
from components.targets import SECRET_ENV_VARS
from components.targets import TARGET_NAMES

ENV_HASURA_URL = "CLERK_HASURA_HASURA_URL"
ENV_ADMIN_SECRET = SECRET_ENV_VARS["hasuraAdminSecret"]
#: What a stack's `metadataDir` is relative to, as the program reads it: the project directory (where Pulumi.yaml
#: is), i.e. the checkout these commands run from.
PROJECT_ROOT = PROJECT_DIR.parent
_PIPE_OUTPUTS = "pass --stack <stack>, or pipe `clerk-hasura outputs <stack> --show-secrets` into the command"
DEV_STACK = "dev"
DEV_PASSPHRASE = "clerk-hasura-dev"
#: The local file backend, inside the project directory, used when PULUMI_BACKEND_URL is not set.
LOCAL_STATE_DIR = ".pulumi-state"
PULUMI_MISSING = ("the pulumi CLI: not found on PATH. Install it (https://www.pulumi.com/docs/install/, e.g. 'curl "
                  "-fsSL https://get.pulumi.com | sh') and open a new shell")


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
    return parse_stack_outputs(stdin.read())


def parse_stack_outputs(text: str) -> dict[str, Any]:
    """The JSON `pulumi stack output --json --show-secrets` prints; {} for none."""
    text = text.strip()
    if not text:
        return {}
    try:
        outputs = json.loads(text)
    except ValueError:
        raise StackOutputsError("stdin is not JSON. Fix: pass --stack <stack>, pipe `clerk-hasura outputs <stack> "
                                "--show-secrets` into "
                                "the command, or pass --hasura-url and set the secrets in the environment") from None
    if not isinstance(outputs, dict):
        raise StackOutputsError("stdin JSON is not an object of stack outputs. Fix: pipe `clerk-hasura outputs <stack> "
                                "--show-secrets`, or "
                                "pass --stack <stack>")
    if any(value == "[secret]" for value in outputs.values()):
        raise StackOutputsError("the stack outputs on stdin hide their secrets (`[secret]`). Fix: add --show-secrets")
    return outputs


def hasura_endpoint(url_flag: str | None, outputs: Mapping[str, Any], environ: Mapping[str, str]) -> HasuraEndpoint:
    """Where Hasura is (flag, then environment, then stack outputs) and its admin secret (environment, then
    stack outputs: never a flag, so it stays out of process lists)."""
    url = url_flag or environ.get(ENV_HASURA_URL) or outputs.get("hasuraUrl") or outputs.get("graphqlUrl")
    if not url:
        raise StackOutputsError(f"no Hasura URL. Fix: pass --stack <stack> or --hasura-url, set {ENV_HASURA_URL}, "
                                "or pipe `clerk-hasura outputs <stack> --show-secrets` into the command")
    admin_secret = environ.get(ENV_ADMIN_SECRET) or outputs.get("hasuraAdminSecret")
    if not admin_secret:
        raise StackOutputsError(f"no Hasura admin secret. Fix: set {ENV_ADMIN_SECRET}, pass --stack <stack>, or pipe "
                                "the stack outputs with --show-secrets")
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


def add_stack_argument(parser: argparse.ArgumentParser) -> None:
    """`--stack`: read the stack's outputs with the pulumi CLI instead of from stdin."""
    parser.add_argument("--stack", help="the stack whose outputs to read with the pulumi CLI (its backend and "
                                        "passphrase as for deploy); default: the outputs piped on stdin")


def add_hasura_arguments(parser: argparse.ArgumentParser, *, project_dir_help: str) -> None:
    """The flags of every command that reads a stack's live Hasura against a Hasura CLI project."""
    add_stack_argument(parser)
    parser.add_argument("--hasura-url", help=f"Hasura base URL (or {ENV_HASURA_URL}, or stack output hasuraUrl)")
    parser.add_argument("--project-dir", help=project_dir_help)
    parser.add_argument("--wait", type=float, default=30.0,
                        help="seconds to keep retrying while Hasura does not answer (default 30)")


def stack_outputs(stack: str | None, stdin: Any, environ: Mapping[str, str]) -> dict[str, Any]:
    """The outputs of `stack` (`--stack`) read with the pulumi CLI, else those piped on stdin ({} when none)."""
    if not stack:
        return read_stack_outputs(stdin)
    try:
        completed = subprocess.run(
            ["pulumi", "stack", "output", "--json", "--show-secrets", "--non-interactive", "--stack", stack],
            env=pulumi_environment(stack, environ), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise StackOutputsError("--stack reads the outputs with the pulumi CLI, which is not on PATH. Fix: install it "
                                "(https://www.pulumi.com/docs/install/), or pipe the stack outputs") from None
    if completed.returncode != 0:
        raise StackOutputsError(f"`pulumi stack output --stack {stack}` failed: {completed.stderr.strip()}. Fix: "
                                f"name a stack of this project's backend (`clerk-hasura pulumi --stack {stack} stack "
                                "ls` lists them), "
                                "with its passphrase")
    return parse_stack_outputs(completed.stdout)


def pulumi_cli(environ: Mapping[str, str]) -> str | None:
    """The pulumi CLI on the PATH of `environ`, or None."""
    return shutil.which("pulumi", path=environ.get("PATH"))


def own_command(environ: Mapping[str, str]) -> str:
    """How a person runs this `clerk-hasura` in a new shell: its name when PATH finds this one, else its path (e.g.
    `.venv/bin/clerk-hasura`, where scripts/deploy installs it)."""
    script = Path(sys.executable).parent / "clerk-hasura"
    found = shutil.which("clerk-hasura", path=environ.get("PATH"))
    if found and Path(found).resolve() == script.resolve():
        return "clerk-hasura"
    return str(script.relative_to(Path.cwd()) if script.is_relative_to(Path.cwd()) else script)


def project_directory() -> Path | None:
    """The folder holding Pulumi.yaml: the current one or the nearest above it (where pulumi looks for it too)."""
    here = Path.cwd()
    return next((folder for folder in (here, *here.parents) if (folder / "Pulumi.yaml").is_file()), None)


def local_backend(environ: Mapping[str, str]) -> Path | None:
    """The project's own state folder, when no backend is set (PULUMI_BACKEND_URL)."""
    if environ.get("PULUMI_BACKEND_URL"):
        return None
    return (project_directory() or Path.cwd()) / LOCAL_STATE_DIR


def pulumi_environment(stack: str, environ: Mapping[str, str], *, say: Any = None) -> dict[str, str]:
    """The environment every pulumi command of `stack` runs with: the backend and the passphrase of its secrets.

    `say` reports the dev stack's default passphrase (the deploy says it; the reading commands do not)."""
    env = dict(environ)
    backend = local_backend(environ)
    if backend is not None:
        env["PULUMI_BACKEND_URL"] = f"file://{backend}"
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    passphrase = environ.get("PULUMI_CONFIG_PASSPHRASE")
    if environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return env
    if passphrase == "":
        # What a CI job gets from a secret that does not exist: an empty passphrase would encrypt with nothing.
        raise StackOutputsError(f"PULUMI_CONFIG_PASSPHRASE is set but empty: set it to stack '{stack}''s passphrase "
                                "(in CI: the secret PULUMI_CONFIG_PASSPHRASE of the GitHub environment "
                                f"'{stack}')")
    if passphrase is not None:
        return env
    if stack == DEV_STACK:
        env["PULUMI_CONFIG_PASSPHRASE"] = DEV_PASSPHRASE
        if say:
            say("using the dev stack's default passphrase (set PULUMI_CONFIG_PASSPHRASE to use your own)")
    elif sys.stdin is not None and sys.stdin.isatty():
        env["PULUMI_CONFIG_PASSPHRASE"] = getpass.getpass(f"Passphrase for the secrets of stack '{stack}': ")
    else:
        raise StackOutputsError(f"stack '{stack}' needs a passphrase for its secrets: set PULUMI_CONFIG_PASSPHRASE "
                                "(or PULUMI_CONFIG_PASSPHRASE_FILE)")
    return env


def stack_target_setting(stack: str, directory: Path) -> str:
    """The stack's `clerk-hasura:target` setting in `directory`/Pulumi.<stack>.yaml (docker when unset or unreadable:
    the program itself reports a broken file)."""
    try:
        document = yaml.safe_load((directory / f"Pulumi.{stack}.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return "docker"
    config = document.get("config") if isinstance(document, dict) else None
    target = config.get("clerk-hasura:target") if isinstance(config, dict) else None
    return target if isinstance(target, str) else "docker"


def docker_engine_environment(stack: str, environ: Mapping[str, str], directory: Path) -> dict[str, str]:
    """`environ`, with DOCKER_HOST from the docker CLI's current context when the stack (its Pulumi.<stack>.yaml in
    `directory`) is on the docker target and DOCKER_HOST is unset: the engine the docker CLI uses is the one the
    provider must use."""
    env = dict(environ)
    docker = shutil.which("docker", path=env.get("PATH"))
    if env.get("DOCKER_HOST") or not docker or stack_target_setting(stack, directory) != "docker":
        return env
    context = subprocess.run([docker, "context", "inspect", "--format", "{{.Endpoints.docker.Host}}"], env=env,
                             capture_output=True, text=True)
    if context.returncode == 0 and context.stdout.strip():
        env["DOCKER_HOST"] = context.stdout.strip()
    return env
