"""Echo over the real ring: generator and `async def` handlers, many concurrent clients,
IPv6, and large payloads that need partial sends."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sws_core import Conn, Op

pytestmark = pytest.mark.integration

CLIENTS = 100
THREADS = 4
ROUNDS = 3


def echo(conn: Conn) -> Generator[Op, Any, None]:
    while data := (yield from conn.receive()):
        yield from conn.send(data)


async def async_echo(conn: Conn) -> None:
    while data := await conn.receive():
        await conn.send(data)


def run_clients(tcp: Any, port: int, host: str = "127.0.0.1") -> None:
    """CLIENTS connections open at once, spread over THREADS threads, each echoing
    ROUNDS messages of its own; every answer must be its own bytes."""
    socks = [tcp.connect(port, host) for _ in range(CLIENTS)]

    def drive(part: list[tuple[int, socket.socket]]) -> int:
        done = 0
        for rnd in range(ROUNDS):
            msgs = {i: f"client {i} round {rnd} ".encode() * (1 + i % 7) for i, _ in part}
            for i, sock in part:
                sock.sendall(msgs[i])
            for i, sock in part:
                assert tcp.recv_exactly(sock, len(msgs[i])) == msgs[i]
                done += 1
        for _, sock in part:
            sock.shutdown(socket.SHUT_WR)
        for _, sock in part:
            assert sock.recv(1) == b""  # the handler returned: the server closed
        return done

    parts = [list(enumerate(socks))[k::THREADS] for k in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        counts = [f.result(timeout=60) for f in [pool.submit(drive, p) for p in parts]]
    assert sum(counts) == CLIENTS * ROUNDS


@pytest.mark.parametrize("handler", [echo, async_echo], ids=["generator", "async_def"])
def test_many_concurrent_clients(serve: Any, tcp: Any, handler: Any) -> None:
    lt = serve(handler)
    run_clients(tcp, lt.port)
    stats = lt.wait_stats(lambda s: s.slots_live == 0)
    assert stats.connections_accepted == CLIENTS
    assert stats.connections_refused == 0
    assert stats.fibers_live == 0


def test_one_byte_and_empty_exchange(serve: Any, tcp: Any) -> None:
    lt = serve(echo)
    sock = tcp.connect(lt.port)
    sock.sendall(b"x")
    assert sock.recv(1) == b"x"
    sock.shutdown(socket.SHUT_WR)
    assert sock.recv(1) == b""
    # A client that connects and closes at once ends its handler too.
    tcp.connect(lt.port).close()
    lt.wait_stats(lambda s: s.slots_live == 0 and s.connections_accepted == 2)


def test_handler_can_read_peer_and_id(serve: Any, tcp: Any) -> None:
    seen: list[tuple[tuple[str, int], int]] = []

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        seen.append((conn.peer, conn.id))
        data = yield from conn.receive()
        yield from conn.send(data)

    lt = serve(handler)
    sock = tcp.connect(lt.port)
    sock.sendall(b"hi")
    assert sock.recv(2) == b"hi"
    assert seen[0][0] == sock.getsockname()[:2]


def test_ipv6_listener(serve: Any, tcp: Any) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python")
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no ::1 here: {exc}")
    peers: list[tuple[str, int]] = []

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        peers.append(conn.peer)
        yield from echo(conn)

    lt = serve(handler, host="::1")
    assert lt.host == "::1"
    sock = tcp.connect(lt.port, "::1")
    sock.sendall(b"over six")
    assert tcp.recv_exactly(sock, 8) == b"over six"
    sock.shutdown(socket.SHUT_WR)
    assert sock.recv(1) == b""
    assert peers == [sock.getsockname()[:2]]


def _echo_8mib_full_duplex(tcp: Any, port: int) -> None:
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
    try:
        got = tcp.read_to_eof(sock, limit=len(payload))
    finally:
        t.join(30)
    assert not failures
    assert len(got) == len(payload)
    assert got == payload


def test_large_echo_full_duplex(serve: Any, tcp: Any) -> None:
    """The client writes 8 MiB while it reads the echo. Small buffers and limits make the
    loop pause and resume reading (unread input, then queued output) many times; the
    limits are chosen so that no single receive can exceed 4 * max_write_queue_bytes."""
    lt = serve(
        echo,
        recv_buffers=64,
        recv_buffer_bytes=4096,
        max_read_buffer_bytes=32 << 10,
        max_write_queue_bytes=256 << 10,
    )
    _echo_8mib_full_duplex(tcp, lt.port)


def test_echo_with_a_small_write_limit(serve: Any, tcp: Any) -> None:
    """The plain echo handler with max_write_queue_bytes=16 KiB and a client that sends
    8 MiB while reading: backpressure must slow the exchange down, not break it."""
    lt = serve(echo, max_write_queue_bytes=16 << 10)
    _echo_8mib_full_duplex(tcp, lt.port)
    assert lt.error is None, f"the loop thread died: {lt.error!r}"


def _sha_of_stream(tcp: Any, sock: socket.socket, slow: bool) -> tuple[int, bytes]:
    digest = hashlib.sha256()
    total = 0
    first = True
    while chunk := sock.recv(64 << 10 if slow else 1 << 20):
        if first and slow:
            threading.Event().wait(0.1)  # let the server's queue and the buffers fill up
            first = False
        digest.update(chunk)
        total += len(chunk)
    return total, digest.digest()


def test_large_payload_in_chunks_to_a_slow_reader(serve: Any, tcp: Any) -> None:
    """32 MiB sent as 256 KiB `send`s to a client reading 64 KiB at a time: the loop
    continues every short send from where it stopped; every byte arrives, in order."""
    payload = os.urandom(32 << 20)
    step = 256 << 10
    done: list[int] = []

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        view = memoryview(payload)
        for off in range(0, len(payload), step):
            yield from conn.send(bytes(view[off : off + step]))
        done.append(conn.write_queue_bytes)

    lt = serve(handler)
    sock = tcp.connect(lt.port, rcvbuf=64 << 10)
    total, digest = _sha_of_stream(tcp, sock, slow=True)
    assert total == len(payload)
    assert digest == hashlib.sha256(payload).digest()
    assert len(done) == 1


def test_large_payload_in_one_send(serve: Any, tcp: Any) -> None:
    """20 MiB in a single `yield from conn.send(...)`: the fiber waits while the queue
    drains; the client gets every byte in order."""
    payload = os.urandom(20 << 20)
    outcome: list[str] = []

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        try:
            yield from conn.send(payload)
        except BaseException as exc:
            outcome.append(repr(exc))
            raise
        outcome.append("sent")

    lt = serve(handler)
    sock = tcp.connect(lt.port)
    total, digest = _sha_of_stream(tcp, sock, slow=False)
    assert lt.error is None, f"the loop thread died: {lt.error!r}"
    assert total == len(payload)
    assert digest == hashlib.sha256(payload).digest()
    assert outcome == ["sent"]


def test_recv_buffer_exhaustion_loses_nothing(serve: Any, tcp: Any) -> None:
    """Two provided buffers for twenty busy connections: receives run out of buffers
    (ENOBUFS ends the multishot recv) and are re-armed; every byte still arrives once,
    in order."""
    lt = serve(echo, recv_buffers=2, recv_buffer_bytes=1024)
    payloads = [os.urandom(64 << 10) for _ in range(20)]
    socks = [tcp.connect(lt.port) for _ in payloads]

    def exchange(i: int) -> bytes:
        sock = socks[i]
        writer = threading.Thread(target=sock.sendall, args=(payloads[i],))
        writer.start()
        try:
            data: bytes = tcp.recv_exactly(sock, len(payloads[i]))
        finally:
            writer.join(30)
        return data

    with ThreadPoolExecutor(len(socks)) as pool:
        echoed = list(pool.map(exchange, range(len(socks)), timeout=60))
    assert echoed == payloads
    assert lt.stats().recv_buffer_exhaustions >= 0


def test_dual_stack_listener(serve: Any, tcp: Any) -> None:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no ::1 here: {exc}")
    lt = serve(echo, host="::")
    for host in ("127.0.0.1", "::1"):
        sock = tcp.connect(lt.port, host)
        sock.sendall(host.encode())
        assert tcp.recv_exactly(sock, len(host)) == host.encode()


def test_half_close_from_a_fiber(serve: Any, tcp: Any) -> None:
    """A handler that answers, half-closes, and goes on reading until the client's EOF."""
    heard: list[bytes] = []

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        question = yield from conn.receive()
        yield from conn.send(b"answer to " + question)
        conn.shutdown_write()
        while data := (yield from conn.receive()):
            heard.append(data)

    lt = serve(handler)
    sock = tcp.connect(lt.port)
    sock.sendall(b"q")
    assert tcp.read_to_eof(sock) == b"answer to q"
    sock.sendall(b"after your FIN")
    sock.shutdown(socket.SHUT_WR)
    lt.wait_stats(lambda s: s.slots_live == 0)
    assert b"".join(heard) == b"after your FIN"


def test_two_loops_share_a_port_with_reuse_port(serve: Any, tcp: Any) -> None:
    first = serve(echo, reuse_port=True)
    second = serve(echo, port=first.port, reuse_port=True)
    assert second.port == first.port
    for i in range(20):
        sock = tcp.connect(first.port)
        sock.sendall(b"%02d" % i)
        assert tcp.recv_exactly(sock, 2) == b"%02d" % i
    tcp.close_all()
    a = first.wait_stats(lambda s: s.slots_live == 0)
    b = second.wait_stats(lambda s: s.slots_live == 0)
    assert a.connections_accepted + b.connections_accepted == 20


def test_listen_while_running(serve: Any, tcp: Any) -> None:
    lt = serve(echo)
    late = lt.call(lambda: lt.loop.listen("127.0.0.1", 0, handler=async_echo))
    assert late.port != lt.port
    for port in (lt.port, late.port):
        sock = tcp.connect(port)
        sock.sendall(b"both")
        assert tcp.recv_exactly(sock, 4) == b"both"
    tcp.close_all()
    assert lt.wait_stats(lambda s: s.slots_live == 0).connections_accepted == 2
