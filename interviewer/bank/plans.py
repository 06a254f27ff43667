"""Interview plans: YAML files describing a whole mock interview as timed segments.

A plan is data (`plans/<name>.yaml` at the project root, or any file the user writes), validated
like the bank: pydantic with `extra="forbid"`, read through the bank's defensive YAML reader, and
every problem reported as one `file: field: message` line. `draw` turns a plan into concrete
segments (question ids and per-answer budgets) from the bank; it is pure (no session, no clock).

```yaml
name: ml-engineer-45
title: ML engineer interview (45 minutes)
minutes: 45                       # the interview's budget
segments:
  - name: warm-up
    label: warm-up question       # "Let's move to a warm-up question."
    count: 1                      # questions drawn for this segment
    topics: [classical-ml]        # filters (any of each list; omitted = any)
    kinds: [concept]
    difficulty: [easy, medium]
    follow_ups: 1                 # follow-ups per question, or "all" (a seed loop: every one)
    answer_s: 120                 # budget of each question's first answer (default: per kind)
    follow_up_s: 60               # budget of each follow-up answer (default: per kind)
  - {name: loop-3, loop: 3, follow_ups: all}        # the seed document's Loop 3
  - {name: pick, questions: [masked-softmax-attention]}
```
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from interviewer.bank.loader import Bank, format_validation_error, read_yaml
from interviewer.bank.models import BankEntry, Difficulty, Kind, Slug
from interviewer.errors import BankError, UsageError

#: The seed document whose eight timed loops `loop: N` and `practice --loop N` refer to.
LOOP_SOURCE = "001_9ef217ca63503aa2.txt"
#: The shipped plan holding the eight seed loops (`practice --loop N` runs one of its segments).
LOOPS_PLAN = "seed-loops"

#: Budget of a question's first answer by kind, seconds (behavioural: the seed's "concise 1–2
#: min answers").
ANSWER_S: dict[Kind, float] = {
    Kind.CONCEPT: 150, Kind.CODING: 420, Kind.DEBUGGING: 300, Kind.SYSTEM_DESIGN: 480,
    Kind.RESEARCH: 240, Kind.BEHAVIORAL: 120, Kind.PROJECT: 180,
}
#: Budget of one follow-up answer by kind, seconds.
FOLLOW_UP_S: dict[Kind, float] = {k: (60.0 if k is Kind.BEHAVIORAL else 90.0) for k in Kind}

Seconds = Annotated[float, Field(gt=0, le=3600)]


class _PlanModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SegmentSpec(_PlanModel):
    """One segment of a plan file: which questions, how many follow-ups, what budgets."""

    name: Slug
    label: str | None = None  # what the announcement calls it ("debugging question")
    announce: str | None = None  # the whole announcement, when the default does not fit
    count: int = Field(default=1, ge=1, le=20)
    loop: int | None = Field(default=None, ge=1, le=8)
    questions: list[Slug] = Field(default_factory=list)
    topics: list[Slug] = Field(default_factory=list)
    kinds: list[Kind] = Field(default_factory=list)
    difficulty: list[Difficulty] = Field(default_factory=list)
    follow_ups: int | Literal["all"] = Field(default=1)
    answer_s: Seconds | None = None
    follow_up_s: Seconds | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SegmentSpec:
        filters = bool(self.topics or self.kinds or self.difficulty)
        if self.loop is not None and (self.questions or filters):
            raise ValueError("`loop` picks its question: drop `questions` and the filters")
        if self.questions and filters:
            raise ValueError("`questions` names the questions: drop the filters")
        if isinstance(self.follow_ups, int) and not 0 <= self.follow_ups <= 10:
            raise ValueError("follow_ups must be 0–10 or \"all\"")
        return self


class PlanFile(_PlanModel):
    """Top level of a plan file."""

    name: Slug
    title: str
    minutes: float = Field(gt=0, le=240)
    segments: list[SegmentSpec] = Field(min_length=1, max_length=30)


class PlannedQuestion(BaseModel):
    """A drawn question with its answer budgets (already scaled by `--minutes`)."""

    id: str
    answer_s: float
    follow_up_s: float
    follow_ups: int = 0  # how many follow-ups it will be asked (at most)


class PlannedSegment(BaseModel):
    """A segment as the session runs it."""

    name: str
    label: str
    announce: str
    #: None: every follow-up of the rubric (a seed loop); a default, as sessions store no nulls.
    follow_ups: int | None = None
    questions: list[PlannedQuestion]

    @property
    def budget_s(self) -> float:
        """The segment's time: each question's answer plus its follow-ups' answers."""
        return sum(q.answer_s + q.follow_up_s * q.follow_ups for q in self.questions)


# --------------------------------------------------------------------------- loading
def plans_dir(project_root: Path) -> Path:
    """Where the shipped plans live (`plans/` next to `question_bank/`)."""
    return project_root / "plans"


def shipped_plans(project_root: Path) -> list[str]:
    """Names of the shipped plans."""
    d = plans_dir(project_root)
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


def find_plan(ref: str, project_root: Path) -> Path:
    """A plan file from a shipped plan's name or a path."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise UsageError(f"{ref}: no such plan file")
        return path
    shipped = plans_dir(project_root) / f"{ref}.yaml"
    if not shipped.is_file():
        raise UsageError(f"no plan named {ref!r}",
                         hint=f"shipped plans: {', '.join(shipped_plans(project_root)) or '-'}"
                              "; or give a plan file's path")
    return shipped


def load_plan(path: Path) -> PlanFile:
    """Validate one plan file; `BankError` with one `file: field: message` line otherwise."""
    data = read_yaml(path)
    try:
        return PlanFile.model_validate(data)
    except ValidationError as exc:
        lines = format_validation_error(path, exc)
        more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
        raise BankError(lines[0] + more) from None


# --------------------------------------------------------------------------- drawing questions
def loop_entry(bank: Bank, n: int) -> BankEntry | None:
    """The banked question of the seed document's Loop `n`."""
    tag = f"{LOOP_SOURCE}#Loop {n}"
    return next((e for e in bank if tag in e.question.sources), None)


def _matches(e: BankEntry, s: SegmentSpec) -> bool:
    q = e.question
    return ((not s.topics or q.topic in s.topics) and (not s.kinds or q.kind in s.kinds)
            and (not s.difficulty or q.difficulty in s.difficulty))


def _pick(spec: SegmentSpec, where: str, bank: Bank, used: set[str], rng: random.Random,
          drill_order: Sequence[str]) -> list[BankEntry]:
    if spec.loop is not None:
        entry = loop_entry(bank, spec.loop)
        if entry is None:
            raise BankError(f"{where}.loop: no bank question has source "
                            f"'{LOOP_SOURCE}#Loop {spec.loop}'")
        return [entry]
    if spec.questions:
        missing = [q for q in spec.questions if q not in bank.entries]
        if missing:
            raise BankError(f"{where}.questions: not in the bank: {', '.join(missing)}")
        return [bank.entries[q] for q in spec.questions]
    pool = [e for e in bank if _matches(e, spec) and e.id not in used]
    if not pool:
        raise BankError(f"{where}: no bank question matches topics={spec.topics} "
                        f"kinds={[k.value for k in spec.kinds]} "
                        f"difficulty={[d.value for d in spec.difficulty]}")
    rng.shuffle(pool)
    rank = {qid: i for i, qid in enumerate(drill_order)}
    pool.sort(key=lambda e: rank.get(e.id, len(rank)))  # stable: the shuffle breaks ties
    return pool[: spec.count]


def _default_label(spec: SegmentSpec, entries: Sequence[BankEntry]) -> str:
    if spec.label:
        return spec.label
    if spec.loop is not None:
        return f"Loop {spec.loop}"
    kind = entries[0].question.kind.value.replace("-", " ") if entries else "next"
    return f"{'behavioural' if kind == 'behavioral' else kind} question"


def announcement(label: str) -> str:
    """"Let's move to a debugging question." (an article unless the label is a name)."""
    if label[:1].isupper():
        return f"Let's move to {label}."
    article = "an" if label[:1].lower() in "aeiou" else "a"
    return f"Let's move to {article} {label}."


def draw(plan: PlanFile, bank: Bank, *, source: str = "plan", minutes: float | None = None,
         seed: int | None = None, drill_order: Sequence[str] = ()) -> list[PlannedSegment]:
    """The plan's segments with questions drawn from the bank (weak points first when
    `drill_order` is given) and budgets scaled to `minutes`; errors name `source` and the field."""
    scale = (minutes / plan.minutes) if minutes else 1.0
    rng, used = random.Random(seed), set[str]()
    out = []
    for i, spec in enumerate(plan.segments):
        entries = _pick(spec, f"{source}: segments[{i}]", bank, used, rng, drill_order)
        used.update(e.id for e in entries)
        label = _default_label(spec, entries)
        questions = [PlannedQuestion(
            id=e.id, answer_s=round((spec.answer_s or ANSWER_S[e.question.kind]) * scale, 1),
            follow_up_s=round((spec.follow_up_s or FOLLOW_UP_S[e.question.kind]) * scale, 1),
            follow_ups=len(e.rubric.follow_ups) if spec.follow_ups == "all" else spec.follow_ups)
            for e in entries]
        out.append(PlannedSegment(
            name=spec.name, label=label, announce=spec.announce or announcement(label),
            follow_ups=None if spec.follow_ups == "all" else spec.follow_ups,
            questions=questions))
    return out


__all__ = ["ANSWER_S", "FOLLOW_UP_S", "LOOPS_PLAN", "LOOP_SOURCE", "PlanFile", "PlannedQuestion",
           "PlannedSegment", "SegmentSpec", "announcement", "draw", "find_plan", "load_plan",
           "loop_entry", "plans_dir", "shipped_plans"]
