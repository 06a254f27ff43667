"""The rejudge service: judge a session's stored transcripts again and recompute its exchanges.

Every answered take gets a new judgement appended (the old ones stay in its history); a take's
follow-up is kept as it was asked (history does not change). The question exchanges are derived
from the newest judgements (`session/exchange.py`), so they are recomputed by construction; the
result reports each question's score before and after.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from interviewer.bank.models import BankEntry
from interviewer.protocols import Judge
from interviewer.session.exchange import question_exchanges
from interviewer.session.speculate import JudgeFn
from interviewer.session.store import SessionRecord, TakeRecord, Turn


@dataclass(frozen=True)
class QuestionChange:
    """One question exchange's score before and after rejudging."""

    question_id: str
    before: float | None
    after: float | None


@dataclass(frozen=True)
class RejudgeResult:
    """What a rejudge did: answers judged, questions skipped (gone from the bank), scores."""

    judged: int
    skipped_questions: list[str]
    questions: list[QuestionChange]


def answered_takes(record: SessionRecord) -> list[tuple[Turn, TakeRecord]]:
    """Every take with a transcript to judge (not "no answer", not a partial typed take)."""
    return [(t, k) for t in record.turns for k in t.takes
            if k.transcript is not None and k.status in ("transcribed", "judged")]


def rejudge(record: SessionRecord, entries: Mapping[str, BankEntry], judge: Judge,
            assess: JudgeFn, *, after_each: Callable[[SessionRecord], None] | None = None,
            ) -> RejudgeResult:
    """Judge every answered take of `record` again with `judge` (in the order answered),
    appending the new judgement; questions no longer in `entries` keep their stored verdicts.
    `after_each` is called after each take (e.g. to save the session)."""
    before = [x.score for x in question_exchanges(record, entries)]
    asked = set(record.asked_follow_ups)
    judged, skipped = 0, []
    for turn, take in answered_takes(record):
        entry = entries.get(turn.question_id)
        if entry is None:
            if turn.question_id not in skipped:
                skipped.append(turn.question_id)
            continue
        assert take.transcript is not None  # answered_takes keeps transcribed takes only
        old = take.judgement
        new = assess(judge, entry, take.transcript, asked | {entry.question.text})
        if old is not None:  # the follow-up asked after this take stays what was asked
            new = new.model_copy(update={"follow_up": old.follow_up,
                                         "follow_up_id": old.follow_up_id})
        take.judgements.append(new)
        take.status = "judged"
        judged += 1
        if after_each is not None:
            after_each(record)
    after = question_exchanges(record, entries)
    changes = [QuestionChange(x.question_id, b, x.score) for x, b in zip(after, before,
                                                                          strict=True)]
    return RejudgeResult(judged=judged, skipped_questions=skipped, questions=changes)


__all__ = ["QuestionChange", "RejudgeResult", "answered_takes", "rejudge"]
