"""`WorkerPool`: threads for blocking work, whose results return through the invoke queue.

Worker threads own nothing of the IO thread's state: they get a function and its
arguments, and hand `(result, exception)` to a callback that runs on the IO thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, TypeAlias

Done: TypeAlias = Callable[[Any, BaseException | None], None]
_Job: TypeAlias = "tuple[Callable[..., Any], tuple[Any, ...], Done] | None"


class WorkerPool:
    """`count` threads running submitted functions.

    Args:
        count: number of threads (at least 1).
        deliver: called from a worker thread with `(done, result, exc)`; it must pass them
            to the IO thread (the loop's invoke queue).
    """

    def __init__(self, count: int, deliver: Callable[[Done, Any, BaseException | None], None]):
        if count < 1:
            raise ValueError(f"a worker pool needs at least 1 thread, not {count}")
        self.count = count
        self._deliver = deliver
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the threads (idempotent)."""
        if self._threads:
            return
        for i in range(self.count):
            t = threading.Thread(target=self._work, name=f"sws-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Done) -> None:
        """Queue `fn(*args)`; `done(result, exc)` runs on the IO thread afterwards."""
        self._jobs.put((fn, args, done))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, done = job
            try:
                result = fn(*args)
            except BaseException as exc:
                self._deliver(done, None, exc)
            else:
                self._deliver(done, result, None)

    def shutdown(self, timeout_s: float) -> bool:
        """Ask every thread to stop after its current job; return whether all stopped."""
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join(timeout_s)
        alive = any(t.is_alive() for t in self._threads)
        self._threads = []
        return not alive

    def __repr__(self) -> str:
        return f"<WorkerPool threads={self.count} started={bool(self._threads)}>"
