"""`practice --judge fused` through the real CLI: the follow-up comes from the embedded first pass
at once, the offline LLM's fused verdicts are stored after it (same follow-up) — the last one
before the session ends — every prompt is logged, and the choice is shown and stored."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from interviewer.judge.text import find_span
from tests.session.test_cli_sessions import ANSWER, FOLLOW, QID  # the same typed session


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fused_session_refines_in_the_background(tmp_path: Path, llama_judge: object) -> None:
    env = {**os.environ, "OLLAMA_HOST": f"http://127.0.0.1:{_closed_port()}"}
    r = subprocess.run([sys.executable, "-m", "interviewer", "practice", "--text", "--no-tts",
                        "--question", QID, "--judge", "fused", "--max-follow-ups", "1",
                        "--out", str(tmp_path)], input=f"{ANSWER}\n{FOLLOW}\n",
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    s = json.loads((folder / "session.json").read_text())
    assert "refined in the background by fused" in s["engines"]["judge_choice"]
    assert "[judge: embedded" in r.stdout + r.stderr
    main, follow = s["turns"]
    first, refined = main["takes"][0]["judgements"]
    assert first["judge"]["backend"] == "embedded"
    assert refined["judge"]["backend"] == "fused"
    assert refined["follow_up"] == first["follow_up"] == follow["text"]
    for p in refined["points"]:
        if p["status"] != "missing":
            assert p["evidence"] and find_span(ANSWER, p["evidence"]) is not None
    assert len(refined["points"]) == len(first["points"])
    # The last answer's review is waited for before the session ends (nothing is left behind).
    assert [j["judge"]["backend"] for j in follow["takes"][0]["judgements"]] == ["embedded",
                                                                                  "fused"]
    calls = [json.loads(line) for line in (folder / "llm_calls.jsonl").read_text().splitlines()]
    assert [c["backend"] for c in calls] == ["llama-cpp", "llama-cpp"]
    assert "compare posteriors rather than raw likelihoods" in calls[0]["prompt"]
    assert len(calls[0]["response"]["p_yes"]) == len(first["points"])
