"""The evaluation harness: metrics on a tiny hand-checked set, calibration fitting, and the
dataset loaders (the project's dev set and the SemEval-2013 adapter)."""

from __future__ import annotations

from pathlib import Path

import pytest

from interviewer.bank.models import Rubric
from interviewer.errors import DataError
from interviewer.judge.dataset import Item, adhoc_entry, load_devset, load_semeval
from interviewer.judge.embedded import FEATURES
from interviewer.judge.evaluate import Prediction, fit_calibration, metrics, run
from interviewer.judge.fake import FakeJudge

# Hand-checked: credited = covered|partial.
#   a/p1 covered->covered TP   a/p2 partial->covered TP   a/p3 missing->partial FP
#   b/p1 covered->missing FN   b/p2 missing->missing TN   b/p3 missing->missing TN
#   c/p1 missing->missing TN
TINY = [
    Prediction("a", "p1", "covered", "covered"), Prediction("a", "p2", "partial", "covered"),
    Prediction("a", "p3", "missing", "partial"), Prediction("b", "p1", "covered", "missing"),
    Prediction("b", "p2", "missing", "missing"), Prediction("b", "p3", "missing", "missing"),
    Prediction("c", "p1", "missing", "missing"),
]


def test_metrics_on_a_hand_checked_set() -> None:
    m = metrics(TINY, seconds=[0.1, 0.2, 0.6])
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 3)
    assert m["precision"] == m["recall"] == m["f1"] == 0.6667       # 2/3
    assert m["accuracy"] == 0.7143                                  # 5/7
    assert m["macro_f1"] == round((2 / 3 + 6 / 8) / 2, 4)           # missing-class F1 = 6/8
    assert m["exact_accuracy"] == 0.5714                            # 4/7 statuses equal
    assert m["confusion"]["covered"] == {"covered": 1, "partial": 0, "missing": 1}
    assert m["confusion"]["partial"] == {"covered": 1, "partial": 0, "missing": 0}
    assert m["confusion"]["missing"] == {"covered": 0, "partial": 1, "missing": 3}
    p1 = m["per_point"]["p1"]
    assert (p1["precision"], p1["recall"], p1["f1"], p1["n"]) == (1.0, 0.5, 0.6667, 3)
    assert m["per_point"]["p3"]["precision"] == 0.0 and m["per_point"]["p3"]["fp"] == 1
    assert m["seconds_per_answer"] == 0.3
    assert (m["n_points"], m["n_answers"]) == (7, 3)


def test_metrics_with_no_positives_do_not_divide_by_zero() -> None:
    m = metrics([Prediction("a", "p", "missing", "missing")])
    assert (m["precision"], m["recall"], m["f1"], m["accuracy"]) == (0.0, 0.0, 0.0, 1.0)


def _row(cos: float, gold: str) -> tuple[dict[str, float], str]:
    f = dict.fromkeys(FEATURES, 0.0)
    f["cos_text"] = cos
    return f, gold


def test_fit_calibration_separates_training_rows() -> None:
    rows = ([_row(c, "missing") for c in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)]
            + [_row(c, "partial") for c in (0.45, 0.5, 0.55)]
            + [_row(c, "covered") for c in (0.7, 0.75, 0.8, 0.85, 0.9)])
    cal = fit_calibration(rows, source="synthetic")  # type: ignore[arg-type]
    assert cal.weights[FEATURES.index("cos_text")] > 0
    statuses = [cal.status(cal.probability(f)) for f, _ in rows]
    assert statuses == [g for _, g in rows]
    assert cal.t_covered > cal.t_partial and cal.source == "synthetic"


def test_run_goes_through_the_policy() -> None:
    e = adhoc_entry("Why?", ["labels are Bernoulli", "use maximum likelihood"])
    judge = FakeJudge()
    judge.enqueue({"p1": ("covered", "labels are Bernoulli"), "p2": ("covered", "not said")})
    items = [Item("x/1", e, "The labels are Bernoulli.", {"p1": "covered", "p2": "missing"})]
    preds, seconds = run(judge, items)
    assert [(p.point_id, p.pred) for p in preds] == [("p1", "covered"), ("p2", "missing")]
    assert len(seconds) == 1 and seconds[0] >= 0


# ----------------------------------------------------------------------------- datasets
def test_project_dev_set_is_complete_and_mirrors_bank_rubrics(devset: list[Item]) -> None:
    questions = {it.entry.id: it.entry for it in devset}
    assert len(questions) >= 10
    assert {it.split for it in devset} == {"train", "dev"}
    styles = {"strong", "partial", "rambling", "terse", "paraphrase", "wrong", "negated",
              "offtopic", "injection"}
    for qid, entry in questions.items():
        answers = [it for it in devset if it.entry.id == qid]
        assert {it.style for it in answers} >= styles, qid
        assert len({it.split for it in answers}) == 1, f"{qid} mixes splits"
        # the inline rubrics obey the bank's own authoring rules
        Rubric.model_validate(entry.rubric.model_dump())
        for it in answers:
            assert set(it.gold) == {p.id for p in entry.rubric.points}
    assert all(all(s == "missing" for s in it.gold.values()) for it in devset
               if it.style in ("offtopic", "injection", "negated", "wrong"))


def test_dev_set_loader_names_the_file_and_bad_label(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("""
questions:
- id: q1
  text: Why?
  points: [{id: a, text: A point}]
  answers:
  - {id: one, text: An answer., covered: [zzz]}
""")
    with pytest.raises(DataError, match=r"bad\.yaml.*unknown point 'zzz'"):
        load_devset(bad)


def test_semeval_adapter_reads_reference_answers_and_labels(tmp_path: Path) -> None:
    d = tmp_path / "training" / "beetle"
    d.mkdir(parents=True)
    (d / "Q1.xml").write_text("""<?xml version="1.0"?>
<question id="Q_ONE" module="M">
  <questionText>Why does the bulb light?</questionText>
  <referenceAnswers>
    <referenceAnswer id="r1" category="BEST">The bulb is in a closed path.</referenceAnswer>
    <referenceAnswer id="r2" category="GOOD">The circuit is closed.</referenceAnswer>
  </referenceAnswers>
  <studentAnswers>
    <studentAnswer id="s1" accuracy="correct">it is a closed   circuit</studentAnswer>
    <studentAnswer id="s2" accuracy="incorrect">because of the battery</studentAnswer>
  </studentAnswers>
</question>""")
    items = load_semeval(tmp_path, "train", parts=("beetle",))
    assert [(it.answer, it.gold) for it in items] == [
        ("it is a closed circuit", {"ref": "covered"}),
        ("because of the battery", {"ref": "missing"}),
    ]
    point = items[0].entry.rubric.points[0]
    assert point.text == "The bulb is in a closed path."
    assert point.aliases == ["The circuit is closed."]
    assert items[0].group == "beetle" and items[0].split == "train"
    with pytest.raises(DataError, match="not found"):
        load_semeval(tmp_path, "test", parts=("beetle",))
