"""The guide for teams using `ClerkHasura` from their own Pulumi program (docs/guides/use-from-your-program.md): its
examples are the tested programs themselves (included from tests/data/consumers, the project folder
tests/engine/test_component_install.py deploys), each consumer program that exists is shown (the others named in a
TODO for the merge), and the error it shows is the one the component gives now."""

from __future__ import annotations

import re

import pytest

import components.component
from components.errors import ClerkHasuraError
from components.plan import plan_stack
from scripts.docs_reference import ROOT
from tests.unit.docs.test_site import mkdocs_build

GUIDE = ROOT / "docs" / "guides" / "use-from-your-program.md"
#: The tested consumer programs the guide shows: the installed wheel's (Python), and those of the component
#: provider package (issue 28 item 4) once they are in the tree.
CONSUMER_FILES = (
    "tests/data/consumers/python-wheel/Pulumi.yaml",
    "tests/data/consumers/python-wheel/__main__.py",
    "tests/data/consumers/typescript/index.ts",
    "tests/data/consumers/typescript/package.json",
    "tests/data/consumers/typescript/tsconfig.json",
    "tests/data/consumers/yaml/Pulumi.yaml",
)
INCLUDE = re.compile(r'^[ \t]*--8<-- "([^"]+)"[ \t]*$', re.M)


def guide() -> str:
    return GUIDE.read_text()


def section(title: str) -> str:
    return guide().split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_python_example_is_the_project_folder_the_install_test_deploys():
    included = INCLUDE.findall(guide())
    assert included[:2] == ["tests/data/consumers/python-wheel/Pulumi.yaml",
                            "tests/data/consumers/python-wheel/__main__.py"]
    install_test = (ROOT / "tests" / "engine" / "test_component_install.py").read_text()
    assert 'TEAM_PROJECT = ROOT / "tests" / "data" / "consumers" / "python-wheel"' in install_test


@pytest.mark.parametrize("path", CONSUMER_FILES)
def test_each_consumer_program_in_the_tree_is_shown_and_each_other_is_named_for_the_merge(path):
    included = set(INCLUDE.findall(guide()))
    todos = " ".join(re.findall(r"<!-- TODO\b(.*?)-->", guide(), re.S))
    if (ROOT / path).exists():
        assert path in included, f"{path} exists: include it in {GUIDE.name} (`--8<-- \"{path}\"` in a code fence)"
    else:
        assert path in todos, f"{path}: name it in the TODO comment of its section of {GUIDE.name}"


def test_the_built_page_shows_the_tested_program_as_it_is(tmp_path):
    built = mkdocs_build(ROOT, tmp_path)
    assert built.returncode == 0, built.stderr
    html = (tmp_path / "site" / "guides" / "use-from-your-program" / "index.html").read_text()
    text = re.sub(r"<[^>]+>", "", html).replace("&quot;", '"').replace("&#39;", "'").replace("&gt;", ">")
    program = (ROOT / "tests" / "data" / "consumers" / "python-wheel" / "__main__.py").read_text()
    missing = [line for line in program.splitlines() if line.strip() and line not in text]
    assert missing == []
    assert "--8&lt;--" not in html and "--8<--" not in text


def test_the_error_shown_is_the_one_the_component_gives_for_those_arguments(tmp_path):
    errors = section("Errors")
    [arguments] = re.findall(r"```python\n(.*?)```", errors, re.S)
    [shown] = re.findall(r"```text\n(.*?)```", errors, re.S)
    args = eval(arguments, vars(components.component))  # noqa: S307 - the guide's own example
    with pytest.raises(ClerkHasuraError) as raised:
        plan_stack(components.component.stack_config_of(args), "dev", {}, project_dir=tmp_path)
    assert shown == components.component.in_argument_terms(str(raised.value)) + "\n"

