"""`interviewer transcribe FILE...`: transcribe audio files offline (WAV, FLAC, OGG; any rate).

Text output prints each transcript; JSON output gives text, duration, segments, words, engine
and model per file (one object, or an array for several files). Engines are imported only when
the command runs.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from interviewer.env import Environment
from interviewer.errors import ExitStatus, UsageError

ENGINE_NAMES = ("openai-whisper", "faster-whisper")  # kept here: listing them must not import asr


def register(sub: Any) -> None:
    p = sub.add_parser("transcribe", help="transcribe audio files offline with Whisper")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--engine", "--asr", dest="engine", choices=ENGINE_NAMES,
                   default="openai-whisper", help="speech recogniser (default: openai-whisper)")
    p.add_argument("--model", default="tiny.en", help="Whisper size (default: tiny.en)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--prompt", help="initial prompt: vocabulary to bias the recogniser toward")
    p.add_argument("--question", metavar="ID",
                   help="build the prompt from this bank question and its rubric terms")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for the engine (default: all cores, up to 4)")
    p.add_argument("--stream", action="store_true",
                   help="feed the audio through the streaming path, as during a session")
    p.set_defaults(func=cmd_transcribe)


def _prompt(args: argparse.Namespace, env: Environment) -> str | None:
    if args.prompt and args.question:
        raise UsageError("give --prompt or --question, not both")
    if args.question:
        from interviewer.asr.prompt import prompt_for_entry

        return prompt_for_entry(env.load_bank().get(args.question))
    return str(args.prompt) if args.prompt else None


def _as_json(path: Path, tr: Any) -> dict[str, Any]:
    return {
        "file": str(path), "text": tr.text, "duration_s": tr.duration_s,
        "no_speech": tr.no_speech, "engine": tr.engine, "model": tr.model,
        "seconds": None if tr.seconds is None else round(tr.seconds, 3),
        "segments": [{"start": round(s.start, 3), "end": round(s.end, 3), "text": s.text,
                      "no_speech_prob": s.no_speech_prob, "avg_logprob": s.avg_logprob}
                     for s in tr.segments],
        "words": [{"start": round(w.start, 3), "end": round(w.end, 3), "word": w.word,
                   "probability": w.probability} for w in tr.words],
    }


def cmd_transcribe(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.asr import make_transcriber
    from interviewer.asr.audio_io import load_audio, probe_audio

    prompt = _prompt(args, env)
    for f in args.files:  # fail on an unreadable file before spending seconds loading a model
        probe_audio(f)
    threads = args.threads or min(4, os.cpu_count() or 1)
    if threads < 1:
        raise UsageError("--threads must be at least 1")
    from interviewer.runtime import set_engine_threads

    set_engine_threads(threads)  # this command's one setting: torch's pool is process-wide
    transcriber = make_transcriber(args.engine, args.model, threads=threads,
                                   models_dir=env.models_dir, progress=env.err)
    results: list[dict[str, Any]] = []
    for f in args.files:
        audio = load_audio(f)
        if args.stream:
            from interviewer.protocols import SAMPLE_RATE

            stream = transcriber.stream(prompt=prompt)
            block = SAMPLE_RATE // 10  # 100 ms, like a capture callback
            for a in range(0, audio.shape[0], block):
                stream.feed(audio[a : a + block])
            tr = stream.finish()
        else:
            tr = transcriber.transcribe(audio, prompt=prompt)
        del audio
        if args.format == "json":
            results.append(_as_json(f, tr))
            continue
        if len(args.files) > 1:
            env.out(f"== {f} ==")
        if tr.no_speech:
            env.err(f"{f}: no speech detected")
        env.out(tr.text)
    if args.format == "json":
        env.out(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    return ExitStatus.OK
