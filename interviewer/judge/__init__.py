"""The rubric judge: backends behind the `Judge` protocol, and the policy that trusts none of them.

`make_judge` builds a backend (adapters are imported lazily, so importing this package never
loads torch or talks to a server); `policy.assess` is what the session loop calls.
"""

from __future__ import annotations

from typing import Literal

from interviewer.errors import EngineUnavailable, UsageError
from interviewer.protocols import Judge

Backend = Literal["auto", "embedded", "ollama", "llama-cpp", "fused"]
BACKENDS: tuple[str, ...] = ("auto", "embedded", "ollama", "llama-cpp", "fused")
AUTO_PROBE_TIMEOUT_S = 3.0


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
    - `auto`: Ollama if the server answers and has the model, else the embedded judge.
      `info.note` says which was chosen and why. (The offline LLM is not chosen by `auto`:
      measured on the dev set's held-out questions it is less accurate than the embedded judge,
      see README "Judging"; it stays one flag away.)

    `refine` (practice sessions): an offline LLM runs as the slow half of a `RefiningJudge`, so
    the follow-up comes from the fast embedded pass at once and the LLM's verdicts are stored
    when ready.
    """
    if backend not in BACKENDS:
        raise UsageError(f"unknown judge backend {backend!r}",
                         hint=f"use one of: {', '.join(BACKENDS)}")
    if backend == "embedded":
        from interviewer.judge.embedded import EmbeddedJudge

        return EmbeddedJudge()
    if backend in ("llama-cpp", "fused"):
        from interviewer.env import Environment
        from interviewer.judge.fused import make_offline_llm_judge

        return make_offline_llm_judge(Environment().models_dir, "fused" if backend == "fused"
                                      else "llama-cpp", model_path=model, refine=refine)

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
        judge = EmbeddedJudge()
        judge.info.note = f"using the offline embedded judge: {exc}"
        if _offline_llm_installed():
            judge.info.note += ("; the offline LLM judge is installed but measured less "
                                "accurate here: --judge fused to have it review answers")
        return judge
    llm.info.note = llm.base_info.note = f"Ollama at {llm.host} has {llm.model}; using it"
    return llm


def _offline_llm_installed() -> bool:
    from interviewer.env import Environment
    from interviewer.judge.llama_cpp_backend import available

    return available(Environment().models_dir)


__all__ = ["BACKENDS", "Backend", "make_judge"]
