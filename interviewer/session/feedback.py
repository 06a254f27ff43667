"""What the candidate is told after each answer and at the end of a question (pure text).

A main question's answer is shown against the whole rubric; a follow-up's answer only against
the points the follow-up asked about (anything else it covered is named as added to the
question); the end of a question summarises the whole exchange (`session/exchange.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

from interviewer.protocols import PointVerdict
from interviewer.session.exchange import QuestionExchange, targeted_score

MARK = {"covered": "+", "partial": "~", "missing": "-"}


def point_line(p: PointVerdict) -> str:
    """`  + point  "quote"` (the quote heard, or the one that said the opposite)."""
    quote = f'  "{p.evidence}"' if p.evidence else ""
    said = " (you said the opposite)" if p.contradicted and p.status == "missing" else ""
    return f"  {MARK[p.status]} {p.point}{said}{quote}"


def answer_lines(points: Sequence[PointVerdict], score: float) -> list[str]:
    """Feedback on a main question's answer: every rubric point."""
    credited = [p for p in points if p.status != "missing"]
    return [f"Score {score:.0%} — covered {len(credited)} of {len(points)} points.",
            *(point_line(p) for p in points)]


def follow_up_lines(points: Sequence[PointVerdict], targets: Sequence[str],
                    already: set[str]) -> list[str]:
    """Feedback on a follow-up's answer: its target points only, then what else it added to the
    question (points credited now that no earlier answer had); `already` = credited before."""
    own = [p for p in points if p.point_id in targets]
    score = targeted_score(points, targets)
    lines = [f"On what the follow-up asked: {score:.0%}.", *(point_line(p) for p in own)] \
        if score is not None else []
    added = [p.point for p in points if p.status != "missing" and p.point_id not in targets
             and p.point_id not in already]
    if added:
        lines.append("Also adds to the question: " + "; ".join(added) + ".")
    elif not own:
        lines.append("Nothing new for the question's points.")
    return lines


def summary(exchange: QuestionExchange) -> str | None:
    """One spoken/printed line over the whole exchange ("Covered 5 of 6 points over the question
    and its follow-up; still missing: …"); None when nothing was judged."""
    cov = exchange.coverage
    if cov is None:
        return None
    follow_ups = sum(1 for t in exchange.turns[1:] if t.own is not None)
    over = "the question" + {0: "", 1: " and its follow-up"}.get(follow_ups,
                                                                  " and its follow-ups")
    full, part = cov.with_status("covered"), cov.with_status("partial")
    missing = cov.with_status("missing")
    head = f"Covered {len(full)} of {len(cov.points)} points over {over}"
    if part:
        head += f" ({len(part)} more partly: {'; '.join(p.point for p in part)})"
    if not missing:
        return f"{head}. Question score {cov.score:.0%}." + (
            "" if part else " Well done.")
    return f"{head}; still missing: {'; '.join(p.point for p in missing)}. " \
           f"Question score {cov.score:.0%}."


__all__ = ["answer_lines", "follow_up_lines", "point_line", "summary"]
