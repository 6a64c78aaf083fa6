"""`clerk-hasura pulumi --stack STACK <pulumi arguments...>`: any pulumi command on one stack, with the backend and
the passphrase every clerk-hasura command uses, so it runs as printed in a fresh shell.

    clerk-hasura pulumi --stack dev config set --secret clerkSecretKey     asks for the value, as pulumi does
    clerk-hasura pulumi --stack staging config                             the stack's settings
    clerk-hasura pulumi --stack staging stack history

Runs the pulumi CLI on PATH in the project directory (the folder holding Pulumi.yaml: this one or the nearest above
it) with `--stack STACK` and every other argument as it is, on this terminal (stdin, stdout and stderr are pulumi's).
Its environment, as for `clerk-hasura deploy` (`components.cli.stack`): PULUMI_BACKEND_URL when set, otherwise the
local backend in `.pulumi-state/` of the project directory (never a Pulumi Cloud login); PULUMI_CONFIG_PASSPHRASE
(or PULUMI_CONFIG_PASSPHRASE_FILE) when set, otherwise the dev stack's default, otherwise asked for on a terminal;
for a stack on the docker target, DOCKER_HOST when set, otherwise the docker CLI's current context (as the deploy).
A stack is created by `scripts/deploy STACK --init` (or its first deploy), not here.

Exit codes: pulumi's own; 2 when refused before pulumi runs (no --stack first, no Pulumi.yaml, no pulumi CLI, no
passphrase).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from components.cli.stack import (PULUMI_MISSING, StackOutputsError, docker_engine_environment, local_backend,
                                  project_directory, pulumi_cli, pulumi_environment)

NAME = "pulumi"
EXIT_REFUSED = 2
USAGE = "clerk-hasura pulumi --stack STACK <pulumi arguments...>"


def add_parser(commands: Any) -> None:
    # Only for --help: `main` hands everything after `pulumi` to `run_words` unparsed, so pulumi's own flags
    # (`--secret`, `--help` of a pulumi command) reach pulumi.
    commands.add_parser(NAME, help="run a pulumi command on a stack with its backend and passphrase", usage=USAGE,
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)


def say(message: str) -> None:
    print(f"clerk-hasura pulumi: {message}", file=sys.stderr, flush=True)


def run_words(words: list[str], environ: Mapping[str, str]) -> int:
    """The words after `clerk-hasura pulumi`: `--stack STACK` (or `--stack=STACK`) first, then pulumi's arguments."""
    stack, arguments = stack_first(words)
    if not stack:
        say(f"name the stack first. Fix: clerk-hasura pulumi --stack <stack> {shlex.join(arguments) or 'config'}   "
            "(e.g. --stack dev)")
        return EXIT_REFUSED
    directory = project_directory()
    if directory is None:
        say("no Pulumi.yaml in this folder or any above it. Fix: run it in the clerk-hasura checkout (the folder "
            "with Pulumi.yaml)")
        return EXIT_REFUSED
    pulumi = pulumi_cli(environ)
    if not pulumi:
        say(PULUMI_MISSING)
        return EXIT_REFUSED
    try:
        env = docker_engine_environment(stack, pulumi_environment(stack, environ), directory)
    except StackOutputsError as error:
        say(str(error))
        return EXIT_REFUSED
    backend = local_backend(environ)
    if backend is not None:
        backend.mkdir(exist_ok=True)
    with subprocess.Popen([pulumi, "--stack", stack, *arguments], cwd=directory, env=env) as process:
        while True:
            try:
                code = process.wait()
                break
            except KeyboardInterrupt:
                # Ctrl-C reached pulumi too (same terminal): it cancels gracefully and exits on its own.
                continue
    return code if code >= 0 else 128 - code


def stack_first(words: list[str]) -> tuple[str | None, list[str]]:
    """The stack named first (None when it is not) and the arguments after it."""
    if words[:1] == ["--stack"]:
        named = len(words) > 1 and not words[1].startswith("-")
        return (words[1], words[2:]) if named else (None, words[1:])
    if words and words[0].startswith("--stack="):
        return words[0].removeprefix("--stack=") or None, words[1:]
    return None, words
