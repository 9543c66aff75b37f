"""`TimerQueue`: the loop's timers, a heap ordered by deadline, then by creation.

The loop has no timer SQEs: it bounds each wait by the nearest deadline instead, and runs
what is due after every wait. Timers due in a pass are popped before any of them runs, so
a callback that schedules another timer for "now" runs it on the next turn, not in a loop.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Timer:
    """A scheduled call; `cancel()` stops it from running."""

    deadline: float
    seq: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    cancelled: bool = False

    def __lt__(self, other: Timer) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)

    def cancel(self) -> None:
        """Stop the timer from firing (idempotent)."""
        self.cancelled = True


class TimerQueue:
    """Timers by deadline."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = itertools.count()

    def add(self, deadline: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> Timer:
        """Schedule `fn(*args)` at `deadline` and return its handle."""
        timer = Timer(deadline, next(self._seq), fn, args)
        heapq.heappush(self._heap, timer)
        return timer

    def next_deadline(self) -> float | None:
        """The earliest deadline, or None when no timer is scheduled."""
        return self._heap[0].deadline if self._heap else None

    def pop_due(self, now: float) -> list[Timer]:
        """Remove and return the timers due at `now`, cancelled ones left out."""
        heap = self._heap
        due = []
        while heap and heap[0].deadline <= now:
            timer = heapq.heappop(heap)
            if not timer.cancelled:
                due.append(timer)
        return due

    def __len__(self) -> int:
        return len(self._heap)
