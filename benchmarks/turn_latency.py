"""Turn latency: from the end of the candidate's speech to (a) the final transcript, (b) the
judgement, (c) the first sample of the follow-up question playing — the session's pipeline vs the
naive one (record everything, then transcribe the whole take, judge, synthesise), same takes.

    python benchmarks/turn_latency.py [--quick] [--lengths 20 60 180] [--repeats 3]
                                      [--asr faster-whisper openai-whisper] [--silence 3]
                                      [--judge embedded|refine]

Answers are espeak-ng speech of technical sentences, played into the virtual microphone of a
private PulseAudio daemon (the test fixture's harness); the real recorder (VAD end of answer),
real Whisper, the embedded judge and pyttsx3 → sounddevice on the virtual speaker do the work in
this process, engines warm. The session's pipeline is the one `practice` runs: transcription
while recording, the last window decoded speculatively during the end-of-answer pause, the
transcript judged and the follow-up synthesised during that pause (`session/speculate.py`),
used when the final transcript has the same text. The naive pipeline gets no caches.
`--judge refine` uses the refining judge `auto` picks when the offline LLM is installed and
also reports when the LLM's refined verdicts are ready. Prints a Markdown table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SENTENCES = [
    "To fit a larger model I would first lower the micro batch size and use gradient "
    "accumulation so the effective batch stays the same.",
    "Mixed precision halves activation memory and speeds up matrix multiplies, with loss "
    "scaling to avoid underflow in half precision.",
    "Activation checkpointing recomputes activations in the backward pass, trading about a "
    "third more compute for much less memory.",
    "Optimizer state sharding, as in ZeRO or FSDP, splits the Adam moments and master weights "
    "across data parallel ranks.",
    "Adam keeps two moments per parameter plus an fp32 master copy, so optimizer state can be "
    "several times the size of the weights.",
    "Longer sequences grow activation memory linearly and attention scores quadratically "
    "unless a fused kernel avoids materialising them.",
]
QID = "fit-larger-llm-training-out-of-memory"


def make_answer(seconds: float, out: Path) -> Path:
    """espeak-ng speech of about `seconds`, sentences separated by short thinking pauses."""
    parts, total, i = [], 0.0, 0
    while total < seconds:
        wav = out.with_name(f"{out.stem}-{i}.wav")
        subprocess.run(["espeak-ng", "-s", "160", "-w", str(wav),
                        SENTENCES[i % len(SENTENCES)]], check=True)
        pad = out.with_name(f"{out.stem}-{i}p.wav")
        subprocess.run(["sox", str(wav), "-r", "16000", "-c", "1", "-b", "16", str(pad),
                        "pad", "0", "0.6"], check=True)
        parts.append(str(pad))
        total += float(subprocess.run(["soxi", "-D", str(pad)], capture_output=True,
                                      text=True, check=True).stdout)
        i += 1
    subprocess.run(["sox", *parts, str(out), "pad", "0.5", "0"], check=True)
    return out


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.conftest import PulseHarness

    work = Path(tempfile.mkdtemp(prefix="turnbench-"))
    pulse = PulseHarness(Path(tempfile.mkdtemp(prefix="tb-pulse-")))
    pulse.start()
    os.environ["PULSE_SERVER"] = pulse.server  # before sounddevice is imported
    try:
        return _measure(args, pulse, work)
    finally:
        pulse.stop()


def _measure(args: argparse.Namespace, pulse: Any, work: Path) -> dict[str, Any]:
    from interviewer.asr import build_prompt, make_transcriber
    from interviewer.asr.audio_io import load_audio
    from interviewer.audio.recorder import SoundDeviceRecorder
    from interviewer.audio.speaker import Pyttsx3Speaker
    from interviewer.env import Environment
    from interviewer.judge.embedded import EmbeddedJudge
    from interviewer.judge.policy import assess
    from interviewer.session.speculate import Speculation

    env = Environment()
    entry = env.load_bank().get(QID)
    prompt = build_prompt(entry.question.text, [a for p in entry.rubric.points for a in p.aliases])
    judge: Any
    if args.judge == "refine":
        from interviewer.judge.fused import make_offline_llm_judge

        judge = make_offline_llm_judge(env.models_dir, "fused", refine=True)
        embedded = judge.fast
    else:
        judge = embedded = EmbeddedJudge()
    speaker = Pyttsx3Speaker()
    speaker.speak("Warm up.")
    rows: list[dict[str, Any]] = []
    for engine in args.asr:
        t0 = time.monotonic()
        asr = make_transcriber(engine=engine, model="tiny.en", models_dir=env.models_dir)
        load_s = time.monotonic() - t0
        assess(judge, entry, asr.transcribe(load_audio(make_answer(3, work / "warm.wav"))))
        for length in args.lengths:
            wav = make_answer(length, work / f"answer-{length}.wav")
            for rep in range(args.repeats):
                rec = SoundDeviceRecorder(silence_s=args.silence, max_s=length + 60,
                                          no_answer_s=30, enter_ends=False, meter=False)
                stream = asr.stream(prompt=prompt)
                asked = {entry.question.text}
                spec = Speculation(lambda: judge, assess, entry, asked,
                                   prepare_speech=speaker.prepare)
                stream.on_update = spec.offer  # type: ignore[attr-defined]
                player = pulse.play_into_mic(wav, wait=False)
                take_path = work / f"take-{engine}-{length}-{rep}.wav"
                take = rec.record(take_path, on_chunk=stream.feed)
                player.wait()
                end_rule = take.ended_at
                assert end_rule is not None and take.speech_end_s is not None
                speech_end = end_rule - (take.duration_s - take.speech_end_s)
                tr = stream.finish()
                t_a = time.monotonic()
                j = spec.judgement_for(tr)
                used = j is not None
                if j is None:
                    j = assess(judge, entry, tr, asked)
                spec.close()
                t_b = time.monotonic()
                said = speaker.speak(j.follow_up or "Tell me more.")
                t_c = said.started_at or time.monotonic()
                refine_s = None
                if args.judge == "refine":
                    judge.refined(entry, tr.text)  # wait: the naive run must not share the CPU
                    refine_s = time.monotonic() - end_rule  # end of answer → review stored
                # Naive: the same take, transcribed in one pass after the end, then judged and
                # spoken — no speculation, no cached sentence embeddings, no prepared speech.
                embedded.clear_cache()
                n0 = time.monotonic()
                ntr = asr.transcribe(load_audio(take_path), prompt=prompt)
                n_a = time.monotonic()
                nj = assess(embedded, entry, ntr, asked)
                n_b = time.monotonic()
                nsaid = speaker.speak(nj.follow_up or "Tell me more.")
                n_c = nsaid.started_at or time.monotonic()
                row = {
                    "engine": engine, "answer_s": round(take.speech_end_s, 1), "rep": rep,
                    "asr_load_s": round(load_s, 2),
                    "endpoint_wait_s": end_rule - speech_end,
                    "stream": {"transcript_s": t_a - end_rule, "judge_s": t_b - t_a,
                               "speak_start_s": t_c - t_b, "total_s": t_c - end_rule},
                    "naive": {"transcript_s": n_a - n0, "judge_s": n_b - n_a,
                              "speak_start_s": n_c - n_b, "total_s": n_c - n0},
                    "words": len(tr.text.split()), "naive_words": len(ntr.text.split()),
                    "same_text": tr.text == ntr.text,
                    "score": j.score, "naive_score": nj.score,
                    "speculation_used": used, "refined_ready_s": refine_s,
                }
                rows.append(row)
                print(f"{engine} {length}s rep{rep}: stream {row['stream']['total_s']:.2f} s, "
                      f"naive {row['naive']['total_s']:.2f} s", file=sys.stderr)
    return {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version(), "load_avg": os.getloadavg()},
            "silence_s": args.silence, "judge": args.judge, "rows": rows,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def summarise(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in result["rows"]:
        groups.setdefault((r["engine"], int(round(r["answer_s"] / 10.0)) * 10), []).append(r)
    for (engine, length), rs in sorted(groups.items()):
        st = [r["stream"]["total_s"] for r in rs]
        nv = [r["naive"]["total_s"] for r in rs]
        out.append({
            "engine": engine, "answer_s": length, "runs": len(rs),
            "endpoint_wait_p50": statistics.median(r["endpoint_wait_s"] for r in rs),
            "transcript_p50": statistics.median(r["stream"]["transcript_s"] for r in rs),
            "judge_p50": statistics.median(r["stream"]["judge_s"] for r in rs),
            "speak_p50": statistics.median(r["stream"]["speak_start_s"] for r in rs),
            "stream_p50": statistics.median(st), "stream_p90": pct(st, 0.9),
            "naive_p50": statistics.median(nv), "naive_p90": pct(nv, 0.9),
            "speedup": statistics.median(nv) / max(statistics.median(st), 1e-6),
            "same_score": all(abs(r["score"] - r["naive_score"]) < 1e-9 for r in rs),
            "same_text": sum(r["same_text"] for r in rs),
            "speculation_used": sum(r["speculation_used"] for r in rs),
            "refined_ready_p50": (statistics.median(r["refined_ready_s"] for r in rs)
                                  if rs[0]["refined_ready_s"] is not None else None),
        })
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one short answer (CI smoke run)")
    ap.add_argument("--lengths", type=float, nargs="+", default=[20, 60, 180])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--asr", nargs="+", default=["faster-whisper", "openai-whisper"])
    ap.add_argument("--silence", type=float, default=3.0,
                    help="end-of-answer silence (the product's default: 3 s)")
    ap.add_argument("--judge", choices=["embedded", "refine"], default="embedded")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/turn_latency.json")
    args = ap.parse_args()
    if args.quick:
        args.lengths, args.repeats, args.asr = [6], 1, ["faster-whisper"]
        args.json = Path(tempfile.mkdtemp()) / "turn_latency.json"
    result = run(args)
    result["summary"] = summarise(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"judge: {args.judge}; end-of-answer silence {args.silence} s\n")
    print("| engine | answer | runs | endpoint wait | transcript | judge | speak | "
          "**session p50/p90** | naive p50/p90 | speed-up | same text / score | speculation "
          "used | LLM refined |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in result["summary"]:
        refined = (f"{s['refined_ready_p50']:.1f} s" if s["refined_ready_p50"] is not None
                   else "–")
        print(f"| {s['engine']} | {s['answer_s']} s | {s['runs']} | "
              f"{s['endpoint_wait_p50']:.2f} | {s['transcript_p50']:.2f} | {s['judge_p50']:.2f} "
              f"| {s['speak_p50']:.2f} | **{s['stream_p50']:.2f} / {s['stream_p90']:.2f}** | "
              f"{s['naive_p50']:.2f} / {s['naive_p90']:.2f} | {s['speedup']:.1f}× | "
              f"{s['same_text']}/{s['runs']}, {'yes' if s['same_score'] else 'no'} | "
              f"{s['speculation_used']}/{s['runs']} | {refined} |")
    print(f"\npeak RSS {result['peak_rss_mb']:.0f} MB; JSON: {args.json}")


if __name__ == "__main__":
    main()
