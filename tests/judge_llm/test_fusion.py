"""Fusion arithmetic: logits, z-score mean, logistic combination, fitted thresholds, and the
fused judge's decision rules (denied points, evidence), on hand-checked numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from interviewer.judge.calibration import (
    FusionCalibration,
    best_threshold,
    covered_threshold,
    fit_fusion,
    logit,
    status_for,
)
from interviewer.judge.fused import FusedJudge
from interviewer.protocols import Status


def test_logit_inverts_sigmoid_and_clips() -> None:
    assert logit(0.5) == 0.0
    assert logit(0.8) == pytest.approx(math.log(4))
    assert logit(0.0) == pytest.approx(math.log(1e-4 / (1 - 1e-4)))
    assert logit(1.0) == pytest.approx(-logit(0.0))


def test_zmean_is_the_mean_of_two_z_scores() -> None:
    cal = FusionCalibration("zmean", (1.0, 2.0, -1.0, 0.5), t_partial=0.0, t_covered=1.0)
    pe, pl = 1 / (1 + math.exp(-3.0)), 1 / (1 + math.exp(0.5))  # logits 3 and -0.5
    # z_e = (3 - 1) / 2 = 1 ; z_l = (-0.5 + 1) / 0.5 = 1 ; mean = 1
    assert cal.score(pe, pl) == pytest.approx(1.0)
    assert cal.status(1.0) == "covered"
    assert cal.status(0.5) == "partial"
    assert cal.status(-0.1) == "missing"


def test_logistic_combination() -> None:
    cal = FusionCalibration("logistic", (2.0, 1.0, -1.0), t_partial=0.4, t_covered=0.8)
    pe, pl = 0.5, 1 / (1 + math.exp(-2.0))  # logits 0 and 2 -> z = 0 + 2 - 1 = 1
    assert cal.score(pe, pl) == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert cal.confidence(0.3) == 0.3


def test_best_threshold_maximises_f1() -> None:
    scores = np.array([0.1, 0.2, 0.6, 0.7, 0.9])
    gold = np.array([False, True, True, False, True])
    # cut between 0.1 and 0.2: tp3 fp1 fn0 -> F1 6/7; between 0.2 and 0.6: tp2 fp1 fn1 -> 4/6;
    # below 0.1: tp3 fp2 -> 6/8. Thresholds are midpoints, robust to rounding of the scores.
    assert best_threshold(scores, gold) == pytest.approx(0.15)
    assert best_threshold(scores, gold, "macro_f1") == pytest.approx(0.15)


def test_one_status_rule_for_every_calibrated_judge() -> None:
    from interviewer.judge.llama_cpp_backend import LlamaCalibration

    assert [status_for(x, 0.4, 0.8) for x in (0.39, 0.4, 0.79, 0.8)] == [
        "missing", "partial", "partial", "covered"]
    llama = LlamaCalibration(t_partial=0.4, t_covered=0.8)
    fusion = FusionCalibration("veto", (0.5,), t_partial=0.4, t_covered=0.8)
    for x in (0.1, 0.5, 0.9):
        assert llama.status(x) == fusion.status(x) == status_for(x, 0.4, 0.8)


def test_covered_threshold_separates_covered_from_partial() -> None:
    scores = np.array([0.3, 0.5, 0.8, 0.9])
    gold: list[Status] = ["missing", "partial", "covered", "covered"]
    assert covered_threshold(scores, gold, 0.4) == pytest.approx(0.65)
    assert covered_threshold(scores, ["missing", "covered", "covered", "covered"], 0.4) == 0.4


def test_fit_zmean_uses_training_means_and_spreads() -> None:
    pe = [0.2, 0.4, 0.6, 0.9]
    pl = [0.1, 0.3, 0.8, 0.95]
    gold: list[Status] = ["missing", "missing", "covered", "covered"]
    cal = fit_fusion(pe, pl, gold, "zmean", source="hand")
    le = np.array([logit(p) for p in pe])
    ll = np.array([logit(p) for p in pl])
    assert cal.params == pytest.approx((le.mean(), le.std(), ll.mean(), ll.std()), abs=1e-4)
    preds = [cal.status(cal.score(a, b)) for a, b in zip(pe, pl, strict=True)]
    assert preds == ["missing", "missing", "covered", "covered"]


def test_fit_logistic_separates_and_weights_the_informative_judge() -> None:
    rng = np.random.default_rng(0)
    gold_b = rng.random(200) < 0.5
    pl = np.where(gold_b, 0.9, 0.1) + rng.normal(0, 0.03, 200)  # informative
    pe = rng.uniform(0.2, 0.8, 200)  # noise
    gold: list[Status] = ["covered" if g else "missing" for g in gold_b]
    cal = fit_fusion(list(pe), list(pl), gold, "logistic")
    assert cal.method == "logistic"
    assert abs(cal.params[1]) > 5 * abs(cal.params[0])
    preds = [cal.status(cal.score(a, b)) != "missing" for a, b in zip(pe, pl, strict=True)]
    assert np.mean(np.array(preds) == gold_b) > 0.95


def test_veto_only_withdraws_credit_and_fits_the_llm_cut_off() -> None:
    cal = FusionCalibration("veto", (0.6,), t_partial=0.4, t_covered=0.4)
    assert cal.status(cal.score(0.9, 0.7)) == "covered"  # both agree
    assert cal.status(cal.score(0.9, 0.2)) == "missing"  # the LLM says no: withdrawn
    assert cal.status(cal.score(0.1, 0.99)) == "missing"  # the LLM alone never credits
    # Training rows where the embeddings credit some wrong answers the LLM rejects.
    pe = [0.9] * 40 + [0.9] * 10 + [0.1] * 50
    pl = [0.8] * 40 + [0.1] * 10 + [0.9] * 50
    gold: list[Status] = ["covered" if i < 40 else "missing" for i in range(100)]
    fit = fit_fusion(pe, pl, gold, "veto")
    assert fit.method == "veto" and 0.1 < fit.params[0] <= 0.8
    preds = [fit.status(fit.score(a, b)) != "missing" for a, b in zip(pe, pl, strict=True)]
    assert preds == [g == "covered" for g in gold]


@dataclass
class _PS:
    point_id: str
    features: dict[str, float]
    span: tuple[int, int] | None
    denied: bool = False


class _Cal:
    def probability(self, feats: dict[str, float]) -> float:
        return feats["p"]


class _Emb:
    calibration = _Cal()

    def __init__(self, rows: list[_PS]) -> None:
        self.rows = rows
        from interviewer.protocols import JudgeInfo

        self.info = JudgeInfo(backend="embedded", model="emb")

    def score(self, entry, transcript):  # type: ignore[no-untyped-def]
        return self.rows


class _LLM:
    def __init__(self, probs: list[float]) -> None:
        from interviewer.protocols import JudgeInfo

        self.probs = probs
        self.info = JudgeInfo(backend="llama-cpp", model="llm")
        self.asked: list[int] = []

    def score(self, entry, transcript):  # type: ignore[no-untyped-def]
        return self.probs

    def evidence(self, entry, transcript, i):  # type: ignore[no-untyped-def]
        self.asked.append(i)
        return "the LLM's sentence"


def test_fused_judge_rules(entry) -> None:  # type: ignore[no-untyped-def]
    text = "Adam's second moment is noisy at first. So you ramp up."
    rows = [_PS("adam-variance", {"p": 0.9}, (0, 39)),
            _PS("small-updates", {"p": 0.9}, None),
            _PS("divergence", {"p": 0.99}, (40, 55), denied=True)]
    llm = _LLM([0.9, 0.9, 0.99])
    cal = FusionCalibration("zmean", (0.0, 1.0, 0.0, 1.0), t_partial=0.5, t_covered=1.0)
    judge = FusedJudge(_Emb(rows), llm, cal)  # type: ignore[arg-type]
    assert judge.info.model == "llm+emb"
    found = judge.classify(entry, text)
    assert found.info.backend == "fused"
    out = found.verdicts
    assert [v.status for v in out] == ["covered", "covered", "missing"]
    assert out[0].evidence == text[0:39]
    assert out[1].evidence == "the LLM's sentence" and llm.asked == [1]  # no span -> LLM picks
    assert out[2].evidence is None  # denied: nothing credited whatever the scores


def test_make_offline_llm_judge_wiring(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from interviewer.judge.embedded import EmbeddedJudge
    from interviewer.judge.fused import make_offline_llm_judge
    from interviewer.judge.llm_core import FallbackJudge
    from interviewer.judge.llm_worker import LlamaWorker
    from interviewer.judge.refine import RefiningJudge

    j = make_offline_llm_judge(tmp_path, "fused", refine=True, load=False)
    assert isinstance(j, RefiningJudge)
    try:
        assert isinstance(j.fast, EmbeddedJudge) and isinstance(j.slow, FusedJudge)
        assert j.fast is j.slow.embedded  # one embedding model, its span cache shared
        assert isinstance(j.slow.llm, LlamaWorker)
        assert j.slow.llm.threads == 1  # background work leaves a core to recording and ASR
        assert j.info.backend == "embedded" and "fused" in (j.info.note or "")
    finally:
        j.close()
    solo = make_offline_llm_judge(tmp_path, "llama-cpp", load=False)
    # outside a session: crash-isolated in a worker, the offline judge standing in on failure
    assert isinstance(solo, FallbackJudge) and isinstance(solo.primary, LlamaWorker)
    assert solo.info.backend == "llama-cpp" and isinstance(solo.fallback, EmbeddedJudge)
