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
training sample; `fit_fusion`), never on what is reported.

A point the embedded judge finds only denied earns nothing whatever the LLM says; the evidence
for a credited point is the embedded judge's best span (no extra LLM call), falling back to the
sentence the LLM picks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from interviewer.bank.models import BankEntry
from interviewer.judge.embedded import EmbeddedJudge
from interviewer.judge.llama_cpp_backend import LlamaCppJudge
from interviewer.protocols import Judge, JudgeInfo, RawVerdict, Status

Method = Literal["zmean", "logistic", "veto"]
_EPS = 1e-4


def logit(p: float) -> float:
    """log(p / (1 - p)) with p clipped away from 0 and 1."""
    p = min(1.0 - _EPS, max(_EPS, p))
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class FusionCalibration:
    """How two probabilities become one score, and the score thresholds for partial/covered.

    `zmean`: params = (mean_e, sd_e, mean_l, sd_l) of the logits; score = mean of the z-scores.
    `logistic`: params = (w_e, w_l, bias); score = sigmoid(w_e*logit_e + w_l*logit_l + bias).
    `veto`: params = (t_llm,); score = the embedded probability, or 0 when the LLM's P(yes) is
    below t_llm — the LLM can only withdraw credit (a denied or misused keyword), never add it.
    """

    method: Method
    params: tuple[float, ...]
    t_partial: float
    t_covered: float
    source: str = ""

    def score(self, p_embedded: float, p_llm: float) -> float:
        if self.method == "veto":
            return p_embedded if p_llm >= self.params[0] else 0.0
        le, ll = logit(p_embedded), logit(p_llm)
        if self.method == "zmean":
            me, se, ml, sl = self.params
            return ((le - me) / se + (ll - ml) / sl) / 2.0
        we, wl, b = self.params
        return 1.0 / (1.0 + math.exp(-max(-700.0, min(700.0, we * le + wl * ll + b))))

    def status(self, score: float) -> Status:
        if score >= self.t_covered:
            return "covered"
        return "partial" if score >= self.t_partial else "missing"

    def confidence(self, score: float) -> float:
        """The score as a 0..1 number for display (z-scores through a logistic)."""
        if self.method in ("logistic", "veto"):
            return score
        return 1.0 / (1.0 + math.exp(-max(-700.0, min(700.0, 1.7 * score))))


#: Fitted by benchmarks/judge_llm.py on the dev set's train questions only. `veto` was chosen
#: by the held-out measurement: per-point F1 .853 (P .91, R .80) against .820 for `logistic`
#: and .804 for `zmean`, and the fewest credited negated/wrong points (2 and 4 of 28).
DEFAULT_FUSION = FusionCalibration(method="veto", params=(0.6138,), t_partial=0.3721,
                                   t_covered=0.3721, source="judge_devset.yaml train split")


# ----------------------------------------------------------------------------- fitting
def best_threshold(scores: np.ndarray, gold: np.ndarray, objective: str = "f1") -> float:
    """The threshold maximising F1 of the credited class (`objective="f1"`) or the mean F1 of
    both classes (`"macro_f1"`); ties go to the lowest such threshold."""
    best, best_t = -1.0, float(scores.max(initial=0.0))
    for t in np.unique(scores):
        pred = scores >= t
        tp = int((pred & gold).sum())
        fp = int((pred & ~gold).sum())
        fn = int((~pred & gold).sum())
        tn = len(gold) - tp - fp - fn
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        if objective == "macro_f1":
            f1 = (f1 + 2 * tn / max(1, 2 * tn + fn + fp)) / 2
        if f1 > best:
            best, best_t = f1, float(t)
    return best_t


def covered_threshold(scores: np.ndarray, gold: Sequence[Status], t_partial: float) -> float:
    """Among credited predictions, the threshold that best separates covered from partial."""
    cov = np.array([g == "covered" for g in gold])
    cred = (scores >= t_partial) & (cov | np.array([g == "partial" for g in gold]))
    if not cred.any() or cov[cred].all():
        return t_partial
    best, best_t = -1, t_partial
    for t in np.unique(scores[cred]):
        acc = int(((scores[cred] >= t) == cov[cred]).sum())
        if acc > best:
            best, best_t = acc, float(t)
    return max(best_t, t_partial)


def _logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.1, iters: int = 100) -> np.ndarray:
    """Two-feature L2 logistic regression by Newton's method; returns (w..., bias)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = l2 * np.diag(np.r_[np.ones(xb.shape[1] - 1), 0.0])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        step = np.linalg.solve((xb * (p * (1 - p))[:, None]).T @ xb + reg,
                               xb.T @ (p - y) + reg @ w)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w


def fit_fusion(p_embedded: Sequence[float], p_llm: Sequence[float], gold: Sequence[Status],
               method: Method, source: str = "", objective: str = "f1") -> FusionCalibration:
    """Fit a fusion on training rows: one (embedded prob, LLM prob, gold status) per point."""
    le = np.array([logit(p) for p in p_embedded])
    ll = np.array([logit(p) for p in p_llm])
    y = np.array([g != "missing" for g in gold])
    if method == "veto":
        return _fit_veto(np.array(p_embedded), np.array(p_llm), y, gold, source, objective)
    if method == "zmean":
        params: tuple[float, ...] = (float(le.mean()), float(le.std() or 1.0),
                                     float(ll.mean()), float(ll.std() or 1.0))
    else:
        w = _logistic(np.stack([le, ll], axis=1), y.astype(float))
        params = (float(w[0]), float(w[1]), float(w[2]))
    cal = FusionCalibration(method, tuple(round(v, 4) for v in params), 0.0, 0.0, source)
    scores = np.array([cal.score(a, b) for a, b in zip(p_embedded, p_llm, strict=True)])
    t_p = best_threshold(scores, y, objective)
    t_c = covered_threshold(scores, gold, t_p)
    return FusionCalibration(method, cal.params, round(t_p, 4), round(t_c, 4), source)


def _fit_veto(pe: np.ndarray, pl: np.ndarray, y: np.ndarray, gold: Sequence[Status],
              source: str, objective: str) -> FusionCalibration:
    """The embedded thresholds, and the LLM cut-off below which credit is withdrawn."""
    t_e = best_threshold(pe, y, objective)
    best, best_v = -1.0, 0.0
    for v in np.r_[0.0, np.unique(pl)]:
        pred = (pe >= t_e) & (pl >= v)
        tp, fp = int((pred & y).sum()), int((pred & ~y).sum())
        fn, tn = int((~pred & y).sum()), int((~pred & ~y).sum())
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        if objective == "macro_f1":
            f1 = (f1 + 2 * tn / max(1, 2 * tn + fn + fp)) / 2
        if f1 > best + 1e-9:
            best, best_v = f1, float(v)
    cal = FusionCalibration("veto", (round(best_v, 4),), 0.0, 0.0, source)
    scores = np.array([cal.score(a, b) for a, b in zip(pe, pl, strict=True)])
    return FusionCalibration("veto", cal.params, round(t_e, 4),
                             round(covered_threshold(scores, gold, t_e), 4), source)


# ----------------------------------------------------------------------------- the judge
@dataclass
class FusedJudge:
    """A `Judge` combining an `EmbeddedJudge` and a `LlamaCppJudge` (see module docstring)."""

    embedded: EmbeddedJudge
    llm: LlamaCppJudge
    calibration: FusionCalibration = DEFAULT_FUSION
    info: JudgeInfo = field(default_factory=lambda: JudgeInfo(backend="fused", model=""))

    def __post_init__(self) -> None:
        if not self.info.model:
            self.info = JudgeInfo(backend="fused",
                                  model=f"{self.llm.info.model}+{self.embedded.info.model}")

    @property
    def log(self) -> list[dict[str, Any]]:
        """The LLM's prompt/response log (the session drains and stores it)."""
        return self.llm.log

    def probabilities(self, entry: BankEntry, transcript: str,
                      ) -> list[tuple[float, float, bool, tuple[int, int] | None]]:
        """Per point: (embedded probability, LLM P(yes), denied, embedded best span)."""
        scores = self.embedded.score(entry, transcript)
        llm = self.llm.score(entry, transcript)
        return [(self.embedded.calibration.probability(ps.features), pl, ps.denied, ps.span)
                for ps, pl in zip(scores, llm, strict=True)]

    def classify(self, entry: BankEntry, transcript: str) -> list[RawVerdict]:
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
        return out


def make_offline_llm_judge(models_dir: Path, kind: Literal["llama-cpp", "fused"] = "fused", *,
                           model_path: str | Path | None = None, threads: int | None = None,
                           refine: bool = False, load: bool = True) -> Judge:
    """Build the offline LLM judge: `llama-cpp` alone or `fused` with the embedded judge.

    `load`: load the GGUF now, so a missing model or library fails here (ModelNotInstalled /
    EngineUnavailable) rather than mid-session. `refine`: wrap it as the slow half of a
    `RefiningJudge` whose fast half is the embedded judge. The two halves share one embedding
    model (it is thread-safe and caches spans, so the slow half reuses the fast half's work),
    and the LLM gets one thread unless told otherwise: it runs while the candidate answers the
    follow-up, and the other core belongs to recording and streaming transcription.
    """
    from interviewer.judge.llama_cpp_backend import ENV_THREADS, default_threads

    if threads is None:
        threads = 1 if refine and ENV_THREADS not in os.environ else default_threads()
    llm = LlamaCppJudge(models_dir, model_path=model_path, threads=threads)
    if load:
        llm.load()
    embedded = EmbeddedJudge()
    slow: Judge = llm if kind == "llama-cpp" else FusedJudge(embedded, llm)
    if not refine:
        return slow
    from interviewer.judge.refine import RefiningJudge

    return RefiningJudge(embedded, slow)
