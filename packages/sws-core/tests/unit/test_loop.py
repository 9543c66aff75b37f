"""`Loop` on a fake ring: the turn, timers, `go`, `invoke`, hooks, stale completions,
statistics and the graceful stop. Connections come from injected accept completions."""

from __future__ import annotations

import errno
import inspect
import logging
import math
import os
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

import sws_core._loop
from sws_core import (
    IO_QUANTUM,
    Cancelled,
    ClosedResourceError,
    Conn,
    InvokeQueueFullError,
    LoopStatistics,
    NoWorkerPoolError,
    Op,
    connect,
    sleep,
    to_worker,
)
from sws_core._conn import FREED, K_ACCEPT, K_RECV, K_SEND, OPEN
from sws_core._slots import pack_user_data
from uring import Op as Opcode

if TYPE_CHECKING:
    from fakering import LoopDriver

    MakeLoop = Callable[..., LoopDriver]

Fiber = Generator[Op, Any, None]


def reader(log: list[Any]) -> Callable[[Conn], Fiber]:
    """A handler that logs everything it receives until EOF, and `Cancelled`."""

    def handler(conn: Conn) -> Fiber:
        try:
            while data := (yield from conn.receive()):
                log.append(data)
            log.append(b"")
        except Cancelled:
            log.append("cancelled")
            raise

    return handler


class Recorder:
    """A `TcpProtocol` that logs its events."""

    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def data_received(self, data: bytes) -> None:
        self.log.append(("data", data))

    def eof_received(self) -> None:
        self.log.append(("eof",))

    def connection_lost(self, exc: BaseException | None) -> None:
        self.log.append(("lost", exc))


# --- the turn -------------------------------------------------------------------------------------


def test_every_completion_of_a_turn_is_dispatched_before_any_fiber_resumes(
    driver: LoopDriver,
) -> None:
    log: list[Any] = []

    def handler(conn: Conn) -> Fiber:
        data = yield from conn.receive()
        log.append(("fiber resumed", data))
        yield from conn.receive()

    fiber_conn = driver.accept(driver.listen(handler=handler))
    protocol_conn = driver.accept(driver.listen(protocol=lambda conn: Recorder(log)))

    # One turn reaps both: the fiber's completion first, the protocol's second.
    driver.deliver(fiber_conn, b"to the fiber", turn=False)
    driver.deliver(protocol_conn, b"to the protocol", turn=False)
    driver.turn()

    assert log == [("data", b"to the protocol"), ("fiber resumed", b"to the fiber")]


def test_the_loop_does_not_wait_while_work_is_ready(driver: LoopDriver) -> None:
    driver.turn()
    assert driver.ring.last_wait == (1, None)  # nothing to do, no timer: wait for a CQE
    driver.loop.go(lambda: None)
    driver.turn()
    assert driver.ring.last_wait[0] == 0


def test_now_and_wall_are_read_once_a_turn(
    driver: LoopDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    walls = iter([1_800_000_000.5, 1_800_000_007.25])
    monkeypatch.setattr(sws_core._loop, "_wall_clock", lambda: next(walls))
    seen: list[tuple[float, float]] = []
    driver.loop.add_tick_hook(lambda: seen.append((driver.loop.now, driver.loop.wall)))
    start = driver.clock()
    driver.turn()
    driver.advance(3.0)
    driver.turn()
    assert seen == [(start, 1_800_000_000.5), (start + 3.0, 1_800_000_007.25)]


# --- fibers: generators and coroutines ------------------------------------------------------------


def test_generator_fiber_sleeps_on_the_fake_clock_and_bounds_the_wait(driver: LoopDriver) -> None:
    log: list[str] = []

    def napper() -> Fiber:
        log.append("before")
        yield from sleep(5.0)
        log.append("after")

    driver.loop.go(napper())
    driver.turn(2)  # spawned, then run up to its sleep
    assert log == ["before"]
    driver.turn()
    assert driver.ring.last_wait == (1, 5.0)  # the next timer bounds the wait
    driver.advance(4.0)
    driver.turn()
    driver.turn()
    assert driver.ring.last_wait == (1, pytest.approx(1.0))
    assert log == ["before"]
    driver.advance(1.0)
    driver.turn()  # the timer fires: the fiber is queued ...
    assert log == ["before"]
    driver.turn()  # ... and resumed on the next turn
    assert log == ["before", "after"]
    assert driver.loop.statistics().fibers_live == 0


def test_async_def_fiber_awaits_receive_send_and_sleep(driver: LoopDriver) -> None:
    log: list[Any] = []

    async def handler(conn: Conn) -> None:
        while data := await conn.receive():
            await sleep(0.5)
            await conn.send(data.upper())
        log.append("eof")

    conn = driver.accept(driver.listen(handler=handler))
    driver.deliver(conn, b"abc")
    driver.advance(0.5)
    driver.turn(2)
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    assert send.payload() == b"ABC"
    driver.ring.complete(send, 3)
    driver.eof(conn)
    assert log == ["eof"]
    driver.settle()
    assert conn.state == FREED
    assert driver.loop.statistics().slots_live == 0


# --- timers ---------------------------------------------------------------------------------------


def test_call_later_fires_due_timers_in_order_and_cancel_stops_one(driver: LoopDriver) -> None:
    fired: list[str] = []
    loop = driver.loop
    loop.call_later(2.0, fired.append, "late")
    loop.call_later(1.0, fired.append, "early")
    cancelled = loop.call_later(1.0, fired.append, "cancelled")
    loop.call_later(-3.0, fired.append, "negative means now")
    cancelled.cancel()
    cancelled.cancel()  # idempotent
    driver.turn()
    assert fired == ["negative means now"]
    driver.advance(1.0)
    driver.turn()
    assert fired == ["negative means now", "early"]
    driver.advance(1.0)
    driver.turn()
    assert fired == ["negative means now", "early", "late"]
    assert loop.statistics().timers == 0


def test_a_timer_callback_that_raises_is_logged_and_the_loop_goes_on(
    driver: LoopDriver, caplog: pytest.LogCaptureFixture
) -> None:
    fired: list[int] = []

    def boom() -> None:
        raise RuntimeError("timer boom")

    driver.loop.call_later(0, boom)
    driver.loop.call_later(0, fired.append, 1)
    with caplog.at_level(logging.ERROR, logger="sws_core"):
        driver.turn()
    assert fired == [1]
    assert any("timer callback" in r.getMessage() for r in caplog.records)


def test_a_timer_scheduled_by_a_due_timer_waits_for_the_next_turn(driver: LoopDriver) -> None:
    calls: list[int] = []

    def again() -> None:
        calls.append(1)
        if len(calls) < 1000:  # a real loop would spin forever; stop the test at 1000
            driver.loop.call_later(0, again)

    driver.loop.call_later(0, again)
    driver.turn()
    assert len(calls) == 1


def test_sleeping_forever_does_not_break_the_next_wait(driver: LoopDriver) -> None:
    def forever() -> Fiber:
        yield from sleep(math.inf)

    driver.loop.go(forever())
    driver.turn(2)
    driver.turn()  # idle: the loop waits, bounded by no finite timer
    assert driver.ring.last_wait[0] == 1


# --- go -------------------------------------------------------------------------------------------


def _gen(log: list[str]) -> Fiber:
    log.append("ran")
    yield from sleep(0)
    log.append("done")


async def _coro(log: list[str]) -> None:
    log.append("ran")
    await sleep(0)
    log.append("done")


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(lambda loop, log: loop.go(_gen(log)), id="generator"),
        pytest.param(lambda loop, log: loop.go(_coro(log)), id="coroutine"),
        pytest.param(lambda loop, log: loop.go(_gen, log), id="function-returning-generator"),
        pytest.param(lambda loop, log: loop.go(_coro, log), id="async-function"),
    ],
)
def test_go_runs_fibers(driver: LoopDriver, start: Callable[..., None]) -> None:
    log: list[str] = []
    start(driver.loop, log)
    driver.turn()
    assert log == []  # a fiber starts from the ready queue, on the next turn
    assert driver.loop.statistics().fibers_live == 1
    driver.turn(2)
    assert log == ["ran", "done"]
    assert driver.loop.statistics().fibers_live == 0


def test_go_calls_a_plain_function_with_its_arguments(driver: LoopDriver) -> None:
    calls: list[tuple[int, int]] = []
    driver.loop.go(lambda a, b: calls.append((a, b)), 1, 2)
    driver.turn()
    assert calls == [(1, 2)]
    assert driver.loop.statistics().fibers_live == 0


def test_go_starts_at_most_io_quantum_tasks_per_turn(driver: LoopDriver) -> None:
    calls: list[int] = []
    for i in range(IO_QUANTUM + 36):
        driver.loop.go(calls.append, i)
    driver.turn()
    assert calls == list(range(IO_QUANTUM))
    driver.turn()
    assert driver.ring.last_wait[0] == 0  # tasks were left over: no waiting
    assert calls == list(range(IO_QUANTUM + 36))


def test_a_go_task_that_raises_is_logged_and_the_next_one_runs(
    driver: LoopDriver, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def boom() -> None:
        raise ValueError("go boom")

    driver.loop.go(boom)
    driver.loop.go(calls.append, 1)
    with caplog.at_level(logging.ERROR, logger="sws_core"):
        driver.turn()
    assert calls == [1]
    assert any("go task" in r.getMessage() for r in caplog.records)


def test_teardown_closes_coroutines_still_queued_by_go(driver: LoopDriver) -> None:
    async def never_started() -> None:
        pass

    coro = never_started()
    driver.loop.go(coro)
    driver.finish()
    try:
        state = inspect.getcoroutinestate(coro)
    finally:
        coro.close()  # no "never awaited" warning at collection, whatever the outcome
    assert state == inspect.CORO_CLOSED


# --- invoke ---------------------------------------------------------------------------------------


def test_invoke_runs_calls_in_fifo_order_and_drains_what_was_queued(
    driver: LoopDriver, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[Any] = []
    loop = driver.loop

    def outer() -> None:
        log.append("outer")
        loop.invoke(log.append, "queued by a call")

    def boom() -> None:
        raise RuntimeError("invoke boom")

    for i in range(3):
        loop.invoke(log.append, i)
    loop.invoke(boom)
    loop.invoke(outer)
    assert loop.statistics().invokes_pending == 5
    with caplog.at_level(logging.ERROR, logger="sws_core"):
        driver.turn()
    assert log == [0, 1, 2, "outer"]
    assert any("invoked" in r.getMessage() for r in caplog.records)
    assert loop.statistics().invokes_pending == 1
    driver.turn()
    assert log == [0, 1, 2, "outer", "queued by a call"]
    assert loop.statistics().invokes_pending == 0


def test_invoke_refuses_past_max_invokes(make_loop: MakeLoop) -> None:
    driver = make_loop(max_invokes=3)
    calls: list[int] = []
    for i in range(3):
        driver.loop.invoke(calls.append, i)
    with pytest.raises(InvokeQueueFullError, match="3 invokes already queued"):
        driver.loop.invoke(calls.append, 3)
    driver.turn()
    assert calls == [0, 1, 2]
    driver.loop.invoke(calls.append, 4)  # drained: room again
    driver.turn()
    assert calls == [0, 1, 2, 4]


def test_invoke_from_another_thread_writes_the_eventfd(driver: LoopDriver) -> None:
    calls: list[str] = []
    loop = driver.loop
    loop.invoke(calls.append, "same thread")  # the loop thread never wakes itself
    with pytest.raises(BlockingIOError):
        os.eventfd_read(loop._wake_fd)

    thread = threading.Thread(target=loop.invoke, args=(calls.append, "other thread"))
    thread.start()
    thread.join()
    wake = driver.ring.one(Opcode.READ, fd=loop._wake_fd)
    driver.wait_for_wake()  # the eventfd is readable; its armed READ completes
    assert calls == ["same thread", "other thread"]
    rearmed = driver.ring.one(Opcode.READ, fd=loop._wake_fd)
    assert rearmed is not wake
    assert rearmed.len == 8


def test_invokes_before_the_loop_wakes_share_one_eventfd_write(driver: LoopDriver) -> None:
    calls: list[int] = []
    loop = driver.loop

    def invoke_from_a_thread(*values: int) -> None:
        thread = threading.Thread(target=lambda: [loop.invoke(calls.append, v) for v in values])
        thread.start()
        thread.join()

    invoke_from_a_thread(1, 2, 3)
    assert os.eventfd_read(loop._wake_fd) == 1  # one write for the three
    os.eventfd_write(loop._wake_fd, 1)  # back, for the armed READ
    driver.wait_for_wake()
    assert calls == [1, 2, 3]
    invoke_from_a_thread(4)  # the wake-up was taken: the next invoke writes again
    driver.wait_for_wake()
    assert calls == [1, 2, 3, 4]


def test_stop_from_another_thread_wakes_the_loop(driver: LoopDriver) -> None:
    thread = threading.Thread(target=driver.loop.stop)
    thread.start()
    thread.join()
    driver.wait_for_wake()
    assert driver.loop.stopping
    assert driver.finished_stopping()


# --- hooks ----------------------------------------------------------------------------------------


def test_tick_hooks_run_every_turn_and_one_that_raises_is_logged_and_removed(
    driver: LoopDriver, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []
    loop = driver.loop

    def good() -> None:
        calls.append("good")

    def bad() -> None:
        calls.append("bad")
        raise RuntimeError("hook boom")

    loop.add_tick_hook(good)
    loop.add_tick_hook(bad)
    with caplog.at_level(logging.ERROR, logger="sws_core"):
        driver.turn()
    assert calls == ["good", "bad"]
    assert [r.getMessage() for r in caplog.records if "removed" in r.getMessage()]
    driver.turn()
    assert calls == ["good", "bad", "good"]
    loop.remove_tick_hook(good)
    loop.remove_tick_hook(good)  # not there: no error
    driver.turn()
    assert calls == ["good", "bad", "good"]


def test_deferred_hooks_run_only_when_asked_and_one_that_raises_is_removed(
    driver: LoopDriver, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def bad() -> None:
        calls.append("bad")
        raise RuntimeError("deferred boom")

    driver.loop.add_deferred_hook(lambda: calls.append("good"))
    driver.loop.add_deferred_hook(bad)
    driver.turn()
    assert calls == []
    with caplog.at_level(logging.ERROR, logger="sws_core"):
        driver.loop.run_deferred_hooks()
    assert calls == ["good", "bad"]
    assert caplog.records
    driver.loop.run_deferred_hooks()
    assert calls == ["good", "bad", "good"]


# --- workers --------------------------------------------------------------------------------------


def test_submit_without_workers_raises(driver: LoopDriver) -> None:
    with pytest.raises(NoWorkerPoolError, match="workers=N"):
        driver.loop.submit(print, "never")


def test_submit_runs_on_a_worker_and_on_done_runs_on_the_loop_thread(
    make_loop: MakeLoop, caplog: pytest.LogCaptureFixture
) -> None:
    driver = make_loop(workers=1)
    done: list[tuple[Any, Any, bool]] = []
    loop_thread = threading.get_ident()

    def on_done(result: Any, exc: BaseException | None) -> None:
        done.append((result, exc, threading.get_ident() == loop_thread))

    driver.loop.submit(pow, 2, 10, on_done=on_done)
    driver.wait_for_wake()
    assert done == [(1024, None, True)]

    with caplog.at_level(logging.ERROR, logger="sws_core"):
        driver.loop.submit(int, "not a number")  # no on_done: the error is logged
        driver.wait_for_wake()
    assert any("worker job raised" in r.getMessage() for r in caplog.records)


# --- stale completions and connection ids ---------------------------------------------------------


def test_completions_of_a_previous_occupant_are_dropped_and_counted(driver: LoopDriver) -> None:
    log: list[Any] = []
    listener = driver.listen(handler=reader(log))
    old = driver.accept(listener)
    old_slot, old_gen = old.slot, old.gen
    driver.eof(old)
    driver.settle()
    assert old.state == FREED

    new = driver.accept(listener)
    assert (new.slot, new.gen) == (old_slot, old_gen + 1)
    driver.ring.inject(pack_user_data(K_RECV, old_slot, old_gen), 0)  # a ghost EOF
    driver.ring.inject(pack_user_data(K_SEND, old_slot, old_gen), 10)
    driver.ring.inject(pack_user_data(K_RECV, 7, 0), -errno.ECONNRESET)  # a never-used slot
    driver.turn()

    assert driver.loop.statistics().stale_cqes_dropped == 3
    assert new.state == OPEN
    assert driver.recv_sqe(new)  # the new occupant still reads
    assert log == [b""]  # only the old connection's real EOF was delivered


def test_conn_finds_an_open_connection_and_refuses_a_stale_id(driver: LoopDriver) -> None:
    listener = driver.listen(handler=reader([]))
    conn = driver.accept(listener)
    assert driver.loop.conn(conn.id) is conn
    old_id = conn.id
    conn.close()
    assert driver.loop.conn(old_id) is conn  # closing, not yet freed
    driver.turn()
    driver.settle()
    with pytest.raises(ClosedResourceError, match=f"connection id {old_id} is stale"):
        driver.loop.conn(old_id)

    new = driver.accept(listener)  # the same slot, the next generation
    assert new.slot == conn.slot
    assert new.id != old_id
    assert driver.loop.conn(new.id) is new
    with pytest.raises(ClosedResourceError):
        driver.loop.conn(old_id)
    with pytest.raises(ClosedResourceError):
        driver.loop.conn(63)  # a slot never used


# --- statistics -----------------------------------------------------------------------------------


def test_statistics_count_what_the_loop_did(driver: LoopDriver) -> None:
    loop = driver.loop
    conn = driver.accept(driver.listen(handler=reader([])))
    loop.call_later(5.0, print)
    loop.invoke(print, "pending")
    loop.go(print, "pending")
    assert loop.statistics() == LoopStatistics(
        slots_live=1,
        slots_capacity=64,
        turns=1,
        sqes_submitted=3,  # the eventfd read, the accept, the connection's recv
        cqes_reaped=1,  # the accept
        stale_cqes_dropped=0,
        fibers_live=1,
        fibers_ready=0,  # waiting on receive
        timers=1,
        invokes_pending=1,
        connections_accepted=1,
        connections_refused=0,
        connections_idle_closed=0,
        recv_buffer_exhaustions=0,
    )
    driver.deliver(conn, b"x")
    stats = loop.statistics()
    assert (stats.turns, stats.cqes_reaped, stats.invokes_pending) == (2, 2, 0)


# --- the submission queue -------------------------------------------------------------------------


def test_a_full_submission_queue_is_submitted_early(make_loop: MakeLoop) -> None:
    driver = make_loop(ring_entries=2)
    listener = driver.listen(handler=reader([]))
    conns = [driver.accept(listener) for _ in range(3)]
    for conn in conns:
        driver.eof(conn, turn=False)
    before = driver.ring.submit_calls
    driver.loop._turn()  # three fibers end: three CLOSE SQEs for a 2-entry SQ
    assert driver.ring.submit_calls - before == 2  # the turn's own, and one when full
    driver.ring.submit()
    assert {s.fd for s in driver.ring.live(Opcode.CLOSE)} == {c.fd for c in conns}
    driver.settle()
    assert driver.loop.statistics().slots_live == 0


# --- run() on the fake ring -----------------------------------------------------------------------


def test_run_turns_until_stopped_then_tears_down(make_loop: MakeLoop) -> None:
    driver = make_loop(start=False)
    loop = driver.loop
    woke_at: list[float] = []

    async def main() -> None:
        await sleep(1.5)
        woke_at.append(driver.clock())
        loop.stop()

    loop.go(main())
    driver.backend.on_wait = lambda wait_nr, timeout_s: driver.clock.advance(timeout_s or 0)
    loop.run()
    assert woke_at == [1001.5]
    assert not loop.running
    assert loop.stopping
    assert driver.ring.closed
    assert driver.buffers.closed
    assert loop._wake_fd == -1


def test_run_refuses_a_loop_that_is_already_running(driver: LoopDriver) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        driver.loop.run()


# --- graceful stop --------------------------------------------------------------------------------


def test_stop_cancels_the_accept_closes_idle_connections_and_lets_busy_ones_finish(
    make_loop: MakeLoop, caplog: pytest.LogCaptureFixture
) -> None:
    driver = make_loop(grace_s=10.0)
    loop = driver.loop
    log: list[Any] = []

    def handler(conn: Conn) -> Fiber:
        try:
            request = yield from conn.receive()
            yield from sleep(3.0)
            yield from conn.send(b"done " + request)
        except Cancelled:
            log.append(("cancelled", conn.slot))
            raise

    listener = driver.listen(handler=handler)
    idle = driver.accept(listener)
    busy = driver.accept(listener)
    driver.deliver(busy, b"slow")
    accept = driver.accept_sqe(listener)
    idle_recv = driver.recv_sqe(idle)

    loop.stop()
    driver.turn()
    assert loop.stopping
    assert {c.addr for c in driver.ring.live(Opcode.ASYNC_CANCEL)} == {accept.user_data}
    driver.advance(0.3)  # the idle connection has been quiet for the stop's quiet period
    driver.turn()
    cancels = driver.ring.live(Opcode.ASYNC_CANCEL)
    assert {c.addr for c in cancels} == {accept.user_data, idle_recv.user_data}
    driver.settle()
    assert listener.sock is None  # closed once its accept ended
    assert idle.state == FREED
    assert log == [("cancelled", idle.slot)]
    assert busy.state == OPEN
    assert not driver.finished_stopping()
    assert driver.ring.last_wait[1] is not None
    assert driver.ring.last_wait[1] <= 0.05

    driver.advance(2.7)  # well within the grace period
    driver.turn(2)
    send = driver.ring.one(Opcode.SEND, fd=busy.fd)
    assert send.payload() == b"done slow"
    driver.ring.complete(send, send.len)
    driver.turn()
    driver.settle()
    assert busy.state == FREED
    with caplog.at_level(logging.WARNING, logger="sws_core"):
        assert driver.finished_stopping()
    assert not caplog.records  # nothing had to be aborted


def test_stop_aborts_connections_still_busy_after_the_grace_period(
    make_loop: MakeLoop, caplog: pytest.LogCaptureFixture
) -> None:
    driver = make_loop(grace_s=2.0, workers=1)
    release = threading.Event()
    log: list[Any] = []

    def handler(conn: Conn) -> Fiber:
        yield from conn.receive()
        log.append((yield from to_worker(release.wait, 5.0)))
        yield from conn.send(b"too late")

    try:
        busy = driver.accept(driver.listen(handler=handler))
        driver.deliver(busy, b"work")
        driver.loop.stop()
        driver.turn()
        driver.settle()
        assert busy.state == OPEN  # waiting on its worker: left alone
        assert not driver.finished_stopping()
        driver.advance(1.9)
        driver.turn()
        assert not driver.finished_stopping()
        driver.advance(0.1)
        driver.turn()
        with caplog.at_level(logging.WARNING, logger="sws_core"):
            assert not driver.finished_stopping()  # the grace period is over: abort
        assert any("grace period of 2.0 s over" in r.getMessage() for r in caplog.records)
        driver.turn()
        assert driver.ring.one(Opcode.ASYNC_CANCEL).addr == pack_user_data(
            K_RECV, busy.slot, busy.gen
        )
        driver.settle()
        assert busy.state == FREED
        assert driver.finished_stopping()
        assert log == []
    finally:
        release.set()


def test_stop_lets_a_busy_handler_finish_with_its_outbound_connection(
    driver: LoopDriver,
) -> None:
    upstreams: list[Conn] = []

    def proxy(conn: Conn) -> Fiber:
        request = yield from conn.receive()
        upstream = yield from connect("127.0.0.1", 9000)
        upstreams.append(upstream)
        yield from upstream.send(request)
        reply = yield from upstream.receive()
        yield from conn.send(reply)

    conn = driver.accept(driver.listen(handler=proxy))
    driver.deliver(conn, b"GET")
    driver.ring.complete(driver.ring.one(Opcode.CONNECT), 0)
    driver.ring.complete(driver.ring.one(Opcode.LINK_TIMEOUT), -errno.ECANCELED)
    driver.turn(2)
    (upstream,) = upstreams
    driver.ring.complete(driver.ring.one(Opcode.SEND, fd=upstream.fd), 3)
    driver.turn()
    assert upstream._reader is not None  # the handler waits for the upstream's reply

    driver.loop.stop()
    driver.turn()
    upstream_recv = driver.recv_sqe(upstream).user_data
    assert [c for c in driver.ring.live(Opcode.ASYNC_CANCEL) if c.addr == upstream_recv] == []


# --- teardown -------------------------------------------------------------------------------------


def test_teardown_closes_the_eventfd_listeners_and_connections(driver: LoopDriver) -> None:
    log: list[Any] = []
    listener = driver.listen(protocol=lambda conn: Recorder(log))
    conn = driver.accept(listener)
    wake_fd = driver.loop._wake_fd
    driver.finish()
    assert driver.loop._wake_fd == -1
    assert listener.sock is None
    assert conn.state == FREED
    assert log == [("lost", None)]
    with pytest.raises(OSError) as info:
        os.fstat(wake_fd)
    assert info.value.errno == errno.EBADF


def test_teardown_survives_a_fiber_that_waits_in_its_finally_block(driver: LoopDriver) -> None:
    def polite(conn: Conn) -> Fiber:
        try:
            yield from conn.receive()
        finally:
            yield from conn.send(b"bye")

    driver.accept(driver.listen(handler=polite))
    driver.loop._teardown()
    assert driver.loop._wake_fd == -1
    assert driver.ring.closed


def test_accept_completion_for_listener_index_reaches_the_right_listener(
    driver: LoopDriver,
) -> None:
    first: list[Any] = []
    second: list[Any] = []
    driver.listen(protocol=lambda conn: Recorder(first))
    listener = driver.listen(protocol=lambda conn: Recorder(second))
    conn = driver.accept(listener)
    driver.deliver(conn, b"two")
    assert (first, second) == ([], [("data", b"two")])
    assert driver.accept_sqe(listener).user_data == pack_user_data(K_ACCEPT, 1, 0)
