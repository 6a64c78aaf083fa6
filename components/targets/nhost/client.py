"""A plain client for Nhost's control plane, as the nhost CLI uses it: a personal access token exchanged for a session
(`POST <auth>/signin/pat {"personalAccessToken"}` -> `{"session": {"accessToken"}}`), then GraphQL with
`Authorization: Bearer <accessToken>`: the apps the account sees (`GetOrganizationsAndWorkspacesApps`), a project's
configuration as one JSON document (`configRawJSON(appID, resolve: false)`, what `nhost config pull` reads;
`replaceConfigRawJSON(appID, rawJSON)`, what `nhost config apply` writes) and its admin secret
(`app(id) { config(resolve: true) { hasura { adminSecret } } }`, the CLI's GetHasuraAdminSecret).

Pure: no Pulumi here. The token and the session are only ever sent as request data and headers: never in a message
or `repr`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from components.targets.shared.hosted import API_TIMEOUT_SECONDS, PlatformError, first_error, post_graphql

TOKEN_SETTING = "nhostToken"
#: The variable CI sets the token with (`components.targets.SECRET_ENV_VARS`).
TOKEN_ENV = "CLERK_HASURA_NHOST_TOKEN"
_SET_TOKEN = (f"`clerk-hasura pulumi --stack <stack> config set --secret {TOKEN_SETTING}` (it asks for the value), or "
              f"{TOKEN_ENV} in CI")

_APPS = ("query GetOrganizationsAndWorkspacesApps { organizations { name apps { ...AppSummaryFragment } } "
         "workspaces { name apps { ...AppSummaryFragment } } } "
         "fragment AppSummaryFragment on apps { id name subdomain region { name } }")
_GET_CONFIG = "query GetConfigRawJSON($appID: uuid!) { configRawJSON(appID: $appID, resolve: false) }"
_REPLACE_CONFIG = ("mutation ReplaceConfigRawJSON($appID: uuid!, $rawJSON: String!) { "
                   "replaceConfigRawJSON(appID: $appID, rawJSON: $rawJSON) }")
_ADMIN_SECRET = ("query GetHasuraAdminSecret($appID: uuid!) { app(id: $appID) { config(resolve: true) { "
                 "hasura { version adminSecret } } } }")


class NhostTokenRefused(PlatformError):
    """Nhost did not accept the personal access token."""


@dataclass(frozen=True)
class NhostApp:
    id: str
    subdomain: str
    region: str


class NhostClient:
    """Nhost's control plane with one personal access token. Use as a context manager."""

    def __init__(self, token: str, auth_url: str, api_url: str, *, timeout: float = API_TIMEOUT_SECONDS):
        self.auth_url, self.api_url = auth_url, api_url
        self._token = token
        self._access_token: str | None = None
        self._http = httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"NhostClient({self.api_url!r})"

    def __enter__(self) -> NhostClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    def find_app(self, subdomain: str, region: str) -> NhostApp:
        data = self._data(_APPS, {}, "GetOrganizationsAndWorkspacesApps")
        apps = [app for group in (data.get("organizations") or []) + (data.get("workspaces") or [])
                for app in (group.get("apps") or [])]
        for app in apps:
            if app.get("subdomain") == subdomain:
                found = NhostApp(str(app["id"]), subdomain, str((app.get("region") or {}).get("name") or ""))
                if found.region != region:
                    raise PlatformError(f"nhost.region: project {subdomain} is in region {found.region}, not "
                                        f"{region}. Fix: `clerk-hasura pulumi --stack <stack> config set --path "
                                        f"nhost.region {found.region}`")
                return found
        raise PlatformError(f"nhost.subdomain: no project with subdomain {subdomain} is visible to this token "
                            f"({len(apps)} project(s) are). Fix: copy the subdomain from the Nhost dashboard (Project "
                            "settings), or use a token of an account that is a member of that project "
                            f"({TOKEN_SETTING})")

    def config_raw(self, app_id: str) -> str:
        raw = self._data(_GET_CONFIG, {"appID": app_id}, "configRawJSON").get("configRawJSON")
        if not isinstance(raw, str):
            raise PlatformError(f"Nhost configRawJSON of app {app_id} answered no configuration")
        return raw

    def replace_config_raw(self, app_id: str, raw: str) -> None:
        self._data(_REPLACE_CONFIG, {"appID": app_id, "rawJSON": raw}, "replaceConfigRawJSON")

    def admin_secret(self, app_id: str) -> str:
        app = self._data(_ADMIN_SECRET, {"appID": app_id}, "GetHasuraAdminSecret").get("app") or {}
        secret = ((app.get("config") or {}).get("hasura") or {}).get("adminSecret")
        if not isinstance(secret, str) or not secret:
            raise PlatformError(f"Nhost app {app_id} has no Hasura admin secret in its configuration "
                                "(hasura.adminSecret). Fix: set it in the Nhost dashboard (Settings, Hasura)")
        return secret

    def _session(self) -> str:
        if self._access_token is None:
            url = f"{self.auth_url}/signin/pat"
            try:
                response = self._http.post(url, json={"personalAccessToken": self._token})
            except httpx.HTTPError as error:
                raise PlatformError(f"nhost.authUrl: {url} did not answer ({type(error).__name__}). Fix: check the "
                                    "network, or remove nhost.authUrl for Nhost's own") from None
            if response.status_code >= 500:
                raise PlatformError(f"nhost.authUrl: {url} answered HTTP {response.status_code}, a failure on Nhost's "
                                    "side. Fix: run the deploy again in a few minutes; if it keeps failing, look at "
                                    "Nhost's status page")
            if response.status_code != 200:
                raise NhostTokenRefused(
                    f"{TOKEN_SETTING}: Nhost refused the personal access token (HTTP {response.status_code}). Fix: "
                    "make one in the Nhost dashboard (Account, Personal Access Tokens) and store it: "
                    f"{_SET_TOKEN}")
            try:
                self._access_token = str(response.json()["session"]["accessToken"])
            except (ValueError, KeyError, TypeError):
                raise PlatformError(f"nhost.authUrl: {url} answered without a session") from None
        return self._access_token

    def _data(self, query: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        body = post_graphql(self._http, self.api_url, query, variables,
                            headers={"Authorization": f"Bearer {self._session()}"}, what=f"Nhost {what}")
        error = first_error(body)
        if error is not None:
            if body.get("status") in (401, 403):
                raise NhostTokenRefused(
                    f"{TOKEN_SETTING}: Nhost refused the session of the personal access token ({what}: {error}). "
                    "Fix: make a token with an account that is a member of the project's organization or workspace "
                    f"(Nhost dashboard: Account, Personal Access Tokens) and store it: {_SET_TOKEN}")
            raise PlatformError(
                f"Nhost {what} failed: {error}. Fix: if it says the token may not do this, use a token of an account "
                f"that may change the project's settings: {_SET_TOKEN}; otherwise run the deploy again")
        data = body.get("data")
        if not isinstance(data, dict):
            raise PlatformError(f"Nhost {what} answered without data (HTTP {body.get('status')})")
        return data
