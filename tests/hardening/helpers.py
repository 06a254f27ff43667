"""Helpers for the hardening tests (issue 19): the real CLI as a subprocess against a two-question
bank (`Env`), and `Live`, a running command driven line by line and signalled."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from tests.session.fakes import Q, R

QID = "dropout-why"
MAIN = "Dropout randomly zeroes units during training which prevents co-adaptation of units."
FOLLOW = "At inference nothing is dropped; the activations are rescaled instead."
PRACTICE = ("practice", "--text", "--no-tts", "--judge", "embedded", "--question", QID,
            "--max-follow-ups", "1")


def write_bank(root: Path, questions: str = Q, rubrics: str = R) -> Path:
    """A bank under `root` (question_bank/t/a.yaml, rubrics/t/a.yaml); returns `root`."""
    for sub, text in (("question_bank", questions), ("rubrics", rubrics)):
        (root / sub / "t").mkdir(parents=True, exist_ok=True)
        (root / sub / "t" / "a.yaml").write_text(textwrap.dedent(text))
    return root


class Env:
    """Where a test's CLI runs: its own bank (INTERVIEWER_ROOT), home and working folder."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = write_bank(base / "bank")
        self.home = base / "home"
        self.rec = base / "rec"

    def vars(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEWER_")}
        return {**env, "INTERVIEWER_ROOT": str(self.root), "INTERVIEWER_HOME": str(self.home),
                **extra}

    def cli(self, *args: str, stdin: str = "", umask: int | None = None, timeout: float = 300,
            **extra: str) -> subprocess.CompletedProcess[str]:
        """Run `interviewer ARGS` to completion."""
        pre = (lambda: os.umask(umask)) if umask is not None else None  # noqa: E731
        return subprocess.run([sys.executable, "-m", "interviewer", *args], input=stdin,
                              capture_output=True, text=True, timeout=timeout,
                              env=self.vars(**extra), cwd=self.base, preexec_fn=pre)

    def live(self, *args: str, **kw: int | None) -> Live:
        """Start `interviewer ARGS` with stdin/stdout/stderr pipes (see `Live`)."""
        return Live([sys.executable, "-m", "interviewer", *args], env=self.vars(),
                    cwd=self.base, **kw)

    def session_dirs(self, root: Path | None = None) -> list[Path]:
        root = root or self.rec
        return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def only_session(self, root: Path | None = None) -> tuple[Path, dict]:  # type: ignore[type-arg]
        [folder] = self.session_dirs(root)
        return folder, json.loads((folder / "session.json").read_text())


class Live:
    """A running CLI process: read its output as it comes, answer, signal it."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path,
                 stdin: int | None = subprocess.PIPE, stdout: int | None = subprocess.PIPE,
                 stderr: int | None = subprocess.PIPE) -> None:
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=stdin, stdout=stdout,
                                     stderr=stderr, text=True, bufsize=1)
        self.out: list[str] = []
        self.err: list[str] = []
        self._threads = [self._pump(s, buf) for s, buf in ((self.proc.stdout, self.out),
                                                           (self.proc.stderr, self.err)) if s]

    def _pump(self, stream: object, buf: list[str]) -> threading.Thread:
        def run() -> None:
            for line in stream:  # type: ignore[attr-defined]
                buf.append(line)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def wait_for(self, needle: str, count: int = 1, timeout: float = 120) -> None:
        """Wait until `needle` appeared `count` times in stdout+stderr."""
        t0 = time.monotonic()
        while "".join(self.out + self.err).count(needle) < count:
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the pumps drain
                if "".join(self.out + self.err).count(needle) >= count:
                    return
                raise AssertionError(f"exited {self.proc.returncode} before {needle!r}:\n"
                                     + "".join(self.out + self.err))
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"{needle!r} never appeared:\n" + "".join(self.out + self.err))
            time.sleep(0.05)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def finish(self, timeout: float = 120, *, close_stdin: bool = True) -> int:
        """Wait for the exit status (closing stdin first unless told not: a test that signals
        the process must not also end its input) and let the output pumps drain."""
        if close_stdin and self.proc.stdin and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        rc = self.proc.wait(timeout=timeout)
        for t in self._threads:
            t.join(timeout=10)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    @property
    def stderr(self) -> str:
        return "".join(self.err)


def error_lines(stderr: str) -> list[str]:
    """The `interviewer: error:` lines; a traceback anywhere fails the caller's assertion."""
    assert "Traceback" not in stderr, stderr
    return [ln for ln in stderr.splitlines() if ln.startswith("interviewer: error:")]
