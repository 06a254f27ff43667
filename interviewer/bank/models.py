"""Pydantic models of the question bank and rubrics (user-written files: `extra="forbid"`).

A question lives in `question_bank/<topic>/<name>.yaml` and its rubric in
`rubrics/<topic>/<name>.yaml`; both are keyed by the question `id`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$", max_length=80)]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

#: `<seed file name>#<item>`: `Q12` (spoken bank), `Loop 3` (loops) or a 1-based position (`17`).
SOURCE_RE = re.compile(r"^[^#\s]+\.txt#(Q\d+|Loop \d+|\d+)$")


class Difficulty(StrEnum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


class Kind(StrEnum):
    """What sort of answer the question wants (shapes judging and feedback)."""

    CONCEPT = "concept"
    CODING = "coding"
    DEBUGGING = "debugging"
    SYSTEM_DESIGN = "system-design"
    RESEARCH = "research"
    BEHAVIORAL = "behavioral"
    PROJECT = "project"


class _UserModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Question(_UserModel):
    """One interview question, as the candidate hears it."""

    id: Slug
    text: NonEmpty
    topic: Slug
    difficulty: Difficulty = Difficulty.MEDIUM
    kind: Kind = Kind.CONCEPT
    sources: list[str] = Field(min_length=1)
    reference_answer: NonEmpty
    tags: list[str] = Field(default_factory=list)

    @field_validator("sources")
    @classmethod
    def _check_sources(cls, value: list[str]) -> list[str]:
        for s in value:
            if not SOURCE_RE.match(s):
                raise ValueError(f"source {s!r} is not '<seed file>.txt#<Qn|Loop n|n>'")
        if len(set(value)) != len(value):
            raise ValueError("duplicate source")
        return value


class ExpectedPoint(_UserModel):
    """A short, checkable statement a strong answer makes."""

    id: Slug
    text: NonEmpty
    weight: float = Field(default=1.0, gt=0, le=5)
    description: str | None = None
    aliases: list[NonEmpty] = Field(default_factory=list)
    #: A probe aimed at this point, asked when the point is missed.
    follow_up: str | None = None


class FollowUp(_UserModel):
    """A follow-up question; `targets` names the point ids it probes (empty: general)."""

    id: Slug
    text: NonEmpty
    targets: list[Slug] = Field(default_factory=list)


class Rubric(_UserModel):
    """How answers to one question are judged."""

    question_id: Slug
    points: list[ExpectedPoint] = Field(min_length=3, max_length=7)
    follow_ups: list[FollowUp] = Field(default_factory=list)
    #: Claims a strong answer must not make (e.g. "p-value is the probability H0 is true").
    red_flags: list[NonEmpty] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_refs(self) -> Rubric:
        ids = [p.id for p in self.points]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate point id(s): {sorted(dup)}")
        fids = [f.id for f in self.follow_ups]
        dupf = {i for i in fids if fids.count(i) > 1}
        if dupf:
            raise ValueError(f"duplicate follow-up id(s): {sorted(dupf)}")
        for f in self.follow_ups:
            for t in f.targets:
                if t not in ids:
                    raise ValueError(f"follow-up {f.id!r} targets unknown point {t!r}")
        if len(self.all_follow_ups()) < 2:
            raise ValueError("a rubric needs at least 2 follow-ups")
        return self

    def point(self, point_id: str) -> ExpectedPoint:
        for p in self.points:
            if p.id == point_id:
                return p
        raise KeyError(point_id)

    def all_follow_ups(self) -> list[str]:
        """Every follow-up text: point-level probes first, then the rubric's list."""
        out = [p.follow_up for p in self.points if p.follow_up]
        out += [f.text for f in self.follow_ups if f.text not in out]
        return out


class QuestionFile(_UserModel):
    """Top level of a `question_bank/**/*.yaml` file."""

    questions: list[Question] = Field(min_length=1)


class RubricFile(_UserModel):
    """Top level of a `rubrics/**/*.yaml` file."""

    rubrics: list[Rubric] = Field(min_length=1)


class BankEntry(BaseModel):
    """A question joined with its rubric: what the rest of the program consumes."""

    model_config = ConfigDict(frozen=True)

    question: Question
    rubric: Rubric
    question_file: str
    rubric_file: str

    @property
    def id(self) -> str:
        return self.question.id

    def listing(self) -> dict[str, object]:
        """The stable `bank list --format json` contract."""
        q = self.question
        return {
            "id": q.id,
            "text": q.text,
            "topic": q.topic,
            "difficulty": q.difficulty.value,
            "kind": q.kind.value,
            "sources": list(q.sources),
            "points": [p.text for p in self.rubric.points],
            "follow_ups": self.rubric.all_follow_ups(),
        }
