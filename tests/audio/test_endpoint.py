"""End-of-answer state machine on synthetic frame decisions (fast, torch-free, no devices)."""

from __future__ import annotations

import numpy as np
import pytest

from interviewer.audio.endpoint import EndpointConfig, Endpointer

FRAME = 0.03


def near(x: float) -> object:
    """Equal within one frame (spans are rounded to whole frames)."""
    return pytest.approx(x, abs=FRAME + 1e-9)


def frames(*spans: tuple[bool, float]) -> list[bool]:
    """[(is_speech, seconds), …] → one decision per 30 ms frame."""
    out: list[bool] = []
    for speech, secs in spans:
        out += [speech] * int(round(secs / FRAME))
    return out


def run(decisions: list[bool], **cfg: float) -> tuple[Endpointer, int | None]:
    """Feed until the end; return the endpointer and the 1-based frame at which it ended."""
    ep = Endpointer(EndpointConfig(**cfg))  # type: ignore[arg-type]
    for i, d in enumerate(decisions, 1):
        if ep.push(d) is not None:
            return ep, i
    return ep, None


def test_silence_after_speech_ends_exactly_after_the_rule() -> None:
    decisions = [False] * 30 + [True] * 60 + [False] * 400
    ep, at = run(decisions, silence_s=1.5)  # 1.5 s = 50 frames
    assert ep.ended_by == "silence"
    assert ep.speech_start_s == pytest.approx(30 * FRAME)
    assert ep.speech_end_s == pytest.approx(90 * FRAME)
    assert at == 30 + 60 + 50


def test_thinking_pause_shorter_than_rule_does_not_end() -> None:
    ep, _ = run(frames((True, 1.0), (False, 2.4), (True, 1.0), (False, 5.0)), silence_s=2.5)
    assert ep.ended_by == "silence"
    assert ep.speech_end_s == near(1.0 + 2.4 + 1.0)


def test_short_word_after_pause_restarts_the_silence_timer() -> None:
    # 60 ms of speech (2 frames) once armed counts: "…and, um, yes."
    ep, _ = run(frames((True, 0.6), (False, 2.0), (True, 0.06), (False, 5.0)), silence_s=2.5)
    assert ep.speech_end_s == near(0.6 + 2.0 + 0.06)


def test_single_frame_blip_after_speech_is_ignored() -> None:
    ep, _ = run(frames((True, 0.6), (False, 1.0), (True, 0.03), (False, 5.0)), silence_s=2.5)
    assert ep.speech_end_s == near(0.6)


def test_initial_vad_false_positives_do_not_arm() -> None:
    # webrtcvad flags the first 3–6 frames of a stream as speech; then silence until timeout.
    decisions = [True] * 5 + frames((False, 10.0))
    ep, at = run(decisions, no_answer_s=4.0)
    assert not ep.armed
    assert ep.ended_by == "no_answer"
    assert at is not None and at * FRAME == near(4.0)


def test_arming_needs_consecutive_frames_not_a_total() -> None:
    decisions = [True, False] * 200  # 50 % speech frames, never 6 in a row
    ep, _ = run(decisions, no_answer_s=5.0)
    assert ep.ended_by == "no_answer"
    assert ep.speech_start_s is None


def test_no_answer_is_not_reported_once_speech_started() -> None:
    ep, _ = run(frames((False, 3.0), (True, 0.5), (False, 30.0)), no_answer_s=4.0, silence_s=6.0)
    assert ep.ended_by == "silence"
    assert ep.speech_start_s == near(3.0)


def test_max_length_cuts_a_long_answer() -> None:
    ep, at = run(frames((True, 20.0)), max_s=12.0)
    assert ep.ended_by == "max_length"
    assert at is not None and at * FRAME == near(12.0)
    assert ep.speech_end_s == near(12.0)


def test_after_the_end_further_frames_change_nothing() -> None:
    ep, _ = run(frames((True, 1.0), (False, 3.0)), silence_s=2.5)
    frames_at_end = ep.frames
    assert ep.push(True) == "silence"
    assert ep.frames == frames_at_end and ep.speech_end_s == near(1.0)


def test_feed_matches_push_on_random_decisions() -> None:
    rng = np.random.default_rng(7)
    decisions = list(rng.random(3000) < 0.3)
    a = Endpointer(EndpointConfig(silence_s=1.0, no_answer_s=50, max_s=200))
    reason = a.feed(decisions)
    b, at = run(decisions, silence_s=1.0, no_answer_s=50, max_s=200)
    assert reason == b.ended_by and a.frames == at


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="silence_s"):
        EndpointConfig(silence_s=0)
    with pytest.raises(ValueError, match="arm_frames"):
        EndpointConfig(arm_frames=0)
