"""Load audio files as 16 kHz mono float32 arrays, in bounded memory.

Files are read with soundfile (WAV, FLAC, OGG, … whatever libsndfile decodes) in blocks of a few
seconds: each block is down-mixed to mono and resampled with a polyphase filter
(`scipy.signal.resample_poly`) before the next one is read, so a 10-minute 48 kHz stereo take
never exists in memory as one float64 array (that alone would be ~460 MB). Blocks overlap by more
than the filter's half length and the overlap is trimmed, which makes the result identical to
resampling the whole signal at once.
"""

from __future__ import annotations

from math import ceil, gcd
from pathlib import Path

import numpy as np

from interviewer.errors import DataError
from interviewer.protocols import SAMPLE_RATE

BLOCK_SECONDS = 10.0


def _reason(exc: BaseException) -> str:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if reason.startswith("Error opening"):  # libsndfile repeats the path: keep its reason
        reason = reason.rsplit(": ", 1)[-1]
    return reason


def _resample_params(rate: int) -> tuple[int, int]:
    g = gcd(SAMPLE_RATE, rate)
    return SAMPLE_RATE // g, rate // g


def _context(up: int, down: int) -> int:
    """Input samples of context each side of a block: a multiple of `down` (keeps blocks on the
    output grid) longer than resample_poly's default filter half-length (10 * max(up, down)
    taps at the upsampled rate)."""
    need = 10 * max(up, down) / up + 2
    return down * ceil(need / down)


def load_audio(path: str | Path, *, block_seconds: float = BLOCK_SECONDS) -> np.ndarray:
    """Read `path` as float32 mono at 16 kHz, any input rate or channel count.

    Raises `DataError` naming the file when it is missing, corrupt, empty or unsupported.
    """
    import soundfile as sf

    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: audio file not found")
    try:
        with sf.SoundFile(str(p)) as f:
            rate, n_in = int(f.samplerate), int(f.frames)
            if rate <= 0 or n_in <= 0:
                raise DataError(f"{p}: audio file has no samples")
            return _read_resampled(f, rate, n_in, block_seconds)
    except DataError:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OSError) as exc:
        raise DataError(f"{p}: unreadable or unsupported audio ({_reason(exc)})") from exc


def _read_mono(f: object, start: int, count: int) -> np.ndarray:
    f.seek(start)  # type: ignore[attr-defined]
    block = f.read(count, dtype="float32", always_2d=True)  # type: ignore[attr-defined]
    if block.shape[0] != count:
        # libsndfile stops early on a truncated file: report it rather than return a short take.
        raise DataError(f"{f.name}: audio file is truncated ({start + block.shape[0]} of "  # type: ignore[attr-defined]
                        f"{f.frames} frames readable)")  # type: ignore[attr-defined]
    mono: np.ndarray = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
    return mono


def _read_resampled(f: object, rate: int, n_in: int, block_seconds: float) -> np.ndarray:
    from scipy.signal import resample_poly

    up, down = _resample_params(rate)
    if up == down:
        out = np.empty(n_in, dtype=np.float32)
        step = max(1, int(block_seconds * rate))
        for a in range(0, n_in, step):
            b = min(n_in, a + step)
            out[a:b] = _read_mono(f, a, b - a)
        return out

    n_out = ceil(n_in * up / down)
    out = np.empty(n_out, dtype=np.float32)
    ctx = _context(up, down)
    step = max(down, int(block_seconds * rate) // down * down)  # multiple of `down`
    for a in range(0, n_in, step):
        b = min(n_in, a + step)
        s0, s1 = max(0, a - ctx), min(n_in, b + ctx)
        y = resample_poly(_read_mono(f, s0, s1 - s0), up, down)
        lo = (a - s0) * up // down
        o0 = a * up // down
        o1 = n_out if b == n_in else b * up // down
        out[o0:o1] = y[lo : lo + (o1 - o0)]
    return out


def duration_s(audio: np.ndarray) -> float:
    """Length of a 16 kHz array in seconds."""
    return float(audio.shape[0]) / SAMPLE_RATE


def probe_audio(path: str | Path) -> float:
    """Check that `path` opens as audio (header only); return its duration in seconds."""
    import soundfile as sf

    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: audio file not found")
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OSError) as exc:
        raise DataError(f"{p}: unreadable or unsupported audio ({_reason(exc)})") from exc
    if info.frames <= 0 or info.samplerate <= 0:
        raise DataError(f"{p}: audio file has no samples")
    return float(info.frames) / float(info.samplerate)
