"""The project's one-line description, as Pulumi (Pulumi.yaml) and the package index (pyproject.toml) show it, names
every target, not only Docker."""

from __future__ import annotations

import tomllib

import yaml

from tests.pulumi_harness import PROJECT_DIR

#: How each registered target is named in prose.
TARGET_PLATFORMS = ("Docker", "Kubernetes", "an existing Hasura", "Hasura Cloud", "Nhost")


def test_pulumi_and_the_package_describe_the_project_alike_on_every_target():
    pulumi_description = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["description"]
    package_description = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["description"]
    assert pulumi_description == package_description
    assert "in Docker" not in package_description
    assert all(platform in package_description for platform in TARGET_PLATFORMS)
