"""Audio devices: list them, resolve `--input-device/--output-device`, describe the machine.

PortAudio (through sounddevice) only sees what its host APIs offer. On Linux desktops that is
ALSA, where PulseAudio/PipeWire appear as two devices, `pulse` and `default`, behind which sit the
real sinks and sources. So a device name that matches no PortAudio device is also looked up among
PulseAudio's sinks/sources (via `pactl`), and chosen by opening `pulse` with PULSE_SINK /
PULSE_SOURCE set: libpulse reads those when the stream is opened.

sounddevice enumerates devices when it is imported; `reinitialize()` re-enumerates (after a
device is plugged in, or after PULSE_SERVER changed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from interviewer.errors import AudioDeviceError

Kind = Literal["input", "output"]

NO_DEVICE_HINT = (
    "plug in a microphone/headset, or start PulseAudio/PipeWire (or point PULSE_SERVER at a "
    "running one); `interviewer devices` lists what is visible"
)


def no_device_hint(kind: Kind) -> str:
    """What to try when there is no device of this kind."""
    thing = "a microphone or headset" if kind == "input" else "speakers or headphones"
    extra = "; without speakers, --no-tts prints the questions" if kind == "output" else ""
    return (f"plug in {thing}, or start PulseAudio/PipeWire (or point PULSE_SERVER at a running "
            f"one); `interviewer devices` lists what is visible{extra}")


def sounddevice() -> ModuleType:
    """Import sounddevice, translating a missing PortAudio library into a clear error."""
    try:
        import sounddevice as sd
    except OSError as exc:  # "PortAudio library not found"
        raise AudioDeviceError(
            f"PortAudio is not usable: {exc}", hint="install libportaudio2 (apt)"
        ) from exc
    module: ModuleType = sd
    return module


def reinitialize() -> None:
    """Make PortAudio enumerate devices again (sounddevice only does it at import)."""
    sd = sounddevice()
    sd._terminate()
    sd._initialize()


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False

    def has(self, kind: Kind) -> bool:
        return (self.max_input_channels if kind == "input" else self.max_output_channels) > 0


@dataclass(frozen=True)
class PulseEndpoint:
    """A PulseAudio/PipeWire sink or source, reachable through PortAudio's `pulse` device."""

    name: str
    description: str
    kind: Kind
    is_monitor: bool = False
    is_default: bool = False


@dataclass(frozen=True)
class ResolvedDevice:
    """What to open: a PortAudio index, plus the PulseAudio endpoint to route it to, if any."""

    kind: Kind
    index: int
    name: str  # for messages and SpeechResult.device
    pulse_name: str | None = None

    @contextmanager
    def routed(self) -> Iterator[None]:
        """Set PULSE_SOURCE/PULSE_SINK while a stream is being opened, then restore."""
        if self.pulse_name is None:
            yield
            return
        var = "PULSE_SOURCE" if self.kind == "input" else "PULSE_SINK"
        old = os.environ.get(var)
        os.environ[var] = self.pulse_name
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = old


def list_devices() -> list[DeviceInfo]:
    """All PortAudio devices (empty when there is none: no sound card and no sound server)."""
    sd = sounddevice()
    apis = sd.query_hostapis()
    default_in, default_out = _default_indices(sd)
    out = []
    for d in sd.query_devices():
        out.append(
            DeviceInfo(
                index=int(d["index"]),
                name=str(d["name"]),
                hostapi=str(apis[d["hostapi"]]["name"]),
                max_input_channels=int(d["max_input_channels"]),
                max_output_channels=int(d["max_output_channels"]),
                default_samplerate=float(d["default_samplerate"]),
                is_default_input=int(d["index"]) == default_in,
                is_default_output=int(d["index"]) == default_out,
            )
        )
    return out


def _default_indices(sd: Any) -> tuple[int, int]:
    """PortAudio's default input/output indices (-1 when there is none)."""
    res = []
    for kind in ("input", "output"):
        try:
            res.append(int(sd.query_devices(kind=kind)["index"]))
        except sd.PortAudioError:  # "Error querying device -1": no such device
            res.append(-1)
    return res[0], res[1]


def pulse_endpoints(timeout: float = 3.0) -> list[PulseEndpoint] | None:
    """Sinks and sources of the running PulseAudio/PipeWire server; None if none is reachable."""
    if shutil.which("pactl") is None:
        return None
    try:
        info = _pactl_json(["info"], timeout)
        sinks = _pactl_json(["list", "sinks"], timeout)
        sources = _pactl_json(["list", "sources"], timeout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    default_sink = info.get("default_sink_name") if isinstance(info, dict) else None
    default_source = info.get("default_source_name") if isinstance(info, dict) else None
    eps = [
        PulseEndpoint(s["name"], s.get("description") or s["name"], "output",
                      is_default=s["name"] == default_sink)
        for s in sinks
    ]
    eps += [
        PulseEndpoint(s["name"], s.get("description") or s["name"], "input",
                      is_monitor=s["name"].endswith(".monitor"),
                      is_default=s["name"] == default_source)
        for s in sources
    ]
    return eps


def _pactl_json(args: list[str], timeout: float) -> Any:
    proc = subprocess.run(["pactl", "--format=json", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise ValueError(proc.stderr.strip())
    return json.loads(proc.stdout)


def resolve(spec: str | int | None, kind: Kind, *,
            devices: list[DeviceInfo] | None = None,
            pulse: list[PulseEndpoint] | None | Literal["query"] = "query") -> ResolvedDevice:
    """Turn `--input-device/--output-device` (None, an index, or a name substring) into a device.

    Raises AudioDeviceError naming the device and what to try.
    """
    devs = _list_with_retry(kind) if devices is None else devices
    usable = [d for d in devs if d.has(kind)]
    if not usable:
        raise AudioDeviceError(f"no audio {kind} device found", hint=no_device_hint(kind))
    if spec is None or spec == "":
        default = next((d for d in usable if _is_default(d, kind)), None)
        if default is None:
            raise AudioDeviceError(
                f"no default audio {kind} device",
                hint=f"choose one with --{kind}-device (see `interviewer devices`)",
            )
        return ResolvedDevice(kind, default.index, default.name)
    text = str(spec).strip()
    if text.isdigit():
        idx = int(text)
        match = next((d for d in devs if d.index == idx), None)
        if match is None or not match.has(kind):
            raise AudioDeviceError(
                f"audio {kind} device #{idx} does not exist or has no {kind} channels",
                hint="`interviewer devices` lists the valid numbers",
            )
        return ResolvedDevice(kind, match.index, match.name)
    found = _by_name(usable, text, lambda d: d.name)
    if found is not None:
        return ResolvedDevice(kind, found.index, found.name)
    eps = pulse_endpoints() if pulse == "query" else pulse
    if eps:
        ep = _by_name([e for e in eps if e.kind == kind], text, lambda e: e.name,
                      lambda e: e.description)
        via = next((d for d in usable if d.name == "pulse"), None) or next(
            (d for d in usable if d.name == "default"), None)
        if ep is not None and via is not None:
            return ResolvedDevice(kind, via.index, f"pulse:{ep.name}", pulse_name=ep.name)
    raise AudioDeviceError(
        f"no audio {kind} device matches {text!r}",
        hint="`interviewer devices` lists the names and numbers you can use",
    )


def _list_with_retry(kind: Kind, attempts: int = 3) -> list[DeviceInfo]:
    """List devices; if none has `kind` although a sound server answers, enumerate again.

    PortAudio probes the ALSA `pulse` device by connecting to the server; a server slow to
    answer (a loaded machine) makes that probe fail and the device silently vanish.
    """
    devs = list_devices()
    for _ in range(attempts - 1):
        if any(d.has(kind) for d in devs):
            break
        if not os.environ.get("PULSE_SERVER") and pulse_endpoints(timeout=2.0) is None:
            break
        time.sleep(0.3)
        reinitialize()
        devs = list_devices()
    return devs


def _is_default(d: DeviceInfo, kind: Kind) -> bool:
    return d.is_default_input if kind == "input" else d.is_default_output


def _by_name(items: list[Any], text: str, *keys: Any) -> Any:
    """Exact name first, then a unique case-insensitive substring; ambiguity is an error."""
    low = text.lower()
    for key in keys:
        exact = [it for it in items if key(it).lower() == low]
        if exact:
            return exact[0]
    partial = [it for it in items if any(low in key(it).lower() for key in keys)]
    if len(partial) > 1:
        names = ", ".join(repr(keys[0](it)) for it in partial)
        raise AudioDeviceError(f"device name {text!r} is ambiguous: it matches {names}",
                               hint="give more of the name, or its number")
    return partial[0] if partial else None


@dataclass
class AudioReport:
    """What `interviewer doctor`/`devices` say about the machine's audio."""

    devices: list[DeviceInfo]
    pulse: list[PulseEndpoint] | None
    pulse_server: str | None = field(default_factory=lambda: os.environ.get("PULSE_SERVER"))
    has_dev_snd: bool = field(default_factory=lambda: Path("/dev/snd").exists())
    error: str | None = None

    def default(self, kind: Kind) -> DeviceInfo | None:
        return next((d for d in self.devices if _is_default(d, kind)), None)

    def count(self, kind: Kind) -> int:
        return sum(1 for d in self.devices if d.has(kind))

    def summary(self, kind: Kind) -> tuple[bool, str]:
        """(ok, one truthful line) for the default input or output device."""
        if self.error:
            return False, self.error
        d = self.default(kind)
        if d is None:
            why = [] if self.has_dev_snd else ["no sound card (/dev/snd absent)"]
            if self.pulse is None:
                why.append("no PulseAudio/PipeWire server reachable")
            elif not [e for e in self.pulse if e.kind == kind and not e.is_monitor]:
                why.append(f"the sound server has no {kind}")
            else:
                why.append("a PulseAudio server answers but PortAudio does not reach it: is "
                           "libasound2-plugins (ALSA's pulse plugin) installed?")
            reason = f" ({'; '.join(why)})" if why else ""
            return False, f"no audio {kind} device found{reason}"
        line = f"default {kind}: #{d.index} {d.name} ({d.hostapi})"
        ep = next((e for e in self.pulse or [] if e.kind == kind and e.is_default), None)
        if ep is not None and d.name in ("pulse", "default"):
            line += f" → PulseAudio {'source' if kind == 'input' else 'sink'} {ep.name!r}"
        return True, line


def describe() -> AudioReport:
    """Look at the machine's audio as PortAudio and the sound server see it (never raises)."""
    try:
        devs = _list_with_retry("input")
        err = None
    except AudioDeviceError as exc:
        devs, err = [], str(exc)
    return AudioReport(devices=devs, pulse=pulse_endpoints(), error=err)
