"""Idle and write timeouts, and peers that reset their connection."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Generator
from typing import Any

import pytest

from sws_core import BrokenResourceError, Conn, Event, Op

pytestmark = pytest.mark.integration


def echo(conn: Conn) -> Generator[Op, Any, None]:
    while data := (yield from conn.receive()):
        yield from conn.send(data)


def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER (1, 0): the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def outcome_of(handler: Any, outcomes: list[str]) -> Any:
    """Wrap a handler: record how it ended ("returned" or the exception's class name)."""

    def wrapped(conn: Conn) -> Generator[Op, Any, None]:
        try:
            yield from handler(conn)
        except BaseException as exc:
            outcomes.append(type(exc).__name__)
            raise
        outcomes.append("returned")

    return wrapped


# --- idle timeout ---------------------------------------------------------------------------


def test_idle_connection_is_closed(serve: Any, tcp: Any) -> None:
    outcomes: list[str] = []
    lt = serve(outcome_of(echo, outcomes), idle_timeout_s=0.3)
    busy = tcp.connect(lt.port)
    busy.sendall(b"ping")
    assert busy.recv(4) == b"ping"
    idle = tcp.connect(lt.port)
    assert idle.recv(1) == b""  # the server closed it (the socket timeout is 10 s)
    assert busy.recv(1) == b""  # silent since its ping: idle too
    stats = lt.wait_stats(lambda s: s.slots_live == 0)
    assert stats.connections_idle_closed == 2
    # A handler parked in receive is woken by the close (Cancelled) and ends quietly.
    assert outcomes == ["Cancelled", "Cancelled"]


def test_idle_protocol_connection_is_closed(serve: Any, tcp: Any, waiter: Any) -> None:
    lost: list[Any] = []

    class Quiet:
        def __init__(self, conn: Conn) -> None:
            pass

        def data_received(self, data: bytes) -> None:
            pass

        def eof_received(self) -> None:
            pass

        def connection_lost(self, exc: BaseException | None) -> None:
            lost.append(exc)

    lt = serve(protocol=Quiet, idle_timeout_s=0.3)
    sock = tcp.connect(lt.port)
    assert sock.recv(1) == b""
    waiter(lambda: lt.call(lambda: list(lost)), what="connection_lost")
    assert lost == [None]
    assert lt.wait_stats(lambda s: s.slots_live == 0).connections_idle_closed == 1


def test_per_connection_idle_timeout_overrides_the_loop(serve: Any, tcp: Any) -> None:
    def handler(conn: Conn) -> Generator[Op, Any, None]:
        conn.idle_timeout_s = 0.2  # the loop's is 300 s
        yield from echo(conn)

    lt = serve(handler)
    sock = tcp.connect(lt.port)
    assert sock.recv(1) == b""
    assert lt.wait_stats(lambda s: s.slots_live == 0).connections_idle_closed == 1


def test_per_connection_idle_timeout_with_the_loop_timeouts_off(serve: Any, tcp: Any) -> None:
    """A connection's own timeout works even when the loop-wide ones are off."""

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        conn.idle_timeout_s = 0.2
        yield from echo(conn)

    lt = serve(handler, idle_timeout_s=None, write_timeout_s=None)
    sock = tcp.connect(lt.port, timeout=3.0)
    try:
        assert sock.recv(1) == b""
    except TimeoutError:
        pytest.fail("the connection was still open 3 s after its 0.2 s idle timeout")
    assert lt.wait_stats(lambda s: s.slots_live == 0).connections_idle_closed == 1


# --- write timeout --------------------------------------------------------------------------


def test_write_timeout_aborts_a_stalled_send(serve: Any, tcp: Any) -> None:
    outcomes: list[str] = []
    chunk = b"w" * (64 << 10)
    total = 512 * len(chunk)  # 32 MiB: more than a peer that never reads can buffer

    def flood(conn: Conn) -> Generator[Op, Any, None]:
        for _ in range(total // len(chunk)):
            yield from conn.send(chunk)

    lt = serve(
        outcome_of(flood, outcomes),
        write_timeout_s=0.3,
        idle_timeout_s=None,
        max_write_queue_bytes=256 << 10,
    )
    sock = tcp.connect(lt.port, rcvbuf=64 << 10)
    # Never read until the server gave up on the send; then what is left ends early.
    stats = lt.wait_stats(lambda s: s.slots_live == 0)
    assert stats.connections_idle_closed == 0
    assert outcomes == ["Cancelled"]  # the suspended `send` was woken by the abort
    received = 0
    try:
        while data := sock.recv(1 << 20):
            received += len(data)
    except ConnectionResetError:
        pass
    assert received < total


# --- peer reset -----------------------------------------------------------------------------


def test_peer_reset_ends_the_receive_and_frees_the_slot(serve: Any, tcp: Any) -> None:
    outcomes: list[str] = []
    lt = serve(outcome_of(echo, outcomes))
    other = tcp.connect(lt.port)
    other.sendall(b"before")
    assert other.recv(6) == b"before"
    victim = tcp.connect(lt.port)
    victim.sendall(b"hi")
    assert victim.recv(2) == b"hi"
    tcp.socks.remove(victim)
    reset(victim)
    lt.wait_stats(lambda s: s.slots_live == 1)
    # The handler's receive ended: b"" (it returned) or the connection was aborted.
    assert lt.call(lambda: list(outcomes)) in (["returned"], ["Cancelled"])
    other.sendall(b"after")
    assert other.recv(5) == b"after"
    newcomer = tcp.connect(lt.port)
    newcomer.sendall(b"new")
    assert newcomer.recv(3) == b"new"


def test_peer_reset_reaches_connection_lost(serve: Any, tcp: Any, waiter: Any) -> None:
    lost: list[Any] = []

    class Echo:
        def __init__(self, conn: Conn) -> None:
            self.conn = conn

        def data_received(self, data: bytes) -> None:
            self.conn.write(data)

        def eof_received(self) -> None:
            self.conn.close()

        def connection_lost(self, exc: BaseException | None) -> None:
            lost.append(exc)

    lt = serve(protocol=Echo)
    sock = tcp.connect(lt.port)
    sock.sendall(b"x")
    assert sock.recv(1) == b"x"
    tcp.socks.remove(sock)
    reset(sock)
    waiter(lambda: lt.call(lambda: list(lost)), what="connection_lost")
    assert len(lost) == 1
    assert isinstance(lost[0], ConnectionResetError)
    lt.wait_stats(lambda s: s.slots_live == 0)


def test_peer_reset_while_the_server_sends(serve: Any, tcp: Any) -> None:
    """The client resets while the handler streams to it: the handler's send fails or
    is cancelled, the slot is released and the loop survives."""
    outcomes: list[str] = []
    chunk = b"s" * (64 << 10)

    def stream(conn: Conn) -> Generator[Op, Any, None]:
        for _ in range(4096):
            yield from conn.send(chunk)

    lt = serve(outcome_of(stream, outcomes), max_write_queue_bytes=256 << 10)
    for _ in range(5):
        sock = tcp.connect(lt.port, rcvbuf=64 << 10)
        assert tcp.recv_exactly(sock, 100_000)
        tcp.socks.remove(sock)
        reset(sock)
    stats = lt.wait_stats(lambda s: s.slots_live == 0)
    assert stats.connections_accepted == 5
    assert len(outcomes) == 5
    assert set(outcomes) <= {"Cancelled", "ClosedResourceError", "BrokenResourceError"}
    assert lt.error is None
    probe = tcp.connect(lt.port)
    assert tcp.recv_exactly(probe, 10) == b"s" * 10


def test_send_after_a_peer_reset_raises_broken_resource(serve: Any, tcp: Any) -> None:
    got_data = threading.Event()
    go_on = Event()
    raised: list[BaseException] = []

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        yield from conn.receive()
        got_data.set()
        yield from go_on.wait()  # not waiting on the connection while the reset lands
        try:
            yield from conn.send(b"too late")
        except Exception as exc:
            raised.append(exc)

    lt = serve(handler)
    sock = tcp.connect(lt.port)
    sock.sendall(b"x")
    assert got_data.wait(10)
    tcp.socks.remove(sock)
    reset(sock)
    lt.wait_stats(lambda s: s.slots_live == 0)  # the loop saw the reset and closed
    lt.loop.invoke(go_on.set)
    lt.wait_stats(lambda s: s.fibers_live == 0)
    assert len(raised) == 1
    assert isinstance(raised[0], BrokenResourceError), repr(raised[0])
