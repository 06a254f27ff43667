"""Session folders: `recordings/<session-id>/` with one WAV per take and `session.json`.

`session.json` is rewritten atomically (temp file + fsync + rename) after every step, so a killed
session always leaves a valid folder. Folders the program creates are 0700 and every file is 0600
(`interviewer/fsutil.py`). Session ids are validated and symlinked session folders refused, so
nothing outside the recordings root is ever opened. A process that writes a session (a running
practice session, `rejudge`) holds an OS lock on its folder (`SessionStore.lock`).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from interviewer.audio.endpoint import DEFAULT_MAX_S, DEFAULT_NO_ANSWER_S, DEFAULT_SILENCE_S
from interviewer.errors import DataError, UsageError, one_line_validation
from interviewer.fsutil import (
    ensure_private_dir,
    folder_lock,
    is_real_dir,
    readable_by_others,
    write_private,
)
from interviewer.protocols import Judgement, SpeechResult, Take, Transcript
from interviewer.session.timeline import InterviewState

#: 2: follow-up turns store the points they probe (`targets`); scores are per question exchange
#: (see `session/exchange.py`); `settings` is a typed `SessionSettings`. Version-1 files load.
SCHEMA_VERSION = 2
_ID_RE = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")


class _M(BaseModel):
    # "allow": fields this version does not know (written by a newer version or by hand) are
    # kept and written back, never silently dropped on a rewrite.
    model_config = ConfigDict(extra="allow")


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
    #: Interview mode: seconds the answer took on the clock, and the interview clock at its start.
    answer_s: float | None = None
    started_s: float | None = None

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
    #: The rubric points a follow-up asks about (None: a schema-1 turn, derived when read).
    targets: list[str] | None = None
    asked: SpeechResult | None = None
    takes: list[TakeRecord] = Field(default_factory=list)
    skipped: bool = False
    segment: int | None = None  # interview mode: index in `SessionRecord.interview.segments`
    budget_s: float | None = None  # interview mode: the answer's time budget

    @property
    def final_take(self) -> TakeRecord | None:
        return self.takes[-1] if self.takes else None


class SessionSettings(_M):
    """How a session runs, stored with it so `--resume` continues it the same way (devices are
    not stored: they belong to the machine, not the session)."""

    max_follow_ups: int = 1
    silence: float = DEFAULT_SILENCE_S  # seconds of silence that end an answer
    max_s: float = DEFAULT_MAX_S  # longest answer, seconds
    no_answer_timeout: float = DEFAULT_NO_ANSWER_S
    text: bool = False  # typed answers
    answers_from: str | None = None  # a folder of WAV answers in place of the microphone
    no_tts: bool = False
    tts: str | None = None  # question voice ("piper" | "pyttsx3"; None: the default)
    voice: str | None = None
    rate: int | None = None
    asr: str = "faster-whisper"
    asr_model: str = "tiny.en"
    judge: str = "auto"
    judge_model: str | None = None


class SessionRecord(_M):
    """Everything about one practice session, persisted as `session.json`."""

    schema_version: int = SCHEMA_VERSION
    id: str
    created: str
    updated: str
    status: Literal["running", "completed", "interrupted"] = "running"
    plan: list[str] = Field(default_factory=list)  # question ids, in order
    settings: SessionSettings = Field(default_factory=SessionSettings)
    engines: dict[str, str] = Field(default_factory=dict)
    turns: list[Turn] = Field(default_factory=list)
    asked_follow_ups: list[str] = Field(default_factory=list)
    interview: InterviewState | None = None  # a mock interview's segments and clock

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        """Read a version-1 file as version 2: the same turns (a follow-up's targets are derived
        from its id when read, see `exchange.turn_targets`), settings typed. (`parse_session`
        refuses newer versions.)"""
        version = data.get("schema_version", SCHEMA_VERSION) if isinstance(data, dict) else None
        if isinstance(version, int) and version < 2:  # anything else is left to validation
            old = data.get("settings") or {}
            # v1 stored every option, unset ones as null: the typed model has their defaults.
            settings = {k: v for k, v in old.items() if v is not None} if isinstance(
                old, dict) else old  # not an object: validation reports it
            data = {**data, "schema_version": SCHEMA_VERSION, "settings": settings}
        return data

    def main_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.kind == "question"]

    def remaining(self) -> list[str]:
        done = {t.question_id for t in self.main_turns()
                if t.skipped or (t.final_take and t.final_take.status in ("judged", "no_answer"))}
        return [q for q in self.plan if q not in done]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def parse_session(path: Path, text: str) -> SessionRecord:
    """Validate a session file's text; one-line `DataError` naming the file otherwise.

    Refuses a schema newer than this program knows: rewriting it could lose what it means.
    """
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise DataError(f"{path}: corrupt session file (not JSON: {exc})") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path}: corrupt session file (not a JSON object)")
    version = raw.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise DataError(f"{path}: corrupt session file (schema_version {version!r})")
    if version > SCHEMA_VERSION:
        raise DataError(f"{path}: session schema version {version} is newer than this program "
                        f"understands ({SCHEMA_VERSION})", hint="upgrade interviewer")
    try:
        return SessionRecord.model_validate(raw)
    except ValidationError as exc:
        raise DataError(f"{path}: corrupt session file: {one_line_validation(exc)}") from None
    except (TypeError, AttributeError, KeyError, IndexError) as exc:  # a validator tripped on it
        raise DataError(f"{path}: corrupt session file ({type(exc).__name__}: {exc})") from None


class SessionStore:
    """Creates, finds, loads and saves session folders under one recordings root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def create(self, record: SessionRecord) -> Path:
        """Make the session's folder (0700; an existing root keeps its permissions) and save."""
        ensure_private_dir(self.root)
        folder = self.root / record.id
        ensure_private_dir(folder)
        self.save(record)
        return folder

    def root_exposed(self) -> bool:
        """True when the recordings root lets other users look inside (their folders are
        still 0700, but the user may not expect sessions there)."""
        return readable_by_others(self.root)

    @contextmanager
    def lock(self, session_id: str) -> Iterator[None]:
        """Hold the session's folder lock; refuse at once if another process holds it."""
        folder = self.folder(session_id)
        with folder_lock(folder, f"session {session_id}"):
            for stale in folder.glob(".session.json.*.tmp"):  # a process killed mid-save
                stale.unlink(missing_ok=True)
            yield

    def folder(self, session_id: str) -> Path:
        return self.root / session_id

    def save(self, record: SessionRecord) -> None:
        record.updated = now_iso()
        write_private(self.folder(record.id) / "session.json",
                      record.model_dump_json(indent=2, exclude_none=True))

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if _ID_RE.match(p.name) and is_real_dir(p) and _session_file(p))

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
        folder = self.folder(sid)
        if folder.is_symlink() or (folder / "session.json").is_symlink():
            raise UsageError(f"{folder}: session folder is a symbolic link (refused: it could "
                             "lead outside the recordings root)")
        if not _session_file(folder):
            raise UsageError(f"no session {sid!r} under {self.root}",
                             hint="see `interviewer sessions`")
        return sid

    def load(self, ref: str) -> SessionRecord:
        """The session named by `ref` (see `resolve`); one-line `DataError` if unreadable."""
        path = self.folder(self.resolve(ref)) / "session.json"
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{path}: corrupt session file (not UTF-8 text)") from None
        except OSError as exc:
            raise DataError(f"{path}: cannot read: {exc.strerror}") from None
        return parse_session(path, text)

    def load_all(self, warn: Callable[[str], None]) -> list[SessionRecord]:
        """Every readable session; each unreadable one is reported through `warn` and skipped
        (one corrupt file must not stop `progress`, `export` or `--drill`)."""
        records = []
        for sid in self.ids():
            try:
                records.append(self.load(sid))
            except (DataError, UsageError) as exc:
                warn(f"skipping session {sid}: {exc}")
        return records

    def audio_path(self, record: SessionRecord, name: str) -> Path:
        """Path of a take's audio file, refusing names that escape the session folder."""
        folder = self.folder(record.id).resolve()
        path = (folder / name).resolve()
        if path.parent != folder:
            raise DataError(f"{name!r}: audio path escapes the session folder")
        return path


def _session_file(folder: Path) -> bool:
    path = folder / "session.json"
    return path.is_file() and not path.is_symlink()
