"""Command-line entry point: `interviewer <command> …` (also `python -m interviewer`).

Each command group lives in `interviewer/commands/<name>.py` exposing
`register(subparsers) -> None`; the parser it adds sets `func(args, env) -> ExitStatus`.
Command modules must stay light at import (no torch, no engines): they import engines inside
the function that runs the command.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from interviewer import __version__
from interviewer.env import Environment
from interviewer.errors import ExitStatus, InterviewerError
from interviewer.runtime import set_engine_threads

#: Command modules, in help order. A module not yet present is skipped.
COMMAND_MODULES = ["session", "bank", "audio", "transcribe", "judge", "models", "doctor"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(int(ExitStatus.USAGE), f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="interviewer", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"interviewer {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show full tracebacks on error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        modname = f"interviewer.commands.{name}"
        if importlib.util.find_spec(modname) is None:
            continue
        importlib.import_module(modname).register(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM/SIGHUP, raised in the main thread so they unwind exactly like Ctrl-C (the
    session saves and marks itself interrupted)."""


_SIGNAL_STATUS = {signal.SIGTERM: ExitStatus.TERMINATED, signal.SIGHUP: ExitStatus.HANGUP}


@contextmanager
def _signals_like_ctrl_c() -> Iterator[list[int]]:
    """While the command runs, SIGTERM/SIGHUP raise `Terminated`; yields the signals seen.

    Only the first signal raises: a second one during the clean-up must not cut the final save
    short (kill -9 remains for a stuck process). Previous handlers are restored afterwards.
    """
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def handler(signum: int, _frame: object) -> None:
        seen.append(signum)
        if len(seen) == 1:
            raise Terminated(signum)

    old = {s: signal.signal(s, handler) for s in _SIGNAL_STATUS}
    try:
        yield seen
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; return the exit status (also used by tests with their own Environment)."""
    env = env or Environment()
    parser = build_parser()
    args = parser.parse_args(argv)
    env.show_traceback = bool(args.traceback)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(env.stderr)
        return int(ExitStatus.USAGE)
    set_engine_threads()  # once per command; `transcribe --threads N` asks for its own count
    with _signals_like_ctrl_c() as seen:
        status = _run(func, args, env)
    if seen:  # the command saved what it had; the status says which signal ended it
        name = signal.Signals(seen[0]).name
        if status != ExitStatus.INTERRUPTED:  # not already reported as an interruption
            env.err(f"interviewer: stopped by {name}")
        return int(_SIGNAL_STATUS[signal.Signals(seen[0])])
    return status


def _run(func: Any, args: argparse.Namespace, env: Environment) -> int:
    """Run one command, turning every expected failure into one line and an exit status."""
    try:
        return int(func(args, env))
    except InterviewerError as exc:
        if env.show_traceback:
            traceback.print_exc(file=env.stderr)
        env.err(f"interviewer: error: {exc}")
        return int(exc.exit_status)
    except KeyboardInterrupt as exc:
        how = f"stopped by {signal.Signals(exc.args[0]).name}" if isinstance(
            exc, Terminated) else "interrupted"
        env.err(f"interviewer: {how}")
        return int(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitStatus.OK)
    except OSError as exc:  # a path the command did not expect to fail: still one line
        if env.show_traceback:
            traceback.print_exc(file=env.stderr)
        where = f"{exc.filename}: " if exc.filename else ""
        env.err(f"interviewer: error: {where}{exc.strerror or exc}")
        return int(ExitStatus.ERROR)


if __name__ == "__main__":
    sys.exit(main())
