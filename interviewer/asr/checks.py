"""The ASR section of `interviewer doctor`: engines installed, weights provisioned and loadable."""

from __future__ import annotations

import importlib.metadata
import importlib.util

import numpy as np

from interviewer.checks import CheckResult
from interviewer.env import Environment
from interviewer.errors import InterviewerError

_ENGINES = {"openai-whisper": "whisper", "faster-whisper": "faster_whisper"}


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def checks(env: Environment) -> list[CheckResult]:
    """Run the ASR checks (never raises)."""
    from interviewer import provision

    out: list[CheckResult] = []
    for dist, module in _ENGINES.items():
        present = importlib.util.find_spec(module) is not None
        out.append(CheckResult(
            dist, present, _version(dist) if present else "not installed",
            None if present else "run .ci/install (or pip install the project)",
            required=dist == "openai-whisper",
        ))
    for entry in provision.entries():
        if entry.kind != "whisper":
            continue
        default = entry.name == "whisper-tiny.en"
        if entry.installed(env.models_dir):
            out.append(CheckResult(f"{entry.name} weights", True, str(entry.path(env.models_dir)),
                                   required=default))
        elif entry.sources_present():
            out.append(CheckResult(f"{entry.name} weights", True,
                                   "packaged; converted automatically on first use",
                                   required=default))
        else:
            out.append(CheckResult(f"{entry.name} weights", False if default else None,
                                   "not installed", f"interviewer models install {entry.name}",
                                   required=default))
    out.append(_smoke(env))
    return out


def _smoke(env: Environment) -> CheckResult:
    """Load faster-whisper tiny.en (fast) and check that two seconds of hiss stay empty.

    Loud white noise passes the VAD, so this really runs the decoder and the no-speech gate.
    """
    if importlib.util.find_spec("faster_whisper") is None:
        return CheckResult("ASR smoke test", None, "faster-whisper not installed", required=False)
    try:
        from interviewer.asr import make_transcriber

        tr = make_transcriber("faster-whisper", "tiny.en", threads=1, models_dir=env.models_dir)
        noise = np.random.default_rng(0).standard_normal(32_000) * 0.1
        result = tr.transcribe(noise.astype(np.float32))
    except InterviewerError as exc:
        return CheckResult("ASR smoke test", False, exc.message, exc.hint, required=False)
    ok = result.no_speech and not result.text
    detail = "noise gives an empty transcript" if ok else f"noise gave {result.text!r}"
    return CheckResult("ASR smoke test", ok, detail, required=False)
