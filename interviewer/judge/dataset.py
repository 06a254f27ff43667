"""Labelled judge data: the project's dev set, SemEval-2013 2-way, and ad-hoc rubrics.

Every item is a `BankEntry` (so backends judge it exactly as they judge banked questions), an
answer text and a gold status per point.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from interviewer.bank.models import BankEntry, ExpectedPoint, FollowUp, Question, Rubric
from interviewer.errors import DataError
from interviewer.protocols import Status

_SLUG_BAD = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Item:
    """One labelled answer."""

    item_id: str
    entry: BankEntry
    answer: str
    gold: dict[str, Status]  # point id -> status
    split: str = "dev"
    style: str = ""
    group: str = ""  # dataset part, e.g. "beetle"


def slug(text: str, fallback: str = "x") -> str:
    """A bank-style slug (`[a-z0-9-]`) from free text."""
    s = _SLUG_BAD.sub("-", text.lower()).strip("-")[:60].strip("-")
    return s if len(s) >= 2 else f"{fallback}-{s or '0'}"


def adhoc_entry(question: str, points: Sequence[str | Mapping[str, Any]], *,
                question_id: str | None = None, reference_answer: str | None = None,
                follow_ups: list[dict[str, Any]] | None = None,
                templated_follow_ups: bool = False) -> BankEntry:
    """A `BankEntry` for a question that is not in the bank (CLI stdin, datasets).

    `points` are plain strings (ids `p1`, `p2`, …) or dicts with ExpectedPoint fields. Built
    without the bank's authoring checks (3–7 points, two follow-ups), which exist for people
    writing rubrics, not for one-off judging. With `templated_follow_ups` each plain-string
    point gets a generic probe, so a missed point still yields a follow-up.
    """
    if not question.strip() or not points:
        raise DataError("a question needs a text and at least one expected point")
    eps = []
    for i, p in enumerate(points, 1):
        d: dict[str, Any] = {"id": f"p{i}", "text": p} if isinstance(p, str) else {**p}
        if templated_follow_ups and isinstance(p, str):
            d["follow_up"] = f"Can you say more about this point: {p.strip().rstrip('.?')}?"
        eps.append(ExpectedPoint.model_construct(**{
            "weight": 1.0, "description": None, "aliases": [], "follow_up": None, **d}))
    fus = [FollowUp.model_construct(**{"targets": [], **f}) for f in (follow_ups or [])]
    qid = question_id or slug(question, "q")
    ref = reference_answer or " ".join(e.text.rstrip(".") + "." for e in eps)
    q = Question.model_construct(id=qid, text=question, topic="adhoc", sources=["adhoc.txt#1"],
                                 reference_answer=ref, tags=[])
    r = Rubric.model_construct(question_id=qid, points=eps, follow_ups=fus, red_flags=[])
    return BankEntry.model_construct(question=q, rubric=r, question_file="<adhoc>",
                                     rubric_file="<adhoc>")


# ----------------------------------------------------------------------------- dev set
def load_devset(path: Path) -> list[Item]:
    """Load the project's dev-set YAML (format described at the top of the file)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot read dev set: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise DataError(f"{path}: expected a mapping with a 'questions' list")
    items: list[Item] = []
    for qi, q in enumerate(data["questions"]):
        where = f"{path}: questions[{qi}]"
        try:
            entry = adhoc_entry(q["text"], q["points"], question_id=q["id"],
                                reference_answer=q.get("reference_answer"),
                                follow_ups=q.get("follow_ups"))
            ids = [p.id for p in entry.rubric.points]
            for ai, a in enumerate(q["answers"]):
                gold: dict[str, Status] = dict.fromkeys(ids, "missing")
                for status in ("covered", "partial"):
                    for pid in a.get(status, []) or []:
                        if pid not in gold:
                            raise DataError(
                                f"{where}.answers[{ai}].{status}: unknown point {pid!r}")
                        gold[pid] = status
                items.append(Item(f"{q['id']}/{a['id']}", entry, " ".join(a["text"].split()),
                                  gold, split=a.get("split", q.get("split", "dev")),
                                  style=a.get("style", a["id"]), group=q["id"]))
        except (KeyError, TypeError) as exc:
            raise DataError(f"{where}: missing or malformed field {exc}") from exc
    return items


# ----------------------------------------------------------------------------- SemEval
SEMEVAL_SPLITS = {"train": "training", "test": "test/{part}/test-unseen-answers"}


def load_semeval(root: Path, split: str = "test", parts: tuple[str, ...] = ("beetle",
                                                                            "sciEntsBank"),
                 ) -> list[Item]:
    """SemEval-2013 Task 7 2-way: one point per question (its reference answer), correct = covered.

    The first reference answer is the point text; further reference answers become aliases.
    `split` is "train" (training/) or "test" (test-unseen-answers).
    """
    items: list[Item] = []
    for part in parts:
        sub = (root / "training" / part) if split == "train" else (
            root / "test" / part / "test-unseen-answers")
        if not sub.is_dir():
            raise DataError(f"{sub}: SemEval folder not found")
        for xml in sorted(sub.glob("*.xml")):
            try:
                tree = ET.parse(xml).getroot()
            except ET.ParseError as exc:
                raise DataError(f"{xml}: invalid XML: {exc}") from exc
            qtext = (tree.findtext("questionText") or "").strip()
            refs = [" ".join((r.text or "").split()) for r in tree.iter("referenceAnswer")]
            refs = [r for r in refs if r]
            if not qtext or not refs:
                continue
            qid = slug(tree.get("id", xml.stem), "q")
            entry = adhoc_entry(qtext, [{"id": "ref", "text": refs[0], "aliases": refs[1:]}],
                                question_id=qid, reference_answer=refs[0])
            for sa in tree.iter("studentAnswer"):
                text = " ".join((sa.text or "").split())
                gold: Status = "covered" if sa.get("accuracy") == "correct" else "missing"
                items.append(Item(f"{part}/{sa.get('id')}", entry, text, {"ref": gold},
                                  split=split, style="semeval", group=part))
    return items


# ----------------------------------------------------------------------------- authored corpus
CORPUS_DIR = Path(__file__).resolve().parents[2] / "training" / "data"


def load_corpus(bank: Any, split: str, *, points_only: bool = False,
                corpus_dir: Path = CORPUS_DIR) -> list[Item]:
    """The authored verifier corpus (`training/data/corpus_part*.jsonl`) for one question split
    ("train", "dev" or "test", fixed by `training/corpus_spec.py`'s hash of the question id).

    Gold `contradicted` counts as missing (it earns nothing). With `points_only` each rubric is
    reduced to its point texts (no descriptions, aliases or authored probes), as someone else's
    rubric would be.
    """
    import hashlib
    import json

    def split_of(qid: str) -> str:  # the same rule as training/corpus_spec.py
        r = int(hashlib.sha256(("split:" + qid).encode()).hexdigest()[:8], 16) % 100
        return "train" if r < 70 else ("dev" if r < 85 else "test")

    items: list[Item] = []
    for f in sorted(corpus_dir.glob("corpus_part*.jsonl")):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                qid = rec["question_id"]
                if split_of(qid) != split:
                    continue
                entry = bank.get(qid)
                if points_only:
                    entry = adhoc_entry(entry.question.text,
                                        [{"id": p.id, "text": p.text} for p in entry.rubric.points],
                                        question_id=qid)
                gold: dict[str, Status] = {
                    pid: "missing" if lab["status"] == "contradicted" else lab["status"]
                    for pid, lab in rec["labels"].items()}
            except (KeyError, TypeError, ValueError) as exc:
                raise DataError(f"{f}:{n}: malformed corpus record: {exc}") from exc
            items.append(Item(f"{qid}/{rec['answer_id']}", entry, rec["text"], gold,
                              split=split, style=rec.get("style", ""), group=qid))
    return items
