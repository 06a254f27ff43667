"""The audio section of `interviewer doctor`: PortAudio, devices, TTS, VAD — stated as found.

Each check actually exercises the thing (opens the input for a moment, synthesises a phrase),
so "ok" means it worked here, now.
"""

from __future__ import annotations

import time

import numpy as np

from interviewer.audio.devices import AudioReport, Kind
from interviewer.checks import CheckResult
from interviewer.env import Environment
from interviewer.errors import InterviewerError

PROBE_S = 0.3


def checks(env: Environment) -> list[CheckResult]:
    """Run the audio checks (never raises)."""
    from interviewer.audio import devices

    out: list[CheckResult] = []
    kind: Kind
    try:
        sd = devices.sounddevice()
        out.append(CheckResult("PortAudio", True, str(sd.get_portaudio_version()[1])))
    except InterviewerError as exc:
        out.append(CheckResult("PortAudio", False, exc.message, exc.hint))
        return out
    report = devices.describe()
    out.append(_server_check(report))
    for kind in ("input", "output"):
        ok, line = report.summary(kind)
        out.append(CheckResult(f"{kind} device", ok, line,
                               None if ok else devices.no_device_hint(kind)))
    if out[-2].ok:
        out.append(_probe_input())
    out.append(_tts_check())
    out.append(_vad_check())
    return out


def _server_check(report: AudioReport) -> CheckResult:
    snd = "sound card present (/dev/snd)" if report.has_dev_snd else "no /dev/snd"
    if report.pulse is None:
        return CheckResult("sound server", None,
                           f"no PulseAudio/PipeWire server reachable; {snd}", required=False)
    sinks = [e.name for e in report.pulse if e.kind == "output"]
    sources = [e.name for e in report.pulse if e.kind == "input" and not e.is_monitor]
    where = f" at {report.pulse_server}" if report.pulse_server else ""
    return CheckResult("sound server", True,
                       f"PulseAudio{where}: sinks {sinks or 'none'}, sources {sources or 'none'}"
                       f"; {snd}", required=False)


def _probe_input() -> CheckResult:
    """Open the default input at 16 kHz for a moment: catches busy or broken microphones."""
    from interviewer.audio.devices import resolve, sounddevice

    sd = sounddevice()
    try:
        dev = resolve(None, "input")
        with dev.routed():
            t0 = time.monotonic()
            audio = sd.rec(int(16_000 * PROBE_S), samplerate=16_000, channels=1,
                           dtype="float32", device=dev.index, blocking=True)
            took = time.monotonic() - t0
    except InterviewerError as exc:
        return CheckResult("input capture", False, exc.message, exc.hint)
    except (sd.PortAudioError, ValueError) as exc:
        return CheckResult("input capture", False, f"cannot record from the input: {exc}",
                           "is another program using the microphone?")
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    level = f"{20 * np.log10(rms):.0f} dBFS" if rms > 0 else "digital silence"
    return CheckResult("input capture", True,
                       f"recorded {PROBE_S:.1f} s at 16 kHz in {took:.2f} s, level {level}")


def _tts_check() -> CheckResult:
    from interviewer.audio.speaker import list_voices, synthesize

    try:
        audio, sr = synthesize("Testing.")
        voices = list_voices()
    except InterviewerError as exc:
        return CheckResult("text-to-speech", False, exc.message, exc.hint or "use --no-tts")
    return CheckResult("text-to-speech", True,
                       f"pyttsx3 + espeak-ng, {len(voices)} voices; test phrase "
                       f"{audio.shape[0] / sr:.2f} s at {sr} Hz")


def _vad_check() -> CheckResult:
    try:
        from interviewer.audio.vad import FRAME_SAMPLES, Vad

        vad = Vad()
        silent = vad.is_speech(np.zeros(FRAME_SAMPLES, dtype=np.float32))
    except (ImportError, OSError, ValueError) as exc:
        return CheckResult("voice activity", False, f"webrtcvad is not usable: {exc}",
                           "pip install webrtcvad-wheels")
    return CheckResult("voice activity", not silent,
                       "webrtcvad loaded" if not silent else "webrtcvad calls silence speech")
