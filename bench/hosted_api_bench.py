"""Platform API requests (and milliseconds) of what the hosted targets do, against the Hasura Cloud and Nhost doubles.

    .venv/bin/python bench/hosted_api_bench.py

For each platform: the preflight (what `pulumi preview` adds), the first write of the JWT secret, a no-op
deploy's check, a write with a dashboard save landing between read and write, and a refresh (`read()`). No Hasura is
attached, so no restart is waited for: the numbers are the API traffic alone.
Targets: the no-op makes zero writes; a concurrent save costs one extra round, never a lost edit.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.targets import load_settings  # noqa: E402
from components.targets import hasura_cloud  # noqa: E402
from components.targets.hasura_cloud.client import HasuraCloudClient  # noqa: E402
from components.targets.hasura_cloud.env_vars import apply_env  # noqa: E402
from components.targets.nhost.client import NhostClient  # noqa: E402
from components.targets.nhost.jwt_secrets import apply_jwt_secrets, jwt_secrets_of  # noqa: E402
from tests.doubles.hasura_cloud import HasuraCloudDouble  # noqa: E402
from tests.doubles.nhost import NhostDouble  # noqa: E402

JWT_SECRET = ('{"allowed_skew":5,"claims_namespace":"https://hasura.io/jwt/claims",'
              '"issuer":"https://x.clerk.accounts.dev"}')
ENTRY = {"jwk_url": "https://x.clerk.accounts.dev/.well-known/jwks.json", "issuer": "https://x.clerk.accounts.dev"}


def measure(label: str, requests: Counter, action) -> None:
    before = Counter(requests)
    started = time.perf_counter()
    action()
    elapsed = (time.perf_counter() - started) * 1000
    made = requests - before
    writes = sum(n for op, n in made.items() if op in ("updateTenantEnv", "ReplaceConfigRawJSON"))  # refused ones too
    print(f"  {label:<34} {sum(made.values()):>3} requests {writes:>2} writes {elapsed:>7.1f} ms  "
          f"({', '.join(f'{op} {n}' for op, n in sorted(made.items()))})")


def cloud() -> None:
    double = HasuraCloudDouble(restart_seconds=0).start()
    try:
        project_id, tenant_id = double.add_project({"PG_DATABASE_URL": "postgres://u:p@db/app"},
                                                   endpoint="https://app.hasura.app/v1/graphql")
        settings = load_settings({"target": "hasura-cloud", "clerk": {"frontendApi": "x.clerk.accounts.dev"},
                                  "hasuraCloud": {"projectId": project_id, "apiUrl": double.url},
                                  "hasuraCloudToken": double.token}, environ={})
        wanted = {"HASURA_GRAPHQL_JWT_SECRET": JWT_SECRET}
        print("Hasura Cloud")
        measure("preflight", double.requests, lambda: hasura_cloud.preflight(settings, {}))
        with HasuraCloudClient(double.token, double.url) as client:
            measure("first write of the JWT secret", double.requests, lambda: apply_env(client, tenant_id, wanted))
            measure("no-op", double.requests, lambda: apply_env(client, tenant_id, wanted))
            double.edit_before_next_write(tenant_id, "OTHER", "1")
            measure("write with a console save between", double.requests,
                    lambda: apply_env(client, tenant_id, {"HASURA_GRAPHQL_JWT_SECRET": JWT_SECRET + " "}))
            measure("refresh (read)", double.requests, lambda: client.get_env(tenant_id))
    finally:
        double.stop()


def nhost() -> None:
    double = NhostDouble(restart_seconds=0).start()
    try:
        app_id = double.add_app("abcdefghijklmnopqrst", "eu-central-1",
                                secrets={"HASURA_GRAPHQL_ADMIN_SECRET": "a" * 32})
        print("Nhost (each client signs in once: signin/pat)")

        def preflight() -> None:  # the API part of components.targets.nhost.preflight (no Hasura attached here)
            with NhostClient(double.token, double.auth_url, double.api_url) as client:
                app = client.find_app("abcdefghijklmnopqrst", "eu-central-1")
                client.config_raw(app.id)
                client.admin_secret(app.id)

        measure("preflight (API part)", double.requests, preflight)
        with NhostClient(double.token, double.auth_url, double.api_url) as client:
            measure("first write of the JWT secret", double.requests,
                    lambda: apply_jwt_secrets(client, app_id, lambda _: [ENTRY]))
            measure("no-op", double.requests, lambda: apply_jwt_secrets(client, app_id, lambda _: [ENTRY]))
            double.edit_after_reads(app_id, 1, ("hasura", "settings", "devMode"), False)
            measure("write with a dashboard save between", double.requests,
                    lambda: apply_jwt_secrets(client, app_id, lambda _: [{**ENTRY, "allowed_skew": 10}]))
            measure("refresh (read)", double.requests,
                    lambda: jwt_secrets_of(__import__("json").loads(client.config_raw(app_id))))
    finally:
        double.stop()


if __name__ == "__main__":
    cloud()
    nhost()
