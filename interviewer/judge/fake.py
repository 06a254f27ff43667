"""A scripted judge for fast unit tests (no model): queue verdicts, inspect what was asked.

In the spirit of a mock model: `enqueue` the verdicts the next `classify` call returns; each call
is recorded in `history`. With an empty queue it returns `default` for every point (missing unless
told otherwise), so tests that do not care about verdicts still run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from interviewer.bank.models import BankEntry
from interviewer.protocols import Classification, JudgeInfo, RawVerdict, Status


@dataclass
class FakeCall:
    """One `classify` call as the fake saw it."""

    question_id: str
    transcript: str
    verdicts: list[RawVerdict]


@dataclass
class FakeJudge:
    """A `Judge` whose answers are scripted by the test."""

    info: JudgeInfo = field(default_factory=lambda: JudgeInfo(backend="fake", model="fake"))
    default: Status = "missing"
    queue: deque[list[RawVerdict]] = field(default_factory=deque)
    history: list[FakeCall] = field(default_factory=list)
    probes: dict[str, str] = field(default_factory=dict)  # returned with every classification

    def enqueue(self, verdicts: Iterable[RawVerdict] | Mapping[str, Any]) -> None:
        """Queue the verdicts for the next call: RawVerdicts, or {point_id: status} /
        {point_id: (status, evidence)} for brevity."""
        if isinstance(verdicts, Mapping):
            items = []
            for pid, v in verdicts.items():
                status, evidence = (v, None) if isinstance(v, str) else v
                # RawVerdict validates the status literal at run time
                items.append(RawVerdict.model_validate(
                    {"point_id": pid, "status": status, "evidence": evidence}))
            self.queue.append(items)
        else:
            self.queue.append(list(verdicts))

    def classify(self, entry: BankEntry, transcript: str) -> Classification:
        """Return the next queued verdicts (or the default for every point) and record the call."""
        if self.queue:
            out = self.queue.popleft()
        else:
            out = [RawVerdict(point_id=p.id, status=self.default) for p in entry.rubric.points]
        self.history.append(FakeCall(entry.id, transcript, out))
        return Classification(verdicts=out, info=self.info.model_copy(), probes=dict(self.probes))
