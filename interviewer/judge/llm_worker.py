"""The llama.cpp judge in a worker process: native code that dies takes only the worker with it.

llama.cpp is C++ running inside our process; a bad instruction-set build segfaults, a long answer
can run it out of memory. `LlamaWorker` runs a `LlamaCppJudge` in a child process
(`python -m interviewer.judge.llm_worker`: a fresh interpreter, so no forked threads or locks,
and no re-running of the caller's main script as multiprocessing's spawn would) and talks to it
over two pipes of its own; the child's stdout and stderr are not used, so native log lines
cannot corrupt the protocol. Messages are framed and pickled by `multiprocessing.connection`
(both ends are this program): the parent sends `(method, args)`, the child answers with any
number of `("log", record)` messages (each LLM exchange, written to the parent's sink as it
happens) and one `("ok", value)` or `("error", kind, message, hint)`.

If the child dies (a signal, OOM, exit), the call raises `WorkerCrashed` (an `EngineUnavailable`
with one line naming the signal); the caller falls back to the offline judge for that answer.
The next call starts a fresh worker, up to `max_crashes` times in a session.
"""

from __future__ import annotations

import contextlib
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from interviewer import errors
from interviewer.bank.models import BankEntry
from interviewer.errors import EngineUnavailable
from interviewer.judge.llama_cpp_backend import LlamaCppJudge, default_threads
from interviewer.judge.llm_log import NULL_SINK, ExchangeSink, LlmExchange
from interviewer.protocols import Classification, JudgeInfo

MAX_CRASHES = 3
START_TIMEOUT_S = 120.0  # loading the GGUF: seconds, unless the disk is very slow


class WorkerCrashed(EngineUnavailable):
    """The worker process running the LLM died (signal, OOM, exit)."""


def describe_exit(code: int | None) -> str:
    """'killed by SIGKILL', 'exit status 3', … for a process's exit code."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


# ----------------------------------------------------------------------------- the child
class _PipeSink:
    """The child's sink: each exchange goes to the parent as soon as it is made."""

    def __init__(self, conn: multiprocessing.connection.Connection) -> None:
        self.conn = conn

    def write(self, record: LlmExchange) -> None:
        self.conn.send(("log", record.model_dump()))


def _serve(conn_in: multiprocessing.connection.Connection,
           conn_out: multiprocessing.connection.Connection, config: dict[str, Any]) -> None:
    """The child's loop: load the model, then answer requests until told to stop."""
    judge = LlamaCppJudge(Path(config["models_dir"]), model_path=config["model_path"],
                          threads=config["threads"], n_ctx=config["n_ctx"],
                          log=_PipeSink(conn_out))
    try:
        judge.load()
    except Exception as exc:  # reported to the parent, which raises it
        conn_out.send(_error(exc))
        return
    conn_out.send(("ok", judge.info.model_dump()))
    while True:
        try:
            method, args = conn_in.recv()
        except EOFError:  # the parent went away
            return
        if method == "close":
            return
        try:
            conn_out.send(("ok", getattr(judge, method)(*args)))
        except Exception as exc:
            conn_out.send(_error(exc))


def main(argv: list[str]) -> None:
    """Child entry point: `python -m interviewer.judge.llm_worker READ_FD WRITE_FD`."""
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # before llama.cpp loads: no spinning threads
    conn_in = multiprocessing.connection.Connection(int(argv[0]), writable=False)
    conn_out = multiprocessing.connection.Connection(int(argv[1]), readable=False)
    try:
        config = conn_in.recv()
    except EOFError:
        return
    _serve(conn_in, conn_out, config)


def _error(exc: Exception) -> tuple[str, str, str, str | None]:
    if isinstance(exc, errors.InterviewerError):
        return ("error", type(exc).__name__, exc.message, exc.hint)
    return ("error", "EngineUnavailable", f"llama.cpp worker: {type(exc).__name__}: {exc}", None)


# ----------------------------------------------------------------------------- the parent
class LlamaWorker:
    """A `LlamaCppJudge` running in a worker process (a `Judge` and a `PointScorer`)."""

    ALLOWED = ("score", "evidence", "classify")

    def __init__(self, models_dir: Path, model_path: str | Path | None = None, *,
                 threads: int | None = None, n_ctx: int = 4096, log: ExchangeSink = NULL_SINK,
                 max_crashes: int = MAX_CRASHES) -> None:
        self.models_dir, self.model_path = Path(models_dir), model_path
        self.threads = threads or default_threads()
        self.n_ctx, self.log, self.max_crashes = n_ctx, log, max_crashes
        self.info = LlamaCppJudge(self.models_dir, model_path=model_path).info
        self.crashes = 0
        self.busy = threading.Event()  # set while a request is in the worker (tests, doctor)
        self._proc: subprocess.Popen[bytes] | None = None
        self._send: multiprocessing.connection.Connection | None = None  # to the child
        self._conn: multiprocessing.connection.Connection | None = None  # from the child
        self._lock = threading.RLock()

    @property
    def pid(self) -> int | None:
        """The worker's process id (None before it starts)."""
        return self._proc.pid if self._proc is not None else None

    def load(self) -> None:
        """Start the worker and load the model in it now (errors surface here, not later)."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()

    def _start(self) -> None:
        if self.crashes >= self.max_crashes:
            raise WorkerCrashed(f"the llama.cpp worker died {self.crashes} times; not "
                                "restarting it this session")
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "interviewer.judge.llm_worker", str(to_child_r),
                 str(from_child_w)], pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
        finally:
            # Only the child holds its ends now: its death closes the pipe (EOF here).
            os.close(to_child_r)
            os.close(from_child_w)
        self._proc = proc
        self._send = multiprocessing.connection.Connection(to_child_w, readable=False)
        self._conn = multiprocessing.connection.Connection(from_child_r, writable=False)
        self._send.send({"models_dir": str(self.models_dir), "threads": self.threads,
                         "model_path": None if self.model_path is None else str(self.model_path),
                         "n_ctx": self.n_ctx})
        if not self._conn.poll(START_TIMEOUT_S):
            self.close()
            raise EngineUnavailable(f"the llama.cpp worker did not load the model within "
                                    f"{START_TIMEOUT_S:g} s")
        self.info = JudgeInfo.model_validate(self._receive())

    def _receive(self) -> Any:
        """Read messages until the answer, writing log records on the way; raise on death."""
        assert self._conn is not None
        while True:
            try:
                msg = self._conn.recv()
            except (EOFError, OSError) as exc:
                raise self._died() from exc
            if msg[0] == "log":
                self.log.write(LlmExchange.model_validate(msg[1]))
            elif msg[0] == "ok":
                return msg[1]
            else:
                cls = getattr(errors, msg[1], EngineUnavailable)
                raise cls(msg[2], hint=msg[3])

    def _died(self) -> WorkerCrashed:
        proc = self._proc
        how = "stopped"
        if proc is not None:
            try:
                how = describe_exit(proc.wait(5))
            except subprocess.TimeoutExpired:
                proc.kill()
                how = "stopped answering"
        self.crashes += 1
        self._drop()
        return WorkerCrashed(f"the llama.cpp judge worker died ({how})")

    def call(self, method: str, *args: Any) -> Any:
        """Run `method` of the judge in the worker (starting it if needed) and return its value."""
        if method not in self.ALLOWED:
            raise ValueError(method)
        with self._lock:
            self.load()
            assert self._send is not None
            self.busy.set()
            try:
                self._send.send((method, args))
                return self._receive()
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise self._died() from exc
            finally:
                self.busy.clear()

    def score(self, entry: BankEntry, transcript: str) -> list[float]:
        """P(yes) for every rubric point (in the worker)."""
        return list(self.call("score", entry, transcript))

    def evidence(self, entry: BankEntry, transcript: str, point_index: int) -> str | None:
        """The sentence supporting a point (in the worker)."""
        out = self.call("evidence", entry, transcript, point_index)
        return None if out is None else str(out)

    def classify(self, entry: BankEntry, transcript: str) -> Classification:
        """One verdict per point (in the worker)."""
        out = self.call("classify", entry, transcript)
        assert isinstance(out, Classification)
        return out

    def _drop(self) -> tuple[subprocess.Popen[bytes] | None,
                             multiprocessing.connection.Connection | None]:
        """Forget the current child (closing our pipe ends); return it and its request pipe."""
        proc, send, conn = self._proc, self._send, self._conn
        self._proc = self._send = self._conn = None
        if conn is not None:
            conn.close()
        return proc, send

    def close(self) -> None:
        """Stop the worker: politely when idle, else (or if it lingers) by its PID."""
        proc, send = self._drop()  # no lock: a running call must not delay this
        if proc is None:
            return
        if not self.busy.is_set() and send is not None:
            with contextlib.suppress(OSError):
                send.send(("close", ()))
        if send is not None:
            send.close()  # EOF for the child if it missed the message
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(3)


if __name__ == "__main__":
    main(sys.argv[1:])
