"""Mock interview mode: a plan's segments (or the seed's loops) on a clock.

`plan_interview` turns a plan (or `--loop N|all`) into an `InterviewState` stored with the
session. `InterviewSession` runs it: the practice loop (`session/loop.py`) with

- the segment announced when it changes ("Let's move to a debugging question");
- each answer on an `AnswerTimer` against its budget: the clock shown at the start, a short
  spoken warning near the end of the budget, and at the hard cap a polite move-on — the
  microphone recorder is given the cap as its maximum answer length so the take ends whole; a
  typed answer cannot be cut off, so its time is measured and the overrun noted;
- a loop segment (`follow_ups: all`) asks every follow-up of the rubric: those aimed at points
  still not covered first, then the rest in the document's order;
- pacing feedback after each answer and a pacing summary at the end;
- the interview clock saved with every save, so `--resume` continues it; at a question boundary
  after the interview's time is up, the interview stops politely.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from interviewer.bank.loader import Bank
from interviewer.bank.models import BankEntry, FollowUp
from interviewer.bank.plans import (
    LOOPS_PLAN,
    PlanFile,
    draw,
    find_plan,
    load_plan,
)
from interviewer.errors import UsageError
from interviewer.protocols import ChunkCallback, Judgement, Recorder, Take
from interviewer.session.clock import AnswerTimer, Clock, InterviewClock, mmss
from interviewer.session.loop import Engines, PracticeSession
from interviewer.session.pacing import pacing_line, pacing_summary
from interviewer.session.store import SessionRecord, SessionStore, TakeRecord, Turn
from interviewer.session.timeline import InterviewState
from interviewer.session.ui import Console

#: Gives a recorder that ends answers at `max_s` seconds (the factory's `limit_answer_length`).
LimitRecorder = Callable[[Recorder, float], Recorder]


# --------------------------------------------------------------------------- planning
def parse_loops(value: str) -> list[int]:
    """`--loop N|all` as loop numbers."""
    if value.strip().lower() == "all":
        return list(range(1, 9))
    try:
        numbers = [int(v) for v in value.split(",")]
    except ValueError:
        numbers = []
    if not numbers or any(not 1 <= n <= 8 for n in numbers):
        raise UsageError(f"--loop {value!r}: give a loop number 1–8 (or several: 1,3) or 'all'")
    return numbers


def plan_interview(project_root: Path, bank: Bank, *, plan: str | None = None,
                   loops: list[int] | None = None, minutes: float | None = None,
                   seed: int | None = None, drill_order: list[str] | None = None
                   ) -> InterviewState:
    """The interview a `--plan` or `--loop` asks for, questions drawn and budgets set."""
    path = find_plan(plan or LOOPS_PLAN, project_root)
    spec = load_plan(path)
    if loops:  # the seed-loops plan, only the chosen loops; budgets as that plan sets them
        chosen = [s for s in spec.segments if s.loop in loops]
        if not chosen:
            raise UsageError(f"{path}: no segment for loop(s) {loops}")
        segments = draw(spec.model_copy(update={"segments": chosen}), bank, source=str(path))
        natural = sum(s.budget_s for s in segments) / 60
        spec = PlanFile(name=spec.name, title=_loops_title(loops), minutes=round(natural, 2),
                        segments=chosen)
    segments = draw(spec, bank, source=str(path), minutes=minutes, seed=seed,
                    drill_order=drill_order or ())
    return InterviewState(plan=spec.name, title=spec.title,
                          budget_s=round((minutes or spec.minutes) * 60, 1), segments=segments)


def _loops_title(loops: list[int]) -> str:
    if len(loops) == 1:
        return f"Mock interview Loop {loops[0]}"
    return "Mock interview loops " + ", ".join(str(n) for n in loops)


def next_loop_follow_up(entry: BankEntry, asked_ids: set[str],
                        not_covered: set[str]) -> FollowUp | None:
    """A loop's next follow-up: the first unasked one aimed at a point not yet covered, else the
    first unasked one (the rubric keeps the document's order)."""
    left = [f for f in entry.rubric.follow_ups if f.id not in asked_ids]
    aimed = [f for f in left if not_covered.intersection(f.targets)]
    return (aimed or left)[0] if left else None


# --------------------------------------------------------------------------- terminal and mic
class TimedConsole(Console):
    """The session console, with typed answers on the answer clock and the between-turns menu
    skipped once after a hard cap (the interviewer moves on)."""

    timer: AnswerTimer | None = None
    move_on = False

    def read_answer(self) -> str | None:
        try:
            return super().read_answer()
        finally:
            if self.timer is not None:  # typing has ended: the warning and cap must not fire
                self.timer.stop()

    def choose(self) -> str:
        if self.move_on:
            self.move_on = False
            return "next"
        return super().choose()


class _TimedRecorder:
    """A Recorder whose take stops the answer clock the moment it closes."""

    def __init__(self, inner: Recorder, timer: AnswerTimer) -> None:
        self.inner, self.timer = inner, timer

    def record(self, path: Path, *, on_chunk: ChunkCallback | None = None) -> Take:
        try:
            return self.inner.record(path, on_chunk=on_chunk)
        finally:
            self.timer.stop()


class _ClockedStore(SessionStore):
    """The session's store, writing the interview clock into the record at every save."""

    def __init__(self, inner: SessionStore, state: InterviewState, clock: InterviewClock) -> None:
        super().__init__(inner.root)
        self._state, self._clock = state, clock

    def save(self, record: SessionRecord) -> None:
        self._state.elapsed_s = self._clock.elapsed()
        super().save(record)


# --------------------------------------------------------------------------- the session
class InterviewSession(PracticeSession):
    """The practice loop run as a timed mock interview (see the module docstring)."""

    def __init__(self, record: SessionRecord, store: SessionStore, engines: Engines,
                 console: TimedConsole, *, entries: dict[str, BankEntry], clock: Clock,
                 limit_recorder: LimitRecorder | None = None) -> None:
        if record.interview is None:
            raise ValueError("InterviewSession needs a record with an interview")
        self.state = record.interview
        self.clock = clock
        self.interview_clock = InterviewClock(clock, self.state.elapsed_s, self.state.budget_s)
        super().__init__(record, _ClockedStore(store, self.state, self.interview_clock),
                         engines, console, entries=entries)
        self.console = console
        self._mic, self._limit = engines.recorder, limit_recorder
        asked = [t.segment for t in record.turns if t.segment is not None]
        self._segment_now: int | None = asked[-1] if asked else None
        self._out_of_time = False

    def run(self) -> SessionRecord:
        """Run the remaining interview; then the pacing summary and where the clock stands."""
        record = super().run()
        if self._out_of_time:
            record.status, self.state.ended = "completed", "out_of_time"
        elif record.status == "completed":
            self.state.ended = "completed"
        if record.status == "completed" or self.quit_requested:
            for line in pacing_summary(record.turns):
                self.ui.say(line)
            self.ui.say(f"Interview clock: {mmss(self.interview_clock.elapsed())} of "
                        f"{mmss(self.state.budget_s)}.")
        self.store.save(record)
        return record

    def ask_question(self, entry: BankEntry) -> None:
        if self.interview_clock.over():
            if not self._out_of_time:
                self._announce("We're at time, so let's stop here. Thank you.")
            self._out_of_time = self.quit_requested = True
            return
        located = self.state.locate(entry.id)
        if located is not None and located[0] != self._segment_now:
            self._segment_now = located[0]
            self._announce(self.state.segments[located[0]].announce)
        super().ask_question(entry)

    def _announce(self, text: str) -> None:
        self.ui.say(text)
        self.engines.speaker.speak(text)

    def _new_turn(self, qid: str, text: str, kind: Literal["question", "follow_up"], *,
                  parent: int | None = None, follow_up_id: str | None = None) -> Turn:
        turn = super()._new_turn(qid, text, kind, parent=parent, follow_up_id=follow_up_id)
        if (located := self.state.locate(qid)) is not None:
            seg, planned = located
            turn.segment = seg
            turn.budget_s = planned.answer_s if kind == "question" else planned.follow_up_s
        return turn

    # ------------------------------------------------------------------ follow-ups
    def _follow_ups(self, turn: Turn, entry: BankEntry, judgement: Judgement | None,
                    budget: int) -> None:
        """A loop segment asks every follow-up; others the segment's number (less those asked
        before a `--resume`)."""
        located = self.state.locate(entry.id)
        if located is None:
            return super()._follow_ups(turn, entry, judgement, budget)
        wanted = self.state.segments[located[0]].follow_ups
        if wanted is not None:
            return super()._follow_ups(turn, entry, judgement,
                                       wanted - len(self._asked_ids(turn)))
        self._loop_follow_ups(turn, entry)

    def _resume_follow_up(self) -> None:
        """On `--resume`: the unanswered follow-up again (the practice loop's rule), then the
        rest of a loop whose follow-ups were cut short by the stop."""
        super()._resume_follow_up()
        mains = self.record.main_turns()
        if not mains or self.quit_requested or mains[-1].question_id not in self.entries:
            return
        main, entry = mains[-1], self.entries[mains[-1].question_id]
        located = self.state.locate(entry.id)
        answered = main.final_take is not None and main.final_take.status == "judged"
        if located is None or self.state.segments[located[0]].follow_ups is not None \
                or not answered:
            return
        if next_loop_follow_up(entry, set(self._asked_ids(main)), set()) is not None:
            self._loop_follow_ups(main, entry)

    def _asked_ids(self, main: Turn) -> list[str]:
        return [t.follow_up_id or t.text for t in self.record.turns
                if t.kind == "follow_up" and t.parent == main.index]

    def _loop_follow_ups(self, main: Turn, entry: BankEntry) -> None:
        while not self.quit_requested:
            coverage = self._exchange(main, entry).coverage
            not_covered = {p.id for p in entry.rubric.points} if coverage is None else {
                p.point_id for p in coverage.points if p.status != "covered"}
            nxt = next_loop_follow_up(entry, set(self._asked_ids(main)), not_covered)
            if nxt is None:
                break
            fu = self._new_turn(entry.id, nxt.text, "follow_up", parent=main.index,
                                follow_up_id=nxt.id)
            fu.targets = list(nxt.targets)
            self.record.asked_follow_ups.append(nxt.text)
            self.store.save(self.record)
            self._ask_and_answer(fu, entry, intro=f"Follow-up: {fu.text}")
        self._close_question(main, entry)

    # ------------------------------------------------------------------ the answer clock
    def _take(self, turn: Turn, entry: BankEntry) -> TakeRecord:
        if turn.budget_s is None:
            return super()._take(turn, entry)
        timer = AnswerTimer(self.clock, turn.budget_s, on_warning=self._warn,
                            on_cap=self._cap)
        started = self.interview_clock.elapsed()
        self.ui.say(f"[clock] answer 0:00 / {mmss(turn.budget_s)} · interview "
                    f"{mmss(started)} / {mmss(self.state.budget_s)}")
        self.console.timer = timer
        if self._mic is not None:  # the hard cap is the recorder's maximum answer length
            mic = self._limit(self._mic, timer.cap_s) if self._limit else self._mic
            self.engines.recorder = _TimedRecorder(mic, timer)
        timer.start()
        try:
            rec = super()._take(turn, entry)
        finally:
            timer.stop()
            self.console.timer = None
        self._after_answer(turn, rec, timer, started)
        return rec

    def _after_answer(self, turn: Turn, rec: TakeRecord, timer: AnswerTimer,
                      started: float) -> None:
        assert turn.budget_s is not None
        rec.answer_s = round(rec.take.duration_s, 2) if rec.take else timer.seconds
        rec.started_s = started
        capped = timer.capped or (rec.take is not None and rec.take.ended_by == "max_length")
        if rec.status != "no_answer" or rec.answer_s:
            self.ui.say(pacing_line(rec.answer_s or 0.0, turn.budget_s, rec.metrics,
                                    typed=rec.take is None, capped=capped))
        self.ui.say(f"[clock] interview {mmss(self.interview_clock.elapsed())} / "
                    f"{mmss(self.state.budget_s)}")
        if capped:
            self.console.move_on = True
            self._announce("Thank you, that's the time for this one; let's move on.")
        self.store.save(self.record)

    def _warn(self, left_s: float) -> None:
        """Near the end of the budget (on the clock's thread): a short spoken warning."""
        text = f"About {max(1, round(left_s))} seconds left."
        self.ui.say(f"[clock] {text}")
        self.engines.speaker.speak(text)

    def _cap(self) -> None:
        """At the hard cap: the recorder ends a spoken take itself; typing cannot be cut off,
        so the candidate is asked to wrap up and the overrun is noted after the answer."""
        if self._mic is None:
            self.ui.say("[clock] Time is up for this answer: please wrap up.")


__all__ = ["InterviewSession", "LimitRecorder", "TimedConsole", "next_loop_follow_up",
           "parse_loops", "plan_interview"]
