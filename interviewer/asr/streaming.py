"""Transcription while the candidate is still speaking.

`feed(chunk)` runs the VAD segmenter on each captured block. When a pause closes a speech window
(by default the one-pass rules, so the streamed text equals one pass: a 0.6 s pause once the
window holds 18 s, a 2 s pause, a forced cut at the quietest moment before 28 s), its audio is
queued to a background worker thread that transcribes it with the Transcriber's ordinary one-pass
`transcribe()` — so this works with any engine.
`finish()` closes the last window, waits for the worker (normally only that last window is
left), and stitches the pieces with their offsets into one Transcript for the whole take.

Alternatives measured for issue 17 (README "Performance"): re-decoding the growing window every
second and committing what two decodes agree on (`agreement.py`) used ~0.8 CPU s per second of
speech and lost accuracy; short windows (`segmenter.SHORT_WINDOWS`) cost ~1 WER point on real
speech. A tiny.en pass costs ~0.45 s for a window up to ~8 s and ~1.1 s for 28 s, so deciding
early (`speculate_after_s`) is what makes a 1.5 s rule reachable with the one-pass windows.

The last window is transcribed speculatively too: once the candidate has been silent for
`speculate_after_s` (0.35 s: longer than the pauses inside fluent speech; while the
end-of-answer rule is still waiting for its full silence), the window that `finish()` would
close is decoded in the background. If no speech follows, `finish()` finds it already done — the
same window, so the same text; if speech resumes, the speculative result is simply discarded.

Whenever the worker falls idle, `on_update(transcript_so_far, complete)` (if set) is called from
the worker thread: `complete` is True when that transcript covers all speech so far (the open
window decoded speculatively, or no open window with speech left), i.e. it is what `finish()`
will return if the candidate says nothing more. The session uses it to judge and prepare the
follow-up before the end-of-answer rule fires.

Only audio of the window still open is kept, so memory stays bounded for long takes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import numpy as np

from interviewer.asr.segmenter import Segmenter, SegmenterConfig, Window, assemble, shift
from interviewer.errors import EngineUnavailable, InterviewerError
from interviewer.protocols import SAMPLE_RATE, Segment, Transcriber, Transcript, Word

#: Characters of the previous windows' text appended to the prompt (Whisper keeps the prompt's
#: last ~223 tokens, so the question's terms before it may be shortened, never this context).
CARRY_CHARS = 200


class Tail:
    """The last part of the take, addressable by absolute sample index (older audio dropped)."""

    def __init__(self) -> None:
        self._data = np.zeros(SAMPLE_RATE * 8, dtype=np.float32)
        self._base = 0  # absolute index of _data[0]
        self._len = 0

    @property
    def end(self) -> int:
        return self._base + self._len

    def append(self, block: np.ndarray) -> None:
        n = block.shape[0]
        if self._len + n > self._data.shape[0]:
            grown = np.zeros(max(2 * self._data.shape[0], self._len + n), dtype=np.float32)
            grown[: self._len] = self._data[: self._len]
            self._data = grown
        self._data[self._len : self._len + n] = block
        self._len += n

    def slice(self, start: int, end: int) -> np.ndarray:
        a, b = max(start, self._base) - self._base, min(end, self.end) - self._base
        return self._data[a:b].copy()

    def drop_before(self, start: int) -> None:
        cut = min(max(0, start - self._base), self._len)
        if cut < SAMPLE_RATE:  # compact only when it frees at least a second
            return
        self._data[: self._len - cut] = self._data[cut : self._len]
        self._len -= cut
        self._base += cut


class StreamingTranscriber:
    """`StreamingTranscription` over any `Transcriber` (one per take)."""

    def __init__(self, transcriber: Transcriber, *, prompt: str | None = None,
                 config: SegmenterConfig | None = None,
                 speculate_after_s: float | None = 0.35, carry_text: bool = False) -> None:
        self._tr = transcriber
        self._prompt = prompt
        self._carry = carry_text
        self._seg = Segmenter(config)
        self._tail = Tail()
        self._jobs: queue.Queue[tuple[Window, np.ndarray, bool] | None] = queue.Queue()
        self._results: list[tuple[Window, Transcript]] = []
        self._error: BaseException | None = None
        self._worker: threading.Thread | None = None
        self._pending = 0  # windows queued or being transcribed
        self._idle = threading.Condition()
        self._finished = False
        self.windows_in_background = 0  # windows transcribed before finish() was called
        self.busy_seconds = 0.0  # worker time spent transcribing
        self._speculate_after_s = speculate_after_s
        self._speculated: dict[tuple[int, int], Transcript | None] = {}  # window → result
        self._adopted: list[Window] = []
        self._peek: tuple[int, int] | None = None  # the open window being speculated on
        self.speculative_hits = 0
        #: Called as `on_update(transcript_so_far, complete)` from the worker (see module doc).
        self.on_update: Callable[[Transcript, bool], None] | None = None

    def feed(self, chunk: np.ndarray) -> None:
        """Hand over a captured float32 16 kHz block (any length)."""
        if self._finished:
            raise RuntimeError("feed() after finish()")
        block = np.asarray(chunk, dtype=np.float32).reshape(-1)
        self._tail.append(block)
        for w in self._seg.push(block):
            self._close(w)
        if self._speculate_after_s is not None:
            peek = self._seg.peek(self._speculate_after_s)
            if peek is None:
                self._peek = None  # speech resumed (or none yet): no speculation stands
            elif self._pending == 0 and (peek.start, peek.end) not in self._speculated:
                self._speculated[(peek.start, peek.end)] = None
                self._peek = (peek.start, peek.end)
                self._submit(peek, speculative=True)
        self._tail.drop_before(self._seg.open_start)

    @property
    def pending(self) -> int:
        """Windows queued or in transcription right now."""
        return self._pending

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the background worker has nothing left (True) or `timeout` passes."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def finish(self) -> Transcript:
        """Transcribe what remains, wait for the background work and return the whole take.

        `seconds` on the result is the time this call took: what the candidate waits for.
        """
        t0 = time.monotonic()
        if not self._finished:
            self._finished = True
            self.windows_in_background = len(self._results)
            for w in self._seg.flush():
                self._close(w)
            self._jobs.put(None)
            if self._worker is not None:
                self._worker.join()
            for w in self._adopted:  # a speculative decode of exactly this window stands for it
                spec = self._speculated.get((w.start, w.end))
                if spec is not None:
                    self._results.append((w, spec))
                    self.speculative_hits += 1
        if self._error is not None:
            if isinstance(self._error, InterviewerError):
                raise self._error
            raise EngineUnavailable(f"transcription failed: {self._error}") from self._error
        return self._assemble(self._results, time.monotonic() - t0)

    # ------------------------------------------------------------------ internals
    def _assemble(self, results: list[tuple[Window, Transcript]],
                  seconds: float | None) -> Transcript:
        segments: list[Segment] = []
        words: list[Word] = []
        for w, tr in sorted(results, key=lambda r: r[0].start):
            segs, ws = shift(tr.segments, tr.words, w.start_s)
            segments.extend(segs)
            words.extend(ws)
        return assemble(segments, words, duration_s=self._seg.samples_seen / SAMPLE_RATE,
                        engine=self._tr.engine, model=self._tr.model, seconds=seconds)

    def _notify(self) -> None:
        """Tell `on_update` what the transcript would be now (worker thread, worker idle)."""
        callback, peek = self.on_update, self._peek
        if callback is None or self._finished:
            return
        results = list(self._results)
        complete = True
        for w in list(self._adopted):  # closed windows whose speculative decode stands
            done = self._speculated.get((w.start, w.end))
            if done is None:
                complete = False
            else:
                results.append((w, done))
        if peek is not None and any((w.start, w.end) == peek for w in self._adopted):
            peek = None  # closed and adopted a moment ago (feed() runs on another thread)
        spec = self._speculated.get(peek) if peek is not None else None
        if spec is not None and peek is not None:
            results.append((Window(peek[0], peek[1], 0.0), spec))
        # Complete: every closed window is decoded and the open one speculatively too, or there
        # is none with speech left.
        complete = complete and (spec is not None or not self._seg.open_has_speech)
        try:
            callback(self._assemble(results, None), complete)
        except Exception:  # a listener's failure must never stop the transcription
            self.on_update = None

    def _close(self, w: Window) -> None:
        """A window closed: adopt its speculative decode if there is one, else queue it."""
        if (w.start, w.end) in self._speculated:
            self._adopted.append(w)
        else:
            self._submit(w)

    def _submit(self, w: Window, *, speculative: bool = False) -> None:
        with self._idle:
            self._pending += 1
        self._jobs.put((w, self._tail.slice(w.start, w.end), speculative))
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="asr-stream", daemon=True)
            self._worker.start()

    def _prompt_before(self, w: Window) -> str | None:
        """The question's prompt, followed (`carry_text`) by what was said just before `w`.
        Measured with short windows, the carried context did not lower the WER: off by default,
        which also keeps every window's decode identical to one pass."""
        if not self._carry:
            return self._prompt
        before = " ".join(tr.text for v, tr in sorted(self._results, key=lambda r: r[0].start)
                          if v.end <= w.start)
        tail = before[-CARRY_CHARS:].split(" ", 1)[-1] if len(before) > CARRY_CHARS else before
        return " ".join(p for p in (self._prompt, tail) if p) or None

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            w, audio, speculative = job
            t0 = time.monotonic()
            try:
                if self._error is None:  # after a failure only drain: finish() reports it
                    tr = self._tr.transcribe(audio, prompt=self._prompt_before(w))
                    if speculative:
                        self._speculated[(w.start, w.end)] = tr
                    else:
                        self._results.append((w, tr))
            except BaseException as exc:  # reported by finish() on the caller's thread
                self._error = exc
            finally:
                self.busy_seconds += time.monotonic() - t0
                with self._idle:
                    self._pending -= 1
                    idle = self._pending == 0
                    self._idle.notify_all()
            if idle and self._error is None:
                self._notify()
