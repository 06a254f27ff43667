"""Cut a take into speech windows at pauses, incrementally (VAD-driven).

Whisper decodes 30-second windows. Instead of letting it slide over the whole take (silence
included, where tiny models invent text), we hand it only windows that hold speech, cut at pauses
and never longer than `max_window_s`. The same incremental segmenter serves both paths:

- one pass (`Transcriber.transcribe`) pushes the whole take, then flushes;
- streaming pushes captured blocks as they arrive and transcribes each closed window in the
  background while the candidate keeps talking.

Because both see the same frames and apply the same rules, they cut at the same places, so the
streamed transcript equals the one-pass transcript up to decoding variance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from interviewer.audio.vad import FRAME_SAMPLES, FrameBuffer, Vad
from interviewer.protocols import SAMPLE_RATE, Segment, Transcript, Word

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE


@dataclass(frozen=True)
class Window:
    """A span of the take to decode, in samples from the start of the take."""

    start: int
    end: int
    speech_s: float  # seconds of VAD speech inside

    @property
    def start_s(self) -> float:
        return self.start / SAMPLE_RATE

    @property
    def end_s(self) -> float:
        return self.end / SAMPLE_RATE


@dataclass(frozen=True)
class SegmenterConfig:
    """Cutting rules, in seconds. Defaults suit answers spoken to a laptop microphone."""

    start_frames: int = 3  # consecutive speech frames that open a window (ignores clicks)
    pad_s: float = 0.3  # audio kept before the first / after the last speech frame
    pause_s: float = 0.6  # a pause this long closes a window that is long enough …
    min_window_s: float = 18.0  # … at least this long: each window costs two 30 s encoder passes
    long_pause_s: float = 2.0  # a pause this long closes any window (thinking silence)
    max_window_s: float = 28.0  # hard limit: Whisper's window is 30 s
    min_speech_s: float = 0.3  # windows with less speech are dropped as non-speech …
    min_run_frames: int = 8  # … and so are windows without one voiced run this long (240 ms):
    # clicks and bumps make VAD bursts of 1–3 frames, a spoken syllable lasts longer
    vad_aggressiveness: int = 2


#: Short windows (issue 17, measured, not the default): close at a 0.2 s pause once a window holds
#: 6 s, force-cut at the quietest moment after 12 s, so that when the answer ends only a few
#: seconds are left to decode. On real read speech with tiny.en they cost ~1 WER point against
#: one pass over the default windows (README "Performance"), so streaming keeps the default cuts.
SHORT_WINDOWS = SegmenterConfig(pause_s=0.2, min_window_s=6.0, max_window_s=12.0)


class Segmenter:
    """Push float32 16 kHz blocks; get back the windows that closed. `flush()` ends the take."""

    def __init__(self, config: SegmenterConfig | None = None) -> None:
        self.cfg = config or SegmenterConfig()
        self._vad = Vad(self.cfg.vad_aggressiveness)
        self._frames = FrameBuffer()
        self._n = 0  # frames seen
        self._run = 0  # current run of consecutive speech frames
        self._start: int | None = None  # open window: first frame (padded)
        self._last_speech: int = -1  # last speech frame index
        self._speech_frames = 0  # speech frames in the open window
        self._max_run = 0  # longest run of speech frames in the open window
        self._floor = 0  # no window may start before this frame (end of the previous one)
        self._energy: list[float] = []  # per-frame RMS of the open window (for forced cuts)
        self.samples_seen = 0

    @property
    def open_start(self) -> int:
        """Sample where the open window starts (audio before it is no longer needed)."""
        if self._start is not None:
            return self._start * FRAME_SAMPLES
        # A window may start up to `pad` + start_frames before the current frame.
        back = self._run + round(self.cfg.pad_s / FRAME_S)
        return max(self._floor, self._n - back) * FRAME_SAMPLES

    @property
    def open_has_speech(self) -> bool:
        """Would `flush()` now return a window (is speech still waiting to be closed)?"""
        return (self._start is not None
                and self._speech_frames * FRAME_S >= self.cfg.min_speech_s
                and self._max_run >= self.cfg.min_run_frames)

    def push(self, block: np.ndarray) -> list[Window]:
        """Feed captured audio; return windows closed by it (usually none)."""
        self.samples_seen += int(block.shape[0])
        closed: list[Window] = []
        for frame in self._frames.push(block):
            w = self._step(frame)
            if w is not None:
                closed.append(w)
        return closed

    def flush(self) -> list[Window]:
        """End of take: close the open window (ending at the audio's end at the latest)."""
        if self._start is None:
            return []
        end = min(self.samples_seen, (self._last_speech + 1) * FRAME_SAMPLES + self._pad())
        w = self._close(end)
        return [w] if w is not None else []

    def peek(self, min_pause_s: float) -> Window | None:
        """The window `flush()` would return now, if the open window has been silent for at
        least `min_pause_s`; nothing is closed. Used to transcribe speculatively while the
        end-of-answer rule is still waiting: if no speech follows, the window is unchanged."""
        if self._start is None or self._n == 0:
            return None
        pause = (self._n - 1 - self._last_speech) * FRAME_S
        if pause < min_pause_s:
            return None
        speech_s = self._speech_frames * FRAME_S
        if speech_s < self.cfg.min_speech_s or self._max_run < self.cfg.min_run_frames:
            return None
        start = self._start * FRAME_SAMPLES
        end = min(self.samples_seen, (self._last_speech + 1) * FRAME_SAMPLES + self._pad())
        return Window(start, max(start, min(end, self._n * FRAME_SAMPLES)), speech_s)

    # ------------------------------------------------------------------ internals
    def _pad(self) -> int:
        return int(self.cfg.pad_s * SAMPLE_RATE)

    def _step(self, frame: np.ndarray) -> Window | None:
        i = self._n
        self._n += 1
        speech = self._vad.is_speech(frame)
        self._run = self._run + 1 if speech else 0
        if self._start is None:
            if self._run >= self.cfg.start_frames:
                first = i - self._run + 1
                pad_frames = round(self.cfg.pad_s / FRAME_S)
                self._start = max(self._floor, first - pad_frames)
                self._last_speech = i
                self._speech_frames = self._run
                self._max_run = self._run
                self._energy = []
            return None
        self._max_run = max(self._max_run, self._run)
        self._energy.append(float(np.sqrt(np.mean(np.square(frame, dtype=np.float64)))))
        if speech:
            self._last_speech = i
            self._speech_frames += 1
        pause = (i - self._last_speech) * FRAME_S
        length = (i + 1 - self._start) * FRAME_S
        if pause >= self.cfg.long_pause_s or (
            pause >= self.cfg.pause_s and length >= self.cfg.min_window_s
        ):
            return self._close((self._last_speech + 1) * FRAME_SAMPLES + self._pad())
        if length >= self.cfg.max_window_s:
            return self._force_cut(i)
        return None

    def _force_cut(self, i: int) -> Window | None:
        """No pause came in time: cut at the quietest frame of the last few seconds."""
        assert self._start is not None
        look = min(len(self._energy), round(4.0 / FRAME_S))
        tail = self._energy[-look:]
        cut = i + 1 - look + int(np.argmin(tail))  # frame index where the next window starts
        w = self._close(cut * FRAME_SAMPLES)
        # Speech continues: the next window opens right at the cut, without padding back.
        self._start = cut
        self._last_speech = i
        self._speech_frames = i + 1 - cut
        self._max_run = self._run
        self._energy = self._energy[len(self._energy) - (i + 1 - cut) :]
        return w

    def _close(self, end_sample: int) -> Window | None:
        assert self._start is not None
        start = self._start * FRAME_SAMPLES
        end = max(start, min(end_sample, self._n * FRAME_SAMPLES, self.samples_seen))
        speech_s = self._speech_frames * FRAME_S
        voiced = self._max_run >= self.cfg.min_run_frames
        self._start = None
        self._run = 0
        self._floor = -(-end // FRAME_SAMPLES)  # ceil: next window starts after this one
        self._energy = []
        if speech_s < self.cfg.min_speech_s or not voiced:
            return None
        return Window(start, end, speech_s)


def find_windows(audio: np.ndarray, config: SegmenterConfig | None = None) -> list[Window]:
    """All speech windows of a complete take (the one-pass path)."""
    seg = Segmenter(config)
    # Push in 1-second blocks: identical cuts to a live stream, and no copy of the whole take.
    windows: list[Window] = []
    for a in range(0, audio.shape[0], SAMPLE_RATE):
        windows.extend(seg.push(audio[a : a + SAMPLE_RATE]))
    windows.extend(seg.flush())
    return windows


# ---------------------------------------------------------------------- stitching windows back
def shift(segments: Iterable[Segment], words: Iterable[Word], offset: float,
          ) -> tuple[list[Segment], list[Word]]:
    """Move window-relative times to take-relative ones."""
    segs = [s.model_copy(update={"start": s.start + offset, "end": s.end + offset})
            for s in segments]
    ws = [w.model_copy(update={"start": w.start + offset, "end": w.end + offset}) for w in words]
    return segs, ws


def assemble(segments: list[Segment], words: list[Word], *, duration_s: float, engine: str,
             model: str, seconds: float | None = None) -> Transcript:
    """Build the final Transcript; an empty one is flagged `no_speech`."""
    text = " ".join(s.text.strip() for s in segments if s.text.strip())
    return Transcript(
        text=text, duration_s=round(duration_s, 3), segments=segments, words=words,
        engine=engine, model=model, no_speech=not text, seconds=seconds,
    )
