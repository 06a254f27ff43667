"""The interactive menu in a real terminal (tmux): answer, answer again (both takes kept),
skip, quit — typed the way a candidate would."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

Q1, Q2, Q3 = "bias-variance-tradeoff", "which-distribution-new-value", "p-value-meaning"


class Tmux:
    def __init__(self, sock: Path) -> None:
        self.sock = str(sock)

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.sock, *args], capture_output=True, text=True,
                              check=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-S", "-200", "-t", "t")

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", "t", "-l", text)
        self.run("send-keys", "-t", "t", "Enter")

    def wait_for(self, needle: str, count: int = 1, timeout: float = 120) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.screen().count(needle) >= count:
                return
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} x{count} never appeared:\n{self.screen()}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed (.ci/install)")
def test_menu_retry_skip_quit(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    ids = [q for q in (Q1, Q2, Q3)]
    cmd = [sys.executable, "-m", "interviewer", "practice", "--text", "--no-tts", "--judge",
           "embedded", "--max-follow-ups", "0", "--out", str(out)]
    for q in ids:
        cmd += ["--question", q]
    t = Tmux(tmp_path / "tmux.sock")
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in os.environ.items()
                   if k in ("PATH", "HOME", "INTERVIEWER_HOME", "PYTHONPATH"))
    t.run("new-session", "-d", "-s", "t", "-x", "200", "-y", "50",
          f"env {env} {shlex.join(cmd)}; sleep 30")
    try:
        t.wait_for("Your answer")
        t.type("Bias comes from a model that is too simple.")
        t.type("")
        t.wait_for("[a] answer again")
        t.type("a")  # answer again: both takes are kept
        t.wait_for("Your answer", 2)
        t.type("Bias is error from a too simple model and variance is error from fitting "
               "noise; more flexible models trade one for the other.")
        t.type("")
        t.wait_for("[a] answer again", 2)
        t.type("")  # next question
        t.wait_for("Your answer", 3)
        t.type("")  # an empty answer
        t.wait_for("[a] answer again", 3)
        t.type("s")  # skip it
        t.wait_for("Your answer", 4)
        t.type("")
        t.wait_for("[a] answer again", 4)
        t.type("q")
        t.wait_for("Saved in")
    finally:
        subprocess.run(["tmux", "-S", t.sock, "kill-server"], capture_output=True)
    [folder] = list(out.iterdir())
    d = json.loads((folder / "session.json").read_text())
    first, second, third = d["turns"]
    assert [tk["typed_answer"] for tk in first["takes"]][0].startswith("Bias comes from")
    assert len(first["takes"]) == 2 and first["takes"][1]["judgements"]
    assert second["skipped"] is True
    assert third["question_id"] == Q3 and d["status"] == "interrupted"
