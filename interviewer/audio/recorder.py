"""Recording one answer: 16 kHz mono from the input device, written to disk as it arrives.

The PortAudio callback only queues int16 blocks; the calling thread writes them to an
`IncrementalWavWriter` (header valid after every block, fsync every 0.5 s), hands float32 copies to
`on_chunk` (streaming ASR), runs the VAD + `Endpointer`, draws the level meter and watches for
Enter. Whatever ends the take — the rule, Enter, Ctrl-C, a device failure — the file on disk holds
everything captured so far.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import select
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from interviewer.audio.devices import ResolvedDevice, resolve, sounddevice
from interviewer.audio.endpoint import EndpointConfig, Endpointer
from interviewer.audio.vad import FRAME_MS, FrameBuffer, Vad
from interviewer.audio.wavfile import IncrementalWavWriter
from interviewer.errors import AudioDeviceError, DataError
from interviewer.protocols import SAMPLE_RATE, ChunkCallback, EndReason, Take

# Rates a device may insist on that reduce to 16 kHz by an integer factor.
_FALLBACK_RATES = (48_000, 32_000, 96_000)


class _Decimator:
    """Stateful low-pass + integer downsampling (e.g. 48 kHz → 16 kHz) across blocks."""

    def __init__(self, factor: int) -> None:
        from scipy.signal import firwin

        self.factor = factor
        self.taps = firwin(64 * factor + 1, 0.9 / factor).astype(np.float64)
        self.zi = np.zeros(self.taps.shape[0] - 1)
        self.phase = 0

    def __call__(self, block: np.ndarray) -> np.ndarray:
        from scipy.signal import lfilter

        y, self.zi = lfilter(self.taps, 1.0, block.astype(np.float64), zi=self.zi)
        out = y[self.phase :: self.factor]
        self.phase = (self.phase - block.shape[0]) % self.factor
        pcm: np.ndarray = np.clip(np.round(out), -32768, 32767).astype(np.int16)
        return pcm


class LevelMeter:
    """One self-overwriting status line on a terminal: elapsed time, level bar, speech flag."""

    WIDTH = 24

    def __init__(self, stream: TextIO, *, hint: str = "", interval: float = 0.1) -> None:
        self.stream = stream
        self.hint = hint
        self.interval = interval
        self._last = 0.0

    def update(self, elapsed_s: float, block: np.ndarray, speaking: bool) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        rms = float(np.sqrt(np.mean(block.astype(np.float64) ** 2))) if block.size else 0.0
        db = 20 * np.log10(max(rms, 1e-5))  # -100 dBFS floor
        filled = int(round(self.WIDTH * min(1.0, max(0.0, (db + 60) / 60))))
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        mark = "speech" if speaking else "      "
        self.stream.write(f"\r\x1b[2K● REC {elapsed_s:6.1f} s [{bar}] {db:6.1f} dB {mark} "
                          f"{self.hint}")
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write("\r\x1b[2K")
        self.stream.flush()


@dataclasses.dataclass
class _Capture:
    """What a take does with each block: write, stream, VAD + endpointer, level meter."""

    writer: IncrementalWavWriter
    endpointer: Endpointer
    vad: Vad
    decimate: _Decimator | None
    meter: LevelMeter | None
    on_chunk: ChunkCallback | None
    frames: FrameBuffer = dataclasses.field(default_factory=FrameBuffer)

    def feed(self, raw: np.ndarray) -> EndReason | None:
        pcm = self.decimate(raw) if self.decimate is not None else raw
        self.writer.write(pcm)
        chunk = pcm.astype(np.float32) / 32768.0
        if self.on_chunk is not None:
            self.on_chunk(chunk)
        reason: EndReason | None = None
        for frame in self.frames.push(chunk):
            reason = self.endpointer.push(self.vad.is_speech(frame))
            if reason is not None:
                break
        if self.meter is not None:
            self.meter.update(self.writer.duration_s, chunk, self.endpointer.speaking)
        return reason


def _start(stream: Any, device: ResolvedDevice) -> None:
    try:
        stream.start()
    except sounddevice().PortAudioError as exc:  # busy devices often fail only here
        raise AudioDeviceError(
            f"cannot start recording from {device.name!r}: {exc}",
            hint="is another program using the microphone? check `interviewer devices`",
        ) from exc


class SoundDeviceRecorder:
    """Recorder protocol over sounddevice with VAD end-of-answer detection.

    `silence_s`/`max_s`/`no_answer_s` override the matching fields of `config`.
    `enter_ends`/`meter` default to "stdin/stderr is a terminal". `stop` (a threading.Event)
    ends the take from another thread as "interrupted".
    """

    def __init__(self, device: str | int | None = None, *,
                 silence_s: float | None = None, max_s: float | None = None,
                 no_answer_s: float | None = None, config: EndpointConfig | None = None,
                 vad_aggressiveness: int = 2, enter_ends: bool | None = None,
                 stdin: TextIO | None = None, meter: bool | None = None,
                 stderr: TextIO | None = None, block_s: float = 0.05,
                 stall_timeout_s: float = 3.0, stop: threading.Event | None = None) -> None:
        self.input_device = device
        base = config or EndpointConfig()
        # The endpointer counts VAD frames, so its frame length must be the VAD's.
        self.config = dataclasses.replace(
            base, frame_s=FRAME_MS / 1000,
            silence_s=base.silence_s if silence_s is None else silence_s,
            max_s=base.max_s if max_s is None else max_s,
            no_answer_s=base.no_answer_s if no_answer_s is None else no_answer_s,
        )
        self.vad_aggressiveness = vad_aggressiveness
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stderr = stderr if stderr is not None else sys.stderr
        self.enter_ends = _isatty(self.stdin) if enter_ends is None else enter_ends
        self.meter = _isatty(self.stderr) if meter is None else meter
        self.block_s = block_s
        self.stall_timeout_s = stall_timeout_s
        self.stop = stop or threading.Event()
        self.device: ResolvedDevice | None = None
        self.overflows = 0  # PortAudio input-overflow reports (audio the device dropped)

    def record(self, path: Path, *, on_chunk: ChunkCallback | None = None) -> Take:
        """Record one answer to `path` until the end-of-answer rule, Enter or Ctrl-C ends it."""
        path = Path(path)
        self.device = device = resolve(self.input_device, "input")
        blocks: queue.Queue[np.ndarray] = queue.Queue()
        stream, decimate = self._open(device, blocks)
        endpointer = Endpointer(self.config)
        vad = Vad(self.vad_aggressiveness)
        meter = LevelMeter(self.stderr, hint="Enter = done" if self.enter_ends else "") \
            if self.meter else None
        stdin_fd = self._stdin_fd() if self.enter_ends else None
        reason: EndReason | None = None
        ended_at: float | None = None
        try:
            writer = IncrementalWavWriter(path, sample_rate=SAMPLE_RATE)
        except OSError as exc:
            _close_quietly(stream)
            raise DataError(f"cannot write the recording {path}: {exc}") from exc
        capture = _Capture(writer, endpointer, vad, decimate, meter, on_chunk)
        try:
            _start(stream, device)
            reason = self._capture(stream, device, blocks, capture, stdin_fd)
            ended_at = time.monotonic()
        except KeyboardInterrupt:
            reason, ended_at = "interrupted", time.monotonic()
        finally:
            _close_quietly(stream)
            writer.close()
            if meter is not None:
                meter.clear()
        return Take(path=str(path), duration_s=writer.duration_s, ended_by=reason,
                    speech_start_s=endpointer.speech_start_s,
                    speech_end_s=endpointer.speech_end_s, ended_at=ended_at)

    def _capture(self, stream: Any, device: ResolvedDevice, blocks: queue.Queue[np.ndarray],
                 capture: _Capture, stdin_fd: int | None) -> EndReason:
        """Feed blocks as they arrive until the rule, Enter or a stop ends the take."""
        last_block = time.monotonic()
        self.stop.clear()
        reason: EndReason | None = None
        while reason is None:
            try:
                raw = blocks.get(timeout=0.1)
            except queue.Empty:
                raw = None
            if raw is not None:
                last_block = time.monotonic()
                reason = capture.feed(raw)
            elif time.monotonic() - last_block > self.stall_timeout_s or not stream.active:
                raise self._stalled(device, capture.writer)
            if reason is None:
                reason = self._poll_user(stdin_fd)
        return reason

    # ------------------------------------------------------------------ helpers
    def _open(self, device: ResolvedDevice, blocks: queue.Queue[np.ndarray]
              ) -> tuple[Any, _Decimator | None]:
        """Open the input stream at 16 kHz, or at a multiple of it with decimation."""
        sd = sounddevice()

        def callback(indata: Any, _frames: int, _time: Any, status: Any) -> None:
            if status.input_overflow:
                self.overflows += 1
            blocks.put(indata[:, 0].copy())

        rate = SAMPLE_RATE
        with device.routed():
            try:
                sd.check_input_settings(device=device.index, channels=1, dtype="int16",
                                        samplerate=SAMPLE_RATE)
            except sd.PortAudioError:
                rate = next((r for r in _FALLBACK_RATES if _rate_ok(sd, device, r)), SAMPLE_RATE)
            except ValueError as exc:
                raise AudioDeviceError(f"audio input {device.name!r} is not usable: {exc}",
                                       hint="choose another with --input-device") from exc
            try:
                stream = sd.InputStream(samplerate=rate, channels=1, dtype="int16",
                                        device=device.index, callback=callback,
                                        blocksize=int(rate * self.block_s))
            except (sd.PortAudioError, ValueError) as exc:
                raise AudioDeviceError(
                    f"cannot open audio input {device.name!r}: {exc}",
                    hint="is another program using the microphone? check `interviewer "
                         "devices` and choose one with --input-device",
                ) from exc
        return stream, (_Decimator(rate // SAMPLE_RATE) if rate != SAMPLE_RATE else None)

    def _stalled(self, device: ResolvedDevice, writer: IncrementalWavWriter) -> AudioDeviceError:
        return AudioDeviceError(
            f"audio input {device.name!r} stopped delivering audio after "
            f"{writer.duration_s:.1f} s (unplugged, or taken by another program?)",
            hint=f"the {writer.duration_s:.1f} s captured so far are kept in {writer.path}; "
                 "reconnect the microphone (`interviewer devices`) and try again",
        )

    def _stdin_fd(self) -> int | None:
        """The terminal's fd with type-ahead discarded (an Enter pressed during the question)."""
        try:
            fd = self.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            return None
        with contextlib.suppress(ImportError, OSError):
            import termios

            termios.tcflush(fd, termios.TCIFLUSH)
        return fd

    def _poll_user(self, fd: int | None) -> EndReason | None:
        if self.stop.is_set():
            return "interrupted"
        if fd is None:
            return None
        ready, _, _ = select.select([fd], [], [], 0)
        if not ready:
            return None
        data = os.read(fd, 4096)  # raw read: Python's line buffer would hide further input
        if not data:
            return "eof"
        return "enter" if b"\n" in data or b"\r" in data else None


def _rate_ok(sd: Any, device: ResolvedDevice, rate: int) -> bool:
    try:
        sd.check_input_settings(device=device.index, channels=1, dtype="int16", samplerate=rate)
    except (sd.PortAudioError, ValueError):
        return False
    return True


def _close_quietly(stream: Any) -> None:
    # abort (not stop): do not wait for buffers to drain; the take has ended already. A dead
    # device may fail to abort; closing matters more.
    with contextlib.suppress(Exception):
        stream.abort()
    with contextlib.suppress(Exception):
        stream.close()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
