"""Quality checks for the bank beyond schema validation (`interviewer bank check`).

All checks are lexical (token overlap) so `bank check` stays fast and never imports torch.
Each finding is one `file: field: message` line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import combinations

from interviewer.bank.loader import Bank
from interviewer.bank.models import BankEntry

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_STOP = frozenset(
    "a an the of to in on for and or is are be by with as at it its this that what how why when "
    "do does you your we i use used using vs versus between from into than then their can would "
    "should could about which who whom explain describe".split()
)

#: Question pairs above this token-set similarity are flagged as near-duplicates.
QUESTION_DUP = 0.8
#: Points of one rubric above this similarity are flagged as near-duplicates of each other.
POINT_DUP = 0.85
#: A reference answer should share at least this fraction of a point's content words
#: (or one of its aliases verbatim).
POINT_SUPPORT = 0.34


def tokens(text: str) -> set[str]:
    """Content words, lowercased, crude plural folding (so 'gradients' matches 'gradient')."""
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in _STOP:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def similarity(a: str, b: str) -> float:
    """Token-set overlap relative to the smaller set (1.0 = one contains the other)."""
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / min(len(ta), len(tb)) if min(len(ta), len(tb)) >= 3 else (
        len(ta & tb) / max(len(ta), len(tb))
    )


def _where(e: BankEntry, field: str, rubric: bool = True) -> str:
    return f"{e.rubric_file if rubric else e.question_file}: [id={e.id}].{field}"


def check_entry(e: BankEntry) -> Iterable[str]:
    """Findings for one entry: empty/one-word points, duplicate points, unsupported points,
    follow-ups that repeat the question."""
    r, q = e.rubric, e.question
    for i, p in enumerate(r.points):
        if len(p.text.split()) < 2 and not p.description:
            # A document may list a one-word point ("priors"); it is checkable only once a
            # description says what covering it means.
            yield (f"{_where(e, f'points[{i}].text')}: point {p.text!r} is a single word "
                   "with no description")
        if p.follow_up is not None and not p.follow_up.strip():
            yield f"{_where(e, f'points[{i}].follow_up')}: empty follow-up"
        ref = q.reference_answer.lower()
        ref_tokens = tokens(q.reference_answer)
        pt = tokens(p.text)
        covered = len(pt & ref_tokens) / len(pt) if pt else 0.0
        alias_hit = any(a.lower() in ref for a in p.aliases)
        if covered < POINT_SUPPORT and not alias_hit:
            yield (f"{_where(e, 'reference_answer', rubric=False)}: does not seem to mention "
                   f"point {p.id!r} ({p.text!r})")
    for (i, a), (j, b) in combinations(enumerate(r.points), 2):
        if similarity(a.text, b.text) >= POINT_DUP:
            yield f"{_where(e, f'points[{j}]')}: near-duplicate of points[{i}] ({a.id!r})"
    for text in r.all_follow_ups():
        if similarity(text, q.text) >= QUESTION_DUP:
            yield f"{_where(e, 'follow_ups')}: follow-up {text!r} repeats the question"


def check_bank(bank: Bank) -> list[str]:
    """Every finding in the bank (schema problems first), sorted for stable output."""
    findings = list(bank.problems)
    entries = list(bank)
    for e in entries:
        findings.extend(check_entry(e))
    seen_sources: dict[str, str] = {}
    for e in entries:
        for s in e.question.sources:
            # An "X or Y" source question may be banked as two entries tagged `split`.
            if s in seen_sources and not ("split" in e.question.tags and "split" in
                                          bank.entries[seen_sources[s]].question.tags):
                findings.append(f"{e.question_file}: [id={e.id}].sources: {s!r} is also the "
                                f"source of {seen_sources[s]!r} (merge them into one entry)")
            seen_sources[s] = e.id
    toks = [(e, tokens(e.question.text)) for e in entries]
    for (a, ta), (b, tb) in combinations(toks, 2):
        if len(ta) < 3 or len(tb) < 3:
            continue
        if len(ta & tb) / min(len(ta), len(tb)) >= QUESTION_DUP and len(ta & tb) / max(
            len(ta), len(tb)
        ) >= 0.6:
            findings.append(f"{b.question_file}: [id={b.id}].text: near-duplicate of question "
                            f"{a.id!r} in {a.question_file}")
    return findings
