"""The question voice: Piper (neural, the default) with and without its pronunciation lexicon,
against pyttsx3/espeak-ng.

    python benchmarks/tts.py            # 30 held-out + 15 dev questions, 3 session runs/engine
    python benchmarks/tts.py --quick    # CI: 3 dev questions, Piper only, 1 session run
    python benchmarks/tts.py --wer-only --heldout 0 --dev 40   # voice work: dev questions only
    python benchmarks/tts.py --direct default pace=1.15 --heldout 0 --dev 30  # lever sweep
    python benchmarks/tts.py --skip-wer --json benchmarks/results/tts_timing.json  # timings only

Questions: bank ids are split by a hash (`split_of`) into "dev" (~40 %: the only questions
whose transcripts may be read while the voice, its lexicon (`interviewer/audio/lexicon.py`) and
its delivery (`piper_speaker.Delivery`) are tuned) and "held-out" (never looked at while tuning);
the headline is the held-out WER. Held-out ids whose transcripts have been read since are listed
in benchmarks/data/tts_seen.txt and count as dev from then on, so a held-out sample is drawn
only from ids never looked at. The lexicon's entries come from the whole bank's vocabulary, so
held-out questions' terms are covered too: what the held-out set measures is how well the
chosen pronunciations are understood, not coverage of words never seen. Each split is a seeded
sample of its sorted ids. Held-out transcripts are written to the JSON but not printed.

WER, two measures per voice, both against the question text, from the same transcripts:
- strict (`asr_data.wer`, as in the ASR benchmark): lower case, punctuation and hyphens to
  spaces, jiwer's word edit distance. Every difference of spelling or compounding is an error:
  "optimisation" / Whisper's "optimization", "pre-trained" / "pretrained", "FlashAttention" /
  "flash attention", "CI/CD" / "CICD".
- standard (`asr_data.wer_standard`, the usual way Whisper's WER is reported, plus
  compounding): brackets to spaces (a question's "(PTQ)" is said), then openai-whisper's
  `EnglishTextNormalizer` on both sides (lower case, punctuation and symbols removed, hyphens
  and slashes to spaces, numbers and contractions standardised, British → American spellings
  of its list, "-isation" → "-ization" for words it lacks), then a word edit distance in which
  adjacent words that are the same letters once joined match ("flash attention" =
  "flashattention", "pre trained" = "pretrained"). A different word stays an error ("LDA" /
  "LVA", "post-training" / "pulse training"). Both are errors over the normalised reference's
  word count, per question; mean, median and p90 over questions.

Measured on a private PulseAudio daemon (the tests' virtual speaker):
- intelligibility: `interviewer say --tts ENGINE QUESTION` (a subprocess, as a user runs it), the
  virtual speaker's monitor recorded, transcribed by the product's openai-whisper tiny.en with
  no prompt. Voices: `piper` (the default, with the lexicon), `piper-nolex`
  (INTERVIEWER_TTS_LEXICON=off: the same voice as espeak-ng's phonemes guess), `pyttsx3`
  (espeak-ng), interleaved per question;
- `--direct`: lever sweeps without the sound server (see `direct`), dev questions;
- first sample: `speak()` called on a warm speaker → the first sample handed to the device
  (`SpeechResult.started_at`), i.e. phonemes + the first chunk's synthesis + stream opening;
- a session: `interviewer practice` one question + a spoken answer (benchmarks/startup.py's
  run), launch → first question audible and the process's peak RSS, per engine. The pyttsx3 run
  uses a home folder without the voice (the fallback a user without it gets); "piper-whole"
  one with the voice but not its split parts (each sentence decoded in one call, as a voice
  installed before the split is), timed beside the default windowed decoding.
- phonemes: libespeak-ng through ctypes (what the voice uses, with the lexicon) against the
  espeak-ng CLI.

Prints Markdown tables, writes JSON to benchmarks/results/tts.json (with the load average).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
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

#: Engines timed (first sample, session): "piper-whole" is the same voice without its split
#: parts (each sentence decoded in one call, as before the split), timed beside the default.
ENGINES = ("piper", "piper-whole", "pyttsx3")
#: Voices whose WER is measured: name → (`--tts` engine, extra environment).
VOICES: dict[str, tuple[str, dict[str, str]]] = {
    "piper": ("piper", {}),
    "piper-nolex": ("piper", {"INTERVIEWER_TTS_LEXICON": "off"}),
    "pyttsx3": ("pyttsx3", {}),
}
SPLITS = ("heldout", "dev")
DEV_SHARE = 40  # per cent of bank ids in the lexicon's development split


#: Held-out ids whose transcripts have been read: dev from then on (the file says why).
SEEN_FILE = ROOT / "benchmarks" / "data" / "tts_seen.txt"


@functools.lru_cache(maxsize=1)
def seen_ids() -> frozenset[str]:
    """The ids listed in SEEN_FILE (comments and blank lines skipped)."""
    lines = SEEN_FILE.read_text(encoding="utf-8").splitlines() if SEEN_FILE.is_file() else []
    return frozenset(x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#"))


def split_of(question_id: str) -> str:
    """"dev" or "heldout": a stable hash of the id (salted: independent of other splits); an
    id in SEEN_FILE is "dev" whatever its hash."""
    if question_id in seen_ids():
        return "dev"
    digest = hashlib.sha256(f"tts-lexicon:{question_id}".encode()).hexdigest()
    return "dev" if int(digest[:8], 16) % 100 < DEV_SHARE else "heldout"


def pick_questions(n: int, split: str, seed: int = 18) -> list[str]:
    """`n` bank questions of `split`, the same ones on every run (seeded sample of sorted ids)."""
    from interviewer.env import Environment

    bank = Environment(project_root=ROOT).load_bank()
    entries = sorted((e for e in bank if split_of(e.id) == split), key=lambda e: e.id)
    return [e.question.text for e in random.Random(seed).sample(entries, min(n, len(entries)))]


def _wers(reference: str, heard: str) -> dict[str, float]:
    """Both measures (module docstring): "wer" strict, "wer_std" standard."""
    from asr_data import wer, wer_standard

    return {"wer": wer(reference, heard), "wer_std": wer_standard(reference, heard)}


def heard_via_say(pulse: Any, voice: str, text: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Run `interviewer say`; return what the virtual speaker heard and the SpeechResult."""
    engine, extra = VOICES[voice]
    with pulse.capture_speaker() as cap:
        proc = subprocess.run([sys.executable, "-m", "interviewer", "say", "--tts", engine,
                               "--json", text], env={**pulse.env, **extra},
                              capture_output=True, text=True, timeout=120, check=False)
        time.sleep(0.3)
    if proc.returncode != 0:
        raise RuntimeError(f"say --tts {engine} failed: {proc.stderr.strip()}")
    return cap.audio, json.loads(proc.stdout)


def intelligibility(pulse: Any, questions: dict[str, list[str]],
                    voices: list[str]) -> list[dict[str, Any]]:
    """WER of each voice's spoken questions as transcribed by openai-whisper tiny.en; the
    voices take turns on each question, so drifting load hits them alike."""
    from interviewer.asr import make_transcriber
    from interviewer.env import Environment
    from interviewer.runtime import set_engine_threads

    set_engine_threads(1)  # as a session does: torch's pool is process-wide
    tr = make_transcriber("openai-whisper", "tiny.en", threads=1,
                          models_dir=Environment().models_dir)
    rows = []
    for split, texts in questions.items():
        for q in texts:
            for voice in voices:
                audio, said = heard_via_say(pulse, voice, q)
                text = tr.transcribe(audio).text
                rows.append({"voice": voice, "split": split, "question": q, "heard": text,
                             **_wers(q, text), "duration_s": said["duration_s"],
                             "loadavg_1min": os.getloadavg()[0]})
                _report(rows[-1])
    return rows


def _report(row: dict[str, Any]) -> None:
    """One measured question on stderr; what was heard only for dev questions (held-out
    transcripts are not shown while the voice is being tuned)."""
    heard = row["heard"] if row["split"] == "dev" else "(held out)"
    print(f"{row['split']} {row['voice']}: {row['wer']:.2f} / {row['wer_std']:.2f}  {heard}",
          file=sys.stderr)


def direct(questions: dict[str, list[str]], deliveries: list[str], repeats: int,
           lexicon_modes: list[str]) -> list[dict[str, Any]]:
    """Lever sweeps: the Piper voice synthesised in this process (no playback, no sound
    server: the audio is resampled 22.05 → 16 kHz with a polyphase filter) and transcribed by
    the same tiny.en, for each delivery spec (`Delivery.parse`; "default" = the defaults) and
    lexicon mode, the variants taking turns on each question. Much cheaper than `say` (no
    real-time playback), so more questions and repeats fit; the chosen settings are then
    measured the product's way (`say` on the virtual speaker)."""
    from scipy.signal import resample_poly

    from interviewer.asr import make_transcriber
    from interviewer.audio import piper_speaker as ps
    from interviewer.env import Environment
    from interviewer.runtime import set_engine_threads

    set_engine_threads(1)
    models_dir = Environment().models_dir
    tr = make_transcriber("openai-whisper", "tiny.en", threads=1, models_dir=models_dir)
    voice = ps.load_voice(ps.find_voice(models_dir))
    rate_gcd = math.gcd(16_000, voice.sample_rate)
    up, down = 16_000 // rate_gcd, voice.sample_rate // rate_gcd
    variants = [(spec, lex) for spec in deliveries for lex in lexicon_modes]
    rows = []
    for split, texts in questions.items():
        for q in texts:
            for rep in range(repeats):
                for spec, lex in variants:
                    d = ps.Delivery() if spec == "default" else ps.Delivery.parse(spec)
                    os.environ[ps.LEXICON_ENV] = lex
                    audio = np.concatenate(list(voice.stream(
                        q, length_scale=voice.length_scale(None, d), volume=1.0, delivery=d)))
                    audio16 = resample_poly(audio, up, down).astype(np.float32)
                    text = tr.transcribe(audio16).text
                    name = f"piper[{spec}]" + ("" if lex == "on" else "-nolex")
                    rows.append({"voice": name, "split": split, "question": q, "rep": rep,
                                 "heard": text, **_wers(q, text),
                                 "duration_s": audio.size / voice.sample_rate,
                                 "loadavg_1min": os.getloadavg()[0]})
                    _report(rows[-1])
    os.environ.pop(ps.LEXICON_ENV, None)
    return rows


def _p90(values: list[float]) -> float:
    """The 90th percentile (linear interpolation between order statistics)."""
    return float(np.percentile(values, 90)) if values else float("nan")


def summarise_wer(wers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per voice and split, for each measure (strict "wer_*", standard "std_*"): mean / median
    / p90 of the per-question WER and the questions with no error."""
    out = []
    voices = list(dict.fromkeys(r["voice"] for r in wers))
    for split in SPLITS:
        for voice in voices:
            mine = [r for r in wers if r["voice"] == voice and r["split"] == split]
            if not mine:
                continue
            row: dict[str, Any] = {"voice": voice, "split": split, "questions": len(mine)}
            for key, prefix in (("wer", "wer"), ("wer_std", "std")):
                w = [r[key] for r in mine]
                row.update({f"{prefix}_mean": statistics.fmean(w),
                            f"{prefix}_median": statistics.median(w),
                            f"{prefix}_p90": _p90(w),
                            f"{prefix}_perfect": sum(1 for x in w if x == 0.0)})
            out.append(row)
    return out


def first_sample(questions: list[str], engines: list[str],
                 homes: dict[str, Path]) -> list[dict[str, Any]]:
    """speak() → first sample handed to the device, on a warm speaker of each engine."""
    from interviewer.factory import make_speaker

    rows = []
    for engine in engines:
        speaker = make_speaker(no_tts=False, tts=engine.removesuffix("-whole"),
                               models_dir=homes[engine] / "models")
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


def _home_like(real_home: Path, voices: str) -> Path:
    """A home folder sharing every model and cache of `real_home` but the Piper voice:
    `voices` "none" (no voice: pyttsx3 speaks) or "whole" (the voice without its split parts)."""
    home = Path(tempfile.mkdtemp(prefix="tts-home-"))
    for item in real_home.iterdir():
        if item.name != "models":
            (home / item.name).symlink_to(item)
    (home / "models").mkdir()
    for item in (real_home / "models").iterdir():
        if item.name != "voices":
            (home / "models" / item.name).symlink_to(item)
    if voices == "whole":
        (home / "models" / "voices").mkdir()
        for f in (real_home / "models" / "voices").glob("*.onnx*"):
            (home / "models" / "voices" / f.name).symlink_to(f)
    return home


def engine_homes() -> dict[str, Path]:
    """The home folder each timed engine runs with."""
    from interviewer.env import Environment

    real_home = Environment().home
    assert real_home is not None
    return {"piper": real_home, "piper-whole": _home_like(real_home, "whole"),
            "pyttsx3": _home_like(real_home, "none")}


def sessions(pulse: Any, engines: list[str], repeats: int, work: Path,
             homes: dict[str, Path]) -> list[dict[str, Any]]:
    """benchmarks/startup.py's run per engine: launch → audible, peak RSS of a spoken turn."""
    import startup

    answer = work / "answer.wav"
    subprocess.run(["espeak-ng", "-s", "160", "-w", str(answer), startup.ANSWER], check=True)
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


def summarise(firsts: list[dict[str, Any]], runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per engine: first sample p50/max, launch → audible p50, peak RSS."""
    out = []
    for engine in ENGINES:
        f = [r["first_sample_s"] for r in firsts if r["engine"] == engine]
        s = [r for r in runs if r["engine"] == engine]
        out.append({
            "engine": engine,
            "first_sample_p50_s": statistics.median(f) if f else None,
            "first_sample_max_s": max(f) if f else None,
            "session_runs": len(s),
            "launch_to_audible_p50_s": statistics.median(
                r["launch_to_audible_s"] for r in s) if s else None,
            "peak_rss_max_mb": max(r["peak_rss_mb"] for r in s) if s else None,
        })
    return out


def _fmt(v: float | None, spec: str, unit: str = "") -> str:
    return "–" if v is None else f"{v:{spec}}{unit}"


def print_tables(wer_rows: list[dict[str, Any]], summary: list[dict[str, Any]],
                 phon: dict[str, float], load: tuple[float, float]) -> None:
    """The WER table (per voice and split), then the timing table (per engine)."""
    print("| questions | voice | n | strict WER mean | median | p90 | no error "
          "| standard WER mean | median | p90 | no error |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in wer_rows:
        print(f"| {r['split']} | {r['voice']} | {r['questions']} | {r['wer_mean']:.3f} | "
              f"{r['wer_median']:.3f} | {r['wer_p90']:.3f} | {r['wer_perfect']} | "
              f"{r['std_mean']:.3f} | {r['std_median']:.3f} | {r['std_p90']:.3f} | "
              f"{r['std_perfect']} |")
    print("\n| engine | speak → first sample p50 (max) | launch → first question audible p50 "
          "| peak RSS, spoken turn |")
    print("|---|---|---|---|")
    for s in summary:
        print(f"| {s['engine']} | {_fmt(s['first_sample_p50_s'], '.2f', ' s')} "
              f"({_fmt(s['first_sample_max_s'], '.2f', ' s')}) | "
              f"{_fmt(s['launch_to_audible_p50_s'], '.2f', ' s')} | "
              f"{_fmt(s['peak_rss_max_mb'], '.0f', ' MB')} |")
    if phon:
        print(f"\nphonemes per question: libespeak-ng/ctypes {phon['ctypes_ms_p50']:.1f} ms, "
              f"espeak-ng CLI {phon['cli_ms_p50']:.1f} ms (p50)")
    print(f"load average {load[0]:.2f} → {load[1]:.2f}")


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CI: 3 dev questions, Piper only")
    ap.add_argument("--heldout", type=int, default=30, help="held-out questions")
    ap.add_argument("--dev", type=int, default=15, help="lexicon development questions")
    ap.add_argument("--voices", nargs="+", default=list(VOICES), choices=list(VOICES))
    ap.add_argument("--repeats", type=int, default=3, help="session runs per engine")
    ap.add_argument("--wer-only", action="store_true",
                    help="skip the first-sample, phoneme and session measurements")
    ap.add_argument("--skip-wer", action="store_true",
                    help="only the first-sample, phoneme and session measurements")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/tts.json")
    ap.add_argument("--direct", nargs="+", metavar="DELIVERY",
                    help="lever sweep in this process (no playback) over delivery specs, e.g. "
                         "default pace=1.15 'pace=1.15,noise_w=0.5' (implies --wer-only)")
    ap.add_argument("--lexicon", nargs="+", default=["on"], choices=["on", "off"],
                    help="--direct: lexicon modes to compare")
    ap.add_argument("--wer-repeats", type=int, default=1,
                    help="--direct: syntheses per question and variant (VITS samples noise)")
    ap.add_argument("--seed", type=int, default=18, help="question sample seed")
    args = ap.parse_args()
    if args.direct:
        args.wer_only = True
    if args.quick:
        # Dev questions: held-out transcripts are not printed where lexicon work happens.
        args.heldout, args.dev, args.repeats, args.voices = 0, 3, 1, ["piper"]
        args.json = Path(tempfile.mkdtemp()) / "tts.json"
    return args


def main() -> None:
    args = _args()
    from tests.conftest import PulseHarness

    t0 = time.time()
    load_before = os.getloadavg()[0]
    questions = {split: pick_questions(n, split, args.seed)
                 for split, n in (("heldout", args.heldout), ("dev", args.dev)) if n > 0}
    timed = questions.get("heldout") or questions.get("dev") or []
    engines = sorted({VOICES[v][0] for v in args.voices}, key=ENGINES.index)
    if "piper" in engines and not args.quick:
        engines.insert(1, "piper-whole")
    homes = engine_homes()
    work = Path(tempfile.mkdtemp(prefix="tts-bench-"))
    pulse = PulseHarness(Path(tempfile.mkdtemp(prefix="tts-pulse-")))
    if not args.direct:  # --direct plays nothing
        pulse.start()
        os.environ["PULSE_SERVER"] = pulse.server
    phon: dict[str, float] = {}
    firsts: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    try:
        if not args.wer_only:
            phon = phonemizers(timed[:10])
            firsts = first_sample(timed[:10], engines, homes)
        if args.direct:
            wers = direct(questions, args.direct, args.wer_repeats, args.lexicon)
        else:
            wers = [] if args.skip_wer else intelligibility(pulse, questions, args.voices)
        if not args.wer_only:
            runs = sessions(pulse, engines, args.repeats, work, homes)
    finally:
        if not args.direct:
            pulse.stop()
    load = (load_before, os.getloadavg()[0])
    wer_rows = summarise_wer(wers)
    summary = summarise(firsts, runs)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)),
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg_1min": load, "cpus": os.cpu_count(), "dev_share_pct": DEV_SHARE,
        "seen_ids": sorted(seen_ids()), "args": {k: str(v) for k, v in vars(args).items()},
        "wer_summary": wer_rows, "summary": summary, "phonemes": phon, "wer": wers,
        "first_sample": firsts, "sessions": runs}, indent=2))
    print_tables(wer_rows, summary, phon, load)


if __name__ == "__main__":
    main()
