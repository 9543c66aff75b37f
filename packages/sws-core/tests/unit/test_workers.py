"""`WorkerPool`: jobs run on worker threads and come back through the deliver callback.
(These tests are about worker threads, so they start some.)"""

from __future__ import annotations

import queue
import threading
from typing import Any

import pytest

from sws_core._workers import WorkerPool

WAIT_S = 5.0


def test_a_pool_needs_at_least_one_thread() -> None:
    with pytest.raises(ValueError, match="at least 1 thread"):
        WorkerPool(0, lambda done, result, exc: None)


def test_results_and_exceptions_are_delivered_with_their_done_callback() -> None:
    delivered: queue.Queue[tuple[Any, Any, BaseException | None, bool]] = queue.Queue()
    caller = threading.get_ident()

    def deliver(done: Any, result: Any, exc: BaseException | None) -> None:
        delivered.put((done, result, exc, threading.get_ident() != caller))

    pool = WorkerPool(2, deliver)
    assert repr(pool) == "<WorkerPool threads=2 started=False>"
    pool.start()
    pool.start()  # idempotent
    try:

        def ok_done(result: Any, exc: BaseException | None) -> None: ...

        def bad_done(result: Any, exc: BaseException | None) -> None: ...

        pool.submit(pow, (2, 8), ok_done)
        pool.submit(int, ("x",), bad_done)
        results = [delivered.get(timeout=WAIT_S) for _ in range(2)]
    finally:
        assert pool.shutdown(timeout_s=WAIT_S)
    by_done = {r[0]: r[1:] for r in results}
    assert by_done[ok_done] == (256, None, True)
    result, exc, on_worker = by_done[bad_done]
    assert result is None
    assert isinstance(exc, ValueError)
    assert on_worker
    assert repr(pool) == "<WorkerPool threads=2 started=False>"


def test_shutdown_lets_the_current_job_finish() -> None:
    delivered: queue.Queue[Any] = queue.Queue()
    started = threading.Event()
    release = threading.Event()

    def job() -> str:
        started.set()
        release.wait(WAIT_S)
        return "finished"

    pool = WorkerPool(1, lambda done, result, exc: delivered.put(result))
    pool.start()
    pool.submit(job, (), lambda result, exc: None)
    assert started.wait(WAIT_S)
    release.set()
    assert pool.shutdown(timeout_s=WAIT_S)
    assert delivered.get_nowait() == "finished"
