"""A Hasura CLI project as data: its metadata document and migrations (`MetadataProject`), and the hash a deploy's
state records of them.

The bottom of `components.hasura`: reading (`project`), checking (`rules`) and the SQL text (`ddl`) all take these
types, and this module imports none of them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Migration:
    """One `migrations/<source>/<version>_<name>/up.sql`."""

    source: str
    version: int
    name: str
    up_sql: str
    """The SQL the deploy runs: the file without its `\\restrict` / `\\unrestrict` lines (`without_restrict_lines`)."""
    removed_lines: tuple[str, ...] = ()
    """The psql meta-command lines left out of `up_sql`, as the file has them."""

    @property
    def label(self) -> str:
        return f"{self.version}_{self.name}"

    @property
    def path(self) -> str:
        return f"migrations/{self.source}/{self.label}/up.sql"


@dataclass(frozen=True)
class MetadataProject:
    """The desired state: the metadata document and the migrations, in apply order."""

    metadata: dict[str, Any]
    migrations: tuple[Migration, ...] = ()
    directory: str = "metadata"

    def to_inputs(self) -> dict[str, Any]:
        """Plain JSON-able data (for Pulumi resource inputs); `removed_lines` only where there are some, so the
        inputs of every other migration stay as they were."""
        return {"metadata": self.metadata,
                "migrations": [{"source": m.source, "version": str(m.version), "name": m.name, "up_sql": m.up_sql,
                                **({"removed_lines": list(m.removed_lines)} if m.removed_lines else {})}
                               for m in self.migrations]}

    @classmethod
    def from_inputs(cls, metadata: dict[str, Any], migrations: list[dict[str, Any]],
                    directory: str = "metadata") -> MetadataProject:
        return cls(metadata=metadata, directory=directory, migrations=tuple(
            Migration(source=m["source"], version=int(m["version"]), name=m["name"], up_sql=m["up_sql"],
                      removed_lines=tuple(m.get("removed_lines") or ()))
            for m in migrations))


def content_hash(metadata: dict[str, Any], migrations: tuple[Migration, ...] | list[Migration]) -> str:
    """sha256 of a metadata document and migrations (pass normalized metadata to hash only what Hasura sees)."""
    payload = json.dumps({"metadata": metadata, "migrations": [[m.source, m.version, m.name, m.up_sql]
                                                               for m in migrations]}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()
