"""Audio file loading: formats, rates, channels, blockwise resampling, bad files."""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from interviewer.asr.audio_io import load_audio, probe_audio
from interviewer.errors import DataError


@pytest.mark.parametrize(("rate", "channels"), [(48_000, 2), (44_100, 1), (22_050, 2),
                                                (16_000, 2), (8_000, 1)])
def test_blockwise_resampling_equals_whole_signal(tmp_path: Path, rate: int,
                                                  channels: int) -> None:
    rng = np.random.default_rng(rate)
    x = (0.1 * rng.standard_normal((rate * 7 + 13, channels))).astype(np.float32)
    path = tmp_path / "x.wav"
    sf.write(path, x, rate, subtype="FLOAT")
    got = load_audio(path, block_seconds=1.3)  # many blocks, none aligned to the length
    g = gcd(16_000, rate)
    mono = x.mean(axis=1)
    want = mono if rate == 16_000 else resample_poly(mono, 16_000 // g, rate // g)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_48k_stereo_real_speech_survives_conversion(tmp_path: Path,
                                                    clip_audio: dict[str, np.ndarray]) -> None:
    speech = clip_audio["harvard"]
    up = resample_poly(speech, 3, 1).astype(np.float32)
    stereo = np.stack([up, 0.5 * up], axis=1)
    path = tmp_path / "stereo48k.wav"
    sf.write(path, stereo, 48_000, subtype="PCM_16")
    back = load_audio(path)
    assert back.shape[0] == pytest.approx(speech.shape[0], abs=2)
    n = min(back.shape[0], speech.shape[0])
    corr = np.corrcoef(back[:n], 0.75 * speech[:n])[0, 1]
    assert corr > 0.999


@pytest.mark.parametrize(("fmt", "subtype"), [("FLAC", "PCM_16"), ("OGG", "VORBIS")])
def test_flac_and_ogg(tmp_path: Path, fmt: str, subtype: str,
                      clip_audio: dict[str, np.ndarray]) -> None:
    speech = clip_audio["harvard"]
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, speech, 16_000, format=fmt, subtype=subtype)
    back = load_audio(path)
    assert abs(back.shape[0] - speech.shape[0]) < 16_000 * 0.05
    n = min(back.shape[0], speech.shape[0])
    assert np.corrcoef(back[:n], speech[:n])[0, 1] > 0.95
    assert probe_audio(path) == pytest.approx(speech.shape[0] / 16_000, abs=0.05)


@pytest.mark.parametrize("kind", ["garbage", "empty", "text", "missing", "no-samples"])
def test_bad_files_raise_data_error_naming_the_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.wav"
    if kind == "garbage":
        path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not audio\n" * 100)
    elif kind == "no-samples":
        sf.write(path, np.zeros((0, 1), dtype=np.float32), 16_000)
    for fn in (load_audio, probe_audio):
        with pytest.raises(DataError) as err:
            fn(path)
        msg = str(err.value)
        assert str(path) in msg and "\n" not in msg
