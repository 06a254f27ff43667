"""Session loop logic with fakes: persistence after every step, follow-ups from gaps, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from interviewer.bank.loader import Bank
from interviewer.errors import UsageError
from interviewer.factory import Ready, declare_judge
from interviewer.judge.fake import FakeJudge
from interviewer.judge.policy import assess
from interviewer.session.exchange import session_score
from interviewer.session.loop import Engines, PracticeSession
from interviewer.session.store import SessionRecord, SessionStore, new_session_id, now_iso
from interviewer.session.ui import Console
from tests.session.fakes import FakeRecorder, FakeSpeaker, FakeTranscriber, streams

A1 = "um dropout randomly zeroes units during training so the network is like an ensemble"
A2 = "you know at inference time nothing is dropped and weights are scaled"


def make_session(tmp_path: Path, bank: Bank, plan: list[str], judge: FakeJudge,
                 answers: list[str | None], texts: list[str], follow_ups: int = 1,
                 ) -> tuple[PracticeSession, SessionStore, FakeSpeaker]:
    store = SessionStore(tmp_path / "rec")
    rec = SessionRecord(id=new_session_id(), created=now_iso(), updated=now_iso(), plan=plan)
    store.create(rec)
    speaker = FakeSpeaker()
    transcriber = FakeTranscriber(texts)
    engines = Engines(speaker=speaker, recorder=FakeRecorder(answers),
                      transcriber=Ready(transcriber), judge=Ready(declare_judge(judge)),
                      assess=assess)
    stdin, out, err = streams()
    ui = Console(stdin, out, err, interactive=False, live=False)
    entries = {q: bank.get(q) for q in plan}
    return PracticeSession(rec, store, engines, ui, max_follow_ups=follow_ups,
                           entries=entries), store, speaker


def test_turn_persisted_with_verified_evidence_and_follow_up(tmp_path: Path,
                                                             mini_bank: Bank) -> None:
    judge = FakeJudge()
    judge.enqueue({"random-zeroing": ("covered", "dropout randomly zeroes units during training"),
                   "co-adaptation": ("covered", "prevents co-adaptation"),  # not in transcript
                   "ensemble": ("partial", "like an ensemble")})
    judge.enqueue({"co-adaptation": "missing"})
    transcriber = FakeTranscriber([A1, A2])
    session, store, speaker = make_session(tmp_path, mini_bank, ["dropout-why"], judge,
                                           [A1, A2], [])
    session.engines.transcriber = Ready(transcriber)
    rec = session.run()
    assert rec.status == "completed"
    on_disk = json.loads((store.folder(rec.id) / "session.json").read_text())
    assert on_disk["schema_version"] == 2
    main, fu = rec.turns
    take = main.final_take
    assert take is not None and take.judgement is not None
    verdicts = {p.point_id: p for p in take.judgement.points}
    assert verdicts["random-zeroing"].status == "covered"
    # Evidence that is not in the transcript is never credited.
    assert verdicts["co-adaptation"].status == "missing"
    assert take.judgement.score == pytest.approx((2 + 0.5) / 4)
    # The follow-up targets the highest-weight gap with an authored probe, else the rubric's.
    assert fu.kind == "follow_up" and fu.parent == 0
    assert fu.text in rec.asked_follow_ups
    assert speaker.said[0] == "Why does dropout reduce overfitting?"
    assert speaker.said[1] == fu.text
    assert (store.folder(rec.id) / take.audio).is_file()  # type: ignore[operator]
    assert take.metrics is not None and take.metrics.fillers == 1
    assert transcriber.fed > 16000  # audio was streamed to the transcriber while recording
    assert session_score(rec) == pytest.approx(take.judgement.score)


def test_no_answer_is_not_judged_and_follow_ups_never_repeat(tmp_path: Path,
                                                             mini_bank: Bank) -> None:
    judge = FakeJudge()
    session, store, _ = make_session(tmp_path, mini_bank, ["dropout-why", "l2-why"], judge,
                                     [None, A1, A2, A1], [A1, A2, A1], follow_ups=2)
    rec = session.run()
    first = rec.turns[0].final_take
    assert first is not None and first.status == "no_answer" and first.judgements == []
    assert len(judge.history) == 3  # the no-answer take was never sent to the judge
    asked = rec.asked_follow_ups
    assert len(asked) == len(set(asked)) == 2


def test_resume_continues_remaining_questions(tmp_path: Path, mini_bank: Bank) -> None:
    judge = FakeJudge()
    session, store, _ = make_session(tmp_path, mini_bank, ["dropout-why", "l2-why"], judge,
                                     [A1], [A1], follow_ups=0)
    session.ask_question(mini_bank.get("dropout-why"))  # then "killed"
    store.save(session.record)
    loaded = store.load(session.record.id)
    assert loaded.remaining() == ["l2-why"]
    assert store.resolve("last") == session.record.id


def test_ids_outside_the_root_are_refused(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "rec")
    (tmp_path / "rec").mkdir()
    outside = tmp_path / "20250101-000000-abcd"
    outside.mkdir()
    (outside / "session.json").write_text("{}")
    for ref in ("../20250101-000000-abcd", str(outside), "../../etc/passwd", "last"):
        with pytest.raises(UsageError):
            store.resolve(ref)
