"""Mock interview mode with fakes and fake time: plan files and their errors, the clock (warnings,
hard cap), loop follow-up order, segment announcements, pacing, and resume mid-interview."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from interviewer.bank.loader import Bank, load_bank
from interviewer.bank.plans import draw, find_plan, load_plan, loop_entry
from interviewer.errors import BankError
from interviewer.factory import Ready, declare_judge
from interviewer.judge.fake import FakeJudge
from interviewer.judge.policy import assess
from interviewer.protocols import Recorder
from interviewer.session.clock import AnswerTimer, ManualClock, hard_cap
from interviewer.session.interview import InterviewSession, TimedConsole, plan_interview
from interviewer.session.loop import Engines
from interviewer.session.report import build_report
from interviewer.session.store import SessionRecord, SessionStore, new_session_id, now_iso
from tests.session.fakes import FakeRecorder, FakeSpeaker, FakeTranscriber

ROOT = Path(__file__).resolve().parents[2]
LOOP1 = "logistic-regression-cross-entropy-vs-mse"
LOOP2 = "which-distribution-new-value"


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank(ROOT / "question_bank", ROOT / "rubrics")


# --------------------------------------------------------------------------- plans
def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my-plan.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("body, field", [
    ("name: pp\ntitle: t\nminutes: 10\nsegments:\n  - {name: aa, kinds: [poetry]}\n",
     "segments[0].kinds[0]"),
    ("name: pp\ntitle: t\nminutes: 10\nsegments:\n  - {name: aa, colour: red}\n",
     "segments[0].colour"),
    ("name: pp\ntitle: t\nminutes: -3\nsegments:\n  - {name: aa}\n", "minutes"),
    ("name: pp\ntitle: t\nminutes: 10\nsegments: []\n", "segments"),
    ("name: pp\ntitle: t\nminutes: 10\nsegments:\n  - {name: aa, loop: 2, kinds: [coding]}\n",
     "segments[0]"),
    ("name: pp\ntitle: t\nminutes: 10\nsegments:\n  - {name: aa, follow_ups: some}\n",
     "segments[0].follow_ups"),
])
def test_bad_plan_is_one_file_field_line(tmp_path: Path, body: str, field: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(BankError) as err:
        load_plan(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{path}: {field}"), msg


def test_plan_yaml_problems_and_bank_mismatches_name_the_file(tmp_path: Path,
                                                              bank: Bank) -> None:
    with pytest.raises(BankError, match=r"my-plan\.yaml:2:1: invalid YAML: duplicate key 'name'"):
        load_plan(write(tmp_path, "name: pp\nname: q\ntitle: t\nminutes: 1\nsegments: []\n"))
    plan = load_plan(write(tmp_path, "name: pp\ntitle: t\nminutes: 10\nsegments:\n"
                                     "  - {name: aa}\n  - {name: bb, questions: [no-such-q]}\n"))
    with pytest.raises(BankError, match=r"^my-plan.yaml: segments\[1\]\.questions: not in the "
                                        r"bank: no-such-q$"):
        draw(plan, bank, source="my-plan.yaml")
    plan = load_plan(write(tmp_path, "name: pp\ntitle: t\nminutes: 10\nsegments:\n"
                                     "  - {name: aa, topics: [graph-ml], kinds: [behavioral]}\n"))
    with pytest.raises(BankError, match=r"segments\[0\]: no bank question matches"):
        draw(plan, bank, source="x")


def test_shipped_plans_draw_distinct_questions_within_their_minutes(bank: Bank) -> None:
    for name in ("ml-engineer-45", "llm-engineer-30", "seed-loops"):
        plan = load_plan(find_plan(name, ROOT))
        segments = draw(plan, bank, source=name, seed=3)
        ids = [q.id for s in segments for q in s.questions]
        assert len(ids) == len(set(ids)) and all(i in bank.entries for i in ids)
        assert sum(s.budget_s for s in segments) <= plan.minutes * 60, name
    kinds = {bank.entries[q.id].question.kind.value for s in draw(
        load_plan(find_plan("ml-engineer-45", ROOT)), bank) for q in s.questions}
    assert {"concept", "coding", "debugging", "system-design", "research",
            "behavioral"} <= kinds
    # Every seed loop is banked, with the document's three follow-ups.
    for n in range(1, 9):
        entry = loop_entry(bank, n)
        assert entry is not None and len(entry.rubric.follow_ups) == 3, n


def test_minutes_scale_budgets_and_drill_puts_weak_questions_first(bank: Bank) -> None:
    full = plan_interview(ROOT, bank, plan="ml-engineer-45", seed=1)
    short = plan_interview(ROOT, bank, plan="ml-engineer-45", seed=1, minutes=4.5)
    assert short.budget_s == 270 and full.budget_s == 2700
    assert short.segments[0].questions[0].answer_s == pytest.approx(
        full.segments[0].questions[0].answer_s / 10, abs=0.1)
    weak = [e.id for e in bank if e.question.kind.value == "debugging"][-1]
    drilled = plan_interview(ROOT, bank, plan="ml-engineer-45", seed=1, drill_order=[weak])
    assert drilled.segments[3].questions[0].id == weak
    loop = plan_interview(ROOT, bank, loops=[1])
    assert [q.id for s in loop.segments for q in s.questions] == [LOOP1]
    assert loop.segments[0].follow_ups is None  # every follow-up
    assert loop.budget_s == 180 + 3 * 90


# --------------------------------------------------------------------------- the clock
def test_answer_timer_warns_then_caps_once_and_stop_cancels() -> None:
    clock = ManualClock()
    events: list[tuple[str, float]] = []
    timer = AnswerTimer(clock, 120, on_warning=lambda left: events.append(("warn", left)),
                        on_cap=lambda: events.append(("cap", clock.now() - 1000)))
    timer.start()
    clock.advance(89)
    assert events == []
    clock.advance(2)
    assert events == [("warn", 30)]  # 30 s before the budget, at 90 s
    clock.advance(60)
    assert events[-1] == ("cap", hard_cap(120)) and hard_cap(120) == 150
    assert timer.stop() == 151 and timer.warned and timer.capped
    quiet = AnswerTimer(clock, 20, on_warning=lambda _: events.append(("late", 0)),
                        on_cap=lambda: events.append(("late", 0)))
    quiet.start()
    clock.advance(10)
    assert quiet.stop() == 10
    clock.advance(100)
    assert ("late", 0) not in events  # a stopped answer never warns


# --------------------------------------------------------------------------- sessions
class TypingConsole(TimedConsole):
    """Typed answers that each take a scripted number of seconds of fake time."""

    def __init__(self, clock: ManualClock, answers: list[tuple[str, float]]) -> None:
        super().__init__(io.StringIO(), io.StringIO(), io.StringIO(), interactive=False,
                         live=False)
        self.clock, self.answers = clock, answers

    def read_answer(self) -> str | None:
        if not self.answers:
            return None
        text, seconds = self.answers.pop(0)
        self.clock.advance(seconds)  # warnings and the cap fire while "typing"
        if self.timer is not None:
            self.timer.stop()
        return text

    @property
    def printed(self) -> str:
        out = self.out
        assert isinstance(out, io.StringIO)
        return out.getvalue()


def interview(tmp_path: Path, bank: Bank, state_kwargs: dict[str, object], judge: FakeJudge,
              console: TypingConsole, clock: ManualClock, *, recorder: FakeRecorder | None = None,
              texts: list[str] | None = None,
              record: SessionRecord | None = None) -> tuple[InterviewSession, FakeSpeaker,
                                                           list[float]]:
    store = SessionStore(tmp_path / "rec")
    if record is None:
        state = plan_interview(ROOT, bank, **state_kwargs)  # type: ignore[arg-type]
        record = SessionRecord(id=new_session_id(), created=now_iso(), updated=now_iso(),
                               plan=state.question_ids(), interview=state)
        store.create(record)
    speaker, caps = FakeSpeaker(), []

    def limit(rec: Recorder, max_s: float) -> Recorder:
        caps.append(max_s)
        return rec

    engines = Engines(speaker=speaker, recorder=recorder,
                      transcriber=Ready(FakeTranscriber(texts or [])) if recorder else None,
                      judge=Ready(declare_judge(judge)), assess=assess)
    entries = {q: bank.entries[q] for q in record.plan}
    return InterviewSession(record, store, engines, console, entries=entries, clock=clock,
                            limit_recorder=limit), speaker, caps


A_PRIORS_MISSING = ("I compare the likelihood under each fitted Gaussian, or a kernel density "
                    "estimate, and say it is ambiguous when they overlap.")


def test_loop_asks_every_follow_up_gaps_first_on_the_clock(tmp_path: Path, bank: Bank) -> None:
    clock, judge = ManualClock(), FakeJudge()
    judge.enqueue({"likelihood-comparison": ("covered", "I compare the likelihood"),
                   "gaussian-plug-in": ("covered", "each fitted Gaussian"),
                   "kde-fallback": ("covered", "a kernel density estimate"),
                   "overlap-ambiguity": ("covered", "ambiguous when they overlap"),
                   "priors": "missing"})
    console = TypingConsole(clock, [(A_PRIORS_MISSING, 170), ("more common wins", 25),
                                    ("same mean: compare variances", 100), ("few: use a prior",
                                                                            20)])
    session, speaker, _ = interview(tmp_path, bank, {"loops": [2]}, judge, console, clock)
    record = session.run()
    turns = record.turns
    # The prompt, then the follow-up aimed at the missed point (priors), then the rest in the
    # document's order.
    assert [t.follow_up_id for t in turns] == [None, "one-class-common", "same-mean",
                                               "few-samples"]
    assert [t.budget_s for t in turns] == [180, 90, 90, 90]
    assert [t.takes[0].answer_s for t in turns] == [170, 25, 100, 20]
    printed = console.printed
    assert "Let's move to Loop 2, probability and statistics." in speaker.said
    assert "About 30 seconds left." in speaker.said  # 170 s passes the 150 s warning point
    assert "About 22 seconds left." in speaker.said  # the 90 s follow-up: warned at 67.5 s
    assert "Pacing: 2:50 of 3:00" in printed
    assert "Pacing: 1:40 of 1:30 (0:10 over)" in printed
    assert "Ran long: turn 3 (1:40 of 1:30)" in printed
    assert "Ran short: turn 2 (0:25 of 1:30); turn 4 (0:20 of 1:30)" in printed
    assert record.status == "completed" and record.interview is not None
    assert record.interview.elapsed_s == 315 and record.interview.ended == "completed"
    report = build_report(record, bank)
    assert [t.answer_s for t in report.questions[0].turns] == [170, 25, 100, 20]
    assert report.interview is not None and report.interview.timeline[2].pace == "long"


def test_typed_answer_past_the_cap_moves_on_and_notes_the_overrun(tmp_path: Path,
                                                                  bank: Bank) -> None:
    clock = ManualClock()
    console = TypingConsole(clock, [("a long answer", 250)])
    session, speaker, _ = interview(tmp_path, bank, {"loops": [1]}, FakeJudge(), console, clock)
    session.run()
    printed = console.printed
    assert "[clock] Time is up for this answer: please wrap up." in printed
    assert "Pacing: 4:10 of 3:00 (1:10 over, stopped at the cap)" in printed
    assert any("let's move on" in s for s in speaker.said)
    take = session.record.turns[0].takes[0]
    assert take.answer_s == 250 and take.typed_answer == "a long answer"  # kept whole


def test_spoken_answer_gets_the_cap_as_max_length(tmp_path: Path, bank: Bank) -> None:
    clock = ManualClock()
    console = TypingConsole(clock, [])
    recorder = FakeRecorder(["x"])
    session, speaker, caps = interview(tmp_path, bank, {"loops": [1]}, FakeJudge(), console,
                                       clock, recorder=recorder, texts=["an answer"])
    session.run()
    assert caps and caps[0] == hard_cap(180)  # the recorder ends the take at the hard cap
    assert session.record.turns[0].takes[0].answer_s == 1.0  # the take's recorded length


def test_plan_announces_segments_and_stops_when_the_time_is_up(tmp_path: Path,
                                                               bank: Bank) -> None:
    clock = ManualClock()
    console = TypingConsole(clock, [("an answer", 200)] * 20)
    session, speaker, _ = interview(tmp_path, bank, {"plan": "ml-engineer-45", "minutes": 9,
                                                     "seed": 2}, FakeJudge(), console, clock)
    record = session.run()
    assert speaker.said[0] == "Let's start with a warm-up question."
    assert "Let's move to a couple of theory questions." in speaker.said
    assert "We're at time, so let's stop here. Thank you." in speaker.said
    assert record.status == "completed" and record.interview is not None
    assert record.interview.ended == "out_of_time"
    assert len(record.main_turns()) < len(record.plan)


def test_resume_mid_interview_keeps_the_clock_and_the_loop(tmp_path: Path, bank: Bank) -> None:
    clock = ManualClock()
    console = TypingConsole(clock, [("first answer", 100), ("second answer", 40)])
    session, _, _ = interview(tmp_path, bank, {"loops": [1]}, FakeJudge(), console, clock)
    record = session.run()  # typing ran out after the first follow-up: stopped
    assert record.status == "interrupted" and len(record.turns) == 3
    assert record.interview is not None and record.interview.elapsed_s == 140
    stored = SessionStore(tmp_path / "rec").load(record.id)
    assert stored.interview is not None and stored.interview.elapsed_s == 140

    clock2 = ManualClock(start=50)
    console2 = TypingConsole(clock2, [("third", 10)])
    resumed, speaker2, _ = interview(tmp_path, bank, {}, FakeJudge(), console2, clock2,
                                     record=stored)
    final = resumed.run()
    ids = [t.follow_up_id for t in final.turns if t.kind == "follow_up"]
    # The loop goes on where it stopped: its last follow-up (the one typing ran out on stays a
    # "no answer", as in any practice session).
    assert ids == ["derive-logit-gradient", "why-p-minus-y", "mse-in-classification"]
    assert final.turns[-1].takes[0].answer_s == 10 and final.turns[-1].takes[0].started_s == 140
    assert final.status == "completed" and final.interview is not None
    assert final.interview.elapsed_s == 150  # 140 before the stop + 10 after resuming
    assert not any(s.startswith("Let's move to") for s in speaker2.said)  # same segment
    assert "Interview clock: 2:30 of 7:30." in console2.printed


def test_factory_caps_the_microphone_recorder_per_answer(tmp_path: Path) -> None:
    from interviewer.audio.recorder import SoundDeviceRecorder
    from interviewer.factory import limit_answer_length

    mic = SoundDeviceRecorder(max_s=240, enter_ends=False, meter=False)
    capped = limit_answer_length(mic, 37.5)
    assert isinstance(capped, SoundDeviceRecorder) and capped.config.max_s == 37.5
    assert mic.config.max_s == 240  # the session's recorder keeps its own maximum
    files = FakeRecorder(["x"])
    assert limit_answer_length(files, 10) is files  # recorded files are as long as they are
