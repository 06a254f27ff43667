"""`interviewer devices|voices|say|record`: check and use the audio set-up on its own.

`say` and `record` are what a user runs to test their microphone and speakers, and what other
tools script: `record` is non-interactive when stdin is not a terminal and prints the Take as a
JSON line when stdout is not a terminal (or with --json). Engines are imported inside the
functions: this module is loaded for every `interviewer` command.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from interviewer.audio.endpoint import DEFAULT_MAX_S as _MAX_DEFAULT
from interviewer.audio.endpoint import DEFAULT_NO_ANSWER_S as _NO_ANSWER_DEFAULT
from interviewer.audio.endpoint import DEFAULT_SILENCE_S as _SILENCE_DEFAULT
from interviewer.checks import CheckResult
from interviewer.env import Environment
from interviewer.errors import ExitStatus


def register(sub: Any) -> None:
    d = sub.add_parser("devices", help="list audio input and output devices")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=cmd_devices)

    v = sub.add_parser("voices", help="list text-to-speech voices (Piper and pyttsx3)")
    v.add_argument("--lang", help="only voices whose language starts with this (e.g. en)")
    v.add_argument("--tts", choices=["piper", "pyttsx3"], help="only this engine's voices")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_voices)

    s = sub.add_parser("say", help="speak TEXT on the output device; exits after playback")
    s.add_argument("text", nargs="+", help="what to say")
    s.add_argument("--output-device", help="number or name (see `interviewer devices`)")
    s.add_argument("--tts", choices=["piper", "pyttsx3"],
                   help="voice engine (default: the Piper neural voice when installed, "
                        "else pyttsx3/espeak-ng)")
    s.add_argument("--voice", help="voice id, name or language (see `interviewer voices`)")
    s.add_argument("--rate", type=int, help="words per minute (espeak default ~175)")
    s.add_argument("--json", action="store_true", help="print the SpeechResult as JSON")
    s.set_defaults(func=cmd_say)

    r = sub.add_parser("record", help="record one answer to FILE (WAV, written as it records)")
    r.add_argument("file", type=Path)
    r.add_argument("--silence", type=float, default=_SILENCE_DEFAULT, metavar="S",
                   help=f"silence after speech that ends the take (default {_SILENCE_DEFAULT:g})")
    r.add_argument("--max", dest="max_s", type=float, default=_MAX_DEFAULT, metavar="S",
                   help=f"maximum length in seconds (default {_MAX_DEFAULT:g})")
    r.add_argument("--no-answer-timeout", type=float, default=_NO_ANSWER_DEFAULT, metavar="S",
                   help="end as 'no_answer' if nobody speaks within S seconds "
                        f"(default {_NO_ANSWER_DEFAULT:g})")
    r.add_argument("--input-device", help="number or name (see `interviewer devices`)")
    r.add_argument("--json", action="store_true", help="print the Take as one JSON line")
    r.set_defaults(func=cmd_record)


def cmd_devices(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.audio.devices import NO_DEVICE_HINT, describe

    report = describe()
    if args.json:
        env.out(json.dumps({
            "devices": [asdict(d) for d in report.devices],
            "pulse": None if report.pulse is None else [asdict(e) for e in report.pulse],
            "pulse_server": report.pulse_server,
            "has_dev_snd": report.has_dev_snd,
            "error": report.error,
        }, indent=2))
        return ExitStatus.OK
    for kind in ("input", "output"):
        env.out(f"{kind.capitalize()} devices:")
        listed = [d for d in report.devices if d.has(kind)]
        for dev in listed:
            default = getattr(dev, f"is_default_{kind}")
            chans = dev.max_input_channels if kind == "input" else dev.max_output_channels
            env.out(f"  {'*' if default else ' '}{dev.index:>3}  {dev.name}  ({dev.hostapi}, "
                    f"{chans} ch, {dev.default_samplerate:g} Hz)")
        if not listed:
            _ok, line = report.summary(kind)
            env.out(f"  {line}")
    if report.pulse is not None:
        where = f" ({report.pulse_server})" if report.pulse_server else ""
        env.out(f"PulseAudio{where}, usable by name with --input-device/--output-device:")
        for ep in report.pulse:
            role = "sink  " if ep.kind == "output" else ("monitor" if ep.is_monitor else "source")
            env.out(f"  {'*' if ep.is_default else ' '} {role:<7} {ep.name}"
                    + (f"  ({ep.description})" if ep.description != ep.name else ""))
    if not report.devices:
        env.err(f"hint: {NO_DEVICE_HINT}")
    return ExitStatus.OK


def cmd_voices(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.audio import piper_speaker, speaker

    voices = []
    if args.tts in (None, "piper"):
        voices += piper_speaker.list_voices(env.models_dir)
    if args.tts in (None, "pyttsx3"):
        voices += speaker.list_voices()
    if args.lang:
        voices = [v for v in voices if any(x.startswith(args.lang) for x in v.languages)]
    if args.json:
        env.out(json.dumps([asdict(v) for v in voices], indent=2))
        return ExitStatus.OK
    width = max((len(v.id) for v in voices), default=10)
    for v in voices:
        env.out(f"{v.engine:<8} {v.id:<{width}}  {v.name}  [{', '.join(v.languages)}]")
    if args.tts in (None, "piper") and not any(v.engine == "piper" for v in voices):
        env.err("no Piper voice installed (interviewer models install voice)")
    env.err(f"{len(voices)} voice(s); choose one with --voice ID (and --tts ENGINE)")
    return ExitStatus.OK


def cmd_say(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.factory import make_speaker

    speaker = make_speaker(no_tts=False, output_device=args.output_device, voice=args.voice,
                           rate=args.rate, tts=args.tts, models_dir=env.models_dir)
    result = speaker.speak(" ".join(args.text))
    reason = getattr(speaker, "fallback_reason", None)
    if reason:
        env.err(f"note: the Piper voice could not be used ({reason}); spoke with pyttsx3")
    if args.json:
        env.out(result.model_dump_json())
    else:
        env.err(f"said {result.duration_s:.2f} s of speech on {result.device} "
                f"({getattr(speaker, 'engine', 'tts')})")
    return ExitStatus.OK


def cmd_record(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.audio.recorder import SoundDeviceRecorder

    stderr_tty = _isatty(env.stderr)
    recorder = SoundDeviceRecorder(
        args.input_device, silence_s=args.silence, max_s=args.max_s,
        no_answer_s=args.no_answer_timeout, enter_ends=env.stdin_isatty, stdin=env.stdin,
        meter=stderr_tty, stderr=env.stderr,
    )
    if stderr_tty:
        how = "press Enter or stop talking" if env.stdin_isatty else "stop talking"
        env.err(f"Recording to {args.file} — speak now; {how} ({args.silence:g} s of silence) "
                "to finish.")
    take = recorder.record(args.file)
    if args.json or not env.stdout_isatty:
        env.out(take.model_dump_json())
    else:
        speech = (f"speech {take.speech_start_s:.2f}–{take.speech_end_s:.2f} s"
                  if take.speech_start_s is not None and take.speech_end_s is not None
                  else "no speech detected")
        env.out(f"{take.path}: {take.duration_s:.2f} s, ended by {take.ended_by}, {speech}")
    return ExitStatus.INTERRUPTED if take.ended_by == "interrupted" else ExitStatus.OK


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------- doctor
def checks(env: Environment) -> list[CheckResult]:
    """`interviewer doctor`'s voice section: which TTS a session uses, and that it speaks."""
    import time

    import numpy as np

    from interviewer.audio import piper_speaker
    from interviewer.errors import InterviewerError

    default = piper_speaker.choose_tts(None, None, env.models_dir)
    voices = piper_speaker.installed_voices(env.models_dir)
    out = [CheckResult("default TTS", True,
                       "Piper neural voice" if default == "piper"
                       else "pyttsx3 (espeak-ng): the Piper voice is not installed",
                       required=False)]
    if not voices:
        out.append(CheckResult("Piper voice", False, "not installed (questions use espeak-ng)",
                               "interviewer models install voice", required=False))
        return out
    try:
        t0 = time.monotonic()
        audio, sr = piper_speaker.synthesize("Testing the voice.", models_dir=env.models_dir)
        took = time.monotonic() - t0
    except InterviewerError as exc:
        return [*out, CheckResult("Piper voice", False, exc.message,
                                  exc.hint or "use --tts pyttsx3")]
    secs = audio.shape[0] / sr
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    ok = secs > 0.3 and 0 < peak <= piper_speaker.CEILING + 1e-6
    out.append(CheckResult("Piper voice", ok,
                           f"{voices[0].name}: test phrase {secs:.2f} s at {sr} Hz, synthesised "
                           f"(with loading) in {took:.2f} s, peak {peak:.2f}",
                           None if ok else "reinstall: interviewer models install voice --force"))
    if voices[0].parts() is None:  # installed by an older version: whole-sentence synthesis
        out.append(CheckResult("Piper voice decoding", False,
                               "whole sentences (later first sample, more memory)",
                               "interviewer models install voice", required=False))
    return out

