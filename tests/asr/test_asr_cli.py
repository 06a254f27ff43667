"""`interviewer transcribe` end to end: JSON/text output, bad files, a 10-minute 48 kHz stereo
take in bounded memory (measured in a child process)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from asr_data import HARVARD_TEXT, wer
from scipy.signal import resample_poly

from interviewer.cli import main
from interviewer.env import Environment

pytestmark = pytest.mark.slow
SR = 16_000
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def home(ow: Any, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An INTERVIEWER_HOME whose models/ is the session's provisioned folder."""
    h = tmp_path_factory.mktemp("home")
    (h / "models").symlink_to(models_dir, target_is_directory=True)
    return h


def _env(home: Path) -> Environment:
    return Environment(stdout=io.StringIO(), stderr=io.StringIO(), stdin_isatty=False,
                       stdout_isatty=False, home=home)


def _out(env: Environment) -> str:
    return env.stdout.getvalue()  # type: ignore[attr-defined,no-any-return]


def _err(env: Environment) -> str:
    return env.stderr.getvalue()  # type: ignore[attr-defined,no-any-return]


def test_json_output_faster_whisper_streamed(home: Path, clips: Any) -> None:
    from asr_data import HARVARD_WAV

    env = _env(home)
    rc = main(["transcribe", str(HARVARD_WAV), "--engine", "faster-whisper", "--format", "json",
               "--threads", "1", "--stream"], env)
    assert rc == 0, _err(env)
    doc = json.loads(_out(env))
    assert {"text", "duration_s", "segments", "words", "engine", "model"} <= set(doc)
    assert doc["engine"] == "faster-whisper" and doc["model"] == "tiny.en"
    assert wer(HARVARD_TEXT, doc["text"]) < 0.1
    assert doc["duration_s"] == pytest.approx(sf.info(str(HARVARD_WAV)).duration, abs=0.01)
    assert all({"start", "end", "text"} <= set(s) for s in doc["segments"])
    assert all({"start", "end", "word"} <= set(w) for w in doc["words"]) and doc["words"]


def test_text_output_several_files_and_silence(home: Path, tmp_path: Path, clips: Any) -> None:
    from asr_data import HARVARD_WAV

    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR * 3, np.float32), SR)
    env = _env(home)
    assert main(["transcribe", str(HARVARD_WAV), str(silent), "--engine", "faster-whisper",
                 "--threads", "1"], env) == 0
    out = _out(env)
    assert f"== {HARVARD_WAV} ==" in out and f"== {silent} ==" in out
    assert "birch canoe" in out.lower()
    assert f"{silent}: no speech detected" in _err(env)


def test_corrupt_file_exit_1_with_one_line(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40)
    env = _env(home)
    assert main(["transcribe", str(bad)], env) == 1
    err = _err(env).strip()
    assert err.startswith("interviewer: error:") and str(bad) in err and "\n" not in err
    assert _out(env) == ""


def _write_take(path: Path, minutes: float, clip: np.ndarray, places_s: list[int]) -> None:
    """A 48 kHz stereo 16-bit take of room tone with `clip` at `places_s`, written in blocks."""
    rng = np.random.default_rng(5)
    n = int(minutes * 60 * SR)
    with sf.SoundFile(str(path), "w", samplerate=48_000, channels=2, subtype="PCM_16") as f:
        for a in range(0, n, 10 * SR):  # 10 s at a time at 16 kHz, upsampled on write
            block = (0.001 * rng.standard_normal(min(10 * SR, n - a))).astype(np.float32)
            for at in places_s:
                lo, hi = at * SR, at * SR + clip.shape[0]
                s, e = max(lo, a), min(hi, a + block.shape[0])
                if s < e:
                    block[s - a : e - a] += clip[s - lo : e - lo]
            up = resample_poly(block, 3, 1).astype(np.float32)
            f.write(np.stack([up, 0.8 * up], axis=1))


_CHILD = ("import resource, sys\n"
          "from interviewer.cli import main\n"
          "rc = main(sys.argv[1:])\n"
          "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
          "file=sys.stderr)\n"
          "sys.exit(rc)\n")


def _run_child(home: Path, wav: Path) -> tuple[dict[str, Any], int]:
    env = {**os.environ, "INTERVIEWER_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-c", _CHILD, "transcribe", str(wav), "--format",
                           "json", "--threads", "1"], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr
    rss = int(next(line.split()[1] for line in proc.stderr.splitlines()
                   if line.startswith("MAXRSS_KB")))
    return json.loads(proc.stdout), rss


def test_ten_minute_48k_stereo_take_in_bounded_memory(home: Path, tmp_path: Path,
                                                      clip_audio: dict[str, np.ndarray]) -> None:
    """The default engine through the CLI. A 10-minute take and a 2.5-minute one hold the same
    three utterances (same decoding work), so their peak memory may differ only by the 16 kHz
    samples of the longer take (~30 MB); decoding the 10-minute file whole as float would
    alone cost ~460 MB."""
    clip = clip_audio["harvard"]
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    _write_take(short, 2.5, clip, [20, 60, 100])
    places = [20, 200, 420]
    _write_take(long, 10, clip, places)
    assert long.stat().st_size > 100_000_000

    doc_short, rss_short = _run_child(home, short)
    doc_long, rss_long = _run_child(home, long)
    assert doc_long["duration_s"] == pytest.approx(600, abs=0.01)
    assert doc_long["engine"] == "openai-whisper"
    for doc in (doc_short, doc_long):
        assert wer(" ".join([HARVARD_TEXT] * 3), doc["text"]) < 0.15, doc["text"]
    for at in places:  # each copy is timed where it was placed
        assert any(abs(s["start"] - at) < 1.0 for s in doc_long["segments"]), doc_long["segments"]
    growth_mb = (rss_long - rss_short) / 1024
    print(f"peak RSS: 2.5 min take {rss_short / 1024:.0f} MB, 10 min {rss_long / 1024:.0f} MB")
    assert growth_mb < 80, (rss_short / 1024, rss_long / 1024)
