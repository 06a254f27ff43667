"""Pacing of timed answers: time used against the budget, time to first word, words per minute.

Pure functions over stored turns, shared by the live session (a line after each answer and a
summary at the end) and the reports (the interview timeline).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from interviewer.session.clock import mmss
from interviewer.session.store import DeliveryMetrics, TakeRecord, Turn

#: An answer under this share of its budget "ran short".
SHORT_SHARE = 1 / 3


def take_seconds(take: TakeRecord) -> float | None:
    """Seconds a take took: the interview clock's measure, else the recording's length."""
    if take.answer_s is not None:
        return take.answer_s
    if take.take is not None:
        return round(take.take.duration_s, 2)
    return None


def turn_seconds(turn: Turn) -> float | None:
    """Seconds of a turn's answer: every take of it (a retry costs time too); None: unmeasured."""
    secs = [s for t in turn.takes if (s := take_seconds(t)) is not None]
    return round(sum(secs), 2) if secs else None


def pacing_line(answer_s: float, budget_s: float, metrics: DeliveryMetrics | None, *,
                typed: bool, capped: bool) -> str:
    """"Pacing: 1:42 of 2:00 · first word after 1.2 s · 96 s spoken · 141 words per minute"."""
    parts = [f"{mmss(answer_s)} of {mmss(budget_s)}"]
    if answer_s > budget_s:
        parts[0] += f" ({mmss(answer_s - budget_s)} over" + (", stopped at the cap)" if capped
                                                               else ")")
    if metrics is not None and metrics.time_to_first_word_s is not None:
        parts.append(f"first word after {metrics.time_to_first_word_s:.1f} s")
    if metrics is not None and metrics.speaking_s:
        parts.append(f"{metrics.speaking_s:.0f} s spoken")
    if metrics is not None and metrics.words_per_minute:
        parts.append(f"{metrics.words_per_minute:.0f} words per minute")
    elif typed and metrics is not None and metrics.words and answer_s >= 1:
        parts.append(f"{metrics.words / answer_s * 60:.0f} words per minute typed")
    return "Pacing: " + " · ".join(parts)


@dataclass(frozen=True)
class TimedTurn:
    """A turn with a budget and its measured answer time."""

    turn: Turn
    answer_s: float
    budget_s: float

    @property
    def verdict(self) -> Literal["long", "short", "ok"]:
        """"long", "short" or "ok"."""
        if self.answer_s > self.budget_s:
            return "long"
        return "short" if self.answer_s < SHORT_SHARE * self.budget_s else "ok"


def timed_turns(turns: Iterable[Turn]) -> list[TimedTurn]:
    """Answered turns that had a budget."""
    out = []
    for t in turns:
        secs = turn_seconds(t)
        if t.budget_s is not None and secs is not None and not t.skipped:
            out.append(TimedTurn(turn=t, answer_s=secs, budget_s=t.budget_s))
    return out


def pacing_summary(turns: Iterable[Turn]) -> list[str]:
    """The end-of-interview lines: which answers ran long or short."""
    timed = timed_turns(turns)
    if not timed:
        return []
    lines = [f"Pacing over {len(timed)} timed answer(s): "
             f"{mmss(sum(t.answer_s for t in timed))} used of "
             f"{mmss(sum(t.budget_s for t in timed))} budgeted."]
    for verdict, words in (("long", "Ran long"), ("short", "Ran short")):
        picked = [t for t in timed if t.verdict == verdict]
        if picked:
            lines.append(f"{words}: " + "; ".join(
                f"turn {t.turn.index + 1} ({mmss(t.answer_s)} of {mmss(t.budget_s)})"
                for t in picked))
    if len(lines) == 1:
        lines.append("Every answer fit its budget.")
    return lines


__all__ = ["TimedTurn", "pacing_line", "pacing_summary", "take_seconds", "timed_turns",
           "turn_seconds"]
