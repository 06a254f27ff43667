"""Voice activity detection over 16 kHz float32 audio (webrtcvad), shared by the recorder's
end-of-answer rule and the streaming transcriber's segmenter.

webrtcvad takes 10/20/30 ms frames of 16-bit PCM; we use 30 ms frames. It flags the first few
frames of a stream as speech, so callers arm timers only after several consecutive speech frames.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from interviewer.protocols import SAMPLE_RATE

FRAME_MS = 30
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 480


def to_pcm16(audio: np.ndarray) -> bytes:
    """float32 [-1, 1] → little-endian int16 bytes (clipped)."""
    pcm: np.ndarray = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    return pcm.tobytes()


class Vad:
    """Frame-level speech classifier. `aggressiveness` 0 (lenient) … 3 (strict)."""

    def __init__(self, aggressiveness: int = 2, *, min_rms: float = 0.003) -> None:
        import webrtcvad  # light C extension; imported here so bank commands never load it

        self._vad = webrtcvad.Vad(aggressiveness)
        # An energy floor on top of the VAD: webrtcvad alone fires on faint hiss.
        self.min_rms = min_rms

    def is_speech(self, frame: np.ndarray) -> bool:
        """Classify exactly one FRAME_SAMPLES-long float32 frame."""
        if frame.shape[0] != FRAME_SAMPLES:
            raise ValueError(f"VAD frame must be {FRAME_SAMPLES} samples, got {frame.shape[0]}")
        if float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))) < self.min_rms:
            return False
        return bool(self._vad.is_speech(to_pcm16(frame), SAMPLE_RATE))


class FrameBuffer:
    """Re-chunks arbitrary-sized blocks into whole VAD frames, keeping the remainder."""

    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)

    def push(self, block: np.ndarray) -> Iterator[np.ndarray]:
        data = np.concatenate([self._pending, block.astype(np.float32, copy=False).reshape(-1)])
        n = data.shape[0] // FRAME_SAMPLES
        for i in range(n):
            yield data[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
        self._pending = data[n * FRAME_SAMPLES :]
