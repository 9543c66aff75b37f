"""`TcpProtocol` servers: callbacks in order, writes from callbacks, half-close."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from sws_core import ClosedResourceError, Conn

pytestmark = pytest.mark.integration


class Recorder:
    """Echoes upper-cased; on b"half" it half-closes; on EOF it says goodbye and closes."""

    def __init__(self, conn: Conn, events: list[tuple[Any, ...]]) -> None:
        self.conn = conn
        self.events = events
        self.half_closed = False
        self.events.append(("made", threading.get_ident()))

    def data_received(self, data: bytes) -> None:
        self.events.append(("data", data, threading.get_ident()))
        if self.half_closed:
            try:
                self.conn.write(b"too late")
            except ClosedResourceError:
                self.events.append(("write-after-shutdown-refused",))
            return
        self.conn.write(bytearray(data.upper()))  # a bytearray: the loop must copy it
        if b"half" in data:
            self.conn.shutdown_write()
            self.half_closed = True

    def eof_received(self) -> None:
        self.events.append(("eof", threading.get_ident()))
        if not self.half_closed:
            self.conn.write(b"goodbye")
        self.conn.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append(("lost", exc, threading.get_ident()))


def kinds(events: list[tuple[Any, ...]]) -> list[str]:
    return [e[0] for e in events]


def test_callbacks_in_order_and_writes_from_callbacks(serve: Any, tcp: Any) -> None:
    events: list[tuple[Any, ...]] = []
    lt = serve(protocol=lambda conn: Recorder(conn, events))
    sock = tcp.connect(lt.port)
    sent = b""
    for word in (b"hello ", b"sws ", b"world"):
        sock.sendall(word)
        sent += word
        assert tcp.recv_exactly(sock, len(word)) == word.upper()
    sock.shutdown(socket.SHUT_WR)
    assert tcp.read_to_eof(sock) == b"goodbye"
    lt.wait_stats(lambda s: s.slots_live == 0)
    got = lt.call(lambda: list(events))
    k = kinds(got)
    assert k[0] == "made"
    assert k[-2:] == ["eof", "lost"]
    assert set(k[1:-2]) == {"data"}
    assert b"".join(e[1] for e in got if e[0] == "data") == sent
    assert got[-1][1] is None  # a clean close reports no exception
    assert {e[-1] for e in got} == {lt.ident}  # every callback ran on the loop thread


def test_half_close_from_the_server(serve: Any, tcp: Any, waiter: Any) -> None:
    """After `shutdown_write` the client sees EOF but can still send; the server still
    receives, and its writes are refused."""
    events: list[tuple[Any, ...]] = []
    lt = serve(protocol=lambda conn: Recorder(conn, events))
    sock = tcp.connect(lt.port)
    sock.sendall(b"please half-close")
    assert tcp.read_to_eof(sock) == b"PLEASE HALF-CLOSE"  # then the FIN
    sock.sendall(b"still talking")
    # The server receives after its half-close; wait for it before closing our side.
    waiter(
        lambda: any(e[0] == "data" and b"still" in e[1] for e in lt.call(list, events)),
        what="the bytes sent after the server's half-close",
    )
    sock.shutdown(socket.SHUT_WR)
    lt.wait_stats(lambda s: s.slots_live == 0)
    got = lt.call(lambda: list(events))
    assert kinds(got)[-2:] == ["eof", "lost"]
    assert ("write-after-shutdown-refused",) in got
    assert got[-1][1] is None


class Raiser:
    def __init__(self, conn: Conn, events: list[Any]) -> None:
        self.events = events

    def data_received(self, data: bytes) -> None:
        raise ValueError("protocol bug")

    def eof_received(self) -> None:
        self.events.append("eof")

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append(exc)


def test_protocol_that_raises_is_aborted_and_the_loop_goes_on(serve: Any, tcp: Any) -> None:
    events: list[Any] = []
    lt = serve(protocol=lambda conn: Raiser(conn, events), allow_errors=True)
    sock = tcp.connect(lt.port)
    sock.sendall(b"boom")
    assert tcp.closed_by_peer(sock)
    lt.wait_stats(lambda s: s.slots_live == 0)
    got = lt.call(lambda: list(events))
    assert len(got) == 1
    assert isinstance(got[0], ValueError)
    # Still serving.
    sock2 = tcp.connect(lt.port)
    sock2.sendall(b"again")
    assert tcp.closed_by_peer(sock2)
    lt.wait_stats(lambda s: s.slots_live == 0 and s.connections_accepted == 2)


def test_protocol_factory_that_raises(serve: Any, tcp: Any) -> None:
    calls: list[int] = []

    def factory(conn: Conn) -> Any:
        calls.append(conn.id)
        if len(calls) == 1:
            raise RuntimeError("no protocol for you")
        return Recorder(conn, [])

    lt = serve(protocol=factory, allow_errors=True)
    sock = tcp.connect(lt.port)
    assert tcp.closed_by_peer(sock)
    lt.wait_stats(lambda s: s.slots_live == 0)
    sock2 = tcp.connect(lt.port)
    sock2.sendall(b"ok")
    assert tcp.recv_exactly(sock2, 2) == b"OK"
