"""Time of the docker target's deploys on the real engine, the real Docker provider and a real Docker engine.

    .venv/bin/python bench/docker_deploy_bench.py [--runs 3]

Builds (or reuses) the pulumi CLI and the stand-in Docker provider, starts the Docker engine with the stand-in
images (scripts/test-docker), and times what `scripts/deploy` runs (`pulumi up --refresh`, then the standalone
smoke check) for: the first deploy, a no-op deploy, and the repair of a stopped Hasura container. Prints a table;
removes its stack and containers at the end (and stops the engine if it started it). Aims (issue 17): no-op under 5 s; the repair no slower than a fresh
create.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROJECT = "clerk-hasura"
STACK = "benchdocker"
SIGNING_KEY = "bench-docker-hs256-key-" + "k" * 24


def last_line(command: list[str]) -> str:
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def remove_stack_objects() -> None:
    label = f"label=clerk-hasura.stack={STACK}"
    for listing, remove in ((["ps", "-aq"], ["rm", "-f"]), (["volume", "ls", "-q"], ["volume", "rm"]),
                            (["network", "ls", "-q"], ["network", "rm"])):
        ids = subprocess.run(["docker", *listing, "--filter", label], capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", *remove, *ids], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="no-op deploys and repairs to time (default 3)")
    args = parser.parse_args()

    from pulumi import automation as auto

    pulumi_bin = Path(last_line([str(ROOT / "scripts" / "build-pulumi")]))
    plugin = Path(last_line([str(ROOT / "scripts" / "build-docker-provider")]))
    subprocess.run([str(ROOT / "scripts" / "test-docker"), "start"], check=True)
    subprocess.run([str(ROOT / "scripts" / "test-docker"), "images"], check=True)
    docker_host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    os.environ["DOCKER_HOST"] = docker_host

    home = Path(tempfile.mkdtemp(prefix="docker-bench-"))
    for part in ("state", "work", "pulumi-home"):
        (home / part).mkdir()
    venv_bin = Path(sys.executable).parent
    env = {
        "PULUMI_BACKEND_URL": f"file://{home / 'state'}", "PULUMI_CONFIG_PASSPHRASE": "bench",
        "PULUMI_HOME": str(home / "pulumi-home"), "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true", "PULUMI_PYTHON_CMD": str(venv_bin / "python"),
        "PATH": os.pathsep.join([str(pulumi_bin), str(venv_bin), os.environ.get("PATH", "")]),
        "DOCKER_HOST": docker_host,
    }
    subprocess.run([str(pulumi_bin / "pulumi"), "plugin", "install", "resource", "docker", "5.2.0", "--file",
                    str(plugin)], env={**os.environ, **env}, check=True, capture_output=True)

    def program() -> None:
        import runpy
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    stack = auto.create_stack(STACK, project_name=PROJECT, program=program, opts=auto.LocalWorkspaceOptions(
        work_dir=str(home / "work"), pulumi_home=str(home / "pulumi-home"),
        pulumi_command=auto.PulumiCommand(root=str(pulumi_bin.parent)), env_vars=env, secrets_provider="passphrase",
        project_settings=auto.ProjectSettings(name=PROJECT, runtime="python")))
    config = {
        "clerk": {"publishableKey": "pk_test_aGFwcHktaGlwcG8tMTIuY2xlcmsuYWNjb3VudHMuZGV2JA",
                  "signingAlgorithm": "HS256"},
        "hasura": {"port": free_port()},
        # As on the dev stack (this one has its own name, so it never meets the tests' `dev` containers).
        "postgres": {"protectVolume": False},
        "smoke": {"writes": True},
    }
    for key, value in config.items():
        stack.set_config(f"{PROJECT}:{key}", auto.ConfigValue(json.dumps(value)))
    stack.set_config(f"{PROJECT}:clerkSigningKey", auto.ConfigValue(SIGNING_KEY, secret=True))

    def deploy() -> tuple[float, float]:
        started = time.perf_counter()
        stack.up(refresh=True, color="never")
        up_seconds = time.perf_counter() - started
        outputs = {name: output.value for name, output in stack.outputs().items()}
        subprocess.run([sys.executable, "-m", "components.cli", "smoke", "--token-source", "none"], cwd=ROOT,
                       input=json.dumps(outputs), capture_output=True, text=True, check=True)
        return up_seconds, time.perf_counter() - started

    remove_stack_objects()
    rows = []
    try:
        rows.append(("first deploy", *deploy()))
        for _ in range(args.runs):
            rows.append(("no-op deploy", *deploy()))
        for _ in range(args.runs):
            subprocess.run(["docker", "stop", f"{PROJECT}-{STACK}-hasura"], check=True, capture_output=True)
            rows.append(("repair of a stopped Hasura", *deploy()))
        report(rows)
    finally:
        try:
            stack.destroy(color="never")
        finally:
            remove_stack_objects()
            shutil.rmtree(home, ignore_errors=True)
            # Stops the engine only if `start` started it and no other user (a test session) is left.
            subprocess.run([str(ROOT / "scripts" / "test-docker"), "stop"], capture_output=True)


def report(rows: list[tuple[str, float, float]]) -> None:
    version = subprocess.run(["docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"],
                             capture_output=True, text=True).stdout.strip()
    print(f"docker target on Docker Engine {version}, {os.cpu_count()} cores; seconds (median of the runs)")
    print(f"{'operation':<30} {'pulumi up --refresh':>20} {'+ standalone check':>20} {'runs':>5}")
    for name in dict.fromkeys(name for name, *_ in rows):
        ups = [up for n, up, _ in rows if n == name]
        totals = [total for n, _, total in rows if n == name]
        print(f"{name:<30} {statistics.median(ups):>20.1f} {statistics.median(totals):>20.1f} {len(ups):>5}")


if __name__ == "__main__":
    main()
