"""Launch → first question audible, and peak RSS of a whole spoken turn with every engine loaded.

    python benchmarks/startup.py [--quick] [--repeats 3] [--asr faster-whisper]
                                 [--judge embedded auto]

Runs `interviewer practice` as a user would (a subprocess, real devices of a private PulseAudio
daemon), records the virtual speaker from before launch, and finds the first audible sample of
the question; then answers into the virtual microphone so Whisper and the judge really run, and
reads the process's peak RSS from wait4(). `--judge auto` is what `practice` uses by default:
with the offline LLM installed it loads the 1.5B GGUF too (refining in the background), whose
weights are a read-only file mapping: they count in RSS but are page cache the kernel can drop.
Prints a Markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
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
QID = "bias-variance-tradeoff"
ANSWER = ("Bias is error from a model that is too simple, variance is error from fitting the "
          "noise of one sample, and more flexible models trade lower bias for higher variance.")


def first_audible(audio: np.ndarray, threshold: float = 0.02) -> int | None:
    idx = np.flatnonzero(np.abs(audio) > threshold)
    return int(idx[0]) if idx.size else None


def one_run(pulse: Any, answer: Path, asr: str, judge: str, out: Path) -> dict[str, float]:
    env = {**os.environ, **pulse.env}
    args = [sys.executable, "-m", "interviewer", "practice", "--question", QID, "--judge",
            judge, "--asr", asr, "--max-follow-ups", "0", "--silence", "1.5",
            "--no-answer-timeout", "20", "--out", str(out)]
    with pulse.capture_speaker() as cap:
        t_launch = time.monotonic()
        proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until it listens, then answer
            sessions = [p for p in out.glob("*/session.json")]
            if sessions:
                try:
                    d = json.loads(sessions[0].read_text())
                except ValueError:
                    d = {}
                turns = d.get("turns", [])
                if turns and turns[0].get("takes"):
                    time.sleep(0.8)
                    break
            time.sleep(0.05)
        pulse.play_into_mic(answer)
        _, status, usage = os.wait4(proc.pid, 0)
    heard = cap.audio
    i = first_audible(heard)
    if i is None or status != 0:
        raise RuntimeError(f"no question heard or exit {status}: {proc.stderr.read()!r}")  # type: ignore[union-attr]
    # time.monotonic() is CLOCK_MONOTONIC, shared by every process on Linux: the program's own
    # record of when the first question sample reached the device is on the same clock.
    asked = json.loads(next(out.glob("*/session.json")).read_text())["turns"][0]["asked"]
    return {"launch_to_playing_s": asked["started_at"] - t_launch,
            "launch_to_audible_s": cap.started_at + i / 16000 - t_launch,
            "peak_rss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--asr", nargs="+", default=["faster-whisper", "openai-whisper"])
    ap.add_argument("--judge", nargs="+", default=["embedded", "auto"])
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/startup.json")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.asr, args.judge = 1, ["faster-whisper"], ["embedded"]
        args.json = Path(tempfile.mkdtemp()) / "startup.json"
    from tests.conftest import PulseHarness

    work = Path(tempfile.mkdtemp(prefix="startup-"))
    answer = work / "answer.wav"
    subprocess.run(["espeak-ng", "-s", "160", "-w", str(answer), ANSWER], check=True)
    pulse = PulseHarness(Path(tempfile.mkdtemp(prefix="su-pulse-")))
    pulse.start()
    rows: list[dict[str, Any]] = []
    try:
        for asr in args.asr:
            for judge in args.judge:
                for rep in range(args.repeats):
                    r = one_run(pulse, answer, asr, judge, work / f"rec-{asr}-{judge}-{rep}")
                    rows.append({"asr": asr, "judge": judge, "rep": rep, **r})
                    print(f"{asr} {judge} #{rep}: {r}", file=sys.stderr)
    finally:
        pulse.stop()
    summary = []
    for asr, judge in [(a, j) for a in args.asr for j in args.judge]:
        rs = [r for r in rows if r["asr"] == asr and r["judge"] == judge]
        summary.append({"asr": asr, "judge": judge, "runs": len(rs),
                        "launch_to_playing_p50_s": statistics.median(
                            r["launch_to_playing_s"] for r in rs),
                        "launch_to_playing_max_s": max(r["launch_to_playing_s"] for r in rs),
                        "launch_to_audible_p50_s": statistics.median(
                            r["launch_to_audible_s"] for r in rs),
                        "peak_rss_max_mb": max(r["peak_rss_mb"] for r in rs)})
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": rows, "summary": summary}, indent=2))
    print("| ASR engine | judge | runs | launch → first question sample played p50 (max) | "
          "… heard on the speaker monitor p50 | peak RSS, whole turn |")
    print("|---|---|---|---|---|---|")
    for s in summary:
        print(f"| {s['asr']} | {s['judge']} | {s['runs']} | {s['launch_to_playing_p50_s']:.2f} s "
              f"({s['launch_to_playing_max_s']:.2f} s) | {s['launch_to_audible_p50_s']:.2f} s | "
              f"{s['peak_rss_max_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
