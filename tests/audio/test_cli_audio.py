"""`interviewer record|say|devices|doctor` as subprocesses: kill -9 mid-answer, JSON output, and
truthful errors on a machine with no audio device."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.audio.speech import RATE, answer, locate, segment_match

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "interviewer", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=120, **kw)


def frames_on_disk(path: Path) -> int:
    try:
        return int(sf.info(str(path)).frames)
    except (RuntimeError, OSError):  # not created yet / header not yet written
        return 0


@pytest.mark.audio
def test_kill_9_mid_answer_leaves_a_valid_wav_missing_at_most_a_second(pulse: Any,
                                                                      tmp_path: Path) -> None:
    a = answer(["Cross validation splits the data into folds.", 0.8,
                "Each fold is held out once while the model trains on the others, and the "
                "scores are averaged."], noise_rms=0.003, seed=9)
    wav = a.write(tmp_path / "answer.wav")
    out = tmp_path / "killed.wav"
    proc = subprocess.Popen(
        [sys.executable, "-m", "interviewer", "record", str(out), "--silence", "5",
         "--max", "60", "--no-answer-timeout", "30"],
        env=pulse.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while (first := frames_on_disk(out)) == 0:  # recording has started
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "record did not start within 30 s"
            time.sleep(0.02)
        t_first = time.monotonic()
        player = pulse.play_into_mic(wav, wait=False)
        time.sleep(4.0)  # mid-answer (the answer is ~7 s)
        t_kill = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        player.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    data, sr = sf.read(str(out), dtype="int16")  # a valid WAV, as left by the dead process
    assert sr == RATE
    recorded = data.astype(np.float32) / 32768.0
    captured_s = recorded.shape[0] / RATE
    expected_s = first / RATE + (t_kill - t_first)  # what the device had delivered by then
    assert captured_s >= expected_s - 1.0, f"kept {captured_s:.2f} s of {expected_s:.2f} s"
    assert captured_s <= expected_s + 0.5
    # …and it is the answer, sample for sample, up to the kill.
    off = locate(recorded, a.audio)
    good, total = segment_match(recorded, a.audio, off)
    assert total >= 10 and good >= total - 1, f"{good}/{total} segments bit-exact"


@pytest.mark.audio
def test_record_non_interactive_prints_one_json_line(pulse: Any, tmp_path: Path) -> None:
    a = answer(["A short answer."], lead_s=1.0)
    wav = a.write(tmp_path / "short.wav")
    out = tmp_path / "json.wav"
    proc = subprocess.Popen(
        [sys.executable, "-m", "interviewer", "record", str(out), "--silence", "1.5",
         "--no-answer-timeout", "20"],
        env=pulse.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    while frames_on_disk(out) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    pulse.play_into_mic(wav)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    lines = stdout.strip().splitlines()
    assert len(lines) == 1
    take = json.loads(lines[0])
    assert take["ended_by"] == "silence" and take["path"] == str(out)
    assert take["speech_start_s"] is not None
    assert take["duration_s"] == pytest.approx(sf.info(str(out)).duration, abs=1e-3)
    assert "Traceback" not in stderr


@pytest.mark.audio
def test_say_exits_after_playback_and_was_heard(pulse: Any) -> None:
    with pulse.capture_speaker() as cap:
        res = cli("say", "--json", "--rate", "190", "Tell me about a project you are proud of.",
                  env=pulse.env)
        time.sleep(0.2)
    assert res.returncode == 0, res.stderr
    said = json.loads(res.stdout)
    assert said["device"] == "default" and said["duration_s"] > 1.5
    assert said["finished_at"] - said["started_at"] >= said["duration_s"] - 0.05
    loud = np.nonzero(np.abs(cap.audio) > 0.02)[0]
    assert loud.size and (loud[-1] - loud[0]) / RATE > said["duration_s"] - 0.8


@pytest.mark.audio
def test_doctor_and_devices_describe_the_virtual_devices(pulse: Any) -> None:
    res = cli("doctor", "--section", "audio", "--format", "json", env=pulse.env)
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads(res.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] and checks["input device"]["ok"] and checks["output device"]["ok"]
    assert "'mic'" in checks["input device"]["detail"]
    assert "'speaker'" in checks["output device"]["detail"]
    assert checks["input capture"]["ok"] and checks["text-to-speech"]["ok"]
    dev = cli("devices", env=pulse.env)
    assert dev.returncode == 0
    assert "source  mic" in dev.stdout and "sink    speaker" in dev.stdout


# --------------------------------------------------------------------------- no device at all
@pytest.fixture
def no_audio_env(tmp_path: Path) -> dict[str, str]:
    """A process environment where no sound server exists (and the machine has no card)."""
    if Path("/dev/snd").exists():
        pytest.skip("this machine has a sound card: 'no device' cannot be simulated")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env["PULSE_SERVER"] = f"unix:{tmp_path}/nobody-listens-here"
    return env


def test_record_without_device_is_one_clear_error(no_audio_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    out = tmp_path / "never.wav"
    res = cli("record", str(out), env=no_audio_env)
    assert res.returncode == 3
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("interviewer: error: no audio input device")
    assert "microphone" in lines[0] and "PULSE_SERVER" in lines[0]
    assert not out.exists()


def test_say_without_device_is_one_clear_error(no_audio_env: dict[str, str]) -> None:
    res = cli("say", "hello", env=no_audio_env)
    assert res.returncode == 3 and "Traceback" not in res.stderr
    assert "no audio output device found" in res.stderr and "--no-tts" in res.stderr


def test_doctor_and_devices_without_device_say_so(no_audio_env: dict[str, str]) -> None:
    doc = cli("doctor", "--section", "audio", env=no_audio_env)
    assert doc.returncode == 3
    assert "[FAIL] input device" in doc.stdout and "no audio input device found" in doc.stdout
    assert "no PulseAudio/PipeWire server reachable" in doc.stdout
    assert "2 required check(s) failed" in doc.stdout
    dev = cli("devices", env=no_audio_env)
    assert dev.returncode == 0
    assert "no audio input device found" in dev.stdout
    assert "no audio output device found" in dev.stdout
