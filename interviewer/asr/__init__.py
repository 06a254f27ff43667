"""Speech recognition: Whisper engines behind the `Transcriber` protocol.

`make_transcriber` imports the chosen engine module only when called, so importing this package
never loads torch, whisper or CTranslate2.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from interviewer.asr.prompt import build_prompt
from interviewer.errors import UsageError
from interviewer.protocols import Transcriber

#: engine name → (module, class). openai-whisper is the product's default engine.
ENGINES: dict[str, tuple[str, str]] = {
    "openai-whisper": ("interviewer.asr.openai_whisper", "OpenAIWhisperTranscriber"),
    "faster-whisper": ("interviewer.asr.faster_whisper", "FasterWhisperTranscriber"),
}
DEFAULT_ENGINE = "openai-whisper"
DEFAULT_MODEL = "tiny.en"

__all__ = ["DEFAULT_ENGINE", "DEFAULT_MODEL", "ENGINES", "build_prompt", "make_transcriber"]


def make_transcriber(engine: str = DEFAULT_ENGINE, model: str = DEFAULT_MODEL,
                     threads: int | None = None, *, models_dir: Path,
                     progress: Callable[[str], None] | None = None) -> Transcriber:
    """Build a Transcriber for `engine` and `model`.

    `threads`: the engine's CPU threads, by default the process's engine threads
    (`interviewer.runtime.set_engine_threads`, called at session or command start; torch's pool
    is process-wide, so openai-whisper always runs on those). Keep 1 while anything else runs
    (recording, TTS, the judge); oversubscribed cores made openai-whisper several times slower
    here. `models_dir` is where provisioned weights live (`Environment.models_dir`); `progress`
    receives one-line messages when weights are converted on first use.
    """
    if engine not in ENGINES:
        raise UsageError(f"unknown ASR engine {engine!r}",
                         hint=f"choose one of: {', '.join(ENGINES)}")
    if threads is None:
        from interviewer.runtime import engine_threads

        threads = engine_threads()
    modname, clsname = ENGINES[engine]
    cls = getattr(importlib.import_module(modname), clsname)
    transcriber: Transcriber = cls(model, models_dir=models_dir, threads=threads,
                                   progress=progress)
    return transcriber
