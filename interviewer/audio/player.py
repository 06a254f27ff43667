"""Playback through sounddevice: a WAV for replay, or a synthesized question for the Speaker.

The audio is handed to PortAudio from a callback; the calling thread waits, reports progress and
can be interrupted (Ctrl-C or a `threading.Event`), so it knows how much was really played and
when the first sample reached the device.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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
    sd = sounddevice()
    data = np.asarray(audio)
    if data.dtype != np.int16:
        data = data.astype(np.float32, copy=False)
    if data.ndim == 1:
        data = data[:, None]
    total = data.shape[0]
    pos = 0
    started_at: list[float] = []
    done = threading.Event()

    def callback(outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        nonlocal pos
        if not started_at:
            started_at.append(time.monotonic())
            if started is not None:
                started.set()
        n = min(frames, total - pos)
        outdata[:n] = data[pos : pos + n]
        outdata[n:] = 0
        pos += n
        if pos >= total:
            raise sd.CallbackStop

    try:
        with device.routed():
            stream = sd.OutputStream(samplerate=sample_rate, channels=data.shape[1],
                                     dtype=data.dtype.name, device=device.index,
                                     callback=callback,
                                     finished_callback=done.set)
    except (sd.PortAudioError, ValueError) as exc:
        raise AudioDeviceError(f"cannot open audio output {device.name!r}: {exc}",
                               hint="check `interviewer devices`; is it used by another "
                                    "program?") from exc
    interrupted = False
    try:
        with stream:
            last_pos, last_move = -1, time.monotonic()
            while not done.wait(progress_interval):
                if on_progress is not None:
                    on_progress(min(pos, total) / sample_rate, total / sample_rate)
                if stop is not None and stop.is_set():
                    interrupted = True
                    stream.abort()
                    break
                if pos != last_pos:
                    last_pos, last_move = pos, time.monotonic()
                elif time.monotonic() - last_move > stall_timeout_s:
                    stream.abort()
                    raise AudioDeviceError(
                        f"audio output {device.name!r} stopped playing after "
                        f"{pos / sample_rate:.1f} s (unplugged, suspended or taken by another "
                        "program?)",
                        hint="reconnect it (`interviewer devices`), choose another with "
                             "--output-device, or use --no-tts",
                    )
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        finished_at = time.monotonic()
    # `pos` counts samples handed over; when aborted, the device's buffer was not played.
    latency = float(stream.latency) if interrupted else 0.0
    played = max(0.0, pos / sample_rate - latency)
    if on_progress is not None:
        on_progress(played, total / sample_rate)
    return Playback(device=device.name, started_at=started_at[0] if started_at else None,
                    finished_at=finished_at, seconds_played=played, interrupted=interrupted)


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
