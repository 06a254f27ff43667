"""Speaking the questions: pyttsx3 (espeak-ng) synthesises, sounddevice plays.

pyttsx3's own `say()` plays through `aplay` and reports success even when no device exists, so
the program could not know whether the candidate heard anything. Instead we synthesise to a WAV
buffer and play it ourselves; the SpeechResult then carries real start/finish times and the device.

pyttsx3 2.99 + espeak-ng pitfalls handled here (see the project's audio notes):
- `runAndWait()` may return before the file exists: wait for `finished-utterance` (completed) and
  check the WAV has frames;
- an engine that did `save_to_file` later overwrites that file instead of speaking, and a second
  queued item can be lost: a fresh engine per utterance, one item per `runAndWait()`;
- it prints "Audio saved to …" on stdout: redirected away so `--json` output stays clean;
- an unknown voice name is silently ignored: voices are validated against the engine's list.
"""

from __future__ import annotations

import contextlib
import gc
import io
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from interviewer.errors import EngineUnavailable, UsageError
from interviewer.protocols import SpeakerBase, SpeechResult

if TYPE_CHECKING:
    from interviewer.audio.player import Playback

DRIVER = "espeak"
#: Words per minute. Always set explicitly: the driver's own initial rate is not reliably applied
#: to a process's first utterance (measured: ~1 in 4 first utterances came out slower).
DEFAULT_RATE = 175
_SYNTH_TIMEOUT_S = 30.0
# One synthesis at a time: espeak-ng's synth callback is a process-wide global.
_LOCK = threading.Lock()
_warmed = False


@dataclass(frozen=True)
class VoiceInfo:
    """One TTS voice as pyttsx3 reports it."""

    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None
    engine: str = "pyttsx3"


def _new_engine() -> Any:
    try:
        from pyttsx3.engine import Engine
    except ImportError as exc:
        raise EngineUnavailable("pyttsx3 is not installed", hint="pip install pyttsx3, or use "
                                "--no-tts") from exc
    try:
        # Engine(), not pyttsx3.init(): init() hands back a cached engine, and a used engine
        # misbehaves (see module docstring).
        return Engine(DRIVER)
    except (OSError, RuntimeError, ImportError) as exc:
        raise EngineUnavailable(
            f"text-to-speech engine espeak-ng is not usable: {exc}",
            hint="install libespeak-ng1 (apt), or run with --no-tts",
        ) from exc


def _drop_engine(engine: Any) -> None:
    # The driver's destructor clears espeak's global synth callback; collect it now, while we
    # hold the lock, rather than during the next utterance's synthesis.
    del engine
    gc.collect()


def list_voices() -> list[VoiceInfo]:
    """Voices the TTS engine offers (`interviewer voices`)."""
    with _LOCK:
        engine = _new_engine()
        try:
            voices = engine.getProperty("voices")
        finally:
            _drop_engine(engine)
    return [
        VoiceInfo(id=str(v.id), name=str(v.name), languages=tuple(v.languages or ()),
                  gender=v.gender)
        for v in voices
    ]


def find_voice(spec: str, voices: list[VoiceInfo] | None = None) -> VoiceInfo:
    """Match `--voice`: exact id, exact name, then id suffix/language (e.g. "en-us")."""
    vs = voices if voices is not None else list_voices()
    low = spec.strip().lower()
    preds: tuple[Callable[[VoiceInfo], bool], ...] = (
        lambda v: v.id.lower() == low,
        lambda v: v.name.lower() == low,
        lambda v: v.id.lower().rsplit("/", 1)[-1] == low or low in (x.lower() for x in v.languages),
    )
    for pred in preds:
        hits = [v for v in vs if pred(v)]
        if hits:
            return hits[0]
    partial = [v for v in vs if low in v.name.lower() or low in v.id.lower()]
    if len(partial) == 1:
        return partial[0]
    hint = "`interviewer voices` lists them"
    if partial:
        hint = "matches " + ", ".join(v.id for v in partial[:8]) + ("…" if len(partial) > 8 else "")
    raise UsageError(f"no TTS voice matches {spec!r}", hint=hint)


def synthesize(text: str, *, voice: str | None = None,
               rate: int | None = None) -> tuple[np.ndarray, int]:
    """Synthesise `text`; return (float32 mono audio, sample rate) — espeak-ng gives 22050 Hz."""
    global _warmed
    if not text.strip():
        raise UsageError("nothing to say: the text is empty")
    voice_id = find_voice(voice).id if voice else None
    wpm = int(rate) if rate is not None else DEFAULT_RATE
    with _LOCK:
        if not _warmed:
            # The first utterance after espeak-ng starts sometimes ignores the rate just set
            # (measured: 1 run in ~20 came out at the driver's 200 wpm, or at espeak's 175 when
            # asked for 200). A throwaway utterance absorbs that.
            _synth_locked("Ready.", None, wpm)
            _warmed = True
        audio, sr = _synth_locked(text, voice_id, wpm)
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if audio.shape[0] == 0 or not np.any(audio):
        raise EngineUnavailable(f"text-to-speech produced silence for {text[:40]!r}",
                                hint="check the voice (`interviewer voices`) or use --no-tts")
    return audio.astype(np.float32, copy=False), int(sr)


def _synth_locked(text: str, voice_id: str | None, wpm: int) -> tuple[np.ndarray, int]:
    """One utterance with a fresh engine; the caller holds _LOCK."""
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="interviewer-tts-") as tmp:
        wav = Path(tmp) / "utterance.wav"
        engine = _new_engine()
        finished = threading.Event()
        completed: list[bool] = []

        def on_finished(**kw: Any) -> None:  # fires from espeak's thread
            completed.append(bool(kw.get("completed")))
            finished.set()

        engine.connect("finished-utterance", on_finished)
        try:
            if voice_id:
                engine.setProperty("voice", voice_id)
            engine.setProperty("rate", wpm)
            with contextlib.redirect_stdout(io.StringIO()):
                engine.save_to_file(text, str(wav))
                engine.runAndWait()
                finished.wait(_SYNTH_TIMEOUT_S)
                # The file is written just before the callback fires; give the OS a moment.
                deadline = time.monotonic() + 2.0
                while not wav.exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
        finally:
            _drop_engine(engine)
        if not finished.is_set() or not any(completed):
            raise EngineUnavailable("text-to-speech did not finish the utterance",
                                    hint="run with --no-tts to print questions instead")
        try:
            audio, sr = sf.read(str(wav), dtype="float32", always_2d=False)
        except (OSError, RuntimeError) as exc:
            raise EngineUnavailable(f"text-to-speech wrote no readable audio: {exc}",
                                    hint="run with --no-tts to print questions instead") from exc
    return audio, int(sr)


@dataclass
class Rendering:
    """Audio for one utterance: its sample rate and its pieces (produced lazily or ready)."""

    sample_rate: int
    pieces: Iterator[np.ndarray]


class _Prepared:
    """Audio being synthesised ahead of `speak`."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.audio: tuple[int, list[np.ndarray]] | None = None


class PlayingSpeaker(SpeakerBase):
    """What every synthesising Speaker shares: the output device, playback with real start and
    finish times, interruption (`stop`), the `started` signal and `prepare`.

    Subclasses implement `_render(text)`: the sample rate and the audio pieces (one piece for
    pyttsx3; one per sentence for a neural voice, produced while earlier ones play).
    """

    def __init__(self, device: str | int | None = None) -> None:
        self.output_device = device
        self.stop = threading.Event()  # set from another thread to cut the question short
        # Set once the first samples of an utterance reach the device: start-up work (loading
        # Whisper and the judge) waits on it so it does not delay the first question.
        self.started = threading.Event()
        # Audio synthesised ahead of time by `prepare` (the likely follow-up, while the candidate
        # is still pausing), so `speak` can start playing at once.
        self._prepared: dict[str, _Prepared] = {}
        self._prepared_lock = threading.Lock()
        self.last: Playback | None = None  # the last utterance's playback (underruns, …)

    def _render(self, text: str) -> Rendering:
        raise NotImplementedError

    def prepare(self, text: str) -> None:
        """Synthesise `text` now so a later `speak(text)` starts without synthesis delay."""
        with self._prepared_lock:
            if text in self._prepared:
                return
            while len(self._prepared) >= 8:  # only the last few guesses matter
                self._prepared.pop(next(iter(self._prepared)))
            job = self._prepared[text] = _Prepared()
        try:
            rendering = self._render(text)
            job.audio = (rendering.sample_rate, list(rendering.pieces))
        finally:
            job.done.set()  # a failure leaves audio None: speak() synthesises and reports it

    def speak(self, text: str) -> SpeechResult:
        """Say `text`; return after it has been played, with when and where it was played."""
        from interviewer.audio.devices import resolve
        from interviewer.audio.player import play_pieces

        # Resolve first: a missing device should be reported before any synthesis work.
        device = resolve(self.output_device, "output")
        with self._prepared_lock:
            job = self._prepared.pop(text, None)
        if job is not None:
            job.done.wait(_SYNTH_TIMEOUT_S)  # a preparation in progress finishes sooner
        ready = job.audio if job is not None else None
        rendering = (Rendering(ready[0], iter(ready[1])) if ready is not None
                     else self._render(text))
        self.stop.clear()
        pb = self.last = play_pieces(rendering.pieces, rendering.sample_rate, device,
                                     stop=self.stop, started=self.started)
        return SpeechResult(text=text, device=pb.device, started_at=pb.started_at,
                            finished_at=pb.finished_at, duration_s=pb.seconds_played)


class Pyttsx3Speaker(PlayingSpeaker):
    """Speaker protocol: synthesise with pyttsx3/espeak-ng, play on the chosen output device."""

    engine = "pyttsx3"

    def __init__(self, device: str | int | None = None, *, voice: str | None = None,
                 rate: int | None = None) -> None:
        super().__init__(device)
        self.voice = voice
        self.rate = rate

    def _render(self, text: str) -> Rendering:
        # espeak-ng synthesises a question in ~20 ms: one piece, synthesised before playing.
        audio, sr = synthesize(text, voice=self.voice, rate=self.rate)
        return Rendering(sr, iter([audio]))


class PrintSpeaker:
    """Speaker protocol for --no-tts: print the question instead of speaking it."""

    engine = "print"

    def __init__(self, stream: TextIO | None = None, *, prefix: str = "Interviewer: ") -> None:
        self.stream = stream
        self.prefix = prefix

    def speak(self, text: str) -> SpeechResult:
        """Print `text` (to the given stream, else stdout) and return at once."""
        import sys

        now = time.monotonic()
        print(f"{self.prefix}{text}", file=self.stream or sys.stdout, flush=True)
        return SpeechResult(text=text, started_at=now, finished_at=now, printed_only=True)
