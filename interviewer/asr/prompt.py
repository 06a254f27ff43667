"""The initial prompt that biases Whisper toward the question's vocabulary and keeps fillers.

Whisper conditions on "previous text": a prompt that contains the technical terms of the question
and rubric ("KL divergence", "FSDP") makes it spell them as such instead of "scale divergence"
or "FS DP". Whisper also imitates the prompt's style, and it normally drops hesitations; a prompt
that itself contains "um" and "uh" makes it keep them, which the delivery metrics need.

Both engines keep only the last ~223 prompt tokens, so the terms go last and the question is
shortened first.
"""

from __future__ import annotations

from collections.abc import Iterable

from interviewer.bank.models import BankEntry

MAX_QUESTION_CHARS = 300
MAX_PROMPT_CHARS = 800  # ~200 tokens of English: inside Whisper's 223-token prompt budget
FILLER_STYLE = "Um, so, uh, let me think."


def build_prompt(question_text: str | None, terms: Iterable[str] = ()) -> str | None:
    """A Whisper initial prompt from the question text and rubric terms (None when both empty).

    Terms are de-duplicated case-insensitively, in order; the result is bounded in length.
    """
    q = " ".join((question_text or "").split())
    if len(q) > MAX_QUESTION_CHARS:
        q = q[: MAX_QUESTION_CHARS].rsplit(" ", 1)[0] + "…"
    seen: set[str] = set()
    kept: list[str] = []
    for t in terms:
        t = " ".join(str(t).split()).strip(" ,.;")
        if t and t.lower() not in seen:
            seen.add(t.lower())
            kept.append(t)
    if not q and not kept:
        return None
    parts = [p for p in (q, FILLER_STYLE) if p]
    if kept:
        budget = MAX_PROMPT_CHARS - sum(len(p) + 1 for p in parts) - len("Terms: .")
        glossary: list[str] = []
        for t in kept:
            if sum(len(g) + 2 for g in glossary) + len(t) > budget:
                break
            glossary.append(t)
        if glossary:
            parts.append("Terms: " + ", ".join(glossary) + ".")
    return " ".join(parts)


def prompt_for_entry(entry: BankEntry) -> str | None:
    """The prompt for a bank question: its text, then its tags and rubric point aliases."""
    terms = [*entry.question.tags]
    for point in entry.rubric.points:
        terms.extend(point.aliases)
    return build_prompt(entry.question.text, terms)
