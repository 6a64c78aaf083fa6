"""`clerk-hasura <command>`: argument parsing shared by every subcommand, then the subcommand's `run`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from components.cli import deploy, drift, export, outputs, pulumi, smoke, status

#: Each module adds its subparser (`add_parser`) with `run(args, stdin, environ) -> exit code` as its default.
COMMANDS = (deploy, status, drift, export, smoke, outputs, pulumi)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="clerk-hasura",
        description="Deploy PostgreSQL + Hasura trusting Clerk sign-ins as a Pulumi stack, check or read a deployed "
                    "stack, and run any pulumi command on a stack. `clerk-hasura <command> --help` describes each "
                    "command and its exit codes.")
    commands = root.add_subparsers(dest="command", required=True, metavar="<command>")
    for command in COMMANDS:
        command.add_parser(commands)
    return root


def main(argv: list[str] | None = None, *, stdin: Any = sys.stdin, environ: Mapping[str, str] | None = None) -> int:
    """`stdin` None: nothing piped (the stack outputs come from --stack, flags or the environment)."""
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ if environ is None else environ
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    if argv[:1] == [deploy.NAME] and not {"-h", "--help"} & set(argv[1:]):
        # Everything after the stack goes to `pulumi up` as it is, so it is not parsed as this command's flags.
        return deploy.run_words(argv[1:], environ)
    if argv[:1] == [pulumi.NAME] and argv[1:2] not in (["-h"], ["--help"]):
        # Every argument goes to the pulumi CLI as it is (`--secret`, a pulumi command's own --help).
        return pulumi.run_words(argv[1:], environ)
    args = parser().parse_args(argv)
    return args.run(args, stdin, environ)
