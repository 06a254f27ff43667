"""Session folders: `recordings/<session-id>/` with one WAV per take and `session.json`.

`session.json` is rewritten atomically (temp file + fsync + rename) after every step, so a killed
session always leaves a valid folder. Folders are private to the user (0700, files 0600).
Session ids are validated so nothing outside the recordings root is ever opened.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from interviewer.errors import DataError, UsageError
from interviewer.protocols import Judgement, SpeechResult, Take, Transcript

SCHEMA_VERSION = 1
_ID_RE = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DeliveryMetrics(_M):
    """Computed from word timestamps (never guessed by an LLM)."""

    words: int = 0
    speaking_s: float = 0.0  # first word start → last word end
    words_per_minute: float | None = None
    long_pauses: int = 0
    longest_pause_s: float = 0.0
    fillers: int = 0
    fillers_per_minute: float | None = None
    filler_words: dict[str, int] = Field(default_factory=dict)
    time_to_first_word_s: float | None = None


class TakeRecord(_M):
    """One attempt at answering a turn; a retry adds another take, both kept."""

    index: int
    audio: str | None = None  # file name inside the session folder (None for --text)
    take: Take | None = None
    typed_answer: str | None = None
    transcript: Transcript | None = None
    judgements: list[Judgement] = Field(default_factory=list)  # newest last (rejudge keeps old)
    metrics: DeliveryMetrics | None = None
    status: Literal["recording", "recorded", "transcribed", "judged", "no_answer"] = "recording"

    @property
    def judgement(self) -> Judgement | None:
        return self.judgements[-1] if self.judgements else None


class Turn(_M):
    """A question asked (main question or follow-up) and its takes."""

    index: int
    question_id: str
    text: str
    kind: Literal["question", "follow_up"] = "question"
    parent: int | None = None  # the main question's turn index, for follow-ups
    follow_up_id: str | None = None
    asked: SpeechResult | None = None
    takes: list[TakeRecord] = Field(default_factory=list)
    skipped: bool = False

    @property
    def final_take(self) -> TakeRecord | None:
        return self.takes[-1] if self.takes else None


class SessionRecord(_M):
    """Everything about one practice session, persisted as `session.json`."""

    schema_version: int = SCHEMA_VERSION
    id: str
    created: str
    updated: str
    status: Literal["running", "completed", "interrupted"] = "running"
    plan: list[str] = Field(default_factory=list)  # question ids, in order
    settings: dict[str, Any] = Field(default_factory=dict)
    engines: dict[str, str] = Field(default_factory=dict)
    turns: list[Turn] = Field(default_factory=list)
    asked_follow_ups: list[str] = Field(default_factory=list)

    def main_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.kind == "question"]

    def mean_score(self) -> float | None:
        scores = [j.score for t in self.turns if t.kind == "question" and t.final_take
                  and (j := t.final_take.judgement) is not None]
        return sum(scores) / len(scores) if scores else None

    def remaining(self) -> list[str]:
        done = {t.question_id for t in self.main_turns()
                if t.skipped or (t.final_take and t.final_take.status in ("judged", "no_answer"))}
        return [q for q in self.plan if q not in done]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def atomic_write(path: Path, data: str) -> None:
    """Write-then-rename so readers (and a crash) only ever see a whole file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class SessionStore:
    """Creates, finds, loads and saves session folders under one recordings root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def create(self, record: SessionRecord) -> Path:
        _private_dir(self.root)
        folder = self.root / record.id
        _private_dir(folder)
        self.save(record)
        return folder

    def folder(self, session_id: str) -> Path:
        return self.root / session_id

    def save(self, record: SessionRecord) -> None:
        record.updated = now_iso()
        atomic_write(self.folder(record.id) / "session.json",
                     record.model_dump_json(indent=2, exclude_none=True))

    def log_llm_call(self, session_id: str, entry: dict[str, Any]) -> None:
        """Append one prompt/response record (audit trail of every LLM call)."""
        path = self.folder(session_id) / "llm_calls.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if _ID_RE.match(p.name) and (p / "session.json").is_file())

    def resolve(self, ref: str) -> str:
        """Session id from an id, `last`, or a path to a folder inside the root.

        Anything that would leave the recordings root is refused.
        """
        if ref == "last":
            ids = self.ids()
            if not ids:
                raise UsageError(f"no sessions under {self.root}",
                                 hint="run `interviewer practice` first")
            return ids[-1]
        candidate = Path(ref)
        if _ID_RE.match(ref):
            sid = ref
        elif candidate.exists():
            real = candidate.resolve()
            if real.parent != self.root.resolve() or not _ID_RE.match(real.name):
                raise UsageError(f"{ref}: not a session folder inside {self.root}")
            sid = real.name
        else:
            raise UsageError(f"{ref!r} is not a session id (YYYYMMDD-HHMMSS-xxxx), a session "
                             "folder, or 'last'", hint="see `interviewer sessions`")
        if not (self.folder(sid) / "session.json").is_file():
            raise UsageError(f"no session {sid!r} under {self.root}",
                             hint="see `interviewer sessions`")
        return sid

    def load(self, ref: str) -> SessionRecord:
        sid = self.resolve(ref)
        path = self.folder(sid) / "session.json"
        try:
            return SessionRecord.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError) as exc:
            raise DataError(f"{path}: unreadable session file: {exc}") from exc

    def audio_path(self, record: SessionRecord, name: str) -> Path:
        """Path of a take's audio file, refusing names that escape the session folder."""
        folder = self.folder(record.id).resolve()
        path = (folder / name).resolve()
        if path.parent != folder:
            raise DataError(f"{name!r}: audio path escapes the session folder")
        return path
