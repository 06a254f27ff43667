"""Mock interviews through the real CLI with typed answers and the embedded judge: a seed loop,
a shipped plan on a short clock, the report's per-turn times and timeline, a bad plan file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.session.test_cli_sessions import cli, only_session

LOOP1_FOLLOW_UPS = ["Derive the gradient with respect to the logits.",
                    "Why does the gradient simplify to p - y?",
                    "When might MSE still appear in classification work?"]
LOOP1_ANSWERS = [
    "Logistic regression models a Bernoulli label and the sigmoid output is the probability; "
    "maximum likelihood of that model gives the cross entropy loss.",
    "The loss is minus y log p minus one minus y log one minus p, and its derivative with "
    "respect to the logit is p minus y.",
    "Because the derivative of the sigmoid, p times one minus p, cancels with the log.",
    "For calibration losses like the Brier score, or when the targets are soft scores.",
]


def test_loop_1_asks_the_prompt_and_its_three_follow_ups(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    r = cli("practice", "--loop", "1", "--text", "--no-tts", "--judge", "embedded",
            "--out", str(root), stdin="\n".join(LOOP1_ANSWERS) + "\n")
    assert r.returncode == 0, r.stderr
    s = only_session(root)
    turns = s["turns"]
    assert [t["kind"] for t in turns] == ["question", "follow_up", "follow_up", "follow_up"]
    assert turns[0]["question_id"] == "logistic-regression-cross-entropy-vs-mse"
    assert sorted(t["text"] for t in turns[1:]) == sorted(LOOP1_FOLLOW_UPS)
    assert all(t["takes"][0]["status"] == "judged" for t in turns)
    for text in [turns[0]["text"], *LOOP1_FOLLOW_UPS]:
        assert text in r.stdout
    assert "[clock] answer 0:00 / 3:00" in r.stdout and "Pacing: " in r.stdout

    rep = cli("report", "last", "--format", "json", "--out", str(root))
    assert rep.returncode == 0, rep.stderr
    report = json.loads(rep.stdout)
    [q] = report["questions"]
    assert [t["budget_s"] for t in q["turns"]] == [180, 90, 90, 90]
    assert all(isinstance(t["answer_s"], float) and t["answer_s"] >= 0 for t in q["turns"])
    iv = report["interview"]
    assert iv["plan"] == "seed-loops" and iv["ended"] == "completed"
    assert [e["turn"] for e in iv["timeline"]] == [0, 1, 2, 3]
    assert iv["segments"][0]["turns"] == [0, 1, 2, 3] and iv["segments"][0]["budget_s"] == 450
    assert q["score"] is not None and iv["timeline"][0]["question_score"] == q["score"]


def test_shipped_plan_runs_end_to_end_on_a_short_clock(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    answers = "\n".join(f"My answer number {i}: I would measure it first and then fix it."
                        for i in range(20)) + "\n"
    r = cli("practice", "--plan", "llm-engineer-30", "--minutes", "3", "--seed", "4", "--text",
            "--no-tts", "--judge", "embedded", "--out", str(root), stdin=answers)
    assert r.returncode == 0, r.stderr
    s = only_session(root)
    assert s["status"] == "completed" and s["interview"]["ended"] == "completed"
    asked = [t["question_id"] for t in s["turns"] if t["kind"] == "question"]
    assert asked == s["plan"] and len(asked) == 7
    for line in ("Let's start with a warm-up question.", "Let's move to a systems question.",
                 "Let's move to a debugging question.", "Let's move to a behavioural question."):
        assert line in r.stdout
    # Budgets scaled by 3/30: the warm-up's 90 s answer gets 9 s.
    assert s["turns"][0]["budget_s"] == 9.0
    assert "Pacing over 13 timed answer(s)" in r.stdout
    md = cli("report", "last", "--out", str(root))
    assert md.returncode == 0 and "## Interview timeline: LLM engineer interview" in md.stdout
    assert md.stdout.count("| 0:00 / 0:09 |") >= 1


def test_bad_plan_file_is_one_line_naming_file_and_field(tmp_path: Path) -> None:
    plan = tmp_path / "mine.yaml"
    plan.write_text("name: mine\ntitle: Mine\nminutes: 20\nsegments:\n"
                    "  - {name: first, kinds: [poetry]}\n")
    r = cli("practice", "--plan", str(plan), "--text", "--no-tts", "--out",
            str(tmp_path / "rec"), stdin="x\n")
    assert r.returncode == 1
    [line] = r.stderr.strip().splitlines()
    assert f"{plan}: segments[0].kinds[0]: Input should be" in line
    r = cli("practice", "--loop", "9", "--text", "--out", str(tmp_path / "rec"))
    assert r.returncode == 2 and "--loop '9'" in r.stderr
