"""`clerk-hasura export`: the live metadata of a stack written into metadata/, in the Hasura CLI's
layout, against the Hasura double (real PostgreSQL behind it)."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import psycopg
from hypothesis import given
from hypothesis import strategies as st
import pytest

from components.cli.main import main as cli
from components.cli.stack import ENV_ADMIN_SECRET
from components.hasura.apply import apply_project
from components.hasura.client import HasuraClient
from components.hasura.cli_yaml import dump_yaml, yaml_v3_kind
from components.hasura.export import ExportError, render_metadata_files
from components.hasura.graphql_format import format_query
from components.hasura.compare import normalize_metadata
from components.hasura.project import load_project, parse_yaml
from tests.fixtures.metadata import PROJECT


@pytest.fixture
def deployed(hasura_double_factory, project_copy):
    double = hasura_double_factory(jwt_secret=None)
    with HasuraClient(double.url, double.admin_secret) as client:
        apply_project(client, load_project(project_copy))
        yield double, client


def run_export(double, project_dir: Path, capsys, *, stdin=None) -> tuple[int, str, str]:
    code = cli(["export", "--hasura-url", double.url, "--project-dir", str(project_dir), "--wait", "2"], stdin=stdin,
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
    code = cli(["export", "--project-dir", str(project_copy)], stdin=io.StringIO(outputs), environ={})
    out = capsys.readouterr().out
    assert code == 0 and double.url in out and double.admin_secret not in out
    code = cli(["export", "--project-dir", str(project_copy), "--wait", "1"], stdin=io.StringIO(json.dumps(
        {"graphqlUrl": double.url, "hasuraAdminSecret": "wrong-" + double.admin_secret})), environ={})
    captured = capsys.readouterr()
    assert code == 2 and "export could not run" in captured.err and double.admin_secret not in captured.err


def test_the_stack_outputs_name_the_project_written_into(deployed, project_copy, capsys):
    """Piped stack outputs give the stack's metadataDir: the export goes there, never into this repository's
    metadata/ when the stack deploys another folder."""
    double, client = deployed
    client.metadata("pg_drop_update_permission", {"table": "users", "role": "user"})
    shipped = snapshot(PROJECT)
    outputs = {"hasuraUrl": double.url, "hasuraAdminSecret": double.admin_secret, "target": "existing"}
    code = cli(["export", "--wait", "2"], stdin=io.StringIO(json.dumps({**outputs, "metadataDir": str(project_copy)})),
                       environ={})
    out = capsys.readouterr().out
    assert code == 0 and f"into {project_copy / 'metadata'}:" in out
    assert "changed  databases/default/tables/public_users.yaml" in out
    assert "update_permissions" not in (project_copy / "metadata/databases/default/tables/public_users.yaml").read_text()
    assert snapshot(PROJECT) == shipped
    code = cli(["export", "--wait", "2"], stdin=io.StringIO(json.dumps(outputs)), environ={})
    assert code == 2 and "have no `metadataDir`" in capsys.readouterr().err
    assert snapshot(PROJECT) == shipped


def test_a_folder_that_is_not_a_cli_project_is_refused(deployed, tmp_path, capsys):
    double, _ = deployed
    folder = tmp_path / "not-a-project"
    folder.mkdir()
    code, _, err = run_export(double, folder, capsys)
    assert code == 2 and "has no config.yaml" in err and not any(folder.iterdir())


def test_actions_load_back_from_the_files_the_cli_writes_as_the_live_document(tmp_path):
    # actions.graphql (the SDL) merged with actions.yaml (handler, kind, permissions, descriptions) as the CLI's
    # ActionConfig.Build does: the live document comes back, up to what Hasura fills in or drops.
    shutil.copytree(CLI_EXPORT / "with_actions" / "expected", tmp_path / "metadata")
    (tmp_path / "config.yaml").write_text("version: 3\n")
    live = json.loads((CLI_EXPORT / "with_actions" / "metadata.json").read_text())
    loaded = load_project(tmp_path, validate=False).metadata
    assert normalize_metadata(loaded) == normalize_metadata(live)
    assert loaded["actions"][0]["definition"]["arguments"] == [
        {"name": "input", "type": "GreetingInput!"}, {"name": "tone", "type": "Tone", "description": "how it sounds"}]


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


# -- byte for byte what `hasura metadata export` writes ----------------------------------------------------------
# tests/data/cli_export/<case>/metadata.json is an export_metadata answer in the server's key order; expected/ is
# what the Hasura CLI v2.48 writes for it, written by hand from its source (tests/data/cli_export/README.md).

CLI_EXPORT = Path(__file__).parents[2] / "data" / "cli_export"


def expected_files(case: str) -> dict[str, bytes]:
    return snapshot(CLI_EXPORT / case / "expected")


@pytest.mark.parametrize("case", ["console_made", "with_actions"])
def test_every_file_is_byte_for_byte_what_the_cli_writes_for_the_same_metadata(case):
    metadata = json.loads((CLI_EXPORT / case / "metadata.json").read_text())
    rendered = {name: text.encode() for name, text in render_metadata_files(metadata).items()}
    expected = expected_files(case)
    assert sorted(rendered) == sorted(expected)
    for name, content in expected.items():
        assert rendered[name].decode() == content.decode(), name


def test_an_export_of_console_made_metadata_writes_the_clis_files(hasura_double_factory, postgres_database_url,
                                                                  project_copy, capsys):
    # The same metadata made live on the double (real PostgreSQL behind it), exported by the command.
    with psycopg.connect(postgres_database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.users (id text PRIMARY KEY, name text)")
        conn.execute("CREATE TABLE public.posts (id serial PRIMARY KEY, author_id text REFERENCES public.users, "
                     "title text, body text)")
    double = hasura_double_factory(jwt_secret=None)
    metadata = json.loads((CLI_EXPORT / "console_made" / "metadata.json").read_text())
    with HasuraClient(double.url, double.admin_secret) as client:
        client.metadata("replace_metadata", {"metadata": metadata, "allow_inconsistent_metadata": False},
                        version=2)
    shutil.rmtree(project_copy / "metadata")
    code, _, err = run_export(double, project_copy, capsys)
    assert code == 0, err
    written = snapshot(project_copy / "metadata")
    expected = expected_files("console_made")
    assert sorted(written) == sorted(expected)
    for name, content in expected.items():
        assert written[name].decode() == content.decode(), name


def test_source_keys_in_the_clis_order_and_only_those_it_knows():
    # sources.go SourceWithNormalFields + Source: name, kind, configuration, query_tags, customization,
    # health_check, logical_models, native_queries, stored_procedures, tables, functions; nothing else.
    source = {"name": "default", "kind": "postgres", "tables": [], "functions": [],
              "health_check": {"interval": 60}, "customization": {"naming_convention": "graphql-default"},
              "configuration": {"connection_info": {"database_url": "postgres://db"}}, "future_key": 1}
    databases = render_metadata_files({"version": 3, "sources": [source]})["databases/databases.yaml"]
    assert databases == (
        "- name: default\n  kind: postgres\n  configuration:\n    connection_info:\n"
        "      database_url: postgres://db\n  customization:\n    naming_convention: graphql-default\n"
        "  health_check:\n    interval: 60\n  tables: \"!include default/tables/tables.yaml\"\n  functions: []\n")


@pytest.mark.parametrize(("given", "printed"), [
    # gqlparser formatter/formatter.go, query-document part, indent "  " as the CLI sets it.
    ("{a}", "query {\n  a\n}\n"),
    ("query Q($x:Int!=1,$y:[String!]){a(b:$x,c:[1,2],d:{e:\"f\\\"g\",h:null}) @skip(if:true){...F}}",
     "query Q ($x: Int! = 1, $y: [String!]) {\n  a(b: $x, c: [1,2], d: {e:\"f\\\"g\",h:null}) @skip(if: true) {\n"
     "    ... F\n  }\n}\n"),
    ("fragment F on T { id } query { same: same other: x { ... on T { id } } }",
     "query {\n  same\n  other: x {\n    ... on T {\n      id\n    }\n  }\n}\nfragment F on T {\n  id\n}\n"),
    ('mutation M @cached { insert(text: """\n  two\n  lines\n""") { id } }',
     'mutation M @cached {\n  insert(text: "two\\nlines") {\n    id\n  }\n}\n'),
    ("subscription S($v: Int @deprecated) { n(v: $v, e: ENUM, f: 1.5e3) }",
     "subscription S ($v: Int) {\n  n(v: $v, e: ENUM, f: 1.5e3)\n}\n"),
])
def test_graphql_in_query_collections_is_printed_as_gqlparser_prints_it(given, printed):
    assert format_query(given) == printed


def test_a_query_of_only_comments_is_kept_as_it_is():
    # gqlparser reads no definitions, prints nothing, and the CLI keeps the original text (`buf.Len() > 0`).
    metadata = {"version": 3, "sources": [], "query_collections": [
        {"name": "c", "definition": {"queries": [{"name": "later", "query": "# to do"}]}}]}
    assert render_metadata_files(metadata)["query_collections.yaml"] == (
        "- name: c\n  definition:\n    queries:\n      - name: later\n        query: '# to do'\n")


def test_a_query_that_is_not_graphql_is_refused_naming_the_collection():
    metadata = {"version": 3, "sources": [], "query_collections": [
        {"name": "allowed", "definition": {"queries": [{"name": "broken", "query": "query {"}]}}]}
    with pytest.raises(ExportError, match="query 'broken' of query collection 'allowed' is not valid GraphQL"):
        render_metadata_files(metadata)


def test_the_cli_project_config_names_modules_that_exist():
    config = (PROJECT / "config.yaml").read_text()
    named = re.findall(r"components/[\w/]+\.py", config)
    assert named and all((PROJECT.parent / path).is_file() for path in named), named


def test_scalars_are_quoted_as_yaml_v3_quotes_them():
    # gopkg.in/yaml.v3 encode.go node(): a string read back as another type is double-quoted (forceQuoting);
    # the emitter single-quotes what cannot be plain. The last three lines are the CLI's own test data
    # (cli/internal/metadatautil/testdata/json/t1/want.metadata.yaml).
    value = {"empty": "", "word": "true", "number": "10", "date": "2024-01-01", "float": "1.5", "plain": "1.2.3",
             "nothing": None, "flag": False, "colon": "x: y",
             "handler": "{{ACTION_BASE_URL}}/foo", "schedule": "* * * * *",
             "body": '{\n  "my-baz": {{$body.input.foo.baz}}\n   \n}'}
    assert dump_yaml(value) == (
        'empty: ""\nword: "true"\nnumber: "10"\ndate: "2024-01-01"\nfloat: "1.5"\nplain: 1.2.3\nnothing: null\n'
        "flag: false\ncolon: 'x: y'\n"
        "handler: '{{ACTION_BASE_URL}}/foo'\nschedule: '* * * * *'\n"
        'body: "{\\n  \\"my-baz\\": {{$body.input.foo.baz}}\\n   \\n}"\n')


def test_yaml_1_1_forms_are_written_plain_and_read_back_as_strings_as_the_cli_does():
    # yaml.v3 (the CLI's reader and writer) is YAML 1.2 core: these are strings, written without quotes.
    text = dump_yaml({"columns": ["on", "off", "yes", "y", "1:20"]})
    assert text == "columns:\n  - on\n  - off\n  - yes\n  - y\n  - 1:20\n"
    assert parse_yaml(text) == {"columns": ["on", "off", "yes", "y", "1:20"]}


# YAML line breaks other than "\n" (\r, NEL, LS, PS) are normalized by any YAML reader; metadata has none.
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x85\u2028\u2029"),
               max_size=30))
def test_every_string_the_export_writes_reads_back_as_the_same_string(text):
    assert parse_yaml(dump_yaml({"value": text})) == {"value": text}


def test_introspection_settings_go_through_the_clis_struct():
    # graphql_schema_introspection.go Export: only disabled_for_roles, and `[]` when the server leaves it out.
    files = render_metadata_files({"version": 3, "sources": [], "graphql_schema_introspection": {
        "disabled_for_roles": ["anonymous"], "other": 1}})
    assert files["graphql_schema_introspection.yaml"] == "disabled_for_roles:\n  - anonymous\n"
    assert render_metadata_files({"version": 3, "sources": []})["graphql_schema_introspection.yaml"] == (
        "disabled_for_roles: []\n")


@pytest.mark.parametrize(("plain", "kind"), [
    # gopkg.in/yaml.v3 resolve.go: its map, then timestamps (parseTimestamp), Go ints (base prefixes, 1.1 octal,
    # underscores dropped), yamlStyleFloat; anything else, YAML 1.1 words included, is a string.
    ("", "null"), ("~", "null"), ("True", "bool"), ("on", "str"), ("yes", "str"), (".inf", "float"),
    ("2024-01-01", "timestamp"), ("2024-1-2T3:4:5Z", "timestamp"), ("2024-02-30", "str"), ("017", "int"),
    ("0x1F", "int"), ("0b101", "int"), ("1_000", "int"), ("09", "float"), ("1e5", "float"), (".5", "float"),
    ("1:20", "str"), ("1.2.3", "str"), ("-", "str"), ("<<", "str"),
])
def test_plain_scalars_are_read_as_yaml_v3_reads_them(plain, kind):
    assert yaml_v3_kind(plain) == kind
