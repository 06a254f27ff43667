"""Builds engine adapters by name, importing each engine only when it is asked for.

`bank`, `report`, `replay`, `sessions` and `progress` never call the heavy builders, so they
never import torch. `Warm` loads an engine on a background thread so the first question can be
spoken while Whisper and the judge load.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from interviewer.judge.llm_log import ExchangeSink
from interviewer.protocols import Judge, Player, Recorder, Speaker, Transcriber

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


def make_speaker(*, no_tts: bool, output_device: str | None = None, voice: str | None = None,
                 rate: int | None = None) -> Speaker:
    if no_tts:
        from interviewer.audio.speaker import PrintSpeaker

        return PrintSpeaker()
    from interviewer.audio.speaker import Pyttsx3Speaker

    return Pyttsx3Speaker(device=output_device, voice=voice, rate=rate)


def make_recorder(*, input_device: str | None, silence_s: float, max_s: float,
                  no_answer_s: float, interactive: bool,
                  answers_from: Path | None = None) -> Recorder:
    if answers_from is not None:
        from interviewer.session.file_recorder import FileRecorder

        return FileRecorder(answers_from)
    from interviewer.audio.recorder import SoundDeviceRecorder

    return SoundDeviceRecorder(device=input_device, silence_s=silence_s, max_s=max_s,
                               no_answer_s=no_answer_s, enter_ends=interactive)


def make_player(*, output_device: str | None = None) -> Player:
    from interviewer.audio.player import SoundDevicePlayer

    return SoundDevicePlayer(device=output_device)


def make_transcriber(*, engine: str, model: str, models_dir: Path,
                     threads: int = 1) -> Transcriber:
    from interviewer.asr import make_transcriber as build

    return build(engine=engine, model=model, threads=threads, models_dir=models_dir)


def make_judge(*, backend: str, model: str | None = None, refine: bool = False,
               log: ExchangeSink | None = None) -> Judge:
    """The judge backend; `log` receives every LLM exchange (the session's llm_calls.jsonl)."""
    from interviewer.judge import make_judge as build
    from interviewer.judge.llm_log import NULL_SINK

    return build(backend=backend, model=model, refine=refine, log=log or NULL_SINK)
