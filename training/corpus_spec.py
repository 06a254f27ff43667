"""The authored verifier corpus: which bank questions it covers, their split, and its validation.

The corpus (`training/data/corpus_part*.jsonl`) holds spoken-style answers to bank questions, each
labelled point by point. Splits are by *question*, fixed here by a hash of the question id, so no
answer to a test question ever reaches training or model selection.

    python3 training/corpus_spec.py show PART        # the questions a part covers (for authors)
    python3 training/corpus_spec.py show-extra PART  # the same for the extra train parts
    python3 training/corpus_spec.py check [FILE…]    # validate labels against the bank

Extra parts (`training/data/extra_part*.jsonl`) answer bank questions outside the 160 corpus
questions whose hash puts them in `train`: more questions to learn from, never a dev or test
question.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "training" / "data"
PARTS = 4
STATUSES = ("covered", "partial", "missing", "contradicted")
STYLES = ("strong", "paraphrase", "partial", "rambling", "wrong", "swapped", "denied", "vague",
          "offtopic", "jargon", "injection", "star-strong", "star-hollow")


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def split_of(question_id: str) -> str:
    """train (70 %), dev (15 %) or test (15 %), fixed by the question id alone."""
    r = _h("split:" + question_id) % 100
    return "train" if r < 70 else ("dev" if r < 85 else "test")


def load():  # noqa: ANN201 - training tool
    """The bank, read from this checkout."""
    sys.path.insert(0, str(ROOT))
    from interviewer.bank.loader import load_bank

    return load_bank(ROOT / "question_bank", ROOT / "rubrics")


def corpus_questions() -> list[str]:
    """The 160 bank questions the corpus covers: every non-concept question, then concept
    questions chosen by hash (so the set does not depend on the order of bank files)."""
    entries = sorted(load(), key=lambda e: e.id)
    other = [e.id for e in entries if e.question.kind != "concept"]
    concept = sorted((e.id for e in entries if e.question.kind == "concept"),
                     key=lambda i: _h("pick:" + i))
    return sorted(other + concept[: 160 - len(other)], key=lambda i: _h("part:" + i))


EXTRA_PARTS = 3


def extra_questions() -> list[str]:
    """Bank questions outside the corpus whose split is `train` (they only ever train)."""
    core = set(corpus_questions())
    return sorted((e.id for e in load() if e.id not in core and split_of(e.id) == "train"),
                  key=lambda i: _h("part:" + i))


def part_of(question_id: str, ids: list[str]) -> int:
    return ids.index(question_id) % PARTS + 1


def show(part: int, *, extra: bool = False) -> None:
    bank = load()
    ids = extra_questions() if extra else corpus_questions()
    for qid in ids:
        if (ids.index(qid) % EXTRA_PARTS + 1 if extra else part_of(qid, ids)) != part:
            continue
        e = bank.get(qid)
        print(f"=== {qid}  (kind: {e.question.kind}, topic: {e.question.topic})")
        print(f"Q: {e.question.text}")
        print(f"REFERENCE: {e.question.reference_answer}")
        for p in e.rubric.points:
            desc = f" — {p.description}" if p.description else ""
            print(f"  point {p.id}: {p.text}{desc}")
        print()


def check(files: list[Path]) -> int:
    """Print one line per problem; return the number of problems."""
    bank = load()
    ids = set(corpus_questions()) | set(extra_questions())
    problems, seen, n = 0, set(), 0

    def bad(where: str, msg: str) -> None:
        nonlocal problems
        problems += 1
        print(f"{where}: {msg}")

    for f in files:
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if not line.strip():
                continue
            where = f"{f.name}:{i}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                bad(where, f"not JSON: {exc}")
                continue
            n += 1
            qid, text = rec.get("question_id"), rec.get("text", "")
            if qid not in ids:
                bad(where, f"question_id {qid!r} is not a corpus (or extra train) question")
                continue
            if f.name.startswith("extra") and split_of(qid) != "train":
                bad(where, f"question_id {qid!r} is not a train question")
                continue
            if rec.get("style") not in STYLES:
                bad(where, f"style {rec.get('style')!r} not in {STYLES}")
            key = (qid, rec.get("answer_id"))
            if key in seen:
                bad(where, f"duplicate answer_id {key}")
            seen.add(key)
            points = {p.id for p in bank.get(qid).rubric.points}
            labels = rec.get("labels", {})
            if set(labels) != points:
                bad(where, f"labels {sorted(labels)} != rubric points {sorted(points)}")
            for pid, lab in labels.items():
                st, ev = lab.get("status"), lab.get("evidence")
                if st not in STATUSES:
                    bad(where, f"{pid}: status {st!r}")
                elif st == "missing" and ev:
                    bad(where, f"{pid}: missing point with evidence")
                elif st != "missing" and (not ev or ev not in text):
                    bad(where, f"{pid}: evidence is not a verbatim substring of text: {ev!r}")
    print(f"{n} answers checked, {problems} problems")
    return problems


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "show":
        show(int(sys.argv[2]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "show-extra":
        show(int(sys.argv[2]), extra=True)
    elif len(sys.argv) >= 2 and sys.argv[1] == "check":
        targets = [Path(a) for a in sys.argv[2:]] or sorted(
            [*DATA.glob("corpus_part*.jsonl"), *DATA.glob("extra_part*.jsonl")])
        sys.exit(1 if check(targets) else 0)
    elif len(sys.argv) >= 2 and sys.argv[1] == "splits":
        from collections import Counter

        qs = corpus_questions()
        print(len(qs), Counter(split_of(q) for q in qs))
    else:
        print(__doc__)
        sys.exit(2)
