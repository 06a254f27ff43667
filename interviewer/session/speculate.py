"""Judging before the answer is over: the session's use of the pause before the end rule fires.

The end-of-answer rule waits for a few seconds of silence. Meanwhile the streaming transcriber
decodes the open speech window speculatively and reports the transcript `finish()` would return
(`on_update(transcript, complete=True)`, see `interviewer.asr.streaming`). `Speculation` judges
that transcript on one background thread and synthesises the follow-up it chose, so when the rule
fires and the final transcript has the same text, the judgement and the follow-up's audio are
already there: the candidate hears the follow-up a moment after the end of the answer. If the
candidate speaks again the speculation is simply not used; the final transcript is judged as
usual (and sooner, because the judge has already encoded its sentences).

Transcripts that are not complete yet (the windows finished so far, while the candidate is still
speaking) warm the judge up; with `rehearse=True` (the session) they are judged too when the
judge is cheap to run again, and the follow-up they would get is synthesised: the final judgement
usually picks the same one, so its audio is ready the moment the end-of-answer rule fires even
when the last window's decode took most of the pause. Only judges that declare they are cheap to
run again (`speculative = True`: the trained verifier, the embedded judge, or the refining
judge's fast pass) are run speculatively; others are only warmed up, and a remote LLM is asked
once, on the final transcript.

The speculative judgement is the same computation on the same text as the final one, so nothing
is traded for the speed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from interviewer.bank.models import BankEntry
from interviewer.protocols import Judge, Judgement, SessionJudge, Transcript

#: How the session judges one answer: (judge, entry, transcript, follow-ups asked) → judgement
#: (`policy.assess`, or the session's exchange-aware wrapper of it).
JudgeFn = Callable[[Judge, BankEntry, Transcript, set[str]], Judgement]


class Speculation:
    """Background judging of a take's transcript-so-far (one per take)."""

    def __init__(self, judge: Callable[[], SessionJudge], assess: JudgeFn, entry: BankEntry,
                 asked: set[str], *, prepare_speech: Callable[[str], None] | None = None,
                 rehearse: bool = False) -> None:
        self._judge, self._assess, self._entry, self._asked = judge, assess, entry, set(asked)
        self._rehearse_on = rehearse  # judge growing answers too (see the module doc)
        self._prepare = prepare_speech
        self._cv = threading.Condition()
        self._latest: tuple[Transcript, bool] | None = None  # newest offer, not yet taken
        self._busy: str | None = None  # text being judged right now (complete offers only)
        self._results: dict[str, Judgement] = {}
        self._closed = False
        self._thread: threading.Thread | None = None
        self.judged = 0  # speculative judgements computed
        self.rehearsed = 0  # judgements of answers still growing (their follow-up prepared)
        self.errors: list[BaseException] = []

    def offer(self, transcript: Transcript, complete: bool) -> None:
        """What the take's transcript would be now (called from the transcription worker)."""
        with self._cv:
            if self._closed:
                return
            self._latest = (transcript, complete)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="speculate", daemon=True)
                self._thread.start()
            self._cv.notify_all()

    def judgement_for(self, transcript: Transcript, timeout: float = 10.0) -> Judgement | None:
        """The speculative judgement of exactly this text, waiting for one in progress."""
        text = transcript.text
        with self._cv:
            self._cv.wait_for(lambda: not self._pending(text), timeout)
            return self._results.get(text)

    def close(self) -> None:
        """Stop taking offers; the worker ends after its current job."""
        with self._cv:
            self._closed = True
            self._latest = None
            self._cv.notify_all()

    # ------------------------------------------------------------------ worker
    def _pending(self, text: str) -> bool:
        latest = self._latest
        return self._busy == text or (latest is not None and latest[1]
                                      and latest[0].text == text and text not in self._results)

    def _run(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._closed or self._latest is not None)
                if self._closed:
                    return
                assert self._latest is not None
                transcript, complete = self._latest
                self._latest = None
                if complete:
                    self._busy = transcript.text
            try:
                self._work(transcript, complete)
            except Exception as exc:  # the final path judges again and reports real errors
                self.errors.append(exc)
            finally:
                with self._cv:
                    self._busy = None
                    self._cv.notify_all()

    def _work(self, transcript: Transcript, complete: bool) -> None:
        if not transcript.text.strip():
            return
        judge = self._judge()
        if complete and judge.speculative:
            self._judge_final(judge, transcript)
        elif judge.speculative and self._rehearse_on:
            self._rehearse(judge, transcript)
        else:
            judge.warm(self._entry, transcript.text)

    def _judge_final(self, judge: SessionJudge, transcript: Transcript) -> None:
        """Judge what the final transcript will be if no speech follows; prepare its follow-up."""
        if transcript.text in self._results:
            return
        judgement = self._assess(judge, self._entry, transcript, self._asked)
        with self._cv:
            self._results[transcript.text] = judgement
            self.judged += 1
            self._busy = None  # release judgement_for() now, not after the synthesis below
            self._cv.notify_all()
        if judgement.follow_up and self._prepare is not None:
            self._prepare(judgement.follow_up)

    def _rehearse(self, judge: SessionJudge, transcript: Transcript) -> None:
        """Judge the answer so far (not kept: it may still grow) and synthesise the follow-up
        it would get. The last seconds of an answer rarely change which point is missed, so the
        final judgement usually picks the same follow-up and finds its audio ready."""
        judge.warm(self._entry, transcript.text)
        judgement = self._assess(judge, self._entry, transcript, self._asked)
        with self._cv:
            self.rehearsed += 1
        if judgement.follow_up and self._prepare is not None:
            self._prepare(judgement.follow_up)
