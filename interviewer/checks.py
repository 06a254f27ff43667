"""The one result type of a readiness check (`interviewer doctor`).

It lives below the adapters so each engine package can write its own doctor section
(`audio/checks.py`, `asr/checks.py`, …) without importing the command layer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CheckResult:
    """One line of the doctor's report.

    `ok` is True (passed), False (failed) or None (not applicable / skipped). A failed check with
    `required=False` is a warning and does not change the exit status.
    """

    name: str
    ok: bool | None
    detail: str
    hint: str | None = None
    required: bool = True
    section: str = ""

    @property
    def label(self) -> str:
        if self.ok is None:
            return "skip"
        if self.ok:
            return "ok"
        return "FAIL" if self.required else "warn"
