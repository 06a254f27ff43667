"""Judging during the end-of-answer pause, and LLM refinement stored after the fact (fakes).

The real path (streaming Whisper on the virtual microphone, the embedded judge, pyttsx3) is
driven by test_e2e_spoken.py and benchmarks/turn_latency.py; here the logic: a speculative
judgement is used only for exactly the final text, the follow-up's speech is prepared from it,
and a refining judge's second opinion is appended to the take without changing the follow-up.
"""

from __future__ import annotations

import threading
from pathlib import Path

from interviewer.bank.loader import Bank
from interviewer.bank.models import BankEntry
from interviewer.factory import DeclaredJudge, Ready, declare_judge
from interviewer.judge.fake import FakeJudge
from interviewer.judge.policy import assess
from interviewer.judge.refine import RefiningJudge
from interviewer.protocols import Judge, JudgeBase, JudgeInfo
from interviewer.session.loop import Engines, PracticeSession
from interviewer.session.speculate import Speculation
from interviewer.session.store import SessionRecord, SessionStore, new_session_id, now_iso
from interviewer.session.ui import Console
from tests.session.fakes import (
    FakeRecorder,
    FakeSpeaker,
    FakeTranscriber,
    fake_transcript,
    streams,
)

A1 = "dropout randomly zeroes units during training so the network is like an ensemble"
A2 = "at inference time nothing is dropped and the weights are scaled"


class SpeculativeFake(FakeJudge, JudgeBase):
    """A FakeJudge that declares it may be run speculatively; records `warm` calls."""

    speculative = True

    def __init__(self) -> None:
        super().__init__()
        self.warmed: list[str] = []

    def warm(self, entry: BankEntry, transcript: str) -> None:
        self.warmed.append(transcript)


def _session(tmp_path: Path, bank: Bank, judge: Judge, transcriber: FakeTranscriber,
             answers: list[str | None]) -> tuple[PracticeSession, FakeSpeaker, Console]:
    store = SessionStore(tmp_path / "rec")
    rec = SessionRecord(id=new_session_id(), created=now_iso(), updated=now_iso(),
                        plan=["dropout-why"])
    store.create(rec)
    speaker = FakeSpeaker()
    engines = Engines(speaker=speaker, recorder=FakeRecorder(answers),
                      transcriber=Ready(transcriber), judge=Ready(declare_judge(judge)),
                      assess=assess)
    ui = Console(*streams(), interactive=False, live=False)
    return PracticeSession(rec, store, engines, ui, max_follow_ups=1,
                           entries={"dropout-why": bank.get("dropout-why")}), speaker, ui


def test_speculation_is_used_only_for_the_same_text(mini_bank: Bank) -> None:
    entry = mini_bank.get("dropout-why")
    judge = SpeculativeFake()
    prepared: list[str] = []
    spec = Speculation(lambda: judge, assess, entry, {entry.question.text},
                       prepare_speech=prepared.append)
    spec.offer(fake_transcript("dropout randomly"), False)  # windows so far: warm only
    spec.offer(fake_transcript(A1), True)
    got = spec.judgement_for(fake_transcript(A1), timeout=10)
    assert got is not None and got.question_id == "dropout-why"
    assert [c.transcript for c in judge.history] == [A1]  # judged once, speculatively
    assert prepared == [got.follow_up]  # the follow-up's speech is synthesised ahead
    assert spec.judgement_for(fake_transcript(A1 + " and more"), timeout=1) is None
    spec.close()
    assert len(judge.history) == 1


def test_incomplete_transcripts_only_warm_the_judge(mini_bank: Bank) -> None:
    entry = mini_bank.get("dropout-why")
    judge = SpeculativeFake()
    spec = Speculation(lambda: judge, assess, entry, set())
    done = threading.Event()
    judge.warm = lambda e, t: (SpeculativeFake.warm(judge, e, t), done.set())  # type: ignore
    spec.offer(fake_transcript("dropout randomly zeroes units"), False)
    assert done.wait(10)
    assert judge.warmed == ["dropout randomly zeroes units"] and judge.history == []
    spec.close()


def test_a_judge_that_is_not_cheap_is_never_run_speculatively(mini_bank: Bank) -> None:
    entry = mini_bank.get("dropout-why")
    judge = declare_judge(FakeJudge())  # declares nothing: not speculative, like a remote LLM
    spec = Speculation(lambda: judge, assess, entry, set())
    spec.offer(fake_transcript(A1), True)
    assert spec.judgement_for(fake_transcript(A1), timeout=2) is None
    spec.close()
    assert isinstance(judge, DeclaredJudge) and isinstance(judge.inner, FakeJudge)
    assert judge.inner.history == []


def test_session_speaks_the_speculated_follow_up_without_judging_again(
        tmp_path: Path, mini_bank: Bank) -> None:
    judge = SpeculativeFake()
    judge.enqueue({"random-zeroing": ("covered", "dropout randomly zeroes units"),
                   "ensemble": ("covered", "like an ensemble")})
    tr = FakeTranscriber([A1, A2])
    tr.speculate = [A1, "at inference time"]  # the second answer goes on after its pause
    session, speaker, _ = _session(tmp_path, mini_bank, judge, tr, [A1, A2])
    rec = session.run()
    assert [c.transcript for c in judge.history] == [A1, "at inference time", A2]
    main, fu = rec.turns
    first = main.final_take.judgement if main.final_take else None
    assert first is not None and first.follow_up == fu.text  # asked from the speculation
    assert speaker.prepared[0] == fu.text  # prepared during the pause, then spoken
    assert fu.text in speaker.said
    assert "speculation_used" in session.timings[0].marks
    assert "speculation_used" not in session.timings[1].marks  # the text changed: judged anew
    assert fu.final_take is not None and fu.final_take.judgement is not None
    assert fu.final_take.transcript is not None and fu.final_take.transcript.text == A2


def test_refined_verdicts_are_appended_and_the_follow_up_kept(tmp_path: Path,
                                                             mini_bank: Bank) -> None:
    fast = FakeJudge()
    fast.enqueue({"random-zeroing": ("covered", "dropout randomly zeroes units")})
    slow = FakeJudge(info=JudgeInfo(backend="llama-cpp", model="slow"))
    slow.enqueue({"random-zeroing": ("covered", "dropout randomly zeroes units"),
                  "ensemble": ("covered", "like an ensemble")})
    judge = RefiningJudge(fast, slow)
    try:
        session, speaker, ui = _session(tmp_path, mini_bank, judge, FakeTranscriber([A1, A2]),
                                        [A1, A2])
        rec = session.run()
    finally:
        judge.close()
    take = rec.turns[0].final_take
    assert take is not None and len(take.judgements) == 2
    first, refined = take.judgements
    assert first.judge.backend == "fake" and refined.judge.backend == "llama-cpp"
    assert {p.point_id: p.status for p in refined.points}["ensemble"] == "covered"
    assert refined.score > first.score
    assert refined.follow_up == first.follow_up == rec.turns[1].text
    assert "LLM review (llama-cpp)" in ui.out.getvalue()  # type: ignore[attr-defined]
    assert "judge_choice" in rec.engines
