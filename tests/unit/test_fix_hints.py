"""Every pulumi command a message of the package tells a person to run is runnable as printed in a fresh shell: it
names the stack (`clerk-hasura pulumi --stack <stack> …`, which also finds the backend and the passphrase), instead of
a bare `pulumi config set …` that acts on whatever stack is selected, or asks for a Pulumi Cloud login.

A command to run is what a message puts in backticks; docstrings and comments describe, they are not read here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: A backticked command that starts with `pulumi ` (so not `clerk-hasura pulumi --stack …`).
PULUMI_COMMAND = re.compile(r"`(pulumi [^`]*)`")


def message_strings(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module (adjacent literals joined, f-strings' literal parts), without docstrings and
    other bare string statements."""
    tree = ast.parse(path.read_text(), str(path))
    bare = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    found = []
    for node in ast.walk(tree):
        if id(node) in bare:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(part.value if isinstance(part, ast.Constant) else "{…}" for part in node.values)
            found.append((node.lineno, text))
    return found


def bare_pulumi_commands(path: Path) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line}: `{command}`" for line, text in message_strings(path)
            for command in PULUMI_COMMAND.findall(text) if "--stack" not in command]


def package_modules() -> list[Path]:
    return sorted((ROOT / "components").rglob("*.py"))


def test_no_message_tells_to_run_a_pulumi_command_without_its_stack():
    assert [found for path in package_modules() for found in bare_pulumi_commands(path)] == []


@pytest.mark.parametrize(("source", "found"), [
    ('raise ValueError("Fix: `pulumi config set --secret clerkSecretKey`")', 1),
    ('message = f"Fix: `pulumi config rm {key}`"', 1),
    ('message = ("Fix: `pulumi config "\n           "set --path a.b c`")', 1),
    ('message = "Fix: `clerk-hasura pulumi --stack dev config rm key`"', 0),
    ('message = "Fix: `pulumi stack output --stack dev`"', 0),
    ('"""`pulumi up` in a docstring describes what runs."""', 0),
])
def test_the_scan_finds_a_bare_command_in_any_message_string(source, found, tmp_path):
    module = tmp_path / "module.py"
    module.write_text(source + "\n")
    assert len([command for _, text in message_strings(module) for command in PULUMI_COMMAND.findall(text)
                if "--stack" not in command]) == found
