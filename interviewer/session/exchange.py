"""One question's exchange — the question, its retries and its follow-ups — scored as one.

The one home of the exchange arithmetic; pure functions over verified verdicts (no I/O, no
engines):

- **coverage**: for each rubric point its best status over every judged take of the exchange,
  with the turn (index in the exchange's turns: 0 = the question, then its follow-ups) and take
  whose answer earned it, and the quote. A status only ever rises: nothing said earlier is
  un-credited by a later answer; on a tie the earliest take keeps the credit.
- **the question's score**: the weighted coverage; **the session's score**: the mean over questions.
- **a follow-up's own score**: its target points only (an authored follow-up's `targets`, or the
  point whose probe it is); None for a follow-up without targets, which only adds coverage.
- **the next follow-up**: chosen from the coverage, never probing a point covered in any take.

A take's stored `Judgement` stays what the policy computed for that answer on the whole rubric;
everything here is derived from the stored judgements, so `rejudge` and old sessions get the same
arithmetic.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

from interviewer.bank.models import BankEntry
from interviewer.judge.policy import choose_follow_up, compute_score
from interviewer.protocols import Judgement, PointVerdict, Status
from interviewer.session.store import SessionRecord, Turn

RANK: dict[Status, int] = {"missing": 0, "partial": 1, "covered": 2}
POINT_PREFIX, PROBE_PREFIX = "point:", "probe:"  # follow-up ids of point probes (policy's)


class PointCoverage(PointVerdict):
    """A point's best verdict over an exchange and where it was earned."""

    turn: int | None = None  # index in the exchange's turns of the answer that earned it
    take: int | None = None  # the take of that turn (None while missed)


class Coverage(BaseModel):
    """Every rubric point's best verdict over the takes merged so far, in rubric order."""

    points: list[PointCoverage] = Field(default_factory=list)

    @property
    def score(self) -> float:
        """Weighted share of credit (covered 1, partial 0.5) over the exchange."""
        return compute_score(self.points)

    def with_status(self, *statuses: Status) -> list[PointCoverage]:
        """The points whose best status is one of `statuses`, in rubric order."""
        return [p for p in self.points if p.status in statuses]


def _credited_at(v: PointVerdict, turn: int, take: int) -> PointCoverage:
    credited = v.status != "missing"
    return PointCoverage(**v.model_dump(), turn=turn if credited else None,
                         take=take if credited else None)


def merge(coverage: Coverage, verdicts: Iterable[PointVerdict], turn: int,
          take: int = 0) -> Coverage:
    """`coverage` with one take's verdicts added (a new value; neither input changes).

    A point's status only rises; on a tie the earlier credit stands. A point still missing keeps
    the first answer that contradicted it, so a report can say so.
    """
    points = list(coverage.points)
    where = {p.point_id: i for i, p in enumerate(points)}
    for v in verdicts:
        i = where.get(v.point_id)
        if i is None:  # a point this exchange has not seen (first take, or the rubric grew)
            where[v.point_id] = len(points)
            points.append(_credited_at(v, turn, take))
            continue
        old = points[i]
        rises = RANK[v.status] > RANK[old.status]
        first_contradiction = (v.status == old.status == "missing" and v.contradicted
                               and not old.contradicted)
        if rises or first_contradiction:
            points[i] = _credited_at(v, turn, take)
    return Coverage(points=points)


def coverage_of(takes: Iterable[tuple[int, int, Sequence[PointVerdict]]]) -> Coverage:
    """Merge (turn, take, verdicts) triples in the order given (the order they were answered)."""
    cov = Coverage()
    for turn, take, verdicts in takes:
        cov = merge(cov, verdicts, turn, take)
    return cov


def follow_up_targets(entry: BankEntry | None, follow_up_id: str | None) -> list[str]:
    """The points a follow-up asks about: its authored `targets`, or the point whose probe it is
    (`point:<id>`, `probe:<id>`); [] for a general follow-up (or one the bank no longer has)."""
    if not follow_up_id:
        return []
    for prefix in (POINT_PREFIX, PROBE_PREFIX):
        if follow_up_id.startswith(prefix):
            return [follow_up_id[len(prefix):]]
    if entry is None:
        return []
    authored = next((f for f in entry.rubric.follow_ups if f.id == follow_up_id), None)
    return list(authored.targets) if authored else []


def targeted_score(points: Sequence[PointVerdict], targets: Collection[str]) -> float | None:
    """The score over `targets` only; None when there are none (or none was judged)."""
    chosen = [p for p in points if p.point_id in targets]
    return compute_score(chosen) if chosen else None


def _probes_covered(entry: BankEntry, covered: set[str]) -> list[str]:
    """Ids of every follow-up that would probe a covered point (so they count as used)."""
    ids = [f"{PROBE_PREFIX}{p}" for p in covered]
    ids += [f"{POINT_PREFIX}{p.id}" for p in entry.rubric.points if p.id in covered]
    ids += [f.id for f in entry.rubric.follow_ups if covered.intersection(f.targets)]
    return ids


def next_follow_up(entry: BankEntry, coverage: Coverage, asked: Iterable[str] = (),
                   probes: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """The next follow-up as (text, id), chosen from the exchange's gaps (policy order) and never
    one that probes a point already covered in any take, nor one already asked."""
    covered = {p.point_id for p in coverage.with_status("covered")}
    used = [*asked, *_probes_covered(entry, covered)]
    return choose_follow_up(entry, list(coverage.points), used, probes)


def probe_proposals(follow_ups: Iterable[tuple[str | None, str | None]]) -> dict[str, str]:
    """Backend-phrased probes proposed by earlier judgements ((text, id) pairs), by point id, so
    the exchange's choice can still use them."""
    return {fid[len(PROBE_PREFIX):]: text for text, fid in follow_ups
            if text and fid and fid.startswith(PROBE_PREFIX)}


def with_exchange_follow_up(judgement: Judgement, entry: BankEntry, prior: Coverage | None,
                            turn: int, take: int, asked: Iterable[str] = (),
                            earlier: Iterable[tuple[str | None, str | None]] = ()) -> Judgement:
    """`judgement` (one take, whole rubric) with its follow-up re-chosen from the exchange's
    coverage once this take is merged into `prior`; `earlier` are earlier judgements'
    (follow_up, follow_up_id) pairs, whose backend-phrased probes stay usable."""
    coverage = merge(prior or Coverage(), judgement.points, turn, take)
    probes = probe_proposals([*earlier, (judgement.follow_up, judgement.follow_up_id)])
    text, fid = next_follow_up(entry, coverage, asked, probes)
    return judgement.model_copy(update={"follow_up": text, "follow_up_id": fid})


# --------------------------------------------------------------------------- a session's exchanges
@dataclass(frozen=True)
class ExchangeTurn:
    """One turn of an exchange: what it asked about and its own score."""

    turn: Turn
    targets: list[str]  # the question: every point; a follow-up: the points it probes
    own: Coverage | None  # this turn's takes only (None: no judged take)

    @property
    def score(self) -> float | None:
        """The turn's score over its targets (None: not answered, or a follow-up without
        targets)."""
        return targeted_score(self.own.points, self.targets) if self.own else None


@dataclass(frozen=True)
class QuestionExchange:
    """A main question with its follow-ups, and the coverage over all of their takes."""

    question_id: str
    text: str
    turns: list[ExchangeTurn]
    coverage: Coverage | None  # None: nothing was judged (skipped, no answer)

    @property
    def score(self) -> float | None:
        """The question's score: weighted coverage over the whole exchange."""
        return self.coverage.score if self.coverage else None


def judged_takes(turn: Turn) -> list[tuple[int, Sequence[PointVerdict]]]:
    """(take index, newest verdicts) of each judged take of a turn, in order."""
    return [(t.index, j.points) for t in turn.takes if (j := t.judgement) is not None]


def turn_targets(turn: Turn, entry: BankEntry | None, point_ids: Sequence[str]) -> list[str]:
    """A turn's targets: stored ones (schema 2), else derived (schema-1 sessions)."""
    if turn.kind == "question":
        return list(point_ids)
    if turn.targets is not None:
        return list(turn.targets)
    return follow_up_targets(entry, turn.follow_up_id)


def _point_ids(turns: Sequence[Turn], entry: BankEntry | None) -> list[str]:
    if entry is not None:
        return [p.id for p in entry.rubric.points]
    for t in turns:
        for _, points in judged_takes(t):
            return [p.point_id for p in points]
    return []


def build_exchange(turns: Sequence[Turn], entry: BankEntry | None) -> QuestionExchange:
    """The exchange of a main question (`turns[0]`) and its follow-ups, in the order asked."""
    ids = _point_ids(turns, entry)
    out, triples = [], []
    for i, t in enumerate(turns):
        takes = judged_takes(t)
        triples += [(i, k, pts) for k, pts in takes]
        own = coverage_of((i, k, pts) for k, pts in takes) if takes else None
        out.append(ExchangeTurn(turn=t, targets=turn_targets(t, entry, ids), own=own))
    coverage = coverage_of(triples) if triples else None
    return QuestionExchange(question_id=turns[0].question_id, text=turns[0].text, turns=out,
                            coverage=coverage)


def group_turns(record: SessionRecord) -> list[list[Turn]]:
    """Each main question's turn followed by its follow-ups (by `parent`), in session order."""
    groups: list[list[Turn]] = []
    by_main: dict[int, list[Turn]] = {}
    for t in record.turns:
        if t.kind == "question" or not groups:
            groups.append([t])
            by_main[t.index] = groups[-1]
        else:  # a follow-up joins its parent (or, without one, the question before it)
            by_main.get(t.parent if t.parent is not None else -1, groups[-1]).append(t)
    return groups


def question_exchanges(record: SessionRecord,
                       entries: Mapping[str, BankEntry] | None = None) -> list[QuestionExchange]:
    """Every question exchange of a session; `entries` (the bank) resolves schema-1 follow-ups'
    authored targets and lists the points of questions never judged."""
    entries = entries or {}
    return [build_exchange(g, entries.get(g[0].question_id)) for g in group_turns(record)]


def mean_score(exchanges: Iterable[QuestionExchange]) -> float | None:
    """The session's score: the mean of the question scores (judged questions only)."""
    scores = [s for x in exchanges if (s := x.score) is not None]
    return round(sum(scores) / len(scores), 4) if scores else None


def session_score(record: SessionRecord,
                  entries: Mapping[str, BankEntry] | None = None) -> float | None:
    """The mean of the question scores (questions with a judged answer only)."""
    return mean_score(question_exchanges(record, entries))


__all__ = ["Coverage", "ExchangeTurn", "PointCoverage", "QuestionExchange", "build_exchange",
           "coverage_of", "follow_up_targets", "mean_score", "merge", "next_follow_up",
           "probe_proposals", "question_exchanges", "session_score", "targeted_score",
           "with_exchange_follow_up"]
