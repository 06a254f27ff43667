"""Fixtures for the judge tests: a validated sample rubric, the dev set, and one real embedded
judge shared by the whole session (the model loads once, ~10 s)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Helper modules of this folder (the stand-in Ollama server) import by plain name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from interviewer.bank.models import BankEntry, Question, Rubric
from interviewer.judge.dataset import Item, load_devset

DEVSET = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "judge_devset.yaml"


def make_entry() -> BankEntry:
    """A real, validated bank entry (the bank's own models and checks)."""
    q = Question.model_validate({
        "id": "logreg-loss",
        "text": "Why does logistic regression use cross-entropy instead of mean squared error?",
        "topic": "classical-ml",
        "sources": ["001_test.txt#Loop 1"],
        "reference_answer": (
            "Each label is a Bernoulli outcome whose probability is the sigmoid output. "
            "Maximum likelihood of that model is the same as minimising cross-entropy. "
            "The loss is convex and its gradient on the logit is p minus y."),
    })
    r = Rubric.model_validate({
        "question_id": "logreg-loss",
        "points": [
            {"id": "bernoulli", "text": "Labels are modelled as Bernoulli outcomes", "weight": 2,
             "aliases": ["Bernoulli", "coin flip"],
             "follow_up": "Which distribution do you assume for the labels?"},
            {"id": "mle", "text": "Maximum likelihood leads to cross-entropy", "weight": 1.5,
             "description": "The negative log-likelihood of Bernoulli labels is the binary "
                            "cross-entropy.",
             "aliases": ["maximum likelihood", "negative log likelihood", "MLE"]},
            {"id": "gradients", "text": "Cross-entropy gives convex loss and clean gradients",
             "weight": 1, "aliases": ["convex", "p minus y", "vanishing gradient"]},
            {"id": "sigmoid", "text": "The sigmoid output is a probability", "weight": 0.5,
             "aliases": ["sigmoid"]},
        ],
        "follow_ups": [
            {"id": "derive", "text": "Can you derive the gradient with respect to the logit?",
             "targets": ["gradients"]},
            {"id": "mse-when", "text": "When might squared error still be used?"},
        ],
    })
    return BankEntry(question=q, rubric=r, question_file="q.yaml", rubric_file="r.yaml")


@pytest.fixture
def entry() -> BankEntry:
    return make_entry()


@pytest.fixture(scope="session")
def devset() -> list[Item]:
    return load_devset(DEVSET)


@pytest.fixture(scope="session")
def embedded():  # type: ignore[no-untyped-def]
    """The real offline judge (real all-MiniLM-L6-v2 weights), loaded once."""
    from interviewer.judge.embedded import EmbeddedJudge

    judge = EmbeddedJudge()
    judge.load()
    return judge
