"""A black-box spoken run of seed Loop 1 on the virtual mic and speaker: the prompt and its three
follow-ups are spoken, each short answer is played into the mic, ended by VAD, transcribed,
judged, and the report gives every turn its duration and budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.session.test_e2e_spoken import Session, say_to_wav, wav_seconds

pytestmark = [pytest.mark.audio, pytest.mark.slow]

ANSWERS = ["Maximum likelihood of a Bernoulli label gives the cross entropy.",
           "The gradient on the logit is p minus y.",
           "The sigmoid derivative cancels with the log.",
           "For soft targets or calibration."]


def test_spoken_loop_asks_everything_and_times_every_answer(pulse: Any, tmp_path: Path) -> None:
    wavs = [say_to_wav(text, tmp_path / f"a{i}.wav", lead_silence_s=0.3)
            for i, text in enumerate(ANSWERS)]
    root = tmp_path / "rec"
    env = {**os.environ, **pulse.env}
    with pulse.capture_speaker():
        s = Session(root, ["--loop", "1", "--judge", "embedded", "--silence", "1",
                           "--no-answer-timeout", "30"], env)
        for turn, wav in enumerate(wavs):
            s.wait_recording(turn)
            pulse.play_into_mic(wav)
        code, out, err = s.finish()
    assert code == 0, err
    d = s.data()
    assert d is not None and d["status"] == "completed"
    turns = d["turns"]
    assert [t["kind"] for t in turns] == ["question"] + ["follow_up"] * 3
    assert {t["follow_up_id"] for t in turns[1:]} == {"derive-logit-gradient", "why-p-minus-y",
                                                       "mse-in-classification"}
    for t, wav in zip(turns, wavs, strict=True):
        assert t["asked"]["device"] and t["asked"]["duration_s"] > 1  # really spoken
        take = t["takes"][0]
        assert take["status"] == "judged" and take["take"]["ended_by"] == "silence"
        assert (s.folder() / take["audio"]).is_file()
        # On the clock: the recording's length, the answer plus about a second of silence.
        assert wav_seconds(wav) - 0.5 < take["answer_s"] < wav_seconds(wav) + 4
        assert take["metrics"]["time_to_first_word_s"] is not None
    assert "Pacing: " in out and "first word after" in out

    r = subprocess.run([sys.executable, "-m", "interviewer", "report", "last", "--format",
                        "json", "--out", str(root)], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    [q] = report["questions"]
    assert [t["budget_s"] for t in q["turns"]] == [180, 90, 90, 90]
    assert all(t["answer_s"] > 1 for t in q["turns"])
    timeline = report["interview"]["timeline"]
    assert [len(e["audio"]) for e in timeline] == [1, 1, 1, 1]
    assert all(e["pace"] == "short" for e in timeline)  # seconds against minutes
