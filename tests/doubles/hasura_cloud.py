"""A test double of the Hasura Cloud API (GraphQL over HTTP on 127.0.0.1), one account with its projects.

Sources, per behaviour:
- Endpoint `POST /v1/graphql`, header `Authorization: pat <token>`; `projects_by_pk(id) { id tenant { id } }`,
  `tenant_by_pk(id) { id slug project { id endpoint } }`, `getTenantEnv(tenantId) { hash envVars }`,
  `updateTenantEnv(tenantId, currentHash, envs: [{key, value}]) { hash envVars }`, `createTenant(cloud, region, envs)`,
  `deleteTenant(tenantId) { status }`: Hasura's Cloud API reference (hasura.io/docs/2.0/api-reference/
  cloud-api-reference) and its "Updating ENV via API" guide, which updates "a few" env vars by listing only those (so
  a write sets the listed vars and leaves the others).
- Variables `$tenantId: uuid!, $currentHash: String!, $envs: [UpdateEnvObject!]!`: the Hasura console's own
  `updateTenantEnv` mutation. `envVars` as `{"environment": {KEY: value}}` for getTenantEnv: Infisical's Hasura
  Cloud sync (its `ZGetTenantEnv` parser); the same shape is answered by updateTenantEnv (Infisical parses it as any
  object).
- A hash of 40 hex digits: the reference's examples (`6902a395d70072fbf8d36288f0eacc36c9d82e68`); computed here as
  SHA-1 of the sorted env (how Cloud computes it: unverified).
- A write naming a stale `currentHash` is refused (the reference calls it the current hash; the console re-reads
  before a write). The error wording is unverified.
- An updateTenantEnv that changes nothing is refused: Infisical's sync writes "only if a key is new or an existing
  value has changed to avoid hasura cloud API errors" (hasura-cloud-sync-fns.ts). The error wording is unverified.
- `deleteTenantEnv(tenantId: $id, currentHash: $currentHash, deleteEnvs: $env) { hash envVars }` with
  `$id: uuid!, $currentHash: String!, $env: [String!]!`: not in the reference; Infisical's Hasura Cloud sync
  (backend/src/services/secret-sync/hasura-cloud/hasura-cloud-sync-fns.ts, and the older integration in
  integration-sync-secret.ts) deletes the named vars with it, naming the hash that its preceding updateTenantEnv
  answered (so the delete is hash-checked like a write, and answers the new hash). Refused here, as a stale hash is:
  a stale `currentHash`; `deleteEnvs` not a list of strings (its GraphQL type); and, unverified, an empty list or a
  name the project does not have (Infisical only ever deletes a non-empty list of names it has just read).
- A token Cloud does not accept: the request runs unauthenticated, where the API's fields do not exist:
  `field '<name>' not found in type: 'query_root'` with code `validation-failed`, HTTP 200 (Hasura's GraphQL error
  form; Hasura's preview-apps GitHub Action reads that message as "invalid authorization to Hasura Cloud APIs").
- `*_by_pk` of an unknown id answers `null` (Hasura's by-primary-key convention).
- An env change restarts the project's Hasura with the new settings (tests/doubles/platform_http.py).

Only operations with variables are understood (what the project's client sends); literal arguments are not parsed.

Python API: `HasuraCloudDouble(token=..., restart_seconds=0.3, new_project_hasura=None)`
(`new_project_hasura(admin_secret)` starts the Hasura double of a project made by createTenant), `.start()`, `.url`
(the GraphQL endpoint), `add_project(env, hasura=None, endpoint=None) -> (project_id, tenant_id)`, `env(tenant_id)`,
`dashboard_set(tenant_id, key, value)` (an edit in the console), `edit_before_next_write(tenant_id, key, value)` (a
console edit landing between a client's read and its next write or delete), `wait_for_restarts()`, `writes` /
`deletes` / `reads` (counts of updateTenantEnv / deleteTenantEnv / getTenantEnv), `requests` (Counter by root field),
`stop()`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.doubles.platform_http import HasuraRestarter, JsonServer

_ROOT_FIELD = re.compile(r"\b(projects_by_pk|tenant_by_pk|getTenantEnv|updateTenantEnv|deleteTenantEnv|createTenant|"
                         r"deleteTenant)\s*\(")
_MUTATIONS = {"updateTenantEnv", "deleteTenantEnv", "createTenant", "deleteTenant"}


@dataclass
class _Tenant:
    id: str
    project_id: str
    slug: str
    endpoint: str | None
    env: dict[str, str]
    restarter: HasuraRestarter | None = None
    pending_edits: list[tuple[str, str]] = field(default_factory=list)

    @property
    def hash(self) -> str:
        return hashlib.sha1(json.dumps(self.env, sort_keys=True).encode()).hexdigest()

    def answer(self) -> dict[str, Any]:
        return {"hash": self.hash, "envVars": {"environment": dict(self.env)}}


class HasuraCloudDouble:
    def __init__(self, *, token: str = "cloud-pat-" + "t" * 24, restart_seconds: float = 0.3,
                 new_project_hasura: Callable[[str], Any] | None = None):
        self.token, self.restart_seconds = token, restart_seconds
        self.new_project_hasura = new_project_hasura
        """Called with the admin secret Cloud gives a project made by createTenant; returns its started Hasura."""
        self.tenants: dict[str, _Tenant] = {}
        self.requests: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._server = JsonServer(self._handle, "hasura-cloud-double")

    @property
    def url(self) -> str:
        return f"{self._server.url}/v1/graphql"

    @property
    def writes(self) -> int:
        return self.requests["updateTenantEnv"]

    @property
    def deletes(self) -> int:
        return self.requests["deleteTenantEnv"]

    @property
    def reads(self) -> int:
        return self.requests["getTenantEnv"]

    def start(self) -> HasuraCloudDouble:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        for tenant in self.tenants.values():
            if tenant.restarter is not None:
                tenant.restarter.wait()

    # -- state ------------------------------------------------------------------------------------------------

    def add_project(self, env: dict[str, str], *, hasura: Any = None, endpoint: str | None = None) -> tuple[str, str]:
        """A project with `env`, served by the Hasura double `hasura` (restarted on every env change)."""
        project_id, tenant_id = str(uuid.uuid4()), str(uuid.uuid4())
        if endpoint is None and hasura is not None:
            endpoint = f"{hasura.url}/v1/graphql"
        restarter = HasuraRestarter(hasura, self.restart_seconds) if hasura is not None else None
        with self._lock:
            self.tenants[tenant_id] = _Tenant(tenant_id, project_id, f"project-{len(self.tenants)}", endpoint,
                                              dict(env), restarter)
        return project_id, tenant_id

    def env(self, tenant_id: str) -> dict[str, str]:
        with self._lock:
            return dict(self.tenants[tenant_id].env)

    def dashboard_set(self, tenant_id: str, key: str, value: str) -> None:
        with self._lock:
            tenant = self.tenants[tenant_id]
            tenant.env[key] = value
            self._restart(tenant)

    def edit_before_next_write(self, tenant_id: str, key: str, value: str) -> None:
        with self._lock:
            self.tenants[tenant_id].pending_edits.append((key, value))

    def wait_for_restarts(self) -> None:
        for tenant in self.tenants.values():
            if tenant.restarter is not None:
                tenant.restarter.wait()

    def _restart(self, tenant: _Tenant) -> None:
        if tenant.restarter is not None:
            env = tenant.env
            tenant.restarter.restart(jwt_secret=env.get("HASURA_GRAPHQL_JWT_SECRET"),
                                     admin_secret=env.get("HASURA_GRAPHQL_ADMIN_SECRET"),
                                     unauthorized_role=env.get("HASURA_GRAPHQL_UNAUTHORIZED_ROLE"),
                                     env={k: v for k, v in env.items() if not k.startswith("HASURA_GRAPHQL_")})

    # -- HTTP -------------------------------------------------------------------------------------------------

    def _handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        if method != "POST" or path.rstrip("/") != "/v1/graphql" or not isinstance(body, dict):
            return 404, {"error": "not found"}
        query = str(body.get("query") or "")
        variables = body.get("variables") or {}
        match = _ROOT_FIELD.search(query)
        if match is None:
            return 200, _error("no operation this double knows", "validation-failed")
        name = match.group(1)
        root = "mutation_root" if query.lstrip().startswith("mutation") else "query_root"
        if headers.get("authorization") != f"pat {self.token}" or (name in _MUTATIONS) != (root == "mutation_root"):
            return 200, _error(f"field '{name}' not found in type: '{root}'", "validation-failed")
        with self._lock:
            self.requests[name] += 1
            return 200, getattr(self, f"_{name}")(variables)

    def _projects_by_pk(self, variables: dict[str, Any]) -> Any:
        tenant = next((t for t in self.tenants.values() if t.project_id == variables.get("id")), None)
        return _data("projects_by_pk", None if tenant is None else {"id": tenant.project_id,
                                                                    "tenant": {"id": tenant.id}})

    def _tenant_by_pk(self, variables: dict[str, Any]) -> Any:
        tenant = self.tenants.get(str(variables.get("id")))
        return _data("tenant_by_pk", None if tenant is None else {
            "id": tenant.id, "slug": tenant.slug, "project": {"id": tenant.project_id, "endpoint": tenant.endpoint}})

    def _getTenantEnv(self, variables: dict[str, Any]) -> Any:  # noqa: N802
        tenant = self.tenants.get(str(variables.get("tenantId")))
        if tenant is None:
            return _error("tenant not found", "not-exists")  # wording unverified
        return _data("getTenantEnv", tenant.answer())

    def _updateTenantEnv(self, variables: dict[str, Any]) -> Any:  # noqa: N802
        tenant, refused = self._writable(variables)
        if refused is not None:
            return refused
        envs = variables.get("envs")
        if not isinstance(envs, list) or any(not isinstance(e, dict) or set(e) != {"key", "value"} for e in envs):
            return _error("expected a list of {key, value} objects for envs", "validation-failed")
        if all(tenant.env.get(str(entry["key"])) == str(entry["value"]) for entry in envs):
            return _error("no change in the env vars", "validation-failed")  # wording unverified
        for entry in envs:
            tenant.env[str(entry["key"])] = str(entry["value"])
        self._restart(tenant)
        return _data("updateTenantEnv", tenant.answer())

    def _deleteTenantEnv(self, variables: dict[str, Any]) -> Any:  # noqa: N802
        tenant, refused = self._writable(variables)
        if refused is not None:
            return refused
        names = variables.get("deleteEnvs")
        if not isinstance(names, list) or any(not isinstance(name, str) for name in names):
            return _error("expected a list of strings for deleteEnvs", "validation-failed")  # wording unverified
        unknown = sorted(set(names) - tenant.env.keys())
        if not names or unknown:
            return _error(f"no such env vars: {unknown}", "validation-failed")  # wording unverified
        for name in names:
            del tenant.env[name]
        self._restart(tenant)
        return _data("deleteTenantEnv", tenant.answer())

    def _writable(self, variables: dict[str, Any]) -> tuple[Any, Any]:
        """The tenant a write names, after any console edit landing before it; or the refusal of the write."""
        tenant = self.tenants.get(str(variables.get("tenantId")))
        if tenant is None:
            return None, _error("tenant not found", "not-exists")  # wording unverified
        if tenant.pending_edits:  # someone saved in the console after the client read (one edit per write)
            key, value = tenant.pending_edits.pop(0)
            tenant.env[key] = value
            self._restart(tenant)
        if variables.get("currentHash") != tenant.hash:
            # wording unverified
            return tenant, _error("the env vars were changed since they were read (currentHash is stale); read them "
                                  "again", "conflict")
        return tenant, None

    def _createTenant(self, variables: dict[str, Any]) -> Any:  # noqa: N802
        # A new project gets an admin secret of its own (the console shows one for every project; how Cloud makes it:
        # unverified) besides the envs given.
        admin_secret = secrets.token_urlsafe(24)
        env = {"HASURA_GRAPHQL_ADMIN_SECRET": admin_secret,
               **{str(e["key"]): str(e["value"]) for e in variables.get("envs") or []}}
        hasura = self.new_project_hasura(admin_secret) if self.new_project_hasura is not None else None
        _, tenant_id = self.add_project(env, hasura=hasura,
                                        endpoint=None if hasura else "https://new-project.hasura.app/v1/graphql")
        return _data("createTenant", {"id": tenant_id, "name": self.tenants[tenant_id].slug})

    def _deleteTenant(self, variables: dict[str, Any]) -> Any:  # noqa: N802
        removed = self.tenants.pop(str(variables.get("tenantId")), None)
        if removed is not None and removed.restarter is not None:
            removed.restarter.wait()
            removed.restarter.hasura.stop()
        return _data("deleteTenant", {"status": "deleted" if removed else "not found"})


def _data(name: str, value: Any) -> dict[str, Any]:
    return {"data": {name: value}}


def _error(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"path": "$", "code": code}}]}
