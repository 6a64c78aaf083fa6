"""The state of one smoke-check run: its target, clock and deadline, the user token, the results so far, and
the scrubber every text passes before it leaves the run (secrets, tokens).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from components.errors import ClerkHasuraError
from components.smoke.report import CheckResult
from components.smoke.target import SmokeTarget

log = logging.getLogger(__name__)


class Scrubber:
    """Removes every secret seen during the run from any text that leaves it."""

    def __init__(self, values: list[str]):
        self._values: list[str] = []
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        if value and len(value) >= 8 and value not in self._values:
            self._values.append(value)
            self._values.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "[redacted]")
        return text


@dataclass
class UserToken:
    token: str = field(repr=False)
    user_id: str
    description: str
    own_row_is_ours: bool
    """True when the user is the smoke check's own (Clerk test user, signing-key user): a seeded run always removes
    its row."""
    cleanup: Callable[[], str] | None = None


class SmokeRun:
    """The state one run shares between the token source, the checks and the runner."""

    def __init__(self, target: SmokeTarget, environ: Mapping[str, str], clock: Callable[[], float]):
        self.target = target
        self.environ = environ
        self.clock = clock
        self.deadline = time.monotonic() + target.timeout_seconds
        self.scrub = Scrubber(target.secrets())
        self.results: dict[str, CheckResult] = {}
        self.user: UserToken | None = None
        self.other_user_id: str | None = (f"user_clerk_hasura_smoke_other_{secrets.token_hex(6)}" if target.writes
                                          else None)
        """Another user's id to prove isolation with: made up and seeded, or (read-only) sampled from the table,
        never reported; None when the table holds no other user's row."""
        self.seeded: list[str] = []
        self.own_row_exists: bool | None = None
        """Read-only mode: whether the table holds a row for the user (the admin saw it)."""
        self.jwks_has_kid = False

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def record(self, name: str, passed: bool | None, detail: str, started: float) -> None:
        ms = int((time.perf_counter() - started) * 1000)
        self.results[name] = CheckResult(name, passed, self.scrub(detail), ms)
        log.info("smoke check %s: %s", name, {True: "passed", False: "FAILED", None: "skipped"}[passed])

    def skip(self, name: str, why: str) -> None:
        self.record(name, None, why, time.perf_counter())

    def run_check(self, name: str, check: Callable[[], tuple[bool | None, str]]) -> None:
        started = time.perf_counter()
        try:
            passed, detail = check()
        except ClerkHasuraError as error:
            passed, detail = False, str(error)
        except Exception as error:  # a check must report, not crash the deploy with a traceback
            passed, detail = False, f"unexpected {type(error).__name__}: {error}"
        self.record(name, passed, detail, started)
