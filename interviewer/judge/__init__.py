"""The rubric judge: backends behind the `Judge` protocol, and the policy that trusts none of them.

`make_judge` builds a backend (adapters are imported lazily, so importing this package never
loads torch or llama.cpp, and never talks to a server); `policy.assess` is what the session loop
calls. `BACKENDS` is the one list of backend names (CLI choices, docs and checks use it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from interviewer.errors import EngineUnavailable, UsageError
from interviewer.judge.llm_log import NULL_SINK, ExchangeSink
from interviewer.protocols import Judge

Backend = Literal["auto", "verifier", "embedded", "ollama", "openai", "llama-cpp", "fused"]
BACKENDS: tuple[str, ...] = get_args(Backend)
#: What `auto` means, for every command's --help.
JUDGE_HELP = ("auto = Ollama when it answers and has the model, else an OpenAI-compatible server "
              "when OPENAI_BASE_URL is set and answers, else the offline judge")
AUTO_PROBE_TIMEOUT_S = 3.0
ENV_OPENAI_BASE_URL = "OPENAI_BASE_URL"  # as every OpenAI client reads it


def make_judge(backend: str = "auto", model: str | None = None, *,
               host: str | None = None, timeout: float | None = None,
               refine: bool = False, log: ExchangeSink = NULL_SINK,
               models_dir: Path | None = None) -> Judge:
    """Build a judge.

    - `verifier`: the trained rubric-point verifier (offline, ONNX).
    - `embedded`: the offline sentence-embedding judge (`model` is ignored).
    - `llama-cpp` / `fused`: the offline 1.5B LLM (`interviewer models install judge`) alone or
      fused with the embeddings, in a worker process; `model` may name another GGUF file.
    - `ollama`: the JSON-prompt LLM judge on an Ollama server (`host`/OLLAMA_HOST).
    - `openai`: the same judge on an OpenAI-compatible server (OPENAI_BASE_URL, OPENAI_API_KEY;
      `model` defaults to the server's only model).
    - `auto`: Ollama if it answers and has the model, else an OpenAI-compatible server if
      OPENAI_BASE_URL is set and answers, else the offline default; `info.note` says why.

    Server backends raise `EngineUnavailable`/`ModelNotInstalled` now if the server or model is
    missing, and fall back to the offline judge for any answer they fail on later. `log`
    receives every LLM exchange. `refine` (practice sessions): an offline LLM runs as the slow
    half of a `RefiningJudge`, so the candidate never waits for it. `models_dir`: where the
    offline LLM's weights live (`Environment.models_dir`; default: `env.default_models_dir()`).
    """
    if backend not in BACKENDS:
        raise UsageError(f"unknown judge backend {backend!r}",
                         hint=f"use one of: {', '.join(BACKENDS)}")
    if models_dir is None:
        from interviewer.env import default_models_dir

        models_dir = default_models_dir()
    if backend == "auto":
        choice = choose_auto(model, host=host, models_dir=models_dir)
        judge = _build(choice.backend, model, host=host, timeout=timeout, refine=refine, log=log,
                       models_dir=models_dir)
        judge.info.note = choice.reason
        return judge
    return _build(backend, model, host=host, timeout=timeout, refine=refine, log=log,
                  models_dir=models_dir)


def _build(backend: str, model: str | None, *, host: str | None, timeout: float | None,
           refine: bool, log: ExchangeSink, models_dir: Path | None = None) -> Judge:
    if backend == "embedded":
        from interviewer.judge.embedded import EmbeddedJudge

        return EmbeddedJudge()
    if backend == "verifier":
        from interviewer.judge.verifier import VerifierJudge

        return VerifierJudge()
    if backend in ("llama-cpp", "fused"):
        from interviewer.env import default_models_dir
        from interviewer.judge.fused import make_offline_llm_judge

        return make_offline_llm_judge(models_dir or default_models_dir(),
                                      "fused" if backend == "fused" else "llama-cpp",
                                      model_path=model, refine=refine, log=log)
    if backend == "openai":
        from interviewer.judge.openai_backend import DEFAULT_TIMEOUT_S, OpenAIJudge

        server = OpenAIJudge(model, url=host, timeout=timeout or DEFAULT_TIMEOUT_S,
                             fallback=offline_default, log=log)
        server.check()
        return server
    from interviewer.judge.ollama_backend import DEFAULT_MODEL, OllamaJudge
    from interviewer.judge.ollama_backend import DEFAULT_TIMEOUT_S as OLLAMA_TIMEOUT_S

    local = OllamaJudge(model or DEFAULT_MODEL, host=host, timeout=timeout or OLLAMA_TIMEOUT_S,
                        fallback=offline_default, log=log)
    local.check()
    return local


# ----------------------------------------------------------------------------- auto
@dataclass(frozen=True)
class AutoChoice:
    """What `--judge auto` picks here, and why (printed once per session and stored)."""

    backend: str
    reason: str


def verifier_available() -> bool:
    """Is the trained verifier shipped and loadable here (False until it exists)?"""
    try:
        from interviewer.judge.verifier import available
    except ImportError:
        return False
    return bool(available())


def offline_backend() -> str:
    """The offline default: the trained verifier when available, else the embedded judge."""
    return "verifier" if verifier_available() else "embedded"


def offline_default() -> Judge:
    """A fresh offline default judge (what server judges fall back to)."""
    return _build(offline_backend(), None, host=None, timeout=None, refine=False,
                  log=NULL_SINK)


def choose_auto(model: str | None = None, *, host: str | None = None,
                models_dir: Path | None = None) -> AutoChoice:
    """Ollama (answers and has the model) → an OpenAI-compatible server (OPENAI_BASE_URL set and
    answering) → the offline default. Each probe is short, so a missing server costs seconds."""
    from interviewer.judge.ollama_backend import DEFAULT_MODEL, OllamaJudge

    why: list[str] = []
    ollama = OllamaJudge(model or DEFAULT_MODEL, host=host, timeout=AUTO_PROBE_TIMEOUT_S)
    try:
        ollama.check()
        return AutoChoice("ollama", f"Ollama at {ollama.host} has {ollama.model}; using it")
    except EngineUnavailable as exc:
        why.append(str(exc))
    if os.environ.get(ENV_OPENAI_BASE_URL):
        from interviewer.judge.openai_backend import OpenAIJudge

        try:
            server = OpenAIJudge(model, timeout=AUTO_PROBE_TIMEOUT_S)
            server.check()
            return AutoChoice("openai", f"{server.transport.where} serves {server.model}; "
                                        "using it")
        except (EngineUnavailable, UsageError) as exc:
            why.append(str(exc))
    offline = offline_backend()
    reason = f"using the offline {offline} judge: {'; '.join(why)}"
    if _offline_llm_installed(models_dir):
        reason += ("; the offline LLM judge is installed but measured less accurate here: "
                   "--judge fused to have it review answers")
    return AutoChoice(offline, reason)


def _offline_llm_installed(models_dir: Path | None) -> bool:
    from interviewer.env import default_models_dir
    from interviewer.judge.llama_cpp_backend import available

    return available(models_dir or default_models_dir())


__all__ = ["BACKENDS", "JUDGE_HELP", "AutoChoice", "Backend", "choose_auto", "make_judge",
           "offline_backend"]
