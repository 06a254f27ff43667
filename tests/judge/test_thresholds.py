"""The verifier's threshold fit (training/train_verifier.py): the zero-credit constraint holds for
the statuses the product actually decides, partial credit included."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

import train_verifier  # noqa: E402

from interviewer.judge.verifier import decide  # noqa: E402


def _rows(seed: int = 3) -> list[tuple[float, float, str, str]]:
    """Synthetic dev rows: credited gold mostly confident, zero-credit answers spread over the
    band a partial threshold would credit (0.2-0.6), a few contradictions."""
    rng = random.Random(seed)
    rows = [(rng.uniform(0.55, 1.0), 0.0, "covered", "strong") for _ in range(200)]
    rows += [(rng.uniform(0.3, 0.9), 0.0, "partial", "partial") for _ in range(80)]
    rows += [(rng.uniform(0.0, 0.6), 0.05, "missing", "wrong") for _ in range(200)]
    rows += [(0.05, rng.uniform(0.6, 0.95), "contradicted", "swapped") for _ in range(20)]
    return rows


def _credited_share(rows: list[tuple[float, float, str, str]],
                    thresholds: dict[str, float]) -> float:
    zero = [r for r in rows if r[3] in train_verifier.HARD_STYLES and r[2] == "missing"]
    probs = [np.array([r[0], r[1], 1 - r[0] - r[1]]) for r in zero]
    return sum(decide(p, thresholds) in ("covered", "partial") for p in probs) / len(zero)


def test_the_zero_credit_limit_holds_for_what_decide_credits() -> None:
    rows = _rows()
    for limit in (0.0, 0.02, 0.1):
        thresholds, metrics = train_verifier.choose_thresholds(rows, "dev", lambda _m: None,
                                                               limit)
        assert _credited_share(rows, thresholds) <= limit
        assert metrics["zero_style_credited"] <= limit
        assert thresholds["partial"] <= thresholds["covered"]


def test_a_looser_limit_buys_recall_and_contradictions_are_found() -> None:
    rows = _rows()
    strict, _ = train_verifier.choose_thresholds(rows, "dev", lambda _m: None, 0.0)
    loose, m = train_verifier.choose_thresholds(rows, "dev", lambda _m: None, 0.1)
    assert loose["partial"] < strict["partial"]
    assert m["contradicted_f1"] == 1.0
    assert 0.05 < loose["contradicted"] <= 0.6  # between the two populations


def test_a_split_vote_is_vetoed_when_it_is_how_wrong_answers_look() -> None:
    """Fluent wrong answers with high P(stated) but a real share of P(contradicted): no
    threshold on P(stated) separates them, the doubt veto does, and `decide` applies it."""
    rng = random.Random(5)
    rows = [(rng.uniform(0.6, 1.0), rng.uniform(0.0, 0.1), "covered", "strong")
            for _ in range(200)]
    rows += [(rng.uniform(0.6, 0.9), rng.uniform(0.32, 0.38), "missing", "wrong")
             for _ in range(60)]
    thresholds, metrics = train_verifier.choose_thresholds(rows, "dev", lambda _m: None, 0.02)
    assert 0.1 < thresholds["doubt"] <= 0.32
    assert metrics["credit_f1"] == 1.0
    assert _credited_share(rows, thresholds) == 0.0
    assert decide(np.array([0.9, 0.05, 0.05]), thresholds) == "covered"


def test_without_split_votes_there_is_no_veto() -> None:
    thresholds, _ = train_verifier.choose_thresholds(_rows(), "dev", lambda _m: None, 0.1)
    assert thresholds["doubt"] == 1.0
