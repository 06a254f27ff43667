"""Items 3–5: SIGTERM/SIGHUP end a session like Ctrl-C; Ctrl-C while typing keeps what was typed
and `--resume` asks an unanswered follow-up again; a running session's folder is locked."""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import termios
import time

import pytest

from tests.hardening.helpers import FOLLOW, MAIN, PRACTICE, Env, Live, error_lines


def _answer_main(henv: Env, **kw: int | None) -> Live:
    """A running session that has judged the main answer and asked its follow-up."""
    live = henv.live(*PRACTICE, "--out", str(henv.rec), **kw)
    live.wait_for("Question:")
    live.send(MAIN)
    live.wait_for("Follow-up:")
    return live


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_mid_session_saves_and_marks_interrupted(henv: Env, sig: int, status: int) -> None:
    live = _answer_main(henv)
    try:
        live.signal(sig)
        assert live.finish(close_stdin=False) == status
    finally:
        live.kill()
    _, data = henv.only_session()
    assert data["status"] == "interrupted"
    assert data["turns"][0]["takes"][0]["judgements"], "the judged answer must survive"
    assert error_lines(live.stderr) == []
    assert "".join(live.out).count("Stopped. Everything so far is saved.") == 1


def _type_line(master: int, slave: int, text: str, timeout: float = 30) -> None:
    """Type `text` + Enter into the terminal and wait until the program has read it: first the
    terminal's echo (the line reached the input queue), then an empty queue (FIONREAD == 0)."""
    os.write(master, text.encode() + b"\n")
    echo, t0 = b"", time.monotonic()
    while text.encode() not in echo:
        assert time.monotonic() - t0 < timeout, "the terminal never echoed the line"
        echo += os.read(master, 1024)
    while struct.unpack("i", fcntl.ioctl(slave, termios.FIONREAD, b"\0" * 4))[0]:
        assert time.monotonic() - t0 < timeout, "the program never read the typed line"
        time.sleep(0.05)
    time.sleep(0.3)  # read is not yet stored: let readline return and the line be kept


def test_ctrl_c_while_typing_keeps_the_partial_answer_and_resume_asks_again(henv: Env) -> None:
    master, slave = os.openpty()
    try:
        live = henv.live(*PRACTICE, "--out", str(henv.rec), stdin=slave)
        try:
            live.wait_for("Your answer")
            _type_line(master, slave, "Dropout randomly zeroes units")
            live.signal(signal.SIGINT)  # what Ctrl-C sends
            assert live.finish() == 130
        finally:
            live.kill()
    finally:
        os.close(master)
        os.close(slave)
    _, data = henv.only_session()
    assert data["status"] == "interrupted"
    [turn] = data["turns"]
    [take] = turn["takes"]
    assert take["typed_answer"] == "Dropout randomly zeroes units"
    assert take["status"] == "recorded" and not take.get("judgements")
    r = henv.cli("practice", "--resume", "last", "--out", str(henv.rec),
                 stdin=f"{MAIN}\n{FOLLOW}\n")
    assert r.returncode == 0, r.stderr
    _, data = henv.only_session()
    assert data["status"] == "completed"
    assert data["turns"][0]["takes"][0]["typed_answer"] == "Dropout randomly zeroes units"
    judged = [t for t in data["turns"] if t["takes"] and t["takes"][-1].get("judgements")]
    assert [t["kind"] for t in judged] == ["question", "follow_up"]


def test_resume_asks_an_unanswered_follow_up_again(henv: Env) -> None:
    live = _answer_main(henv)
    try:
        live.signal(signal.SIGINT)
        assert live.finish(close_stdin=False) == 130
    finally:
        live.kill()
    _, data = henv.only_session()
    follow = data["turns"][1]
    assert follow["kind"] == "follow_up" and not any(t.get("judgements")
                                                      for t in follow["takes"])
    r = henv.cli("practice", "--resume", "last", "--out", str(henv.rec), stdin=f"{FOLLOW}\n")
    assert r.returncode == 0, r.stderr
    assert f"Follow-up: {follow['text']}" in r.stdout
    _, data = henv.only_session()
    assert data["status"] == "completed" and len(data["turns"]) == 2
    final = data["turns"][1]["takes"][-1]
    assert final["typed_answer"] == FOLLOW and final["judgements"]


def test_rejudge_and_resume_refuse_while_the_session_runs(henv: Env) -> None:
    live = _answer_main(henv)
    try:
        for args in (("rejudge", "last", "--backend", "embedded"),
                     ("practice", "--resume", "last")):
            r = henv.cli(*args, "--out", str(henv.rec))
            assert r.returncode == 1, r.stderr
            [line] = error_lines(r.stderr)
            assert "in use by another interviewer process" in line and r.stdout == ""
        live.send(FOLLOW)
        assert live.finish() == 0, live.stderr
    finally:
        live.kill()
    r = henv.cli("rejudge", "last", "--backend", "embedded", "--out", str(henv.rec))
    assert r.returncode == 0, r.stderr
    _, data = henv.only_session()
    assert [len(t["takes"][-1]["judgements"]) for t in data["turns"]] == [2, 2]


def test_lock_is_released_when_the_holder_is_killed(henv: Env) -> None:
    """flock dies with its process: kill -9 leaves no stale lock behind."""
    live = _answer_main(henv)
    live.kill()
    r = henv.cli("practice", "--resume", "last", "--out", str(henv.rec), stdin=f"{FOLLOW}\n")
    assert r.returncode == 0, r.stderr
    _, data = henv.only_session()
    assert data["status"] == "completed"
