"""`Listener` and adoption on a fake ring: the multishot accept, refusing past
max_connections, re-arming, and closing. The listening socket is real (Loop.listen makes
it); accepted connections are fds the test owns, injected as accept completions."""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from sws_core import Conn, Op
from sws_core._conn import FREED, K_DISCARD, OPEN
from sws_core._slots import pack_user_data
from uring import AcceptFlag, CqeFlag
from uring import Op as Opcode

if TYPE_CHECKING:
    from fakering import LoopDriver

    MakeLoop = Callable[..., LoopDriver]

Fiber = Generator[Op, Any, None]
MORE = int(CqeFlag.MORE)


def idle(conn: Conn) -> Fiber:
    while (yield from conn.receive()):
        pass


def test_the_accept_is_one_multishot_accept_on_the_listening_socket(driver: LoopDriver) -> None:
    listener = driver.listen(handler=idle)
    assert listener.sock is not None
    accept = driver.accept_sqe(listener)
    assert accept.fd == listener.sock.fileno()
    assert accept.ioprio & AcceptFlag.MULTISHOT
    assert accept.op_flags == socket.SOCK_CLOEXEC
    assert listener.accept_armed
    assert repr(listener) == f"<Listener 127.0.0.1:{listener.port} open index=0>"
    assert listener.port > 0


def test_listen_before_start_arms_at_start(make_loop: MakeLoop) -> None:
    driver = make_loop(start=False)
    listener = driver.listen(handler=idle)
    assert not listener.accept_armed
    driver.start()
    assert driver.accept_sqe(listener).fd == listener.sock.fileno()  # type: ignore[union-attr]


def test_listen_wants_exactly_one_of_handler_and_protocol(driver: LoopDriver) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        driver.loop.listen("127.0.0.1", 0)
    with pytest.raises(ValueError, match="exactly one"):
        driver.loop.listen("127.0.0.1", 0, handler=idle, protocol=lambda conn: None)  # type: ignore[arg-type,return-value]


def test_each_accepted_fd_becomes_a_connection_with_its_own_slot(driver: LoopDriver) -> None:
    listener = driver.listen(handler=idle)
    accept = driver.accept_sqe(listener)
    conns = [driver.accept(listener) for _ in range(3)]
    assert [c.slot for c in conns] == [0, 1, 2]
    assert all(c.state == OPEN for c in conns)
    assert driver.accept_sqe(listener) is accept  # still the same multishot accept
    stats = driver.loop.statistics()
    assert (stats.connections_accepted, stats.slots_live, stats.fibers_live) == (3, 3, 3)


def test_past_max_connections_the_fd_is_closed_through_the_ring_and_counted(
    make_loop: MakeLoop, caplog: pytest.LogCaptureFixture
) -> None:
    driver = make_loop(max_connections=1)
    listener = driver.listen(handler=idle)
    kept = driver.accept(listener)
    refused_fds = []
    with caplog.at_level(logging.WARNING, logger="sws_core"):
        for _ in range(2):
            fd = driver.accept_fd()
            refused_fds.append(fd)
            driver.ring.complete(driver.accept_sqe(listener), fd, MORE)
            driver.turn()
    closes = driver.ring.live(Opcode.CLOSE)
    assert [c.fd for c in closes] == refused_fds
    assert all(c.user_data == pack_user_data(K_DISCARD, 0, 0) for c in closes)
    stats = driver.loop.statistics()
    assert (stats.connections_accepted, stats.connections_refused, stats.slots_live) == (1, 2, 1)
    warnings = [r for r in caplog.records if "max_connections=1 reached" in r.getMessage()]
    assert len(warnings) == 1  # logged once

    peers = driver.peers[-2:]
    for close in closes:
        driver.ring.complete(close, 0)
    driver.turn()
    for peer in peers:  # the fds really were closed: each peer sees EOF
        peer.setblocking(False)
        assert peer.recv(1) == b""
    assert kept.state == OPEN


def test_an_accept_that_ends_is_armed_again(
    driver: LoopDriver, caplog: pytest.LogCaptureFixture
) -> None:
    listener = driver.listen(handler=idle)
    first = driver.accept_sqe(listener)
    fd = driver.accept_fd()
    driver.ring.complete(first, fd)  # a connection, and no MORE: the multishot ended
    driver.turn()
    second = driver.accept_sqe(listener)
    assert second is not first
    assert driver.conn_for_fd(fd).state == OPEN
    with caplog.at_level(logging.WARNING, logger="sws_core"):
        driver.ring.complete(second, -errno.EINVAL)
        driver.turn()
    assert any("ended: EINVAL" in r.getMessage() for r in caplog.records)
    assert driver.accept_sqe(listener) is not second


def test_an_accept_out_of_fds_is_armed_again_after_a_pause(
    driver: LoopDriver, caplog: pytest.LogCaptureFixture
) -> None:
    listener = driver.listen(handler=idle)
    with caplog.at_level(logging.WARNING, logger="sws_core"):
        driver.ring.complete(driver.accept_sqe(listener), -errno.EMFILE)
        driver.turn()
    assert any("EMFILE" in r.getMessage() for r in caplog.records)
    assert driver.ring.live(Opcode.ACCEPT) == []
    assert not listener.accept_armed
    driver.turn()
    assert driver.ring.last_wait == (1, pytest.approx(0.1))  # the retry timer bounds the wait
    driver.advance(0.1)
    driver.turn()
    driver.accept_sqe(listener)


def test_close_cancels_the_accept_then_closes_the_socket(driver: LoopDriver) -> None:
    listener = driver.listen(handler=idle)
    accept = driver.accept_sqe(listener)
    listener.close()
    listener.close()  # idempotent
    driver.turn()
    cancel = driver.ring.one(Opcode.ASYNC_CANCEL)
    assert cancel.addr == accept.user_data
    assert listener.sock is not None  # not while the kernel may still accept on it

    late_fd = driver.accept_fd()  # a connection that raced the cancel is refused
    driver.ring.complete(accept, late_fd, MORE)
    driver.turn()
    assert driver.ring.one(Opcode.CLOSE).fd == late_fd
    assert driver.loop.statistics().connections_refused == 1

    driver.ring.complete_cancel(cancel)
    driver.turn()
    assert listener.sock is None
    assert repr(listener).endswith("closed index=0>")
    driver.settle()


def test_close_before_the_loop_runs_closes_the_socket_at_once(make_loop: MakeLoop) -> None:
    driver = make_loop(start=False)
    listener = driver.listen(handler=idle)
    listener.close()
    assert listener.sock is None
    driver.start()
    assert driver.ring.live(Opcode.ACCEPT) == []


def test_a_protocol_factory_that_raises_aborts_the_connection(
    driver: LoopDriver, caplog: pytest.LogCaptureFixture
) -> None:
    def factory(conn: Conn) -> Any:
        raise RuntimeError("no protocol for you")

    with caplog.at_level(logging.ERROR, logger="sws_core"):
        conn = driver.accept(driver.listen(protocol=factory))
    assert any("protocol factory failed" in r.getMessage() for r in caplog.records)
    assert driver.ring.live(Opcode.RECV) == []
    driver.settle()
    assert conn.state == FREED
