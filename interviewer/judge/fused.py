"""The `fused` judge: the LLM's P(yes) and the embedded judge's probability, combined per point.

The two judges fail differently. Embeddings reward on-topic keywords even when they are denied or
misused; the LLM's yes/no logits push those down but miss some paraphrases the embeddings catch.
The two per-point probabilities are combined by one of

- `zmean`: the mean of their z-scores (each logit standardised by its mean and spread on the
  training rows),
- `logistic`: a two-feature logistic regression on the logits,
- `veto` (the default): the embedded verdict, withdrawn when the LLM's P(yes) is low — the LLM
  may only take credit away (a denied or misused keyword), never add it,

and the fused score is thresholded into covered/partial/missing. Means, spreads, weights and
thresholds are all fitted on training data only (the dev set's train questions and a SemEval-2013
training sample; `calibration.fit_fusion`), never on what is reported.

A point the embedded judge finds only denied earns nothing whatever the LLM says; the evidence
for a credited point is the embedded judge's best span (no extra LLM call), falling back to the
sentence the LLM picks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from interviewer.bank.models import BankEntry
from interviewer.judge.calibration import FusionCalibration
from interviewer.judge.embedded import EmbeddedJudge
from interviewer.judge.llama_cpp_backend import LlamaCppJudge, PointScorer
from interviewer.judge.llm_log import NULL_SINK, ExchangeSink
from interviewer.protocols import Classification, Judge, JudgeInfo, RawVerdict, Status

#: Fitted by benchmarks/judge_llm.py on the dev set's train questions only. `veto` was chosen
#: by the held-out measurement: per-point F1 .853 (P .91, R .80) against .820 for `logistic`
#: and .804 for `zmean`, and the fewest credited negated/wrong points (2 and 4 of 28).
DEFAULT_FUSION = FusionCalibration(method="veto", params=(0.6138,), t_partial=0.3721,
                                   t_covered=0.3721, source="judge_devset.yaml train split")


# ----------------------------------------------------------------------------- the judge
@dataclass
class FusedJudge:
    """A `Judge` combining an `EmbeddedJudge` and a `LlamaCppJudge` (see module docstring)."""

    embedded: EmbeddedJudge
    llm: PointScorer  # in-process, or a crash-isolated worker (judge/llm_worker.py)
    calibration: FusionCalibration = DEFAULT_FUSION
    info: JudgeInfo = field(default_factory=lambda: JudgeInfo(backend="fused", model=""))

    def __post_init__(self) -> None:
        if not self.info.model:
            self.info = JudgeInfo(backend="fused",
                                  model=f"{self.llm.info.model}+{self.embedded.info.model}")

    def probabilities(self, entry: BankEntry, transcript: str,
                      ) -> list[tuple[float, float, bool, tuple[int, int] | None]]:
        """Per point: (embedded probability, LLM P(yes), denied, embedded best span)."""
        scores = self.embedded.score(entry, transcript)
        llm = self.llm.score(entry, transcript)
        return [(self.embedded.calibration.probability(ps.features), pl, ps.denied, ps.span)
                for ps, pl in zip(scores, llm, strict=True)]

    def classify(self, entry: BankEntry, transcript: str) -> Classification:
        """One verdict per point from the fused score; evidence quoted from the transcript."""
        out = []
        for i, (p, (pe, pl, denied, span)) in enumerate(
                zip(entry.rubric.points, self.probabilities(entry, transcript), strict=True)):
            score = self.calibration.score(pe, pl)
            status: Status = "missing" if denied else self.calibration.status(score)
            evidence = None
            if status != "missing":
                if span is not None:
                    evidence = transcript[span[0] : span[1]]
                else:
                    evidence = self.llm.evidence(entry, transcript, i)
            out.append(RawVerdict(point_id=p.id, status=status, evidence=evidence,
                                  confidence=round(self.calibration.confidence(score), 4)))
        return Classification(verdicts=out, info=self.info.model_copy())

    def close(self) -> None:
        """Stop the LLM's worker process, if it runs in one."""
        close = getattr(self.llm, "close", None)
        if callable(close):
            close()


def make_offline_llm_judge(models_dir: Path, kind: Literal["llama-cpp", "fused"] = "fused", *,
                           model_path: str | Path | None = None, threads: int | None = None,
                           refine: bool = False, load: bool = True, isolate: bool = True,
                           log: ExchangeSink = NULL_SINK) -> Judge:
    """Build the offline LLM judge: `llama-cpp` alone or `fused` with the embedded judge.

    `isolate` (default): llama.cpp runs in a worker process (`judge/llm_worker.py`), so a crash
    in native code costs one answer's LLM verdicts, never the session. `load`: load the GGUF
    now, so a missing model or library fails here (ModelNotInstalled / EngineUnavailable)
    rather than mid-session. `refine`: the slow half of a `RefiningJudge` whose fast half is the
    embedded judge (a failed review keeps the fast verdicts); otherwise a failure at run time
    sends that answer to the embedded judge, saying so. The LLM gets one thread in a session
    unless told otherwise: it runs while the candidate answers the follow-up, and the other core
    belongs to recording and streaming transcription.
    """
    from interviewer.judge.llama_cpp_backend import ENV_THREADS, default_threads
    from interviewer.judge.llm_core import FallbackJudge

    if threads is None:
        threads = 1 if refine and ENV_THREADS not in os.environ else default_threads()
    llm: Any
    if isolate:
        from interviewer.judge.llm_worker import LlamaWorker

        llm = LlamaWorker(models_dir, model_path, threads=threads, log=log)
    else:
        llm = LlamaCppJudge(models_dir, model_path=model_path, threads=threads, log=log)
    if load:
        llm.load()
    embedded = EmbeddedJudge()
    slow: Judge = llm if kind == "llama-cpp" else FusedJudge(embedded, llm)
    if not refine:
        return FallbackJudge(slow, embedded)
    from interviewer.judge.refine import RefiningJudge

    return RefiningJudge(embedded, slow)
