"""The docs as a newcomer meets them: the README short and its links alive, the MkDocs site building with --strict
(a broken link or anchor fails it), and every shell example that runs a project command naming a command, flag and
setting that exist."""

from __future__ import annotations

import argparse
import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.cli import pulumi as pulumi_command
from components.cli.main import parser
from scripts.docs_reference import ROOT, settings_sections

DOCS = sorted((ROOT / "docs").rglob("*.md"))
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *DOCS]
#: Pages whose shell examples run in a team's own Pulumi project (its own backend, passphrase and config keys), where
#: a bare `pulumi` command is the right one.
OWN_PROJECT_PAGES = (ROOT / "docs" / "guides" / "use-from-your-program.md",)
#: The tested programs the pages include (`--8<--`), which a build of a copy of the site needs too.
INCLUDED = Path("tests") / "data" / "consumers"


def mkdocs_build(project: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=project, capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1",
                                                                             "PATH": "/usr/bin:/bin"})


def test_the_readme_is_at_most_200_lines():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_the_site_builds_strictly(tmp_path):
    built = mkdocs_build(ROOT, tmp_path)
    assert built.returncode == 0, built.stderr


def test_a_broken_anchor_fails_the_strict_build(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "docs", project / "docs")
    shutil.copytree(ROOT / INCLUDED, project / INCLUDED)
    shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    page = project / "docs" / "getting-started.md"
    page.write_text(page.read_text() + "\nSee [the stacks](concepts/stacks.md#no-such-heading).\n")
    built = mkdocs_build(project, tmp_path)
    assert built.returncode != 0
    assert "no-such-heading" in built.stderr


TARGET_OUTLINE = ["When to use it", "Prerequisites", "Deploy", "What the stack creates or owns", "Settings", "Outputs",
                  "Destroy and data"]


def test_one_page_per_target_each_in_the_same_outline():
    from components.targets import TARGET_NAMES
    pages = {page.stem: page for page in (ROOT / "docs" / "targets").glob("*.md")}
    assert set(pages) == set(TARGET_NAMES)
    for name, page in pages.items():
        assert re.findall(r"^## (.+)$", page.read_text(), re.M) == TARGET_OUTLINE, name
        # Every walkthrough creates the stack first, so `config set --secret` works before the first deploy.
        assert f"scripts/deploy {'staging' if name == 'docker' else 'prod'} --init" in page.read_text(), name


@pytest.mark.parametrize("page", [ROOT / "README.md", ROOT / "CONTRIBUTING.md"], ids=lambda p: p.name)
def test_the_relative_links_outside_the_site_lead_to_files_that_exist(page):
    # The site's own links are checked by the strict build; these two files are read on GitHub.
    targets = re.findall(r"\]\((?!https?://|#)([^)#\s]+)", page.read_text())
    assert targets
    assert [target for target in targets if not (ROOT / target).exists()] == []


# --- shell examples ------------------------------------------------------------------------------------------

def shell_commands(text: str) -> list[str]:
    """Each command of the ```bash / ```sh blocks of `text`: continuation lines joined, comments dropped, split at
    pipes and `&&`."""
    commands = []
    for block in re.findall(r"^[ \t]*```(?:bash|sh|shell)\n(.*?)^[ \t]*```", text, re.M | re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"(^|\s)#.*$", "", line).strip()
            commands += [part.strip() for part in re.split(r"\|\||&&|\||;", line) if part.strip()]
    return commands


def project_command(command: str) -> list[str] | None:
    """The words of `command` from the project command on (environment assignments dropped), or None when it runs
    none of the project's commands."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        words = words[1:]
    if not words:
        return None
    head = words[0]
    if head.startswith("scripts/") or head in ("pulumi", ".venv/bin/clerk-hasura", "clerk-hasura") or (
            head.endswith(("python", "python3")) and words[1:2] == ["-m"]):
        return words
    return None


def subcommands() -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices)


SETTING_KEYS = {key.path for section in settings_sections() for key in section.keys}


def problems_of(words: list[str]) -> list[str]:
    head = words[0]
    if head.startswith("scripts/"):
        return [] if (ROOT / head).is_file() else [f"{head} does not exist"]
    if head.endswith(("python", "python3")):
        module = words[2]
        return [] if importlib.util.find_spec(module) else [f"no module {module}"]
    if head == "pulumi":
        return ["a bare `pulumi` command needs the project's backend and passphrase: run it as "
                "`.venv/bin/clerk-hasura pulumi --stack <stack> …`"]
    if len(words) < 2:
        return []
    name, rest = words[1], words[2:]
    commands = subcommands()
    if name not in commands:
        return [f"clerk-hasura has no command {name}"]
    if name == pulumi_command.NAME:
        return wrapper_problems(rest)
    known = {flag for action in commands[name]._actions for flag in action.option_strings}
    if name == "deploy":
        known |= {"--init"}  # the rest goes to `pulumi up`
        return []
    return [f"clerk-hasura {name} has no flag {word}" for word in rest
            if word.startswith("--") and word.split("=", 1)[0] not in known]


def wrapper_problems(rest: list[str]) -> list[str]:
    """`clerk-hasura pulumi`: the stack as the command reads it (`stack_first`), and the setting of a `config set`."""
    stack, arguments = pulumi_command.stack_first(rest)
    if not stack or not arguments:
        return [f"the stack first, then pulumi's arguments: {pulumi_command.USAGE}"]
    pulumi_args = [word for word in arguments if not word.startswith("-")]
    if pulumi_args[:2] == ["config", "set"]:
        key = pulumi_args[2]
        if key not in SETTING_KEYS:
            return [f"`config set {key}`: no such setting (docs/reference/settings.md)"]
        if "." in key and "--path" not in arguments:
            return [f"`config set {key}`: a nested key needs --path"]
    return []


def test_the_extraction_finds_the_project_commands():
    commands = [words for page in PAGES for command in shell_commands(page.read_text())
                if (words := project_command(command))]
    heads = {words[0] if words[0] != ".venv/bin/clerk-hasura" else f"clerk-hasura {words[1]}" for words in commands}
    assert {"scripts/deploy", "scripts/test", "clerk-hasura pulumi", "clerk-hasura outputs",
            "clerk-hasura drift"} <= heads
    indented = shell_commands("1. Create it:\n\n   ```bash\n   scripts/deploy staging --init\n   ```\n")
    assert indented == ["scripts/deploy staging --init"]


def test_the_checks_refuse_what_does_not_exist():
    assert problems_of(["scripts/nope"]) == ["scripts/nope does not exist"]
    assert problems_of([".venv/bin/clerk-hasura", "drift", "--stak", "dev"])
    assert problems_of([".venv/bin/clerk-hasura", "nope"])
    assert problems_of([".venv/bin/clerk-hasura", "pulumi", "config", "set", "clerkSecretKey", "x"])
    assert problems_of([".venv/bin/clerk-hasura", "pulumi", "--stak", "dev", "config"])
    assert problems_of([".venv/bin/clerk-hasura", "pulumi", "--stack", "dev"])
    assert problems_of([".venv/bin/clerk-hasura", "pulumi", "--stack", "dev", "config", "set", "clerkSecretKy", "x"])
    assert problems_of([".venv/bin/clerk-hasura", "pulumi", "--stack=dev", "config", "set", "clerkSecretKy", "x"])
    assert problems_of([".venv/bin/clerk-hasura", "pulumi", "--stack", "dev", "config", "set", "smoke.runId", "1"])
    assert problems_of(["pulumi", "config", "set", "--secret", "clerkSecretKey", "x"])
    assert problems_of([".venv/bin/python", "-m", "tests.doubles.nope"])


def test_the_wrapper_is_read_as_the_command_reads_it():
    assert pulumi_command.NAME in subcommands()
    for stack in (["--stack", "dev"], ["--stack=dev"]):
        assert problems_of(["clerk-hasura", "pulumi", *stack, "config", "set", "--secret", "clerkSecretKey"]) == []
        assert problems_of(["clerk-hasura", "pulumi", *stack, "config", "set", "--path", "smoke.runId", "1"]) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shell_example_names_a_command_flag_and_setting_that_exist(page):
    problems = [f"{command}: {problem}" for command in shell_commands(page.read_text())
                if (words := project_command(command)) and not (page in OWN_PROJECT_PAGES and words[0] == "pulumi")
                for problem in problems_of(words)]
    assert problems == []
