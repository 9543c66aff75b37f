"""Backpressure: a peer that does not read suspends the sending fiber, bounds the
per-connection write queue, and (for a callback writer that ignores it) aborts."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Generator
from typing import Any

import pytest

from sws_core import BrokenResourceError, Conn, Op

pytestmark = pytest.mark.integration

LIMIT = 256 << 10  # max_write_queue_bytes
CHUNK = 64 << 10
CHUNKS = 512  # 32 MiB: far more than the socket buffers of a peer that does not read


def chunk(i: int) -> bytes:
    return i.to_bytes(4, "big") * (CHUNK // 4)


def test_slow_reader_suspends_the_sender(serve: Any, tcp: Any, waiter: Any) -> None:
    state = {"sent": 0, "max_queued": 0, "done": False}
    queued_seen: list[int] = []

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        for i in range(CHUNKS):
            queued_seen.append(conn.write_queue_bytes)
            yield from conn.send(chunk(i))
            queued_seen.append(conn.write_queue_bytes)
            state["sent"] += 1
        state["done"] = True

    lt = serve(handler, max_write_queue_bytes=LIMIT)
    sock = tcp.connect(lt.port, rcvbuf=64 << 10)

    # The client reads nothing: the handler must come to a halt, parked in `send`.
    def sent_if_stable() -> int | None:
        before = lt.call(lambda: state["sent"])
        threading.Event().wait(0.1)
        again = lt.call(lambda: state["sent"])
        threading.Event().wait(0.1)
        last = lt.call(lambda: state["sent"])
        return last if before == again == last and last > 0 else None

    parked_at = waiter(sent_if_stable, what="the sender to stop making progress")
    assert not state["done"]
    assert parked_at * CHUNK <= CHUNKS * CHUNK // 2, "the sender was never suspended"
    queued = lt.call(lambda: list(queued_seen))
    assert max(queued) <= 4 * LIMIT
    assert max(queued) <= LIMIT + CHUNK  # Send waits once the queue is over the limit
    assert lt.stats().slots_live == 1

    # Now read: the handler resumes and finishes; every chunk arrives, in order.
    expected = hashlib.sha256()
    for i in range(CHUNKS):
        expected.update(chunk(i))
    digest = hashlib.sha256()
    total = 0
    while data := sock.recv(1 << 20):
        digest.update(data)
        total += len(data)
    assert total == CHUNKS * CHUNK
    assert digest.digest() == expected.digest()
    lt.wait_stats(lambda s: s.slots_live == 0)
    assert lt.call(lambda: state["done"])
    assert max(queued_seen) <= LIMIT + CHUNK


def test_reading_pauses_while_output_is_queued(serve: Any, tcp: Any) -> None:
    """An echo peer that sends but does not read: the server stops reading (its input
    stays in the kernel), so neither queue grows without bound; reading again drains
    everything, in order."""
    max_queued: list[int] = [0]

    def echo(conn: Conn) -> Generator[Op, Any, None]:
        while data := (yield from conn.receive()):
            yield from conn.send(data)
            max_queued[0] = max(max_queued[0], conn.write_queue_bytes)

    lt = serve(
        echo,
        max_write_queue_bytes=LIMIT,
        recv_buffers=64,
        recv_buffer_bytes=4096,
        max_read_buffer_bytes=32 << 10,
    )
    sock = tcp.connect(lt.port, rcvbuf=64 << 10)
    payload = b"".join(chunk(i) for i in range(256))  # 16 MiB
    sock.setblocking(False)
    sent = 0
    # Send without reading until the kernel takes no more: the server has stopped reading.
    while sent < len(payload):
        try:
            sent += sock.send(payload[sent : sent + 65536])
        except BlockingIOError:
            break
    assert sent < len(payload), "the server kept reading with its output unread"
    assert lt.call(lambda: max_queued[0]) <= 4 * LIMIT
    sock.settimeout(10)
    failures: list[BaseException] = []

    def write_rest() -> None:
        try:
            sock.sendall(payload[sent:])
            sock.shutdown(socket.SHUT_WR)
        except BaseException as exc:
            failures.append(exc)

    t = threading.Thread(target=write_rest)
    t.start()
    try:
        received = tcp.read_to_eof(sock, limit=len(payload))
    finally:
        t.join(30)
    assert not failures
    assert received == payload
    assert max_queued[0] <= 4 * LIMIT
    lt.wait_stats(lambda s: s.slots_live == 0)


class FloodProtocol:
    """Writes 128 KiB every millisecond, ignoring backpressure, until the write raises."""

    def __init__(self, conn: Conn, report: list[Any]) -> None:
        self.conn = conn
        self.report = report
        self.writes = 0

    def data_received(self, data: bytes) -> None:
        self.flood()

    def flood(self) -> None:
        try:
            self.conn.write(b"f" * (128 << 10))
        except Exception as exc:  # the connection was aborted under us
            self.report.append(("write", type(exc).__name__))
            return
        self.writes += 1
        self.report.append(("queued", self.conn.write_queue_bytes))
        if self.writes < 1000:
            self.conn.loop.call_later(0.001, self.flood)

    def eof_received(self) -> None:
        self.conn.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.report.append(("lost", exc))


def test_callback_writer_that_ignores_backpressure_is_aborted(
    serve: Any, tcp: Any, waiter: Any
) -> None:
    report: list[Any] = []
    lt = serve(protocol=lambda conn: FloodProtocol(conn, report), max_write_queue_bytes=LIMIT)
    sock = tcp.connect(lt.port, rcvbuf=64 << 10)
    sock.sendall(b"go")
    waiter(lambda: lt.call(lambda: any(r[0] == "lost" for r in report)), what="the abort")
    lost = [r[1] for r in report if r[0] == "lost"]
    assert len(lost) == 1
    assert isinstance(lost[0], BrokenResourceError)
    queued = [r[1] for r in report if r[0] == "queued"]
    assert max(queued) <= 4 * LIMIT + (128 << 10)
    assert len(queued) < 1000
    lt.wait_stats(lambda s: s.slots_live == 0)
    # The loop goes on serving: a new connection is accepted and flooded in its turn.
    sock2 = tcp.connect(lt.port, rcvbuf=64 << 10)
    sock2.sendall(b"go")
    assert sock2.recv(1) == b"f"
