"""`interviewer judge` and `interviewer eval judge` through the real CLI entry point, with the
real embedded judge (loaded once for the session and handed to the command)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import interviewer.judge as judge_pkg
from interviewer.cli import main
from interviewer.env import Environment
from interviewer.judge.embedded import EmbeddedJudge

pytestmark = pytest.mark.slow

REQUEST: dict[str, Any] = {
    "question": "How would you fit a large language model that runs out of GPU memory?",
    "expected_points": ["Use gradient accumulation with a smaller micro-batch",
                        "Train in mixed precision such as bf16",
                        "Shard optimizer states with ZeRO or FSDP"],
    "answer": "I'd shrink the micro-batch and use gradient accumulation, and switch to bf16 "
              "mixed precision.",
}


@pytest.fixture
def use_embedded(embedded: EmbeddedJudge, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []

    def fake_make_judge(backend: str = "auto", model: str | None = None, **kw: Any) -> Any:
        calls.append((backend, model))
        return embedded

    monkeypatch.setattr(judge_pkg, "make_judge", fake_make_judge)
    return calls


def cli(argv: list[str], stdin: str = "", root: Path | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(stdin), stdout=out, stderr=err, stdin_isatty=False,
                      stdout_isatty=False)
    if root is not None:
        env.project_root = root
    code = main(argv, env)
    return code, out.getvalue(), err.getvalue()


def test_judge_json_contract(use_embedded: list[Any]) -> None:
    code, out, err = cli(["judge", "--format", "json", "--backend", "embedded"],
                         json.dumps(REQUEST))
    assert code == 0, err
    d = json.loads(out)
    assert use_embedded == [("embedded", None)]
    assert [p["point"] for p in d["points"]] == REQUEST["expected_points"]
    status = [p["status"] for p in d["points"]]
    assert status[0] != "missing" and status[1] != "missing" and status[2] == "missing"
    for p in d["points"]:
        assert p["status"] in ("covered", "partial", "missing")
        assert (p["evidence"] is None) == (p["status"] == "missing")
        if p["evidence"]:
            assert p["evidence"].lower() in REQUEST["answer"].lower()
    assert 0 < d["score"] < 1
    assert d["follow_up"] == ("Can you say more about this point: Shard optimizer states with "
                              "ZeRO or FSDP?")
    assert d["judge"]["backend"] == "embedded" and d["judge"]["model"] == "all-MiniLM-L6-v2"


@pytest.mark.parametrize(("stdin", "message"), [
    ("not json", "stdin: invalid JSON"),
    ('["a list"]', "expected a JSON object"),
    ('{"question": "Q?", "expected_points": [], "answer": "x"}', "expected_points"),
    ('{"question": "", "expected_points": ["a"], "answer": "x"}', "'question'"),
    ('{"question": "Q?", "expected_points": ["a"], "answer": 3}', "'answer'"),
])
def test_judge_rejects_bad_input_in_one_line(stdin: str, message: str) -> None:
    code, out, err = cli(["judge", "--format", "json", "--backend", "embedded"], stdin)
    assert code == 1 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_judge_a_banked_question_from_a_file(use_embedded: list[Any], tmp_path: Path) -> None:
    (tmp_path / "question_bank" / "t").mkdir(parents=True)
    (tmp_path / "rubrics" / "t").mkdir(parents=True)
    (tmp_path / "question_bank" / "t" / "q.yaml").write_text(yaml.safe_dump({"questions": [{
        "id": "why-n-minus-one", "text": "Why divide by n minus one for the sample variance?",
        "topic": "stats", "sources": ["000_x.txt#Q6"],
        "reference_answer": "The mean is estimated from the same data, so one degree of "
                            "freedom is lost; n minus one removes the downward bias."}]}))
    (tmp_path / "rubrics" / "t" / "q.yaml").write_text(yaml.safe_dump({"rubrics": [{
        "question_id": "why-n-minus-one",
        "points": [
            {"id": "dof", "text": "One degree of freedom is lost to the estimated mean",
             "aliases": ["degree of freedom"]},
            {"id": "unbiased", "text": "Dividing by n minus one makes the estimator unbiased",
             "aliases": ["unbiased", "Bessel's correction"]},
            {"id": "mle", "text": "The maximum likelihood estimate divides by n",
             "aliases": ["MLE", "maximum likelihood"], "follow_up": "What does MLE divide by?"},
        ],
        "follow_ups": [{"id": "known-mean", "text": "What if the true mean were known?"}],
    }]}))
    answer = tmp_path / "answer.txt"
    answer.write_text("We lose one degree of freedom estimating the mean, and n minus one "
                      "makes the estimator unbiased.")
    code, out, err = cli(["judge", "--format", "json", "--question-id", "why-n-minus-one",
                          "--answer-file", str(answer), "--backend", "embedded"], root=tmp_path)
    assert code == 0, err
    d = json.loads(out)
    assert [p["status"] != "missing" for p in d["points"]] == [True, True, False]
    assert d["follow_up"] == "What does MLE divide by?"
    code, _, err = cli(["judge", "--question-id", "nope", "--answer-file", str(answer)],
                       root=tmp_path)
    assert code == 2 and "no question with id 'nope'" in err


def test_eval_judge_on_a_small_dataset(use_embedded: list[Any], tmp_path: Path) -> None:
    ds = tmp_path / "mini.yaml"
    ds.write_text(yaml.safe_dump({"questions": [{
        "id": "mini", "split": "dev", "text": "How do you fit a big model in memory?",
        "points": [{"id": "accum", "text": "Use gradient accumulation",
                    "aliases": ["gradient accumulation"]},
                   {"id": "bf16", "text": "Train in mixed precision",
                    "aliases": ["bf16", "mixed precision"]}],
        "answers": [
            {"id": "good", "text": "Gradient accumulation and bf16 mixed precision.",
             "covered": ["accum", "bf16"]},
            {"id": "off", "text": "I like dashboards for tracking experiments."},
        ]}]}))
    code, out, err = cli(["eval", "judge", "--dataset", str(ds), "--backend", "embedded",
                          "--format", "json"])
    assert code == 0, err
    r = json.loads(out)
    assert (r["n_answers"], r["n_points"]) == (2, 4)
    assert r["tp"] + r["fn"] == 2 and r["fp"] + r["tn"] == 2
    assert set(r["per_point"]) == {"mini/accum", "mini/bf16"}
    assert r["seconds_per_answer"] is not None and r["judge"]["backend"] == "embedded"
    code, out, _ = cli(["eval", "judge", "--dataset", str(ds), "--backend", "embedded"])
    assert code == 0 and "F1" in out and "confusion" in out
    code, _, err = cli(["eval", "judge", "--dataset", str(tmp_path / "none.yaml")])
    assert code == 2 and "not found" in err


def _semeval_xml(answers: list[tuple[str, str]]) -> str:
    rows = "\n".join(f'<studentAnswer id="s{i}" accuracy="{acc}">{text}</studentAnswer>'
                     for i, (text, acc) in enumerate(answers))
    return f"""<?xml version="1.0"?>
<question id="Q1"><questionText>Why does the bulb light up?</questionText>
<referenceAnswers><referenceAnswer id="r1">The bulb is in a closed path with the battery.
</referenceAnswer></referenceAnswers><studentAnswers>{rows}</studentAnswers></question>"""


def test_eval_judge_semeval_fits_on_training_only(use_embedded: list[Any], tmp_path: Path,
                                                  embedded: EmbeddedJudge) -> None:
    train = [("it is on a closed path with the battery", "correct"),
             ("the bulb and battery form a closed path", "correct"),
             ("because the battery is new", "incorrect"),
             ("the wires are red", "incorrect")] * 2
    test = [("there is a closed path to the battery", "correct"),
            ("the switch is pretty", "incorrect")]
    for part in ("beetle", "sciEntsBank"):
        (tmp_path / "training" / part).mkdir(parents=True)
        (tmp_path / "training" / part / "q.xml").write_text(_semeval_xml(train))
        d = tmp_path / "test" / part / "test-unseen-answers"
        d.mkdir(parents=True)
        d.joinpath("q.xml").write_text(_semeval_xml(test))
    before = embedded.calibration
    try:
        code, out, err = cli(["eval", "judge", "--dataset", "semeval", "--backend", "embedded",
                              "--semeval-dir", str(tmp_path), "--format", "json"])
        assert code == 0, err
        r = json.loads(out)
        assert r["calibration"]["source"] == "SemEval training (16 answers)"
        assert (r["n_answers"], r["tp"] + r["fn"]) == (4, 2)
        assert {"accuracy", "macro_f1"} <= set(r)
    finally:
        embedded.calibration = before  # the session-wide judge keeps its shipped calibration


# ----------------------------------------------------------------------------- --batch
def _line(question: str, points: list[str], answer: str) -> str:
    return json.dumps({"question": question, "expected_points": points, "answer": answer})


@pytest.fixture
def fake_judge(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """A scripted judge (fast): credits the first point with the answer's first sentence."""
    from interviewer.judge.fake import FakeJudge
    from interviewer.protocols import Classification, RawVerdict

    built: list[Any] = []

    class FirstPoint(FakeJudge):
        def classify(self, entry: Any, transcript: str) -> Classification:
            first = entry.rubric.points[0].id
            return Classification(info=self.info, verdicts=[RawVerdict(
                point_id=first, status="covered", evidence=transcript.split(".")[0])])

    def fake_make_judge(backend: str = "auto", model: str | None = None, **kw: Any) -> Any:
        built.append(backend)
        return FirstPoint()

    monkeypatch.setattr(judge_pkg, "make_judge", fake_make_judge)
    return built


def test_batch_keeps_order_and_loads_the_judge_once(fake_judge: list[Any]) -> None:
    questions = [f"Question number {i}: why does regularisation {i} help?" for i in range(5)]
    stdin = "\n".join(_line(q, [f"point {i} alpha beta", f"point {i} gamma"],
                            f"Answer {i} explains regularisation {i} clearly. More text.")
                      for i, q in enumerate(questions)) + "\n\n"  # a blank line is skipped
    code, out, err = cli(["judge", "--batch", "--backend", "embedded"], stdin)
    assert code == 0, err
    results = [json.loads(x) for x in out.splitlines()]
    assert [r["points"][0]["point"] for r in results] == [f"point {i} alpha beta"
                                                         for i in range(5)]
    assert [r["points"][0]["evidence"] for r in results] == [
        f"Answer {i} explains regularisation {i} clearly" for i in range(5)]
    assert fake_judge == ["embedded"]  # built once for the whole run


def test_batch_bad_lines_are_error_objects_and_exit_1(fake_judge: list[Any]) -> None:
    good = _line("Why use dropout in deep networks?", ["It reduces co-adaptation"],
                 "Dropout reduces co-adaptation of units.")
    stdin = "\n".join([good, "{not json", '{"question": "Q?", "expected_points": []}',
                       '["a list"]', good]) + "\n"
    code, out, err = cli(["judge", "--batch"], stdin)
    assert code == 1 and "3 line(s) failed" in err
    rows = [json.loads(x) for x in out.splitlines()]
    assert len(rows) == 5
    assert "points" in rows[0] and "points" in rows[4]  # the run went on after the bad lines
    assert [r.get("line") for r in rows[1:4]] == [2, 3, 4]
    assert "line 2: invalid JSON" in rows[1]["error"]
    assert "line 3: field 'expected_points'" in rows[2]["error"]
    assert "line 4: expected a JSON object" in rows[3]["error"]


def test_batch_refuses_single_answer_flags(fake_judge: list[Any]) -> None:
    code, _, err = cli(["judge", "--batch", "--question-id", "x", "--answer-file", "a.txt"],
                       "{}")
    assert code == 2 and "--batch" in err and fake_judge == []
