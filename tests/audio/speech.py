"""Deterministic spoken test audio: espeak-ng (the CLI) → 16 kHz float32, with exact pauses.

Also used by other areas' tests (ASR) for answers with known words and known timing.
"""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

RATE = 16_000


def espeak(text: str, *, voice: str = "en-us", wpm: int = 165) -> np.ndarray:
    """Speak `text` with the espeak-ng CLI; return float32 mono at 16 kHz (no end pause)."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-z", "--stdout", text],
                         capture_output=True, check=True, timeout=60).stdout
    audio, sr = sf.read(io.BytesIO(wav), dtype="float32")
    g = gcd(RATE, int(sr))
    return resample_poly(audio, RATE // g, int(sr) // g).astype(np.float32)


@dataclass
class Answer:
    """A synthetic answer and where its speech is (seconds into `audio`)."""

    audio: np.ndarray
    speech_start_s: float
    speech_end_s: float

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / RATE

    @property
    def pcm(self) -> np.ndarray:
        """The exact int16 samples (audio is pcm / 32768)."""
        return np.round(self.audio * 32768).astype(np.int16)

    def write(self, path: Path) -> Path:
        sf.write(str(path), self.pcm, RATE, subtype="PCM_16")
        return path


def answer(parts: list[str | float], *, lead_s: float = 0.5, tail_s: float = 0.0,
           noise_rms: float = 0.0, seed: int = 0, wpm: int = 165) -> Answer:
    """Build an answer from spoken `parts` (str) and exact pauses (float seconds).

    `noise_rms` adds seeded white noise everywhere, so "silence" is room noise that only a VAD
    (not an energy gate) tells from speech.
    """
    chunks = [np.zeros(int(lead_s * RATE), dtype=np.float32)]
    for part in parts:
        if isinstance(part, str):
            chunks.append(espeak(part, wpm=wpm))
        else:
            chunks.append(np.zeros(int(part * RATE), dtype=np.float32))
    chunks.append(np.zeros(int(tail_s * RATE), dtype=np.float32))
    audio = np.concatenate(chunks)
    loud = np.nonzero(np.abs(audio) > 0.02)[0]
    start, end = (loud[0] / RATE, (loud[-1] + 1) / RATE) if loud.size else (0.0, 0.0)
    if noise_rms > 0:
        rng = np.random.default_rng(seed)
        noise = np.asarray(rng.normal(0.0, noise_rms, audio.shape[0]), dtype=np.float32)
        audio = audio + noise
    # Quantise now, so the WAV on disk and `audio` are the same samples (int16 / 32768, the
    # scaling soundfile uses when reading int16 back as float).
    pcm = np.clip(np.round(audio * 32768), -32768, 32767)
    return Answer(audio=(pcm / 32768).astype(np.float32), speech_start_s=start,
                  speech_end_s=end)


def silence(seconds: float, *, noise_rms: float = 0.0, seed: int = 0) -> Answer:
    """Only room noise (or digital silence): nothing a recorder should call an answer."""
    return answer([], lead_s=seconds, noise_rms=noise_rms, seed=seed)


def locate(recorded: np.ndarray, reference: np.ndarray) -> int:
    """Offset (samples) of `reference` inside `recorded`, by FFT cross-correlation."""
    from scipy.signal import correlate

    c = correlate(recorded.astype(np.float64), reference.astype(np.float64), mode="full",
                  method="fft")
    return int(np.argmax(c)) - (reference.shape[0] - 1)


def segment_match(recorded: np.ndarray, reference: np.ndarray, offset: int, *,
                  segment_s: float = 0.25, tol: float = 1.5 / 32768) -> tuple[int, int]:
    """Compare `reference` with `recorded[offset:]` in segments; return (matching, compared).

    A segment matches when every sample is within `tol` (a couple of LSB). Segments of the
    reference that fall outside the recording are not compared.
    """
    seg = int(segment_s * RATE)
    good = total = 0
    for i in range(0, reference.shape[0] - seg + 1, seg):
        j = offset + i
        if j < 0 or j + seg > recorded.shape[0]:
            continue
        total += 1
        if np.max(np.abs(recorded[j : j + seg] - reference[i : i + seg])) <= tol:
            good += 1
    return good, total
