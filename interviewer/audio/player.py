"""Playback through sounddevice: a WAV for replay, or a synthesized question for the Speaker.

The audio is handed to PortAudio from a callback, either a whole array or pieces still being
produced (a neural voice synthesising sentence by sentence: `play_pieces`); the calling thread
waits, reports progress and can be interrupted (Ctrl-C or a `threading.Event`), so it knows how
much was really played and when the first sample reached the device. The stream runs at the
audio's own rate (22.05 kHz for both voices); the sound server resamples to the device's rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from interviewer.audio.devices import ResolvedDevice, resolve, sounddevice
from interviewer.errors import AudioDeviceError, DataError

ProgressCallback = Callable[[float, float], None]


@dataclass
class Playback:
    """What a playback really did."""

    device: str
    started_at: float | None  # time.monotonic() of the first callback that handed audio over
    finished_at: float  # when the last sample had been played (or playback was stopped)
    seconds_played: float
    interrupted: bool
    #: Silence played because the next piece was not produced in time (streamed synthesis).
    underrun_s: float = 0.0


class AudioFeed:
    """Audio handed to a playing stream piece by piece: a producer pushes, the device pulls.

    A whole array (replay, a prepared question) is one piece; a neural voice pushes one sentence
    at a time while the first already plays. When the device asks for audio the producer has not
    delivered yet, the callback plays silence and waits for more (an underrun, not the end).
    """

    def __init__(self) -> None:
        self._pieces: list[np.ndarray] = []
        self._index = 0  # piece being read
        self._offset = 0  # samples of that piece already read
        self._closed = False
        self._lock = threading.Lock()
        self.total = 0  # samples pushed so far
        self.cancelled = threading.Event()  # set by the consumer: the producer should stop

    def push(self, piece: np.ndarray) -> None:
        """Append frames × channels samples (same dtype and channels as the first piece)."""
        with self._lock:
            self._pieces.append(piece)
            self.total += piece.shape[0]

    def close(self) -> None:
        """No more pieces: once everything pushed has been read, playback ends."""
        with self._lock:
            self._closed = True

    def read_into(self, out: Any) -> int:
        """Copy up to len(out) samples into `out`; return how many were copied."""
        n = 0
        with self._lock:
            while n < out.shape[0] and self._index < len(self._pieces):
                piece = self._pieces[self._index]
                k = min(out.shape[0] - n, piece.shape[0] - self._offset)
                out[n : n + k] = piece[self._offset : self._offset + k]
                n += k
                self._offset += k
                if self._offset >= piece.shape[0]:
                    self._pieces[self._index] = piece[:0]  # played: let it be freed
                    self._index, self._offset = self._index + 1, 0
        return n

    def head(self) -> np.ndarray:
        """The first piece pushed (its dtype and channels are the stream's)."""
        with self._lock:
            return self._pieces[0]

    @property
    def exhausted(self) -> bool:
        """Closed, and every pushed sample has been read."""
        with self._lock:
            return self._closed and self._index >= len(self._pieces)


def _as_frames(audio: np.ndarray) -> np.ndarray:
    data = np.asarray(audio)
    if data.dtype != np.int16:
        data = data.astype(np.float32, copy=False)
    return data[:, None] if data.ndim == 1 else data


def play_array(audio: np.ndarray, sample_rate: int, device: ResolvedDevice, *,
               on_progress: ProgressCallback | None = None,
               stop: threading.Event | None = None,
               started: threading.Event | None = None,
               progress_interval: float = 0.1, stall_timeout_s: float = 3.0) -> Playback:
    """Play audio (frames × channels, or mono 1-D; int16 or float32) on `device`; wait.

    int16 is handed to the device as is (bit-exact, no dither); anything else as float32.

    Ctrl-C or `stop` ends playback early; the KeyboardInterrupt is re-raised after the stream
    is closed, so the terminal is never left with a half-open device. `started` is set when the
    first samples are handed to the device (others wait on it). A device that stops
    taking audio for `stall_timeout_s` (suspended, unplugged) raises AudioDeviceError.
    """
    return play_pieces(iter([audio]), sample_rate, device, on_progress=on_progress, stop=stop,
                       started=started, progress_interval=progress_interval,
                       stall_timeout_s=stall_timeout_s)


def play_pieces(pieces: Iterator[np.ndarray], sample_rate: int, device: ResolvedDevice, *,
                on_progress: ProgressCallback | None = None,
                stop: threading.Event | None = None,
                started: threading.Event | None = None,
                progress_interval: float = 0.1, stall_timeout_s: float = 3.0) -> Playback:
    """Play audio produced piece by piece (e.g. sentence by sentence) as soon as it exists.

    `pieces` is consumed on a background thread, so the next piece is produced while the
    previous ones play. The stream opens once the first piece exists: an error producing it is
    raised before any device is touched; an error producing a later piece is raised after what
    was produced has been played. Otherwise behaves like `play_array`.
    """
    feed = AudioFeed()
    first = threading.Event()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            for piece in pieces:
                if feed.cancelled.is_set():
                    return
                feed.push(_as_frames(piece))
                first.set()
        except BaseException as exc:  # re-raised in the playing thread
            failure.append(exc)
        finally:
            feed.close()
            first.set()

    producer = threading.Thread(target=produce, daemon=True, name="audio-producer")
    producer.start()
    try:
        first.wait()
        if feed.total == 0:
            if failure:
                raise failure[0]
            return Playback(device=device.name, started_at=None, finished_at=time.monotonic(),
                            seconds_played=0.0, interrupted=False)
        pb = _play_feed(feed, sample_rate, device, on_progress=on_progress, stop=stop,
                        started=started, progress_interval=progress_interval,
                        stall_timeout_s=stall_timeout_s)
    finally:
        feed.cancelled.set()  # stopped or interrupted: the producer need not finish
    if failure and not pb.interrupted:
        raise failure[0]
    return pb


class _Cursor:
    """What the device callback shares with the waiting thread."""

    def __init__(self, feed: AudioFeed, started: threading.Event | None,
                 stop_exc: type[BaseException]) -> None:
        self.feed, self.started, self.stop_exc = feed, started, stop_exc
        self.pos = 0  # samples of real audio handed over
        self.ticks = 0  # device callbacks so far: a device that stops calling back has stalled
        self.gap = 0  # silent samples played while waiting for the next piece
        self.started_at: float | None = None

    def callback(self, outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        self.ticks += 1
        n = self.feed.read_into(outdata)
        outdata[n:] = 0  # an underrun (the next sentence is not ready) plays silence
        if n and self.started_at is None:
            self.started_at = time.monotonic()
            if self.started is not None:
                self.started.set()
        self.pos += n
        if self.feed.exhausted:
            raise self.stop_exc
        if n < frames and self.started_at is not None:
            self.gap += frames - n


def _play_feed(feed: AudioFeed, sample_rate: int, device: ResolvedDevice, *,
               on_progress: ProgressCallback | None, stop: threading.Event | None,
               started: threading.Event | None, progress_interval: float,
               stall_timeout_s: float) -> Playback:
    """Open the stream for `feed` (whose first piece exists) and wait until it has played."""
    sd = sounddevice()
    cur = _Cursor(feed, started, sd.CallbackStop)
    done = threading.Event()
    head = feed.head()
    try:
        with device.routed():
            stream = sd.OutputStream(samplerate=sample_rate, channels=head.shape[1],
                                     dtype=head.dtype.name, device=device.index,
                                     callback=cur.callback, finished_callback=done.set)
    except (sd.PortAudioError, ValueError) as exc:
        raise AudioDeviceError(f"cannot open audio output {device.name!r}: {exc}",
                               hint="check `interviewer devices`; is it used by another "
                                    "program?") from exc
    interrupted = False
    try:
        with stream:
            interrupted = _wait_played(stream, done, cur, sample_rate, device.name, stop=stop,
                                       on_progress=on_progress, interval=progress_interval,
                                       stall_timeout_s=stall_timeout_s)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        finished_at = time.monotonic()
    # `pos` counts samples handed over; when aborted, the device's buffer was not played.
    latency = float(stream.latency) if interrupted else 0.0
    played = max(0.0, cur.pos / sample_rate - latency)
    if on_progress is not None:
        on_progress(played, feed.total / sample_rate)
    return Playback(device=device.name, started_at=cur.started_at, finished_at=finished_at,
                    seconds_played=played, interrupted=interrupted,
                    underrun_s=cur.gap / sample_rate)


def _wait_played(stream: Any, done: threading.Event, cur: _Cursor, sample_rate: int,
                 name: str, *, stop: threading.Event | None,
                 on_progress: ProgressCallback | None, interval: float,
                 stall_timeout_s: float) -> bool:
    """Wait for the stream to finish; True if `stop` cut it short. A device that stops calling
    back for `stall_timeout_s` raises AudioDeviceError."""
    last_ticks, last_move = -1, time.monotonic()
    while not done.wait(interval):
        if on_progress is not None:
            on_progress(min(cur.pos, cur.feed.total) / sample_rate, cur.feed.total / sample_rate)
        if stop is not None and stop.is_set():
            stream.abort()
            return True
        if cur.ticks != last_ticks:
            last_ticks, last_move = cur.ticks, time.monotonic()
        elif time.monotonic() - last_move > stall_timeout_s:
            stream.abort()
            raise AudioDeviceError(
                f"audio output {name!r} stopped playing after {cur.pos / sample_rate:.1f} s "
                "(unplugged, suspended or taken by another program?)",
                hint="reconnect it (`interviewer devices`), choose another with "
                     "--output-device, or use --no-tts",
            )
    return False


class SoundDevicePlayer:
    """Player protocol: play a WAV file on an output device, with progress; interruptible."""

    def __init__(self, device: str | int | None = None, *,
                 stop: threading.Event | None = None, stall_timeout_s: float = 3.0) -> None:
        self.output_device = device
        self.stop = stop or threading.Event()
        self.stall_timeout_s = stall_timeout_s
        self.last: Playback | None = None

    def play(self, path: Path, *, on_progress: ProgressCallback | None = None,
             start_s: float = 0.0) -> float:
        """Play `path` from `start_s`; return seconds played (less than its length if stopped)."""
        import soundfile as sf

        try:
            # 16-bit files are played as int16: bit-exact, and no float→int dither on the way.
            dtype = "int16" if sf.info(str(path)).subtype == "PCM_16" else "float32"
            audio, sr = sf.read(str(path), dtype=dtype, always_2d=True)
        except (OSError, RuntimeError) as exc:  # soundfile raises LibsndfileError(RuntimeError)
            raise DataError(f"cannot read audio file {path}: {exc}") from exc
        first = min(max(0, int(round(start_s * sr))), audio.shape[0])
        device = resolve(self.output_device, "output")
        self.stop.clear()
        self.last = play_array(audio[first:], int(sr), device, on_progress=on_progress,
                               stop=self.stop, stall_timeout_s=self.stall_timeout_s)
        return self.last.seconds_played
