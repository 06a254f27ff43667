"""webrtcvad + the end-of-answer rule on espeak-ng speech with room noise (no devices)."""

from __future__ import annotations

import numpy as np
import pytest

from interviewer.audio.endpoint import EndpointConfig, Endpointer
from interviewer.audio.vad import FrameBuffer, Vad
from tests.audio.speech import answer, silence


def endpoint(audio: np.ndarray, **cfg: float) -> Endpointer:
    """Run the recorder's pipeline offline: 50 ms blocks → VAD frames → endpointer."""
    vad, buf = Vad(), FrameBuffer()
    ep = Endpointer(EndpointConfig(**cfg))  # type: ignore[arg-type]
    for start in range(0, audio.shape[0], 800):
        for frame in buf.push(audio[start : start + 800]):
            if ep.push(vad.is_speech(frame)) is not None:
                return ep
    return ep


@pytest.mark.parametrize("noise", [0.0, 0.005])
def test_speech_boundaries_found_within_a_fraction_of_a_second(noise: float) -> None:
    a = answer(["Dropout randomly zeroes activations during training."], lead_s=1.0,
               tail_s=5.0, noise_rms=noise)
    ep = endpoint(a.audio, silence_s=2.0)
    assert ep.ended_by == "silence"
    assert ep.speech_start_s is not None and ep.speech_end_s is not None
    assert abs(ep.speech_start_s - a.speech_start_s) < 0.25
    assert abs(ep.speech_end_s - a.speech_end_s) < 0.25
    # Ends at speech end + silence rule, to the frame.
    assert ep.position_s == pytest.approx(ep.speech_end_s + 2.0, abs=0.031)


def test_pause_to_think_shorter_than_the_rule_keeps_recording() -> None:
    a = answer(["The first reason is variance.", 1.6, "The second is bias."], tail_s=4.0,
               noise_rms=0.004)
    ep = endpoint(a.audio, silence_s=2.0)
    assert ep.ended_by == "silence"
    assert ep.speech_end_s is not None and abs(ep.speech_end_s - a.speech_end_s) < 0.25


def test_same_pause_longer_than_the_rule_ends_the_take_early() -> None:
    a = answer(["The first reason is variance.", 2.6, "The second is bias."], tail_s=4.0,
               noise_rms=0.004)
    ep = endpoint(a.audio, silence_s=2.0)
    assert ep.ended_by == "silence"
    assert ep.speech_end_s is not None and ep.speech_end_s < a.speech_end_s - 2.0


@pytest.mark.parametrize("noise", [0.0, 0.003, 0.01])
def test_room_noise_alone_is_no_answer(noise: float) -> None:
    ep = endpoint(silence(6.0, noise_rms=noise).audio, no_answer_s=5.0)
    assert ep.ended_by == "no_answer"
    assert ep.speech_start_s is None
