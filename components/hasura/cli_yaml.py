"""YAML as the Hasura CLI writes metadata files: gopkg.in/yaml.v3 with `SetIndent(2)` (cli/internal/metadataobject/
metadataobject.go GetEncoder), emulated with PyYAML.

`dump_yaml` writes keys in the given order, list items indented under their key, multi-line strings as `|`
blocks, no line wrapping, and quotes strings as yaml.v3 quotes a `!!str` node: double quotes when the plain form
would read back as another type (`yaml_v3_kind`), single quotes where the emitter cannot write it plain (`'*'`).
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import yaml

_TAG = "tag:yaml.org,2002:"
_V3_CONSTANTS = {
    **dict.fromkeys(("true", "True", "TRUE", "false", "False", "FALSE"), "bool"),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), "null"),
    **dict.fromkeys((".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
                     "-.INF"), "float"),
}
_V3_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_V3_GO_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)")
_V3_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]+)?"
                           r"(Z|[-+][0-9]{2}:[0-9]{2})?)?")


def yaml_v3_kind(plain: str) -> str:
    """What gopkg.in/yaml.v3 reads an unquoted scalar as (resolve.go `resolve("", plain)`): "str", or "bool",
    "null", "int", "float", "timestamp". Only a value starting with one of `+-0123456789.yYnNtTfFoO~` (its
    resolveTable), or empty, can be anything but a string; YAML 1.1 forms such as `on`, `yes` or `1:20` are
    strings."""
    if plain in _V3_CONSTANTS:
        return _V3_CONSTANTS[plain]
    if plain[0] not in "+-0123456789.":
        return "str"
    if plain[0] != "." and _is_timestamp(plain):
        return "timestamp"
    digits = plain if plain[0] == "." else plain.replace("_", "")
    if _V3_GO_INT.fullmatch(digits):
        return "int"
    return "float" if _V3_FLOAT.fullmatch(digits) else "str"


def _is_timestamp(plain: str) -> bool:
    """resolve.go parseTimestamp: one of its layouts, with a real date and time (Go's time.Parse checks ranges)."""
    if _V3_TIMESTAMP.fullmatch(plain) is None:
        return False
    numbers = [int(n) for n in re.findall(r"[0-9]+", plain)[:6]]  # year … second; fraction and zone after
    try:
        datetime.datetime(*numbers[:3], *numbers[3:6])
    except ValueError:
        return False
    return True


class _CliDumper(yaml.SafeDumper):
    """PyYAML emitting what the Hasura CLI's YAML encoder (gopkg.in/yaml.v3, SetIndent(2)) emits for metadata."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Lists under a key are indented (`key:\n  - item`), not flush with the key.
        return super().increase_indent(flow, False)

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        # Plain scalars as yaml.v3 reads them (so does `project.parse_yaml`): `on`, `yes`, `1:20` are strings.
        if kind is yaml.ScalarNode and implicit[0]:
            return _TAG + yaml_v3_kind(value)
        return super().resolve(kind, value, implicit)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Strings as yaml.v3 writes a `!!str` node (encode.go `node`): multi-line ones as `|` blocks; those it would
    read back as another type ("", "true", "10", "2024-01-01") double-quoted (forceQuoting); the `!include` tags
    double-quoted as the CLI asks (sources.go, yaml.DoubleQuotedStyle); the rest plain when the emitter allows it,
    else single-quoted (`'*'`)."""
    if value.startswith("!include ") or ("\n" not in value and yaml_v3_kind(value) != "str"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_CliDumper.add_representer(str, _represent_str)


def dump_yaml(value: Any) -> str:
    return yaml.dump(value, Dumper=_CliDumper, default_flow_style=False, sort_keys=False, allow_unicode=True,
                     width=float("inf"))
