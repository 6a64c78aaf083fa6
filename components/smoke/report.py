"""What a smoke check found: one `CheckResult` per check and the `SmokeReport` that renders them.

Pure: no Pulumi, no I/O. Every detail reaching a `CheckResult` has already been scrubbed of secrets
(`components.smoke.run_state.Scrubber`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """One line of the report. `passed` is None when the check was skipped; `detail` then says why."""

    name: str
    passed: bool | None
    detail: str
    ms: int

    @property
    def skipped(self) -> bool:
        return self.passed is None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "skipped": self.skipped, "detail": self.detail,
                "ms": self.ms}


@dataclass(frozen=True)
class SmokeReport:
    """What the smoke check found, in check order: when it ran, against what, how, and each check's result."""

    hasura_url: str
    ran_at: str
    """When the run started, UTC, ISO 8601 (e.g. `2026-11-27T04:47:04+00:00`)."""
    mode: str
    """`seeded` (test rows written and removed, `smoke.writes` true) or `read-only` (nothing written)."""
    token_source: str
    """The source `smoke.tokenSource` asked for (`auto`, `clerk`, `signing-key`, `env`, `none`)."""
    token_source_used: str
    """The source that ran and what it gave, e.g. `clerk: Clerk template 'hasura', test user user_…`."""
    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed is not False for check in self.checks)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if check.passed is False)

    def to_list(self) -> list[dict[str, Any]]:
        return [check.to_dict() for check in self.checks]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "ranAt": self.ran_at, "mode": self.mode, "tokenSource": self.token_source,
                "tokenSourceUsed": self.token_source_used, "hasuraUrl": self.hasura_url, "checks": self.to_list()}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> SmokeReport:
        """The report `to_dict` gave, as it comes back from Pulumi state (which drops null values)."""
        checks = tuple(CheckResult(c["name"], c.get("passed"), c.get("detail", ""), int(c.get("ms", 0)))
                       for c in value.get("checks") or [])
        return cls(value.get("hasuraUrl", ""), value.get("ranAt", ""), value.get("mode", ""),
                   value.get("tokenSource", ""), value.get("tokenSourceUsed", ""), checks)

    def render(self) -> str:
        counts = {status: sum(1 for c in self.checks if c.passed is value)
                  for status, value in (("passed", True), ("failed", False), ("skipped", None))}
        heading = (f"Smoke check of {self.hasura_url} at {self.ran_at} ({self.mode}; token source "
                   f"{self.token_source}, used {self.token_source_used}): "
                   + ", ".join(f"{n} {status}" for status, n in counts.items() if n))
        width = max((len(c.name) for c in self.checks), default=0)
        lines = [heading]
        for check in self.checks:
            status = {True: "PASS", False: "FAIL", None: "SKIP"}[check.passed]
            lines.append(f"  {status}  {check.name:<{width}}  {check.ms:>6} ms  {check.detail}")
        return "\n".join(lines)
