"""The interview clock behind a small injectable interface, so tests run on fake time.

`Clock` gives the time and runs a callback later; `SystemClock` is the real one (monotonic time,
daemon timer threads), `ManualClock` the fake one (time moves only when a test calls `advance`,
which runs the callbacks that fall due, in order, on the caller's thread). `AnswerTimer` is one
answer against its budget: a warning shortly before the budget runs out and a hard cap after it.
`InterviewClock` is the whole interview's elapsed time, carried over a `--resume`.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol

#: The hard cap is the budget plus this share of it (at least `MIN_GRACE_S`): a candidate
#: finishing a sentence is not cut off at the budget itself.
CAP_GRACE = 0.25
MIN_GRACE_S = 5.0
#: The time warning comes this long before the budget runs out (a quarter of short budgets).
WARN_BEFORE_S = 30.0


class Cancel(Protocol):
    def cancel(self) -> None:
        """Stop a scheduled callback from running (no-op once it ran)."""
        ...


class Clock(Protocol):
    """Time source and scheduler of the interview clock."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> Cancel:
        """Run `fn` once, `delay_s` seconds from now (on a thread of the clock's choosing)."""
        ...


class SystemClock:
    """Real time: `time.monotonic` and daemon `threading.Timer`s."""

    def now(self) -> float:
        return time.monotonic()

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> Cancel:
        timer = threading.Timer(max(0.0, delay_s), fn)
        timer.daemon = True  # a pending warning must never keep the program alive
        timer.start()
        return timer


class _Scheduled:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """Fake time for tests: `advance(s)` moves it and runs what fell due, in time order."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self._queue: list[tuple[float, int, _Scheduled, Callable[[], None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self.t

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> Cancel:
        handle = _Scheduled()
        heapq.heappush(self._queue, (self.t + max(0.0, delay_s), next(self._seq), handle, fn))
        return handle

    def advance(self, seconds: float) -> None:
        end = self.t + seconds
        while self._queue and self._queue[0][0] <= end:
            due, _, handle, fn = heapq.heappop(self._queue)
            self.t = due
            if not handle.cancelled:
                fn()
        self.t = end


def hard_cap(budget_s: float) -> float:
    """Where an answer is stopped: the budget plus a grace."""
    return round(budget_s + max(MIN_GRACE_S, CAP_GRACE * budget_s), 1)


def warning_lead(budget_s: float) -> float:
    """How long before the budget ends the time warning comes."""
    return min(WARN_BEFORE_S, budget_s / 4)


def mmss(seconds: float | None) -> str:
    """`1:05` for 65 seconds ("–" for None)."""
    if seconds is None:
        return "–"
    s = int(round(max(0.0, seconds)))
    return f"{s // 60}:{s % 60:02d}"


class AnswerTimer:
    """One answer on the clock: `start`, then `on_warning` near the end of the budget and
    `on_cap` at the hard cap (each at most once), until `stop` returns the seconds used."""

    def __init__(self, clock: Clock, budget_s: float, *, on_warning: Callable[[float], None],
                 on_cap: Callable[[], None]) -> None:
        self.clock, self.budget_s = clock, budget_s
        self.cap_s = hard_cap(budget_s)
        self._on_warning, self._on_cap = on_warning, on_cap
        self._pending: list[Cancel] = []
        self.started: float | None = None
        self.seconds: float | None = None  # set by stop()
        self.warned = self.capped = False

    def start(self) -> None:
        self.started = self.clock.now()
        lead = warning_lead(self.budget_s)
        self._pending = [self.clock.call_later(self.budget_s - lead, self._warn),
                         self.clock.call_later(self.cap_s, self._cap)]

    def _warn(self) -> None:
        if self.seconds is None:
            self.warned = True
            self._on_warning(self.budget_s - self.elapsed())

    def _cap(self) -> None:
        if self.seconds is None:
            self.capped = True
            self._on_cap()

    def elapsed(self) -> float:
        if self.seconds is not None:
            return self.seconds
        return 0.0 if self.started is None else self.clock.now() - self.started

    def stop(self) -> float:
        """End the answer (idempotent): no warning or cap fires after this."""
        if self.seconds is None:
            self.seconds = round(self.elapsed(), 2)
            for p in self._pending:
                p.cancel()
        return self.seconds


class InterviewClock:
    """The interview's elapsed time: what earlier runs used (`--resume`) plus this run's."""

    def __init__(self, clock: Clock, used_s: float, budget_s: float) -> None:
        self.clock, self.used_s, self.budget_s = clock, used_s, budget_s
        self.t0 = clock.now()

    def elapsed(self) -> float:
        return round(self.used_s + self.clock.now() - self.t0, 2)

    def over(self) -> bool:
        return self.elapsed() >= self.budget_s


__all__ = ["AnswerTimer", "Cancel", "Clock", "InterviewClock", "ManualClock", "SystemClock",
           "hard_cap", "mmss", "warning_lead"]
