"""Turn latency: from the end-of-answer rule firing to the first sample of the follow-up playing,
the session's pipeline vs the naive one (record everything, then transcribe the whole take in one
pass, judge, synthesise), on the same takes.

    python benchmarks/turn_latency.py [--quick] [--cases cont20 cont60 cont180 real]
                                      [--silence 1.5 3] [--repeats 3] [--policy windows]

Cases (issue 17): `contN` = about N seconds of espeak-ng technical sentences spoken continuously
(0.25 s between sentences: no pause over 0.3 s); `real` = real human read speech, the Debian
speech packages' clips joined with 0.25 s gaps (pocketsphinx-testdata LibriVox, codec2 Harvard
sentences), whose reference transcripts give the WER of the streamed and one-pass transcripts.
Each take is played into the virtual microphone of a private PulseAudio daemon (the test
fixture's harness); the real recorder (VAD end of answer at `--silence`), faster-whisper tiny.en
(one thread), the session's default judge (the verifier when it ships) and the default voice
(Piper when installed) on the virtual speaker do the work in this process, engines warm. The
session's pipeline is the one `practice` runs: `--policy windows` (short windows transcribed while
the candidate speaks with the one-pass cuts, `asr/streaming.py`), `short` (windows closed at
0.2 s pauses, `segmenter.SHORT_WINDOWS`) or `agreement` (LocalAgreement re-decoding,
`asr/agreement.py`); the transcript is judged and the follow-up synthesised during the pause
(`session/speculate.py`). CPU = process CPU seconds from the first sample played into the mic to
the follow-up playing, per second of speech. Prints a Markdown table, writes JSON (the load
average before and after each case is recorded).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
SR = 16_000
GAP_S = 0.25  # between sentences / clips: continuous speech has no pause over 0.3 s


@dataclass
class Case:
    name: str
    wav: Path
    speech_s: float
    reference: str | None  # real speech only
    max_pause_s: float  # longest pause inside the speech (VAD)


def _espeak(text: str, path: Path) -> np.ndarray:
    from interviewer.asr.audio_io import load_audio

    subprocess.run(["espeak-ng", "-s", "160", "-w", str(path), text], check=True)
    return load_audio(path)


def _trim(audio: np.ndarray) -> np.ndarray:
    """A clip without its leading/trailing near-silence (so the gaps are the ones we set)."""
    frames = audio[: audio.shape[0] // 160 * 160].reshape(-1, 160)
    loud = np.flatnonzero(np.sqrt((frames ** 2).mean(axis=1)) > 0.01)
    if loud.size == 0:
        return audio
    return audio[max(0, loud[0] - 5) * 160 : (loud[-1] + 6) * 160]


def _join(parts: list[np.ndarray], out: Path) -> Path:
    import soundfile as sf

    gap = np.zeros(int(GAP_S * SR), np.float32)
    pieces = [np.zeros(int(0.5 * SR), np.float32)]
    for p in parts:
        pieces.extend([p, gap])
    sf.write(str(out), np.concatenate(pieces), SR, subtype="PCM_16")
    return out


def _max_pause(audio: np.ndarray) -> float:
    from interviewer.audio.vad import FRAME_SAMPLES, Vad

    vad, longest, run, seen = Vad(2), 0, 0, False
    for i in range(0, audio.shape[0] - FRAME_SAMPLES, FRAME_SAMPLES):
        if vad.is_speech(audio[i : i + FRAME_SAMPLES]):
            longest, run, seen = (max(longest, run) if seen else longest), 0, True
        else:
            run += 1
    return longest * FRAME_SAMPLES / SR


def make_case(name: str, work: Path) -> Case:
    """Build one case's take (`contN` or `real`)."""
    from interviewer.asr.audio_io import load_audio

    reference = None
    if name == "real":
        from tests.asr.asr_data import real_clips

        clips = real_clips()
        parts = [_trim(load_audio(c.path)) for c in clips]
        reference = " ".join(c.reference for c in clips)
    else:
        seconds, parts, total = float(name.removeprefix("cont")), [], 0.0
        while total < seconds:
            i = len(parts)
            parts.append(_trim(_espeak(SENTENCES[i % len(SENTENCES)], work / f"s{i}.wav")))
            total += parts[-1].shape[0] / SR + GAP_S
    wav = _join(parts, work / f"{name}.wav")
    audio = load_audio(wav)
    return Case(name, wav, sum(p.shape[0] for p in parts) / SR, reference, _max_pause(audio))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def cpu_now() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


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


@dataclass
class Rig:
    """The warm engines and the question, shared by every take."""

    asr: Any
    judge: Any
    speaker: Any
    entry: Any
    prompt: str | None
    pulse: Any
    work: Path
    rehearse: bool  # judge growing answers too, as the session does


def _rig(args: argparse.Namespace, pulse: Any, work: Path) -> Rig:
    from interviewer.asr import build_prompt, make_transcriber
    from interviewer.asr.audio_io import load_audio
    from interviewer.env import Environment
    from interviewer.factory import make_judge, make_speaker
    from interviewer.judge.policy import assess
    from interviewer.runtime import set_engine_threads

    env = Environment()
    set_engine_threads()  # as a session does before it builds its engines
    entry = env.load_bank().get(QID)
    prompt = build_prompt(entry.question.text, [a for p in entry.rubric.points for a in p.aliases])
    judge = make_judge(backend=args.judge)
    speaker = make_speaker(no_tts=False, tts=args.tts, models_dir=env.models_dir)
    speaker.speak("Warm up.")
    asr = make_transcriber(engine="faster-whisper", model="tiny.en", models_dir=env.models_dir)
    warm = _espeak(SENTENCES[0], work / "warm.wav")
    assess(judge, entry, asr.transcribe(load_audio(_join([warm], work / "warm16.wav"))))
    return Rig(asr, judge, speaker, entry, prompt, pulse, work, not args.no_rehearse)


def _stream(rig: Rig, policy: str) -> Any:
    """The streaming transcription under test: the session's (`windows`) or an alternative."""
    if policy == "agreement":
        from interviewer.asr.agreement import AgreementTranscriber

        return AgreementTranscriber(rig.asr, prompt=rig.prompt)
    if policy == "short":
        from interviewer.asr.segmenter import SHORT_WINDOWS
        from interviewer.asr.streaming import StreamingTranscriber

        return StreamingTranscriber(rig.asr, prompt=rig.prompt, config=SHORT_WINDOWS)
    return rig.asr.stream(prompt=rig.prompt)


def session_take(rig: Rig, case: Case, silence: float, policy: str, tag: str,
                 ) -> dict[str, Any]:
    """One take through the session's pipeline: rule → follow-up's first sample."""
    from interviewer.audio.recorder import SoundDeviceRecorder
    from interviewer.judge.policy import assess
    from interviewer.session.speculate import Speculation

    rec = SoundDeviceRecorder(silence_s=silence, max_s=case.speech_s + 60, no_answer_s=30,
                              enter_ends=False, meter=False)
    stream = _stream(rig, policy)
    asked = {rig.entry.question.text}
    spec = Speculation(lambda: rig.judge, assess, rig.entry, asked,
                       prepare_speech=rig.speaker.prepare, rehearse=rig.rehearse)
    stream.on_update = spec.offer
    cpu0 = cpu_now()
    player = rig.pulse.play_into_mic(case.wav, wait=False)
    take_path = rig.work / f"take-{tag}.wav"
    take = rec.record(take_path, on_chunk=stream.feed)
    player.wait()
    rule = take.ended_at
    assert rule is not None and take.speech_end_s is not None
    tr = stream.finish()
    t_a = time.monotonic()
    j = spec.judgement_for(tr)
    used = j is not None
    if j is None:
        j = assess(rig.judge, rig.entry, tr, asked)
    spec.close()
    t_b = time.monotonic()
    said = rig.speaker.speak(j.follow_up or "Tell me more.")
    t_c = said.started_at or time.monotonic()
    return {"take": take_path, "rule": rule, "text": tr.text, "score": j.score,
            "endpoint_wait_s": take.duration_s - take.speech_end_s,
            "transcript_s": t_a - rule, "judge_s": t_b - t_a, "speak_start_s": t_c - t_b,
            "total_s": t_c - rule, "speculation_used": used,
            "cpu_per_speech_s": (cpu_now() - cpu0) / case.speech_s,
            "asr_busy_s": getattr(stream, "busy_seconds", None)}


def naive_take(rig: Rig, take_path: Path) -> dict[str, Any]:
    """The same take, transcribed in one pass after the end, then judged and spoken."""
    from interviewer.asr.audio_io import load_audio
    from interviewer.judge.policy import assess

    n0 = time.monotonic()
    tr = rig.asr.transcribe(load_audio(take_path), prompt=rig.prompt)
    n_a = time.monotonic()
    j = assess(rig.judge, rig.entry, tr, {rig.entry.question.text})
    n_b = time.monotonic()
    said = rig.speaker.speak(j.follow_up or "Tell me more.")
    n_c = said.started_at or time.monotonic()
    return {"text": tr.text, "score": j.score, "transcript_s": n_a - n0, "judge_s": n_b - n_a,
            "speak_start_s": n_c - n_b, "total_s": n_c - n0}


def _measure(args: argparse.Namespace, pulse: Any, work: Path) -> dict[str, Any]:
    from tests.asr.asr_data import wer

    rig = _rig(args, pulse, work)
    rows: list[dict[str, Any]] = []
    for name in args.cases:
        case = make_case(name, work)
        for silence in args.silence:
            for rep in range(args.repeats):
                load0 = os.getloadavg()[0]
                s = session_take(rig, case, silence, args.policy, f"{name}-{silence}-{rep}")
                n = naive_take(rig, s.pop("take"))
                row = {"case": name, "speech_s": round(case.speech_s, 1), "silence_s": silence,
                       "rep": rep, "max_pause_s": case.max_pause_s, "policy": args.policy,
                       "load_before": load0, "load_after": os.getloadavg()[0],
                       "stream": s, "naive": n, "same_text": s["text"] == n["text"],
                       "same_score": abs(s["score"] - n["score"]) < 1e-9}
                if case.reference is not None:
                    row["wer_stream"] = wer(case.reference, s["text"])
                    row["wer_naive"] = wer(case.reference, n["text"])
                rows.append(row)
                print(f"{name} {silence}s rep{rep}: stream {s['total_s']:.2f} s, naive "
                      f"{n['total_s']:.2f} s, load {load0:.2f}", file=sys.stderr)
    return {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version(), "load_avg": os.getloadavg()},
            "policy": args.policy, "rehearse": rig.rehearse, "judge": rig.judge.info.backend,
            "tts": rig.speaker.engine, "rows": rows,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def summarise(result: dict[str, Any]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for r in result["rows"]:
        groups.setdefault((r["case"], r["silence_s"]), []).append(r)
    out = []
    for (case, silence), rs in groups.items():
        st = [r["stream"]["total_s"] for r in rs]
        nv = [r["naive"]["total_s"] for r in rs]
        wers = [(r["wer_stream"], r["wer_naive"]) for r in rs if "wer_stream" in r]
        out.append({
            "case": case, "speech_s": rs[0]["speech_s"], "silence_s": silence, "runs": len(rs),
            "max_pause_s": rs[0]["max_pause_s"],
            "stream_p50": statistics.median(st), "stream_p90": pct(st, 0.9),
            "naive_p50": statistics.median(nv), "naive_p90": pct(nv, 0.9),
            "same_text": sum(r["same_text"] for r in rs),
            "same_score": sum(r["same_score"] for r in rs),
            "speculation_used": sum(r["stream"]["speculation_used"] for r in rs),
            "cpu_per_speech_s": statistics.median(r["stream"]["cpu_per_speech_s"] for r in rs),
            "wer_stream": statistics.mean(w[0] for w in wers) if wers else None,
            "wer_naive": statistics.mean(w[1] for w in wers) if wers else None,
            "load": [min(r["load_before"] for r in rs), max(r["load_after"] for r in rs)],
        })
    return out


def _print(result: dict[str, Any], path: Path) -> None:
    print(f"policy {result['policy']}; judge {result['judge']}; voice {result['tts']}\n")
    print("| case | speech | silence rule | runs | **rule → follow-up p50 / p90** | naive p50 / "
          "p90 | same text / score | judged in the pause | CPU s per s of speech | WER "
          "streamed / one pass | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for s in result["summary"]:
        w = (f"{s['wer_stream']:.3f} / {s['wer_naive']:.3f}" if s["wer_stream"] is not None
             else "–")
        print(f"| {s['case']} | {s['speech_s']:.0f} s | {s['silence_s']} s | {s['runs']} | "
              f"**{s['stream_p50']:.2f} / {s['stream_p90']:.2f}** | {s['naive_p50']:.2f} / "
              f"{s['naive_p90']:.2f} | {s['same_text']}/{s['runs']}, {s['same_score']}/"
              f"{s['runs']} | {s['speculation_used']}/{s['runs']} | "
              f"{s['cpu_per_speech_s']:.2f} | {w} | {s['load'][0]:.1f}–{s['load'][1]:.1f} |")
    print(f"\npeak RSS {result['peak_rss_mb']:.0f} MB; JSON: {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one short answer (CI smoke run)")
    ap.add_argument("--cases", nargs="+", default=["cont20", "cont60", "cont180", "real"])
    ap.add_argument("--silence", type=float, nargs="+", default=[1.5, 3.0],
                    help="end-of-answer silence rules (the product's default: 3 s)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--policy", choices=["windows", "short", "agreement"], default="windows")
    ap.add_argument("--no-rehearse", action="store_true",
                    help="do not judge growing answers (the session before issue 17)")
    ap.add_argument("--judge", default="auto", help="judge backend (default: the session's)")
    ap.add_argument("--tts", default=None, help="voice engine (default: the session's)")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/turn_latency.json")
    args = ap.parse_args()
    if args.quick:
        args.cases, args.repeats, args.silence = ["cont6"], 1, [1.5]
        args.json = Path(tempfile.mkdtemp()) / "turn_latency.json"
    result = run(args)
    result["summary"] = summarise(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    _print(result, args.json)


if __name__ == "__main__":
    main()
