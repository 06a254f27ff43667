"""Progress over sessions: scores per topic and per expected point over time, and which points
are due for drilling (a Leitner-style spaced repetition over missed points)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from interviewer.bank.loader import Bank
from interviewer.session.exchange import question_exchanges
from interviewer.session.store import SessionRecord

#: Review intervals (days) per Leitner box: a covered point moves up a box, a miss resets it.
INTERVALS = [0, 1, 3, 7, 14, 30]


@dataclass
class PointState:
    question_id: str
    point_id: str
    point: str
    box: int = 0
    last_seen: datetime | None = None
    history: list[tuple[str, str]] = field(default_factory=list)  # (date, status)

    @property
    def due(self) -> datetime | None:
        if self.last_seen is None:
            return None
        return self.last_seen + timedelta(days=INTERVALS[min(self.box, len(INTERVALS) - 1)])

    def is_due(self, now: datetime) -> bool:
        due = self.due
        return due is not None and due <= now and self.box < len(INTERVALS) - 1


@dataclass
class Progress:
    points: dict[tuple[str, str], PointState] = field(default_factory=dict)
    topic_scores: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    delivery: list[dict[str, object]] = field(default_factory=list)

    def due_points(self, now: datetime | None = None) -> list[PointState]:
        now = now or datetime.now().astimezone()
        due = [p for p in self.points.values() if p.is_due(now)]
        return sorted(due, key=lambda p: (p.box, p.due or now))

    def drill_order(self, now: datetime | None = None) -> list[str]:
        """Question ids, the one with the most due points (lowest boxes) first."""
        counts: dict[str, float] = defaultdict(float)
        for p in self.due_points(now):
            counts[p.question_id] += 1.0 / (1 + p.box)
        return sorted(counts, key=lambda q: -counts[q])


def compute_progress(records: list[SessionRecord], bank: Bank | None = None) -> Progress:
    """Replay every question exchange in time order into per-point states (each point's best
    status over the question and its follow-ups) and per-topic scores (the exchange's score)."""
    prog = Progress()
    for rec in sorted(records, key=lambda r: r.created):
        when = datetime.fromisoformat(rec.created)
        for x in question_exchanges(rec, bank.entries if bank is not None else None):
            if x.coverage is None:
                continue
            topic = "?"
            if bank is not None and x.question_id in bank.entries:
                topic = bank.entries[x.question_id].question.topic
            prog.topic_scores.setdefault(topic, []).append((rec.created, x.coverage.score))
            take = x.turns[0].turn.final_take
            if take and take.metrics:
                prog.delivery.append({"date": rec.created, "question_id": x.question_id,
                                      **take.metrics.model_dump()})
            for v in x.coverage.points:
                key = (x.question_id, v.point_id)
                st = prog.points.setdefault(key, PointState(x.question_id, v.point_id, v.point))
                st.history.append((rec.created, v.status))
                st.box = st.box + 1 if v.status == "covered" else (
                    st.box if v.status == "partial" else 0)
                st.last_seen = when
    return prog


def anki_rows(progress: Progress, bank: Bank) -> list[tuple[str, str]]:
    """Front/back cards for points missed at least once (most recent status not covered)."""
    rows = []
    for st in progress.points.values():
        if not st.history or st.history[-1][1] == "covered":
            continue
        entry = bank.entries.get(st.question_id)
        if entry is None:
            continue
        p = next((x for x in entry.rubric.points if x.id == st.point_id), None)
        back = p.text if p else st.point
        if p and p.description:
            back += f"<br><i>{p.description}</i>"
        rows.append((f"{entry.question.text}<br><br>Key point you missed?", back))
    return rows
