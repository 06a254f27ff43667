"""`interviewer doctor --section judge`: which backend `auto` picks and why, the offline models,
the LLM servers, and a timed one-answer smoke judgement (against a stand-in OpenAI server here;
the offline case loads the real embedded judge)."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator

import pytest

from interviewer.cli import main
from interviewer.env import Environment
from tests.judge_llm.openai_standin import OpenAIStandIn


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _doctor() -> tuple[int, dict[str, dict[str, object]]]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(""), stdout=out, stderr=err, stdin_isatty=False,
                      stdout_isatty=False)
    code = main(["doctor", "--section", "judge", "--format", "json"], env)
    return code, {c["name"]: c for c in json.loads(out.getvalue())["checks"]}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIStandIn]:
    s = OpenAIStandIn().start()
    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("OPENAI_BASE_URL", s.url)
    monkeypatch.setattr("interviewer.judge.verifier_available", lambda: False)
    yield s
    s.stop()


def test_doctor_reports_the_openai_server_and_smoke_judges_with_it(
        server: OpenAIStandIn) -> None:
    server.reply({"p1": {"evidence_sentence": 1, "status": "covered"},
                  "p2": {"evidence_sentence": 2, "status": "covered"}})
    code, checks = _doctor()
    assert code == 0
    auto = str(checks["judge auto choice"]["detail"])
    assert auto.startswith("openai:") and "serves local-model" in auto
    assert "cannot connect to Ollama" in str(checks["Ollama server"]["detail"])
    assert checks["Ollama server"]["ok"] is None  # optional: not a failure
    assert checks["OpenAI-compatible server"]["ok"] is True
    assert "serves local-model" in str(checks["OpenAI-compatible server"]["detail"])
    smoke = checks["judge smoke test"]
    assert smoke["ok"] is True
    assert "openai (local-model) credited 2 of 2 points" in str(smoke["detail"])
    assert " s (model loading included)" in str(smoke["detail"])
    assert len(server.chats()) == 1


def test_doctor_fails_the_smoke_test_when_the_judge_credits_nothing(
        server: OpenAIStandIn) -> None:
    server.reply({"p1": {"evidence_sentence": None, "status": "missing"},
                  "p2": {"evidence_sentence": None, "status": "missing"}})
    code, checks = _doctor()
    assert checks["judge smoke test"]["ok"] is False and code == 3


def test_doctor_fails_the_smoke_test_when_a_fallback_judged(server: OpenAIStandIn) -> None:
    server.reply("not json")
    server.reply("still not json")
    code, checks = _doctor()
    smoke = checks["judge smoke test"]
    assert smoke["ok"] is False and code == 3
    assert "invalid reply twice" in str(smoke["detail"])


@pytest.mark.slow
def test_doctor_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setattr("interviewer.judge.verifier_available", lambda: False)
    code, checks = _doctor()
    assert code == 0
    assert str(checks["judge auto choice"]["detail"]).startswith("embedded: using the offline")
    assert checks["OpenAI-compatible server"]["ok"] is None
    assert checks["embedding model"]["ok"] is True
    assert checks["judge smoke test"]["ok"] is True
    assert "embedded (all-MiniLM-L6-v2) credited" in str(checks["judge smoke test"]["detail"])
