"""Which questions a session asks: filters, seeded shuffling, and weakest-points-first drill."""

from __future__ import annotations

import random
from collections.abc import Iterable

from interviewer.bank.loader import Bank
from interviewer.bank.models import BankEntry
from interviewer.errors import UsageError


def select_questions(bank: Bank, *, question_ids: Iterable[str] = (), topic: str | None = None,
                     difficulty: str | None = None, count: int = 3, seed: int | None = None,
                     drill_order: list[str] | None = None) -> list[BankEntry]:
    """Pick `count` questions. Explicit ids win; `drill_order` (question ids, most due first)
    puts weak points first; otherwise a seeded shuffle of the filtered bank."""
    ids = list(question_ids)
    if ids:
        return [bank.get(q) for q in ids]
    pool = [e for e in bank
            if (topic is None or e.question.topic == topic)
            and (difficulty is None or e.question.difficulty.value == difficulty)]
    if not pool:
        raise UsageError(f"no questions match topic={topic!r} difficulty={difficulty!r}",
                         hint=f"topics: {', '.join(bank.topics())}")
    rng = random.Random(seed)
    rng.shuffle(pool)
    if drill_order:
        rank = {qid: i for i, qid in enumerate(drill_order)}
        pool.sort(key=lambda e: rank.get(e.id, len(rank)))
    return pool[: max(1, count)]
