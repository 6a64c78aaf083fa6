"""`clerk-hasura drift`: does the live Hasura still match the stack's Hasura CLI project (its
`metadataDir`, `metadata/` by default) and the stack's auth settings?

Made for a scheduled CI job without the pulumi CLI. The project is loaded and validated as the deploy does, with
the platform schemas of the stack's `target` (on nhost, `auth` and `storage` are tracked without a migration
creating them); both come from the stack outputs `metadataDir` and `target`, or `--project-dir` and `--target`.
Checks, in order:

- metadata: the live export, normalized, against the project (semantic diff naming source, table, role,
  permission and column);
- consistency: `reload_metadata` with sources (so DDL done outside Hasura shows, hasura.md §1.6), then the
  inconsistent objects;
- migrations: every migration of the project recorded live, none recorded live that is unknown here, as
  `hasura migrate status` counts them (a migration rolled back with the Hasura CLI is not applied);
- auth: what can be seen (hasura.md §1.11, §4.5): JWT mode is on and no auth webhook is set (admin
  `/v1alpha1/config`, when that API is enabled), an anonymous request is refused as JWT mode refuses it, a
  token signed by a throwaway key is refused, and, when the expected issuer is known, that Hasura checks
  exactly that issuer.

Exit codes: 0 in sync, 1 drift (each difference printed), 2 the check could not run (unreachable, wrong
admin secret, invalid project, missing or wrong stack outputs). Secrets come from the environment or from
`pulumi stack output --json --show-secrets` (`--stack`, or on stdin), never from flags, and are never printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.errors import ClerkHasuraError
from components.hasura.client import HasuraApiError, HasuraClient, describe_inconsistent_objects
from components.hasura.compare import diff_metadata, normalize_metadata
from components.hasura.project import load_project
from components.hasura.model import MetadataProject, Migration
from components.hasura.migration_state import MIGRATIONS_TABLE, dirty_resolution, read_cli_state, \
    read_source_records
from components.smoke.tokens import forge
from components.cli.stack import ENV_ADMIN_SECRET, add_hasura_arguments, hasura_endpoint, shown_folder, \
    stack_outputs, stack_project_dir, stack_target
from components.targets import TARGET_NAMES, platform_schemas

EXIT_IN_SYNC, EXIT_DRIFT, EXIT_COULD_NOT_CHECK = 0, 1, 2

#: What repairs drift. A plain `pulumi up` compares the program with the state saved at the last deploy, which
#: still shows the old live metadata, so it reports no change; the refresh reads what is live first.
REPAIR = "re-apply with `scripts/deploy <stack>` (it refreshes before it updates; an update without the refresh " \
         "would report no changes)"
#: The JWT secret is Hasura's start-up setting: who sets it depends on the target.
RESTORE_JWT_SECRET = "`scripts/deploy <stack>` (pulumi up --refresh) restores it on the docker, kubernetes, " \
                     "hasura-cloud and nhost targets (the Hasura, the Cloud project's env var, the Nhost project's " \
                     "hasura.jwtSecrets); on an existing Hasura, set HASURA_GRAPHQL_JWT_SECRET where it runs to the " \
                     "stack output `jwtSecret`"

_PROBE_QUERY = "query DriftProbe { __typename }"
_UNTRUSTED_ISSUER = "https://clerk-hasura-drift-check.invalid"


@dataclass(frozen=True)
class DriftTarget:
    hasura_url: str
    admin_secret: str
    issuer: str | None = None
    jwks_url: str | None = None


@dataclass(frozen=True)
class StackProject:
    """The Hasura CLI project the stack deploys, loaded and validated for the stack's target."""

    folder: str
    """As printed: `metadata/`, or the stack's metadataDir (`shown_folder`)."""
    target: str
    project: MetadataProject


def load_stack_project(project_dir_flag: str | None, target_flag: str | None,
                       outputs: dict[str, Any]) -> StackProject:
    """The project the stack deploys (`--project-dir`, else its `metadataDir`), validated as the deploy validates it:
    with the platform schemas of its target (`--target`, else its `target` output)."""
    target = stack_target(target_flag, outputs)
    directory = stack_project_dir(project_dir_flag, outputs)
    return StackProject(shown_folder(directory), target,
                        load_project(directory, platform_schemas=platform_schemas(target)))


@dataclass
class Section:
    """One area of the check: its drift items (empty = in sync) and what was observed."""

    name: str
    drift: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class DriftReport:
    target: str
    folder: str
    """The project compared with, as printed (`StackProject.folder`)."""
    stack_target: str
    sections: list[Section]

    @property
    def in_sync(self) -> bool:
        return not any(section.drift for section in self.sections)

    def render(self) -> str:
        lines = [f"Drift check of Hasura at {self.target} against {self.folder} (target {self.stack_target}):"]
        for section in self.sections:
            status = "in sync" if not section.drift else f"DRIFT ({len(section.drift)})"
            lines.append(f"  {section.name:<12} {status}" + (f" - {'; '.join(section.notes)}" if section.notes
                                                              else ""))
            lines += [f"      - {item}" for item in section.drift]
        lines.append("Result: in sync" if self.in_sync else
                     f"Result: DRIFT. Fix: {REPAIR} ({self.folder} is the source of truth), or, if the live change "
                     f"was intended, bring it into {self.folder} (`clerk-hasura export`) and deploy "
                     "that")
        return "\n".join(lines)


def check_drift(client: HasuraClient, stack: StackProject, target: DriftTarget) -> DriftReport:
    """Run every check against `client`; raises `ClerkHasuraError` only when Hasura cannot be checked at all."""
    client.healthz()
    return DriftReport(client.url, stack.folder, stack.target, [
        _metadata_section(client, stack.project),
        _consistency_section(client),
        _migrations_section(client, stack),
        _auth_section(client, target),
    ])


def _metadata_section(client: HasuraClient, project: MetadataProject) -> Section:
    # As the deploy compares: what it would write over, session-variable case and column order included.
    live = normalize_metadata(client.export_metadata().metadata, as_stored=True)
    changes = diff_metadata(normalize_metadata(project.metadata, as_stored=True), live)
    return Section("metadata", [str(change) for change in changes])


def _consistency_section(client: HasuraClient) -> Section:
    inconsistent = client.reload_metadata(reload_sources=True)
    return Section("consistency", [f"inconsistent live: {line}" for line in describe_inconsistent_objects(inconsistent)],
                   ["reloaded with sources"])


def _migrations_section(client: HasuraClient, stack: StackProject) -> Section:
    """What `hasura migrate status` would show against the project's migrations: the one record
    (`components.hasura.migration_state`), so a migration rolled back with the Hasura CLI is not applied."""
    project, migrations = stack.project, f"{stack.folder}migrations"
    section = Section("migrations")
    cli_state = read_cli_state(client)
    for source in sorted({m.source for m in project.migrations} | {"default"}):
        records = read_source_records(client, source, cli_state)
        applied = records.applied()
        recorded = {m.version for m in applied}
        stale = set(records.stale())
        local = {m.version: m for m in project.migrations if m.source == source}
        section.drift += [_not_applied(source, m, migrations, rolled_back=v in stale)
                          for v, m in sorted(local.items()) if v not in recorded]
        section.drift += [f"migration {source}/{m.version} is recorded live but not in {migrations}/{source}"
                          for m in applied if m.version not in local]
        section.drift += [f"migration {source}/{m.version} {dirty_resolution(source, m)}" for m in applied if m.dirty]
        section.notes.append(f"{source}: {len(recorded & set(local))}/{len(local)} applied")
    return section


def _not_applied(source: str, migration: Migration, migrations: str, *, rolled_back: bool) -> str:
    where = f"migration {source}/{migration.label} is not applied live"
    if not rolled_back:
        return where
    return (f"{where}: Hasura's catalog state, the record the Hasura CLI keeps, does not have it (rolled back with "
            "`hasura migrate apply --type down` or removed with `hasura migrate delete --server`; "
            f"{MIGRATIONS_TABLE} still has the row of its earlier run). Fix: {REPAIR}, which runs it again, or, "
            f"to keep it rolled back, remove it from {migrations}/{source} too")


def _auth_section(client: HasuraClient, target: DriftTarget) -> Section:
    section = Section("auth")
    jwt_off = "JWT mode is off{how}, so Clerk tokens are not accepted. Fix: " + RESTORE_JWT_SECRET
    try:
        config = client.server_config()
    except HasuraApiError as error:
        section.notes.append(f"config API not available ({error.code})")
    else:
        if not config.get("is_jwt_set"):
            section.drift.append(jwt_off.format(how=" (GET /v1alpha1/config: is_jwt_set false)"))
        if config.get("is_auth_hook_set"):
            section.drift.append("an auth webhook is configured (HASURA_GRAPHQL_AUTH_HOOK); this stack authenticates "
                                 "with Clerk JWTs only. Fix: remove HASURA_GRAPHQL_AUTH_HOOK; " + RESTORE_JWT_SECRET)
    code, message, data = _probe(client, None)
    if data is not None:
        section.notes.append("anonymous requests run as the unauthorized role")
    elif code == "invalid-headers":
        section.notes.append("JWT mode on")
    elif code == "access-denied" and "admin-secret" in message:
        if not any(item.startswith("JWT mode is off") for item in section.drift):
            section.drift.append(jwt_off.format(how=f": an anonymous request was answered {message!r} "
                                                    "(admin-secret-only mode)"))
    else:
        section.notes.append(f"anonymous request answered {code}: {message}")

    now = time.time()
    code, message, data = _probe(client, forge(None, issuer=target.issuer, now=now))
    if data is not None:
        section.drift.append("a token signed by an unknown key was ACCEPTED: Hasura does not verify JWT signatures "
                             "against the Clerk keys. Fix: " + RESTORE_JWT_SECRET)
    elif code == "invalid-jwt" and "JWTNotInIssuer" in message and target.issuer:
        section.drift.append(f"Hasura does not trust the expected issuer {target.issuer}: {message}. Fix: "
                             + RESTORE_JWT_SECRET + ", or correct the expected issuer")
    elif code == "invalid-jwt":
        section.notes.append("forged token refused")
    elif code == "access-denied" and "admin-secret" in message:
        pass  # already reported: JWT mode is off
    else:
        section.drift.append(f"a forged token was answered {code}: {message} instead of invalid-jwt")

    if target.issuer:
        code, message, _ = _probe(client, forge(None, issuer=_UNTRUSTED_ISSUER, now=now))
        if code == "invalid-jwt" and "JWTNotInIssuer" in message:
            section.notes.append(f"issuer checked ({target.issuer})")
        elif code == "invalid-jwt":
            section.drift.append(f"Hasura does not check the token issuer (expected {target.issuer}); a token from "
                                 f"another issuer got {message!r}. Fix: restore the JWT secret's issuer: "
                                 + RESTORE_JWT_SECRET)
    if target.jwks_url:
        section.notes.append(f"jwk_url ({target.jwks_url}) is not visible through Hasura's API; checked only "
                             "through the refusals above")
    return section


def _probe(client: HasuraClient, token: str | None) -> tuple[str | None, str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = client.graphql(_PROBE_QUERY, headers=headers, as_admin=False)
    errors = body.get("errors") or []
    if errors:
        first = errors[0]
        return (first.get("extensions") or {}).get("code"), str(first.get("message", "")), None
    return None, "", body.get("data")


# Command line -----------------------------------------------------------------------------------------------


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "drift", help="compare the live Hasura with the stack's project and auth settings",
        description="Compare the live Hasura with the stack's Hasura CLI project (its metadataDir) and its auth "
                    "settings. Exit 0 in sync, 1 drift, 2 could not check. The admin secret, the project and the "
                    "target come from the stack outputs (--stack, or `clerk-hasura outputs <stack> --show-secrets` "
                    "piped into stdin; the "
                    f"admin secret also from {ENV_ADMIN_SECRET}).",
    )
    add_hasura_arguments(parser, project_dir_help=(
        "the Hasura CLI project to compare with (default: the stack output metadataDir, relative to this "
        "repository; with no stack outputs, this repository's metadata/)"))
    parser.add_argument("--target", choices=TARGET_NAMES,
                        help="the stack's target, whose platform schemas the project may track without a migration "
                             "(default: stack output target)")
    parser.add_argument("--issuer", help="the issuer Hasura must trust (default: stack output issuer)")
    parser.add_argument("--jwks-url", help="the JWKS URL the stack configured (default: stack output jwksUrl)")
    parser.set_defaults(run=run)


def target_from_command_line(args: argparse.Namespace, outputs: dict[str, Any],
                             environ: Mapping[str, str]) -> DriftTarget:
    endpoint = hasura_endpoint(args.hasura_url, outputs, environ)
    return DriftTarget(
        hasura_url=endpoint.url,
        admin_secret=endpoint.admin_secret,
        issuer=args.issuer or outputs.get("issuer"),
        jwks_url=args.jwks_url or outputs.get("jwksUrl"),
    )


def run(args: argparse.Namespace, stdin: Any, environ: Mapping[str, str]) -> int:
    target: DriftTarget | None = None
    try:
        outputs = stack_outputs(args.stack, stdin, environ)
        target = target_from_command_line(args, outputs, environ)
        stack = load_stack_project(args.project_dir, args.target, outputs)
        with HasuraClient(target.hasura_url, target.admin_secret, retry_seconds=args.wait) as client:
            report = check_drift(client, stack, target)
    except ClerkHasuraError as error:
        secrets = [environ.get(ENV_ADMIN_SECRET), target.admin_secret if target else None]
        print(f"drift check could not run: {_scrub(str(error), secrets)}", file=sys.stderr)
        return EXIT_COULD_NOT_CHECK
    print(_scrub(report.render(), [target.admin_secret]))
    return EXIT_IN_SYNC if report.in_sync else EXIT_DRIFT


def _scrub(text: str, secrets: list[str | None]) -> str:
    for secret in filter(None, secrets):
        text = text.replace(secret, "[secret]")
    return text
