"""End-of-answer rule: a pure state machine fed one VAD decision per frame.

No audio, no devices, no clocks: time is the position in the take (frames × frame length), so
the same input always ends at the same sample and the rule can be unit-tested on plain lists.

Rules, checked after every frame:
- `silence`: speech was heard (armed) and the last speech is `silence_s` behind;
- `max_length`: the take reached `max_s`;
- `no_answer`: nothing armed within `no_answer_s` of the start.

Arming needs `arm_frames` consecutive speech frames: webrtcvad calls the first 3–6 frames of any
stream speech, and a cough or click is short. Once armed, a shorter run (`resume_frames`) counts
as speech again, so a word after a thinking pause restarts the silence timer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # keep this module import-light: `interviewer record --help` reads the defaults
    from interviewer.protocols import EndReason

#: Interviews need seconds: candidates pause to think. Dictation tools use ~0.5 s.
DEFAULT_SILENCE_S = 3.0
DEFAULT_MAX_S = 240.0
DEFAULT_NO_ANSWER_S = 20.0


@dataclass(frozen=True)
class EndpointConfig:
    """Parameters of the end-of-answer rule (all times in seconds of audio)."""

    silence_s: float = DEFAULT_SILENCE_S
    max_s: float = DEFAULT_MAX_S
    no_answer_s: float = DEFAULT_NO_ANSWER_S
    frame_s: float = 0.03  # one VAD frame (vad.FRAME_MS)
    arm_frames: int = 6  # consecutive speech frames before the answer counts as started
    resume_frames: int = 2  # consecutive speech frames that count as speech once armed

    def __post_init__(self) -> None:
        for name in ("silence_s", "max_s", "no_answer_s", "frame_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"endpoint {name} must be > 0, got {getattr(self, name)}")
        if self.arm_frames < 1 or self.resume_frames < 1:
            raise ValueError("endpoint arm_frames and resume_frames must be >= 1")


class Endpointer:
    """Feed `push(is_speech)` per frame; it returns the EndReason once the take should end."""

    def __init__(self, config: EndpointConfig | None = None) -> None:
        self.config = config or EndpointConfig()
        self.frames = 0
        self.armed = False
        self.speech_start_s: float | None = None
        self.speech_end_s: float | None = None
        self.ended_by: EndReason | None = None
        self._run = 0  # current run of consecutive speech frames

    @property
    def position_s(self) -> float:
        """Seconds of audio seen so far."""
        return self.frames * self.config.frame_s

    @property
    def speaking(self) -> bool:
        """The last frame was speech (for a live indicator; not a decision)."""
        return self._run > 0

    def push(self, is_speech: bool) -> EndReason | None:
        """Account one frame; return the reason the take ends, or None to keep recording.

        After an end has been returned, further frames are ignored and the same reason is
        returned again (the caller may still be draining audio).
        """
        if self.ended_by is not None:
            return self.ended_by
        cfg = self.config
        self.frames += 1
        now = self.position_s
        if is_speech:
            self._run += 1
            needed = cfg.resume_frames if self.armed else cfg.arm_frames
            if self._run >= needed:
                if not self.armed:
                    self.armed = True
                    self.speech_start_s = now - self._run * cfg.frame_s
                self.speech_end_s = now
        else:
            self._run = 0
        self.ended_by = self._check(now)
        return self.ended_by

    def _check(self, now: float) -> EndReason | None:
        cfg = self.config
        # Tiny epsilon: frame_s × n accumulates float error, and "exactly 2.5 s" must end.
        eps = 1e-9
        if self.armed and self.speech_end_s is not None and (
            now - self.speech_end_s >= cfg.silence_s - eps
        ):
            return "silence"
        if now >= cfg.max_s - eps:
            return "max_length"
        if not self.armed and now >= cfg.no_answer_s - eps:
            return "no_answer"
        return None

    def feed(self, decisions: Iterable[bool]) -> EndReason | None:
        """Push many frames; stop at the first end (convenience for tests and offline use)."""
        for d in decisions:
            reason = self.push(d)
            if reason is not None:
                return reason
        return None
