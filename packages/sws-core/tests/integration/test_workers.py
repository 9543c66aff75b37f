"""Worker threads (`to_worker`, `submit`), `invoke` from other threads, timers, hooks,
and fibers that fail."""

from __future__ import annotations

import threading
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sws_core import (
    Conn,
    Event,
    InvokeQueueFullError,
    NoWorkerPoolError,
    Op,
    current_loop,
    sleep,
    to_worker,
)

pytestmark = pytest.mark.integration

WAIT_S = 10.0


class Gate:
    """A worker job that blocks until the test opens the gate (bounded)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.opened = threading.Event()
        self.thread_ids: list[int] = []

    def job(self, x: int) -> int:
        self.thread_ids.append(threading.get_ident())
        self.started.set()
        assert self.opened.wait(WAIT_S), "the test never opened the gate"
        return x * 2


def fail(msg: str) -> None:
    raise ValueError(msg)


def worker_handler(gate: Gate) -> Any:
    def handler(conn: Conn) -> Generator[Op, Any, None]:
        while line := (yield from conn.receive()):
            cmd, _, arg = line.decode().strip().partition(" ")
            if cmd == "slow":
                result = yield from to_worker(gate.job, int(arg))
                yield from conn.send(f"{result}\n".encode())
            elif cmd == "fail":
                try:
                    yield from to_worker(fail, arg)
                except ValueError as exc:
                    yield from conn.send(f"error {exc}\n".encode())
            else:
                yield from conn.send(f"fast {arg}\n".encode())

    return handler


def test_to_worker_does_not_block_other_connections(serve: Any, tcp: Any) -> None:
    gate = Gate()
    lt = serve(worker_handler(gate), workers=2)
    slow = tcp.connect(lt.port)
    slow.sendall(b"slow 21\n")
    assert gate.started.wait(WAIT_S)
    # While the worker is busy, another connection is served by the IO thread.
    fast = tcp.connect(lt.port)
    for i in range(3):
        fast.sendall(f"ping {i}\n".encode())
        assert tcp.recv_exactly(fast, len(f"fast {i}\n")) == f"fast {i}\n".encode()
    slow.setblocking(False)
    with pytest.raises(BlockingIOError):
        slow.recv(1)  # no answer yet: the job is still running
    slow.settimeout(WAIT_S)
    gate.opened.set()
    assert tcp.recv_exactly(slow, 3) == b"42\n"
    assert gate.thread_ids[0] != lt.ident
    slow.sendall(b"fail boom\n")
    assert tcp.recv_exactly(slow, 11) == b"error boom\n"


def test_two_workers_run_two_jobs_at_once(serve: Any, tcp: Any) -> None:
    barrier = threading.Barrier(2, timeout=WAIT_S)

    def meet(x: int) -> int:
        barrier.wait()  # only returns if both jobs run at the same time
        return x

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        data = yield from conn.receive()
        result = yield from to_worker(meet, int(data))
        yield from conn.send(str(result).encode())

    lt = serve(handler, workers=2)
    a, b = tcp.connect(lt.port), tcp.connect(lt.port)
    a.sendall(b"1")
    b.sendall(b"2")
    assert a.recv(1) == b"1"
    assert b.recv(1) == b"2"


def test_to_worker_without_a_pool_raises_in_the_fiber(serve: Any, tcp: Any) -> None:
    def handler(conn: Conn) -> Generator[Op, Any, None]:
        try:
            yield from to_worker(int, "1")
        except NoWorkerPoolError:
            yield from conn.send(b"no pool")

    lt = serve(handler)
    sock = tcp.connect(lt.port)
    assert tcp.read_to_eof(sock) == b"no pool"


def test_submit_reports_on_the_loop_thread(serve: Any, waiter: Any) -> None:
    lt = serve(workers=2)
    results: list[tuple[Any, Any, int]] = []

    def on_done(result: Any, exc: BaseException | None) -> None:
        results.append((result, exc, threading.get_ident()))

    lt.call(lambda: lt.loop.submit(pow, 2, 10, on_done=on_done))
    lt.call(lambda: lt.loop.submit(fail, "bad", on_done=on_done))
    waiter(lambda: lt.call(len, results) == 2, what="both on_done calls")
    by_result = sorted(results, key=lambda r: r[0] is None)
    assert by_result[0][:2] == (1024, None)
    assert by_result[1][0] is None
    assert isinstance(by_result[1][1], ValueError)
    assert {r[2] for r in results} == {lt.ident}


def test_submit_without_a_pool_is_an_error(serve: Any) -> None:
    lt = serve()
    with pytest.raises(NoWorkerPoolError):
        lt.call(lt.loop.submit, print)


def test_invoke_from_many_threads_is_fifo_per_thread(serve: Any) -> None:
    lt = serve()
    seen: list[tuple[int, int, int]] = []
    threads, calls = 4, 1000

    def record(t: int, i: int) -> None:
        seen.append((t, i, threading.get_ident()))

    def caller(t: int) -> None:
        for i in range(calls):
            lt.loop.invoke(record, t, i)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(caller, range(threads), timeout=30))
    lt.call(lambda: None)  # queued after every call above: they have all run
    assert len(seen) == threads * calls
    for t in range(threads):
        assert [i for tt, i, _ in seen if tt == t] == list(range(calls))
    assert {ident for _, _, ident in seen} == {lt.ident}


def test_event_set_through_invoke_wakes_a_go_fiber(serve: Any, waiter: Any) -> None:
    lt = serve()
    event = Event()
    log: list[str] = []

    def fiber() -> Generator[Op, Any, None]:
        log.append("waiting")
        yield from event.wait()
        log.append("woken")
        yield from sleep(0.01)
        log.append("slept")

    lt.call(lt.loop.go, fiber)
    waiter(lambda: lt.call(list, log) == ["waiting"], what="the fiber to wait")
    lt.loop.invoke(event.set)
    waiter(lambda: lt.call(list, log) == ["waiting", "woken", "slept"], what="the fiber")
    assert lt.stats().fibers_live == 0


def test_call_later_zero_yields_to_io(serve: Any, waiter: Any) -> None:
    lt = serve()
    stop = threading.Event()
    runs = [0]

    def again() -> None:
        runs[0] += 1
        if not stop.is_set() and runs[0] < 50_000_000:
            lt.loop.call_later(0, again)

    lt.loop.invoke(lt.loop.call_later, 0, again)
    try:
        waiter(lambda: runs[0] > 0, what="the timer chain to start")
        reached = threading.Event()
        lt.loop.invoke(reached.set)
        assert reached.wait(2.0), "an invoke queued behind call_later(0) never ran"
    finally:
        stop.set()  # ends the chain either way, so the loop can stop


def test_hook_that_raises_is_removed(serve: Any, waiter: Any) -> None:
    lt = serve(allow_errors=True)
    ticks = [0]

    def bad_hook() -> None:
        ticks[0] += 1
        raise RuntimeError("hook bug")

    lt.call(lt.loop.add_tick_hook, bad_hook)
    lt.call(lambda: None)
    lt.call(lambda: None)
    assert lt.call(lambda: ticks[0]) == 1  # ran once, then removed
    assert lt.stats().turns > 0


def test_fiber_that_raises_closes_its_connection_only(serve: Any, tcp: Any) -> None:
    def handler(conn: Conn) -> Generator[Op, Any, None]:
        data = yield from conn.receive()
        if data == b"crash":
            raise RuntimeError("handler bug")
        yield from conn.send(data)

    lt = serve(handler, allow_errors=True)
    ok = tcp.connect(lt.port)
    bad = tcp.connect(lt.port)
    bad.sendall(b"crash")
    assert tcp.closed_by_peer(bad)
    ok.sendall(b"fine")
    assert tcp.recv_exactly(ok, 4) == b"fine"
    lt.wait_stats(lambda s: s.slots_live == 0)


def test_invoke_refuses_past_max_invokes(serve: Any, waiter: Any) -> None:
    lt = serve(max_invokes=10)
    inside, release = threading.Event(), threading.Event()
    ran: list[int] = []

    def block() -> None:  # holds the loop thread (only a test would do this)
        inside.set()
        release.wait(WAIT_S)

    lt.loop.invoke(block)
    assert inside.wait(WAIT_S)
    try:
        for i in range(10):
            lt.loop.invoke(ran.append, i)
        with pytest.raises(InvokeQueueFullError):
            lt.loop.invoke(ran.append, 10)
    finally:
        release.set()
    waiter(lambda: len(ran) == 10, what="the queued calls to run")
    assert ran == list(range(10))
    assert lt.call(lambda: "accepted again") == "accepted again"


def test_a_fiber_sleeping_forever_does_not_hold_up_the_loop(serve: Any, waiter: Any) -> None:
    lt = serve()
    state: list[str] = []

    def fiber() -> Generator[Op, Any, None]:
        state.append("asleep")
        try:
            yield from sleep(float("inf"))
        finally:
            state.append("closed")

    lt.call(lt.loop.go, fiber)
    waiter(lambda: lt.call(list, state) == ["asleep"], what="the fiber to sleep")
    assert lt.call(lambda: "still turning") == "still turning"
    lt.loop.stop()
    lt.thread.join(WAIT_S)
    assert not lt.thread.is_alive()
    assert state == ["asleep", "closed"]  # closed by the loop's teardown


def test_second_receiver_on_a_connection_is_refused(serve: Any, tcp: Any) -> None:
    errors: list[str] = []

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        def intruder() -> Generator[Op, Any, None]:
            try:
                yield from conn.receive()
            except Exception as exc:
                errors.append(type(exc).__name__)

        yield from conn.send(b"ready")  # the client sends only after this, so...
        conn.loop.go(intruder)
        data = yield from conn.receive()  # ...the handler is parked when the intruder comes
        yield from conn.send(data + b" " + ",".join(errors).encode())

    lt = serve(handler)
    sock = tcp.connect(lt.port)
    assert tcp.recv_exactly(sock, 5) == b"ready"
    sock.sendall(b"mine")
    assert tcp.read_to_eof(sock) == b"mine BusyResourceError"


def test_on_loop_thread_is_true_only_on_the_io_thread(serve: Any) -> None:
    lt = serve()
    assert not lt.loop.on_loop_thread()
    assert lt.call(lt.loop.on_loop_thread) is True


def test_current_loop_is_the_loop_only_on_its_thread(serve: Any) -> None:
    lt = serve()
    assert current_loop() is None
    assert lt.call(current_loop) is lt.loop
