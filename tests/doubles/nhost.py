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
- The service decodes the document refusing unknown fields (`failed to decode raw JSON: json: unknown field "x"`:
  Nhost's `replaceConfigRawJSON` resolver decodes with DisallowUnknownFields) and validates it (`failed to resolve
  config: failed to validate config: config is not valid: #Config.<path>: <problem>`: the Nhost dashboard's tests).
  Only the keys this project touches are checked field by field: top-level and `hasura` keys, and each
  `hasura.jwtSecrets` entry (`{type, key}` or `{jwk_url}` plus the optional keys of the CUE schema `#JWTSecret`).
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
_TOP_LEVEL = {"global", "hasura", "graphql", "functions", "auth", "postgres", "provider", "storage", "ai",
              "observability"}
_HASURA = {"version", "jwtSecrets", "adminSecret", "webhookSecret", "settings", "authHook", "logs", "events",
           "resources", "rateLimit"}
_JWT_SECRET = {"type", "key", "jwk_url", "claims_format", "audience", "issuer", "allowed_skew", "header", "claims_map",
               "claims_namespace", "claims_namespace_path"}
_JWT_TYPES = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "Ed25519"}


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
        try:
            config = json.loads(str(variables.get("rawJSON")))
        except ValueError as error:
            return _error(f"failed to decode raw JSON: {error}", "unexpected")
        if problem := _decode_problem(config) or _validation_problem(config):
            return _error(problem, "unexpected")
        app.config = config
        self._restart(app)
        return {"data": {"replaceConfigRawJSON": json.dumps(config)}}


def _decode_problem(config: Any) -> str | None:
    if not isinstance(config, dict):
        return "failed to decode raw JSON: json: cannot unmarshal into Go value of type model.ConfigConfigInsertInput"
    unknown = sorted(set(config) - _TOP_LEVEL) + sorted(set(config.get("hasura") or {}) - _HASURA)
    for entry in (config.get("hasura") or {}).get("jwtSecrets") or []:
        unknown += sorted(set(entry) - _JWT_SECRET) if isinstance(entry, dict) else []
    return f'failed to decode raw JSON: json: unknown field "{unknown[0]}"' if unknown else None


def _validation_problem(config: dict[str, Any]) -> str | None:
    prefix = "failed to resolve config: failed to validate config: config is not valid: #Config."
    for index, entry in enumerate((config.get("hasura") or {}).get("jwtSecrets") or []):
        where = f"{prefix}hasura.jwtSecrets.{index}"
        if not isinstance(entry, dict):
            return f"{where}: conflicting values (expected struct)"
        if "jwk_url" in entry and "key" in entry:
            return f"{where}: 2 errors in empty disjunction: (and 2 more errors)"
        if "jwk_url" not in entry:
            if not entry.get("key"):
                return f"{where}.key: incomplete value string"
            if entry.get("type", "HS256") not in _JWT_TYPES:
                return f"{where}.type: 7 errors in empty disjunction: (and 7 more errors)"
    return None


def _set(config: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = config
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _error(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"path": "$", "code": code}}]}
