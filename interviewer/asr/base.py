"""Engine-independent transcription: VAD windows, silence gating, offsets and stitching.

An engine adapter subclasses `WindowedTranscriber` and implements `_decode(audio, prompt)` for
one window of at most ~30 s (times relative to the window). Everything that decides what reaches
the transcript lives here, identical for every engine:

- non-speech never reaches the decoder (VAD windows, `segmenter.py`);
- a decoded segment is dropped when Whisper itself says it is probably not speech
  (high no-speech probability with low confidence), or when it holds no words at all;
- segment and word times are shifted by the window's offset and stitched in order.
"""

from __future__ import annotations

import re
import threading
import time

import numpy as np

from interviewer.asr.segmenter import SegmenterConfig, assemble, find_windows, shift
from interviewer.asr.streaming import StreamingTranscriber
from interviewer.errors import DataError
from interviewer.protocols import SAMPLE_RATE, Segment, StreamingTranscription, Transcript, Word

__all__ = ["Decoded", "WindowedTranscriber", "assemble", "check_audio", "shift"]

_WORDLIKE = re.compile(r"\w")

Decoded = tuple[Segment, list[Word]]  # one segment and its words

# What Whisper (trained on subtitled video) invents on pauses, breaths and noise tails. Dropped
# only when Whisper itself is unsure it heard speech, so a candidate's real "thank you" stays.
HALLUCINATIONS = frozenset({
    "thank you", "thank you very much", "thanks", "thanks for watching",
    "thank you for watching", "thanks for listening", "thank you for listening", "you", "bye",
    "please subscribe", "i hope you enjoyed this video", "see you next time",
})
HALLUCINATION_NO_SPEECH = 0.4
# Invented text on noise came out with mean word probability ~0.25; real speech is above ~0.7.
MIN_WORD_PROB = 0.5


def _phrase(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]", " ", text.lower()).split())


def check_audio(audio: np.ndarray) -> np.ndarray:
    """Validate an in-memory take: 1-D float32 16 kHz (a copy is made only if needed)."""
    a = np.asarray(audio)
    if a.ndim != 1:
        raise DataError(f"audio must be mono (1-D), got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.floating):
        raise DataError(f"audio must be float samples in [-1, 1], got {a.dtype}")
    a = a.astype(np.float32, copy=False)
    if not np.isfinite(a).all():
        raise DataError("audio contains NaN or infinite samples")
    return a


class WindowedTranscriber:
    """Base of the Whisper adapters: implements `Transcriber` over `_decode`."""

    engine: str = "?"
    model: str = "?"

    def __init__(self, *, segmenter: SegmenterConfig | None = None,
                 no_speech_threshold: float = 0.6, logprob_threshold: float = -1.0,
                 drop_logprob: float = -0.5, streaming: SegmenterConfig | None = None) -> None:
        self.segmenter_config = segmenter or SegmenterConfig()
        # Streaming cuts where one pass cuts (same text); `segmenter.SHORT_WINDOWS` was measured.
        self.streaming_config = streaming or self.segmenter_config
        # Whisper's own thresholds, passed to the engine (it skips a whole 30 s window on them).
        self.no_speech_threshold = no_speech_threshold
        self.logprob_threshold = logprob_threshold
        # Our per-segment rule is stricter on confidence: tails such as a lone "This" after the
        # last word came out with no-speech 0.7 and log-prob -0.94, just inside Whisper's rule.
        self.drop_logprob = drop_logprob
        # One decode at a time per model: the streaming worker and a caller may overlap.
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- for subclasses
    def _decode(self, audio: np.ndarray, prompt: str | None) -> list[Decoded]:
        """Decode one window (≤ 30 s): segments with their words, times relative to its start."""
        raise NotImplementedError

    # ----------------------------------------------------------------- Transcriber
    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        """Transcribe a whole take: only its speech windows are decoded."""
        t0 = time.monotonic()
        audio = check_audio(audio)
        segments: list[Segment] = []
        words: list[Word] = []
        for w in find_windows(audio, self.segmenter_config):
            segs, ws = self.decode_window(audio[w.start : w.end], prompt)
            segs, ws = shift(segs, ws, w.start_s)
            segments.extend(segs)
            words.extend(ws)
        return assemble(segments, words, duration_s=audio.shape[0] / SAMPLE_RATE,
                        engine=self.engine, model=self.model, seconds=time.monotonic() - t0)

    def stream(self, *, prompt: str | None = None) -> StreamingTranscription:
        """Transcribe while recording: see `interviewer.asr.streaming`."""
        return StreamingTranscriber(self, prompt=prompt, config=self.streaming_config)

    # ----------------------------------------------------------------- helpers
    def decode_window(self, audio: np.ndarray, prompt: str | None,
                      ) -> tuple[list[Segment], list[Word]]:
        """Decode one window and drop what is not speech."""
        with self._lock:
            decoded = self._decode(audio, prompt)
        kept: list[Decoded] = []
        for seg, ws in decoded:
            if kept and _phrase(seg.text) == _phrase(kept[-1][0].text):
                continue  # a decoding loop repeating the previous segment
            if self._is_speech(seg, ws):
                kept.append((seg, ws))
        return [s for s, _ in kept], [w for _, ws in kept for w in ws]

    def _is_speech(self, seg: Segment, words: list[Word]) -> bool:
        if not _WORDLIKE.search(seg.text):
            return False
        ns, lp = seg.no_speech_prob, seg.avg_logprob
        if ns is None:
            return True
        if ns > self.no_speech_threshold:
            # Probably not speech: keep it only if it was decoded with confidence.
            if lp is not None and lp < self.drop_logprob:
                return False
            probs = [w.probability for w in words if w.probability is not None]
            if probs and sum(probs) / len(probs) < MIN_WORD_PROB:
                return False
        return not (_phrase(seg.text) in HALLUCINATIONS and ns > HALLUCINATION_NO_SPEECH)
