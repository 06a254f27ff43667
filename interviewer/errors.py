"""Error hierarchy and exit statuses.

Every error a user can cause or meet is an `InterviewerError` subclass carrying one clear line
(naming the file, field or device) and the exit status the CLI returns for it. Engines translate
their own exceptions into these at the adapter boundary, so the CLI never shows a raw traceback
unless `--traceback` is given.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Process exit codes: stable, documented in the README."""

    OK = 0
    ERROR = 1
    USAGE = 2
    ENGINE_UNAVAILABLE = 3
    HANGUP = 129  # SIGHUP (terminal closed): handled like Ctrl-C
    INTERRUPTED = 130
    TERMINATED = 143  # SIGTERM: handled like Ctrl-C


class InterviewerError(Exception):
    """Base class: a problem to report to the user as one line."""

    exit_status: ExitStatus = ExitStatus.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(InterviewerError):
    """The command line itself is wrong (unknown id, bad flag combination)."""

    exit_status = ExitStatus.USAGE


class BankError(InterviewerError):
    """A question-bank or rubric file is malformed; the message names file and field."""


class DataError(InterviewerError):
    """A stored file (session, dataset, audio) is unreadable or invalid."""


class LockedError(InterviewerError):
    """Another interviewer process holds the folder (a running session, a rejudge)."""


class EngineUnavailable(InterviewerError):
    """An engine (TTS, audio device, ASR weights, LLM server) cannot be used here."""

    exit_status = ExitStatus.ENGINE_UNAVAILABLE


class AudioDeviceError(EngineUnavailable):
    """No usable input/output audio device, or the device failed mid-stream."""


class ModelNotInstalled(EngineUnavailable):
    """Model weights are not provisioned; the hint says which command installs them."""


def field_path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """A pydantic error location as `questions[2].points[0].text`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top>"


def one_line_validation(err: object) -> str:
    """The first problem of a pydantic `ValidationError` as `field: message (+N more)`.

    pydantic's own text spans lines and links to its docs; users need the field.
    """
    errors = err.errors() if hasattr(err, "errors") else []
    if not errors:
        return str(err).splitlines()[0]
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{field_path(errors[0].get('loc', ()))}: {errors[0].get('msg', 'invalid')}{more}"
