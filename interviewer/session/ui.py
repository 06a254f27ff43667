"""Terminal interaction for a session: a live status line and the between-turns menu."""

from __future__ import annotations

import threading
import time
from typing import TextIO

MENU = "[Enter] next  [r] repeat question  [a] answer again  [s] skip  [q] quit"


class Console:
    """Status line and prompts. Non-interactive (stdin not a terminal): no menu, plain lines."""

    def __init__(self, stdin: TextIO, out: TextIO, err: TextIO, *, interactive: bool,
                 live: bool) -> None:
        self.stdin, self.out, self.err = stdin, out, err
        self.interactive = interactive
        self.live = live  # stderr is a terminal: redraw one status line in place
        self._lock = threading.Lock()
        self._last_len = 0
        self._typed: list[str] = []  # lines of the answer being typed (kept on Ctrl-C)

    def status(self, text: str) -> None:
        """Update the status line (asking / listening / transcribing / judging)."""
        with self._lock:
            if self.live:
                pad = max(0, self._last_len - len(text))
                self.err.write("\r" + text + " " * pad)
                self._last_len = len(text)
            else:
                self.err.write(text + "\n")
            self.err.flush()

    def end_status(self) -> None:
        with self._lock:
            if self.live and self._last_len:
                self.err.write("\n")
                self.err.flush()
            self._last_len = 0

    def say(self, text: str = "") -> None:
        """Print for the candidate to read (questions, feedback)."""
        self.end_status()
        print(text, file=self.out, flush=True)

    def choose(self) -> str:
        """Between turns: one of 'next', 'repeat', 'retry', 'skip', 'quit'."""
        if not self.interactive:
            return "next"
        self.end_status()
        self.err.write(MENU + "\n> ")
        self.err.flush()
        line = self.stdin.readline()
        if line == "":
            return "quit"
        return {"": "next", "r": "repeat", "a": "retry", "s": "skip", "q": "quit"}.get(
            line.strip().lower()[:1], "next")

    def read_answer(self) -> str | None:
        """A typed answer (`--text`): interactive answers end with an empty line; piped input
        gives one answer per line. None at end of input."""
        if self.interactive:
            self.err.write("Your answer (finish with an empty line):\n")
            self.err.flush()
            lines = self._typed = []
            while (line := self.stdin.readline()) not in ("", "\n"):
                lines.append(line.rstrip("\n"))
            return " ".join(lines).strip() if lines or line == "\n" else None
        line = self.stdin.readline()
        return line.strip() if line else None


    def typed_so_far(self) -> str:
        """The lines of the last typed answer entered so far (what Ctrl-C must not lose)."""
        return " ".join(self._typed).strip()


class Elapsed:
    """Seconds since construction, for the listening status line."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __str__(self) -> str:
        s = int(time.monotonic() - self.t0)
        return f"{s // 60}:{s % 60:02d}"


def level_bar(rms: float, width: int = 20) -> str:
    """A crude dBFS meter: -60 dB empty … 0 dB full."""
    import math

    db = 20 * math.log10(max(rms, 1e-6))
    n = int(round(max(0.0, min(1.0, (db + 60) / 60)) * width))
    return "#" * n + "." * (width - n)


def stream_is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = ["Console", "Elapsed", "level_bar", "stream_is_tty", "MENU"]
