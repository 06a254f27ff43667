"""Scores to statuses, and the offline fitting of the numbers that do it — in one place.

At run time every judge that turns a number into a status uses `status_for` (covered above
`t_covered`, partial above `t_partial`, else missing). Offline (benchmarks, `evaluate fit`) the
thresholds and weights come from `logistic_fit`, `best_threshold` and `covered_threshold`, fitted
on training rows only; `fit_fusion` fits the `fused` judge's combination. Nothing here is imported
by a session except `status_for` (numpy only, no model).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from interviewer.protocols import Status

Objective = Literal["f1", "macro_f1"]


def status_for(score: float, t_partial: float, t_covered: float) -> Status:
    """covered at or above `t_covered`, partial at or above `t_partial`, else missing."""
    if score >= t_covered:
        return "covered"
    return "partial" if score >= t_partial else "missing"


# ----------------------------------------------------------------------------- fusion
# The `fused` judge's combination of two probabilities (`judge/fused.py`), fitted below.
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
        return status_for(score, self.t_partial, self.t_covered)

    def confidence(self, score: float) -> float:
        """The score as a 0..1 number for display (z-scores through a logistic)."""
        if self.method in ("logistic", "veto"):
            return score
        return 1.0 / (1.0 + math.exp(-max(-700.0, min(700.0, 1.7 * score))))


# ----------------------------------------------------------------------------- fitting
def logistic_fit(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, iters: int = 100,
                 tol: float = 1e-9) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (bias unpenalised); returns the
    weights with the bias last."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = l2 * np.diag(np.r_[np.ones(xb.shape[1] - 1), 0.0])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        step = np.linalg.solve((xb * (p * (1 - p))[:, None]).T @ xb + reg,
                               xb.T @ (p - y) + reg @ w)
        w -= step
        if np.abs(step).max() < tol:
            break
    return w


def cuts(scores: np.ndarray) -> np.ndarray:
    """Candidate thresholds: below the lowest score, then midpoints between distinct scores
    (a midpoint survives the rounding of stored thresholds; a score itself may not)."""
    u = np.unique(scores)
    return np.r_[u[0] - 1e-3, (u[:-1] + u[1:]) / 2] if len(u) else np.array([0.5])


def _objective(pred: np.ndarray, gold: np.ndarray, objective: Objective) -> float:
    tp = int((pred & gold).sum())
    fp = int((pred & ~gold).sum())
    fn = int((~pred & gold).sum())
    tn = len(gold) - tp - fp - fn
    f_pos = 2 * tp / max(1, 2 * tp + fp + fn)
    if objective == "f1":
        return f_pos
    return (f_pos + 2 * tn / max(1, 2 * tn + fn + fp)) / 2


def best_threshold(scores: np.ndarray, gold: np.ndarray, objective: Objective = "f1") -> float:
    """The threshold maximising F1 of the credited class (`"f1"`) or the mean F1 of both
    classes (`"macro_f1"`); ties go to the lowest such threshold."""
    best, best_t = -1.0, 0.5
    for t in cuts(scores):
        val = _objective(scores >= t, gold, objective)
        if val > best + 1e-12:
            best, best_t = val, float(t)
    return best_t


def covered_threshold(scores: np.ndarray, gold: Sequence[Status], t_partial: float) -> float:
    """Among rightly credited rows, the threshold that best tells covered from partial (never
    below `t_partial`)."""
    cov = np.array([g == "covered" for g in gold])
    cred = (scores >= t_partial) & np.array([g != "missing" for g in gold])
    if not cred.any() or cov[cred].all():
        return t_partial
    best, best_t = -1, t_partial
    for t in cuts(scores[cred]):
        acc = int(((scores[cred] >= t) == cov[cred]).sum())
        if acc > best:
            best, best_t = acc, float(t)
    return max(best_t, t_partial)


# ----------------------------------------------------------------------------- fusion
def fit_fusion(p_embedded: Sequence[float], p_llm: Sequence[float], gold: Sequence[Status],
               method: Method, source: str = "", objective: Objective = "f1",
               ) -> FusionCalibration:
    """Fit the `fused` judge on training rows: one (embedded prob, LLM prob, gold) per point."""
    pe, pl = np.asarray(p_embedded, dtype=float), np.asarray(p_llm, dtype=float)
    y = np.array([g != "missing" for g in gold])
    if method == "veto":
        t_e = best_threshold(pe, y, objective)
        # Only rows the embedded judge credits can be vetoed; the others stay missing (-1).
        v = max(0.0, best_threshold(np.where(pe >= t_e, pl, -1.0), y, objective))
        return FusionCalibration("veto", (round(v, 4),), round(t_e, 4),
                                 round(covered_threshold(np.where(pl >= v, pe, 0.0), gold, t_e),
                                       4), source)
    le = np.array([logit(p) for p in pe])
    ll = np.array([logit(p) for p in pl])
    if method == "zmean":
        params: tuple[float, ...] = (float(le.mean()), float(le.std() or 1.0),
                                     float(ll.mean()), float(ll.std() or 1.0))
    else:
        w = logistic_fit(np.stack([le, ll], axis=1), y.astype(float), l2=0.1)
        params = (float(w[0]), float(w[1]), float(w[2]))
    cal = FusionCalibration(method, tuple(round(v, 4) for v in params), 0.0, 0.0, source)
    scores = np.array([cal.score(a, b) for a, b in zip(pe, pl, strict=True)])
    t_p = best_threshold(scores, y, objective)
    return FusionCalibration(method, cal.params, round(t_p, 4),
                             round(covered_threshold(scores, gold, t_p), 4), source)
