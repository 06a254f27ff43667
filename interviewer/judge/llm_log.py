"""One typed record per LLM exchange, written through one thread-safe sink.

Every backend that talks to a language model (Ollama, an OpenAI-compatible server, llama.cpp)
gets a sink at construction and writes an `LlmExchange` to it for each request it makes, the
moment the reply (or the error) arrives. Nothing is kept on the judge object for someone else to
copy and clear later: a record written by the background review thread while the session is
saving can never be lost.

`JsonlSink` appends to a session's `llm_calls.jsonl` (created 0600: the file holds what the
candidate said); `MemorySink` keeps records in memory (tests, `--batch`, benchmarks);
`NULL_SINK` drops them.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class LlmExchange(BaseModel):
    """One request to a language model and what came back (or why nothing did)."""

    model_config = ConfigDict(extra="forbid")

    at: str = Field(default_factory=_now)  # UTC time the record was made (after the reply)
    backend: str  # "ollama" | "openai" | "llama-cpp"
    model: str
    question_id: str | None = None
    attempt: int = 1  # 2 = the retry after an invalid reply
    prompt: Any  # chat messages, or the rendered prompt text
    response: Any = None  # raw reply text, or the numbers read (P(yes) per point)
    seconds: float  # wall time of the exchange
    error: str | None = None  # transport failure, or why a reply was rejected
    extra: dict[str, Any] = Field(default_factory=dict)  # e.g. the JSON schema sent


@runtime_checkable
class ExchangeSink(Protocol):
    """Where a backend writes its exchanges; must be safe to call from any thread."""

    def write(self, record: LlmExchange) -> None:
        """Store one exchange."""
        ...


class MemorySink:
    """Keeps records in memory (thread-safe); `records()` returns a snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[LlmExchange] = []

    def write(self, record: LlmExchange) -> None:
        """Append one exchange."""
        with self._lock:
            self._records.append(record)

    def records(self) -> list[LlmExchange]:
        """Every exchange written so far, in order."""
        with self._lock:
            return list(self._records)


class JsonlSink:
    """Appends one JSON line per exchange to `path` (created 0600), one writer at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, record: LlmExchange) -> None:
        """Append one exchange as a JSON line (flushed and closed before returning)."""
        line = record.model_dump_json() + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(line)


class _NullSink:
    def write(self, record: LlmExchange) -> None:
        """Drop the exchange."""


NULL_SINK: ExchangeSink = _NullSink()


def read_jsonl(path: Path) -> list[LlmExchange]:
    """The exchanges stored in a `llm_calls.jsonl` file, validated."""
    text = Path(path).read_text(encoding="utf-8") if Path(path).exists() else ""
    return [LlmExchange.model_validate_json(line) for line in text.splitlines() if line.strip()]
