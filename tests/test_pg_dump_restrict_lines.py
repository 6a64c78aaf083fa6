"""`\\restrict KEY` / `\\unrestrict KEY` lines from pg_dump 17.6+ (issue 18 §3): the loader leaves exactly those two
psql meta-commands out of a migration, and the deploy says so; everything else in the file runs as written.

The files below are written by hand as pg_dump 17.6 writes a plain dump (src/bin/pg_dump/pg_backup_archiver.c
RestoreArchive: the "PostgreSQL database dump" header, `\\restrict KEY` and a blank line, the "Dumped from/by"
lines, the SET preamble; at the end "PostgreSQL database dump complete" and `\\unrestrict KEY`; a random 64-character
alphanumeric key unless --restrict-key is given), and as `hasura migrate create --from-server` saves Hasura's
/v1alpha1/pg_dump answer (`--restrict-key=hasura` since v2.48.6, `clean_output`: no blank lines, no comments, no
SET preamble but `SET check_function_bodies = false;`).
"""

from __future__ import annotations

import psycopg
import pytest

from components.commands import status
from components.commands.stack_outputs import ENV_ADMIN_SECRET
from components.hasura.apply import apply_project
from components.hasura.client import HasuraApiError, HasuraClient
from components.hasura.loader import MetadataProject, load_project, without_restrict_lines

KEY = "Xb7dQ2kLm9PzR4tVw1YcN8sHf3JgU6aEo0iKq5BxZ7rTy2LpM4nC9vD1hW6jS3uF"
CREATE_NOTES = """CREATE TABLE public.notes (
    id integer NOT NULL,
    body text DEFAULT 'a line of text'::text NOT NULL
);"""
NOTES_PKEY = """ALTER TABLE ONLY public.notes
    ADD CONSTRAINT notes_pkey PRIMARY KEY (id);"""

PG_DUMP_17_6 = f"""--
-- PostgreSQL database dump
--

\\restrict {KEY}

-- Dumped from database version 17.6
-- Dumped by pg_dump version 17.6

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: notes; Type: TABLE; Schema: public; Owner: -
--

{CREATE_NOTES}


--
-- Name: notes notes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

{NOTES_PKEY}


--
-- PostgreSQL database dump complete
--

\\unrestrict {KEY}

"""

FROM_SERVER = f"""\\restrict hasura
SET check_function_bodies = false;
{CREATE_NOTES}
{NOTES_PKEY}
\\unrestrict hasura
"""
NOTES = "migrations/default/1763856000001_create_notes"


def add_migration(project, text: str) -> None:
    (project / NOTES).mkdir()
    (project / NOTES / "up.sql").write_text(text)


def test_a_pg_dump_17_6_file_loses_exactly_its_two_meta_command_lines(project_copy):
    add_migration(project_copy, PG_DUMP_17_6)
    [_, notes] = load_project(project_copy).migrations  # validation parses the CREATE TABLE
    assert notes.removed_lines == (f"\\restrict {KEY}", f"\\unrestrict {KEY}")
    assert notes.up_sql == PG_DUMP_17_6.replace(f"\\restrict {KEY}\n", "").replace(f"\\unrestrict {KEY}\n", "")
    assert notes.path == f"{NOTES}/up.sql"


def test_only_whole_lines_outside_quotes_and_comments_are_removed():
    kept = ("SELECT E'\n\\restrict abc\n';\n"             # inside a string
            "DO $body$\n\\unrestrict abc\n$body$;\n"      # inside a dollar-quoted body
            "/*\n\\restrict abc\n*/\n"                    # inside a comment
            "\\restrict not-alphanumeric\n"               # not a key pg_dump accepts
            "\\restrict abc; DROP TABLE x;\n"             # more than the meta-command
            "\\connect other\n")                          # another meta-command: fails in run_sql, as before
    assert without_restrict_lines(kept) == (kept, ())
    assert without_restrict_lines("\\restrict hasura\r\nSELECT 1;\n") == ("SELECT 1;\n", ("\\restrict hasura",))


def test_pulumi_inputs_carry_the_removed_lines_only_where_there_are_some(project_copy):
    add_migration(project_copy, FROM_SERVER)
    project = load_project(project_copy)
    users, notes = project.to_inputs()["migrations"]
    assert "removed_lines" not in users  # unchanged inputs for every other migration: no diff on existing stacks
    assert notes["removed_lines"] == ["\\restrict hasura", "\\unrestrict hasura"]
    assert MetadataProject.from_inputs(project.metadata, [users, notes]).migrations == project.migrations


@pytest.fixture
def client(hasura_double_factory):
    double = hasura_double_factory(jwt_secret=None)
    with HasuraClient(double.url, double.admin_secret) as hasura_client:
        hasura_client.double = double
        yield hasura_client


def test_run_sql_refuses_the_file_as_it_is(client):
    """Why the lines go: PostgreSQL knows no psql meta-command (real Hasura answers the same, issue 18 §3)."""
    client.metadata("pg_add_source", {"name": "default", "configuration": {"connection_info": {
        "database_url": {"from_env": "PG_DATABASE_URL"}}}})
    with pytest.raises(HasuraApiError) as refused:
        client.run_sql(FROM_SERVER)
    assert 'syntax error at or near "\\"' in str(refused.value)


def test_the_deploy_runs_a_from_server_migration_and_says_it_left_the_lines_out(client, project_copy, capsys):
    add_migration(project_copy, FROM_SERVER)
    result = apply_project(client, load_project(project_copy))
    assert result.migrations_applied[-1] == "default/1763856000001_create_notes"
    assert (
        "migration default/1763856000001_create_notes › applied and recorded; run without its lines "
        "`\\restrict hasura`, `\\unrestrict hasura` (psql meta-commands pg_dump 17.6+ writes, which Hasura's "
        f"run_sql rejects). Delete them from {NOTES}/up.sql so that `hasura migrate apply` can run it too"
    ) in result.changes
    with psycopg.connect(client.double.database_url) as conn:
        assert conn.execute("select count(*) from pg_constraint where conname = 'notes_pkey'").fetchone()[0] == 1

    code = status.main(["--hasura-url", client.url, "--project-dir", str(project_copy), "--wait", "2"], stdin=None,
                       environ={ENV_ADMIN_SECRET: client.double.admin_secret})
    out = capsys.readouterr().out
    assert code == 0
    assert (f"note: {NOTES}/up.sql has `\\restrict hasura`, `\\unrestrict hasura` (psql meta-commands pg_dump "
            "17.6+ writes): the deploy leaves them out, `hasura migrate apply` fails on them (42601)") in out


def test_the_deploy_runs_a_whole_pg_dump_17_6_file_and_converges(client, project_copy):
    add_migration(project_copy, PG_DUMP_17_6)
    assert apply_project(client, load_project(project_copy)).migrations_applied[-1] == \
        "default/1763856000001_create_notes"
    client.double.reset_counts()
    assert not apply_project(client, load_project(project_copy)).wrote_anything
    assert client.double.writes() == 0
