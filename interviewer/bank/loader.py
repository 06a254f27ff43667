"""Load `question_bank/` and `rubrics/` YAML files into validated `BankEntry` objects.

Errors name the file and the field (`rubrics/x.yaml: rubrics[2].points[0].text: ...`) so a user
editing a file by hand can find the problem at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from interviewer.bank.models import BankEntry, Question, QuestionFile, Rubric, RubricFile
from interviewer.errors import BankError, UsageError

M = TypeVar("M", bound=BaseModel)
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top>"


def format_validation_error(path: Path | str, err: ValidationError) -> list[str]:
    """One `file: field: message` line per problem pydantic found."""
    return [f"{path}: {_loc(e['loc'])}: {e['msg']}" for e in err.errors()]


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BankError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        # libyaml's C loader parses the whole bank ~10x faster than the pure-Python one.
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BankError(f"{path}{where}: invalid YAML: {problem}") from exc


class ParseCache:
    """Parsed YAML keyed by path, size and mtime, kept as one JSON file.

    Parsing ~250 YAML files dominates start-up (~0.4 s even with libyaml); reading the cached
    JSON takes a few ms, which keeps "launch → first question audible" short. Any change to a
    file changes its mtime or size and it is parsed again; the cache is never trusted for
    validation, only for parsing.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, Any] = {}
        self.dirty = False
        if path is not None and path.is_file():
            try:
                self.entries = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.entries = {}

    def load(self, file: Path) -> Any:
        st = file.stat()
        key, stamp = str(file.resolve()), [st.st_size, st.st_mtime_ns]
        hit = self.entries.get(key)
        if hit is not None and hit.get("stamp") == stamp:
            return hit["data"]
        data = read_yaml(file)
        self.entries[key] = {"stamp": stamp, "data": data}
        self.dirty = True
        return data

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(self.entries, default=str), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only home only costs start-up time


def parse_file(path: Path, model: type[M], cache: ParseCache | None = None) -> M:
    """Validate one YAML file against `model`; raise `BankError` listing every problem."""
    data = cache.load(path) if cache is not None else read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = format_validation_error(path, exc)
        more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
        raise BankError(lines[0] + more) from exc


@dataclass
class Bank:
    """The loaded bank: entries by id plus any problems met while loading."""

    entries: dict[str, BankEntry] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[BankEntry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, qid: str) -> BankEntry:
        try:
            return self.entries[qid]
        except KeyError:
            close = [k for k in self.entries if qid in k][:5]
            hint = f"did you mean: {', '.join(close)}" if close else "see `interviewer bank list`"
            raise UsageError(f"no question with id {qid!r} in the bank", hint=hint) from None

    def topics(self) -> list[str]:
        return sorted({e.question.topic for e in self})


def _yaml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.y*ml") if p.suffix in {".yaml", ".yml"})


def load_bank(questions_dir: Path, rubrics_dir: Path, *, strict: bool = True,
              cache_file: Path | None = None) -> Bank:
    """Load every question and rubric file and join them by question id.

    With `strict` the first problem raises `BankError`; otherwise problems are collected in
    `Bank.problems` (what `bank check` reports) and the valid entries are still returned.
    """
    bank = Bank()
    cache = ParseCache(cache_file)
    questions: dict[str, tuple[Question, Path]] = {}
    rubrics: dict[str, tuple[Rubric, Path]] = {}

    def problem(msg: str) -> None:
        if strict:
            raise BankError(msg)
        bank.problems.append(msg)

    for d, what in ((questions_dir, "question bank"), (rubrics_dir, "rubrics")):
        if not d.is_dir():
            problem(f"{d}: {what} directory does not exist")
    for path in _yaml_files(questions_dir) if questions_dir.is_dir() else []:
        try:
            qf = parse_file(path, QuestionFile, cache)
        except BankError as exc:
            problem(str(exc))
            continue
        for i, q in enumerate(qf.questions):
            if q.id in questions:
                problem(f"{path}: questions[{i}].id: duplicate id {q.id!r} "
                        f"(also in {questions[q.id][1]})")
                continue
            questions[q.id] = (q, path)
    for path in _yaml_files(rubrics_dir) if rubrics_dir.is_dir() else []:
        try:
            rf = parse_file(path, RubricFile, cache)
        except BankError as exc:
            problem(str(exc))
            continue
        for i, r in enumerate(rf.rubrics):
            if r.question_id in rubrics:
                problem(f"{path}: rubrics[{i}].question_id: second rubric for "
                        f"{r.question_id!r} (also in {rubrics[r.question_id][1]})")
                continue
            if r.question_id not in questions:
                problem(f"{path}: rubrics[{i}].question_id: no question with id {r.question_id!r}")
                continue
            rubrics[r.question_id] = (r, path)
    cache.save()
    for qid, (q, qpath) in questions.items():
        if qid not in rubrics:
            problem(f"{qpath}: questions[id={qid}]: has no rubric in {rubrics_dir}")
            continue
        r, rpath = rubrics[qid]
        bank.entries[qid] = BankEntry(question=q, rubric=r, question_file=str(qpath),
                                      rubric_file=str(rpath))
    return bank
