"""`clerk-hasura outputs [STACK] [--show-secrets]`: the stack's outputs as JSON (`pulumi stack output --json`), read
with the backend and passphrase every command uses (`components.cli.stack`), so they can be piped into another
machine's command or read by a person. Secret outputs print as "[secret]" unless --show-secrets is given.
Exit 0 printed, 2 could not read."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from components.cli.stack import DEV_STACK, StackOutputsError, pulumi_environment

EXIT_PRINTED, EXIT_COULD_NOT_READ = 0, 2


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "outputs", help="print the stack's outputs as JSON", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", nargs="?", default=DEV_STACK, help="the stack (default: dev)")
    parser.add_argument("--show-secrets", action="store_true", help="print secret outputs in plain text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, stdin: Any, environ: Mapping[str, str]) -> int:
    try:
        env = pulumi_environment(args.stack, environ)
    except StackOutputsError as error:
        print(f"outputs could not be read: {error}", file=sys.stderr)
        return EXIT_COULD_NOT_READ
    command = ["pulumi", "stack", "output", "--json", "--non-interactive", "--stack", args.stack]
    try:
        completed = subprocess.run(command + ["--show-secrets"] * args.show_secrets, env=env, stdout=subprocess.PIPE,
                                   text=True)
    except FileNotFoundError:
        print("outputs could not be read: the pulumi CLI is not on PATH. Fix: install it "
              "(https://www.pulumi.com/docs/install/)", file=sys.stderr)
        return EXIT_COULD_NOT_READ
    if completed.returncode != 0:
        print(f"outputs could not be read: `pulumi stack output --stack {args.stack}` exited {completed.returncode} "
              "(its message above)", file=sys.stderr)
        return EXIT_COULD_NOT_READ
    sys.stdout.write(completed.stdout)
    return EXIT_PRINTED
