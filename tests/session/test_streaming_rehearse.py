"""Issue 17: the answer is judged while it is still growing, and the follow-up it would get is
synthesised then, so the final judgement finds that follow-up's audio ready (fakes)."""

from __future__ import annotations

import time

from interviewer.bank.loader import Bank
from interviewer.judge.policy import assess
from interviewer.session.speculate import Speculation
from tests.session.fakes import fake_transcript
from tests.session.test_speculation import A1, SpeculativeFake


def test_a_growing_answer_is_judged_and_its_follow_up_prepared_before_the_end(
        mini_bank: Bank) -> None:
    entry = mini_bank.get("dropout-why")
    judge = SpeculativeFake()
    prepared: list[str] = []
    spec = Speculation(lambda: judge, assess, entry, {entry.question.text},
                       prepare_speech=prepared.append, rehearse=True)
    spec.offer(fake_transcript("dropout randomly zeroes units"), False)  # still speaking
    deadline = time.monotonic() + 10  # a newer offer replaces one not started yet: let it run
    while not prepared and time.monotonic() < deadline:
        time.sleep(0.01)
    spec.offer(fake_transcript(A1), True)  # the pause: what finish() will return
    final = spec.judgement_for(fake_transcript(A1), timeout=10)
    spec.close()
    assert final is not None and final.follow_up
    assert spec.rehearsed == 1 and judge.warmed == ["dropout randomly zeroes units"]
    # Judged twice (the growing answer, then the final text); only the final one is kept.
    assert [c.transcript for c in judge.history] == ["dropout randomly zeroes units", A1]
    assert spec.judgement_for(fake_transcript("dropout randomly zeroes units"), timeout=0) is None
    # The growing answer's follow-up was synthesised first; the final one is the same text here
    # (the speaker's prepare() skips a text it already holds).
    assert prepared[0] == final.follow_up


def test_without_rehearse_a_growing_answer_only_warms_the_judge(mini_bank: Bank) -> None:
    entry = mini_bank.get("dropout-why")
    judge = SpeculativeFake()
    prepared: list[str] = []
    spec = Speculation(lambda: judge, assess, entry, set(), prepare_speech=prepared.append)
    spec.offer(fake_transcript("dropout randomly zeroes units"), False)
    spec.offer(fake_transcript(A1), True)
    assert spec.judgement_for(fake_transcript(A1), timeout=10) is not None
    spec.close()
    assert spec.rehearsed == 0 and [c.transcript for c in judge.history] == [A1]
