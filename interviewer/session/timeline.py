"""What an interview stores with its session: the drawn segments and the interview clock.

Kept in `session.json` (`SessionRecord.interview`), so `--resume` continues the same interview
with the same questions, budgets and the time already used; `None` for a plain practice session.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from interviewer.bank.plans import PlannedQuestion, PlannedSegment


class InterviewState(BaseModel):
    """A running (or finished) mock interview."""

    model_config = ConfigDict(extra="allow")  # like every stored model: newer fields are kept

    plan: str  # the plan's name (`seed-loops`, a user's file name, …)
    title: str
    budget_s: float  # the interview's time (the plan's minutes, or `--minutes`)
    elapsed_s: float = 0.0  # interview clock: time used over every run of the session
    segments: list[PlannedSegment] = Field(default_factory=list)
    #: "out_of_time": stopped at a question boundary because the interview's time was up.
    ended: Literal["running", "completed", "out_of_time"] = "running"

    def locate(self, question_id: str) -> tuple[int, PlannedQuestion] | None:
        """The segment index and planned budgets of a question."""
        for i, seg in enumerate(self.segments):
            for q in seg.questions:
                if q.id == question_id:
                    return i, q
        return None

    def question_ids(self) -> list[str]:
        return [q.id for seg in self.segments for q in seg.questions]


__all__ = ["InterviewState"]
