"""The practice loop: ask, record, transcribe while recording, judge, follow up, persist.

Depends only on the protocols (Speaker, Recorder, Transcriber, Judge and their declared optional
abilities) and pure code (judge policy, `session/exchange.py`), so tests drive it with fakes and
the CLI with real engines. A question and its follow-ups are one exchange: the next follow-up is
chosen from what every answer so far covered, a follow-up's answer is shown against what it asked,
and the question ends with a summary of the whole exchange. Every step is persisted before the
next one starts: the take's audio is on disk while it is recorded, and `session.json` is saved
after the question is asked, after the take, after the transcript and after the judgement.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from interviewer.bank.models import BankEntry
from interviewer.judge.refine import REVIEW_FAILED
from interviewer.protocols import (
    Judge,
    Judgement,
    Lazy,
    Recorder,
    SessionJudge,
    SessionSpeaker,
    StreamingTranscription,
    Transcriber,
    Transcript,
)
from interviewer.session import feedback
from interviewer.session.exchange import (
    QuestionExchange,
    build_exchange,
    follow_up_targets,
    with_exchange_follow_up,
)
from interviewer.session.metrics import delivery_metrics
from interviewer.session.speculate import JudgeFn, Speculation
from interviewer.session.store import SessionRecord, SessionStore, TakeRecord, Turn
from interviewer.session.ui import Console

#: How long the end of a session waits for background LLM refinements still running.
REFINE_FINAL_WAIT_S = 120.0


@dataclass
class Engines:
    """What a session talks to. `recorder` is None in `--text` mode."""

    speaker: SessionSpeaker
    recorder: Recorder | None
    transcriber: Lazy[Transcriber] | None  # may still be warming up in the background
    judge: Lazy[SessionJudge]
    assess: JudgeFn  # one answer against the whole rubric (`policy.assess`)
    prompt_for: Callable[[BankEntry], str | None] | None = None  # vocabulary bias for Whisper
    speculate: bool = True  # judge and prepare the follow-up during the end-of-answer pause


@dataclass
class Timings:
    """Per-take latency marks (time.monotonic()), for the turn-latency benchmark."""

    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str) -> None:
        self.marks[name] = time.monotonic()


class PracticeSession:
    """Runs one session over planned bank entries."""

    def __init__(self, record: SessionRecord, store: SessionStore, engines: Engines,
                 console: Console, *, max_follow_ups: int = 1,
                 entries: dict[str, BankEntry]) -> None:
        self.record, self.store, self.engines, self.ui = record, store, engines, console
        self.max_follow_ups = max_follow_ups
        self.entries = entries
        self.timings: list[Timings] = []
        self.quit_requested = False  # the candidate chose to quit (a normal end, not Ctrl-C)
        # First-pass judgements an LLM is still refining in the background (see judge/refine.py).
        self._refining: list[tuple[TakeRecord, BankEntry, str, set[str]]] = []
        self._spec: Speculation | None = None  # the current take's background judging

    # ------------------------------------------------------------------ top level
    def run(self) -> SessionRecord:
        """Ask every remaining planned question; Ctrl-C ends cleanly with everything saved."""
        try:
            self._resume_follow_up()
            for qid in self.record.remaining():
                if self.quit_requested:
                    break
                if qid in self.entries:  # absent: removed from the bank (the caller warned)
                    self.ask_question(self.entries[qid])
            self.record.status = "interrupted" if self.quit_requested else "completed"
            self._settle_refinements(REFINE_FINAL_WAIT_S)
        except KeyboardInterrupt:
            self.record.status = "interrupted"
            self.ui.say("\nStopped. Everything so far is saved.")
        finally:
            self.store.save(self.record)
        return self.record

    def ask_question(self, entry: BankEntry) -> None:
        turn = self._new_turn(entry.id, entry.question.text, "question")
        judgement = self._ask_and_answer(turn, entry, intro=f"Question: {entry.question.text}")
        if judgement is None:
            return
        self._follow_ups(turn, entry, judgement, self.max_follow_ups)

    def _follow_ups(self, turn: Turn, entry: BankEntry, judgement: Judgement | None,
                    budget: int) -> None:
        """Ask up to `budget` follow-ups aimed at the gaps, then close the question."""
        for _ in range(budget):
            if self.quit_requested or judgement is None or not judgement.follow_up:
                break
            fu = self._new_turn(entry.id, judgement.follow_up, "follow_up", parent=turn.index,
                                follow_up_id=judgement.follow_up_id)
            fu.targets = follow_up_targets(entry, judgement.follow_up_id)
            self.record.asked_follow_ups.append(judgement.follow_up)
            self.store.save(self.record)
            judgement = self._ask_and_answer(fu, entry, intro=f"Follow-up: {fu.text}")
        self._close_question(turn, entry)

    def _resume_follow_up(self) -> None:
        """On resume, ask again a follow-up left unanswered when the session stopped: its main
        question counts as done, so `remaining()` alone would skip it."""
        last = self.record.turns[-1] if self.record.turns else None
        if (last is None or last.kind != "follow_up" or last.skipped or last.parent is None
                or (last.final_take and last.final_take.status in ("judged", "no_answer"))
                or last.question_id not in self.entries):
            return
        entry, main = self.entries[last.question_id], self.record.turns[last.parent]
        asked = sum(1 for t in self.record.turns
                    if t.kind == "follow_up" and t.parent == main.index)
        judgement = self._ask_and_answer(last, entry, intro=f"Follow-up: {last.text}")
        if judgement is None:
            return
        self._follow_ups(main, entry, judgement, self.max_follow_ups - asked)

    # ------------------------------------------------------------------ one turn
    def _new_turn(self, qid: str, text: str, kind: Literal["question", "follow_up"], *,
                  parent: int | None = None,
                  follow_up_id: str | None = None) -> Turn:
        turn = Turn(index=len(self.record.turns), question_id=qid, text=text,
                    kind=kind, parent=parent, follow_up_id=follow_up_id)
        self.record.turns.append(turn)
        return turn

    def _speak(self, text: str) -> None:
        self.ui.status("asking…")
        self.engines.speaker.speak(text)
        self.ui.end_status()

    def _ask_and_answer(self, turn: Turn, entry: BankEntry, intro: str) -> Judgement | None:
        """Ask the turn's question, take answers until the candidate moves on."""
        self.ui.say(intro)
        turn.asked = self.engines.speaker.speak(turn.text)
        # The default Piper voice gives way to pyttsx3 if it cannot be loaded, which is known
        # only once it first speaks: record the engine that really spoke.
        self.record.engines["tts"] = self.engines.speaker.engine
        self.store.save(self.record)
        judgement: Judgement | None = None
        while True:
            take = self._take(turn, entry)
            judgement = take.judgement
            if take.status == "no_answer":
                self.ui.say("No answer heard.")
            choice = self.ui.choose()
            if choice == "repeat":
                self._speak(turn.text)
                continue
            if choice == "retry":
                continue
            if choice == "skip":
                turn.skipped = True
                self.store.save(self.record)
                return None
            if choice == "quit":
                self.quit_requested = True
            return judgement

    def _take(self, turn: Turn, entry: BankEntry) -> TakeRecord:
        rec = TakeRecord(index=len(turn.takes))
        turn.takes.append(rec)
        timing = Timings()
        self.timings.append(timing)
        self._spec = None
        if self.engines.recorder is None:  # --text
            try:
                answer = self.ui.read_answer()
            except KeyboardInterrupt:
                # Keep the lines typed so far as a partial take: stored, not judged (status
                # "recorded"), so `--resume` asks this turn again.
                if typed := self.ui.typed_so_far():
                    rec.typed_answer, rec.status = typed, "recorded"
                raise
            if answer is None:
                self.quit_requested = True
                rec.status = "no_answer"
                self.store.save(self.record)
                return rec
            rec.typed_answer = answer
            rec.transcript = Transcript(text=answer, duration_s=0.0, engine="typed", model="-")
            rec.status = "transcribed" if answer else "no_answer"
        else:
            self._record_and_transcribe(turn, entry, rec, timing)
        self.store.save(self.record)
        if rec.status == "transcribed" and rec.transcript is not None:
            self._judge(turn, entry, rec, timing)
        if self._spec is not None:
            self._spec.close()
        return rec

    def _record_and_transcribe(self, turn: Turn, entry: BankEntry, rec: TakeRecord,
                               timing: Timings) -> None:
        assert self.engines.recorder is not None
        name = f"turn{turn.index:02d}-take{rec.index}.wav"
        rec.audio = name
        self.store.save(self.record)  # the take exists before its first sample
        path = self.store.folder(self.record.id) / name
        stream = None
        if self.engines.transcriber is not None:
            prompt = self.engines.prompt_for(entry) if self.engines.prompt_for else None
            if self.engines.speculate:
                self._spec = Speculation(self.engines.judge, self._judge_fn(turn, rec), entry,
                                         self._asked(entry),
                                         prepare_speech=self.engines.speaker.prepare,
                                         rehearse=True)
            stream = _LazyStream(self.engines.transcriber, prompt,
                                 self._spec.offer if self._spec else None)
        self.ui.status("listening… (Enter ends the answer)")
        take = self.engines.recorder.record(path, on_chunk=stream.feed if stream else None)
        timing.mark("take_closed")
        rec.take = take
        if take.no_answer:
            rec.status = "no_answer"
            if stream:
                stream.cancel()
            return
        rec.status = "recorded"
        self.store.save(self.record)
        if stream is None:
            return
        self.ui.status("transcribing…")
        rec.transcript = stream.finish()
        timing.mark("transcript_final")
        rec.metrics = delivery_metrics(rec.transcript, take.speech_start_s)
        rec.status = "no_answer" if rec.transcript.no_speech else "transcribed"

    def _judge(self, turn: Turn, entry: BankEntry, rec: TakeRecord, timing: Timings) -> None:
        assert rec.transcript is not None
        self.ui.status("judging…")
        judge = self.engines.judge()
        asked = self._asked(entry)
        t0 = time.monotonic()
        # Judged already while the candidate paused, if the transcript did not change since.
        judgement = self._spec.judgement_for(rec.transcript) if self._spec else None
        if judgement is not None:
            timing.mark("speculation_used")
        else:
            judgement = self._judge_fn(turn, rec)(judge, entry, rec.transcript, asked)
        judgement.seconds = judgement.seconds or round(time.monotonic() - t0, 3)
        timing.mark("judged")
        rec.judgements.append(judgement)
        rec.status = "judged"
        self.record.engines["judge"] = f"{judgement.judge.backend}:{judgement.judge.model}"
        if "judge_choice" not in self.record.engines:  # say once which judge `auto` chose
            info = judge.info
            self.record.engines["judge_choice"] = f"{info.backend} ({info.model})" + (
                f": {info.note}" if info.note else "")
            self.ui.say(f"[judge: {self.record.engines['judge_choice']}]")
        self.store.save(self.record)
        self.ui.end_status()
        self._show_feedback(turn, entry, judgement)
        if judge.refines:
            self._refining.append((rec, entry, rec.transcript.text, asked))
        self._settle_refinements(0.0)

    def _asked(self, entry: BankEntry) -> set[str]:
        return set(self.record.asked_follow_ups) | {entry.question.text}

    def _settle_refinements(self, wait_s: float) -> None:
        """Store the LLM's refined verdicts of earlier takes that are ready (waiting up to
        `wait_s` for the rest); the first-pass judgement stays in the history before them."""
        if not self._refining:
            return
        judge = self.engines.judge()
        if wait_s > 0 and not all(judge.done(e, t) for _, e, t, _ in self._refining):
            self.ui.status("the LLM judge is finishing its review…")
        deadline = time.monotonic() + wait_s
        left, stored = [], False
        for rec, entry, text, asked in self._refining:
            if not judge.done(entry, text) and wait_s > 0:
                judge.refined(entry, text, timeout=max(0.0, deadline - time.monotonic()))
            if not judge.done(entry, text):
                left.append((rec, entry, text, asked))
                continue
            first = rec.judgements[-1]
            refined = judge.refine(first, entry, text, asked, timeout=0)
            if refined is not first:
                rec.judgements.append(refined)
                self._show_refinement(first, refined)
                stored = True
        self._refining = left
        if stored:
            self.store.save(self.record)
        self.ui.end_status()

    def _show_refinement(self, first: Judgement, refined: Judgement) -> None:
        if REVIEW_FAILED in refined.flags:  # e.g. the LLM's worker died: one line, carry on
            self.ui.say(f"LLM review of your answer to {first.question_id}: "
                        f"{refined.judge.note}")
            return
        changed = [(a, b) for a, b in zip(first.points, refined.points, strict=True)
                   if a.status != b.status]
        head = f"LLM review ({refined.judge.backend}) of your answer to " \
               f"{first.question_id}: score {first.score:.0%} → {refined.score:.0%}"
        self.ui.say(head + ("" if changed else ", verdicts unchanged."))
        for a, b in changed:
            self.ui.say(f"  {a.point}: {a.status} → {b.status}")

    # ------------------------------------------------------------------ the exchange
    def _main_of(self, turn: Turn) -> Turn:
        return self.record.turns[turn.parent] if turn.parent is not None else turn

    def _exchange(self, main: Turn, entry: BankEntry | None) -> QuestionExchange:
        """The main question `main` and its follow-ups so far, scored as one."""
        turns = [main, *(t for t in self.record.turns
                         if t.kind == "follow_up" and t.parent == main.index)]
        return build_exchange(turns, entry)

    def _judge_fn(self, turn: Turn, rec: TakeRecord) -> JudgeFn:
        """The engines' assess (one answer, whole rubric) with the follow-up re-chosen from the
        exchange's coverage: what earlier takes covered is never probed again."""
        main = self._main_of(turn)
        before = self._exchange(main, self.entries.get(main.question_id))
        position = next(i for i, t in enumerate(before.turns) if t.turn is turn)
        earlier = [(j.follow_up, j.follow_up_id) for t in before.turns for k in t.turn.takes
                   if (j := k.judgement) is not None]

        def judge_fn(judge: Judge, entry: BankEntry, transcript: Transcript,
                     asked: set[str]) -> Judgement:
            j = self.engines.assess(judge, entry, transcript, asked)
            return with_exchange_follow_up(j, entry, before.coverage, position, rec.index,
                                           asked, earlier)
        return judge_fn

    def _show_feedback(self, turn: Turn, entry: BankEntry, j: Judgement) -> None:
        if turn.kind == "question":
            lines = feedback.answer_lines(j.points, j.score)
        else:
            ex = self._exchange(self._main_of(turn), entry)
            # Points credited by any other take of the exchange (this one is the newest).
            already = {p.point_id for t in ex.turns for k in t.turn.takes if k is not
                       turn.final_take and (kj := k.judgement) is not None
                       for p in kj.points if p.status != "missing"}
            lines = feedback.follow_up_lines(j.points, turn.targets or [], already)
        for line in lines:
            self.ui.say(line)

    def _close_question(self, turn: Turn, entry: BankEntry) -> None:
        """Print and speak a summary of the whole exchange once its follow-ups are done."""
        summary = feedback.summary(self._exchange(turn, entry))
        if summary is None:
            return
        self.ui.say(summary)
        self.engines.speaker.speak(summary)


class _LazyStream:
    """Buffers audio until the transcriber has warmed up, then streams into it."""

    def __init__(self, transcriber: Lazy[Transcriber], prompt: str | None,
                 on_update: Callable[[Transcript, bool], None] | None = None) -> None:
        self._transcriber, self._prompt, self._on_update = transcriber, prompt, on_update
        self._stream: StreamingTranscription | None = None
        self._pending: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._cancelled = False

    def _ensure(self) -> StreamingTranscription:
        if self._stream is None:
            self._stream = self._transcriber().stream(prompt=self._prompt)
            self._stream.on_update = self._on_update  # before any audio: see every update
            for chunk in self._pending:
                self._stream.feed(chunk)
            self._pending.clear()
        return self._stream

    def feed(self, chunk: np.ndarray) -> None:
        with self._lock:
            if self._cancelled:
                return
            if self._stream is not None or self._transcriber.ready():
                self._ensure().feed(chunk)
            else:
                self._pending.append(chunk)

    def finish(self) -> Transcript:
        with self._lock:
            return self._ensure().finish()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            self._pending.clear()
