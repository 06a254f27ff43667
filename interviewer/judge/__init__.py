"""The rubric judge: backends behind the `Judge` protocol, and the policy that trusts none of them.

`make_judge` builds a backend (adapters are imported lazily, so importing this package never
loads torch or talks to a server); `policy.assess` is what the session loop calls.
"""

from __future__ import annotations

from typing import Literal

from interviewer.errors import EngineUnavailable, InterviewerError, UsageError
from interviewer.protocols import Judge

Backend = Literal["auto", "embedded", "ollama", "llama-cpp", "fused"]
BACKENDS: tuple[str, ...] = ("auto", "embedded", "ollama", "llama-cpp", "fused")
AUTO_PROBE_TIMEOUT_S = 3.0
#: The offline LLM configuration `auto` uses when installed (chosen by benchmarks/judge_llm.py).
AUTO_OFFLINE_KIND = "fused"


def make_judge(backend: str = "auto", model: str | None = None, *,
               host: str | None = None, timeout: float | None = None,
               refine: bool = False) -> Judge:
    """Build a judge.

    - `embedded`: the offline sentence-embedding judge (`model` is ignored; it has one model).
    - `llama-cpp` / `fused`: the offline 1.5B LLM (`interviewer models install judge`) alone or
      fused with the embeddings; `model` may name another GGUF file.
    - `ollama`: the LLM judge on an Ollama server (`model` defaults to a 7B instruct model);
      raises `EngineUnavailable`/`ModelNotInstalled` now if the server or model is missing, and
      falls back to the embedded judge for any answer the server fails on later.
    - `auto`: Ollama if the server answers and has the model; else the fused offline LLM if it
      is installed; else embedded. `info.note` says which was chosen and why.

    `refine` (practice sessions): an offline LLM chosen by `auto` runs as the slow half of a
    `RefiningJudge`, so the follow-up comes from the fast embedded pass at once and the LLM's
    verdicts replace it in the background.
    """
    if backend not in BACKENDS:
        raise UsageError(f"unknown judge backend {backend!r}",
                         hint=f"use one of: {', '.join(BACKENDS)}")
    if backend == "embedded":
        from interviewer.judge.embedded import EmbeddedJudge

        return EmbeddedJudge()
    if backend in ("llama-cpp", "fused"):
        return _offline_llm(backend, model, refine=False)

    from interviewer.judge.embedded import EmbeddedJudge
    from interviewer.judge.ollama_backend import DEFAULT_MODEL, DEFAULT_TIMEOUT_S, OllamaJudge

    llm = OllamaJudge(model or DEFAULT_MODEL, host=host, timeout=timeout or DEFAULT_TIMEOUT_S,
                      fallback=EmbeddedJudge)
    if backend == "ollama":
        llm.check()
        return llm
    # auto: a short probe so a missing server costs seconds, not the full request timeout.
    probe = OllamaJudge(llm.model, host=host, timeout=AUTO_PROBE_TIMEOUT_S)
    try:
        probe.check()
    except EngineUnavailable as exc:
        return _auto_offline(f"{exc}", refine=refine)
    llm.info.note = llm.base_info.note = f"Ollama at {llm.host} has {llm.model}; using it"
    return llm


def _offline_llm(kind: str, model: str | None, *, refine: bool) -> Judge:
    from interviewer.env import Environment
    from interviewer.judge.fused import make_offline_llm_judge

    return make_offline_llm_judge(Environment().models_dir, "fused" if kind == "fused" else
                                  "llama-cpp", model_path=model, refine=refine)


def _auto_offline(why_not_ollama: str, *, refine: bool) -> Judge:
    """`auto` without Ollama: the fused offline LLM when installed, else the embedded judge."""
    from interviewer.env import Environment
    from interviewer.judge.embedded import EmbeddedJudge
    from interviewer.judge.llama_cpp_backend import available

    if available(Environment().models_dir):
        try:
            judge = _offline_llm(AUTO_OFFLINE_KIND, None, refine=refine)
        except InterviewerError as exc:  # installed but unusable: say so, keep going
            fallback = EmbeddedJudge()
            fallback.info.note = f"using the offline embedded judge: {exc}"
            return fallback
        how = "refining the embedded first pass in the background" if refine else "judging"
        judge.info.note = (f"no Ollama ({why_not_ollama}); the offline {AUTO_OFFLINE_KIND} LLM "
                           f"judge is installed: {how}")
        return judge
    judge = EmbeddedJudge()
    judge.info.note = (f"using the offline embedded judge: {why_not_ollama}; "
                       "`interviewer models install judge` adds the offline LLM judge")
    return judge


__all__ = ["BACKENDS", "Backend", "make_judge"]
