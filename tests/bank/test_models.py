"""Bank file validation: malformed files produce one clear file:field error and exit 1."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest

from interviewer.bank.loader import load_bank
from interviewer.cli import main
from interviewer.env import Environment
from interviewer.errors import BankError

GOOD_Q = """
questions:
  - id: softmax-stability
    text: Why is naive softmax numerically unstable and how do you fix it?
    topic: transformers
    difficulty: easy
    sources: ["000_0d8d2ba9cc4df753.txt#Q20"]
    reference_answer: >-
      Exponentials of large logits overflow; subtract the max logit before exponentiating,
      which leaves the result unchanged, and compute log-softmax with log-sum-exp.
"""
GOOD_R = """
rubrics:
  - question_id: softmax-stability
    points:
      - {id: overflow, text: Large logits overflow when exponentiated}
      - {id: subtract-max, text: Subtract the max logit before exponentiating, aliases: [max trick]}
      - {id: logsumexp, text: Compute log-softmax with log-sum-exp}
    follow_ups:
      - {id: masked, text: "How does masking interact with the max trick?", targets: [subtract-max]}
      - {id: grad, text: "What is the gradient of log-softmax?"}
"""


def drop_line(text: str, needle: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if needle not in ln) + "\n"


def write_bank(root: Path, q: str = GOOD_Q, r: str = GOOD_R) -> Environment:
    (root / "question_bank" / "t").mkdir(parents=True)
    (root / "rubrics" / "t").mkdir(parents=True)
    (root / "question_bank" / "t" / "a.yaml").write_text(textwrap.dedent(q))
    (root / "rubrics" / "t" / "a.yaml").write_text(textwrap.dedent(r))
    return Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                       stdin_isatty=False, stdout_isatty=False, project_root=root)


def run(env: Environment, *argv: str) -> tuple[int, str, str]:
    env.stdout, env.stderr = io.StringIO(), io.StringIO()
    code = main(list(argv), env)
    out, err = env.stdout.getvalue(), env.stderr.getvalue()  # type: ignore[attr-defined]
    return code, out, err


def test_good_bank_lists_contract(tmp_path: Path) -> None:
    env = write_bank(tmp_path)
    code, out, _ = run(env, "bank", "list", "--format", "json")
    assert code == 0
    [item] = json.loads(out)
    assert item["id"] == "softmax-stability"
    assert item["points"][1] == "Subtract the max logit before exponentiating"
    assert item["follow_ups"] == ["How does masking interact with the max trick?",
                                  "What is the gradient of log-softmax?"]
    assert item["sources"] == ["000_0d8d2ba9cc4df753.txt#Q20"]
    assert run(env, "bank", "check")[0] == 0


@pytest.mark.parametrize(
    ("q", "r", "expect"),
    [
        (GOOD_Q.replace("topic: transformers", "topic: transformers\n    colour: red"), GOOD_R,
         "questions[0].colour: Extra inputs are not permitted"),
        (GOOD_Q.replace("#Q20", "Q20"), GOOD_R, "questions[0].sources"),
        (GOOD_Q, GOOD_R.replace("targets: [subtract-max]", "targets: [nope]"),
         "targets unknown point 'nope'"),
        (GOOD_Q, drop_line(GOOD_R, "id: grad"), "at least 2 follow-ups"),
        (GOOD_Q, drop_line(GOOD_R, "id: logsumexp"),
         "rubrics[0].points: List should have at least 3 items"),
        (GOOD_Q, GOOD_R.replace("question_id: softmax-stability", "question_id: other"),
         "no question with id 'other'"),
        (GOOD_Q + "  - {bad", GOOD_R, "invalid YAML"),
        (GOOD_Q, GOOD_R.replace("text: Large logits overflow when exponentiated", "text: ''"),
         "points[0].text"),
    ],
    ids=["extra-field", "bad-source", "bad-target", "one-follow-up", "two-points", "orphan-rubric",
         "bad-yaml", "empty-point"],
)
def test_malformed_files_name_file_and_field(tmp_path: Path, q: str, r: str, expect: str) -> None:
    env = write_bank(tmp_path, q, r)
    with pytest.raises(BankError) as info:
        load_bank(env.questions_dir, env.rubrics_dir)
    assert expect in str(info.value)
    assert "a.yaml" in str(info.value)
    code, out, _ = run(env, "bank", "check")
    assert code == 1
    assert expect in out and "a.yaml" in out
    code, _, err = run(env, "bank", "list")
    assert code == 1
    assert err.startswith("interviewer: error: ") and expect in err
    assert len(err.strip().splitlines()) == 1  # one clear line, no traceback


def test_quality_checks_flag_weak_rubrics(tmp_path: Path) -> None:
    r = GOOD_R.replace("text: Compute log-softmax with log-sum-exp",
                       "text: Quantization").replace(
        '"What is the gradient of log-softmax?"',
        '"Why is naive softmax numerically unstable and how do you fix it?"')
    env = write_bank(tmp_path, GOOD_Q, r)
    code, out, _ = run(env, "bank", "check")
    assert code == 1
    assert "single word" in out
    assert "repeats the question" in out
    assert "does not seem to mention point 'logsumexp'" in out


def test_show_unknown_id_is_usage_error(tmp_path: Path) -> None:
    env = write_bank(tmp_path)
    code, _, err = run(env, "bank", "show", "softmax")
    assert code == 2
    assert "no question with id 'softmax'" in err and "softmax-stability" in err


def test_schema_is_json_schema(tmp_path: Path) -> None:
    env = write_bank(tmp_path)
    code, out, _ = run(env, "bank", "schema")
    schema = json.loads(out)
    assert code == 0
    assert schema["questions"]["additionalProperties"] is False
    assert "ExpectedPoint" in schema["rubrics"]["$defs"]
