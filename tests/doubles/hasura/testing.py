"""Helpers for tests that talk to the Hasura double: token minting (joserfc), a tiny JWKS server, and an
own-row `users` schema like the product's."""

from __future__ import annotations

import json
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

HASURA_NAMESPACE = "https://hasura.io/jwt/claims"

# One shared client: building an httpx.Client (its TLS context) costs ~0.1 s, more than a request to the double.
http = httpx.Client(timeout=10.0)

USERS_DDL = """
create table public.users (
  id serial primary key,
  clerk_user_id text not null unique,
  email text,
  secret_note text
);
insert into public.users (clerk_user_id, email, secret_note) values
  ('user_alice', 'alice@example.com', 'alice-secret'),
  ('user_bob', 'bob@example.com', 'bob-secret');
"""

OWN_ROW_FILTER = {"clerk_user_id": {"_eq": "X-Hasura-User-Id"}}


def users_metadata(database_url_env: str = "PG_DATABASE_URL") -> dict[str, Any]:
    """Metadata v3 with `users` tracked and `user`-role own-row permissions (select/update/insert)."""
    return {
        "version": 3,
        "sources": [
            {
                "name": "default",
                "kind": "postgres",
                "configuration": {"connection_info": {"database_url": {"from_env": database_url_env}}},
                "tables": [
                    {
                        "table": {"schema": "public", "name": "users"},
                        "select_permissions": [
                            {"role": "user", "permission": {"columns": ["id", "clerk_user_id", "email"],
                                                            "filter": OWN_ROW_FILTER}},
                        ],
                        "update_permissions": [
                            {"role": "user", "permission": {"columns": ["email"], "filter": OWN_ROW_FILTER,
                                                            "check": OWN_ROW_FILTER}},
                        ],
                        "insert_permissions": [
                            {"role": "user", "permission": {"check": {}, "columns": ["email"],
                                                            "set": {"clerk_user_id": "x-hasura-User-Id"}}},
                        ],
                    }
                ],
            }
        ],
    }  # fmt: skip


def hasura_token(
    key: Any,
    *,
    user_id: str = "user_alice",
    roles: list[str] | None = None,
    default_role: str = "user",
    lifetime: float = 60,
    alg: str = "HS256",
    namespace: str = HASURA_NAMESPACE,
    kid: str | None = None,
    **extra_claims: Any,
) -> str:
    """A signed JWT carrying Hasura claims under `namespace` (an HMAC secret string or a joserfc key)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "iat": now, "exp": now + lifetime}
    claims[namespace] = {
        "x-hasura-allowed-roles": roles or ["user"],
        "x-hasura-default-role": default_role,
        "x-hasura-user-id": user_id,
    }
    claims.update(extra_claims)
    return sign(key, claims, alg=alg, kid=kid)


def sign(key: Any, claims: dict[str, Any], *, alg: str = "HS256", kid: str | None = None) -> str:
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    if isinstance(key, str):
        key = OctKey.import_key(key.encode())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc flags "EdDSA" (RFC 9864); Hasura's jose still uses that name
        return jwt.encode(header, claims, key, algorithms=[alg])


def rsa_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


class JwksServer:
    """Serves `/.well-known/jwks.json` on 127.0.0.1 with switchable keys, headers and status.

    `statuses` lists the statuses of the next responses (then `status` applies), e.g. `[200]` + `status = 500` to
    let only the startup fetch succeed.
    """

    def __init__(self, keys: list[RSAKey], headers: dict[str, str] | None = None):
        self.keys = keys
        self.headers = headers or {}
        self.status = 200
        self.statuses: list[int] = []
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.fetches += 1
                body = json.dumps({"keys": [k.as_dict(private=False) for k in outer.keys]}).encode()
                self.send_response(outer.statuses.pop(0) if outer.statuses else outer.status)
                for name, value in outer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "JwksServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
