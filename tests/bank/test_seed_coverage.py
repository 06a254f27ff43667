"""The shipped bank against the user's five source documents (`../shared/seeds/`).

Counts are taken from the documents at test time where their layout allows (Q-numbers, loops,
bullets) and fixed here where a person had to count (the two Q&A documents).
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from interviewer.bank.importer import parse_document
from interviewer.bank.loader import Bank, load_bank

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"
SPOKEN, LOOPS = "000_0d8d2ba9cc4df753.txt", "001_9ef217ca63503aa2.txt"
LIST, AIENG, MLNLP = "002_8cf1601f2d651728.txt", "003_c04246ee74f4c8b9.txt", \
    "004_debf65af9cb3f01e.txt"

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds not beside the repo")


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank(ROOT / "question_bank", ROOT / "rubrics")


def sources(bank: Bank, doc: str) -> Counter[str]:
    """How many entries carry each item of `doc`; an "X or Y" item banked as two entries
    tagged `split` counts once."""
    seen = {(s, e.id) for e in bank for s in e.question.sources if s.split("#", 1)[0] == doc
            and "split" not in e.question.tags}
    seen |= {(s, "split") for e in bank for s in e.question.sources
             if s.split("#", 1)[0] == doc and "split" in e.question.tags}
    return Counter(s.split("#", 1)[1] for s, _ in seen)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def test_every_spoken_bank_question_banked_once(bank: Bank) -> None:
    doc = (SEEDS / SPOKEN).read_text(encoding="utf-8")
    numbers = [int(n) for n in re.findall(r"^Q(\d+)\.", doc, flags=re.M)]
    assert numbers == list(range(1, 57))  # the document's 56 questions, in order
    got = sources(bank, SPOKEN)
    assert sorted(got) == sorted(f"Q{n}" for n in numbers)
    assert set(got.values()) == {1}


def _loops_from_document() -> dict[str, tuple[list[str], list[str]]]:
    text = (SEEDS / LOOPS).read_text(encoding="utf-8")
    # Two places where the PDF text ran bullets together; the bank keeps them apart.
    text = text.replace("simplify to\np - y? - When", "simplify to p - y?\n- When")
    text = text.replace("- check\nlog,exp, division, normalization - clip",
                        "- check log, exp, division, normalization\n- clip")
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / LOOPS
        p.write_text(text, encoding="utf-8")
        drafts = parse_document(p)
    return {d.source.split("#")[1]: (d.points, d.follow_ups) for d in drafts}


def test_loops_keep_their_exact_points_and_follow_ups(bank: Bank) -> None:
    loops = _loops_from_document()
    assert sorted(loops) == [f"Loop {n}" for n in range(1, 9)]
    by_source = {s: e for e in bank for s in e.question.sources}
    for loop, (points, follow_ups) in loops.items():
        entry = by_source[f"{LOOPS}#{loop}"]
        assert [_norm(p.text) for p in entry.rubric.points] == [_norm(p) for p in points], loop
        assert [_norm(f.text) for f in entry.rubric.follow_ups] == [_norm(f) for f in
                                                                    follow_ups], loop


def test_every_listed_question_banked_once(bank: Bank) -> None:
    drafts = [d for d in parse_document(SEEDS / LIST) if not d.text.endswith(":")]
    # The closing "If you want, I can now" offers are not questions.
    offers = ("Expand any one category", "Generate concise model answers", "Produce STAR")
    positions = [d.source.split("#")[1] for d in drafts if not d.text.startswith(offers)]
    assert len(positions) == 152
    got = sources(bank, LIST)
    assert sorted(got, key=int) == positions
    assert set(got.values()) == {1}


# Counted by hand, in reading order: 003 numbers its first four items 1-4, then restarts at 1 for
# "Bias vs Variance" and runs to 68, so it asks 72 questions; 004's numbering is broken (two 7s,
# 9 before 8) and NLP item 1 holds three answered sub-questions: 49 questions (the list is in
# the closing note of the bank issue).
@pytest.mark.parametrize(("doc", "count"), [(AIENG, 72), (MLNLP, 49)])
def test_every_qa_question_banked_once(bank: Bank, doc: str, count: int) -> None:
    got = sources(bank, doc)
    assert sorted(got, key=int) == [str(n) for n in range(1, count + 1)]
    assert set(got.values()) == {1}


def test_a_question_from_several_documents_is_one_entry(bank: Bank) -> None:
    multi = [e for e in bank if len({s.split("#")[0] for s in e.question.sources}) > 1]
    assert multi, "duplicates across documents must be merged into one entry"
    seen: Counter[str] = Counter(s for e in bank for s in e.question.sources
                                 if "split" not in e.question.tags)
    assert max(seen.values()) == 1
