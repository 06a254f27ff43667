"""The trained verifier: its real int8 ONNX model on real answers (no fake), the product path.

Answers here were written for these tests (not taken from the training corpus).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from interviewer.bank.loader import Bank, load_bank
from interviewer.judge.policy import assess
from interviewer.judge.text import find_span
from interviewer.judge.verifier import VerifierJudge, available, chunk_answer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not available(), reason="verifier model not shipped")
# Known limits of the shipped model, measured (README "Judging", issue 13's note). Strict: the
# day a retrained model gets them right, these tests fail until the mark is removed.
KNOWN_LIMIT = pytest.mark.xfail(strict=True, reason="verifier limit: see README 'Judging'")


@pytest.fixture(scope="module")
def judge() -> VerifierJudge:
    j = VerifierJudge()
    j.load()
    return j


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank(ROOT / "question_bank", ROOT / "rubrics")


def test_strong_answer_is_credited_with_verbatim_evidence(judge: VerifierJudge,
                                                          bank: Bank) -> None:
    entry = bank.get("data-parallel-vs-model-parallel")
    answer = (
        "So with data parallelism every GPU holds a full copy of the model, each one gets a "
        "different slice of the batch, and after the backward pass the gradients are averaged "
        "with an all reduce. It's easy and it scales throughput, but the whole model has to fit "
        "in one GPU's memory. Model parallelism instead cuts the model itself across devices, "
        "either splitting the matrices inside a layer or putting different layers on different "
        "GPUs as pipeline stages. That lets you train models that don't fit on one device, but "
        "you pay in communication and some GPUs sit idle waiting.")
    j = assess(judge, entry, answer)
    credited = {v.point_id for v in j.points if v.status != "missing"}
    assert {"data-parallel", "model-parallel"} <= credited
    assert j.score >= 0.4
    for v in j.points:
        if v.status != "missing":
            assert v.evidence and find_span(answer, v.evidence) is not None
    assert j.judge.backend == "verifier"


def test_swapped_definitions_earn_nothing(judge: VerifierJudge, bank: Bank) -> None:
    entry = bank.get("data-parallel-vs-model-parallel")
    answer = ("Right, so data parallel means you split the model into pieces across the GPUs, and "
              "model parallel means you split the data so every GPU sees different examples.")
    j = assess(judge, entry, answer)
    assert j.score == 0.0, [(v.point_id, v.status, v.evidence) for v in j.points]


@KNOWN_LIMIT
def test_confidently_wrong_p_value_earns_nothing(judge: VerifierJudge, bank: Bank) -> None:
    entry = bank.get("p-value-meaning")
    answer = ("The p-value is basically the probability that the null hypothesis is true, so if "
              "you get 0.03 there's a 3 percent chance there's no effect and 97 percent that "
              "your hypothesis is right.")
    j = assess(judge, entry, answer)
    assert j.score == 0.0, [(v.point_id, v.status, v.evidence) for v in j.points]


def test_a_vague_answer_earns_nothing(judge: VerifierJudge, bank: Bank) -> None:
    entry = bank.get("data-parallel-vs-model-parallel")
    answer = ("Well I think it really depends on the situation, there are trade-offs both ways "
              "and you have to look at your setup and pick what works best for the team.")
    assert assess(judge, entry, answer).score == 0.0


@KNOWN_LIMIT  # v2 credits "dp-limits" at P(stated) 0.60 here (v1 did not)
def test_an_off_topic_answer_earns_nothing(judge: VerifierJudge, bank: Bank) -> None:
    entry = bank.get("data-parallel-vs-model-parallel")
    answer = ("Gradient boosting builds trees one after another, each fitting the residuals of "
              "the ensemble so far, with a small learning rate.")
    assert assess(judge, entry, answer).score == 0.0


@KNOWN_LIMIT
def test_a_contradiction_is_reported_with_its_quote(judge: VerifierJudge, bank: Bank) -> None:
    entry = bank.get("p-value-meaning")
    answer = ("Um, the p-value tells you the probability that the null hypothesis is actually "
              "true given your data.")
    j = assess(judge, entry, answer)
    contra = [v for v in j.points if v.contradicted]
    assert contra and "contradicted" in j.flags
    assert all(v.status == "missing" and v.evidence and v.evidence in answer for v in contra)
    assert any(line.startswith("You said") for line in j.missed_feedback)


def test_long_answers_are_read_in_overlapping_chunks() -> None:
    text = " ".join(f"Sentence number {i} says something." for i in range(200))
    chunks = chunk_answer(text, lambda t: len(t.split()), 60)
    assert len(chunks) > 3
    assert chunks[0].start == 0 and chunks[-1].end == len(text.rstrip())
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start < a.end  # one sentence of overlap: nothing is cut in two


@KNOWN_LIMIT
def test_every_reference_answer_earns_credit_on_its_own_rubric(judge: VerifierJudge,
                                                               bank: Bank) -> None:
    """All 285 bank reference answers, judged against their own rubrics: every point credited
    (covered or partial) and no flag."""
    failures = []
    for e in bank:
        j = assess(judge, e, e.question.reference_answer)
        missed = [v.point_id for v in j.points if v.status == "missing"]
        if missed or j.flags:
            failures.append((e.id, missed, j.flags))
    assert not failures, f"{len(failures)} reference answers not fully credited: {failures[:10]}"


def test_judging_never_imports_torch() -> None:
    code = ("import sys; from interviewer.judge import make_judge; "
            "from interviewer.judge.dataset import adhoc_entry; "
            "from interviewer.judge.policy import assess; j = make_judge('verifier'); "
            "e = adhoc_entry('What does dropout do?', ['It zeroes random activations']); "
            "r = assess(j, e, 'Dropout zeroes random activations during training.'); "
            "print(r.score, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "HOME": os.environ.get("HOME", "/")})
    assert out.returncode == 0, out.stderr
    score, torch_loaded = out.stdout.split()
    assert torch_loaded == "False" and float(score) > 0


def test_the_model_card_and_licence_ship_beside_the_weights() -> None:
    from interviewer.judge.verifier import model_dir

    d = model_dir()
    cfg = json.loads((d / "config.json").read_text())
    t = cfg["thresholds"]
    assert {"covered", "partial", "contradicted"} <= set(t) <= {"covered", "partial",
                                                                 "contradicted", "doubt"}
    assert 0 < t["partial"] <= t["covered"] < 1 and 0 < t.get("doubt", 1.0) <= 1
    assert (d / "MODEL_CARD.md").read_text().count("sha256") >= 1
    assert "Attribution-ShareAlike" in next(d.glob("LICENSE-SemEval*")).read_text()
    assert (d / "model.int8.onnx").stat().st_size < 40e6


def test_a_session_judges_with_the_verifier_by_default(tmp_path: Path) -> None:
    """`practice` without `--judge`: no LLM server answers here, so `auto` picks the verifier,
    says so, and stores it with every judgement; credited evidence occurs in the transcript."""
    answer = ("I would fit a distribution to each of the two arrays, then compare how likely the "
              "new value is under each fitted density, and weigh that by how common each source "
              "is, so I compare posteriors rather than raw likelihoods.")
    r = subprocess.run(
        [sys.executable, "-m", "interviewer", "practice", "--text", "--no-tts", "--question",
         "which-distribution-new-value", "--max-follow-ups", "0", "--out", str(tmp_path)],
        input=answer + "\n", capture_output=True, text=True, timeout=600,
        env={**os.environ, "OLLAMA_HOST": "http://127.0.0.1:9", "OPENAI_BASE_URL": ""})
    assert r.returncode == 0, r.stderr
    assert "verifier" in r.stderr + r.stdout
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    session = json.loads((folder / "session.json").read_text())
    take = session["questions"][0]["turns"][0]["takes"][0] if "questions" in session else \
        session["turns"][0]["takes"][0]
    judgement = take["judgements"][-1]
    assert judgement["judge"]["backend"] == "verifier"
    text = take["transcript"]["text"]
    credited = [p for p in judgement["points"] if p["status"] != "missing"]
    assert credited
    assert all(find_span(text, p["evidence"]) is not None for p in credited)
