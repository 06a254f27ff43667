"""ASR benchmark: real-time factor, WER, load time and peak memory per engine and thread count.

Runs each (engine, threads) configuration in its own child process, so import/load time and peak
RSS are those of a fresh program. Speech: the real human recordings that ship in Debian
packages (pocketsphinx-testdata LibriVox clips, codec2-examples Harvard sentences; see
tests/asr/asr_data.py).

    python benchmarks/asr.py            # both engines, 1 thread (pinned) and all cores, 3 repeats
    python benchmarks/asr.py --quick    # CI: 1 thread, 1 repeat, three clips
    python benchmarks/asr.py --json out.json

RTF = wall time / audio duration (lower is faster; min over repeats, after one warm-up run).
The table goes to stderr, the JSON document to stdout (and to --json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "asr"))

ENGINES = ["openai-whisper", "faster-whisper"]


def run_child(engine: str, model: str, threads: int, repeats: int, quick: bool,
              models_dir: Path) -> dict[str, Any]:
    """Measure one configuration in this process (called in a child)."""
    from asr_data import concat_take, missing_data, real_clips, wer

    why = missing_data()
    if why:
        raise SystemExit(why)
    from interviewer.runtime import set_engine_threads

    set_engine_threads(threads)  # before torch loads: its pool is process-wide
    t0 = time.monotonic()
    from interviewer.asr import make_transcriber
    from interviewer.asr.audio_io import load_audio
    from interviewer.asr.streaming import StreamingTranscriber

    if engine == "openai-whisper":
        import torch  # noqa: F401  (counted in import time, as a user would pay it)
        import whisper  # noqa: F401
    else:
        import faster_whisper  # noqa: F401
    t_import = time.monotonic() - t0
    t0 = time.monotonic()
    tr = make_transcriber(engine, model, threads=threads, models_dir=models_dir,
                          progress=lambda m: print(m, file=sys.stderr))
    t_load = time.monotonic() - t0

    clips = real_clips()
    if quick:
        clips = [c for c in clips if c.name == "harvard"] + clips[:2]
    audio = {c.name: load_audio(c.path) for c in clips}
    tr.transcribe(audio[clips[0].name])  # warm-up: JIT (numba DTW), allocator, caches

    rows = []
    refs, hyps = [], []
    total_audio = total_time = total_cpu = 0.0
    for c in clips:
        a = audio[c.name]
        dur = a.shape[0] / 16_000
        best, best_cpu, text = float("inf"), float("inf"), ""
        for _ in range(repeats):
            t, cpu = time.monotonic(), time.process_time()
            text = tr.transcribe(a).text
            best = min(best, time.monotonic() - t)
            best_cpu = min(best_cpu, time.process_time() - cpu)
        rows.append({"clip": c.name, "duration_s": round(dur, 2), "seconds": round(best, 3),
                     "rtf": round(best / dur, 4), "cpu_rtf": round(best_cpu / dur, 4),
                     "wer": round(wer(c.reference, text), 4), "text": text})
        refs.append(c.reference)
        hyps.append(text)
        total_audio += dur
        total_time += best
        total_cpu += best_cpu

    # One take with pauses, one pass and streamed: what is left to do when the answer ends.
    take, _ = concat_take([audio[c.name] for c in clips], gap_s=1.5)
    take = take[: -int(1.5 * 16_000)]
    t = time.monotonic()
    one = tr.transcribe(take)
    t_take = time.monotonic() - t
    stream = StreamingTranscriber(tr)
    for i in range(0, take.shape[0], 1600):
        stream.feed(take[i : i + 1600])
        stream.wait_idle()  # as if the recorder were real time and the worker kept up
    streamed = stream.finish()

    return {
        "engine": engine, "model": model, "threads": threads, "repeats": repeats,
        "import_s": round(t_import, 2), "load_s": round(t_load, 2),
        "clips": rows,
        "rtf": round(total_time / total_audio, 4),
        "cpu_rtf": round(total_cpu / total_audio, 4),  # CPU seconds per audio second
        "load_average_1min": round(os.getloadavg()[0], 2),
        "wer": round(wer(" ".join(refs), " ".join(hyps)), 4),
        "take_s": round(take.shape[0] / 16_000, 1), "take_rtf": round(t_take / (take.shape[0]
                                                                                 / 16_000), 4),
        "take_wer": round(wer(" ".join(refs), one.text), 4),
        "stream_finish_s": round(streamed.seconds or 0.0, 3),
        "stream_vs_onepass_wer": round(wer(one.text, streamed.text), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def table(results: list[dict[str, Any]]) -> str:
    head = (f"{'engine':<15} {'thr':>3} {'RTF':>7} {'CPU RTF':>7} {'WER':>6} {'take RTF':>8} "
            f"{'stream end':>10} {'import+load':>12} {'peak RSS':>9} {'load':>5}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r['engine']:<15} {r['threads']:>3} {r['rtf']:>7.3f} {r['cpu_rtf']:>7.3f} "
                     f"{r['wer']:>6.1%} {r['take_rtf']:>8.3f} {r['stream_finish_s']:>9.2f}s "
                     f"{r['import_s']:>5.1f}+{r['load_s']:<4.1f}s {r['peak_rss_mb']:>6} MB "
                     f"{r['load_average_1min']:>5.1f}")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="CI mode: 1 thread, 1 repeat, 3 clips")
    p.add_argument("--engines", nargs="+", default=ENGINES, choices=ENGINES)
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--threads", type=int, nargs="+", help="thread counts (default: 1 and all)")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--json", type=Path, help="also write the JSON document here")
    p.add_argument("--models-dir", type=Path, help="default: the user's models folder")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()

    from interviewer.env import Environment

    models_dir = args.models_dir or Environment().models_dir
    repeats = args.repeats or (1 if args.quick else 3)
    if args.child:
        (engine,), (threads,) = args.engines, args.threads
        print(json.dumps(run_child(engine, args.model, threads, repeats, args.quick,
                                   models_dir)))
        return 0

    cores = os.cpu_count() or 1
    thread_counts = args.threads or ([1] if args.quick else sorted({1, cores}))
    results = []
    for engine in args.engines:
        for threads in thread_counts:
            cmd = [sys.executable, __file__, "--child", "--engines", engine, "--threads",
                   str(threads), "--model", args.model, "--repeats", str(repeats),
                   "--models-dir", str(models_dir)] + (["--quick"] if args.quick else [])
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return proc.returncode
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(table(results[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    doc = {"benchmark": "asr", "quick": args.quick, "cpu_count": cores,
           "load_average": [round(x, 2) for x in os.getloadavg()], "results": results}
    print("\n" + table(results), file=sys.stderr)
    text = json.dumps(doc, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
