"""The rejudge service recomputes exchanges from stored transcripts (old verdicts kept, the asked
follow-up kept); the session's wiring: typed settings stored and used on resume, the judge built
with the session's LLM log, the declared abilities of what the factory returns."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from interviewer.bank.loader import Bank
from interviewer.env import Environment
from interviewer.factory import DeclaredJudge, PlainSpeaker, Ready, declare_judge, make_speaker
from interviewer.judge.fake import FakeJudge
from interviewer.judge.llm_log import JsonlSink, LlmExchange, read_jsonl
from interviewer.judge.policy import assess
from interviewer.protocols import JudgeBase, SessionJudge, SessionSpeaker
from interviewer.session import run
from interviewer.session.exchange import question_exchanges
from interviewer.session.loop import Engines, PracticeSession
from interviewer.session.rejudge import rejudge
from interviewer.session.store import (
    SessionRecord,
    SessionSettings,
    SessionStore,
    new_session_id,
    now_iso,
)
from interviewer.session.ui import Console
from tests.session.fakes import FakeSpeaker, streams

A1 = "dropout randomly zeroes units during training"
A2 = "it behaves like an ensemble of thinned networks"


def _typed_session(tmp_path: Path, bank: Bank, judge: FakeJudge) -> tuple[SessionRecord,
                                                                           SessionStore]:
    store = SessionStore(tmp_path / "rec")
    rec = SessionRecord(id=new_session_id(), created=now_iso(), updated=now_iso(),
                        plan=["dropout-why"])
    store.create(rec)
    stdin, out, err = streams()
    stdin.write(f"{A1}\n{A2}\n")
    stdin.seek(0)
    engines = Engines(speaker=FakeSpeaker(), recorder=None, transcriber=None,
                      judge=Ready(declare_judge(judge)), assess=assess)
    session = PracticeSession(rec, store, engines, Console(stdin, out, err, interactive=False,
                                                           live=False),
                              entries={"dropout-why": bank.get("dropout-why")})
    return session.run(), store


def test_rejudge_recomputes_the_exchange_and_keeps_history(tmp_path: Path,
                                                           mini_bank: Bank) -> None:
    first = FakeJudge()
    first.enqueue({"random-zeroing": ("covered", A1)})
    first.enqueue({})  # the follow-up's answer: nothing credited the first time
    rec, store = _typed_session(tmp_path, mini_bank, first)
    [x] = question_exchanges(rec)
    assert x.score == pytest.approx(2 / 4)
    asked = rec.turns[1].text
    again = FakeJudge()
    again.enqueue({"random-zeroing": ("covered", A1)})
    again.enqueue({"ensemble": ("covered", "like an ensemble of thinned networks")})
    saves: list[int] = []
    result = rejudge(rec, mini_bank.entries, again, assess,
                     after_each=lambda r: saves.append(len(r.turns)))
    assert result.judged == 2 and saves == [2, 2] and result.skipped_questions == []
    [change] = result.questions
    assert change.before == pytest.approx(0.5) and change.after == pytest.approx(3 / 4)
    [x] = question_exchanges(rec)
    assert {p.point_id: p.turn for p in x.coverage.points if p.status == "covered"} == {  # type: ignore[union-attr]
        "random-zeroing": 0, "ensemble": 1}
    main_take = rec.turns[0].takes[0]
    assert len(main_take.judgements) == 2  # the first verdict is kept
    assert main_take.judgements[-1].follow_up == asked  # history: what was really asked next


def test_rejudge_skips_questions_gone_from_the_bank(tmp_path: Path, mini_bank: Bank) -> None:
    judge = FakeJudge()
    rec, _ = _typed_session(tmp_path, mini_bank, judge)
    result = rejudge(rec, {}, FakeJudge(), assess)
    assert result.judged == 0 and result.skipped_questions == ["dropout-why"]
    assert all(len(k.judgements) == 1 for t in rec.turns for k in t.takes)


def test_follow_up_turns_store_their_targets(tmp_path: Path, mini_bank: Bank) -> None:
    judge = FakeJudge()  # nothing credited: the heaviest gap's own probe is asked
    rec, store = _typed_session(tmp_path, mini_bank, judge)
    follow = store.load(rec.id).turns[1]
    assert follow.follow_up_id == "point:random-zeroing"
    assert follow.targets == ["random-zeroing"]


def test_engines_get_the_stored_settings_and_the_sessions_llm_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_make_judge(**kwargs: Any) -> SessionJudge:
        seen.update(kwargs)
        return declare_judge(FakeJudge())

    monkeypatch.setattr(run, "make_judge", fake_make_judge)
    store = SessionStore(tmp_path / "rec")
    settings = SessionSettings(text=True, no_tts=True, judge="ollama", judge_model="m")
    rec = SessionRecord(id=new_session_id(), created=now_iso(), updated=now_iso(),
                        settings=settings)
    store.create(rec)
    env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO())
    engines, judge = run.build_engines(run.PracticeRequest(settings=settings), rec, store, env)
    judge()  # built on its background thread
    assert seen["backend"] == "ollama" and seen["model"] == "m" and seen["refine"] is True
    sink = seen["log"]
    assert isinstance(sink, JsonlSink)
    sink.write(LlmExchange(backend="ollama", model="m", prompt="p", seconds=0.1))
    [logged] = read_jsonl(store.folder(rec.id) / "llm_calls.jsonl")
    assert logged.model == "m"
    assert engines.recorder is None and engines.transcriber is None  # --text
    assert store.load(rec.id).settings == settings  # typed, stored, read back as it was


def test_the_factory_declares_engine_abilities() -> None:
    speaker = make_speaker(no_tts=True)
    assert isinstance(speaker, PlainSpeaker) and isinstance(speaker, SessionSpeaker)
    assert speaker.engine == "print" and speaker.started is None
    speaker.prepare("nothing to prepare")  # the declared default
    plain = declare_judge(FakeJudge())
    assert isinstance(plain, DeclaredJudge) and not plain.speculative and not plain.refines
    assert plain.done(None, "") and plain.refined(None, "") is None  # type: ignore[arg-type]

    class Declares(FakeJudge, JudgeBase):
        speculative = True

    own = Declares()
    assert declare_judge(own) is own  # a JudgeBase declares its own abilities


def test_the_embedded_judge_is_declared_speculative() -> None:
    from interviewer.judge.embedded import EmbeddedJudge

    judge = declare_judge(EmbeddedJudge())
    assert judge.speculative and not judge.refines
