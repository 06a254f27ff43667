"""Items 1–2: an existing recordings root is never chmod-ed; every file the program writes under
the user's data is 0600 and every folder it creates 0700, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from interviewer.audio.wavfile import IncrementalWavWriter
from interviewer.fsutil import append_private, ensure_private_dir, write_private
from interviewer.judge.llm_log import JsonlSink, LlmExchange
from tests.hardening.helpers import FOLLOW, MAIN, PRACTICE, QID, Env

EXCHANGE = {"backend": "ollama", "model": "m", "prompt": "p", "seconds": 0.1}


def mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


def test_out_on_a_shared_sticky_folder_keeps_1777(henv: Env) -> None:
    shared = henv.base / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    r = henv.cli(*PRACTICE, "--out", str(shared), stdin=f"{MAIN}\n{FOLLOW}\n")
    assert r.returncode == 0, r.stderr
    assert mode(shared) == 0o1777
    assert f"warning: {shared} is readable by other users" in r.stderr
    [folder] = henv.session_dirs(shared)
    assert mode(folder) == 0o700


def test_recordings_env_root_keeps_its_mode_and_new_roots_are_0700(henv: Env) -> None:
    existing = henv.base / "existing"
    existing.mkdir()
    os.chmod(existing, 0o750)
    r = henv.cli(*PRACTICE, stdin=f"{MAIN}\n", INTERVIEWER_RECORDINGS=str(existing))
    assert r.returncode == 0, r.stderr
    assert mode(existing) == 0o750 and "warning:" in r.stderr  # group may read it
    assert len(henv.session_dirs(existing)) == 1
    # A root the program creates (with its missing parents) is private.
    fresh = henv.base / "a" / "b" / "rec"
    r = henv.cli(*PRACTICE, "--out", str(fresh), stdin=f"{MAIN}\n", umask=0)
    assert r.returncode == 0, r.stderr
    assert [mode(p) for p in (henv.base / "a", henv.base / "a" / "b", fresh)] == [0o700] * 3
    assert "warning:" not in r.stderr


def _silent_wav_dir(base: Path) -> Path:
    import soundfile as sf

    d = base / "answers"
    d.mkdir()
    sf.write(str(d / "0.wav"), np.zeros(8000, dtype=np.float32), 16_000, subtype="PCM_16")
    os.chmod(d / "0.wav", 0o666)
    return d


def test_every_file_is_0600_under_umask_000(henv: Env) -> None:
    """A typed session, a WAV session (the take copied from --answers-from), report -o, the
    Anki export and the bank parse cache, all written under umask 000."""
    r = henv.cli(*PRACTICE, "--out", str(henv.rec), stdin=f"{MAIN}\n{FOLLOW}\n", umask=0)
    assert r.returncode == 0, r.stderr
    answers = _silent_wav_dir(henv.base)
    r = henv.cli("practice", "--answers-from", str(answers), "--no-tts", "--judge", "embedded",
                 "--question", QID, "--max-follow-ups", "0", "--out", str(henv.rec), umask=0)
    assert r.returncode == 0, r.stderr
    wavs = list(henv.rec.rglob("*.wav"))
    assert len(wavs) == 1
    report, anki = henv.base / "report.md", henv.base / "cards.txt"
    assert henv.cli("report", "last", "-o", str(report), "--out", str(henv.rec),
                    umask=0).returncode == 0
    r = henv.cli("export", "--anki", str(anki), "--out", str(henv.rec), umask=0)
    assert r.returncode == 0, r.stderr
    files = [p for p in henv.rec.rglob("*") if p.is_file()]
    files += [report, anki, henv.home / "bank-parse-cache.json"]
    assert len(files) >= 6
    assert {str(p): oct(mode(p)) for p in files} == {str(p): "0o600" for p in files}
    assert all(mode(d) == 0o700 for d in henv.session_dirs())


def test_wav_writer_and_llm_log_are_private_even_over_existing_files(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        take = tmp_path / "take.wav"
        take.write_bytes(b"old")
        os.chmod(take, 0o666)
        with IncrementalWavWriter(take) as w:
            w.write(np.zeros(160, dtype=np.float32))
        log = tmp_path / "log.jsonl"
        append_private(log, "{}\n")
        sink = tmp_path / "llm_calls.jsonl"  # the session's LLM log has its own writer
        JsonlSink(sink).write(LlmExchange.model_validate(EXCHANGE))
        out = tmp_path / "report.html"
        out.write_text("old")
        os.chmod(out, 0o644)
        write_private(out, "new")
        created = ensure_private_dir(tmp_path / "x" / "y")
    finally:
        os.umask(old)
    assert [mode(p) for p in (take, log, sink, out)] == [0o600] * 4
    assert out.read_text() == "new" and created and mode(tmp_path / "x") == 0o700



@pytest.mark.audio
def test_a_take_recorded_from_the_microphone_is_0600_under_umask_000(henv: Env,
                                                                     pulse: Any) -> None:
    """The real recorder (PortAudio → IncrementalWavWriter) in a spoken session; nobody speaks,
    so the take ends as 'no answer' after the timeout, its WAV on disk all the same."""
    r = henv.cli("practice", "--no-tts", "--judge", "embedded", "--question", QID,
                 "--max-follow-ups", "0", "--no-answer-timeout", "1.5", "--out", str(henv.rec),
                 umask=0, PULSE_SERVER=pulse.server)
    assert r.returncode == 0, r.stderr
    [folder] = henv.session_dirs()
    wavs = list(folder.glob("*.wav"))
    assert len(wavs) == 1 and wavs[0].stat().st_size > 44
    assert {p.name: oct(mode(p)) for p in folder.iterdir()} == {
        p.name: "0o600" for p in folder.iterdir()}
