"""Crash isolation of the llama.cpp judge, with the real model in a real worker process: the
worker is killed mid-review; that answer keeps the offline verdicts and says so in one line;
the next answer gets a fresh worker. Plus the typed exchange sink under concurrent writers."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from interviewer.bank.models import BankEntry
from interviewer.env import Environment
from interviewer.judge.llm_log import JsonlSink, LlmExchange, MemorySink, read_jsonl
from interviewer.judge.llm_worker import LlamaWorker, WorkerCrashed, describe_exit
from interviewer.judge.policy import assess
from interviewer.judge.refine import REVIEW_FAILED, RefiningJudge

STRONG = ("Early in training Adam's second moment estimates are noisy, so the adaptive steps "
          "can be huge. Warmup ramps the learning rate up so the first updates stay small.")
OTHER = ("Without warmup the loss can explode and training diverges. Ramping the learning rate "
         "up keeps the early steps small.")


def _kill_when_busy(worker: LlamaWorker, after_s: float = 0.5) -> threading.Thread:
    def run() -> None:
        assert worker.busy.wait(120)
        time.sleep(after_s)  # mid-review: the model is evaluating the prompt
        pid = worker.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.slow
def test_killed_worker_mid_review_falls_back_and_the_next_answer_is_reviewed(
        entry: BankEntry, tmp_path: Path) -> None:
    from interviewer.judge.fused import make_offline_llm_judge

    sink = JsonlSink(tmp_path / "llm_calls.jsonl")
    judge = make_offline_llm_judge(Environment().models_dir, "llama-cpp", refine=True, log=sink)
    assert isinstance(judge, RefiningJudge) and isinstance(judge.slow, LlamaWorker)
    worker = judge.slow
    try:
        first_pid = worker.pid
        killer = _kill_when_busy(worker)
        first = assess(judge, entry, STRONG)  # the fast verdicts, at once
        killer.join(120)
        kept = judge.refine(first, entry, STRONG, timeout=120)
        assert REVIEW_FAILED in kept.flags and kept.points == first.points
        note = kept.judge.note or ""
        assert "worker died (killed by SIGKILL)" in note and "first-pass verdicts kept" in note
        assert len(note.splitlines()) == 1
        # the session carries on: the next answer is reviewed by a fresh worker
        second = assess(judge, entry, OTHER)
        refined = judge.refine(second, entry, OTHER, timeout=300)
        assert REVIEW_FAILED not in refined.flags, refined.judge.note
        assert refined.judge.backend == "llama-cpp" and worker.pid not in (None, first_pid)
        assert worker.crashes == 1
        calls = read_jsonl(sink.path)
        assert [c.question_id for c in calls] == [entry.id]  # only the finished review
        assert len(calls[0].response["p_yes"]) == len(entry.rubric.points)
    finally:
        judge.close()
    assert worker.pid is None


@pytest.mark.slow
def test_outside_a_session_a_crash_is_one_answer_judged_offline(entry: BankEntry) -> None:
    from interviewer.judge.fused import make_offline_llm_judge
    from interviewer.judge.llm_core import FallbackJudge

    judge = make_offline_llm_judge(Environment().models_dir, "llama-cpp", log=MemorySink())
    assert isinstance(judge, FallbackJudge) and isinstance(judge.primary, LlamaWorker)
    try:
        killer = _kill_when_busy(judge.primary, after_s=0.2)
        j = assess(judge, entry, STRONG)
        killer.join(120)
        assert j.judge.backend == "embedded"
        assert "worker died (killed by SIGKILL)" in (j.judge.note or "")
        assert any(v.status != "missing" for v in j.points)  # the offline judge did judge it
    finally:
        judge.close()


def test_worker_gives_up_after_repeated_crashes(tmp_path: Path) -> None:
    worker = LlamaWorker(tmp_path, max_crashes=0)
    with pytest.raises(WorkerCrashed, match="not restarting"):
        worker.load()
    assert describe_exit(-9) == "killed by SIGKILL" and describe_exit(3) == "exit status 3"


def test_worker_reports_a_missing_model_as_such(tmp_path: Path) -> None:
    from interviewer.errors import ModelNotInstalled

    with pytest.raises(ModelNotInstalled, match="nope.gguf"):
        LlamaWorker(tmp_path, tmp_path / "nope.gguf").load()


def test_jsonl_sink_keeps_every_record_from_concurrent_writers(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "llm_calls.jsonl")

    def write(k: int) -> None:
        for i in range(50):
            sink.write(LlmExchange(backend="openai", model="m", question_id=f"q{k}",
                                   attempt=1, prompt=[{"role": "user", "content": "x" * 500}],
                                   response=str(i), seconds=0.01))

    threads = [threading.Thread(target=write, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = read_jsonl(sink.path)  # every line parses: no interleaved writes
    assert len(records) == 400
    for k in range(8):
        assert [r.response for r in records if r.question_id == f"q{k}"] == [
            str(i) for i in range(50)]
    assert (sink.path.stat().st_mode & 0o777) == 0o600
