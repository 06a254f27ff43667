"""`bank import` on documents written for the tests, in the three layouts the seeds use."""

from __future__ import annotations

import io
from pathlib import Path

import yaml

from interviewer.bank.importer import parse_document
from interviewer.cli import main
from interviewer.env import Environment

QA = """My practice sheet

1. Statistics

Q1. What is a z-score?

Model answer:

It says how many standard deviations a value lies from the mean. You compute it by subtracting
the mean and dividing by the standard deviation. It lets you compare values on different scales.

Q2. Why use the median?

Model answer:

The median resists outliers because it depends only on the order of values.
"""

LOOPS = """Loops
Loop 1: Warm-up
Prompt
Explain dropout.
Expected strong answer
You should cover:
- random masking of units
- scaling at train time
- ensemble interpretation
Follow-ups
- What changes at inference?
- Why can dropout hurt small models?
"""

LIST = """Question list
Vision
- What does a pooling layer do?
- Why use data augmentation?
Language
- What is a tokenizer?
"""


def test_parses_three_layouts(tmp_path: Path) -> None:
    qa, loops, lst = (tmp_path / n for n in ("qa.txt", "loops.txt", "list.txt"))
    qa.write_text(QA)
    loops.write_text(LOOPS)
    lst.write_text(LIST)

    d = parse_document(qa)
    assert [x.source for x in d] == ["qa.txt#Q1", "qa.txt#Q2"]
    assert d[0].topic == "statistics"
    assert d[0].reference_answer.startswith("It says how many standard deviations")
    assert len(d[0].points) == 3  # the model answer's sentences become draft points

    [loop] = parse_document(loops)
    assert loop.source == "loops.txt#Loop 1"
    assert loop.text == "Explain dropout."
    assert loop.points == ["random masking of units", "scaling at train time",
                           "ensemble interpretation"]
    assert loop.follow_ups == ["What changes at inference?", "Why can dropout hurt small models?"]

    items = parse_document(lst)
    assert [(x.source, x.topic) for x in items] == [
        ("list.txt#1", "vision"), ("list.txt#2", "vision"), ("list.txt#3", "language")]


def test_cli_writes_drafts_and_rejects_empty(tmp_path: Path) -> None:
    (tmp_path / "loops.txt").write_text(LOOPS)
    (tmp_path / "empty.txt").write_text("nothing here\n")
    env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                      stdin_isatty=False, stdout_isatty=False, project_root=tmp_path)
    out = tmp_path / "drafts"
    assert main(["bank", "import", str(tmp_path / "loops.txt"), "--out", str(out)], env) == 0
    rub = yaml.safe_load((out / "rubrics" / "loops" / "imported.yaml").read_text())
    assert [p["text"] for p in rub["rubrics"][0]["points"]][0] == "random masking of units"
    q = yaml.safe_load((out / "question_bank" / "loops" / "imported.yaml").read_text())
    assert q["questions"][0]["sources"] == ["loops.txt#Loop 1"]
    env.stderr = io.StringIO()
    assert main(["bank", "import", str(tmp_path / "empty.txt")], env) == 1
    assert "empty.txt: no questions recognised" in env.stderr.getvalue()
