"""A test double of Nhost's control plane (auth + GraphQL over HTTP on 127.0.0.1): one account's projects and their
configuration documents.

Sources, per behaviour:
- `POST <auth>/signin/pat {"personalAccessToken"}` -> `{"session": {"accessToken", "accessTokenExpiresIn"}}`, and any
  other status for a token it does not accept: the nhost CLI's `LoginPAT` (nhostclient, `LoginPATRequest`/
  `LoginPATResponse`; it treats every non-200 as failure). The 401 body is hasura-auth's error form (wording
  unverified).
- GraphQL at `<graphql>` (the CLI's `--graphql-url`, default
  `https://otsispdzcwxyqzbfntmj.graphql.eu-central-1.nhost.run/v1`) with `Authorization: Bearer <accessToken>`, the
  operations of the CLI's generated client: `GetOrganizationsAndWorkspacesApps`
  (`organizations`/`workspaces { apps { id name subdomain region { name } } }`), `GetConfigRawJSON`
  (`configRawJSON(appID, resolve: false)`: the document with `{{ secrets.X }}` templates unresolved),
  `GetHasuraAdminSecret` (`app(id) { config(resolve: true) { hasura { version adminSecret } } }`: resolved) and
  `ReplaceConfigRawJSON` (`replaceConfigRawJSON(appID, rawJSON)`: the whole document replaced, as `nhost config apply`
  does; no version check).
- The service decodes the document as Nhost's `replaceConfigRawJSON` resolver does
  (`vendor/github.com/nhost/be/services/mimir/graph/m_replace_config_raw_json.go` in nhost/nhost): Go's
  encoding/json into the generated `model.ConfigConfigInsertInput` (`services/mimir/model/cuegraph_gen.go`) with
  DisallowUnknownFields. So an unknown field is `failed to decode raw JSON: json: unknown field "x"`, and a value of
  another JSON type, or a number that is not a whole number in range for an integer field, is Go's
  UnmarshalTypeError: `json: cannot unmarshal number 5.0 into Go struct field
  ConfigJWTSecretInsertInput.hasura.jwtSecrets.allowed_skew of type uint32` (`allowed_skew` is `*uint32`, `audience`
  and `header` are `*string`; the wording is Go's, checked with go1.26 on the same field types). Go keeps decoding
  after such an error and reports the first, in document order; so does this double.
- It then validates the document against Nhost's CUE schema (`services/mimir/schema/schema.cue`, same vendor folder,
  the way `schema.go` does: unify, then `Validate(cue.All(), cue.Concrete(true))`, `config is not valid: ` before
  CUE's message), answering `failed to resolve config: failed to validate config: config is not valid:
  #Config.<path>: <problem>` (the Nhost dashboard's tests). What CUE sees is the decoded document marshalled again
  (`ConfigHasura.MarshalJSON`): null and missing pointer fields left out, a missing `adminSecret`/`webhookSecret`
  (plain Go strings) as `""`, which passes and is stored. Checked, each with the message CUE v0.14.2 gives for the
  schema's own `#Hasura.jwtSecrets`, `#JWTSecret` and `#ClaimMap` definitions (run locally): `jwtSecrets:
  [#JWTSecret]` is exactly one entry (none: `incompatible list lengths (0 and 1)`; two: `jwtSecrets.1: field not
  allowed`; missing: the entry stays an `incomplete value`); an entry is `{type: "HS384" | "HS512" | *"HS256", key}`,
  `{type: "RS256" | "RS384" | "RS512", key}` or `{jwk_url}` (so no ES256/ES384/ES512 or Ed25519, and no `key` or
  `type` beside `jwk_url`), with `claims_format` `"json"` or `"stringified_json"`, `claims_namespace` or
  `claims_namespace_path` (not both), and `claims_map` as Nhost's list of `{claim, value}` / `{claim, path,
  default?}`. Other sections (`auth`, `postgres`, …) are decoded loosely: their keys are accepted as sent.
- A configuration change restarts the project's Hasura with the resolved `jwtSecrets[0]` and `adminSecret`
  (tests/doubles/platform_http.py).
- A project is provisioned as Nhost provisions one: its Auth and Storage services create their tables in the
  project's database and its Hasura tracks them (hosted.md, Nhost: "A project already tracks Nhost's own tables").
  Here two of them, `auth.users` and `storage.files` (`PLATFORM_TABLES`), with the columns hasura-auth's and
  hasura-storage's migrations give them; the tables they reference (`auth.roles`, `storage.buckets`) and the custom
  GraphQL names Nhost's metadata gives them are left out.
- A request with an access token it did not issue: Hasura's `invalid-jwt` error (the control plane is a Hasura).

Python API: `NhostDouble(token=...)`, `.start()`, `.auth_url`, `.api_url`, `add_app(subdomain, region, hasura=None,
config=None, secrets=None) -> app_id` (config defaults to `default_config()`, like a new project's; a `hasura`, a
started Hasura double whose `PG_DATABASE_URL` is the project's database, is provisioned), `config(app_id)`,
`dashboard_set(app_id, path, value)` (a save in the dashboard; `path` like `("hasura", "jwtSecrets")`),
`edit_after_reads(app_id, reads, path, value)` (a dashboard save landing right after the `reads`-th configuration read
from now), `writes` (replaceConfigRawJSON calls), `requests` (Counter by operation), `stop()`.
"""

from __future__ import annotations

import copy
import json
import re
import secrets as random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from tests.doubles.platform_http import HasuraRestarter, JsonServer

_OPERATION = re.compile(r"\b(query|mutation)\s+(\w+)")
_TEMPLATE = re.compile(r"\{\{\s*secrets\.(\w+)\s*\}\}")
_DOC_PREFIX = "failed to resolve config: failed to validate config: config is not valid: #Config."


@dataclass(frozen=True)
class _Struct:
    """A generated Go insert type: its name and its fields (JSON name -> type)."""

    name: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class _List:
    element: Any
    go_type: str


#: A section this double does not model field by field: accepted as sent.
_LOOSE = "loose"
#: The Go insert types of the document, the parts this project writes or reads (model/cuegraph_gen.go): Go type names
#: appear in Nhost's errors.
_CLAIM_MAP = _Struct("ConfigClaimMapInsertInput", {"claim": "string", "value": "string", "path": "string",
                                                   "default": "string"})
_JWT_SECRET = _Struct("ConfigJWTSecretInsertInput", {
    "type": "string", "key": "string", "jwk_url": "string", "claims_format": "string", "audience": "string",
    "issuer": "string", "allowed_skew": "uint32", "header": "string",
    "claims_map": _List(_CLAIM_MAP, "[]*model.ConfigClaimMapInsertInput"), "claims_namespace": "string",
    "claims_namespace_path": "string"})
_HASURA_SETTINGS = _Struct("ConfigHasuraSettingsInsertInput", {
    "corsDomain": _List("string", "[]string"), "devMode": "bool", "enableAllowList": "bool", "enableConsole": "bool",
    "enableRemoteSchemaPermissions": "bool", "enabledAPIs": _List("string", "[]string"),
    "inferFunctionPermissions": "bool", "liveQueriesMultiplexedRefetchInterval": "uint32",
    "stringifyNumericTypes": "bool"})
_HASURA = _Struct("ConfigHasuraInsertInput", {
    "version": "string", "jwtSecrets": _List(_JWT_SECRET, "[]*model.ConfigJWTSecretInsertInput"),
    "adminSecret": "string", "webhookSecret": "string", "settings": _HASURA_SETTINGS, "authHook": _LOOSE,
    "logs": _LOOSE, "events": _LOOSE, "resources": _LOOSE, "rateLimit": _LOOSE})
_CONFIG = _Struct("ConfigConfigInsertInput", {
    "global": _LOOSE, "hasura": _HASURA, "graphql": _LOOSE, "functions": _LOOSE, "auth": _LOOSE, "postgres": _LOOSE,
    "provider": _LOOSE, "storage": _LOOSE, "ai": _LOOSE, "observability": _LOOSE, "experimental": _LOOSE})
_UINT32_MAX = 2**32 - 1
#: `#JWTSecret`'s `type` per disjunct: HMAC (default HS256) or RSA; the JWKS disjunct has no `type`.
_JWT_TYPES = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512")
#: How CUE v0.14 shows `#JWTSecret` left open (its three forms), in "incomplete value" errors.
_JWT_SECRET_COMMON = ('claims_format?:*"json" | "stringified_json",audience?:string,issuer?:string,'
                      "allowed_skew?:>=0 & <=4294967295 & int,header?:string,claims_map?:[]")
_JWT_SECRET_FORMS = (f'{{{_JWT_SECRET_COMMON},type:*"HS256" | "HS512" | "HS384",key:string}} | '
                     f'{{{_JWT_SECRET_COMMON},type:"RS256" | "RS384" | "RS512",key:string,signingKey?:string,'
                     f"kid?:string}} | {{{_JWT_SECRET_COMMON},jwk_url:*null | string}}")


class _Number(str):
    """A JSON number as written (Go's errors quote it: `number 5.0`)."""


def default_config() -> dict[str, Any]:
    """A new project's configuration (the nhost CLI's `nhost.toml` defaults, the parts this project reads)."""
    return {
        "hasura": {
            "version": "v2.46.0-ce",
            "adminSecret": "{{ secrets.HASURA_GRAPHQL_ADMIN_SECRET }}",
            "webhookSecret": "{{ secrets.NHOST_WEBHOOK_SECRET }}",
            "jwtSecrets": [{"type": "HS256", "key": "{{ secrets.HASURA_GRAPHQL_JWT_SECRET }}"}],
            "settings": {"corsDomain": ["*"], "devMode": True, "enableConsole": True},
        },
        "auth": {"version": "0.38.0"},
        "postgres": {"version": "16.6-20250311-1"},
    }


#: The tables of Nhost's services a new project has, tracked by its Hasura (schema, name).
PLATFORM_TABLES = (("auth", "users"), ("storage", "files"))
PLATFORM_DDL = """
CREATE SCHEMA auth;
CREATE TABLE auth.users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz,
  disabled boolean NOT NULL DEFAULT false,
  display_name text NOT NULL DEFAULT '',
  avatar_url text NOT NULL DEFAULT '',
  locale varchar(2) NOT NULL DEFAULT 'en',
  email text UNIQUE,
  phone_number text UNIQUE,
  password_hash text,
  email_verified boolean NOT NULL DEFAULT false,
  phone_number_verified boolean NOT NULL DEFAULT false,
  default_role text NOT NULL DEFAULT 'user',
  is_anonymous boolean NOT NULL DEFAULT false,
  metadata jsonb
);
CREATE SCHEMA storage;
CREATE TABLE storage.files (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  bucket_id text NOT NULL DEFAULT 'default',
  name text,
  size integer,
  mime_type text,
  etag text,
  is_uploaded boolean DEFAULT false,
  uploaded_by_user_id uuid,
  metadata jsonb
);
"""


def _provision(hasura: Any) -> None:
    """What Nhost does for a new project: its services create their tables (`PLATFORM_DDL`) and its Hasura tracks them
    in source `default`, the project's database."""
    with psycopg.connect(hasura.env["PG_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(PLATFORM_DDL)
    answer = httpx.post(f"{hasura.url}/v1/metadata", headers={"x-hasura-admin-secret": hasura.admin_secret},
                        timeout=10.0, json={"type": "replace_metadata", "args": {"version": 3, "sources": [{
                            "name": "default", "kind": "postgres",
                            "configuration": {"connection_info": {"database_url": {"from_env": "PG_DATABASE_URL"}}},
                            "tables": [{"table": {"schema": schema, "name": name}}
                                       for schema, name in PLATFORM_TABLES]}]}})
    answer.raise_for_status()


@dataclass
class _App:
    id: str
    subdomain: str
    region: str
    config: dict[str, Any]
    secrets: dict[str, str]
    restarter: HasuraRestarter | None
    edits: list[tuple[int, tuple[str, ...], Any]] = field(default_factory=list)  # (reads left, path, value)


class NhostDouble:
    def __init__(self, *, token: str = "nhost-pat-" + "n" * 24, restart_seconds: float = 0.3):
        self.token, self.restart_seconds = token, restart_seconds
        self.apps: dict[str, _App] = {}
        self.requests: Counter[str] = Counter()
        self._sessions: set[str] = set()
        self._lock = threading.RLock()
        self._server = JsonServer(self._handle, "nhost-double")

    @property
    def auth_url(self) -> str:
        return f"{self._server.url}/auth/v1"

    @property
    def api_url(self) -> str:
        return f"{self._server.url}/graphql/v1"

    @property
    def writes(self) -> int:
        return self.requests["ReplaceConfigRawJSON"]

    def start(self) -> NhostDouble:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self.wait_for_restarts()

    def wait_for_restarts(self) -> None:
        for app in self.apps.values():
            if app.restarter is not None:
                app.restarter.wait()

    # -- state ------------------------------------------------------------------------------------------------

    def add_app(self, subdomain: str, region: str, *, hasura: Any = None, config: dict[str, Any] | None = None,
                secrets: dict[str, str] | None = None) -> str:
        app_id = str(uuid.uuid4())
        if hasura is not None:
            _provision(hasura)
        restarter = HasuraRestarter(hasura, self.restart_seconds) if hasura is not None else None
        with self._lock:
            self.apps[app_id] = _App(app_id, subdomain, region, default_config() if config is None else config,
                                     dict(secrets or {}), restarter)
        return app_id

    def config(self, app_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.apps[app_id].config)

    def dashboard_set(self, app_id: str, path: tuple[str, ...], value: Any) -> None:
        with self._lock:
            app = self.apps[app_id]
            _set(app.config, path, value)
            self._restart(app)

    def edit_after_reads(self, app_id: str, reads: int, path: tuple[str, ...], value: Any) -> None:
        with self._lock:
            self.apps[app_id].edits.append((reads, path, value))

    def resolved(self, app: _App, value: Any) -> Any:
        """`value` with `{{ secrets.X }}` replaced (what `resolve: true` answers)."""
        return json.loads(_TEMPLATE.sub(lambda m: app.secrets.get(m.group(1), ""), json.dumps(value)))

    def _restart(self, app: _App) -> None:
        if app.restarter is None:
            return
        hasura = self.resolved(app, app.config.get("hasura") or {})
        jwt_secrets = hasura.get("jwtSecrets") or []
        app.restarter.restart(jwt_secret=json.dumps(jwt_secrets[0]) if jwt_secrets else None,
                              admin_secret=hasura.get("adminSecret"), unauthorized_role=None,
                              env=dict(app.restarter.hasura.env))

    # -- HTTP -------------------------------------------------------------------------------------------------

    def _handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        if method == "POST" and path == "/auth/v1/signin/pat":
            with self._lock:
                self.requests["signin/pat"] += 1
            if not isinstance(body, dict) or body.get("personalAccessToken") != self.token:
                return 401, {"status": 401, "message": "Invalid or expired personal access token",
                             "error": "invalid-pat"}
            access = random.token_urlsafe(24)
            with self._lock:
                self._sessions.add(access)
            return 200, {"session": {"accessToken": access, "accessTokenExpiresIn": 900,
                                     "refreshToken": str(uuid.uuid4())}}
        if method != "POST" or path != "/graphql/v1" or not isinstance(body, dict):
            return 404, {"error": "not found"}
        if headers.get("authorization", "").removeprefix("Bearer ") not in self._sessions:
            return 200, _error("Could not verify JWT: JWSError JWSInvalidSignature", "invalid-jwt")
        match = _OPERATION.search(str(body.get("query") or ""))
        if match is None:
            return 200, _error("no operation this double knows", "validation-failed")
        name, variables = match.group(2), body.get("variables") or {}
        with self._lock:
            self.requests[name] += 1
            handler = getattr(self, f"_{name}", None)
            if handler is None:
                return 200, _error(f"no operation {name} in this double", "validation-failed")
            return 200, handler(variables)

    def _app(self, variables: dict[str, Any], key: str = "appID") -> _App | None:
        return self.apps.get(str(variables.get(key)))

    def _GetOrganizationsAndWorkspacesApps(self, _variables: dict[str, Any]) -> Any:  # noqa: N802
        apps = [{"id": a.id, "name": a.subdomain, "subdomain": a.subdomain, "region": {"name": a.region}}
                for a in self.apps.values()]
        return {"data": {"organizations": [{"name": "Personal", "apps": apps}], "workspaces": []}}

    def _GetConfigRawJSON(self, variables: dict[str, Any]) -> Any:  # noqa: N802
        app = self._app(variables)
        if app is None:
            return _error("app not found", "not-exists")  # wording unverified
        answer = json.dumps(app.config)
        left = []
        for reads, path, value in app.edits:
            if reads <= 1:
                _set(app.config, path, value)
                self._restart(app)
            else:
                left.append((reads - 1, path, value))
        app.edits = left
        return {"data": {"configRawJSON": answer}}

    def _GetHasuraAdminSecret(self, variables: dict[str, Any]) -> Any:  # noqa: N802
        app = self._app(variables)
        if app is None:
            return {"data": {"app": None}}
        hasura = self.resolved(app, app.config.get("hasura") or {})
        return {"data": {"app": {"config": {"hasura": {"version": hasura.get("version"),
                                                       "adminSecret": hasura.get("adminSecret")}}}}}

    def _ReplaceConfigRawJSON(self, variables: dict[str, Any]) -> Any:  # noqa: N802
        app = self._app(variables)
        if app is None:
            return _error("app not found", "not-exists")  # wording unverified
        raw = str(variables.get("rawJSON"))
        try:
            problem = _decode_problem(raw)
        except ValueError as error:
            return _error(f"failed to decode raw JSON: {error}", "unexpected")
        config = json.loads(raw)
        if problem := problem or _validation_problem(config):
            return _error(problem, "unexpected")
        for plain_string in ("adminSecret", "webhookSecret"):  # what Nhost stores for a missing one
            config["hasura"].setdefault(plain_string, "")
        app.config = config
        self._restart(app)
        return {"data": {"replaceConfigRawJSON": json.dumps(config)}}


def _decode_problem(raw: str) -> str | None:
    """Go's first decoding error of `raw` into model.ConfigConfigInsertInput, as Nhost words it, or None."""
    config = json.loads(raw, parse_int=_Number, parse_float=_Number)
    if not isinstance(config, dict):
        return (f"failed to decode raw JSON: json: cannot unmarshal {_json_kind(config)} into Go value of type "
                f"model.{_CONFIG.name}")
    problem = _go_decode(config, _CONFIG, _CONFIG.name, "")
    return f"failed to decode raw JSON: {problem}" if problem else None


def _json_kind(value: Any) -> str:
    return {dict: "object", list: "array", bool: "bool", _Number: "number"}.get(type(value), "string")


def _go_decode(value: Any, kind: Any, struct: str, path: str) -> str | None:
    """encoding/json: a null leaves the field unset; a value of another JSON type is an UnmarshalTypeError naming the
    struct holding the field and the field's full path (list indexes left out)."""
    if value is None or kind == _LOOSE:
        return None
    if isinstance(kind, _Struct):
        if not isinstance(value, dict):
            return _type_error(_json_kind(value), struct, path, f"model.{kind.name}")
        for key, item in value.items():
            if key not in kind.fields:
                return f'json: unknown field "{key}"'
            if problem := _go_decode(item, kind.fields[key], kind.name, f"{path}.{key}" if path else key):
                return problem
        return None
    if isinstance(kind, _List):
        if not isinstance(value, list):
            return _type_error(_json_kind(value), struct, path, kind.go_type)
        return next(filter(None, (_go_decode(item, kind.element, struct, path) for item in value)), None)
    if kind == "uint32":
        if isinstance(value, _Number) and value.isdigit() and int(value) <= _UINT32_MAX:
            return None
        return _type_error(f"number {value}" if isinstance(value, _Number) else _json_kind(value), struct, path,
                           "uint32")
    expected = {"string": str, "bool": bool}[kind]
    if type(value) is expected:
        return None
    return _type_error(_json_kind(value), struct, path, kind)


def _type_error(what: str, struct: str, path: str, go_type: str) -> str:
    return f"json: cannot unmarshal {what} into Go struct field {struct}.{path} of type {go_type}"


def _validation_problem(config: dict[str, Any]) -> str | None:
    """The first thing Nhost's CUE schema refuses in `hasura.jwtSecrets` (`[#JWTSecret]`, `#ClaimMap`), or None. What
    CUE sees is the decoded document marshalled again: a null or missing pointer field is left out, and a missing
    `adminSecret` or `webhookSecret` (plain Go strings) is `""`, which the schema's `string` takes."""
    secrets = (config.get("hasura") or {}).get("jwtSecrets")
    if secrets is None:  # missing or null: the schema's one entry stays open
        return f"{_DOC_PREFIX}hasura.jwtSecrets.0: incomplete value {_JWT_SECRET_FORMS}"
    if not secrets:
        return f"{_DOC_PREFIX}hasura.jwtSecrets: incompatible list lengths (0 and 1)"
    if len(secrets) > 1:
        return f"{_DOC_PREFIX}hasura.jwtSecrets.1: field not allowed"
    entry = {key: value for key, value in (secrets[0] or {}).items() if value is not None}
    return _jwt_secret_problem(entry, f"{_DOC_PREFIX}hasura.jwtSecrets.0")


def _jwt_secret_problem(entry: dict[str, Any], where: str) -> str | None:
    """`#JWTSecret`, as CUE v0.14 words its first error (checked against the schema's definitions)."""
    if "jwk_url" in entry:
        if "key" in entry and "type" in entry:
            return _disjunction(where, 2)
        if "key" in entry or "type" in entry:
            return f"{where}.{'key' if 'key' in entry else 'type'}: field not allowed"
    elif entry.get("type", "HS256") not in _JWT_TYPES:
        return _disjunction(where, 2) if "key" in entry else f"{where}.type: field not allowed"
    elif "key" not in entry:
        return f"{where}.key: incomplete value string" if "type" in entry else (
            f"{where}: incomplete value {_JWT_SECRET_FORMS}")
    if entry.get("claims_format", "json") not in ("json", "stringified_json"):
        return _disjunction(where, 3)
    if "claims_namespace" in entry and "claims_namespace_path" in entry:
        return _disjunction(where, 4 if "key" in entry else 2)
    for index, claim in enumerate(entry.get("claims_map") or []):
        claim = claim or {}
        if "value" in claim and ("path" in claim or "default" in claim):
            return _disjunction(where, 3)
        if "claim" not in claim:
            return f"{where}.claims_map.{index}.claim: incomplete value string"
        if "value" not in claim and "path" not in claim:
            return (f"{where}.claims_map.{index}: incomplete value {{claim:{json.dumps(claim['claim'])},value:string}} "
                    f"| {{claim:{json.dumps(claim['claim'])},path:string,default?:string}}")
    return None


def _disjunction(where: str, errors: int) -> str:
    return f"{where}: {errors} errors in empty disjunction: (and {errors} more errors)"


def _set(config: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = config
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _error(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"path": "$", "code": code}}]}
