"""`interviewer bank import`: turn a user's own question document into draft bank files.

Recognises the three layouts the seed documents use:
- Q&A: `Q12. question?` followed by `Model answer:` and its paragraphs;
- loops: `Loop 3: title`, `Prompt`, `Expected strong answer` / `Expectations` bullets,
  `Follow-ups` bullets;
- categorized lists: a heading line followed by `- question` bullets.
Drafts are for review: points come from listed expectations or the model answer's sentences;
where a document gives none, the rubric is left short and `bank check` says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interviewer.errors import DataError

_Q = re.compile(r"^Q(\d+)[.)]\s*(.+)$")
_LOOP = re.compile(r"^Loop\s+(\d+)\s*[:.-]\s*(.*)$", re.I)
_BULLET = re.compile(r"^\s*[-*•]\s+(.+)$")
_SECTION = re.compile(r"^\d+\.\s+([A-Z].{2,80})$")
_EXPECT = re.compile(r"^(expected strong answer|expectations|expected points?)\b", re.I)
_FOLLOW = re.compile(r"^follow[- ]?ups?\b", re.I)
# Terminal escape sequences (CSI/OSC/other ESC forms) and C0/C1 control characters other than
# tab and newline: a pasted document must not smuggle them into questions read on a terminal.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """`text` without ANSI escape sequences and control characters (tabs become spaces)."""
    return _CONTROL.sub("", _ANSI.sub("", text.replace("\r\n", "\n"))).replace("\t", " ")


@dataclass
class Draft:
    """One imported question before review."""

    source: str
    text: str
    topic: str
    reference_answer: str = ""
    points: list[str] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)


def slug(text: str, max_words: int = 7) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    stop = {"a", "an", "the", "of", "to", "and", "or", "is", "what", "how", "why", "do", "you"}
    kept = [w for w in words if w not in stop][:max_words] or words[:max_words] or ["item"]
    return "-".join(kept)[:80].strip("-")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 4]


class _Parser:
    """Reads a document line by line; `mode` says what the current bullets/paragraphs belong to."""

    def __init__(self, name: str, default_topic: str) -> None:
        self.name = name
        self.drafts: list[Draft] = []
        self.topic = slug(default_topic)
        self.mode = ""
        self.position = 0
        self.cur: Draft | None = None

    def feed(self, line: str) -> None:
        if self._opens(line) or self._marks(line):
            return
        if m := _BULLET.match(line):
            self._bullet(m.group(1).strip())
        elif m := _SECTION.match(line):
            self._heading(slug(m.group(1), 4))
        else:
            self._text(line)

    def _opens(self, line: str) -> bool:
        """A numbered question or a loop block starts a new draft."""
        if m := _Q.match(line):
            self.cur = Draft(f"{self.name}#Q{m.group(1)}", m.group(2).strip(), self.topic)
            self.mode = "question"
        elif m := _LOOP.match(line):
            self.cur = Draft(f"{self.name}#Loop {m.group(1)}", "", self.topic)
            self.mode = "loop-title"
        else:
            return False
        self.drafts.append(self.cur)
        return True

    def _marks(self, line: str) -> bool:
        """A label inside a draft ("Prompt", "Model answer", expectations, follow-ups)."""
        if self.cur is None:
            return False
        if line.lower().rstrip(":") == "prompt":
            self.mode = "prompt"
        elif line.lower().startswith("model answer"):
            self.mode = "answer"
        elif _EXPECT.match(line):
            self.mode = "expect"
        elif _FOLLOW.match(line):
            self.mode = "follow"
        else:
            return False
        return True

    def _bullet(self, item: str) -> None:
        if self.cur is not None and self.mode == "expect":
            self.cur.points.append(item)
        elif self.cur is not None and self.mode == "follow":
            self.cur.follow_ups.append(item)
        elif self.mode in ("", "list"):
            self.position += 1
            self.drafts.append(Draft(f"{self.name}#{self.position}", item, self.topic))
            self.mode = "list"

    def _heading(self, topic: str) -> None:
        self.topic = topic
        self.cur, self.mode = None, ""

    def _text(self, line: str) -> None:
        cur = self.cur
        if cur is not None and self.mode == "prompt" and not cur.text:
            cur.text = line
        elif cur is not None and self.mode == "answer":
            cur.reference_answer = f"{cur.reference_answer} {line}".strip()
        elif cur is not None and self.mode == "expect" and line.endswith(":"):
            return  # "You should cover:" and similar lead-ins
        elif self.mode == "list" or cur is None:
            # A plain line between bullet groups is a category heading.
            self._heading(slug(line, 4))


def parse_document(path: Path, default_topic: str = "imported") -> list[Draft]:
    """Parse one document; raises DataError when no recognised question is found."""
    try:
        lines = [ln.rstrip() for ln in clean_text(path.read_text(encoding="utf-8")).splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read as UTF-8 text: {exc}") from exc
    parser = _Parser(path.name, default_topic)
    for raw in lines:
        if line := raw.strip():
            parser.feed(line)
    drafts = parser.drafts
    for d in drafts:
        if not d.points and d.reference_answer:
            d.points = _sentences(d.reference_answer)[:5]
    drafts = [d for d in drafts if d.text]
    if not drafts:
        raise DataError(f"{path}: no questions recognised (expected 'Q1.' items, 'Loop 1:' "
                        "blocks or '- ' bullet lists under headings)")
    return drafts


def to_bank_files(drafts: list[Draft]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Group drafts by topic into (question file, rubric file) YAML-ready dicts."""
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    used: set[str] = set()
    for d in drafts:
        qid = base = slug(d.text)
        n = 2
        while qid in used:
            qid, n = f"{base}-{n}", n + 1
        used.add(qid)
        qfile, rfile = out.setdefault(d.topic, ({"questions": []}, {"rubrics": []}))
        qfile["questions"].append({
            "id": qid, "text": d.text, "topic": d.topic, "difficulty": "medium",
            "kind": "concept", "sources": [d.source],
            "reference_answer": d.reference_answer or "TODO: write a reference answer",
        })
        points: list[dict[str, str]] = []
        for i, p in enumerate(d.points):
            pid = slug(p, 4) or f"point-{i + 1}"
            if any(x["id"] == pid for x in points):
                pid = f"{pid}-{i + 1}"
            points.append({"id": pid, "text": p})
        rfile["rubrics"].append({
            "question_id": qid, "points": points,
            "follow_ups": [{"id": f"f{i + 1}", "text": f} for i, f in enumerate(d.follow_ups)],
        })
    return out
