"""`clerk-hasura deploy [STACK] [--init] [pulumi up flags...]` (what `scripts/deploy` hands over to): deploys one stack
(default: dev) with the pulumi CLI.

    clerk-hasura deploy                    the dev stack, on Docker on this machine by default
    clerk-hasura deploy staging --yes      flags after the stack go to `pulumi up` as they are
    clerk-hasura deploy staging --init     creates the stack only, so `clerk-hasura pulumi --stack staging config
                                           set --secret …` works before the first deploy

Checks first what the stack needs on this machine and names everything missing at once: the pulumi CLI and, for the
docker target, Docker Engine 20.10 (API 1.41) or newer, running. The backend and the passphrase of the stack's secrets
are found as for every command (`components.cli.stack`). Creates the stack when it does not exist yet, never
selecting it (every pulumi command names it with --stack, so the stack `pulumi` acts on by default stays yours), then
runs `pulumi up --refresh`, which previews and asks before changing anything (pass --yes to skip the question).
--refresh: the engine compares the program with what is live, not with the last saved state, so a deploy repairs
drift (a permission changed in the console, a stopped container) instead of reporting "unchanged".
After every `pulumi up`, the standalone smoke check (`clerk-hasura smoke --token-source none`: no user token, no
writes) proves that Hasura answers and refuses anonymous and forged requests, so a deploy against a stopped Hasura
fails even when nothing changed. With DEPLOY_SMOKE_REPORT=FILE its report is written there too (the deploy workflow
puts it in the job summary).

Exit codes: 2 when something is missing or refused before pulumi runs, otherwise the failing pulumi command's, then
the smoke check's (0 passed, 1 failed, 2 could not run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.cli.stack import (DEV_STACK, PULUMI_MISSING, StackOutputsError, docker_engine_environment,
                                  local_backend, own_command, pulumi_cli, pulumi_environment, stack_target_setting)

NAME = "deploy"
EXIT_REFUSED = 2
PLACEHOLDER_KEY = "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA"
#: Docker Engine 20.10, e.g. Debian 12's docker.io.
MINIMUM_DOCKER_API = (1, 41)
#: The interpreter the Pulumi program runs with (Pulumi.yaml: virtualenv .venv), which `scripts/deploy` installed the
#: project into: the smoke check runs there too, as its own process, its report streamed as it is printed.
VENV_PYTHON = Path(".venv/bin/python")
SMOKE_COMMAND = ("-m", "components.cli", "smoke", "--token-source", "none")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        NAME, help="deploy a stack (pulumi up --refresh, then the standalone smoke check)",
        usage="clerk-hasura deploy [STACK] [--init] [pulumi up flags...]",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", nargs="?", default=DEV_STACK, help="the stack (default: dev)")
    parser.add_argument("--init", action="store_true", help="create the stack only, to set its config and secrets "
                                                            "before the first deploy")


def say(message: str) -> None:
    print(f"clerk-hasura deploy: {message}", file=sys.stderr, flush=True)


def run_words(words: list[str], environ: Mapping[str, str]) -> int:
    """`deploy`'s arguments as given: the stack when the first is not a flag, `--init`, and `pulumi up`'s flags."""
    stack = DEV_STACK
    if words and not words[0].startswith("-"):
        stack, words = words[0], words[1:]
    return deploy(stack, init_only="--init" in words, up_flags=[word for word in words if word != "--init"],
                  environ=environ)


def deploy(stack: str, *, init_only: bool, up_flags: list[str], environ: Mapping[str, str]) -> int:
    env = dict(environ)
    path = env.get("PATH")
    target = stack_target_setting(stack, Path("."))
    missing = []
    needs_docker = not init_only and target == "docker"
    docker = shutil.which("docker", path=path)
    if needs_docker:
        missing += docker_problems(docker)
    pulumi = pulumi_cli(env)
    if not pulumi:
        missing.append(PULUMI_MISSING)
    if missing:
        say("cannot deploy; missing:")
        print("\n".join(f"  - {item}" for item in missing), file=sys.stderr)
        return EXIT_REFUSED

    if not init_only and stack == DEV_STACK and PLACEHOLDER_KEY in _read(Path("Pulumi.dev.yaml")):
        say("Pulumi.dev.yaml still holds the example Clerk publishable key (it is not your Clerk instance).")
        say("Replace it with yours (Clerk dashboard -> API keys), e.g.:")
        say(f"  perl -pi -e 's/{PLACEHOLDER_KEY}/pk_test_YOUR_KEY/' Pulumi.dev.yaml")
        return EXIT_REFUSED

    env = docker_engine_environment(stack, env, Path("."))
    backend = local_backend(env)
    try:
        env = pulumi_environment(stack, env, say=say)
    except StackOutputsError as error:
        say(str(error))
        return EXIT_REFUSED
    if backend is not None:
        backend.mkdir(exist_ok=True)

    listed = subprocess.run([pulumi, "stack", "ls", "--json", "--non-interactive"], env=env, stdout=subprocess.PIPE,
                            text=True)
    if listed.returncode != 0:
        return listed.returncode
    if stack not in stack_names(listed.stdout):
        say(f"creating stack '{stack}' (secrets encrypted with the passphrase)")
        created = subprocess.run([pulumi, "stack", "init", "--secrets-provider", "passphrase", "--no-select",
                                  "--non-interactive", stack], env=env)
        if created.returncode != 0:
            return created.returncode
    if init_only:
        say(f"stack '{stack}' is ready. Set its config and secrets before the first deploy, e.g. (it asks for the "
            "value):")
        say(f"  {own_command(environ)} pulumi --stack {stack} config set --secret clerkSecretKey")
        say(f"then deploy with: scripts/deploy {stack}")
        return 0

    up = subprocess.run([pulumi, "up", "--refresh", "--stack", stack, *up_flags], env=env)
    if up.returncode != 0:
        return up.returncode
    say("checking the deployed stack (clerk-hasura smoke --token-source none)")
    outputs = subprocess.run([pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack], env=env,
                             stdout=subprocess.PIPE, text=True)
    if outputs.returncode != 0:
        return outputs.returncode
    return smoke_check(outputs.stdout, env)


def smoke_check(outputs: str, env: Mapping[str, str]) -> int:
    """The standalone check on the stack outputs; its report on stdout and, with DEPLOY_SMOKE_REPORT, in that file."""
    report_path = env.get("DEPLOY_SMOKE_REPORT")
    with open(report_path if report_path else os.devnull, "w") as report:
        check = subprocess.Popen([str(VENV_PYTHON), *SMOKE_COMMAND], env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        assert check.stdin is not None and check.stdout is not None
        check.stdin.write(outputs)
        check.stdin.close()
        for line in check.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            report.write(line)
        return check.wait()


def docker_problems(docker: str | None) -> list[str]:
    """What keeps the docker target from deploying here: no docker CLI, no engine it reaches, or an engine older
    than Docker 20.10."""
    if not docker:
        return ["the docker CLI: not found. Install Docker Engine 20.10 or newer (https://docs.docker.com/get-docker/)"]
    answer = subprocess.run([docker, "version", "--format", "{{.Server.APIVersion}}"], capture_output=True, text=True)
    if answer.returncode != 0:
        first_line = (answer.stdout + answer.stderr).strip().splitlines()[:1]
        return [f"a running Docker engine: the docker CLI cannot reach one ({''.join(first_line)}). Start Docker "
                "(Docker Desktop, or 'sudo systemctl start docker'), or set DOCKER_HOST"]
    api = (answer.stdout.strip().splitlines() or [""])[-1]
    if _version(api) < MINIMUM_DOCKER_API:
        minimum = ".".join(map(str, MINIMUM_DOCKER_API))
        return [f"Docker Engine 20.10 (API {minimum}) or newer: the engine the docker CLI reaches speaks API {api}. "
                "Upgrade Docker (https://docs.docker.com/engine/install/), or set DOCKER_HOST to a newer engine"]
    return []


def stack_names(listing: str) -> set[str]:
    """The stacks of `pulumi stack ls --json`, by bare name ("dev" on a file backend, "org/dev" on Pulumi Cloud)."""
    return {str(entry.get("name", "")).rsplit("/", 1)[-1] for entry in json.loads(listing)}


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return ()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
