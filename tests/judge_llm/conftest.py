"""Fixtures for the LLM-judge tests: a small validated rubric, the dev set, the real llama-cpp
judge loaded once, and a real llama.cpp OpenAI-compatible server started once (each skipped,
saying why, only when the model is not installed)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from interviewer.bank.models import BankEntry, Question, Rubric
from interviewer.judge.dataset import Item, load_devset
from interviewer.judge.llm_server import RunningServer

DEVSET = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "judge_devset.yaml"


def make_entry() -> BankEntry:
    """A validated entry: why warm up the learning rate (four points)."""
    q = Question.model_validate({
        "id": "lr-warmup",
        "text": "Why do people use a learning-rate warmup when training transformers?",
        "topic": "deep-learning",
        "sources": ["001_test.txt#Q7"],
        "reference_answer": (
            "Early in training Adam's second-moment estimates are based on few steps and are "
            "noisy, so full-size updates can be huge and destabilise the model. Ramping the "
            "learning rate up over the first steps keeps updates small until the statistics "
            "settle. It also avoids divergence with post-layer-norm transformers."),
    })
    r = Rubric.model_validate({
        "question_id": "lr-warmup",
        "points": [
            {"id": "adam-variance", "text": "Adam's variance estimates are unreliable early on",
             "weight": 2, "aliases": ["second moment", "variance estimate"],
             "description": "With few steps the second-moment average is noisy, so the "
                            "adaptive step size can be far too large."},
            {"id": "small-updates", "text": "Warmup keeps the first updates small", "weight": 1.5,
             "aliases": ["ramp up", "small steps at the start"]},
            {"id": "divergence", "text": "Without warmup training can diverge", "weight": 1,
             "aliases": ["diverge", "loss explodes", "NaN"]},
        ],
        "follow_ups": [
            {"id": "how-long", "text": "How would you choose the length of the warmup?",
             "targets": ["small-updates"]},
            {"id": "sgd", "text": "Does plain SGD with momentum need warmup too?"},
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
def llama_judge():  # type: ignore[no-untyped-def]
    """The real llama-cpp judge on the provisioned GGUF, loaded once for the session."""
    from interviewer.env import Environment
    from interviewer.errors import ModelNotInstalled
    from interviewer.judge.llama_cpp_backend import LlamaCppJudge

    judge = LlamaCppJudge(Environment().models_dir)
    try:
        judge.load()
    except ModelNotInstalled as exc:
        pytest.skip(f"LLM judge model not installed ({exc}); run: interviewer models install "
                    "judge")
    return judge


# ------------------------------------------------------------------------- real llama.cpp server
@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The real llama.cpp OpenAI-compatible server with the shipped GGUF, started once for the
    test session on a free loopback port (2 threads, n_ctx 2048), ready when /v1/models answers,
    stopped by PID. Skipped, saying why, only when the model or the server extra is missing."""
    from interviewer.env import Environment
    from interviewer.judge.llama_model import is_installed, model_path
    from interviewer.judge.llm_server import llama_server as start

    models_dir = Environment().models_dir
    if not is_installed(models_dir):
        pytest.skip("LLM judge model not installed; run: interviewer models install judge")
    if importlib.util.find_spec("llama_cpp.server") is None:
        pytest.skip("llama-cpp-python's [server] extra is not installed (bash .ci/install)")
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with start(model_path(models_dir), log, threads=2, n_ctx=2048) as server:
        yield server
