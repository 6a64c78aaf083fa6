"""`clerk-hasura export`: write a stack's live Hasura metadata into its project (`metadata/` by
default).

A change made in the console of a running stack becomes a reviewable diff of the files it touched, each written
byte for byte as `hasura metadata export` writes it (`components.hasura.export`, which names the one exception);
files whose content is unchanged keep their bytes and comments, so an export right after a deploy changes nothing. Migrations are not touched (`hasura migrate create --from-server`
makes one from the database).

Where Hasura is, its admin secret and the project written into (the stack's `metadataDir`) come from the stack
outputs piped on stdin or read with `--stack`, or `--hasura-url`, the environment and `--project-dir` (default
`metadata/`), as for the drift command; the secret is never a flag and never printed. Exit codes: 0 exported
(changed or not), 2 could not export.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.cli.stack import ENV_ADMIN_SECRET, add_hasura_arguments, hasura_endpoint, stack_outputs, \
    stack_project_dir
from components.errors import ClerkHasuraError
from components.hasura.client import HasuraClient
from components.hasura.export import ExportReport, metadata_directory, render_metadata_files, write_metadata_files

EXIT_EXPORTED, EXIT_COULD_NOT_EXPORT = 0, 2


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "export", help="write the live Hasura metadata into the stack's project (as `hasura metadata export`)",
        description="Write the live metadata of a stack's Hasura into its project (its metadataDir, in the Hasura "
                    "CLI's file layout). "
                    f"The admin secret comes from {ENV_ADMIN_SECRET} or from the stack outputs (--stack, or "
                    "`clerk-hasura outputs <stack> --show-secrets` piped into stdin). Exit 0 exported, 2 could not "
                    "export.",
    )
    add_hasura_arguments(parser, project_dir_help=(
        "the Hasura CLI project to write into (default: the stack output metadataDir, relative to this repository; "
        "with no stack outputs, this repository's metadata/)"))
    parser.set_defaults(run=run)


def render_report(url: str, metadata_dir: Path, report: ExportReport) -> str:
    if not report.changed and not report.removed:
        return (f"Exported the metadata of Hasura at {url} into {metadata_dir}: no file changed "
                f"({len(report.unchanged)} files already say what is live)")
    lines = [f"Exported the metadata of Hasura at {url} into {metadata_dir}:"]
    lines += [f"  changed  {path}" for path in report.changed]
    lines += [f"  removed  {path}" for path in report.removed]
    lines.append(f"  {len(report.unchanged)} files unchanged. Review with `git diff -- {metadata_dir}`")
    return "\n".join(lines)


def run(args: argparse.Namespace, stdin: Any, environ: Mapping[str, str]) -> int:
    secret = None
    try:
        outputs = stack_outputs(args.stack, stdin, environ)
        endpoint = hasura_endpoint(args.hasura_url, outputs, environ)
        secret = endpoint.admin_secret
        metadata_dir = metadata_directory(stack_project_dir(args.project_dir, outputs))
        with HasuraClient(endpoint.url, endpoint.admin_secret, retry_seconds=args.wait) as client:
            files = render_metadata_files(client.export_metadata().metadata)
        report = write_metadata_files(metadata_dir, files)
    except ClerkHasuraError as error:
        message = str(error).replace(secret, "[secret]") if secret else str(error)
        print(f"export could not run: {message}", file=sys.stderr)
        return EXIT_COULD_NOT_EXPORT
    except OSError as error:
        print(f"export could not write the files ({error}); files written before it are in place. Fix: make the "
              "project folder writable and export again", file=sys.stderr)
        return EXIT_COULD_NOT_EXPORT
    print(render_report(endpoint.url, metadata_dir, report))
    return EXIT_EXPORTED
