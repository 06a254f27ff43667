"""Measure a judge on labelled answers: per-point and overall precision/recall/F1, confusion
counts, accuracy, macro-F1 and seconds per answer; and fit the embedded judge's calibration.

A point counts as *credited* when its status is covered or partial; binary metrics compare
credited against missing, and the 3x3 confusion table keeps the three statuses apart. Answers
go through `policy.assess`, exactly as in a session (guards included).

`python -m interviewer.judge.evaluate fit [DEVSET]` refits the embedded calibration on the dev
set's train questions and prints it for `embedded.DEFAULT_CALIBRATION`.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from interviewer.judge.calibration import (
    Objective,
    best_threshold,
    covered_threshold,
    logistic_fit,
)
from interviewer.judge.dataset import Item
from interviewer.protocols import Judge, Status

STATUSES: tuple[Status, ...] = ("covered", "partial", "missing")
DEVSET_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "judge_devset.yaml"
SEMEVAL_PATH = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "semeval2013-2way"


@dataclass(frozen=True)
class Prediction:
    """One point of one answer: gold and predicted status."""

    item_id: str
    point_id: str
    gold: Status
    pred: Status
    group: str = ""
    style: str = ""


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(_f1(tp, fp, fn), 4)}


def binary_counts(preds: Iterable[Prediction]) -> dict[str, int]:
    """tp/fp/fn/tn with credited (covered or partial) as the positive class."""
    c = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for x in preds:
        g, p = x.gold != "missing", x.pred != "missing"
        c["tp" if g and p else "fp" if p else "fn" if g else "tn"] += 1
    return c


def metrics(preds: Sequence[Prediction], seconds: Sequence[float] = ()) -> dict[str, Any]:
    """All reported numbers for a list of predictions (and per-answer wall times)."""
    c = binary_counts(preds)
    n = len(preds)
    pos = _prf(c["tp"], c["fp"], c["fn"])
    # macro-F1: mean of the credited-class F1 and the missing-class F1 (unrounded)
    macro = (_f1(c["tp"], c["fp"], c["fn"]) + _f1(c["tn"], c["fn"], c["fp"])) / 2
    confusion = {g: dict.fromkeys(STATUSES, 0) for g in STATUSES}
    for x in preds:
        confusion[x.gold][x.pred] += 1
    per_point: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[Prediction]] = defaultdict(list)
    for x in preds:
        groups[f"{x.group}/{x.point_id}" if x.group else x.point_id].append(x)
    for key, xs in sorted(groups.items()):
        cc = binary_counts(xs)
        per_point[key] = {**_prf(cc["tp"], cc["fp"], cc["fn"]), **cc, "n": len(xs)}
    by_style: dict[str, dict[str, int]] = defaultdict(lambda: {"credited": 0, "gold_credited": 0,
                                                               "points": 0})
    for x in preds:
        s = by_style[x.style or "-"]
        s["points"] += 1
        s["credited"] += x.pred != "missing"
        s["gold_credited"] += x.gold != "missing"
    return {
        "n_points": n,
        "n_answers": len({x.item_id for x in preds}),
        **pos,
        **c,
        "accuracy": round((c["tp"] + c["tn"]) / n, 4) if n else 0.0,
        "macro_f1": round(macro, 4),
        "exact_accuracy": round(sum(x.gold == x.pred for x in preds) / n, 4) if n else 0.0,
        "confusion": confusion,
        "per_point": per_point,
        "by_style": dict(by_style),
        "seconds_per_answer": round(float(np.mean(seconds)), 4) if len(seconds) else None,
    }


def run(judge: Judge, items: Sequence[Item],
        progress: Callable[[int, int], None] | None = None,
        ) -> tuple[list[Prediction], list[float]]:
    """Judge every item through the policy; return predictions and seconds per answer."""
    from interviewer.judge.policy import assess

    preds: list[Prediction] = []
    seconds: list[float] = []
    for i, it in enumerate(items):
        t0 = time.perf_counter()
        j = assess(judge, it.entry, it.answer)
        seconds.append(time.perf_counter() - t0)
        for v in j.points:
            preds.append(Prediction(it.item_id, v.point_id, it.gold[v.point_id], v.status,
                                    it.group, it.style))
        if progress:
            progress(i + 1, len(items))
    return preds, seconds


# ----------------------------------------------------------------------------- calibration
def feature_rows(judge: Any, items: Sequence[Item]) -> list[tuple[dict[str, float], Status]]:
    """Embedded-judge features and gold status for every point of every unblocked answer."""
    from interviewer.judge.guards import screen
    from interviewer.judge.policy import rubric_words

    rows = []
    for it in items:
        if screen(it.answer, it.entry.question.text, rubric_words(it.entry)):
            continue  # guarded answers never reach a backend
        for ps in judge.score(it.entry, it.answer):
            rows.append((ps.features, it.gold[ps.point_id]))
    return rows


def fit_calibration(rows: Sequence[tuple[dict[str, float], Status]], *,
                    objective: Objective = "f1", source: str = "") -> Any:
    """Fit logistic weights and thresholds on training rows only (`objective`: f1 | macro_f1)."""
    from interviewer.judge.embedded import FEATURES, Calibration

    x = np.array([[f[n] for n in FEATURES] for f, _ in rows], dtype=float)
    y = np.array([g != "missing" for _, g in rows])
    w = logistic_fit(x, y.astype(float), l2=1.0)
    scores = 1.0 / (1.0 + np.exp(-(np.hstack([x, np.ones((len(x), 1))]) @ w)))
    t_partial = best_threshold(scores, y, objective)
    # Among credited predictions, the covered threshold maximises covered-vs-partial agreement.
    t_covered = covered_threshold(scores, [g for _, g in rows], t_partial)
    return Calibration(weights=tuple(round(float(v), 4) for v in w[:-1]),
                       bias=round(float(w[-1]), 4), t_partial=round(t_partial, 4),
                       t_covered=round(max(t_covered, t_partial), 4), source=source)


def main(argv: Sequence[str] | None = None) -> int:
    """`fit [DEVSET]`: refit the embedded calibration on the dev set's train split."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "fit":
        print("usage: python -m interviewer.judge.evaluate fit [DEVSET]", file=sys.stderr)
        return 2
    from interviewer.judge.dataset import load_devset
    from interviewer.judge.embedded import EmbeddedJudge

    path = Path(args[1]) if len(args) > 1 else DEVSET_PATH
    train = [it for it in load_devset(path) if it.split == "train"]
    cal = fit_calibration(feature_rows(EmbeddedJudge(), train), source=f"{path.name} train split")
    print(repr(cal))
    return 0


if __name__ == "__main__":
    sys.exit(main())
