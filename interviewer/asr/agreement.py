"""Incremental transcription by local agreement (the LocalAgreement-2 policy of whisper_streaming).

The open buffer of speech is decoded again every `step_s` seconds of new audio. A word is
*committed* once two successive decodes agree on it (the longest common prefix of the two
hypotheses beyond what is already committed): Whisper rarely changes a word it has seen with
enough right context twice. Committed text never changes. When the buffer grows past `trim_s`,
it is trimmed at the end of the last committed sentence, so each decode sees a bounded window.

When the candidate pauses (`speculate_after_s`), the buffer is decoded once more and everything
it holds is taken as final: that is the transcript `finish()` returns if no speech follows, and
`on_update(transcript, complete=True)` reports it so the session can judge it during the pause.

This module is the alternative measured against short windows (`streaming.py`); the session uses
short windows, which reached the same accuracy with less CPU (README "Performance").
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from interviewer.asr.segmenter import Segmenter, SegmenterConfig, assemble, shift
from interviewer.asr.streaming import Tail
from interviewer.protocols import SAMPLE_RATE, Segment, Transcript, Word

_SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")
#: Segmenter rules for the agreement streamer: windows close only at a thinking pause (2 s), and
#: are force-cut only at Whisper's 30 s limit; trimming at sentence ends bounds the buffer first.
AGREEMENT_SEGMENTS = SegmenterConfig(pause_s=2.0, min_window_s=0.0, max_window_s=28.0)


def norm(word: str) -> str:
    """A word as compared between hypotheses (case and punctuation ignored)."""
    return re.sub(r"[^\w']", "", word.lower())


def agreed_prefix(previous: list[Word], current: list[Word]) -> list[Word]:
    """The words of `current` that start it the same way `previous` does (LocalAgreement-2)."""
    n = 0
    for a, b in zip(previous, current, strict=False):
        if norm(a.word) != norm(b.word):
            break
        n += 1
    return current[:n]


class Agreement:
    """Committed words and the newest uncommitted hypothesis, times take-relative."""

    def __init__(self) -> None:
        self.committed: list[Word] = []
        self.pending: list[Word] = []  # the last hypothesis beyond what is committed

    @property
    def committed_end(self) -> float:
        return self.committed[-1].end if self.committed else 0.0

    def new_part(self, words: list[Word]) -> list[Word]:
        """The part of a hypothesis not committed yet: words ending after the committed end,
        without a repeat of the committed tail (a decode of a buffer that starts before the
        committed end transcribes those words again)."""
        fresh = [w for w in words if w.end > self.committed_end + 0.05]
        tail = [norm(w.word) for w in self.committed[-5:]]
        for k in range(min(5, len(tail), len(fresh)), 0, -1):
            if [norm(w.word) for w in fresh[:k]] == tail[-k:]:
                return fresh[k:]
        return fresh

    def insert(self, words: list[Word]) -> list[Word]:
        """Offer a new decode of the buffer; return the words it committed."""
        fresh = self.new_part(words)
        agreed = agreed_prefix(self.pending, fresh)
        self.committed.extend(agreed)
        self.pending = fresh[len(agreed):]
        return agreed

    def commit_all(self, words: list[Word]) -> None:
        """The buffer's final decode: everything beyond the committed part stands."""
        self.committed.extend(self.new_part(words))
        self.pending = []

    def sentence_end(self, after: float) -> float | None:
        """End time of the last committed sentence that ends after `after` (for trimming)."""
        for w in reversed(self.committed):
            if w.end <= after:
                return None
            if _SENTENCE_END.search(w.word):
                return w.end
        return None


def sentences(words: list[Word]) -> list[Segment]:
    """Segments for a transcript built from words: one per sentence."""
    out: list[Segment] = []
    cur: list[Word] = []
    for w in words:
        cur.append(w)
        if _SENTENCE_END.search(w.word) or w is words[-1]:
            out.append(Segment(start=cur[0].start, end=cur[-1].end,
                               text=" ".join(x.word for x in cur)))
            cur = []
    return out


class WindowDecoder(Protocol):
    """What the agreement streamer needs of an engine (`WindowedTranscriber` provides it)."""

    engine: str
    model: str

    def decode_window(self, audio: np.ndarray, prompt: str | None,
                      ) -> tuple[list[Segment], list[Word]]:
        """Decode one window (≤ 30 s), times relative to its start."""
        ...


class AgreementTranscriber:
    """`StreamingTranscription` by local agreement over any `WindowDecoder` (one per take)."""

    def __init__(self, decoder: WindowDecoder, *, prompt: str | None = None,
                 step_s: float = 1.0, trim_s: float = 10.0,
                 speculate_after_s: float = 0.35) -> None:
        self._dec, self._prompt = decoder, prompt
        self._step, self._trim_n, self._spec_after = (int(step_s * SAMPLE_RATE),
                                                    int(trim_s * SAMPLE_RATE), speculate_after_s)
        self._seg = Segmenter(AGREEMENT_SEGMENTS)
        self._tail = Tail()
        self._agree = Agreement()
        self._lock = threading.Condition()
        self._buf_start: int | None = None  # sample where the buffer being decoded starts
        self._decoded_to = 0  # audio end of the last decode
        self._closed: list[int] = []  # ends of windows closed by a long pause, to finalise
        self._spec: tuple[tuple[int, int], list[Word]] | None = None
        self._done = False
        self._error: BaseException | None = None
        self.decodes = 0
        self.speculative_hits = 0
        self.busy_seconds = 0.0
        self.on_update: Callable[[Transcript, bool], None] | None = None
        self._worker = threading.Thread(target=self._run, name="asr-agree", daemon=True)
        self._worker.start()

    def feed(self, chunk: np.ndarray) -> None:
        """Hand over a captured float32 16 kHz block."""
        block = np.asarray(chunk, dtype=np.float32).reshape(-1)
        with self._lock:
            self._tail.append(block)
            for w in self._seg.push(block):
                if self._buf_start is None:  # speech enough to keep only in this last block
                    self._buf_start = w.start
                self._closed.append(w.end)
            if self._buf_start is None:
                if self._seg.open_has_speech:
                    self._buf_start = self._seg.open_start
                else:  # nothing to decode yet: keep only what a window could start from
                    self._tail.drop_before(self._seg.open_start)
            self._lock.notify_all()

    def finish(self) -> Transcript:
        """Decode what is left (unless the pause's decode already covers it); the whole take."""
        t0 = time.monotonic()
        with self._lock:
            for w in self._seg.flush():
                if self._buf_start is None:
                    self._buf_start = w.start
                self._closed.append(w.end)
            self._done = True
            self._lock.notify_all()
        self._worker.join()
        if self._error is not None:
            raise self._error
        return self._transcript(self._agree.committed, time.monotonic() - t0)

    # ------------------------------------------------------------------ worker
    def _next_job(self) -> tuple[str, int, int] | None:
        """(kind, start, end) of the next decode, or None when the take is over; waits."""
        with self._lock:
            while True:
                start = self._buf_start
                if self._closed and start is not None:
                    return "final", start, self._closed.pop(0)
                if self._closed:
                    self._closed.pop(0)  # no buffer open: nothing to finalise
                    continue
                if self._done:
                    return None
                end = self._tail.end
                peek = self._seg.peek(self._spec_after)
                if start is not None and peek is not None and (
                        self._spec is None or self._spec[0] != (start, peek.end)):
                    return "speculate", start, peek.end
                if start is not None and peek is None and end - self._decoded_to >= self._step:
                    return "step", start, end
                self._lock.wait(0.05)

    def _run(self) -> None:
        try:
            while (job := self._next_job()) is not None:
                self._do(*job)
        except BaseException as exc:  # reported by finish() on the caller's thread
            self._error = exc

    def _do(self, kind: str, start: int, end: int) -> None:
        with self._lock:
            audio = self._tail.slice(start, end)
            spec = self._spec
        if kind == "final" and spec is not None and spec[0] == (start, end):
            words = spec[1]  # decoded during the pause, and no speech since: it stands
            self.speculative_hits += 1
        else:
            words = self._decode(audio, start)
        with self._lock:
            self._decoded_to = end
            if kind == "final":
                self._agree.commit_all(words)
                self._buf_start, self._spec = None, None
                self._tail.drop_before(end)
            elif kind == "speculate":
                self._spec = ((start, end), words)
            else:
                self._agree.insert(words)
                self._trim(start, end)
        self._notify(kind, words)

    def _decode(self, audio: np.ndarray, start: int) -> list[Word]:
        t0 = time.monotonic()
        before = " ".join(w.word for w in self._agree.committed
                          if w.end <= start / SAMPLE_RATE)[-200:]
        prompt = " ".join(p for p in (self._prompt, before) if p) or None
        _segs, words = self._dec.decode_window(audio, prompt)
        _segs, words = shift([], words, start / SAMPLE_RATE)
        self.decodes += 1
        self.busy_seconds += time.monotonic() - t0
        return words

    def _trim(self, start: int, end: int) -> None:
        """Past `trim_s`, start the buffer at the end of the last committed sentence."""
        if end - start < self._trim_n:
            return
        cut = self._agree.sentence_end(start / SAMPLE_RATE)
        if cut is not None:
            self._buf_start = int(cut * SAMPLE_RATE)
            self._tail.drop_before(self._buf_start)

    def _notify(self, kind: str, words: list[Word]) -> None:
        callback = self.on_update
        if callback is None or self._done:
            return
        complete = kind == "speculate"
        shown = self._agree.committed + (self._agree.new_part(words) if complete else [])
        try:
            callback(self._transcript(shown, None), complete)
        except Exception:  # a listener's failure must never stop the transcription
            self.on_update = None

    def _transcript(self, words: list[Word], seconds: float | None) -> Transcript:
        return assemble(sentences(words), list(words),
                        duration_s=self._seg.samples_seen / SAMPLE_RATE,
                        engine=self._dec.engine, model=self._dec.model, seconds=seconds)
