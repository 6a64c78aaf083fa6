"""GraphQL query text laid out as the Hasura CLI writes it into `query_collections.yaml`.

`hasura metadata export` parses every query of every collection with gqlparser and prints it back with gqlparser's
formatter, indent two spaces (cli/internal/metadataobject/querycollections/query_collections.go Export:
`parser.ParseQuery` then `formatter.NewFormatter(buf, formatter.WithIndent("  ")).FormatQueryDocument`). This
module reproduces that printer (github.com/vektah/gqlparser/v2 formatter/formatter.go, the query-document part,
which is the same from v2.4.3 to v2.5.x; values as ast/value.go `Value.String`, types as ast/type.go `Type.String`):

- every operation first, then every fragment, whatever their order in the source; an anonymous `{ … }` is
  printed as `query {`; no blank line between definitions; the text ends with a newline;
- a space before `(` of an operation's or fragment's variables (`query Q ($id: Int!) {`), none before a
  field's or directive's arguments (`users(limit: 1)`, `@include(if: $x)`);
- values compact: lists `[1,2]`, objects `{a:1,b:{c:$v}}`, strings quoted as Go's strconv.Quote (block
  strings become ordinary quoted strings), numbers and enums as written;
- aliases only when they differ from the field name; directives on variable definitions are dropped (gqlparser
  parses them but its formatter does not print them).

Parsing uses graphql-core, which reads the same executable-document grammar.
"""

from __future__ import annotations

from typing import Any

from components.errors import ClerkHasuraError


class GraphQLFormatError(ClerkHasuraError):
    """A query of a query collection is not a GraphQL document the Hasura CLI could parse either."""


_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v",
               "\\": "\\\\", '"': '\\"'}


def go_quote(text: str) -> str:
    """Go's strconv.Quote: named escapes, `\\xHH` for other control bytes, printable characters kept."""
    out = []
    for char in text:
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


class _Printer:
    """gqlparser's formatter state machine: `pad_next` puts one space before the next word, `line_head`
    indents it."""

    def __init__(self, indent: str = "  "):
        self.parts: list[str] = []
        self.indent, self.depth = indent, 0
        self.pad_next, self.line_head = False, False

    def _start(self) -> None:
        if self.line_head:  # writeIndent: indentation replaces the pending space
            self.parts.append(self.indent * self.depth)
            self.line_head, self.pad_next = False, False
        if self.pad_next:
            self.parts.append(" ")

    def word(self, text: str) -> "_Printer":
        self._start()
        self.parts.append(text.strip())
        self.pad_next = True
        return self

    def string(self, text: str) -> "_Printer":
        self._start()
        self.parts.append(text)
        self.pad_next = False
        return self

    def newline(self) -> "_Printer":
        self.parts.append("\n")
        self.line_head, self.pad_next = True, False
        return self

    def no_padding(self) -> "_Printer":
        self.pad_next = False
        return self

    def need_padding(self) -> "_Printer":
        self.pad_next = True
        return self


def _value(node: Any) -> str:
    kind = node.kind
    if kind == "variable":
        return "$" + node.name.value
    if kind in ("int_value", "float_value", "enum_value"):
        return node.value
    if kind == "boolean_value":
        return "true" if node.value else "false"
    if kind == "null_value":
        return "null"
    if kind == "string_value":
        return go_quote(node.value)
    if kind == "list_value":
        return "[" + ",".join(_value(item) for item in node.values) + "]"
    if kind == "object_value":
        return "{" + ",".join(f"{field.name.value}:{_value(field.value)}" for field in node.fields) + "}"
    raise GraphQLFormatError(f"unexpected GraphQL value {kind}")


def _type(node: Any) -> str:
    if node.kind == "non_null_type":
        return _type(node.type) + "!"
    if node.kind == "list_type":
        return "[" + _type(node.type) + "]"
    return node.name.value


def _arguments(p: _Printer, arguments: Any) -> None:
    if not arguments:
        return
    p.no_padding().string("(")
    for index, argument in enumerate(arguments):
        p.word(argument.name.value).no_padding().string(":").need_padding()
        p.string(_value(argument.value))
        if index != len(arguments) - 1:
            p.no_padding().word(",")
    p.string(")").need_padding()


def _directives(p: _Printer, directives: Any) -> None:
    for directive in directives or ():
        p.string("@").word(directive.name.value)
        _arguments(p, directive.arguments)


def _variables(p: _Printer, definitions: Any) -> None:
    if not definitions:
        return
    p.string("(")
    for index, definition in enumerate(definitions):
        p.string("$").word(definition.variable.name.value).no_padding().string(":").need_padding()
        p.word(_type(definition.type))
        if definition.default_value is not None:
            p.word("=")
            p.string(_value(definition.default_value))
        if index != len(definitions) - 1:
            p.no_padding().word(",")
    p.no_padding().string(")").need_padding()


def _selection_set(p: _Printer, selection_set: Any) -> None:
    if selection_set is None or not selection_set.selections:
        return
    p.string("{").newline()
    p.depth += 1
    for selection in selection_set.selections:
        if selection.kind == "field":
            if selection.alias is not None and selection.alias.value != selection.name.value:
                p.word(selection.alias.value).no_padding().string(":").need_padding()
            p.word(selection.name.value)
            if selection.arguments:
                p.no_padding()
                _arguments(p, selection.arguments)
                p.need_padding()
            _directives(p, selection.directives)
            _selection_set(p, selection.selection_set)
        elif selection.kind == "fragment_spread":
            p.word("...").word(selection.name.value)
            _directives(p, selection.directives)
        else:  # inline_fragment
            p.word("...")
            if selection.type_condition is not None:
                p.word("on").word(selection.type_condition.name.value)
            _directives(p, selection.directives)
            _selection_set(p, selection.selection_set)
        p.newline()
    p.depth -= 1
    p.string("}")


def format_query(text: str) -> str:
    """The query as the Hasura CLI writes it into query_collections.yaml."""
    try:
        from graphql import GraphQLSyntaxError, Lexer, Source, TokenKind, parse
    except ImportError:  # pragma: no cover - the dependency is declared; this names the fix if it is missing
        raise GraphQLFormatError("exporting query collections needs graphql-core. Fix: pip install "
                                 "'graphql-core>=3.2,<4'") from None
    try:
        if Lexer(Source(text)).advance().kind == TokenKind.EOF:
            # Blank or comments only: gqlparser reads an empty document and prints nothing, so the CLI keeps
            # the text as it was (query_collections.go: `if buf.Len() > 0`).
            return ""
        document = parse(text, no_location=True)
    except GraphQLSyntaxError as error:
        raise GraphQLFormatError(f"not valid GraphQL ({error.message})") from None
    p = _Printer()
    operations = [d for d in document.definitions if d.kind == "operation_definition"]
    fragments = [d for d in document.definitions if d.kind == "fragment_definition"]
    if len(operations) + len(fragments) != len(document.definitions):
        raise GraphQLFormatError("a query collection holds executable GraphQL only (no type definitions)")
    for operation in operations:
        p.word(operation.operation.value)
        if operation.name is not None:
            p.word(operation.name.value)
        _variables(p, operation.variable_definitions)
        _directives(p, operation.directives)
        if operation.selection_set.selections:
            _selection_set(p, operation.selection_set)
            p.newline()
    for fragment in fragments:
        p.word("fragment").word(fragment.name.value)
        p.word("on").word(fragment.type_condition.name.value)
        _directives(p, fragment.directives)
        if fragment.selection_set.selections:
            _selection_set(p, fragment.selection_set)
            p.newline()
    return "".join(p.parts)
