"""`python -m components.commands.export`: the live metadata of a stack written into metadata/, in the Hasura CLI's
layout, against the Hasura double (real PostgreSQL behind it)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from components.commands import export
from components.commands.stack_outputs import ENV_ADMIN_SECRET
from components.hasura.apply import apply_project
from components.hasura.client import HasuraClient
from components.hasura.export import ExportError, dump_yaml, render_metadata_files
from components.hasura.loader import load_project, normalize_metadata
from tests.fixtures.metadata import PROJECT


@pytest.fixture
def deployed(hasura_double_factory, project_copy):
    double = hasura_double_factory(jwt_secret=None)
    with HasuraClient(double.url, double.admin_secret) as client:
        apply_project(client, load_project(project_copy))
        yield double, client


def run_export(double, project_dir: Path, capsys, *, stdin=None) -> tuple[int, str, str]:
    code = export.main(["--hasura-url", double.url, "--project-dir", str(project_dir), "--wait", "2"], stdin=stdin,
                       environ={ENV_ADMIN_SECRET: double.admin_secret})
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def without_comment_lines(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#"))


def test_an_export_right_after_a_deploy_changes_no_file(deployed, project_copy, capsys):
    double, _ = deployed
    before = snapshot(project_copy)
    code, out, _ = run_export(double, project_copy, capsys)
    assert code == 0
    assert "no file changed (18 files already say what is live)" in out
    assert snapshot(project_copy) == before  # byte for byte, comments included


def test_an_export_into_an_empty_folder_writes_the_files_we_ship_as_the_cli_writes_them(deployed, project_copy,
                                                                                           capsys):
    double, _ = deployed
    shutil.rmtree(project_copy / "metadata")
    code, out, _ = run_export(double, project_copy, capsys)
    assert code == 0 and "changed  databases/databases.yaml" in out
    written = snapshot(project_copy / "metadata")
    shipped = snapshot(PROJECT / "metadata")
    assert sorted(written) == sorted(shipped)
    for name, content in shipped.items():
        # The Hasura CLI writes no comments; otherwise each file is what we ship, byte for byte.
        assert written[name].decode() == without_comment_lines(content.decode()), name
    assert written["actions.graphql"] == b""  # the CLI writes an empty file


def test_a_console_change_becomes_a_diff_of_the_files_it_touched_and_loads_back_as_the_live_document(
        deployed, project_copy, capsys):
    double, client = deployed
    client.run_sql("CREATE TABLE public.notes (id text PRIMARY KEY, body text)")
    client.metadata("pg_track_table", {"source": "default", "table": {"schema": "public", "name": "notes"}})
    client.metadata("pg_create_select_permission", {"source": "default", "table": "users", "role": "auditor",
                                                    "permission": {"columns": ["id"], "filter": {}}})
    databases_before = (project_copy / "metadata/databases/databases.yaml").read_bytes()

    code, out, _ = run_export(double, project_copy, capsys)
    assert code == 0
    assert [line.split()[-1] for line in out.splitlines() if line.strip().startswith("changed")] == [
        "databases/default/tables/public_notes.yaml", "databases/default/tables/public_users.yaml",
        "databases/default/tables/tables.yaml"]
    assert (project_copy / "metadata/databases/databases.yaml").read_bytes() == databases_before
    live = client.export_metadata().metadata
    loaded = load_project(project_copy, validate=False).metadata  # notes has no migration yet: not valid to deploy
    assert loaded == live
    assert normalize_metadata(loaded) == normalize_metadata(live)

    client.metadata("pg_untrack_table", {"source": "default", "table": {"schema": "public", "name": "notes"}})
    code, out, _ = run_export(double, project_copy, capsys)
    assert "removed  databases/default/tables/public_notes.yaml" in out
    assert not (project_copy / "metadata/databases/default/tables/public_notes.yaml").exists()
    assert load_project(project_copy).metadata == client.export_metadata().metadata


def test_stack_outputs_on_stdin_and_the_admin_secret_is_never_printed(deployed, project_copy, capsys):
    double, _ = deployed
    outputs = json.dumps({"graphqlUrl": f"{double.url}/v1/graphql", "hasuraAdminSecret": double.admin_secret})
    code = export.main(["--project-dir", str(project_copy)], stdin=io.StringIO(outputs), environ={})
    out = capsys.readouterr().out
    assert code == 0 and double.url in out and double.admin_secret not in out
    code = export.main(["--project-dir", str(project_copy), "--wait", "1"], stdin=io.StringIO(json.dumps(
        {"graphqlUrl": double.url, "hasuraAdminSecret": "wrong-" + double.admin_secret})), environ={})
    captured = capsys.readouterr()
    assert code == 2 and "export could not run" in captured.err and double.admin_secret not in captured.err


def test_a_folder_that_is_not_a_cli_project_is_refused(deployed, tmp_path, capsys):
    double, _ = deployed
    folder = tmp_path / "not-a-project"
    folder.mkdir()
    code, _, err = run_export(double, folder, capsys)
    assert code == 2 and "has no config.yaml" in err and not any(folder.iterdir())


def test_actions_are_left_to_the_hasura_cli():
    with pytest.raises(ExportError, match="actions.graphql.*hasura metadata export"):
        render_metadata_files({"version": 3, "sources": [], "actions": [{"name": "login", "definition": {}}]})


def test_yaml_is_written_in_the_clis_style():
    # As cli/internal/metadataobject/sources/testdata/export_test/*/want shows it: key order kept, lists indented
    # under their key, '*' quoted, multi-line strings as blocks, null written out, no wrapping of long strings.
    table = {"table": {"schema": "public", "name": "t1"},
             "update_permissions": [{"role": "user", "permission": {"columns": "*", "filter": {}, "check": None}}],
             "event_triggers": [{"name": "t", "request_transform": {"body": "{\n  \"a\": 1\n}"},
                                 "webhook": "https://example.com/" + "x" * 200}]}
    assert dump_yaml(table) == (
        "table:\n  schema: public\n  name: t1\n"
        "update_permissions:\n  - role: user\n    permission:\n      columns: '*'\n      filter: {}\n"
        "      check: null\n"
        "event_triggers:\n  - name: t\n    request_transform:\n      body: |-\n        {\n"
        "          \"a\": 1\n        }\n"
        f"    webhook: https://example.com/{'x' * 200}\n")
    assert dump_yaml(["!include public_users.yaml"]) == '- "!include public_users.yaml"\n'
