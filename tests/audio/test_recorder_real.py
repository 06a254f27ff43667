"""SoundDeviceRecorder on the private PulseAudio daemon: answers played into the virtual mic."""

from __future__ import annotations

import os
import pty
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from interviewer.audio.recorder import SoundDeviceRecorder
from interviewer.errors import AudioDeviceError
from tests.audio.speech import RATE, answer, locate, segment_match, silence

pytestmark = pytest.mark.audio

SILENCE_S = 2.0


def play_when_recording(pulse: Any, wav: Path, started: threading.Event,
                        feed: str = "micfeed") -> threading.Thread:
    """Start paplay as soon as the recorder delivered its first block."""

    def run() -> None:
        if started.wait(10):
            pulse.play_into_mic(wav, feed=feed)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def read_pcm(path: Path | str) -> np.ndarray:
    data, sr = sf.read(str(path), dtype="int16")
    assert sr == RATE
    return data.astype(np.float32) / 32768.0


def test_answer_is_recorded_sample_accurately_and_ended_by_vad(pulse: Any,
                                                              tmp_path: Path) -> None:
    a = answer(["Regularisation adds a penalty on the weights to the loss.", 1.2,
                "L2 shrinks them smoothly, while L1 drives some to exactly zero."],
               lead_s=0.5, noise_rms=0.004, seed=3)
    wav = a.write(tmp_path / "answer.wav")
    out = tmp_path / "take.wav"
    started = threading.Event()
    chunks: list[np.ndarray] = []
    on_disk: list[tuple[int, float]] = []  # (frames in the file's header, time) mid-recording

    def on_chunk(chunk: np.ndarray) -> None:
        chunks.append(chunk)
        started.set()
        if len(chunks) % 20 == 0:  # every ~1 s, look at the file as another process would
            on_disk.append((sf.info(str(out)).frames, time.monotonic()))

    rec = SoundDeviceRecorder(silence_s=SILENCE_S, no_answer_s=10, max_s=60,
                              enter_ends=False, meter=False)
    player = play_when_recording(pulse, wav, started)
    take = rec.record(out, on_chunk=on_chunk)
    returned = time.monotonic()
    player.join(10)

    assert take.ended_by == "silence"
    recorded = read_pcm(out)
    assert recorded.shape[0] == round(take.duration_s * RATE)
    # What on_chunk streamed is exactly what is on disk.
    np.testing.assert_array_equal(np.concatenate(chunks), recorded)
    # The answer is in the take, sample for sample (segments tolerate a rare dropout).
    off = locate(recorded, a.audio)
    good, total = segment_match(recorded, a.audio, off)
    assert total >= int(a.duration_s / 0.25) - 1
    assert good >= total - 1, f"only {good}/{total} segments bit-exact"
    # VAD found the speech where it is, and the take ended silence_s (+ < 1 s) after it.
    true_start = off / RATE + a.speech_start_s
    true_end = off / RATE + a.speech_end_s
    assert take.speech_start_s is not None and take.speech_end_s is not None
    assert abs(take.speech_start_s - true_start) < 0.3
    assert abs(take.speech_end_s - true_end) < 0.3
    delay = take.duration_s - true_end
    assert SILENCE_S - 0.3 <= delay <= SILENCE_S + 1.0, f"ended {delay:.2f} s after speech"
    # The file was on disk, valid and growing, while recording was still running.
    assert len(on_disk) >= 3
    frames_seen = [f for f, _ in on_disk]
    assert frames_seen == sorted(frames_seen) and 0 < frames_seen[0] < recorded.shape[0]
    assert all(t < returned for _, t in on_disk)
    assert take.ended_at is not None and take.ended_at <= returned


def test_silence_only_is_no_answer(pulse: Any, tmp_path: Path) -> None:
    noise = silence(5.0, noise_rms=0.006, seed=5).write(tmp_path / "room.wav")
    started = threading.Event()
    rec = SoundDeviceRecorder(no_answer_s=3.0, silence_s=SILENCE_S, enter_ends=False,
                              meter=False)
    play_when_recording(pulse, noise, started)
    take = rec.record(tmp_path / "none.wav", on_chunk=lambda c: started.set())
    assert take.ended_by == "no_answer" and take.no_answer
    assert take.speech_start_s is None and take.speech_end_s is None
    assert 3.0 <= take.duration_s < 3.2
    room = read_pcm(take.path)
    assert float(np.sqrt(np.mean(room[RATE:] ** 2))) > 0.004  # it did hear the room noise


def test_max_length_ends_a_long_answer(pulse: Any, tmp_path: Path) -> None:
    a = answer(["A long answer that simply keeps going without any pause at all, on and on."])
    wav = a.write(tmp_path / "long.wav")
    started = threading.Event()
    rec = SoundDeviceRecorder(max_s=2.0, enter_ends=False, meter=False)
    play_when_recording(pulse, wav, started)
    take = rec.record(tmp_path / "max.wav", on_chunk=lambda c: started.set())
    assert take.ended_by == "max_length"
    assert 2.0 <= take.duration_s < 2.1
    assert take.speech_start_s is not None


def test_enter_on_a_terminal_ends_the_take_and_meter_draws(pulse: Any, tmp_path: Path) -> None:
    master, slave = pty.openpty()
    err_master, err_slave = pty.openpty()
    stdin = os.fdopen(slave, "r")
    stderr = os.fdopen(err_slave, "w")
    try:
        rec = SoundDeviceRecorder(no_answer_s=30, stdin=stdin, stderr=stderr)
        assert rec.enter_ends and rec.meter  # both are terminals
        os.write(master, b"typed during the question\n")  # type-ahead must not end the take
        threading.Timer(1.5, os.write, args=(master, b"\n")).start()
        take = rec.record(tmp_path / "enter.wav")
        drawn = os.read(err_master, 65536).decode(errors="replace")
    finally:
        stdin.close()
        stderr.close()
        os.close(master)
        os.close(err_master)
    assert take.ended_by == "enter"
    assert 1.2 < take.duration_s < 3.0
    assert "REC" in drawn and "dB" in drawn and "Enter = done" in drawn


def test_named_input_device_and_isolation(pulse: Any, tmp_path: Path) -> None:
    """--input-device by PulseAudio source name records that mic, not the default one."""
    mic = pulse.add_mic("desk-mic")
    a = answer(["Only the desk microphone hears this."], noise_rms=0.003)
    wav = a.write(tmp_path / "desk.wav")
    started = threading.Event()
    rec = SoundDeviceRecorder("desk-mic", silence_s=1.5, no_answer_s=10, enter_ends=False,
                              meter=False)
    play_when_recording(pulse, wav, started, feed=mic.feed)
    take = rec.record(tmp_path / "desk-take.wav", on_chunk=lambda c: started.set())
    assert rec.device is not None and rec.device.name == "pulse:desk-mic"
    assert take.ended_by == "silence"
    recorded = read_pcm(take.path)
    good, total = segment_match(recorded, a.audio, locate(recorded, a.audio))
    assert total >= 4 and good >= total - 1


def test_unknown_input_device_is_a_clear_error(pulse: Any, tmp_path: Path) -> None:
    with pytest.raises(AudioDeviceError, match="no audio input device matches 'nonexistent-mic'"):
        SoundDeviceRecorder("nonexistent-mic").record(tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_device_that_stops_delivering_keeps_the_audio(pulse: Any, tmp_path: Path) -> None:
    """A mic that goes silent mid-take (suspended, unplugged behind a hub): a clear error
    naming the device, and the audio captured so far stays on disk."""
    mic = pulse.add_mic("flaky-mic")
    started = threading.Event()

    def cut() -> None:
        if started.wait(10):
            time.sleep(1.5)
            pulse.pactl("suspend-source", mic.name, "1")

    threading.Thread(target=cut, daemon=True).start()
    rec = SoundDeviceRecorder("flaky-mic", no_answer_s=30, enter_ends=False, meter=False,
                              stall_timeout_s=1.0)
    out = tmp_path / "flaky.wav"
    try:
        with pytest.raises(AudioDeviceError, match="'pulse:flaky-mic' stopped delivering") as exc:
            rec.record(out, on_chunk=lambda c: started.set())
    finally:
        pulse.pactl("suspend-source", mic.name, "0")
    assert str(out) in (exc.value.hint or "")
    assert 1.0 < sf.info(str(out)).duration < 3.0
