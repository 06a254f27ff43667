"""A WAV writer that keeps the file valid while it grows, so a crash loses almost nothing.

soundfile/libsndfile only writes the final RIFF sizes on close, so a killed process leaves a
header that says "0 bytes of audio". This writer appends 16-bit PCM and rewrites the two size
fields after every append (two `pwrite`s, cheap): after `kill -9` the kernel still holds every
byte written, and the header describes all of it. `fsync` runs every `sync_interval` seconds so
a power cut or OS crash loses at most that much too.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path
from types import TracebackType

import numpy as np

from interviewer.fsutil import ensure_private_dir, open_private, os_error

HEADER_BYTES = 44
_DATA_SIZE_OFFSET = 40
_RIFF_SIZE_OFFSET = 4


def _header(sample_rate: int, channels: int, data_bytes: int) -> bytes:
    """The canonical 44-byte PCM16 WAV header for `data_bytes` of audio."""
    block_align = channels * 2
    return b"".join(
        [
            b"RIFF",
            struct.pack("<I", 36 + data_bytes),
            b"WAVEfmt ",
            struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * block_align,
                        block_align, 16),
            b"data",
            struct.pack("<I", data_bytes),
        ]
    )


def float_to_pcm16(audio: np.ndarray) -> np.ndarray:
    """float32 [-1, 1] → int16, clipped (the same scaling as `vad.to_pcm16`)."""
    pcm: np.ndarray = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    return pcm


class IncrementalWavWriter:
    """Append-only PCM16 WAV whose header is correct after every `write`.

    Use as a context manager, or call `close()`; `frames` counts samples written per channel.
    """

    def __init__(self, path: Path | str, *, sample_rate: int = 16_000, channels: int = 1,
                 sync_interval: float = 0.5) -> None:
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.channels = channels
        self.sync_interval = sync_interval
        self.frames = 0
        self._data_bytes = 0
        ensure_private_dir(self.path.parent)
        # A take is the user's voice: 0600 like every file under their data (fsutil).
        # O_TRUNC: a take re-recorded to the same name must not keep the old tail.
        self._fd: int | None = open_private(self.path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(self._fd, _header(sample_rate, channels, 0))
            os.fsync(self._fd)
        except OSError as exc:
            os.close(self._fd)
            self._fd = None
            raise os_error(exc, self.path, "write") from exc
        self._last_sync = time.monotonic()

    @property
    def duration_s(self) -> float:
        """Seconds of audio written so far."""
        return self.frames / self.sample_rate

    def write(self, samples: np.ndarray) -> None:
        """Append int16 samples (or float32, converted) and update the header."""
        if self._fd is None:
            raise ValueError(f"WAV writer for {self.path} is closed")
        pcm = samples if samples.dtype == np.int16 else float_to_pcm16(samples)
        data = np.ascontiguousarray(pcm, dtype="<i2").tobytes()
        if not data:
            return
        # Data first, sizes second: if we die between the two, the header is merely short.
        try:
            os.lseek(self._fd, 0, os.SEEK_END)
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
        except OSError as exc:  # disk full: one line naming the file; the header stays valid
            raise os_error(exc, self.path, "write") from exc
        self._data_bytes += len(data)
        self.frames = self._data_bytes // (2 * self.channels)
        self._write_sizes()
        if time.monotonic() - self._last_sync >= self.sync_interval:
            self.sync()

    def _write_sizes(self) -> None:
        assert self._fd is not None
        os.pwrite(self._fd, struct.pack("<I", 36 + self._data_bytes), _RIFF_SIZE_OFFSET)
        os.pwrite(self._fd, struct.pack("<I", self._data_bytes), _DATA_SIZE_OFFSET)

    def sync(self) -> None:
        """Force what was written onto the disk (survives an OS crash, not just a kill)."""
        if self._fd is not None:
            os.fsync(self._fd)
            self._last_sync = time.monotonic()

    def close(self) -> None:
        """Final header update and fsync; safe to call twice."""
        if self._fd is None:
            return
        try:
            self._write_sizes()
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> IncrementalWavWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def repair_wav(path: Path | str) -> int:
    """Make a PCM16 WAV's size fields match the bytes on disk; return the frame count.

    For a file written by `IncrementalWavWriter` whose process died between appending audio and
    updating the header: the header is then up to one block short, and this recovers that block.
    """
    p = Path(path)
    with open(p, "r+b") as f:
        head = f.read(HEADER_BYTES)
        if len(head) < HEADER_BYTES or head[:4] != b"RIFF" or head[36:40] != b"data":
            raise ValueError(f"{p} is not a WAV written by the incremental writer")
        channels: int = struct.unpack("<H", head[22:24])[0]
        size = os.fstat(f.fileno()).st_size
        data_bytes = size - HEADER_BYTES
        data_bytes -= data_bytes % (2 * channels)
        f.seek(_RIFF_SIZE_OFFSET)
        f.write(struct.pack("<I", 36 + data_bytes))
        f.seek(_DATA_SIZE_OFFSET)
        f.write(struct.pack("<I", data_bytes))
        f.flush()
        os.fsync(f.fileno())
    return data_bytes // (2 * channels)
