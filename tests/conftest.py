"""Project-wide fixtures. The main one is `pulse`: a private PulseAudio daemon with a virtual
speaker and a virtual microphone, so tests exercise the real audio path (PortAudio → ALSA →
PulseAudio) on machines without a sound card.

Devices of the daemon (all 16 kHz mono s16le, so nothing is resampled on the way):

- sink `speaker` (the default sink): what the program plays; `speaker.monitor` captures it;
- sink `micfeed` + remap source `mic` (the default source): what a test plays into `micfeed`
  is what the program records from `mic`, bit for bit.

Every null sink gets a silent low-latency `pacat` feeding it for the fixture's whole life: an idle
null sink renders in ~2 s blocks, and a recording opened against it then starts up to 2 s late
and loses that audio (measured here). Low latency matters too: a keep-alive with pacat's default
(~2 s) buffer makes the sink render in large blocks, with the same loss.

Use it in a test (mark it `@pytest.mark.audio`):

    @pytest.mark.audio
    def test_x(pulse):
        pulse.play_into_mic("answer.wav")                 # paplay --device=micfeed, waits
        proc = pulse.play_into_mic("a.wav", wait=False)   # or returns the running Popen
        with pulse.capture_speaker() as cap:              # parec --device=speaker.monitor
            ...                                           # the program speaks here
        audio = cap.audio                                 # float32, 16 kHz, what was heard
        mic = pulse.add_mic("mic2")                       # an extra isolated mic (and sink)
        pulse.add_sink("phones")                          # an extra output; "phones.monitor"
        pulse.env                                         # environment for subprocesses

`PULSE_SERVER` is set in `os.environ` for the session; if sounddevice was imported before the
fixture started, PortAudio is re-initialised so it sees the new devices. Teardown kills every
process the fixture started, by PID, and restores the environment.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

# A shell without job control (CI scripts, `cmd &`) starts background jobs with SIGINT ignored,
# and every child inherits that: Python then installs no KeyboardInterrupt handler and a test's
# simulated Ctrl-C would be lost (the program under test waits for input until the test times
# out). A user's terminal gives the default action, so the tests' children get it too.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

PULSE_RATE = 16_000
_TOOLS = ("pulseaudio", "pactl", "paplay", "parec", "pacat")
_RAW = ["--raw", "--format=s16le", f"--rate={PULSE_RATE}", "--channels=1"]

_PA_SCRIPT = """\
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
load-module module-null-sink sink_name=speaker rate={rate} channels=1 format=s16le \
sink_properties=device.description=virtual-speaker
load-module module-null-sink sink_name=micfeed rate={rate} channels=1 format=s16le \
sink_properties=device.description=virtual-mic-feed
load-module module-remap-source source_name=mic master=micfeed.monitor \
source_properties=device.description=virtual-mic
set-default-sink speaker
set-default-source mic
"""


@dataclass
class VirtualMic:
    """An extra microphone: play into sink `feed`, the program records source `name`."""

    name: str
    feed: str
    module_ids: list[int]


@dataclass
class SpeakerCapture:
    """A running `parec` of a monitor source; `.audio` is available after the `with` block."""

    proc: subprocess.Popen[bytes]
    path: Path
    started_at: float
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    def stop(self) -> np.ndarray:
        """Stop capturing; return what was captured as float32 at 16 kHz."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # parec flushes on SIGINT
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        raw = self.path.read_bytes()
        raw = raw[: len(raw) - len(raw) % 2]
        self.audio = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
        return self.audio

    def __enter__(self) -> SpeakerCapture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PulseHarness:
    """Handle on the private daemon (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "native"
        self.server = f"unix:{self.socket}"
        self._procs: list[subprocess.Popen[bytes]] = []
        self.daemon: subprocess.Popen[bytes] | None = None
        self._seq = 0

    # ------------------------------------------------------------------ environment
    @property
    def env(self) -> dict[str, str]:
        """os.environ plus PULSE_SERVER: pass to subprocesses that must use the daemon."""
        env = dict(os.environ)
        env["PULSE_SERVER"] = self.server
        env.pop("PULSE_SINK", None)
        env.pop("PULSE_SOURCE", None)
        return env

    def _spawn(self, args: list[str], **kw: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, env=self.env, **kw)  # type: ignore[call-overload]
        self._procs.append(proc)
        return proc

    def pactl(self, *args: str) -> str:
        """Run pactl against the daemon; return stdout (raises on failure)."""
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True,
                              check=True, timeout=10).stdout

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        missing = [t for t in _TOOLS if shutil.which(t) is None]
        if missing:
            pytest.fail(f"audio tests need {', '.join(missing)}: apt-get install pulseaudio "
                        "pulseaudio-utils (see .ci/install)", pytrace=False)
        script = self.root / "virtual.pa"
        script.write_text(_PA_SCRIPT.format(socket=self.socket, rate=PULSE_RATE))
        denv = dict(os.environ, XDG_RUNTIME_DIR=str(self.root), HOME=str(self.root),
                    PULSE_STATE_PATH=str(self.root / "state"),
                    PULSE_RUNTIME_PATH=str(self.root / "runtime"))
        for var in ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE", "DBUS_SESSION_BUS_ADDRESS"):
            denv.pop(var, None)
        log = open(self.root / "pulseaudio.log", "wb")  # noqa: SIM115 - lives with the daemon
        self.daemon = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(script), "--daemonize=no", "--exit-idle-time=-1",
             "--use-pid-file=no", "--disallow-exit", "--log-target=stderr"],
            env=denv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        self._procs.append(self.daemon)
        deadline = time.monotonic() + 20
        while True:
            if self.daemon.poll() is not None:
                pytest.fail(f"pulseaudio exited ({self.daemon.returncode}): "
                            f"{(self.root / 'pulseaudio.log').read_text()[-2000:]}",
                            pytrace=False)
            try:
                self.pactl("info")
                break
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    pytest.fail("the private pulseaudio did not come up in 20 s", pytrace=False)
                time.sleep(0.1)
        for sink in ("speaker", "micfeed"):
            self._keep_alive(sink)
        self._wait_low_latency(["speaker", "micfeed"])

    def _wait_low_latency(self, sinks: list[str]) -> None:
        """Wait until the sinks render in small blocks. A new null sink first renders one ~2 s
        block; audio played or recorded during it arrives late or is lost (measured: the first
        playback after start-up lost 1.5 s)."""
        deadline = time.monotonic() + 10
        while True:
            info = {s["name"]: s["latency"]["actual"]
                    for s in json.loads(self.pactl("--format=json", "list", "sinks"))}
            if all(info.get(name, 1e9) < 50_000 for name in sinks):  # µs
                return
            if time.monotonic() > deadline:
                pytest.fail(f"virtual sinks still buffering after 10 s: {info}", pytrace=False)
            time.sleep(0.1)

    def _count(self, what: str) -> int:
        """Number of `sink-inputs` / `source-outputs` connected to the daemon."""
        return len([ln for ln in self.pactl("list", "short", what).splitlines() if ln.strip()])

    def _wait_connected(self, what: str, n: int, proc: subprocess.Popen[bytes]) -> None:
        """Wait until `n` streams of kind `what` exist: clients connect asynchronously, and audio
        sent before a stream is connected (or to a sink nobody keeps busy) is lost."""
        deadline = time.monotonic() + 10
        while self._count(what) < n:
            if proc.poll() is not None:
                pytest.fail(f"{proc.args!r} exited ({proc.returncode})", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"{proc.args!r} did not connect to the daemon in 10 s",
                            pytrace=False)
            time.sleep(0.05)

    def _keep_alive(self, sink: str) -> None:
        before = self._count("sink-inputs")
        proc = self._spawn(["pacat", "--playback", *_RAW, "--latency-msec=20",
                            f"--device={sink}", "/dev/zero"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_connected("sink-inputs", before + 1, proc)

    def stop(self) -> None:
        """Kill everything this harness started, by PID (daemon last)."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self._procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()

    # ------------------------------------------------------------------ helpers
    def play_into_mic(self, wav: Path | str, *, wait: bool = True, feed: str = "micfeed",
                      ) -> subprocess.Popen[bytes]:
        """Play a WAV into the virtual mic (`paplay --device=micfeed`); wait unless told not."""
        proc = self._spawn(["paplay", f"--device={feed}", str(wav)], stdin=subprocess.DEVNULL)
        if wait:
            proc.wait(timeout=300)
            assert proc.returncode == 0, f"paplay {wav} failed ({proc.returncode})"
        return proc

    def capture_speaker(self, source: str = "speaker.monitor") -> SpeakerCapture:
        """Start recording what is played on the virtual speaker (use as a context manager)."""
        self._seq += 1
        path = self.root / f"capture-{self._seq}.raw"
        out = open(path, "wb")  # noqa: SIM115 - handed to parec
        before = self._count("source-outputs")
        proc = self._spawn(["parec", f"--device={source}", *_RAW, "--latency-msec=20"],
                           stdout=out, stdin=subprocess.DEVNULL)
        out.close()
        self._wait_connected("source-outputs", before + 1, proc)
        return SpeakerCapture(proc=proc, path=path, started_at=time.monotonic())

    def add_sink(self, name: str) -> int:
        """Create an extra 16 kHz mono null sink `name` (kept busy); return its module id.
        Its monitor `<name>.monitor` captures what is played on it."""
        module = int(self.pactl("load-module", "module-null-sink", f"sink_name={name}",
                                f"rate={PULSE_RATE}", "channels=1", "format=s16le").strip())
        self._keep_alive(name)
        self._wait_low_latency([name])
        return module

    def add_mic(self, name: str) -> VirtualMic:
        """Create an extra isolated mic `name` fed by sink `<name>-feed` (with keep-alive)."""
        feed = f"{name}-feed"
        sink_id = self.add_sink(feed)
        src_id = int(self.pactl("load-module", "module-remap-source", f"source_name={name}",
                                f"master={feed}.monitor").strip())
        return VirtualMic(name=name, feed=feed, module_ids=[src_id, sink_id])

    def write_wav(self, path: Path, audio: np.ndarray, rate: int = PULSE_RATE) -> Path:
        """Write float32 mono audio as a 16-bit WAV (for play_into_mic)."""
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm.tobytes())
        return path


def _reinit_portaudio() -> None:
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()


@pytest.fixture(scope="session")
def pulse() -> Iterator[PulseHarness]:
    """A private PulseAudio daemon with virtual `speaker` and `mic` (see module docstring)."""
    root = Path(tempfile.mkdtemp(prefix="interviewer-pulse-"))  # short: unix socket paths ≤ 107
    harness = PulseHarness(root)
    saved = {k: os.environ.get(k) for k in ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE")}
    try:
        harness.start()
        os.environ["PULSE_SERVER"] = harness.server
        os.environ.pop("PULSE_SINK", None)
        os.environ.pop("PULSE_SOURCE", None)
        _reinit_portaudio()
        yield harness
    finally:
        harness.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _reinit_portaudio()
        shutil.rmtree(root, ignore_errors=True)
