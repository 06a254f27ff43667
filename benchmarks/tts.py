"""The question voice: Piper (neural, the default) against pyttsx3/espeak-ng.

    python benchmarks/tts.py            # 10 bank questions, 3 session runs per engine
    python benchmarks/tts.py --quick    # CI: 3 questions, 1 session run with Piper

Measured on a private PulseAudio daemon (the tests' virtual speaker):
- intelligibility: `interviewer say --tts ENGINE QUESTION` (a subprocess, as a user runs it), the
  virtual speaker's monitor recorded, transcribed by the product's openai-whisper tiny.en with
  no prompt; WER against the question text (normalised as in the ASR benchmark);
- first sample: `speak()` called on a warm speaker → the first sample handed to the device
  (`SpeechResult.started_at`), i.e. phonemes + the first sentence's synthesis + stream opening;
- a session: `interviewer practice` one question + a spoken answer (benchmarks/startup.py's
  run), launch → first question audible and the process's peak RSS, per engine. The pyttsx3 run
  uses a home folder without the voice (the fallback a user without it gets).
- phonemes: libespeak-ng through ctypes (what the voice uses) against the espeak-ng CLI.

Prints a Markdown table, writes JSON to benchmarks/results/tts.json (with the load average).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "asr"))

ENGINES = ("piper", "pyttsx3")


def pick_questions(n: int, seed: int = 18) -> list[str]:
    """`n` bank questions, the same ones on every run (seeded sample of sorted ids)."""
    from interviewer.env import Environment

    bank = Environment(project_root=ROOT).load_bank()
    entries = sorted(bank, key=lambda e: e.id)
    return [e.question.text for e in random.Random(seed).sample(entries, n)]


def heard_via_say(pulse: Any, engine: str, text: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Run `interviewer say`; return what the virtual speaker heard and the SpeechResult."""
    with pulse.capture_speaker() as cap:
        proc = subprocess.run([sys.executable, "-m", "interviewer", "say", "--tts", engine,
                               "--json", text], env=pulse.env, capture_output=True, text=True,
                              timeout=120, check=False)
        time.sleep(0.3)
    if proc.returncode != 0:
        raise RuntimeError(f"say --tts {engine} failed: {proc.stderr.strip()}")
    return cap.audio, json.loads(proc.stdout)


def intelligibility(pulse: Any, questions: list[str]) -> list[dict[str, Any]]:
    """WER of each engine's spoken questions as transcribed by openai-whisper tiny.en."""
    from asr_data import wer

    from interviewer.asr import make_transcriber
    from interviewer.env import Environment
    from interviewer.runtime import set_engine_threads

    set_engine_threads(1)  # as a session does: torch's pool is process-wide
    tr = make_transcriber("openai-whisper", "tiny.en", threads=1,
                          models_dir=Environment().models_dir)
    rows = []
    for engine in ENGINES:
        for q in questions:
            audio, said = heard_via_say(pulse, engine, q)
            text = tr.transcribe(audio).text
            rows.append({"engine": engine, "question": q, "heard": text, "wer": wer(q, text),
                         "duration_s": said["duration_s"]})
            print(f"{engine}: {rows[-1]['wer']:.2f}  {text}", file=sys.stderr)
    return rows


def first_sample(questions: list[str]) -> list[dict[str, Any]]:
    """speak() → first sample handed to the device, on a warm speaker of each engine."""
    from interviewer.factory import make_speaker

    rows = []
    for engine in ENGINES:
        speaker = make_speaker(no_tts=False, tts=engine)
        speaker.speak("Ready.")  # load and warm the engine: a session's first question has
        # its own measurement (launch → audible)
        for q in questions:
            t0 = time.monotonic()
            said = speaker.speak(q)
            assert said.started_at is not None
            last = getattr(speaker, "last", None)
            rows.append({"engine": engine, "question": q,
                         "first_sample_s": said.started_at - t0,
                         "underrun_s": last.underrun_s if last is not None else None})
    return rows


def _home_without_voice(real_home: Path) -> Path:
    """A home folder sharing every model and cache of `real_home` except the Piper voice."""
    home = Path(tempfile.mkdtemp(prefix="tts-home-"))
    for item in real_home.iterdir():
        if item.name != "models":
            (home / item.name).symlink_to(item)
    (home / "models").mkdir()
    for item in (real_home / "models").iterdir():
        if item.name != "voices":
            (home / "models" / item.name).symlink_to(item)
    return home


def sessions(pulse: Any, engines: list[str], repeats: int, work: Path) -> list[dict[str, Any]]:
    """benchmarks/startup.py's run per engine: launch → audible, peak RSS of a spoken turn."""
    import startup

    from interviewer.env import Environment

    answer = work / "answer.wav"
    subprocess.run(["espeak-ng", "-s", "160", "-w", str(answer), startup.ANSWER], check=True)
    real_home = Environment().home
    assert real_home is not None
    homes = {"piper": real_home, "pyttsx3": _home_without_voice(real_home)}
    rows = []
    saved = os.environ.get("INTERVIEWER_HOME")
    try:
        for rep in range(repeats):
            for engine in engines:  # interleaved: drifting load hits both engines alike
                os.environ["INTERVIEWER_HOME"] = str(homes[engine])
                out = work / f"rec-{engine}-{rep}"
                r = startup.one_run(pulse, answer, "faster-whisper", "embedded", out)
                tts = json.loads(next(out.glob("*/session.json")).read_text())["engines"]["tts"]
                rows.append({"engine": engine, "rep": rep, "session_tts": tts, **r})
                print(f"session {engine} #{rep}: {r}", file=sys.stderr)
    finally:
        if saved is None:
            os.environ.pop("INTERVIEWER_HOME", None)
        else:
            os.environ["INTERVIEWER_HOME"] = saved
    return rows


def phonemizers(questions: list[str]) -> dict[str, float]:
    """Median ms per question: libespeak-ng via ctypes (whole pipeline) vs one CLI call."""
    from interviewer.audio.piper_speaker import Espeak, sentence_phonemes, split_sentences

    es = Espeak("en-us")
    t0 = time.perf_counter()
    sentence_phonemes(es, ["Ready."])  # loads and initialises libespeak-ng (once per process)
    init = time.perf_counter() - t0
    lib, cli = [], []
    for q in questions:
        t0 = time.perf_counter()
        for clauses in split_sentences(q):
            sentence_phonemes(es, clauses)
        lib.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run(["espeak-ng", "-q", "--ipa", "-v", "en-us", q], capture_output=True,
                       check=True)
        cli.append(time.perf_counter() - t0)
    return {"ctypes_init_ms": 1000 * init, "ctypes_ms_p50": 1000 * statistics.median(lib),
            "cli_ms_p50": 1000 * statistics.median(cli)}


def summarise(wers: list[dict[str, Any]], firsts: list[dict[str, Any]],
              runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for engine in ENGINES:
        w = [r for r in wers if r["engine"] == engine]
        f = [r["first_sample_s"] for r in firsts if r["engine"] == engine]
        s = [r for r in runs if r["engine"] == engine]
        row: dict[str, Any] = {
            "engine": engine, "questions": len(w),
            "wer_mean": statistics.fmean(r["wer"] for r in w) if w else None,
            "first_sample_p50_s": statistics.median(f) if f else None,
            "first_sample_max_s": max(f) if f else None,
            "session_runs": len(s),
            "launch_to_audible_p50_s": statistics.median(
                r["launch_to_audible_s"] for r in s) if s else None,
            "peak_rss_max_mb": max(r["peak_rss_mb"] for r in s) if s else None,
        }
        out.append(row)
    return out


def _fmt(v: float | None, spec: str, unit: str = "") -> str:
    return "–" if v is None else f"{v:{spec}}{unit}"


def print_table(summary: list[dict[str, Any]], phon: dict[str, float],
                load: tuple[float, float]) -> None:
    print("| voice | WER (openai-whisper tiny.en) | speak → first sample p50 (max) | "
          "launch → first question audible p50 | peak RSS, spoken turn |")
    print("|---|---|---|---|---|")
    for s in summary:
        print(f"| {s['engine']} | {_fmt(s['wer_mean'], '.3f')} ({s['questions']} questions) | "
              f"{_fmt(s['first_sample_p50_s'], '.2f', ' s')} "
              f"({_fmt(s['first_sample_max_s'], '.2f', ' s')}) | "
              f"{_fmt(s['launch_to_audible_p50_s'], '.2f', ' s')} | "
              f"{_fmt(s['peak_rss_max_mb'], '.0f', ' MB')} |")
    print(f"\nphonemes per question: libespeak-ng/ctypes {phon['ctypes_ms_p50']:.1f} ms, "
          f"espeak-ng CLI {phon['cli_ms_p50']:.1f} ms (p50); load average {load[0]:.2f} → "
          f"{load[1]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--questions", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3, help="session runs per engine")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/tts.json")
    args = ap.parse_args()
    engines = list(ENGINES)
    if args.quick:
        args.questions, args.repeats, engines = 3, 1, ["piper"]
        args.json = Path(tempfile.mkdtemp()) / "tts.json"
    from tests.conftest import PulseHarness

    load_before = os.getloadavg()[0]
    questions = pick_questions(args.questions)
    work = Path(tempfile.mkdtemp(prefix="tts-bench-"))
    pulse = PulseHarness(Path(tempfile.mkdtemp(prefix="tts-pulse-")))
    pulse.start()
    os.environ["PULSE_SERVER"] = pulse.server
    try:
        phon = phonemizers(questions)
        firsts = first_sample(questions)
        wers = intelligibility(pulse, questions)
        runs = sessions(pulse, engines, args.repeats, work)
    finally:
        pulse.stop()
    load = (load_before, os.getloadavg()[0])
    summary = summarise(wers, firsts, runs)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "loadavg_1min": load,
        "cpus": os.cpu_count(), "summary": summary, "phonemes": phon, "wer": wers,
        "first_sample": firsts, "sessions": runs}, indent=2))
    print_table(summary, phon, load)


if __name__ == "__main__":
    main()
