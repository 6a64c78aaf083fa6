"""Actions and custom types: `actions.yaml` + `actions.graphql` <-> metadata, as the Hasura CLI does them.

Pure. The Hasura CLI (v2.48) keeps an action in two files and converts with its `cli-ext` helper
(hasura/graphql-engine cli/internal/metadataobject/actions/actions.go, cli-ext/src/services/sdl/{from,to}/handler.js,
cli-ext/src/shared/utils/sdlUtils.js and hasuraCustomTypeUtils.js):

- `actions.graphql` holds the SDL: each field of a type named `Mutation` or `Query` (`type` or `extend type`) is an
  action with its arguments and output type; every other definition is a custom type (scalar, enum, input, object);
- `actions.yaml` holds the rest: per action `kind`, `handler`, `forward_client_headers`, `headers`, `timeout`,
  `permissions`, `comment`; per custom type its `description` and `relationships`.

`read_actions` merges the two as the CLI's `ActionConfig.Build` does: an action or custom type named in
actions.yaml must be in actions.graphql; the yaml's values replace the SDL's (a type's description included).
`render_actions_files` writes them back as `ActionConfig.Export` does: actions.yaml through the CLI's `types.Common`
struct with the SDL's parts cleared (`SetExportDefault`), actions.graphql as cli-ext's `sdl to` prints it: each
action as its own `type Mutation {` / `type Query {` block, then the custom types (enums, input objects, objects,
scalars), every block closed by `}` and one blank line, with sdlUtils.js's printers (getObjectTypeSdl,
getArgumentsSdl, getEnumTypeSdl, descriptions in triple quotes before the entity); nothing at all when there are
none. (The
cli-ext/src/services/sdl/to/handler.js kept in the repository adds a newline after each action and two more before
the types; the files `hasura metadata export` v2 writes, in projects that commit them, have neither.)

Supported: synchronous mutation actions and query actions, with arguments, headers, forwarded client headers,
timeouts, permissions and custom scalars, enums, input objects and objects. Refused with a message naming the fix:
asynchronous actions, request/response transforms, relationships of custom object types (they need Hasura's
async action log or its Kriti templates and joins, which this package does not reproduce or check).
"""

from __future__ import annotations

import difflib
from typing import Any

from components.hasura.cli_yaml import dump_yaml

#: The root types whose fields are actions (sdlUtils.js isValidOperationType) and the action type each gives.
ACTION_ROOTS = {"Mutation": "mutation", "Query": "query"}
#: GraphQL's built-in scalars; Hasura also accepts the scalars of its Postgres sources (Hasura/RQL/DDL/Action.hs
#: resolveAction: lookupBackendScalar, then the custom types).
BUILTIN_SCALARS = frozenset({"Int", "Float", "String", "Boolean", "ID"})
#: Postgres scalar names a Hasura source exposes (the types of its columns), accepted as action argument and
#: field types like the GraphQL built-ins.
POSTGRES_SCALARS = frozenset({
    "bigint", "bit", "bool", "boolean", "bpchar", "bytea", "char", "citext", "date", "float4", "float8", "inet",
    "int2", "int4", "int8", "integer", "interval", "json", "jsonb", "ltree", "money", "numeric", "smallint", "text",
    "time", "timestamp", "timestamptz", "timetz", "uuid", "varchar",
})
#: The custom type kinds in the order the CLI's `CustomTypes` struct writes them (types/types.go).
CUSTOM_TYPE_KINDS = ("enums", "input_objects", "objects", "scalars")
#: Keys of an action's definition in actions.yaml, in the order the CLI's `ActionDef` struct writes them.
ACTION_YAML_KEYS = ("kind", "handler", "forward_client_headers", "headers", "timeout", "request_transform",
                    "response_transform")
ACTION_KEYS = {"name", "definition", "permissions", "comment"}
DEFINITION_KEYS = {"kind", "type", "handler", "arguments", "output_type", "forward_client_headers", "headers",
                   "timeout", "request_transform", "response_transform"}
#: Hasura/RQL/Types/Common.hs defaultActionTimeoutSecs.
DEFAULT_TIMEOUT = 30
_UNSUPPORTED = ("request_transform", "response_transform")


# ---------------------------------------------------------------------------------------------------
# actions.graphql -> metadata (cli-ext `sdl from`)


def _description(node: Any) -> str | None:
    """sdlUtils.js getAstEntityDescription: the description trimmed, or null."""
    return node.description.value.strip() if node.description is not None else None


def _type_text(node: Any) -> str:
    """wrappingTypeUtils wrapTypename(getAstTypeMetadata(type)): `[String!]!` as written."""
    from graphql import print_ast
    return print_ast(node)


def _fields(definition: Any) -> list[dict[str, Any]]:
    return [{"name": f.name.value, "type": _type_text(f.type), "description": _description(f)}
            for f in definition.fields or ()]


def parse_actions_sdl(sdl: str) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], list[str]]:
    """(actions, custom types, problems) of actions.graphql, as cli-ext `sdl from` reads it
    (sdlUtils.js getAllActionsFromSdl, getAllTypesFromSdl with getTypeFromAstDef, reformCustomTypes)."""
    from graphql import GraphQLSyntaxError, parse
    types: dict[str, list[dict[str, Any]]] = {kind: [] for kind in CUSTOM_TYPE_KINDS}
    if not sdl.strip():
        return [], types, []
    try:
        document = parse(sdl, no_location=True)
    except GraphQLSyntaxError as error:
        return [], types, [f"metadata/actions.graphql: not valid GraphQL SDL ({error.message}). Fix: correct the "
                           "SDL (the Hasura CLI cannot read it either)"]
    actions: list[dict[str, Any]] = []
    problems: list[str] = []
    for definition in document.definitions:
        kind = definition.kind
        name = definition.name.value if getattr(definition, "name", None) is not None else None
        if name in ACTION_ROOTS and kind in ("object_type_definition", "object_type_extension"):
            for field in definition.fields or ():
                actions.append({"name": field.name.value, "definition": {
                    "type": ACTION_ROOTS[name],
                    "arguments": [{"name": a.name.value, "type": _type_text(a.type), "description": _description(a)}
                                  for a in field.arguments or ()],
                    "output_type": _type_text(field.type)}})
        elif kind == "scalar_type_definition":
            types["scalars"].append({"name": name, "description": _description(definition)})
        elif kind == "enum_type_definition":
            types["enums"].append({"name": name, "description": _description(definition),
                                   "values": [{"value": v.name.value, "description": _description(v)}
                                              for v in definition.values or ()]})
        elif kind == "input_object_type_definition":
            types["input_objects"].append({"name": name, "description": _description(definition),
                                           "fields": _fields(definition)})
        elif kind == "object_type_definition":
            types["objects"].append({"name": name, "description": _description(definition),
                                     "fields": _fields(definition)})
        elif kind == "schema_definition":
            problems.append("metadata/actions.graphql: You cannot have schema definitions in Action/Type definitions "
                            "(cli-ext's words). Fix: remove the `schema { … }` block")
        elif kind == "interface_type_definition":
            problems.append(f"metadata/actions.graphql: interface {name}: Interface types are not supported "
                            "(cli-ext's words). Fix: use an object type")
        else:
            problems.append(f"metadata/actions.graphql: {kind.replace('_', ' ')} {name or ''}".rstrip()
                            + " is not an action or a custom type the Hasura CLI reads. Fix: declare actions as "
                              "fields of `type Mutation`/`type Query` and custom types as scalar, enum, input or "
                              "type definitions")
    return actions, types, problems


# ---------------------------------------------------------------------------------------------------
# actions.yaml + actions.graphql -> the metadata document's `actions` and `custom_types`


def read_actions(actions_yaml: Any, sdl: str) -> tuple[dict[str, Any], list[str]]:
    """`{"actions": [...], "custom_types": {...}}` (keys only when non-empty, as the CLI's Build) and the problems.

    As `ActionConfig.Build`: each action of actions.yaml takes its SDL part from actions.graphql and its
    permissions, comment, timeout, kind, handler, forward_client_headers, headers and transforms from the yaml; each
    custom type of actions.yaml takes its description and relationships from the yaml. Null descriptions are left
    out (Hasura reads absent and null alike)."""
    problems: list[str] = []
    if actions_yaml is None:
        actions_yaml = {}
    if not isinstance(actions_yaml, dict):
        return {}, ["metadata/actions.yaml: must be a mapping with `actions` and `custom_types`"]
    problems += _unknown(actions_yaml, {"actions", "custom_types"}, "metadata/actions.yaml")
    sdl_actions, sdl_types, sdl_problems = parse_actions_sdl(sdl)
    problems += sdl_problems
    by_name = {a["name"]: a for a in sdl_actions}
    for name in sorted({n for n in by_name if [a["name"] for a in sdl_actions].count(n) > 1}):
        problems.append(f"metadata/actions.graphql: action {name} is defined twice. Fix: keep one field {name}")
    yaml_actions = actions_yaml.get("actions") or []
    if not isinstance(yaml_actions, list):
        return {}, [*problems, "metadata/actions.yaml: `actions` must be a list"]
    listed: set[str] = set()
    for index, entry in enumerate(yaml_actions):
        where = f"metadata/actions.yaml: actions[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append(f"{where}: needs a `name`")
            continue
        name = entry["name"]
        where = f"metadata/actions.yaml: action {name}"
        problems += _unknown(entry, ACTION_KEYS, where)
        if name in listed:
            problems.append(f"{where}: listed twice. Fix: keep one entry")
        listed.add(name)
        action = by_name.get(name)
        if action is None:
            problems.append(f"{where}: action {name} is not present in actions.graphql (the Hasura CLI's words). "
                            f"Fix: add `{name}(…): <OutputType>` to `type Mutation` or `type Query` there, or remove "
                            "the entry")
            continue
        given = entry.get("definition") or {}
        if not isinstance(given, dict):
            problems.append(f"{where}: `definition` must be a mapping")
            continue
        problems += _unknown(given, DEFINITION_KEYS, f"{where}: definition")
        for key in ACTION_YAML_KEYS:
            if key in given and given[key] not in (None, "", False, [], {}, 0):
                action["definition"][key] = given[key]
        for key in ("permissions", "comment"):
            if entry.get(key) not in (None, "", []):
                action[key] = entry[key]
    for name in sorted(set(by_name) - listed):
        problems.append(f"metadata/actions.graphql: action {name} has no entry in actions.yaml, so no handler (the "
                        f"Hasura CLI would send an empty one, which Hasura refuses). Fix: add `- name: {name}` with "
                        "`definition: {kind: synchronous, handler: <url>}` to actions.yaml")
    problems += _merge_types(actions_yaml.get("custom_types") or {}, sdl_types)
    actions = [_ordered_action(by_name[name]) for name in dict.fromkeys(a["name"] for a in sdl_actions)
               if name in listed]
    document: dict[str, Any] = {}
    if actions:
        document["actions"] = actions
    if any(sdl_types.values()):
        document["custom_types"] = {kind: [_without_null_descriptions(t) for t in sdl_types[kind]]
                                    for kind in CUSTOM_TYPE_KINDS}
    problems += action_problems(document)
    return document, problems


def _merge_types(yaml_types: Any, sdl_types: dict[str, list[dict[str, Any]]]) -> list[str]:
    if not isinstance(yaml_types, dict):
        return ["metadata/actions.yaml: `custom_types` must map enums, input_objects, objects and scalars to lists"]
    problems = _unknown(yaml_types, set(CUSTOM_TYPE_KINDS), "metadata/actions.yaml: custom_types")
    for kind in CUSTOM_TYPE_KINDS:
        from_sdl = {t["name"]: t for t in sdl_types[kind]}
        for entry in yaml_types.get(kind) or []:
            name = entry.get("name") if isinstance(entry, dict) else None
            where = f"metadata/actions.yaml: custom_types.{kind} {name}"
            if name not in from_sdl:
                problems.append(f"{where}: custom type {name} is not present in actions.graphql (the Hasura CLI's "
                                f"words). Fix: define it there, or remove the entry")
                continue
            problems += _unknown(entry, {"name", "description", "fields", "values", "relationships"}, where)
            from_sdl[name]["description"] = entry.get("description")
            if entry.get("relationships"):
                problems.append(f"{where}: relationships of action output types are not supported by this package "
                                "(they join the handler's answer to tables, which it does not check or reproduce). "
                                "Fix: remove `relationships` and query the table with the returned id, or apply "
                                "this metadata with `hasura metadata apply`")
    return problems


def _ordered_action(action: dict[str, Any]) -> dict[str, Any]:
    """The action as the CLI sends it: `name`, `definition` (ActionDef's order), `permissions`, `comment`."""
    given = action["definition"]
    definition: dict[str, Any] = {}
    for key in ("kind", "type", "handler", "arguments", "output_type", *ACTION_YAML_KEYS[2:]):
        if key == "arguments":
            if given["arguments"]:
                definition["arguments"] = [_without_null_descriptions(a) for a in given["arguments"]]
        elif key in given and not (key == "kind" and given["type"] == "query"):
            definition[key] = given[key]
    ordered = {"name": action["name"], "definition": definition}
    for key in ("permissions", "comment"):
        if key in action:
            ordered[key] = action[key]
    return ordered


def _without_null_descriptions(item: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: v for k, v in item.items() if not (k == "description" and v is None)}
    for key in ("fields", "values"):
        if key in cleaned:
            cleaned[key] = [_without_null_descriptions(f) for f in cleaned[key]]
    return cleaned


# ---------------------------------------------------------------------------------------------------
# Checks made before anything reaches Hasura (the ones resolveAction and the custom types' build make)


def action_problems(document: dict[str, Any]) -> list[str]:
    """What Hasura would refuse, or what this package does not support, in `actions` / `custom_types`."""
    problems: list[str] = []
    custom = document.get("custom_types") or {}
    kinds = {t["name"]: kind for kind in CUSTOM_TYPE_KINDS for t in custom.get(kind) or []}
    for kind in ("input_objects", "objects"):
        allowed = ("scalars", "enums", kind)
        for entry in custom.get(kind) or []:
            for item in entry.get("fields") or []:
                base = _base_type(item["type"])
                if kinds.get(base) not in allowed and not _is_scalar(base):
                    wanted = "an input" if kind == "input_objects" else "an object"
                    problems.append(f"metadata/actions.graphql: field {entry['name']}.{item['name']} has type {base}, "
                                    f"which is not a scalar, an enum or {wanted} type defined in actions.graphql"
                                    f"{_hint(base, kinds)}. Fix: define {base} there or correct the name")
    for action in document.get("actions") or []:
        name, definition = action["name"], action["definition"]
        where = f"metadata/actions.yaml: action {name}"
        handler = definition.get("handler")
        if not isinstance(handler, str) or not handler.strip():
            problems.append(f"{where}: `definition.handler` is missing: Hasura needs the URL it POSTs the call to. "
                            "Fix: `handler: https://…/" + name + "` (or `{{ENV_VAR}}/" + name + "`)")
        if definition.get("type") == "mutation":
            kind = definition.get("kind")
            if kind is None:
                problems.append(f"{where}: `definition.kind` is missing (the Hasura CLI would send an empty kind, "
                                "which Hasura refuses). Fix: `kind: synchronous`")
            elif kind == "asynchronous":
                problems.append(f"{where}: asynchronous actions are not supported by this package (Hasura keeps "
                                "their calls in its action log and answers with an id to poll). Fix: make it "
                                "`kind: synchronous`, or apply it with `hasura metadata apply`")
            elif kind != "synchronous":
                problems.append(f"{where}: `kind` is {kind!r}; Hasura knows synchronous and asynchronous. Fix: "
                                "`kind: synchronous`")
        for key in _UNSUPPORTED:
            if definition.get(key) is not None:
                problems.append(f"{where}: `{key}` (Kriti transforms) is not supported by this package. Fix: have "
                                "the handler take Hasura's payload as it is, or apply this action with "
                                "`hasura metadata apply`")
        timeout = definition.get("timeout", DEFAULT_TIMEOUT)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
            problems.append(f"{where}: `timeout` must be a positive number of seconds, got {timeout!r}")
        for index, header in enumerate(definition.get("headers") or []):
            if (not isinstance(header, dict) or not isinstance(header.get("name"), str)
                    or len({"value", "value_from_env"} & set(header)) != 1):
                problems.append(f"{where}: headers[{index}] must be `{{name, value}}` or `{{name, value_from_env}}`, "
                                f"got {header!r}")
        for argument in definition.get("arguments") or []:
            base = _base_type(argument["type"])
            if kinds.get(base) not in ("scalars", "enums", "input_objects") and not _is_scalar(base):
                problems.append(f"{where}: argument {argument['name']}: the type: \"{base}\" is not defined in custom "
                                f"types or it is not a scalar/enum/input_object (Hasura's words){_hint(base, kinds)}. "
                                f"Fix: define `input {base}` (or a scalar/enum) in actions.graphql")
        output = _base_type(definition.get("output_type", ""))
        if kinds.get(output) not in ("objects", "scalars") and not _is_scalar(output):
            problems.append(f"{where}: the type: \"{output}\" is not an object or scalar type defined in custom types "
                            f"(Hasura's words){_hint(output, kinds)}. Fix: define `type {output} {{ … }}` in "
                            "actions.graphql")
        roles: list[str] = []
        for index, permission in enumerate(action.get("permissions") or []):
            role = permission.get("role") if isinstance(permission, dict) else None
            if not isinstance(role, str) or not role.strip():
                problems.append(f"{where}: permissions[{index}] needs a `role`")
            elif role in roles:
                problems.append(f"{where}: permission for role {role} is defined twice. Fix: keep one")
            else:
                roles.append(role)
    return problems


def _base_type(text: str) -> str:
    return str(text).replace("[", "").replace("]", "").replace("!", "").strip()


def _is_scalar(name: str) -> bool:
    return name in BUILTIN_SCALARS or name in POSTGRES_SCALARS


def _hint(name: str, known: dict[str, str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _unknown(mapping: dict[str, Any], allowed: set[str], where: str) -> list[str]:
    return [f"{where}: unknown key {key!r}. Known keys: {', '.join(sorted(allowed))}"
            for key in sorted(set(mapping) - allowed)]


# ---------------------------------------------------------------------------------------------------
# metadata -> actions.yaml + actions.graphql (`ActionConfig.Export`, cli-ext `sdl to`)


def render_actions_files(metadata: dict[str, Any]) -> dict[str, str]:
    """actions.yaml and actions.graphql as `hasura metadata export` writes them for an export_metadata answer."""
    actions = metadata.get("actions") or []
    custom = metadata.get("custom_types") or {}
    common = {"actions": [_exported_action(a) for a in actions],
              "custom_types": {kind: [_exported_type(t) for t in custom.get(kind) or []] for kind in CUSTOM_TYPE_KINDS}}
    action_sdl = "".join(_object_sdl(_ROOT_OF[a["definition"].get("type", "mutation")], [{
        "name": a["name"], "arguments": a["definition"].get("arguments"), "type": a["definition"]["output_type"]}])
        for a in actions)
    return {"actions.yaml": dump_yaml(common), "actions.graphql": action_sdl + _types_sdl(custom)}


_ROOT_OF = {"query": "Query", "mutation": "Mutation"}  # sdlUtils.js getOperationTypeFromActionType


def _exported_action(action: dict[str, Any]) -> dict[str, Any]:
    """types.Action after SetExportDefault: name, definition (kind always, `""` when the server has none, as for
    a query action; handler; the rest only when set: Go's omitempty), permissions, comment."""
    given = action["definition"]
    definition: dict[str, Any] = {"kind": given.get("kind", ""), "handler": given["handler"]}
    for key in ACTION_YAML_KEYS[2:]:
        if given.get(key) not in (None, False, 0, [], {}):
            definition[key] = given[key]
    exported = {"name": action["name"], "definition": definition}
    for key in ("permissions", "comment"):
        if action.get(key) not in (None, "", []):
            exported[key] = action[key]
    return exported


def _exported_type(entry: dict[str, Any]) -> dict[str, Any]:
    """types.CustomTypeDef after SetExportDefault: name, description, values (enums keep theirs), relationships;
    fields cleared."""
    exported = {"name": entry["name"]}
    for key in ("description", "values", "relationships"):
        if entry.get(key) not in (None, "", []):
            exported[key] = entry[key]
    return exported


def _description_sdl(item: dict[str, Any]) -> str:
    """sdlUtils.js getEntityDescriptionSdl: the description in triple quotes and a space, nothing when none."""
    return f'""" {item["description"]} """ ' if item.get("description") else ""


def _fields_sdl(fields: list[dict[str, Any]]) -> str:
    """sdlUtils.js getFieldsSdl / getArgumentsSdl: two spaces per field, arguments one per line at four."""
    lines = []
    for field in fields:
        arguments = field.get("arguments") or []
        argument_sdl = ("(\n" + "\n".join(f"    {_description_sdl(a)}{a['name']}: {a['type']}" for a in arguments)
                        + "\n  )") if arguments else ""
        lines.append(f"  {_description_sdl(field)}{field['name']}{argument_sdl}: {field['type']}")
    return "\n".join(lines)


def _object_sdl(name: str, fields: list[dict[str, Any]], keyword: str = "type", entity: dict | None = None) -> str:
    return f"{_description_sdl(entity or {})}{keyword} {name} {{\n{_fields_sdl(fields)}\n}}\n\n"


def _types_sdl(custom: dict[str, Any]) -> str:
    """sdlUtils.js getTypesSdl(parseCustomTypes(types)): kinds in the order the CLI's struct sends them (enums,
    input_objects, objects, scalars), each type in the server's order."""
    parts = []
    for entry in custom.get("enums") or []:
        values = "\n".join(f"  {_description_sdl(v)}{v['value']}" for v in entry.get("values") or [])
        parts.append(f"{_description_sdl(entry)}enum {entry['name']} {{\n{values}\n}}\n\n")
    for entry in custom.get("input_objects") or []:
        parts.append(_object_sdl(entry["name"], entry.get("fields") or [], "input", entry))
    for entry in custom.get("objects") or []:
        parts.append(_object_sdl(entry["name"], entry.get("fields") or [], "type", entry))
    for entry in custom.get("scalars") or []:
        parts.append(f"{_description_sdl(entry)}scalar {entry['name']}\n\n")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------
# Normalizing for semantic comparison


def normalize_actions(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sorted by name, with Hasura's defaults spelled one way: type mutation, kind synchronous (mutations only),
    timeout 30 and forward_client_headers false dropped, null descriptions dropped, permissions sorted by role."""
    normalized = []
    for action in actions:
        given = action.get("definition") or {}
        definition = {k: v for k, v in given.items() if v not in (None, [], {}, False)}
        definition["type"] = definition.get("type", "mutation")
        if definition["type"] == "mutation":
            definition["kind"] = definition.get("kind") or "synchronous"
        else:
            definition.pop("kind", None)
        if definition.get("timeout") == DEFAULT_TIMEOUT:
            definition.pop("timeout")
        if "arguments" in definition:
            definition["arguments"] = [_without_null_descriptions(a) for a in definition["arguments"]]
        entry = {"name": action.get("name"), "definition": definition}
        if action.get("permissions"):
            entry["permissions"] = sorted(({k: v for k, v in p.items() if v is not None}
                                           for p in action["permissions"]), key=lambda p: str(p.get("role")))
        if action.get("comment"):
            entry["comment"] = action["comment"]
        normalized.append(entry)
    return sorted(normalized, key=lambda a: str(a["name"]))


def normalize_custom_types(custom: dict[str, Any]) -> dict[str, Any]:
    """Each kind sorted by type name (Hasura keeps no order that means anything), empty kinds and null
    descriptions dropped."""
    return {kind: sorted((_without_null_descriptions({k: v for k, v in t.items() if v not in (None, [])})
                          for t in custom[kind]), key=lambda t: str(t.get("name")))
            for kind in sorted(custom) if custom.get(kind)}
