"""The OpenAI-compatible transport against a stand-in server over real HTTP (fast unit tests):
request shape, the shared prompt/schema with the Ollama adapter, the llama.cpp dialect switch,
errors translated at the boundary, fallback, and `auto`'s order. The real llama.cpp server is
exercised in test_openai_server.py."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator

import pytest

from interviewer.bank.models import BankEntry
from interviewer.errors import EngineUnavailable, ModelNotInstalled, UsageError
from interviewer.judge import choose_auto, make_judge, verifier_available
from interviewer.judge.fake import FakeJudge
from interviewer.judge.llm_log import MemorySink
from interviewer.judge.ollama_backend import OllamaJudge
from interviewer.judge.openai_backend import OpenAIJudge
from interviewer.judge.policy import assess
from tests.judge.ollama_standin import OllamaStandIn
from tests.judge_llm.openai_standin import OpenAIStandIn

ANSWER = ("Adam's second moment estimates are noisy at the start. So we ramp up the learning "
          "rate to keep the first steps small. Otherwise the loss explodes.")
GOOD = {"adam-variance": {"evidence_sentence": 1, "status": "covered", "probe": None},
        "small-updates": {"evidence_sentence": 2, "status": "covered"},
        "divergence": {"evidence_sentence": None, "status": "missing",
                       "probe": "What happens without warmup?"}}


@pytest.fixture
def server() -> Iterator[OpenAIStandIn]:
    s = OpenAIStandIn().start()
    yield s
    s.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fallback() -> FakeJudge:
    fb = FakeJudge()
    fb.info.backend, fb.info.model = "embedded", "fake-fallback"
    return fb


def test_request_shape_verdicts_probes_and_log(server: OpenAIStandIn, entry: BankEntry) -> None:
    server.reply(GOOD)
    sink = MemorySink()
    judge = OpenAIJudge(url=server.url, log=sink)
    judge.check()  # picks the only model served
    j = assess(judge, entry, ANSWER)
    (req,) = server.chats()
    assert req["model"] == "local-model" and req["temperature"] == 0 and req["seed"] == 0
    fmt = req["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert sorted(fmt["json_schema"]["schema"]["required"]) == sorted(
        ["adam-variance", "small-updates", "divergence"])
    assert 0 < req["max_tokens"] <= 400
    assert [(v.status, v.evidence) for v in j.points] == [
        ("covered", "Adam's second moment estimates are noisy at the start"),
        ("covered", "So we ramp up the learning rate to keep the first steps small"),
        ("missing", None)]
    assert (j.judge.backend, j.judge.model, j.judge.note) == ("openai", "local-model", None)
    # the gap has no authored follow-up: the model's probe for it is asked, once
    assert (j.follow_up, j.follow_up_id) == ("What happens without warmup?", "probe:divergence")
    server.reply(GOOD)
    assert assess(judge, entry, ANSWER, {"probe:divergence"}).follow_up_id == "sgd"
    first = sink.records()[0]
    assert (first.backend, first.model, first.question_id, first.error) == (
        "openai", "local-model", entry.id, None)
    assert first.prompt == req["messages"] and json.loads(first.response) == GOOD


def test_one_prompt_and_schema_for_both_transports(server: OpenAIStandIn,
                                                   entry: BankEntry) -> None:
    ollama = OllamaStandIn().start()
    try:
        ollama.reply(GOOD)
        server.reply(GOOD)
        a = assess(OllamaJudge(host=ollama.url), entry, ANSWER)
        b = assess(OpenAIJudge("local-model", url=server.url), entry, ANSWER)
        (to_ollama,), (to_openai,) = ollama.chats(), server.chats()
    finally:
        ollama.stop()
    assert to_ollama["messages"] == to_openai["messages"]
    assert to_ollama["format"] == to_openai["response_format"]["json_schema"]["schema"]
    assert to_ollama["options"]["num_predict"] == to_openai["max_tokens"]
    assert [p.model_dump() for p in a.points] == [p.model_dump() for p in b.points]


def test_llama_cpp_server_dialect_is_used_after_a_refusal(entry: BankEntry) -> None:
    server = OpenAIStandIn(json_schema=False).start()
    try:
        server.reply(GOOD)
        server.reply(GOOD)
        judge = OpenAIJudge("local-model", url=server.url)
        judge.classify(entry, ANSWER)
        judge.classify(entry, ANSWER)
        kinds = [c["response_format"]["type"] for c in server.chats()]
    finally:
        server.stop()
    # refused once, then the older form with the same schema, and that form from then on
    assert kinds == ["json_schema", "json_object", "json_object"]
    assert server.chats()[1]["response_format"]["schema"] == (
        server.chats()[0]["response_format"]["json_schema"]["schema"])


def test_invalid_twice_falls_back_and_says_so(server: OpenAIStandIn, entry: BankEntry) -> None:
    server.reply("not json")
    server.reply({"adam-variance": "covered"})
    sink = MemorySink()
    out = OpenAIJudge("local-model", url=server.url, fallback=_fallback, log=sink).classify(
        entry, ANSWER)
    assert out.info.backend == "embedded" and "invalid reply twice" in (out.info.note or "")
    assert "OpenAI-compatible server (local-model) failed" in (out.info.note or "")
    assert [r.attempt for r in sink.records()] == [1, 2]
    assert all((r.error or "").startswith("invalid reply") for r in sink.records())


@pytest.mark.parametrize(("setup", "error", "message"), [
    ("refused", EngineUnavailable, "cannot connect to the OpenAI-compatible server at"),
    ("no-model", ModelNotInstalled, "has no model 'other'"),
    ("bad-key", EngineUnavailable, "refused the API key"),
])
def test_errors_are_one_line_at_the_boundary(server: OpenAIStandIn, setup: str,
                                             error: type[Exception], message: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    url, model = server.url, "local-model"
    if setup == "refused":
        url = f"http://127.0.0.1:{_free_port()}/v1"
    elif setup == "no-model":
        model = "other"
    else:
        server.api_key = "right"
        monkeypatch.setenv("OPENAI_API_KEY", "wrong")
    with pytest.raises(error) as exc:
        OpenAIJudge(model, url=url).check()
    assert message in str(exc.value) and len(str(exc.value).splitlines()) == 1
    with pytest.raises(error):
        make_judge("openai", model, host=url)


def test_api_key_and_base_url_come_from_the_environment(
        server: OpenAIStandIn, entry: BankEntry, monkeypatch: pytest.MonkeyPatch) -> None:
    server.api_key = "sk-local"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    server.reply(GOOD)
    judge = OpenAIJudge()
    judge.check()
    assert judge.url == server.url and judge.classify(entry, ANSWER).info.backend == "openai"
    monkeypatch.delenv("OPENAI_BASE_URL")
    with pytest.raises(UsageError, match="OPENAI_BASE_URL"):
        OpenAIJudge()


def test_a_timeout_falls_back_for_that_answer_only(server: OpenAIStandIn,
                                                   entry: BankEntry) -> None:
    server.reply(GOOD, delay_s=2.0)
    server.reply(GOOD)
    fb = _fallback()
    judge = OpenAIJudge("local-model", url=server.url, timeout=0.5, fallback=fb)
    slow = judge.classify(entry, ANSWER)
    assert slow.info.backend == "embedded" and "did not answer within" in (slow.info.note or "")
    fast = judge.classify(entry, ANSWER)
    assert fast.info.backend == "openai" and len(fb.history) == 1


def test_several_models_need_a_name(server: OpenAIStandIn) -> None:
    server.models = ["a", "b"]
    with pytest.raises(UsageError, match="serves 2 models"):
        OpenAIJudge(url=server.url).check()


# ----------------------------------------------------------------------------- auto
@pytest.fixture
def no_ollama(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{_free_port()}")


def test_auto_order(server: OpenAIStandIn, no_ollama: None,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("interviewer.judge.verifier_available", lambda: False)
    monkeypatch.setattr("interviewer.judge._offline_llm_installed", lambda _models_dir: False)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    choice = choose_auto()
    assert choice.backend == "openai" and "serves local-model; using it" in choice.reason
    server.stop()  # set but not answering: the offline default, saying why
    choice = choose_auto()
    assert choice.backend == "embedded"
    assert "ollama serve" in choice.reason and "cannot connect to the OpenAI" in choice.reason
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert "OpenAI" not in choose_auto().reason
    monkeypatch.setattr("interviewer.judge.verifier_available", lambda: True)
    assert choose_auto().backend == "verifier"


def test_auto_prefers_ollama_over_the_openai_server(server: OpenAIStandIn,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ollama = OllamaStandIn().start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        assert choose_auto(host=ollama.url).backend == "ollama"
    finally:
        ollama.stop()
    assert server.requests == []  # never even asked


def test_auto_builds_the_openai_judge_with_its_reason(server: OpenAIStandIn, no_ollama: None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    judge = make_judge("auto")
    assert (judge.info.backend, judge.info.model) == ("openai", "local-model")
    assert "using it" in (judge.info.note or "")


def test_verifier_missing_module_means_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "interviewer.judge.verifier", None)  # import → ImportError
    assert verifier_available() is False
