"""Process-wide settings for the engines, made once: at session or command start.

Two cores are shared by recording, transcription, judging and an LLM review; measured, one thread
per engine is faster than engines competing for both (README "Performance"). torch's intra-op
pool is process-wide, so no engine loader sets it (whichever loaded last used to win): the
session or the command calls `set_engine_threads` before it builds its engines, and loaders read
the count with `engine_threads()`. Engines with their own per-instance pools (CTranslate2, ONNX
Runtime, llama.cpp) are given the count as an argument.
"""

from __future__ import annotations

import os
import sys

#: Threads per engine in a practice session (and the default for every command).
ENGINE_THREADS = 1

#: Environment variables read by OpenMP/MKL when they load (torch, before its first import).
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")

_threads: int | None = None


def set_engine_threads(threads: int = ENGINE_THREADS) -> int:
    """Pin the process's engine threads to `threads` (at least 1) and return it.

    Before torch is imported this only sets the OpenMP/MKL variables it reads when it loads (so a
    session start does not pay torch's import); once it is imported, torch's pool is set too.
    """
    global _threads
    n = max(1, int(threads))
    _threads = n
    for var in _THREAD_VARS:
        os.environ[var] = str(n)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def engine_threads() -> int:
    """The count `set_engine_threads` set (`ENGINE_THREADS` when nothing set one)."""
    return ENGINE_THREADS if _threads is None else _threads
