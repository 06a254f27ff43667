"""A session whose background LLM review fails (its worker died) says so in one line, keeps the
first-pass verdicts for that answer and carries on (fast: scripted judges; the real worker is
killed in test_llm_worker.py)."""

from __future__ import annotations

import io
from pathlib import Path

from interviewer.bank.loader import Bank
from interviewer.bank.models import BankEntry
from interviewer.factory import Ready, declare_judge
from interviewer.judge.fake import FakeJudge
from interviewer.judge.llm_worker import WorkerCrashed
from interviewer.judge.policy import assess
from interviewer.judge.refine import REVIEW_FAILED, RefiningJudge
from interviewer.protocols import Classification, JudgeInfo
from interviewer.session.loop import Engines, PracticeSession
from interviewer.session.store import SessionRecord, SessionStore, new_session_id, now_iso
from interviewer.session.ui import Console
from tests.session.fakes import FakeRecorder, FakeSpeaker, FakeTranscriber, mini_bank, mini_root

__all__ = ["mini_bank", "mini_root"]  # fixtures

A1 = "dropout randomly zeroes units during training so the network is like an ensemble"
A2 = "l2 adds the squared weights to the loss and shrinks weights toward zero"


class _DiesOnce:
    """A slow judge whose first review dies like a killed llama.cpp worker."""

    def __init__(self) -> None:
        self.info = JudgeInfo(backend="llama-cpp", model="m")
        self.calls = 0

    def classify(self, entry: BankEntry, transcript: str) -> Classification:
        self.calls += 1
        if self.calls == 1:
            raise WorkerCrashed("the llama.cpp judge worker died (killed by SIGKILL)")
        return FakeJudge(info=self.info, default="covered").classify(entry, transcript)


def test_a_dead_review_worker_is_one_line_and_the_session_carries_on(
        tmp_path: Path, mini_bank: Bank) -> None:
    store = SessionStore(tmp_path / "rec")
    plan = ["dropout-why", "l2-why"]
    rec = SessionRecord(id=new_session_id(), created=now_iso(), updated=now_iso(), plan=plan)
    store.create(rec)
    slow = _DiesOnce()
    judge = RefiningJudge(FakeJudge(), slow)
    engines = Engines(speaker=FakeSpeaker(), recorder=FakeRecorder([A1, A2]),
                      transcriber=Ready(FakeTranscriber([A1, A2])),
                      judge=Ready(declare_judge(judge)), assess=assess)
    out = io.StringIO()
    ui = Console(io.StringIO(), out, out, interactive=False, live=False)
    session = PracticeSession(rec, store, engines, ui, max_follow_ups=0,
                              entries={q: mini_bank.get(q) for q in plan})
    try:
        done = session.run()
    finally:
        judge.close()
    assert done.status == "completed"
    said = out.getvalue().splitlines()
    died = [line for line in said if "worker died" in line]
    assert len(died) == 1 and died[0].startswith("LLM review of your answer to dropout-why:")
    assert "first-pass verdicts kept" in died[0]
    first_q, second_q = (t.final_take for t in done.turns)
    assert first_q is not None and second_q is not None
    assert REVIEW_FAILED in first_q.judgements[-1].flags
    assert first_q.judgements[-1].points == first_q.judgements[0].points  # offline verdicts
    # the next answer was reviewed normally
    assert second_q.judgements[-1].judge.backend == "llama-cpp" and slow.calls == 2
