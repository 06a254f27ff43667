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
import sys
import traceback
from collections.abc import Sequence

from interviewer import __version__
from interviewer.env import Environment
from interviewer.errors import ExitStatus, InterviewerError

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
    try:
        return int(func(args, env))
    except InterviewerError as exc:
        if env.show_traceback:
            traceback.print_exc(file=env.stderr)
        env.err(f"interviewer: error: {exc}")
        return int(exc.exit_status)
    except KeyboardInterrupt:
        env.err("interviewer: interrupted")
        return int(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitStatus.OK)


if __name__ == "__main__":
    sys.exit(main())
