"""Fibers on a fake ring: generators and coroutines driven the same way, what happens when
one returns or raises, and `Cancelled`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from sws_core import Cancelled, Conn, Op, sleep
from sws_core._conn import CLOSING, FREED
from uring import Op as Opcode

if TYPE_CHECKING:
    from fakering import LoopDriver

Fiber = Generator[Op, Any, None]


def gen_echo(conn: Conn) -> Fiber:
    while data := (yield from conn.receive()):
        yield from conn.send(data)


async def async_echo(conn: Conn) -> None:
    while data := await conn.receive():
        await conn.send(data)


@pytest.mark.parametrize("handler", [gen_echo, async_echo], ids=["generator", "coroutine"])
def test_generator_and_coroutine_handlers_are_driven_alike(
    driver: LoopDriver, handler: Callable[[Conn], Any]
) -> None:
    conn = driver.accept(driver.listen(handler=handler))
    assert driver.loop.statistics().fibers_live == 1
    for message in (b"one", b"two"):
        driver.deliver(conn, message)
        send = driver.ring.one(Opcode.SEND, fd=conn.fd)
        assert send.payload() == message
        driver.ring.complete(send, len(message))
        driver.turn()
    driver.eof(conn)
    driver.settle()
    assert conn.state == FREED
    assert driver.loop.statistics().fibers_live == 0


def test_a_fiber_that_raises_is_logged_with_its_connection_which_is_aborted(
    driver: LoopDriver, caplog: pytest.LogCaptureFixture
) -> None:
    def fragile(conn: Conn) -> Fiber:
        data = yield from conn.receive()
        if data == b"boom":
            raise ValueError("handler bug")
        yield from conn.send(data)
        yield from conn.receive()

    listener = driver.listen(handler=fragile)
    doomed = driver.accept(listener)
    other = driver.accept(listener)
    doomed_recv = driver.recv_sqe(doomed)
    with caplog.at_level(logging.ERROR, logger="sws_core"):
        driver.deliver(doomed, b"boom")

    [record] = [r for r in caplog.records if "raised" in r.getMessage()]
    assert f"conn=<Conn slot={doomed.slot} gen={doomed.gen} fd={doomed.fd}" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is ValueError
    assert doomed.state == CLOSING
    cancel = driver.ring.one(Opcode.ASYNC_CANCEL)
    assert cancel.addr == doomed_recv.user_data
    assert driver.ring.live(Opcode.CLOSE) == []  # not while the recv is in flight

    driver.ring.complete_cancel(cancel)
    driver.turn()
    driver.ring.one(Opcode.CLOSE, fd=doomed.fd)  # the close follows the cancelled recv
    driver.settle()
    assert doomed.state == FREED

    driver.deliver(other, b"still served")  # the loop goes on
    assert driver.ring.one(Opcode.SEND, fd=other.fd).payload() == b"still served"


def test_a_handler_that_raises_when_called_is_logged_and_its_connection_aborted(
    driver: LoopDriver, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(conn: Conn) -> Fiber:
        raise RuntimeError("cannot start")

    with caplog.at_level(logging.ERROR, logger="sws_core"):
        conn = driver.accept(driver.listen(handler=broken))
    assert any("failed to start" in r.getMessage() for r in caplog.records)
    assert driver.ring.live(Opcode.RECV) == []  # never armed
    driver.settle()
    assert conn.state == FREED


def test_a_handler_that_returns_no_fiber_gets_its_connection_closed(driver: LoopDriver) -> None:
    conn = driver.accept(driver.listen(handler=lambda conn: None))  # type: ignore[arg-type,return-value]
    driver.ring.one(Opcode.CLOSE, fd=conn.fd)
    driver.settle()
    assert conn.state == FREED


def test_a_handler_that_returns_no_fiber_is_reported(
    driver: LoopDriver, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="sws_core"):
        driver.accept(driver.listen(handler=lambda conn: None))  # type: ignore[arg-type,return-value]
    assert any("not a fiber" in r.getMessage() for r in caplog.records)


def test_a_fiber_may_catch_cancelled_and_still_finish(driver: LoopDriver) -> None:
    log: list[Any] = []

    def stubborn(conn: Conn) -> Fiber:
        try:
            yield from conn.receive()
        except Cancelled as exc:
            log.append(type(exc))
        yield from sleep(0)
        log.append("finished")

    conn = driver.accept(driver.listen(handler=stubborn))
    conn.close()
    driver.turn()
    driver.settle()
    driver.turn(2)
    assert log == [Cancelled, "finished"]
    assert driver.loop.statistics().fibers_live == 0


def test_fiber_repr_says_what_it_waits_for_and_its_connection(driver: LoopDriver) -> None:
    conn = driver.accept(driver.listen(handler=gen_echo))
    fiber = conn.fiber
    assert fiber is not None
    assert repr(fiber) == f"<Fiber gen_echo waiting=Receive conn={conn!r}>"
    conn.close()
    driver.turn()
    assert repr(fiber) == f"<Fiber gen_echo waiting=Receive conn={conn!r}>"
    assert "state=CLOSING" in repr(fiber)
    driver.settle()
    assert repr(fiber).startswith("<Fiber gen_echo ready")  # Cancelled was thrown into it
