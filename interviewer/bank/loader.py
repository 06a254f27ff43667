"""Load `question_bank/` and `rubrics/` YAML files into validated `BankEntry` objects.

Errors name the file and the field (`rubrics/x.yaml: rubrics[2].points[0].text: ...`) so a user
editing a file by hand can find the problem at once. Files are read defensively: a size cap, UTF-8
only, duplicate keys refused (YAML's "last one wins" hides typos), and the parsed data may not
expand far beyond the file (YAML aliases can turn kilobytes into gigabytes) nor hold huge fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from interviewer.bank.models import BankEntry, Question, QuestionFile, Rubric, RubricFile
from interviewer.errors import BankError, InterviewerError, UsageError, field_path
from interviewer.fsutil import ensure_private_dir, write_private

M = TypeVar("M", bound=BaseModel)
# libyaml's C loader parses the whole bank ~10x faster than the pure-Python one.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Largest bank/rubric file read (the biggest shipped file is ~60 KB).
MAX_FILE_BYTES = 2 * 1024 * 1024
#: Longest single text field (the longest shipped reference answer is ~1 000 characters).
MAX_FIELD_CHARS = 20_000
#: Parsed data may hold at most this many times the file's characters (plus a small allowance):
#: more means YAML aliases are multiplying it.
MAX_EXPANSION = 4


class _StrictLoader(_Base):  # type: ignore[valid-type,misc]
    """The safe loader, refusing duplicate keys in a mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def format_validation_error(path: Path | str, err: ValidationError) -> list[str]:
    """One `file: field: message` line per problem pydantic found."""
    return [f"{path}: {field_path(e['loc'])}: {e['msg']}" for e in err.errors()]


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BankError(f"{path}: {size} bytes; bank files are limited to "
                            f"{MAX_FILE_BYTES // (1024 * 1024)} MiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise BankError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BankError(f"{path}:{line}: not UTF-8 text (byte {exc.start}); save the file as "
                        "UTF-8") from None


def check_expansion(path: Path, data: Any, text_chars: int) -> None:
    """Refuse parsed data far larger than its file (alias amplification) or with a field over
    `MAX_FIELD_CHARS`. Walks shared (aliased) objects each time they occur, stopping as soon as
    the budget is spent, so a billion-laughs file costs a bounded amount of work."""
    budget = MAX_EXPANSION * text_chars + 65_536
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        item, where = stack.pop()
        budget -= 1
        if isinstance(item, str):
            if len(item) > MAX_FIELD_CHARS:
                raise BankError(f"{path}: {where or '<top>'}: {len(item)} characters; a field "
                                f"may hold at most {MAX_FIELD_CHARS}")
            budget -= len(item)
        elif isinstance(item, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
        if budget < 0:
            raise BankError(f"{path}: expands to far more data than the file holds (YAML "
                            "aliases?); refused")


def read_yaml(path: Path) -> Any:
    """Parse one bank file (size-capped, UTF-8, no duplicate keys, bounded expansion)."""
    text = _read_text(path)
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BankError(f"{path}{where}: invalid YAML: {problem}") from None
    check_expansion(path, data, len(text))
    return data


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
            ensure_private_dir(self.path.parent)
            write_private(self.path, json.dumps(self.entries, default=str))
        except InterviewerError:
            pass  # a read-only or full home only costs start-up time


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
