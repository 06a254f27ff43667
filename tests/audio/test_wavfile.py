"""The incremental WAV writer keeps a valid file at every step (no devices needed)."""

from __future__ import annotations

import os
import struct
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from interviewer.audio.wavfile import IncrementalWavWriter, repair_wav


def _blocks(n: int, size: int = 800, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-20000, 20000, size, dtype=np.int16) for _ in range(n)]


def test_file_is_a_valid_wav_after_every_block(tmp_path: Path) -> None:
    path = tmp_path / "take.wav"
    blocks = _blocks(6)
    with IncrementalWavWriter(path) as w:
        assert sf.info(str(path)).frames == 0
        for i, b in enumerate(blocks, 1):
            w.write(b)
            # Read while the writer is still open, as a crash would leave it.
            data, sr = sf.read(str(path), dtype="int16")
            assert sr == 16_000
            assert data.shape[0] == i * 800
            np.testing.assert_array_equal(data, np.concatenate(blocks[:i]))
    with wave.open(str(path)) as wf:  # the stdlib reader agrees
        assert wf.getnframes() == 6 * 800 and wf.getframerate() == 16_000


def test_float_blocks_are_converted(tmp_path: Path) -> None:
    path = tmp_path / "f.wav"
    with IncrementalWavWriter(path) as w:
        w.write(np.array([0.0, 0.5, -0.5, 1.5], dtype=np.float32))
    data, _ = sf.read(str(path), dtype="int16")
    assert data.tolist() == [0, 16383, -16383, 32767]


def test_truncated_header_is_readable_and_repairable(tmp_path: Path) -> None:
    """Death between appending audio and updating the header: short but valid; repair fixes."""
    path = tmp_path / "t.wav"
    blocks = _blocks(3)
    w = IncrementalWavWriter(path)
    w.write(blocks[0])
    w.write(blocks[1])
    # Simulate the crash window: data appended, header not yet updated.
    with open(path, "ab") as f:
        f.write(blocks[2].tobytes())
    data, _ = sf.read(str(path), dtype="int16")
    assert data.shape[0] == 1600
    assert repair_wav(path) == 2400
    data, _ = sf.read(str(path), dtype="int16")
    np.testing.assert_array_equal(data, np.concatenate(blocks))
    w.close()


def test_rewrite_truncates_an_old_take(tmp_path: Path) -> None:
    path = tmp_path / "r.wav"
    with IncrementalWavWriter(path) as w:
        w.write(_blocks(5)[0])
        w.write(_blocks(5)[1])
    with IncrementalWavWriter(path) as w:
        w.write(_blocks(1, seed=3)[0])
    assert os.path.getsize(path) == 44 + 800 * 2
    assert sf.info(str(path)).frames == 800


def test_header_fields(tmp_path: Path) -> None:
    path = tmp_path / "h.wav"
    with IncrementalWavWriter(path, sample_rate=16_000) as w:
        w.write(_blocks(1, size=10)[0])
    head = path.read_bytes()[:44]
    assert head[:4] == b"RIFF" and head[8:16] == b"WAVEfmt "
    assert struct.unpack("<I", head[4:8])[0] == 36 + 20
    assert struct.unpack("<I", head[40:44])[0] == 20
    assert struct.unpack("<I", head[24:28])[0] == 16_000


def test_write_after_close_is_an_error(tmp_path: Path) -> None:
    w = IncrementalWavWriter(tmp_path / "c.wav")
    w.close()
    w.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        w.write(np.zeros(10, dtype=np.int16))


def test_repair_refuses_other_files(tmp_path: Path) -> None:
    p = tmp_path / "x.wav"
    p.write_bytes(b"not a wav at all, certainly not one of ours....")
    with pytest.raises(ValueError, match="not a WAV"):
        repair_wav(p)
