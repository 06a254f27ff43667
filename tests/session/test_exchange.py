"""The exchange arithmetic (session/exchange.py): best status per point over every take, where it
was earned, weights and partial credit, retries, nothing un-credited, a follow-up's own score on
its targets, the next follow-up chosen from the coverage; and loading a stored version-1 session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from interviewer.bank.models import BankEntry, Question, Rubric
from interviewer.protocols import JudgeInfo, Judgement, PointVerdict, Status
from interviewer.session.exchange import (
    Coverage,
    coverage_of,
    follow_up_targets,
    merge,
    next_follow_up,
    question_exchanges,
    session_score,
    targeted_score,
    with_exchange_follow_up,
)
from interviewer.session.report import build_report
from interviewer.session.store import SessionStore, TakeRecord, Turn

ENTRY = BankEntry(
    question=Question(id="oom", text="Your training run is out of memory. What do you do?",
                      topic="training", sources=["000_x.txt#Q1"],
                      reference_answer="Accumulate, mixed precision, checkpoint, shard."),
    rubric=Rubric.model_validate({
        "question_id": "oom",
        "points": [
            {"id": "accumulate", "text": "gradient accumulation"},
            {"id": "precision", "text": "mixed precision"},
            {"id": "checkpoint", "text": "activation checkpointing", "weight": 2,
             "follow_up": "What do you lose with checkpointing?"},
            {"id": "shard", "text": "optimizer state sharding", "weight": 2},
        ],
        "follow_ups": [
            {"id": "adam", "text": "Why does Adam use so much memory?", "targets": ["shard"]},
            {"id": "both", "text": "Which of these costs compute?",
             "targets": ["checkpoint", "accumulate"]},
            {"id": "general", "text": "What would you try first?"},
        ]}),
    question_file="q.yaml", rubric_file="r.yaml")
WEIGHT = {p.id: p.weight for p in ENTRY.rubric.points}


def verdicts(**status: Status) -> list[PointVerdict]:
    """One verdict per rubric point (missing unless named), quoting the point's id."""
    out = []
    for p in ENTRY.rubric.points:
        s = status.get(p.id, "missing")
        out.append(PointVerdict(point_id=p.id, point=p.text, weight=p.weight, status=s,
                                evidence=None if s == "missing" else f"said {p.id}"))
    return out


def by_id(cov: Coverage) -> dict[str, tuple[str, int | None, int | None]]:
    return {p.point_id: (p.status, p.turn, p.take) for p in cov.points}


def test_coverage_is_the_best_status_per_point_with_the_turn_that_earned_it() -> None:
    cov = coverage_of([(0, 0, verdicts(accumulate="covered", precision="partial")),
                       (1, 0, verdicts(precision="covered", shard="covered"))])
    assert by_id(cov) == {"accumulate": ("covered", 0, 0), "precision": ("covered", 1, 0),
                          "checkpoint": ("missing", None, None), "shard": ("covered", 1, 0)}
    # weights: (1 + 1 + 0 + 2) / 6
    assert cov.score == pytest.approx(4 / 6, abs=1e-4)
    assert [p.evidence for p in cov.points if p.status == "covered"] == [
        "said accumulate", "said precision", "said shard"]


def test_partial_counts_half_and_weights_apply() -> None:
    cov = coverage_of([(0, 0, verdicts(checkpoint="partial", accumulate="covered"))])
    assert cov.score == pytest.approx((0.5 * 2 + 1) / 6, abs=1e-4)


def test_a_later_answer_never_uncredits_an_earlier_one() -> None:
    first = verdicts(accumulate="covered", precision="covered", checkpoint="partial")
    later = verdicts(checkpoint="missing", accumulate="missing")  # silent on them
    later[0] = later[0].model_copy(update={"contradicted": True, "evidence": "no accumulation"})
    cov = coverage_of([(0, 0, first), (1, 0, later)])
    assert by_id(cov)["accumulate"] == ("covered", 0, 0)
    assert by_id(cov)["checkpoint"] == ("partial", 0, 0)
    assert cov.score == coverage_of([(0, 0, first)]).score
    # merge never changes its input either
    before = coverage_of([(0, 0, first)])
    merge(before, later, 1)
    assert by_id(before)["accumulate"] == ("covered", 0, 0)


def test_retries_count_and_a_tie_keeps_the_earliest_take() -> None:
    cov = coverage_of([(0, 0, verdicts(accumulate="covered")),
                       (0, 1, verdicts(accumulate="covered", shard="partial")),
                       (0, 2, verdicts(shard="covered"))])
    assert by_id(cov)["accumulate"] == ("covered", 0, 0)
    assert by_id(cov)["shard"] == ("covered", 0, 2)


def test_a_contradiction_is_kept_on_a_missed_point() -> None:
    said_opposite = verdicts()
    said_opposite[3] = said_opposite[3].model_copy(update={"contradicted": True,
                                                           "evidence": "never shard"})
    cov = coverage_of([(0, 0, verdicts()), (1, 0, said_opposite)])
    shard = cov.points[3]
    assert shard.status == "missing" and shard.contradicted and shard.evidence == "never shard"
    assert shard.turn is None


def test_follow_up_targets_and_its_own_score() -> None:
    assert follow_up_targets(ENTRY, "adam") == ["shard"]
    assert follow_up_targets(ENTRY, "point:checkpoint") == ["checkpoint"]
    assert follow_up_targets(ENTRY, "probe:precision") == ["precision"]
    assert follow_up_targets(ENTRY, "general") == []
    assert follow_up_targets(None, "adam") == []  # unknown without the bank
    answer = verdicts(shard="covered", accumulate="covered")  # answered more than it asked
    assert targeted_score(answer, ["shard"]) == 1.0
    assert targeted_score(verdicts(accumulate="covered"), ["shard"]) == 0.0
    assert targeted_score(answer, []) is None  # a general follow-up has no score of its own


def test_next_follow_up_never_probes_a_covered_point() -> None:
    # The heaviest gap is checkpoint (weight 2, its own probe first) — unless it is covered.
    assert next_follow_up(ENTRY, coverage_of([(0, 0, verdicts())]))[1] == "point:checkpoint"
    cov = coverage_of([(0, 0, verdicts(checkpoint="covered"))])
    text, fid = next_follow_up(ENTRY, cov)
    assert fid == "adam" and text == "Why does Adam use so much memory?"
    # "both" targets checkpoint (covered): never asked, even once every targeted gap is used.
    cov = coverage_of([(0, 0, verdicts(checkpoint="covered", shard="covered"))])
    picks = []
    asked: list[str] = []
    while (fid := next_follow_up(ENTRY, cov, asked)[1]) is not None:
        picks.append(fid)
        asked.append(fid)
    assert "both" not in picks and "point:checkpoint" not in picks and "adam" not in picks
    assert picks == ["general"]


def test_the_follow_up_is_chosen_from_the_whole_exchange() -> None:
    # The first answer covered checkpoint; the retry does not repeat it. Judged alone the retry
    # would be probed on checkpoint; in the exchange it is probed on the next gap.
    prior = coverage_of([(0, 0, verdicts(checkpoint="covered"))])
    alone = Judgement(question_id="oom", points=verdicts(accumulate="covered"), score=0.0,
                      follow_up="What do you lose with checkpointing?",
                      follow_up_id="point:checkpoint", judge=JudgeInfo(backend="f", model="f"))
    j = with_exchange_follow_up(alone, ENTRY, prior, turn=0, take=1)
    assert j.follow_up_id == "adam"
    assert j.points == alone.points and j.score == alone.score  # the take's verdicts unchanged


def _turn(index: int, kind: str, takes: list[list[PointVerdict]], *, parent: int | None = None,
          follow_up_id: str | None = None, targets: list[str] | None = None) -> Turn:
    recs = [TakeRecord(index=i, status="judged", judgements=[Judgement(
        question_id="oom", points=v, score=0.0, judge=JudgeInfo(backend="f", model="f"))])
        for i, v in enumerate(takes)]
    return Turn(index=index, question_id="oom", text=f"turn {index}", kind=kind,  # type: ignore[arg-type]
                parent=parent, follow_up_id=follow_up_id, targets=targets, takes=recs)


def test_session_exchanges_scores_and_report_contract(tmp_path: Path) -> None:
    from interviewer.session.store import SessionRecord

    rec = SessionRecord(id="20260101-000000-abcd", created="c", updated="u", turns=[
        _turn(0, "question", [verdicts(accumulate="covered", precision="covered")]),
        _turn(1, "follow_up", [verdicts(shard="covered", checkpoint="covered")], parent=0,
              follow_up_id="adam", targets=["shard"]),
        _turn(2, "question", [verdicts()]),
        _turn(3, "follow_up", [verdicts(precision="covered")], parent=2,
              follow_up_id="general", targets=[]),
    ])
    first, second = question_exchanges(rec)
    assert first.score == 1.0 and [t.score for t in first.turns] == [pytest.approx(2 / 6, 1e-3),
                                                                     1.0]
    assert second.score == pytest.approx(1 / 6, abs=1e-4)
    assert second.turns[1].score is None  # no target: no score of its own
    assert session_score(rec) == pytest.approx((1.0 + 1 / 6) / 2, abs=1e-4)
    report = json.loads(build_report(rec).model_dump_json())
    assert set(report) == {"session", "score", "questions", "interview"}
    assert report["interview"] is None  # a plain session: no mock-interview timeline
    q = report["questions"][0]
    assert set(q) == {"question_id", "text", "score", "points", "turns"}
    assert {p["id"]: p["turn"] for p in q["points"]} == {
        "accumulate": 0, "precision": 0, "checkpoint": 1, "shard": 1}
    assert set(q["points"][0]) == {"id", "text", "status", "evidence", "turn"}
    assert q["turns"][1] == {"kind": "follow_up", "text": "turn 1", "targets": ["shard"],
                             "score": 1.0, "answer_s": None, "budget_s": None}
    assert report["questions"][1]["turns"][1]["score"] is None


V1 = Path(__file__).parent / "data" / "v1"


def test_a_version_1_session_loads_replays_and_reports(tmp_path: Path) -> None:
    shutil.copytree(V1, tmp_path / "rec")
    store = SessionStore(tmp_path / "rec")
    raw = json.loads(next((tmp_path / "rec").glob("*/session.json")).read_text())
    assert raw["schema_version"] == 1 and isinstance(raw["settings"], dict)
    rec = store.load("last")
    assert rec.schema_version == 2 and rec.settings.judge == "embedded"
    [x] = question_exchanges(rec)
    main, follow = x.turns
    assert follow.turn.targets is None  # a v1 turn: targets derived on reading
    # v1 scored the session by the first answer only (54%); the exchange adds the follow-up's
    # KDE point (earned in turn 1) and never takes the first answer's credit away.
    first = main.own
    assert first is not None and x.coverage is not None
    assert x.score is not None and x.score > first.score
    earned = {p.point_id: p.turn for p in x.coverage.points if p.status != "missing"}
    assert earned == {"likelihood-comparison": 0, "priors": 0, "kde-fallback": 1}
    assert session_score(rec) == x.score
