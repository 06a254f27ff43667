"""Fast first pass, then refine: the candidate never waits for the LLM.

`RefiningJudge(fast, slow)` is a `Judge` whose `classify` returns the fast judge's verdicts at
once (the embedded judge: ~0.2 s), so `policy.assess` picks the follow-up immediately, and hands
the same answer to the slow judge (the LLM: seconds) on a single background thread. While the
follow-up is spoken and the next answer recorded, the LLM works; afterwards `refine(judgement,
…)` returns the judgement rebuilt from the slow verdicts (verified, scored and fed back by the
same policy) with the follow-up that was actually asked kept. If the slow judge fails or is not
done in time, the fast judgement stands and says so.

The worker is a single thread so LLM calls queue instead of competing for the cores; llama.cpp
releases the GIL while it computes, so recording and playback keep running.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from interviewer.bank.models import BankEntry
from interviewer.protocols import Classification, Judge, JudgeInfo, Judgement

Key = tuple[str, str]
#: Flag on a first-pass judgement whose background LLM review failed or did not finish: the
#: session prints its note as one line and carries on with the first-pass verdicts.
REVIEW_FAILED = "llm_review_failed"


@dataclass
class _Fixed:
    """A judge that returns a classification already computed (to rerun the policy on it)."""

    info: JudgeInfo
    found: Classification

    def classify(self, entry: BankEntry, transcript: str) -> Classification:
        return self.found


@dataclass
class RefiningJudge:
    """A `Judge` answering with `fast` now and refining with `slow` in the background."""

    fast: Judge
    slow: Judge
    info: JudgeInfo = field(init=False)
    errors: dict[Key, BaseException] = field(default_factory=dict, init=False, repr=False)
    _futures: dict[Key, Future[Classification]] = field(default_factory=dict, init=False,
                                                         repr=False)
    _pool: ThreadPoolExecutor = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    #: The fast pass is cheap, so the session may run it on a transcript that may still change.
    speculative: bool = True

    def __post_init__(self) -> None:
        self.info = self.fast.info.model_copy(update={
            "note": f"first pass; refined in the background by {self.slow.info.backend} "
                    f"({self.slow.info.model})"})
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge-refine")

    def classify(self, entry: BankEntry, transcript: str) -> Classification:
        """The fast verdicts; the slow judge starts on the same answer in the background."""
        key = (entry.id, transcript)
        with self._lock:
            if key not in self._futures:
                # A newer text of the same question supersedes queued ones (a speculative pass
                # on an answer the candidate went on with): they are never needed.
                for k, fut in self._futures.items():
                    if k[0] == entry.id and fut.cancel():
                        self.errors[k] = RuntimeError("superseded by a later transcript")
                self._futures[key] = self._pool.submit(self.slow.classify, entry, transcript)
        first = self.fast.classify(entry, transcript)
        return first.model_copy(update={"info": first.info.model_copy(
            update={"note": self.info.note})})

    def warm(self, entry: BankEntry, transcript: str) -> None:
        """Let the fast judge prepare for an answer still being given."""
        warm = getattr(self.fast, "warm", None)
        if callable(warm):
            warm(entry, transcript)

    def done(self, entry: BankEntry, transcript: str) -> bool:
        """Is nothing left to wait for on this answer (slow judge finished, failed, or never
        asked because a guard blocked the answer)?"""
        with self._lock:
            fut = self._futures.get((entry.id, transcript))
        return fut is None or fut.done()

    def refined(self, entry: BankEntry, transcript: str,
                timeout: float | None = None) -> Classification | None:
        """The slow verdicts for an answer classified earlier: waits up to `timeout` seconds
        (None: until done); None if not submitted, not done in time, or failed (see `errors`)."""
        key = (entry.id, transcript)
        with self._lock:
            fut = self._futures.get(key)
        if fut is None:
            return None
        try:
            return fut.result(timeout=timeout)
        except FutureTimeout:
            return None
        except Exception as exc:  # the slow judge's failure must not end the session
            self.errors[key] = exc
            return None

    def refine(self, judgement: Judgement, entry: BankEntry, transcript: str,
               asked_follow_ups: Iterable[str] = (), timeout: float | None = None) -> Judgement:
        """`judgement` (from the fast pass) rebuilt from the slow verdicts, keeping its follow-up.

        Returns `judgement` itself, with a note, when there is nothing to refine (the answer was
        blocked by a guard and never classified) or the slow judge failed or timed out.
        """
        from interviewer.judge.policy import assess

        slow = self.refined(entry, transcript, timeout)
        if slow is None:
            key = (entry.id, transcript)
            if key in self._futures:
                why = ("failed: " + str(self.errors[key])) if key in self.errors else (
                    "not finished in time")
                note = f"{self.slow.info.backend} refinement {why}; first-pass verdicts kept"
                return judgement.model_copy(update={
                    "judge": judgement.judge.model_copy(update={"note": note}),
                    "flags": [*judgement.flags, REVIEW_FAILED]})
            return judgement
        note = f"refined {self.fast.info.backend} first pass (follow-up chosen from it)"
        if slow.info.note:  # e.g. the LLM failed and a fallback judged: say so
            note = f"{slow.info.note}; {note}"
        found = slow.model_copy(update={"info": slow.info.model_copy(update={"note": note})})
        out = assess(_Fixed(found.info, found), entry, transcript, asked_follow_ups)
        return out.model_copy(update={"follow_up": judgement.follow_up,
                                      "follow_up_id": judgement.follow_up_id,
                                      "seconds": judgement.seconds})

    def close(self, wait: bool = True) -> None:
        """Stop the worker (pending refinements are cancelled unless already running)."""
        self._pool.shutdown(wait=wait, cancel_futures=True)
        close = getattr(self.slow, "close", None)  # a worker process to stop, if any
        if callable(close):
            close()
