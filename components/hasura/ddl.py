"""The SQL text of migrations: statements, the psql lines run_sql cannot take, the tables the DDL creates.

Pure, and no SQL engine: `split_sql` splits a script into statements outside quotes, dollar quotes and comments;
`without_restrict_lines` and `without_transaction_timeout` take out the whole lines pg_dump writes that Hasura's
run_sql rejects (always, or on a server older than PostgreSQL 17); `table_columns` follows the CREATE / ALTER / DROP
statements migrations use to the tables and columns they leave, which the rules check permissions against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from components.hasura.model import Migration

#: The two psql meta-commands pg_dump 17.6 (and 16.10, 15.14, 14.19, 13.22; CVE-2025-8714) writes into a plain
#: dump: `\restrict KEY` after the header and `\unrestrict KEY` after "PostgreSQL database dump complete"
#: (src/bin/pg_dump/pg_backup_archiver.c RestoreArchive), KEY alphanumeric (src/bin/pg_dump/dumputils.c
#: valid_restrict_key). Hasura's /v1alpha1/pg_dump passes --restrict-key=hasura since v2.48.6, so files from
#: `hasura migrate create --from-server` and `hasura seed create --from-table` start and end with them.
_RESTRICT_LINE = re.compile(r"^\\(?:un)?restrict [A-Za-z0-9]+[ \t]*\r?$", re.MULTILINE)


def without_restrict_lines(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` without its `\\restrict KEY` / `\\unrestrict KEY` lines, and the lines removed.

    Left out rather than refused: they are psql meta-commands, not SQL. In psql, `\\restrict` only makes psql
    refuse further meta-commands until `\\unrestrict`; the database never sees either. Hasura's run_sql hands the
    text to PostgreSQL, which rejects the backslash (42601 syntax error at or near "\\"), so a file with them can
    never run as it is, and without them it runs exactly as psql would run it. Only whole lines of exactly that
    form, outside quotes, dollar-quoted bodies and comments, are removed; any other backslash line stays (and fails
    in run_sql as before). The deploy says so when it runs such a migration (`hasura migrate apply` would still
    fail on the file)."""
    return _without_lines(sql, _RESTRICT_LINE)


#: The statement pg_dump 17 and later writes into the preamble of every plain dump
#: (src/bin/pg_dump/pg_backup_archiver.c _doSetFixedOutputState). Hasura's /v1alpha1/pg_dump `clean_output` keeps it
#: (it is not among PGDump.hs preambleLines), so `hasura migrate create --from-server` against Hasura v2.48.6+ (pg_dump
#: 17) writes it too. transaction_timeout is new in PostgreSQL 17: 16 and older reject the statement (42704
#: unrecognized configuration parameter "transaction_timeout"), and so the whole run_sql transaction.
TRANSACTION_TIMEOUT_LINE = "SET transaction_timeout = 0;"
#: `server_version_num` of the first PostgreSQL that knows transaction_timeout.
TRANSACTION_TIMEOUT_SINCE = 170000
_TRANSACTION_TIMEOUT = re.compile(r"^SET transaction_timeout = 0;[ \t]*\r?$", re.MULTILINE)


def without_transaction_timeout(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` without its `SET transaction_timeout = 0;` lines (pg_dump 17's preamble), and the lines removed; only
    whole lines of exactly that statement, outside quotes, dollar-quoted bodies and comments. For a server older than
    PostgreSQL 17 only (`TRANSACTION_TIMEOUT_SINCE`), which the apply knows and `load_project` does not: on 17 and later
    the statement runs as written. Without it the dump runs as it would on a server that knows the setting, since
    pg_dump sets it only to lift a timeout older servers do not have."""
    return _without_lines(sql, _TRANSACTION_TIMEOUT)


def _without_lines(sql: str, line: re.Pattern[str]) -> tuple[str, tuple[str, ...]]:
    """`sql` without the whole lines `line` matches outside quotes, dollar-quoted bodies and comments, and those
    lines (without their line ends)."""
    candidates = list(line.finditer(sql))
    if not candidates:
        return sql, ()
    unquoted = {index for index, _char in _unquoted_chars(sql)}
    matches = [match for match in candidates if match.start() in unquoted]
    if not matches:
        return sql, ()
    kept, previous = [], 0
    for match in matches:
        kept.append(sql[previous:match.start()])
        previous = match.end() + 1 if sql.startswith("\n", match.end()) else match.end()
    kept.append(sql[previous:])
    return "".join(kept), tuple(match[0].rstrip() for match in matches)


# ---------------------------------------------------------------------------------------------------
# Tables the migrations create (a parser of the DDL subset migrations use; see `table_columns`)


@dataclass
class TableShape:
    """Columns of a table after all migrations; `columns is None` when a statement made them unknowable."""

    columns: set[str] | None = field(default_factory=set)


def table_columns(migrations: tuple[Migration, ...] | list[Migration], source: str) -> dict[tuple[str, str], TableShape]:
    """The tables (schema, name) and their columns after running `source`'s migrations in order.

    Understands CREATE TABLE (column list), CREATE VIEW, ALTER TABLE ADD/DROP/RENAME COLUMN and RENAME TO,
    DROP TABLE/VIEW. A table whose columns come from something else (`CREATE TABLE … AS`, `LIKE`,
    `PARTITION OF`, a view) gets unknown columns, so no column check is made on it rather than a wrong one;
    Hasura's own consistency check still runs on apply.
    """
    tables: dict[tuple[str, str], TableShape] = {}
    for migration in migrations:
        if migration.source != source:
            continue
        for statement in split_sql(migration.up_sql):
            _apply_statement(statement, tables)
    return tables


_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = rf"({_IDENT}(?:\s*\.\s*{_IDENT})?)"
_CREATE_TABLE = re.compile(
    rf"^CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"{_QUALIFIED}\s*(.*)$", re.IGNORECASE | re.DOTALL)
_CREATE_VIEW = re.compile(
    rf"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY)\s+)?(?:RECURSIVE\s+)?(?:MATERIALIZED\s+)?VIEW\s+"
    rf"(?:IF\s+NOT\s+EXISTS\s+)?{_QUALIFIED}", re.IGNORECASE | re.DOTALL)
_ALTER_TABLE = re.compile(rf"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_QUALIFIED}\s*\*?\s*(.*)$",
                          re.IGNORECASE | re.DOTALL)
_DROP = re.compile(r"^DROP\s+(?:MATERIALIZED\s+)?(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?(.*?)(?:\s+(?:CASCADE|RESTRICT))?$",
                   re.IGNORECASE | re.DOTALL)
_CONSTRAINT_ITEM = re.compile(r"^(CONSTRAINT|PRIMARY|UNIQUE|CHECK|FOREIGN|EXCLUDE)\b", re.IGNORECASE)


def _apply_statement(statement: str, tables: dict[tuple[str, str], TableShape]) -> None:
    if match := _CREATE_TABLE.match(statement):
        name, rest = _qualified(match[1]), match[2].strip()
        if not rest.startswith("(") or re.match(r"^\(.*\)\s*AS\b", rest, re.IGNORECASE | re.DOTALL):
            tables[name] = TableShape(columns=None)  # CREATE TABLE … AS / PARTITION OF / OF type
            return
        body = rest[1:_closing_paren(rest)]
        shape = TableShape()
        for item in _split_top_level(body, ","):
            if _CONSTRAINT_ITEM.match(item):
                continue
            if re.match(r"^LIKE\b", item, re.IGNORECASE):
                shape.columns = None
                break
            if shape.columns is not None and (column := _leading_identifier(item)):
                shape.columns.add(column)
        tables[name] = shape
    elif match := _CREATE_VIEW.match(statement):
        tables[_qualified(match[1])] = TableShape(columns=None)
    elif match := _ALTER_TABLE.match(statement):
        name = _qualified(match[1])
        shape = tables.get(name)
        for action in _split_top_level(match[2], ","):
            if renamed := re.match(rf"^RENAME\s+TO\s+({_IDENT})$", action, re.IGNORECASE):
                if shape is not None:
                    tables.pop(name)
                    name = (name[0], _identifier(renamed[1]))
                    tables[name] = shape
            elif shape is None or shape.columns is None:
                continue
            elif added := re.match(rf"^ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?({_IDENT})", action, re.IGNORECASE):
                if not _CONSTRAINT_ITEM.match(added[1]):
                    shape.columns.add(_identifier(added[1]))
            elif dropped := re.match(rf"^DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?({_IDENT})", action, re.IGNORECASE):
                if dropped[1].upper() != "CONSTRAINT":
                    shape.columns.discard(_identifier(dropped[1]))
            elif moved := re.match(rf"^RENAME\s+(?:COLUMN\s+)?({_IDENT})\s+TO\s+({_IDENT})$", action, re.IGNORECASE):
                if moved[1].upper() != "CONSTRAINT":
                    shape.columns.discard(_identifier(moved[1]))
                    shape.columns.add(_identifier(moved[2]))
    elif match := _DROP.match(statement):
        for item in _split_top_level(match[1], ","):
            tables.pop(_qualified(item), None)


def _identifier(token: str) -> str:
    token = token.strip()
    return token[1:-1].replace('""', '"') if token.startswith('"') else token.lower()


def _qualified(token: str) -> tuple[str, str]:
    parts = [_identifier(p) for p in _split_top_level(token, ".")]
    return (parts[0], parts[1]) if len(parts) == 2 else ("public", parts[0])


def _leading_identifier(item: str) -> str | None:
    match = re.match(_IDENT, item)
    return _identifier(match[0]) if match else None


def _closing_paren(text: str) -> int:
    depth = 0
    for index, char in _unquoted_chars(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and char == ")":
            return index
    return len(text)


def _split_top_level(text: str, separator: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in _unquoted_chars(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == separator and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _unquoted_chars(text: str):
    """(index, char) for every character outside quotes, dollar-quoted bodies and comments."""
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char in "'\"":
            end = index + 1
            while end < length:
                if text[end] == char:
                    if end + 1 < length and text[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            index = end + 1
            continue
        if char == "$" and (tag := re.match(r"\$[A-Za-z_0-9]*\$", text[index:])):
            end = text.find(tag[0], index + len(tag[0]))
            index = length if end < 0 else end + len(tag[0])
            continue
        if text.startswith("--", index):
            end = text.find("\n", index)
            index = length if end < 0 else end + 1
            continue
        if text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = length if end < 0 else end + 2
            continue
        yield index, char
        index += 1


def split_sql(sql: str) -> list[str]:
    """The statements of a SQL script (split on `;` outside quotes, dollar quotes and comments), comments removed."""
    text = _without_comments(sql)
    statements, start = [], 0
    for index, char in _unquoted_chars(text):
        if char == ";":
            statements.append(text[start:index])
            start = index + 1
    statements.append(text[start:])
    return [s.strip() for s in statements if s.strip()]


def _without_comments(sql: str) -> str:
    # Keep every unquoted char and every quoted/dollar-quoted span; a comment is what lies between them
    # that starts with -- or /*.
    kept, previous = [], 0
    for index, _ in _unquoted_chars(sql):
        gap = sql[previous:index]
        kept.append(" " if gap.startswith(("--", "/*")) else gap)
        kept.append(sql[index])
        previous = index + 1
    tail = sql[previous:]
    kept.append(" " if tail.startswith(("--", "/*")) else tail)
    return "".join(kept)
