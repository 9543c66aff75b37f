"""`TimerQueue`: the loop's timers, a heap ordered by deadline, then by creation.

The loop has no timer SQEs: it bounds each wait by the nearest deadline instead, and runs
what is due after every wait. Timers due in a pass are popped before any of them runs, so
a callback that schedules another timer for "now" runs it on the next turn, not in a loop.
A cancelled timer lets go of its callback at once (so what the callback holds is freed)
and leaves the heap lazily: when it comes up, or when cancelled timers are most of the
heap, which is then rebuilt (a client cancelling one long timeout per request would
otherwise keep every one of them until its deadline).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final


@dataclass(slots=True)
class Timer:
    """A scheduled call; `cancel()` stops it from running."""

    deadline: float
    seq: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    cancelled: bool = False
    queue: TimerQueue | None = None

    def __lt__(self, other: Timer) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)

    def cancel(self) -> None:
        """Stop the timer from firing (idempotent)."""
        if self.cancelled:
            return
        self.cancelled = True
        self.fn = _noop
        self.args = ()
        if self.queue is not None:
            self.queue._cancelled += 1


def _noop(*_: Any) -> None:
    pass


_COMPACT_MIN: Final = 64  # cancelled timers before the heap is worth rebuilding


class TimerQueue:
    """Timers by deadline."""

    __slots__ = ("_cancelled", "_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._cancelled = 0  # cancelled timers still in the heap

    def add(self, deadline: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> Timer:
        """Schedule `fn(*args)` at `deadline` and return its handle."""
        heap = self._heap
        if self._cancelled > _COMPACT_MIN and 2 * self._cancelled > len(heap):
            heap[:] = [t for t in heap if not t.cancelled]
            heapq.heapify(heap)
            self._cancelled = 0
        timer = Timer(deadline, next(self._seq), fn, args, queue=self)
        heapq.heappush(heap, timer)
        return timer

    def next_deadline(self) -> float | None:
        """The earliest deadline of a timer still to run, or None when there is none."""
        heap = self._heap
        while heap and heap[0].cancelled:
            heapq.heappop(heap)
            self._cancelled -= 1
        return heap[0].deadline if heap else None

    def pop_due(self, now: float) -> list[Timer]:
        """Remove and return the timers due at `now`, cancelled ones left out."""
        heap = self._heap
        due = []
        while heap and heap[0].deadline <= now:
            timer = heapq.heappop(heap)
            if timer.cancelled:
                self._cancelled -= 1
            else:
                timer.queue = None  # fired: a late cancel() has nothing to count
                due.append(timer)
        return due

    def __len__(self) -> int:
        return len(self._heap)
