"""A full spoken session through the real CLI, on the virtual audio devices: the program speaks
the question on the virtual speaker, the test answers into the virtual microphone, the program
ends the answer by VAD, transcribes with real Whisper, judges with the embedded judge, asks a
follow-up, records the second answer and writes the session folder. Then kill -9 mid-answer,
`--resume`, and replay onto the virtual speaker."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from interviewer.judge.text import find_span

pytestmark = [pytest.mark.audio, pytest.mark.slow]

Q1, Q2 = "which-distribution-new-value", "bias-variance-tradeoff"
ANSWER1 = ("I would fit a distribution to each array and compare the likelihood of the new "
           "value under each one. If one source is much more common, I multiply by the prior "
           "and compare posteriors.")
ANSWER2 = ("When I do not know the family, I use a kernel density estimate instead of a "
           "Gaussian, and if the two overlap a lot I report that the decision is uncertain.")
ANSWER3 = ("Bias is error from a model that is too simple. Variance is error from fitting noise "
           "in one sample. More flexible models lower bias but raise variance.")


def say_to_wav(text: str, path: Path, lead_silence_s: float = 0.5) -> Path:
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-s", "155", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path),
                    "pad", str(lead_silence_s), "0"], check=True)
    return path


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


class Session:
    """A running `interviewer practice` subprocess and its session folder."""

    def __init__(self, root: Path, args: list[str], env: dict[str, str]) -> None:
        self.root = root
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "interviewer", "practice", "--out", str(root), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, text=True)

    def data(self) -> dict[str, Any] | None:
        folders = [p for p in self.root.iterdir() if p.is_dir()] if self.root.is_dir() else []
        for f in folders:
            try:
                return json.loads((f / "session.json").read_text())  # type: ignore[no-any-return]
            except (OSError, ValueError):
                return None
        return None

    def folder(self) -> Path:
        return next(p for p in self.root.iterdir() if p.is_dir())

    def wait_recording(self, turn: int, take: int = 0, timeout: float = 240) -> None:
        """Block until the program is listening for `turn`'s answer."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise AssertionError(f"program exited early: {self.proc.stderr.read()}")  # type: ignore[union-attr]
            d = self.data()
            if d and len(d["turns"]) > turn and len(d["turns"][turn].get("takes", [])) > take \
                    and d["turns"][turn]["takes"][take]["status"] == "recording":
                time.sleep(0.8)  # the take is stored just before the input stream opens
                return
            time.sleep(0.1)
        raise AssertionError(f"turn {turn} never started recording")

    def finish(self, timeout: float = 300) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng/sox not installed (run .ci/install)")
    d = tmp_path_factory.mktemp("answers")
    return {name: say_to_wav(text, d / f"{name}.wav")
            for name, text in (("a1", ANSWER1), ("a2", ANSWER2), ("a3", ANSWER3))}


def test_spoken_session_end_to_end(pulse: Any, answers: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "rec"
    env = {**os.environ, **pulse.env}
    with pulse.capture_speaker() as cap:
        s = Session(root, ["--question", Q1, "--judge", "embedded", "--max-follow-ups", "1",
                           "--silence", "1.5", "--no-answer-timeout", "30"], env)
        s.wait_recording(0)
        pulse.play_into_mic(answers["a1"])
        s.wait_recording(1)
        pulse.play_into_mic(answers["a2"])
        code, out, err = s.finish()
    assert code == 0, err
    d = s.data()
    assert d is not None and d["status"] == "completed"
    main, follow = d["turns"]
    assert follow["kind"] == "follow_up" and follow["text"] in out
    # The question was really played: its speech lies on the virtual speaker.
    assert main["asked"]["device"] and main["asked"]["duration_s"] > 2
    heard = cap.audio
    assert np.sqrt(np.mean(heard**2)) > 0.005 and len(heard) / 16000 > main["asked"]["duration_s"]
    for turn, wav in ((main, answers["a1"]), (follow, answers["a2"])):
        take = turn["takes"][0]
        assert take["take"]["ended_by"] == "silence"
        # Ended by VAD within the configured silence (+1 s) after the answer finished.
        assert take["take"]["duration_s"] < wav_seconds(wav) + 1.5 + 1.0 + 1.0
        audio_file = s.folder() / take["audio"]
        assert audio_file.is_file() and wav_seconds(audio_file) > wav_seconds(wav) - 0.5
        text = take["transcript"]["text"]
        assert take["transcript"]["words"] and take["metrics"]["words"] > 15
        for p in take["judgements"][-1]["points"]:
            if p["status"] != "missing":
                assert find_span(text, p["evidence"]) is not None
    verdicts = {p["point_id"]: p["status"] for p in main["takes"][0]["judgements"][-1]["points"]}
    assert sum(v != "missing" for v in verdicts.values()) >= 2, verdicts
    assert "likelihood" in main["takes"][0]["transcript"]["text"].lower()

    # Replay plays the stored takes onto the virtual speaker.
    with pulse.capture_speaker() as cap:
        r = subprocess.run([sys.executable, "-m", "interviewer", "replay", "last", "--turn", "1",
                            "--out", str(root)], env=env, capture_output=True, text=True,
                           timeout=120)
    assert r.returncode == 0, r.stderr
    played = cap.audio
    voiced = np.sum(np.abs(played) > 0.02) / 16000
    assert len(played) / 16000 >= wav_seconds(answers["a1"]) - 0.5 and voiced > 1.0
    assert "likelihood" in r.stdout.lower()


def test_kill_during_second_answer_then_resume(pulse: Any, answers: dict[str, Path],
                                               tmp_path: Path) -> None:
    root = tmp_path / "rec"
    env = {**os.environ, **pulse.env}
    args = ["--question", Q1, "--question", Q2, "--judge", "embedded", "--max-follow-ups", "1",
            "--silence", "1.5", "--no-answer-timeout", "30"]
    s = Session(root, args, env)
    s.wait_recording(0)
    pulse.play_into_mic(answers["a1"])
    s.wait_recording(1)
    player = pulse.play_into_mic(answers["a2"], wait=False)
    time.sleep(3.0)
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait(timeout=10)
    player.wait(timeout=60)
    d = s.data()
    assert d is not None and d["status"] == "running"
    main, follow = d["turns"]
    assert main["takes"][0]["status"] == "judged"
    partial = s.folder() / follow["takes"][0]["audio"]
    assert partial.is_file() and wav_seconds(partial) > 1.0  # written as it was captured

    sid = s.folder().name
    r = Session(root, ["--resume", sid], env)
    r.wait_recording(2)
    pulse.play_into_mic(answers["a3"])
    # This answer covers every point Q2's follow-ups target, so the exchange usually asks none
    # (issue 16: never probe a covered point); one that is asked times out as "no answer".
    code, _, err = r.finish()
    assert code == 0, err
    d = r.data()
    assert d is not None and d["status"] == "completed"
    assert [t["question_id"] for t in d["turns"] if t["kind"] == "question"] == [Q1, Q2]
    assert d["turns"][2]["takes"][0]["status"] == "judged"
