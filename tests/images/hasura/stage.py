"""Stage the build context of the `hasura/graphql-engine` stand-in: `python tests/images/hasura/stage.py <dir>`.

Builds have no network beyond Debian's mirror, so the Python packages the Hasura double needs are copied from this
venv's site-packages (CPython 3.11 on glibc: the same ABI as Debian bookworm's python3). Only the distributions
the double imports and their requirements are copied, each with the files its RECORD lists.

The context: the Dockerfile and `graphql-engine` (the wrapper) from this directory, `app/tests/doubles/hasura/`
(the double, unchanged) and `site-packages/`.
"""

from __future__ import annotations

import shutil
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[2]
DOUBLE = REPOSITORY / "tests" / "doubles" / "hasura"
#: The distributions the double imports (tests/doubles/hasura/__init__.py; jwks.py uses httpx); psycopg with its
#: bundled libpq (`psycopg[binary]`), as the image has no libpq of its own.
ROOT_DISTRIBUTIONS = ("graphql-core", "joserfc", "psycopg", "psycopg-binary", "httpx")


def distribution_closure(roots: tuple[str, ...]) -> list[metadata.Distribution]:
    """The roots and everything they require (no extras), as installed in this interpreter."""
    found: dict[str, metadata.Distribution] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        key = name.lower().replace("_", "-")
        if key in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            sys.exit(f"stage.py: {name} is not installed in {sys.prefix}; install the test dependencies: "
                     "pip install -e '.[test]'")
        found[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return sorted(found.values(), key=lambda dist: dist.metadata["Name"].lower())


def copy_distribution(dist: metadata.Distribution, site_packages: Path) -> None:
    for file in dist.files or []:
        source = Path(dist.locate_file(file)).resolve()
        # RECORD also lists console scripts outside site-packages (../../bin) and bytecode: neither is needed.
        if file.parts[0] == ".." or "__pycache__" in file.parts or not source.is_file():
            continue
        target = site_packages / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def stage(context: Path) -> None:
    for name in ("Dockerfile", "graphql-engine"):
        shutil.copy2(HERE / name, context / name)
    app = context / "app" / "tests"
    (app / "doubles").mkdir(parents=True)
    for package in (app, app / "doubles"):  # empty package markers: the double is imported as tests.doubles.hasura
        (package / "__init__.py").touch()
    shutil.copytree(DOUBLE, app / "doubles" / "hasura", ignore=shutil.ignore_patterns("__pycache__"))
    site_packages = context / "site-packages"
    for dist in distribution_closure(ROOT_DISTRIBUTIONS):
        copy_distribution(dist, site_packages)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/images/hasura/stage.py <empty build context directory>")
    stage(Path(sys.argv[1]))
