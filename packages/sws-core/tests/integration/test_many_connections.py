"""Many connections: 10,000 at once, refusal past max_connections, and slots reused
quickly while data is in flight (stale completions, stale ids)."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import struct
import threading
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sws_core import ClosedResourceError, Conn, Op

pytestmark = pytest.mark.integration

MANY = 10_000


def echo(conn: Conn) -> Generator[Op, Any, None]:
    while data := (yield from conn.receive()):
        yield from conn.send(data)


# The client side runs in a child process, so that neither process needs more than about
# MANY descriptors (the hard RLIMIT_NOFILE is often 20,000, and may not be raised).
CLIENTS = r"""
import resource, socket, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < n + 256:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 256), hard))
socks = []
for i in range(n):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))  # loopback: completed by the kernel from the backlog
    socks.append(sock)
    if i % 2000 == 1999:
        print("opened", i + 1, flush=True)
        sys.stdin.readline()  # the parent lets the loop's accepts catch up
print("ready", flush=True)
sys.stdin.readline()
sample = socks[:: n // 100]
for i, sock in enumerate(sample):
    sock.sendall(bytes([i % 256]))
for i, sock in enumerate(sample):
    assert sock.recv(1) == bytes([i % 256]), i
print("sampled", len(sample), flush=True)
sys.stdin.readline()
for sock in socks:
    sock.close()
print("closed", flush=True)
"""


@pytest.fixture
def many_fds() -> Iterator[None]:
    """Room for MANY accepted connections in this process (soft limit up to the hard one)."""
    need = MANY + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        yield
        return
    if hard < need:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {need}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_ten_thousand_concurrent_connections(many_fds: None, serve: Any, spawn: Any) -> None:
    lt = serve(echo, max_connections=MANY + 50, backlog=4096)
    child = spawn("-c", CLIENTS, str(MANY), str(lt.port))
    while (line := child.readline()) != "ready":
        opened = int(line.split()[1])
        lt.wait_stats(lambda s, n=opened: s.connections_accepted >= n - 1000, timeout=30)
        child.say("go on")

    # The slot count, read on the loop thread through invoke.
    got = threading.Event()
    box: list[int] = []

    def read_slots() -> None:
        slots = lt.loop.statistics().slots_live
        if slots >= MANY:
            box.append(slots)
            got.set()
        else:
            lt.loop.call_later(0.01, read_slots)

    lt.loop.invoke(read_slots)
    assert got.wait(30), f"slots_live never reached {MANY}: {lt.stats()}"
    assert box == [MANY]

    child.say("sample")  # a byte each way on 100 connections spread over all of them
    assert child.readline() == "sampled 100"
    child.say("close")
    assert child.readline() == "closed"
    assert child.close() == 0
    stats = lt.wait_stats(lambda s: s.slots_live == 0, timeout=30)
    assert stats.connections_accepted == MANY
    assert stats.connections_refused == 0
    assert stats.fibers_live == 0


def test_max_connections_refuses_the_rest(serve: Any, tcp: Any) -> None:
    lt = serve(echo, max_connections=5)
    served = [tcp.connect(lt.port) for _ in range(5)]
    for i, sock in enumerate(served):
        sock.sendall(bytes([i]))
        assert sock.recv(1) == bytes([i])  # adopted: every slot is taken now
    refused = [tcp.connect(lt.port) for _ in range(3)]  # the kernel accepts; the loop won't
    for sock in refused:
        assert tcp.closed_by_peer(sock)
    stats = lt.wait_stats(lambda s: s.connections_refused == 3)
    assert stats.slots_live == 5
    assert stats.connections_accepted == 5
    # The served ones are unharmed, and a freed slot is used again.
    served[0].sendall(b"still")
    assert tcp.recv_exactly(served[0], 5) == b"still"
    served[1].close()
    lt.wait_stats(lambda s: s.slots_live == 4)
    again = tcp.connect(lt.port)
    again.sendall(b"in")
    assert tcp.recv_exactly(again, 2) == b"in"
    assert lt.stats().connections_refused == 3


def test_stale_id_after_the_slot_is_reused(serve: Any, tcp: Any, waiter: Any) -> None:
    ids: list[int] = []

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        ids.append(conn.id)
        yield from echo(conn)

    lt = serve(handler, max_connections=1)
    first = tcp.connect(lt.port)
    first.sendall(b"1")
    assert first.recv(1) == b"1"
    assert lt.call(lambda: lt.loop.conn(ids[0]).id) == ids[0]
    first.close()
    lt.wait_stats(lambda s: s.slots_live == 0)
    second = tcp.connect(lt.port)
    second.sendall(b"2")
    assert second.recv(1) == b"2"
    assert len(ids) == 2
    assert ids[0] != ids[1]
    assert ids[0] & 0xFFFFFF == ids[1] & 0xFFFFFF  # the same slot, a new generation
    with pytest.raises(ClosedResourceError):
        lt.call(lt.loop.conn, ids[0])
    assert lt.call(lambda: lt.loop.conn(ids[1]).id) == ids[1]
    second.close()
    lt.wait_stats(lambda s: s.slots_live == 0)
    with pytest.raises(ClosedResourceError):
        lt.call(lt.loop.conn, ids[1])


def test_quick_reuse_with_data_in_flight(serve: Any, tcp: Any) -> None:
    """Hundreds of connections through 4 slots, each closed (or reset) while its echo is
    still in flight: completions of a slot's previous occupant must not reach the new one."""
    ids: list[int] = []

    def handler(conn: Conn) -> Generator[Op, Any, None]:
        ids.append(conn.id)
        # A send after the peer's reset finds the connection closed under the echo.
        with contextlib.suppress(ClosedResourceError):
            yield from echo(conn)

    lt = serve(handler, max_connections=4)
    payload = b"z" * 32768
    linger = struct.pack("ii", 1, 0)

    def churn(worker: int) -> None:
        for i in range(60):
            with socket.create_connection(("127.0.0.1", lt.port), timeout=10) as sock:
                try:
                    sock.sendall(payload)
                    if i % 3 == 0:
                        sock.recv(100)  # part of the echo; the rest is in flight
                except (ConnectionResetError, BrokenPipeError):
                    pass  # more than 4 at once: the loop refused this one
                if i % 2:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(churn, range(4), timeout=60))

    stats = lt.wait_stats(lambda s: s.slots_live == 0)
    assert stats.stale_cqes_dropped >= 0
    assert stats.connections_accepted + stats.connections_refused == 240
    assert len(set(ids)) == len(ids) == stats.connections_accepted
    for conn_id in ids[:: max(1, len(ids) // 20)]:
        with pytest.raises(ClosedResourceError):
            lt.call(lt.loop.conn, conn_id)
    # Still healthy.
    sock = tcp.connect(lt.port)
    sock.sendall(b"healthy")
    assert tcp.recv_exactly(sock, 7) == b"healthy"


def test_accept_backs_off_when_out_of_descriptors(serve: Any, tcp: Any) -> None:
    """With the fd table full, accept fails with EMFILE; the listener retries a little
    later instead of spinning or giving up, and serves everyone once fds are free.

    The table is filled with dup()s up to RLIMIT_NOFILE (lowering the limit would not do:
    the kernel reads it when the multishot accept is armed, not per connection)."""
    lt = serve(echo)
    lt.stats()  # the loop is up and its accept armed
    socks = [tcp.adopt(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(6)]
    for sock in socks:
        sock.settimeout(10)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft > 100_000:
        pytest.skip(f"RLIMIT_NOFILE {soft} is too large to fill")
    fillers: list[int] = []
    try:
        while True:
            try:
                fillers.append(os.dup(0))
            except OSError:
                break
        for _ in range(2):
            os.close(fillers.pop())  # room for two accepted connections
        for sock in socks:
            sock.connect(("127.0.0.1", lt.port))  # completed by the kernel's backlog
        lt.wait_stats(lambda s: s.connections_accepted >= 1)
        turns = lt.stats().turns
        threading.Event().wait(0.3)  # a few retry periods
        stats = lt.stats()
        assert stats.connections_accepted <= 2  # out of fds: no more accepted
        assert stats.turns - turns < 1000, "the listener spins on EMFILE"
    finally:
        for fd in fillers:
            os.close(fd)
    lt.wait_stats(lambda s: s.connections_accepted == 6)
    for i, sock in enumerate(socks):
        sock.sendall(b"%d" % i)
        assert sock.recv(1) == b"%d" % i
