"""The package's import graph, read from the code (ast, nothing imported): no module imports itself back through
others, no area imports one above it, and every target is one folder that reaches into no other target.

`import_graph` and `graph_problems` take the tree's root, so the toy-target test (tests/unit/targets/test_toy_target.py) holds a
copy of the package with one more target to the same rules.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: The areas of `components/` from the ground up; an area may import its own modules and those of the layers below.
#: The shared settings, Hasura, Clerk and the JWT secret know no target; the targets, the dynamic providers and the
#: smoke check know no stack; the stack, its plan, the commands and the package's provider sit on top.
LAYERS = (
    {"errors"},
    {"config", "hasura", "clerk", "auth"},
    {"targets", "providers", "smoke"},
    {"component", "plan", "commands", "cli", "package"},
)
TARGETS_PACKAGE = "components.targets"
#: What the target folders may share: the interface and the modules several targets use.
TARGET_COMMONS = ("components.targets.base", "components.targets.shared")


def module_files(root: Path) -> dict[str, Path]:
    """Every module of `components/` under `root`, by dotted name (a package by its own name)."""
    modules = {}
    for path in sorted((root / "components").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of `components` it imports: `import X`, `from X import name` (the submodule when `name`
    is one), and a string that names a module (what `importlib.import_module` loads: the registry's targets)."""
    modules = module_files(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                edges |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names}
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in modules:
                edges.add(node.value)
        graph[name] = {edge for edge in edges if edge in modules and edge != name}
    return graph


def area(module: str) -> str:
    """`components.targets.nhost.client` -> `targets`; a top-level module is its own area (`plan`)."""
    return module.split(".")[1] if "." in module else module


def layer(module: str) -> int | None:
    return next((index for index, areas in enumerate(LAYERS) if area(module) in areas), None)


def target_folder(module: str, registered: set[str]) -> str | None:
    """The target folder `module` belongs to (its package), or None outside every target."""
    return next((target for target in registered if module == target or module.startswith(f"{target}.")), None)


def registered_targets(graph: dict[str, set[str]]) -> set[str]:
    """The target packages the registry names (it may import a module of one, e.g. its `args`)."""
    return {".".join(module.split(".")[:3]) for module in graph.get(TARGETS_PACKAGE, set())
            if module.startswith(f"{TARGETS_PACKAGE}.") and not module.startswith(TARGET_COMMONS)}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle (a strongly connected set of two modules or more, sorted), by Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def graph_problems(root: Path) -> list[str]:
    """What breaks the rules of the module docstring, one line each; [] when none does."""
    graph = import_graph(root)
    problems = [f"circle: {' <-> '.join(cycle)}" for cycle in cycles(graph)]
    problems += [f"{module}: area `{area(module)}` is in no layer of tests/unit/test_import_graph.py LAYERS"
                 for module in sorted(graph) if module != "components" and layer(module) is None]
    registered = registered_targets(graph)
    for module, imported in sorted(graph.items()):
        own_layer, own_target = layer(module), target_folder(module, registered)
        for other in sorted(imported):
            other_layer = layer(other)
            if own_layer is not None and other_layer is not None and other_layer > own_layer:
                problems.append(f"{module} -> {other}: `{area(module)}` imports `{area(other)}`, a layer above it")
            if module == TARGETS_PACKAGE:
                continue
            other_target = target_folder(other, registered)
            if own_target != other_target and other_target is not None:
                problems.append(f"{module} -> {other}: only the registry imports a target folder")
            if area(module) == "targets" and other == TARGETS_PACKAGE:
                problems.append(f"{module} -> {other}: the registry imports the targets, not the other way round")
    return problems


def test_the_registry_imports_every_target_folder_and_the_graph_reads_it():
    graph = import_graph(ROOT)
    assert registered_targets(graph) == {f"components.targets.{name}" for name in
                                         ("docker", "existing", "kubernetes", "hasura_cloud", "nhost")}
    assert "components.targets.shared.hosted" in graph["components.targets.nhost.jwt_secrets"]
    assert "components.config.settings" in graph["components.targets.base"]


def test_the_package_has_no_import_circle_no_arrow_back_up_and_no_target_reaching_into_another():
    assert graph_problems(ROOT) == []


def test_the_check_finds_a_circle_an_arrow_back_up_and_a_target_reaching_into_another(tmp_path):
    """The rules are not vacuous: each broken on purpose in a copy of the tree is named."""
    (tmp_path / "components" / "config").mkdir(parents=True)
    (tmp_path / "components" / "targets" / "one").mkdir(parents=True)
    (tmp_path / "components" / "targets" / "two").mkdir(parents=True)
    files = {
        "components/__init__.py": "",
        "components/config/__init__.py": "",
        "components/config/settings.py": "from components.targets import TARGETS\n",
        "components/targets/__init__.py": "TARGETS = ['components.targets.one', 'components.targets.two']\n",
        "components/targets/one/__init__.py": "from components.targets.two import thing\n",
        "components/targets/two/__init__.py": "from components.targets.two.inner import thing\n",
        "components/targets/two/inner.py": "from components.targets.two import other\n",
    }
    for path, text in files.items():
        (tmp_path / path).write_text(text)
    problems = graph_problems(tmp_path)
    assert "circle: components.targets.two <-> components.targets.two.inner" in problems
    assert ("components.config.settings -> components.targets: `config` imports `targets`, a layer above it"
            in problems)
    assert ("components.targets.one -> components.targets.two: only the registry imports a target folder"
            in problems)
