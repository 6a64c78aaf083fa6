"""The HasuraMetadata resource as a program registers it (Pulumi mocks, fresh interpreter): secret admin secret,
additional_secret_outputs, the normalized metadata and migrations as inputs, and bad metadata/ stopping the run."""

from __future__ import annotations

import shutil
from pathlib import Path

from components.hasura.compare import normalize_metadata
from components.hasura.project import load_project
from components.hasura.model import content_hash
from tests.pulumi_harness import Secret, plaintext_leaks, run_program

PROJECT = Path(__file__).resolve().parents[3] / "metadata"
TYPE = "pulumi-python:dynamic/hasura_metadata:HasuraMetadata"
ADMIN_SECRET = "metadata-test-admin-secret"

PROGRAM = '''
import pulumi
from components.errors import ClerkHasuraError
from components.hasura.project import PROJECT_DIR
from components.providers.hasura_metadata import HasuraMetadata, HasuraMetadataArgs
from components.hasura.project import load_project

config = pulumi.Config()
try:
    project = load_project(config.get("projectDir") or PROJECT_DIR)
except ClerkHasuraError as error:
    raise pulumi.RunError(str(error)) from None
metadata = HasuraMetadata("backend-metadata", HasuraMetadataArgs(
    hasura_url="http://127.0.0.1:8080", admin_secret=config.require_secret("hasuraAdminSecret"), project=project))
pulumi.export("metadataHash", metadata.metadata_hash)
'''


def run(tmp_path: Path, **config):
    program = tmp_path / "__main__.py"
    program.write_text(PROGRAM)
    return run_program("dev", {"hasuraAdminSecret": ADMIN_SECRET, **config}, secret_keys=["hasuraAdminSecret"],
                       program=program)


def test_registration_keeps_the_admin_secret_secret(tmp_path):
    run_ = run(tmp_path).check()
    resource = run_.one(TYPE, "backend-metadata")
    assert resource.inputs["admin_secret"] == Secret(ADMIN_SECRET)
    assert resource.additional_secret_outputs == ["admin_secret"]
    assert plaintext_leaks(run_, [ADMIN_SECRET]) == []
    project = load_project(PROJECT)
    assert resource.plain_inputs["metadata"] == project.metadata  # as authored: what Hasura gets
    assert resource.plain_inputs["metadata_hash"] == content_hash(normalize_metadata(project.metadata),
                                                                  project.migrations)  # what it means
    assert [m["name"] for m in resource.plain_inputs["migrations"]] == ["create_users"]
    assert resource.plain_inputs["hasura_url"] == "http://127.0.0.1:8080"
    assert len(resource.plain_inputs["metadata_hash"]) == 64


def test_invalid_metadata_stops_the_program_before_any_resource(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    users = project / "metadata/databases/default/tables/public_users.yaml"
    users.write_text(users.read_text().replace("        - image_url\n", "        - avatar\n", 1))
    run_ = run(tmp_path, projectDir=str(project))
    assert run_.error is not None and "columns names column 'avatar'" in run_.error
    assert "Traceback" not in run_.error
    assert run_.by_type(TYPE) == []
