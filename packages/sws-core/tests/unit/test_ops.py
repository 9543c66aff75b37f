"""What the loop does with each op a fiber yields: `Connect`, `ToWorker`, `WaitEvent`,
`Sleep`, and a value that is not an op. On a fake ring."""

from __future__ import annotations

import ctypes
import errno
import operator
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from sws_core import (
    ClosedResourceError,
    Conn,
    Event,
    NoWorkerPoolError,
    Op,
    Receive,
    Send,
    Sleep,
    ToWorker,
    connect,
    sleep,
    to_worker,
)
from sws_core._conn import CLOSED, FREED, K_CLOSE, K_CONNECT, K_LINK_TIMEOUT, OPEN
from sws_core._slots import pack_user_data
from uring import KernelTimespec, SqeFlag, sockaddr
from uring import Op as Opcode

if TYPE_CHECKING:
    from fakering import LoopDriver

    MakeLoop = Callable[..., LoopDriver]

Fiber = Generator[Op, Any, None]


# --- the op records -------------------------------------------------------------------------------


def test_helpers_make_frozen_ops_that_yield_themselves() -> None:
    op = sleep(1.5)
    assert op == Sleep(1.5)
    gen = iter(op)
    assert next(gen) is op
    with pytest.raises(StopIteration):
        gen.send(None)
    with pytest.raises(AttributeError):
        op.seconds = 2.0  # type: ignore[misc]
    work = to_worker(operator.add, 1, 2)
    assert work == ToWorker(operator.add, (1, 2))
    gen = work.__await__()
    assert next(gen) is work
    with pytest.raises(StopIteration) as stop:
        gen.send(3)
    assert stop.value.value == 3


def test_sleep_refuses_a_negative_duration() -> None:
    with pytest.raises(ValueError, match="negative"):
        sleep(-0.1)


def test_connect_defaults_to_a_ten_second_timeout() -> None:
    assert connect("::1", 443).timeout_s == 10.0


# --- a value that is not an op --------------------------------------------------------------------


def test_yielding_a_non_op_throws_type_error_into_the_fiber(driver: LoopDriver) -> None:
    log: list[Any] = []

    def confused() -> Generator[Any, Any, None]:
        try:
            yield 42
        except TypeError as exc:
            log.append(str(exc))
        yield from sleep(0)
        log.append("goes on")

    driver.loop.go(confused())
    driver.turn(3)
    assert log == ["a fiber must yield sws_core ops, not 42", "goes on"]


def test_a_subclass_of_an_op_is_served_as_its_base(driver: LoopDriver) -> None:
    # Ops are served from a table of their exact types; a subclass takes the slower path
    # through the type tests, to the same handler.
    class NamedEvent(Event):
        pass

    class LabelledSleep(Sleep):
        pass

    log: list[str] = []
    event = NamedEvent()

    def fiber() -> Generator[Any, Any, None]:
        yield LabelledSleep(0)
        log.append("slept")
        yield from event.wait()
        log.append("woken")

    driver.loop.go(fiber())
    driver.turn(3)
    assert log == ["slept"]
    event.set()
    driver.turn(2)
    assert log == ["slept", "woken"]


def test_one_wait_op_serves_many_waits(driver: LoopDriver) -> None:
    log: list[int] = []
    event = Event()
    woken = event.wait()  # made once, yielded again and again

    def fiber() -> Generator[Any, Any, None]:
        for i in range(3):
            event.clear()
            yield from woken
            log.append(i)

    driver.loop.go(fiber())
    for i in range(3):
        driver.turn(2)
        assert log == list(range(i))
        event.set()
    driver.turn(2)
    assert log == [0, 1, 2]


# --- events ---------------------------------------------------------------------------------------


def test_a_fiber_waits_for_an_event_set_later(driver: LoopDriver) -> None:
    log: list[str] = []
    event = Event()

    def waiter(name: str) -> Fiber:
        yield from event.wait()
        log.append(name)

    driver.loop.go(waiter("a"))
    driver.loop.go(waiter("b"))
    driver.turn(3)
    assert log == []
    assert repr(event) == "<Event set=False waiters=2>"
    event.set()
    driver.turn()
    assert log == ["a", "b"]
    assert event.is_set()
    driver.loop.go(waiter("already set"))
    driver.turn(2)
    assert log == ["a", "b", "already set"]
    event.clear()
    assert not event.is_set()


# --- to_worker ------------------------------------------------------------------------------------


def test_to_worker_without_workers_throws_no_worker_pool_error(driver: LoopDriver) -> None:
    log: list[Any] = []

    def fiber() -> Fiber:
        try:
            yield from to_worker(print, "never")
        except NoWorkerPoolError as exc:
            log.append(exc)

    driver.loop.go(fiber())
    driver.turn(2)
    assert len(log) == 1
    assert "workers=N" in str(log[0])


def test_to_worker_returns_the_result_and_raises_the_exception_in_the_fiber(
    make_loop: MakeLoop,
) -> None:
    driver = make_loop(workers=1)
    log: list[Any] = []

    async def fiber() -> None:
        log.append(await to_worker(operator.add, 2, 3))
        try:
            await to_worker(int, "not a number")
        except ValueError as exc:
            log.append(type(exc))

    driver.loop.go(fiber())
    driver.turn(2)
    assert log == []
    driver.wait_for_wake()  # the worker's result arrives through the invoke queue
    driver.turn()
    assert log == [5]
    driver.wait_for_wake()
    driver.turn()
    assert log == [5, ValueError]
    assert driver.loop.statistics().fibers_live == 0


# --- connect --------------------------------------------------------------------------------------


def connecting(driver: LoopDriver, host: str = "127.0.0.1", timeout_s: float = 2.5) -> list[Any]:
    """Start a fiber that connects and logs the `Conn` (or the error), then one receive."""
    log: list[Any] = []

    def client() -> Fiber:
        try:
            conn = yield from connect(host, 8080, timeout_s=timeout_s)
        except (OSError, ValueError, ClosedResourceError) as exc:
            log.append(exc)
            return
        log.append(conn)
        log.append((yield from conn.receive()))

    driver.loop.go(client())
    driver.turn(2)
    return log


def test_connect_links_a_timeout_to_the_connect_sqe(driver: LoopDriver) -> None:
    connecting(driver, timeout_s=2.5)
    conn_sqe = driver.ring.one(Opcode.CONNECT)
    timeout = driver.ring.one(Opcode.LINK_TIMEOUT)
    assert conn_sqe.flags & SqeFlag.IO_LINK
    assert timeout.index == conn_sqe.index + 1  # linked: the very next SQE
    assert conn_sqe.user_data == pack_user_data(K_CONNECT, 0, 0)
    assert timeout.user_data == pack_user_data(K_LINK_TIMEOUT, 0, 0)
    want = sockaddr("127.0.0.1", 8080)
    assert conn_sqe.off == len(want)  # addrlen
    assert ctypes.string_at(conn_sqe.addr, conn_sqe.off) == want  # kept alive by the loop
    ts = KernelTimespec.from_address(timeout.addr)
    assert (ts.tv_sec, ts.tv_nsec) == (2, 500_000_000)
    assert driver.loop.statistics().slots_live == 1


def test_a_successful_connect_resumes_the_fiber_with_an_open_conn_that_reads(
    driver: LoopDriver,
) -> None:
    log = connecting(driver)
    driver.ring.complete(driver.ring.one(Opcode.CONNECT), 0)
    driver.ring.complete(driver.ring.one(Opcode.LINK_TIMEOUT), -errno.ECANCELED)
    driver.turn()
    driver.turn()
    [conn] = log
    assert isinstance(conn, Conn)
    assert conn.state == OPEN
    assert conn.peer == ("127.0.0.1", 8080)
    assert conn._inflight == 1  # only its recv: the link timeout is accounted for
    driver.deliver(conn, b"response")
    assert log[1] == b"response"


def test_a_connect_cancelled_by_its_timeout_raises_timeout_error(driver: LoopDriver) -> None:
    log = connecting(driver, host="::1")
    connect_sqe = driver.ring.one(Opcode.CONNECT)
    assert connect_sqe.off == 28  # sockaddr_in6
    driver.ring.complete(connect_sqe, -errno.ECANCELED)
    driver.ring.complete(driver.ring.one(Opcode.LINK_TIMEOUT), -errno.ETIME)
    driver.turn()
    [exc] = log
    assert isinstance(exc, TimeoutError)
    assert "timed out" in str(exc)
    driver.settle()
    assert driver.loop.statistics().slots_live == 0


def test_a_refused_connect_raises_connection_refused_error(driver: LoopDriver) -> None:
    log = connecting(driver)
    driver.ring.complete(driver.ring.one(Opcode.CONNECT), -errno.ECONNREFUSED)
    driver.turn()
    [exc] = log
    assert isinstance(exc, ConnectionRefusedError)
    assert driver.ring.live(Opcode.CLOSE) == []  # the link timeout is still in flight
    driver.ring.complete(driver.ring.one(Opcode.LINK_TIMEOUT), -errno.ECANCELED)
    driver.turn()
    assert driver.ring.one(Opcode.CLOSE).kind == K_CLOSE
    driver.settle()
    assert driver.loop.statistics().slots_live == 0


def test_connect_to_a_name_throws_value_error_and_takes_no_slot(driver: LoopDriver) -> None:
    log = connecting(driver, host="localhost")
    [exc] = log
    assert isinstance(exc, ValueError)
    assert "numeric" in str(exc)
    assert driver.ring.live(Opcode.CONNECT) == []
    assert driver.loop.statistics().slots_live == 0


def test_closing_a_connecting_conn_cancels_the_connect(driver: LoopDriver) -> None:
    log = connecting(driver)
    conn = driver.loop._conns[0]
    assert conn is not None
    conn.close()
    driver.turn()
    cancel = driver.ring.one(Opcode.ASYNC_CANCEL)
    assert cancel.addr == driver.ring.one(Opcode.CONNECT).user_data
    driver.ring.complete_cancel(cancel)
    driver.ring.complete(driver.ring.one(Opcode.LINK_TIMEOUT), -errno.ECANCELED)
    driver.turn()
    assert conn.state == CLOSED
    assert len(log) == 1
    assert isinstance(log[0], ClosedResourceError)
    driver.settle()
    assert conn.state == FREED


def test_closing_a_connecting_conn_raises_closed_resource_error_in_the_fiber(
    driver: LoopDriver,
) -> None:
    log: list[Any] = []

    def client() -> Fiber:
        try:
            yield from connect("127.0.0.1", 8080)
        except (OSError, ClosedResourceError) as exc:
            log.append(exc)

    driver.loop.go(client())
    driver.turn(2)
    conn = driver.loop._conns[0]
    assert conn is not None
    conn.close()
    driver.turn()
    driver.ring.complete_cancel(driver.ring.one(Opcode.ASYNC_CANCEL))
    driver.ring.complete(driver.ring.one(Opcode.LINK_TIMEOUT), -errno.ECANCELED)
    driver.turn()
    [exc] = log
    assert isinstance(exc, ClosedResourceError)


# --- misuse inside an op: must reach the fiber, not the loop --------------------------------------


def test_sending_a_str_throws_type_error_into_the_fiber(driver: LoopDriver) -> None:
    log: list[Any] = []

    def handler(conn: Conn) -> Fiber:
        yield from conn.receive()
        try:
            yield from conn.send("text")  # type: ignore[arg-type]
        except TypeError:
            log.append("TypeError")

    conn = driver.accept(driver.listen(handler=handler))
    driver.deliver(conn, b"go")
    assert log == ["TypeError"]


def test_connect_with_a_negative_timeout_throws_value_error_into_the_fiber(
    driver: LoopDriver,
) -> None:
    log = connecting(driver, timeout_s=-1.0)
    assert len(log) == 1
    assert isinstance(log[0], ValueError)
    assert driver.loop.statistics().slots_live == 0


def test_receive_and_send_ops_name_their_connection(driver: LoopDriver) -> None:
    conn = driver.accept(driver.listen(protocol=lambda conn: _Quiet()))
    assert conn.receive() == Receive(conn)
    assert conn.send(b"x") == Send(conn, b"x")


class _Quiet:
    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> None:
        pass

    def connection_lost(self, exc: BaseException | None) -> None:
        pass
