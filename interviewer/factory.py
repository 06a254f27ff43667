"""Builds engine adapters by name, importing each engine only when it is asked for.

`bank`, `report`, `replay`, `sessions` and `progress` never call the heavy builders, so they
never import torch. `Warm` loads an engine on a background thread so the first question can be
spoken while Whisper and the judge load. This is the one place a session gets its engines from:
every engine comes back with the optional abilities the session uses declared (`SessionSpeaker`,
`SessionJudge` in `protocols.py`), so the session never probes an engine for them. The factory
sits below the session layer and never imports it.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Generic, TypeVar

from interviewer.bank.models import BankEntry
from interviewer.judge.llm_log import ExchangeSink
from interviewer.protocols import (
    Classification,
    Judge,
    JudgeBase,
    JudgeInfo,
    Judgement,
    Player,
    Recorder,
    SessionJudge,
    SessionSpeaker,
    Speaker,
    SpeakerBase,
    SpeechResult,
    Transcriber,
)

T = TypeVar("T")


class Warm(Generic[T]):
    """Start building an engine in the background (after `after` is set, or `max_wait_s`);
    calling the Warm returns the engine, waiting only if it is still loading."""

    def __init__(self, build: Callable[[], T], name: str, *,
                 after: threading.Event | None = None, max_wait_s: float = 3.0) -> None:
        self.name = name
        self._after, self._max_wait_s = after, max_wait_s
        self._value: T | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(build,), daemon=True,
                                        name=f"warm-{name}")
        self._thread.start()

    def _run(self, build: Callable[[], T]) -> None:
        # Loading engines holds the GIL for long stretches (imports, weights): let the first
        # question start playing before competing with it.
        if self._after is not None:
            self._after.wait(self._max_wait_s)
        try:
            self._value = build()
        except BaseException as exc:  # re-raised in the caller's thread
            self._error = exc
        finally:
            self._done.set()

    def ready(self) -> bool:
        return self._done.is_set()

    def __call__(self) -> T:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


class Ready(Generic[T]):
    """An engine already built, in the shape of a `Warm` (`ready()` at once)."""

    def __init__(self, value: T) -> None:
        self._value = value

    def ready(self) -> bool:
        return True

    def __call__(self) -> T:
        return self._value


class PlainSpeaker(SpeakerBase):
    """A `Speaker` without optional abilities, given the declared defaults (`SpeakerBase`)."""

    def __init__(self, speaker: Speaker, engine: str) -> None:
        self.inner, self.engine = speaker, engine

    def speak(self, text: str) -> SpeechResult:
        """Say (or print) `text` with the wrapped speaker."""
        return self.inner.speak(text)


def make_speaker(*, no_tts: bool, output_device: str | None = None, voice: str | None = None,
                 rate: int | None = None, tts: str | None = None,
                 models_dir: Path | None = None) -> SessionSpeaker:
    """The question voice: `tts` "piper" or "pyttsx3"; None = the Piper voice when installed
    (and `voice` does not name an espeak voice), else pyttsx3. `no_tts` prints instead."""
    if no_tts:
        from interviewer.audio.speaker import PrintSpeaker

        return PlainSpeaker(PrintSpeaker(), "print")
    from interviewer.audio.piper_speaker import choose_tts

    if models_dir is None:
        from interviewer.env import default_models_dir

        models_dir = default_models_dir()
    from interviewer.audio.speaker import Pyttsx3Speaker

    if choose_tts(tts, voice, models_dir) == "piper":
        from interviewer.audio.piper_speaker import PiperSpeaker

        # Chosen by default (no --tts): pyttsx3 speaks if the installed voice fails to load.
        fallback = Pyttsx3Speaker(device=output_device, rate=rate) if tts is None else None
        return PiperSpeaker(device=output_device, models_dir=models_dir, voice=voice, rate=rate,
                            fallback=fallback)
    return Pyttsx3Speaker(device=output_device, voice=voice, rate=rate)


def make_recorder(*, input_device: str | None, silence_s: float, max_s: float,
                  no_answer_s: float, interactive: bool,
                  answers_from: Path | None = None) -> Recorder:
    if answers_from is not None:
        from interviewer.audio.file_recorder import FileRecorder

        return FileRecorder(answers_from)
    from interviewer.audio.recorder import SoundDeviceRecorder

    return SoundDeviceRecorder(device=input_device, silence_s=silence_s, max_s=max_s,
                               no_answer_s=no_answer_s, enter_ends=interactive)


def limit_answer_length(recorder: Recorder, max_s: float) -> Recorder:
    """`recorder` ending each answer at `max_s` seconds (an interview answer's hard cap): the
    microphone recorder is copied with that maximum; a recorder replaying files is returned
    as it is (its answers are as long as the files)."""
    from interviewer.audio.recorder import SoundDeviceRecorder

    if not isinstance(recorder, SoundDeviceRecorder):
        return recorder
    capped = copy.copy(recorder)
    capped.config = dataclasses.replace(recorder.config, max_s=max_s)
    return capped


def make_player(*, output_device: str | None = None) -> Player:
    from interviewer.audio.player import SoundDevicePlayer

    return SoundDevicePlayer(device=output_device)


def make_transcriber(*, engine: str, model: str, models_dir: Path,
                     threads: int | None = None) -> Transcriber:
    """The speech recogniser; `threads` defaults to the process's engine threads
    (`interviewer.runtime`, set at session or command start)."""
    from interviewer.asr import make_transcriber as build

    return build(engine=engine, model=model, threads=threads, models_dir=models_dir)


def make_judge(*, backend: str, model: str | None = None, refine: bool = False,
               log: ExchangeSink | None = None, models_dir: Path | None = None) -> SessionJudge:
    """The judge backend (`interviewer.judge.make_judge`) with its optional abilities declared;
    `log` receives every LLM exchange (the session's llm_calls.jsonl); `models_dir` is where
    the offline LLM's weights live (`Environment.models_dir`)."""
    from interviewer.judge import make_judge as build
    from interviewer.judge.llm_log import NULL_SINK

    return declare_judge(build(backend=backend, model=model, refine=refine,
                               log=log or NULL_SINK, models_dir=models_dir))


def declare_judge(judge: Judge) -> SessionJudge:
    """`judge` with the abilities the session uses declared: a backend that subclasses
    `JudgeBase` declares its own; any other is wrapped in a `DeclaredJudge`."""
    if isinstance(judge, JudgeBase):
        return judge  # a Judge that is a JudgeBase has every SessionJudge member
    return DeclaredJudge(judge)


class DeclaredJudge(JudgeBase):
    """A backend that does not subclass `JudgeBase` (yet), its abilities declared here by its
    concrete type, so every call below is type-checked against the backend (a renamed method
    is a mypy error, not speculation silently switched off). Any other backend gets the
    defaults: not speculative, no background review."""

    def __init__(self, judge: Judge) -> None:
        from interviewer.judge.embedded import EmbeddedJudge
        from interviewer.judge.refine import RefiningJudge
        from interviewer.judge.verifier import VerifierJudge

        self.inner = judge
        self._embedded = judge if isinstance(judge, EmbeddedJudge) else None
        self._refining = judge if isinstance(judge, RefiningJudge) else None
        verifier = judge if isinstance(judge, VerifierJudge) else None
        self.speculative = any(j is not None and j.speculative
                               for j in (self._embedded, self._refining, verifier))
        self.refines = self._refining is not None

    @property
    def info(self) -> JudgeInfo:
        """The wrapped backend's description."""
        return self.inner.info

    @info.setter
    def info(self, value: JudgeInfo) -> None:
        self.inner.info = value

    def classify(self, entry: BankEntry, transcript: str) -> Classification:
        """The wrapped backend's classification."""
        return self.inner.classify(entry, transcript)

    def warm(self, entry: BankEntry, transcript: str) -> None:
        """Let the backend encode an answer still being given (embedded; refining's fast pass)."""
        if self._embedded is not None:
            self._embedded.warm(entry, transcript)
        elif self._refining is not None:
            self._refining.warm(entry, transcript)

    def done(self, entry: BankEntry, transcript: str) -> bool:
        """Is the background review of this answer finished (or never started)?"""
        return self._refining.done(entry, transcript) if self._refining else True

    def refined(self, entry: BankEntry, transcript: str,
                timeout: float | None = None) -> Classification | None:
        """Wait for the background review's classification."""
        return self._refining.refined(entry, transcript, timeout) if self._refining else None

    def refine(self, judgement: Judgement, entry: BankEntry, transcript: str,
               asked_follow_ups: Iterable[str] = (), timeout: float | None = None) -> Judgement:
        """`judgement` rebuilt from the background review (unchanged without one)."""
        if self._refining is None:
            return judgement
        return self._refining.refine(judgement, entry, transcript, asked_follow_ups, timeout)

    def close(self, wait: bool = True) -> None:
        """Stop the background review's worker, if any."""
        if self._refining is not None:
            self._refining.close(wait=wait)
