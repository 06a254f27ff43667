"""Speaker and Player on the private PulseAudio daemon: what the program plays is what the
virtual speaker's monitor hears."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.signal import resample_poly

from interviewer.audio.player import SoundDevicePlayer
from interviewer.audio.speaker import Pyttsx3Speaker, synthesize
from interviewer.errors import AudioDeviceError
from tests.audio.speech import RATE, answer, locate, segment_match

pytestmark = pytest.mark.audio

QUESTION = "What is the difference between bagging and boosting?"


def loud_span(audio: np.ndarray, threshold: float = 0.02) -> float:
    """Seconds from the first to the last sample above `threshold` (0 if none)."""
    idx = np.nonzero(np.abs(audio) > threshold)[0]
    return 0.0 if idx.size == 0 else (idx[-1] - idx[0]) / RATE


def envelope(audio: np.ndarray, hop: int = 320) -> np.ndarray:
    """RMS per 20 ms."""
    n = audio.shape[0] // hop
    return np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1))


def test_spoken_question_is_heard_on_the_speaker(pulse: Any) -> None:
    ref, sr = synthesize(QUESTION)
    ref16 = resample_poly(ref, 320, 441).astype(np.float32)  # 22050 → 16000, like the sink
    speaker = Pyttsx3Speaker()
    with pulse.capture_speaker() as cap:
        t0 = time.monotonic()
        result = speaker.speak(QUESTION)
        returned = time.monotonic()
        time.sleep(0.3)
    heard = cap.audio
    # The call returned only after playback: it took at least the utterance's length.
    assert returned - t0 >= ref.shape[0] / sr - 0.05
    assert result.device == "default" and not result.printed_only
    assert result.started_at is not None and result.finished_at is not None
    assert result.duration_s == pytest.approx(ref.shape[0] / sr, abs=0.01)
    assert result.finished_at - result.started_at >= result.duration_s - 0.05
    # Not silence, and the same speech: same loud span and the same 20 ms energy envelope.
    # (Waveforms differ: PulseAudio resamples 22050 → 16000 with its own filter and phase.)
    assert loud_span(heard) == pytest.approx(loud_span(ref16), abs=0.1)
    off = locate(heard, ref16)
    seg = heard[off : off + ref16.shape[0]]
    assert seg.shape == ref16.shape
    corr = float(np.corrcoef(envelope(seg), envelope(ref16))[0, 1])
    assert corr > 0.98, f"heard audio's envelope correlates {corr:.3f} with the question's"


def test_prepared_follow_up_plays_without_synthesising_again(pulse: Any,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             ) -> None:
    """`prepare` (called during the end-of-answer pause) synthesises once; `speak` then plays
    that very audio, and an unprepared text is still synthesised on demand."""
    import interviewer.audio.speaker as speaker_module

    calls: list[str] = []
    real = speaker_module.synthesize

    def counting(text: str, **kw: Any) -> tuple[np.ndarray, int]:
        calls.append(text)
        return real(text, **kw)

    monkeypatch.setattr(speaker_module, "synthesize", counting)
    follow_up = "How would you tune the warmup length?"
    speaker = Pyttsx3Speaker()
    prep = threading.Thread(target=speaker.prepare, args=(follow_up,))
    prep.start()
    prep.join(30)
    assert calls == [follow_up]
    ref, _ = real(follow_up)
    ref16 = resample_poly(ref, 320, 441).astype(np.float32)
    with pulse.capture_speaker() as cap:
        said = speaker.speak(follow_up)
        time.sleep(0.3)
    assert calls == [follow_up]  # played from the prepared audio
    assert said.duration_s == pytest.approx(ref.shape[0] / 22050, abs=0.01)
    off = locate(cap.audio, ref16)
    seg = cap.audio[off : off + ref16.shape[0]]
    corr = float(np.corrcoef(envelope(seg), envelope(ref16))[0, 1])
    assert corr > 0.98
    speaker.speak("Thank you.")
    assert calls == [follow_up, "Thank you."]


def test_speaker_routes_to_a_named_pulse_sink(pulse: Any) -> None:
    """--output-device with a PulseAudio sink name: plays there, not on the default speaker."""
    pulse.add_sink("headphones")
    speaker = Pyttsx3Speaker("headphones", voice="en-us", rate=200)
    with pulse.capture_speaker("headphones.monitor") as phones, \
            pulse.capture_speaker() as default:
        result = speaker.speak("Second question.")
        time.sleep(0.3)
    assert result.device == "pulse:headphones"
    assert loud_span(phones.audio) > 0.5
    assert loud_span(default.audio) == 0.0


def test_player_plays_a_wav_bit_exactly_with_progress(pulse: Any, tmp_path: Path) -> None:
    a = answer(["Replay of the first answer."], lead_s=0.2, tail_s=0.2)
    wav = a.write(tmp_path / "take.wav")
    progress: list[tuple[float, float]] = []
    player = SoundDevicePlayer()
    with pulse.capture_speaker() as cap:
        played = player.play(wav, on_progress=lambda pos, total: progress.append((pos, total)))
        time.sleep(0.3)
    assert played == pytest.approx(a.duration_s, abs=0.01)
    assert progress and progress[-1][1] == pytest.approx(a.duration_s, abs=0.01)
    positions = [p for p, _ in progress]
    assert positions == sorted(positions) and len(positions) >= 5
    off = locate(cap.audio, a.audio)
    good, total = segment_match(cap.audio, a.audio, off)
    assert total >= 6 and good >= total - 1, f"{good}/{total} segments bit-exact"


def test_player_stops_when_asked(pulse: Any, tmp_path: Path) -> None:
    a = answer(["This answer is long enough to be cut short by the stop button, surely."],
               tail_s=1.0)
    wav = a.write(tmp_path / "long.wav")
    player = SoundDevicePlayer()
    timer = threading.Timer(1.0, player.stop.set)
    with pulse.capture_speaker() as cap:
        timer.start()
        played = player.play(wav)
        time.sleep(0.5)
    assert 0.5 < played < a.duration_s - 1.0
    assert player.last is not None and player.last.interrupted
    # Nothing was heard after the stop: the loud part is about as long as what was played.
    assert loud_span(cap.audio) < played + 0.3


def test_output_that_stops_taking_audio_is_a_clear_error(pulse: Any, tmp_path: Path) -> None:
    pulse.add_sink("shaky-speaker")
    a = answer(["A replay that the speaker will not finish, because it goes away."],
               tail_s=2.0)
    wav = a.write(tmp_path / "shaky.wav")
    player = SoundDevicePlayer("shaky-speaker", stall_timeout_s=1.0)
    cut = threading.Timer(1.0, pulse.pactl, args=("suspend-sink", "shaky-speaker", "1"))
    cut.start()
    try:
        with pytest.raises(AudioDeviceError, match="'pulse:shaky-speaker' stopped playing"):
            player.play(wav)
    finally:
        cut.join()
        pulse.pactl("suspend-sink", "shaky-speaker", "0")
