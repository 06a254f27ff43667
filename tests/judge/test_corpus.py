"""The verifier's authored training corpus: every label valid against the bank, and the split by
question holds (no dev or test question reaches training through the extra parts)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

import corpus_spec  # noqa: E402


def test_every_corpus_file_passes_the_checker(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted([*corpus_spec.DATA.glob("corpus_part*.jsonl"),
                    *corpus_spec.DATA.glob("extra_part*.jsonl")])
    assert len(files) >= 7
    problems = corpus_spec.check(files)
    assert problems == 0, capsys.readouterr().out


def test_extra_parts_answer_only_train_questions_outside_the_corpus() -> None:
    core = set(corpus_spec.corpus_questions())
    seen: set[str] = set()
    for f in corpus_spec.DATA.glob("extra_part*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                seen.add(json.loads(line)["question_id"])
    assert seen, "no extra answers found"
    assert not seen & core
    assert {corpus_spec.split_of(q) for q in seen} == {"train"}


def test_the_checker_catches_a_test_question_in_an_extra_part(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str],
                                                              ) -> None:
    test_q = next(q for q in corpus_spec.corpus_questions() if corpus_spec.split_of(q) == "test")
    rec = {"question_id": test_q, "answer_id": "x", "style": "strong", "text": "t", "labels": {}}
    bad = tmp_path / "extra_part9.jsonl"
    bad.write_text(json.dumps(rec) + "\n", encoding="utf-8")
    assert corpus_spec.check([bad]) == 1
    assert "not a train question" in capsys.readouterr().out
