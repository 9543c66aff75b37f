"""Graceful stop: from a signal (the echo example as a child process) and from
`loop.stop()` on another thread."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Generator
from typing import Any

import pytest

from sws_core import Conn, Event, Op, to_worker

pytestmark = pytest.mark.integration

WAIT_S = 10.0
ECHO = ("-m", "sws_core.examples.echo", "--port", "0")


def start_echo(spawn: Any) -> tuple[Any, int]:
    child = spawn(*ECHO)
    line = child.wait_for_line(lambda s: s.startswith("echo server listening on "))
    return child, int(line.rsplit(":", 1)[1])


def refused_soon(tcp: Any, port: int, waiter: Any) -> None:
    """New connections are refused once the listener is closed; one that slips into the
    backlog before that is closed, never served."""

    def refused() -> bool:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(WAIT_S)
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        finally:
            tcp.adopt(sock)
        sock.sendall(b"?")
        assert tcp.closed_by_peer(sock), "a connection made after stop was served"
        return False

    waiter(refused, what="new connections to be refused")


# --- SIGTERM, on the echo example -------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_signal_with_idle_connections_exits_promptly(spawn: Any, tcp: Any, signum: int) -> None:
    child, port = start_echo(spawn)
    socks = [tcp.connect(port) for _ in range(3)]
    for i, sock in enumerate(socks):
        sock.sendall(b"%d" % i)
        assert sock.recv(1) == b"%d" % i
    child.proc.send_signal(signum)
    for sock in socks:
        assert sock.recv(1) == b""  # idle: closed at once, cleanly
    # Well inside the 10 s grace period: idle connections are not waited for.
    out = child.rest(timeout=8.0)
    assert child.close() == 0
    assert "stopped" in out.splitlines()
    with pytest.raises(ConnectionRefusedError):
        tcp.connect(port)


# A loop whose ring comes up normally, but which receives SIGTERM while it starts (as when
# a supervisor stops a service that is still starting): the signal lands after run()
# installed its handler and before the first io_uring_enter.
SIGNAL_DURING_SETUP = r"""
import os, signal
import uring
from sws_core import Loop
from sws_core._backend import UringBackend

class SignalDuringSetup(UringBackend):
    def open_ring(self, entries):
        return uring.Ring(entries, uring.fast_setup_flags(), cq_entries=entries * 4)

    def open_buffers(self, ring, bgid, entries, size):
        bufs = uring.BufferRing(ring, bgid, entries, size)
        os.kill(os.getpid(), signal.SIGTERM)
        return bufs

def handler(conn):
    yield from conn.receive()

loop = Loop(backend=SignalDuringSetup(), max_connections=16)
loop.listen("127.0.0.1", 0, handler=handler)
loop.run()
print("stopped", flush=True)
"""


def test_sigterm_while_the_loop_starts(spawn: Any) -> None:
    child = spawn("-c", SIGNAL_DURING_SETUP)
    out = child.rest(timeout=5.0)
    assert child.close() == 0
    assert "stopped" in out.splitlines()


def test_sigterm_lets_an_in_flight_echo_finish(spawn: Any, tcp: Any) -> None:
    child, port = start_echo(spawn)
    payload = os.urandom(8 << 20)
    sock = tcp.connect(port)
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except BaseException as exc:
            failures.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    got = bytearray()
    signalled = False
    try:
        while data := sock.recv(1 << 16):
            got += data
            if not signalled and len(got) >= 1 << 20:
                child.proc.send_signal(signal.SIGTERM)  # mid-way through the echo
                signalled = True
    finally:
        t.join(WAIT_S)
        out = child.rest(timeout=20.0)
    assert signalled
    assert not failures
    assert len(got) == len(payload)
    assert got == payload
    assert child.close() == 0
    assert "stopped" in out.splitlines()


# --- loop.stop() from the test thread ------------------------------------------------------


def test_stop_lets_an_in_flight_worker_job_finish(serve: Any, tcp: Any, waiter: Any) -> None:
    started, release = threading.Event(), threading.Event()

    def job(x: int) -> int:
        started.set()
        assert release.wait(WAIT_S)
        return x + 1

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        while data := (yield from conn.receive()):
            result = yield from to_worker(job, int(data))
            yield from conn.send(b"%d" % result)

    lt = serve(handler, workers=2)
    busy = tcp.connect(lt.port)
    idle = tcp.connect(lt.port)
    idle.sendall(b"1")
    started.wait(WAIT_S)
    release.set()
    assert idle.recv(1) == b"2"
    started.clear()
    release.clear()
    busy.sendall(b"41")
    assert started.wait(WAIT_S)
    lt.loop.stop()
    waiter(lambda: lt.loop.stopping, what="the stop to begin")
    assert idle.recv(1) == b""  # nothing in flight: closed at once
    refused_soon(tcp, lt.port, waiter)
    assert lt.thread.is_alive()  # waiting for the job
    release.set()
    assert tcp.recv_exactly(busy, 2) == b"42"
    assert busy.recv(1) == b""  # then closed, as the handler waits for more
    lt.thread.join(WAIT_S)
    assert not lt.thread.is_alive()
    assert lt.loop.statistics().slots_live == 0


def test_stop_lets_an_in_flight_response_finish(serve: Any, tcp: Any, waiter: Any) -> None:
    """A handler suspended in `send` (the client reads slowly) is not idle: its response
    completes after `stop()`."""
    chunk = b"r" * (64 << 10)
    total = 128 * len(chunk)  # 8 MiB

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        request = yield from conn.receive()
        assert request == b"GET"
        for _ in range(total // len(chunk)):
            yield from conn.send(chunk)

    lt = serve(handler, max_write_queue_bytes=256 << 10)
    sock = tcp.connect(lt.port, rcvbuf=64 << 10)
    sock.sendall(b"GET")
    first = tcp.recv_exactly(sock, 1 << 20)
    lt.loop.stop()
    waiter(lambda: lt.loop.stopping, what="the stop to begin")
    rest = tcp.read_to_eof(sock)
    assert len(first) + len(rest) == total
    assert set(rest) <= {ord("r")}
    lt.thread.join(WAIT_S)
    assert not lt.thread.is_alive()


def test_grace_period_over_aborts_the_rest(serve: Any, tcp: Any, waiter: Any) -> None:
    never = Event()
    outcome: list[str] = []

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        yield from conn.receive()
        try:
            yield from never.wait()  # not waiting on the connection: "busy" forever
        except GeneratorExit:
            outcome.append("closed by the loop's teardown")
            raise

    lt = serve(handler, grace_s=0.3)
    sock = tcp.connect(lt.port)
    sock.sendall(b"x")
    lt.wait_stats(lambda s: s.fibers_live == 1 and s.slots_live == 1)
    lt.loop.stop()
    assert tcp.closed_by_peer(sock)
    lt.thread.join(WAIT_S)
    assert not lt.thread.is_alive()
    assert lt.loop.statistics().slots_live == 0
    assert outcome == ["closed by the loop's teardown"]


class Polite:
    """A protocol that says goodbye when the loop asks it to stop."""

    def __init__(self, conn: Conn, calls: list[str]) -> None:
        self.conn = conn
        self.calls = calls

    def data_received(self, data: bytes) -> None:
        self.conn.write(data)

    def eof_received(self) -> None:
        self.conn.close()

    def shutdown_requested(self) -> None:
        self.calls.append("shutdown_requested")
        self.conn.write(b"bye")
        self.conn.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.calls.append(f"lost {exc!r}")


def test_stop_asks_protocols_to_shut_down(serve: Any, tcp: Any) -> None:
    calls: list[str] = []
    lt = serve(protocol=lambda conn: Polite(conn, calls))
    sock = tcp.connect(lt.port)
    sock.sendall(b"hi")
    assert tcp.recv_exactly(sock, 2) == b"hi"
    lt.loop.stop()
    assert tcp.read_to_eof(sock) == b"bye"
    lt.thread.join(WAIT_S)
    assert not lt.thread.is_alive()
    assert calls == ["shutdown_requested", "lost None"]
