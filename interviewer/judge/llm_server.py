"""Run a GGUF behind llama-cpp-python's OpenAI-compatible server on a loopback port.

The tests and the judge benchmark use it to put the `openai` backend in front of a real server
with the shipped 1.5B model; the README shows the same command for sharing one model across
many candidates. The server is a child process: started with pinned threads and passive OpenMP
waiting, ready once `/v1/models` answers, stopped by its PID (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from interviewer.errors import EngineUnavailable

DEFAULT_ALIAS = "qwen2.5-coder-1.5b-instruct"  # the model id the server reports


@dataclass(frozen=True)
class RunningServer:
    """A started server: its base URL for OpenAI clients (ending in /v1), PID and model id."""

    url: str
    pid: int
    model: str


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command(model: Path, port: int, *, alias: str = DEFAULT_ALIAS, threads: int = 2,
                   n_ctx: int = 2048) -> list[str]:
    """The command line: `python -m llama_cpp.server` on 127.0.0.1 with pinned threads."""
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
            "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port),
            "--n_threads", str(threads), "--n_threads_batch", str(threads),
            "--n_ctx", str(n_ctx)]


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise EngineUnavailable(f"llama_cpp.server exited with status {proc.returncode}: "
                                    f"{tail[0][:200]}", hint=f"see {log}")
        try:
            if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise EngineUnavailable(f"llama_cpp.server did not answer within {timeout_s:g} s",
                            hint=f"see {log}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server by its PID: SIGTERM (graceful), then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


@contextmanager
def llama_server(model: Path, log: Path, *, alias: str = DEFAULT_ALIAS, threads: int = 2,
                 n_ctx: int = 2048, timeout_s: float = 180.0) -> Iterator[RunningServer]:
    """Start the server on a free loopback port (output to `log`), yield it, stop it by PID."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(server_command(model, port, alias=alias, threads=threads,
                                               n_ctx=n_ctx),
                                stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(url, proc, log, timeout_s)
        yield RunningServer(url=url, pid=proc.pid, model=alias)
    finally:
        stop(proc)
