"""Outbound TCP on the loop's ring (`connect`) and `Pipe` for straight-line protocol code."""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import threading
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from sws_core import Conn, Op, Pipe, connect

pytestmark = pytest.mark.integration

WAIT_S = 10.0


@pytest.fixture
def line_server() -> Iterator[tuple[int, list[bytes]]]:
    """A plain blocking server on its own thread: greets with two lines and a sized body,
    answers one line, then closes. Yields its port and what it heard."""
    heard: list[bytes] = []
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(WAIT_S)

    def serve_one() -> None:
        try:
            conn, _ = lsock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(WAIT_S)
            conn.sendall(b"hello\nworld\n5\nabcde")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = conn.recv(100)
                if not chunk:
                    break
                buf += chunk
            heard.append(buf)
            with contextlib.suppress(OSError):  # a client may leave without reading it
                conn.sendall(b"you said " + buf + b"tail without newline")

    t = threading.Thread(target=serve_one)
    t.start()
    try:
        yield lsock.getsockname()[1], heard
    finally:
        t.join(WAIT_S)
        lsock.close()


def run_fiber(lt: Any, body: Any) -> list[Any]:
    """Start `body()` with `loop.go` on the loop thread; return its outcome list once it
    has finished (the value it returned, or the exception it raised)."""
    outcome: list[Any] = []
    done = threading.Event()

    def fiber() -> Generator[Op, Any, None]:
        try:
            outcome.append((yield from body()))
        except Exception as exc:  # recorded for the test, not logged by the loop
            outcome.append(exc)
        finally:
            done.set()

    lt.call(lt.loop.go, fiber)
    assert done.wait(WAIT_S), "the fiber did not finish"
    return outcome


def test_connect_and_read_lines_through_a_pipe(serve: Any, line_server: Any) -> None:
    port, heard = line_server
    lt = serve()

    def body() -> Generator[Op, Any, Any]:
        conn: Conn = yield from connect("127.0.0.1", port, timeout_s=WAIT_S)
        peer = conn.peer
        pipe = Pipe()
        lt.loop.go(pipe.feed_from(conn))
        first = yield from pipe.readline()
        second = yield from pipe.readline()
        size = int((yield from pipe.readline()))
        body_bytes = yield from pipe.read(size)
        yield from conn.send(b"ping\n")
        answer = yield from pipe.readline()
        rest = yield from pipe.readline()  # at EOF: what is left, without a newline
        end = yield from pipe.read(10)
        conn.close()
        return peer, [first, second, body_bytes, answer, rest, end], pipe.at_eof

    outcome = run_fiber(lt, body)
    peer, parts, at_eof = outcome[0]
    assert peer == ("127.0.0.1", port)
    assert parts == [
        b"hello\n",
        b"world\n",
        b"abcde",
        b"you said ping\n",
        b"tail without newline",
        b"",
    ]
    assert at_eof
    assert heard == [b"ping\n"]
    lt.wait_stats(lambda s: s.slots_live == 0 and s.fibers_live == 0)


def test_connect_to_a_closed_port_is_refused(serve: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connecting is refused
        lt = serve()

        def body() -> Generator[Op, Any, Any]:
            return (yield from connect("127.0.0.1", port, timeout_s=WAIT_S))

        outcome = run_fiber(lt, body)
    assert len(outcome) == 1
    assert isinstance(outcome[0], ConnectionRefusedError)
    lt.wait_stats(lambda s: s.slots_live == 0)


def test_connect_to_a_bad_address_raises_in_the_fiber(serve: Any) -> None:
    lt = serve()

    def body() -> Generator[Op, Any, Any]:
        return (yield from connect("not-an-address", 80))

    outcome = run_fiber(lt, body)
    assert isinstance(outcome[0], ValueError)
    assert lt.stats().slots_live == 0


def test_a_socket_that_cannot_be_made_takes_no_slot(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lt = serve(max_connections=2)
    real_socket = socket.socket

    def no_fds(*args: Any, **kw: Any) -> socket.socket:
        raise OSError(errno.EMFILE, "Too many open files")

    def body() -> Generator[Op, Any, Any]:
        return (yield from connect("127.0.0.1", 9, timeout_s=WAIT_S))

    monkeypatch.setattr(socket, "socket", no_fds)
    for _ in range(3):  # more than max_connections: no slot may leak
        outcome = run_fiber(lt, body)
        assert isinstance(outcome[0], OSError)
        assert outcome[0].errno == errno.EMFILE
    monkeypatch.setattr(socket, "socket", real_socket)
    assert lt.stats().slots_live == 0


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port whose SYNs are dropped: a listener that never accepts, its backlog full."""
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(0)
        port = lsock.getsockname()[1]
        for _ in range(8):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            fillers.append(sock)
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            _, writable, _ = select.select([], [sock], [], 0.3)
            if not writable:  # this one hangs: the accept queue is full
                break
        else:
            pytest.skip("could not fill a listener's accept queue on loopback")
        yield port
    finally:
        for sock in fillers:
            sock.close()
        lsock.close()


def test_connect_timeout(serve: Any, blackhole: int) -> None:
    lt = serve()

    def body() -> Generator[Op, Any, Any]:
        return (yield from connect("127.0.0.1", blackhole, timeout_s=0.2))

    outcome = run_fiber(lt, body)
    assert len(outcome) == 1
    assert isinstance(outcome[0], TimeoutError)
    lt.wait_stats(lambda s: s.slots_live == 0)


def test_async_fiber_connects_too(serve: Any, line_server: Any) -> None:
    port, heard = line_server
    lt = serve()
    outcome: list[Any] = []
    done = threading.Event()

    async def fiber() -> None:
        try:
            conn = await connect("127.0.0.1", port, timeout_s=WAIT_S)
            data = b""
            while b"abcde" not in data:
                data += await conn.receive()
            await conn.send(b"async\n")
            while chunk := await conn.receive():
                data += chunk
            conn.close()
            outcome.append(data)
        finally:
            done.set()

    lt.call(lt.loop.go, fiber)
    assert done.wait(WAIT_S)
    assert outcome == [b"hello\nworld\n5\nabcdeyou said async\ntail without newline"]
    assert heard == [b"async\n"]
    lt.wait_stats(lambda s: s.slots_live == 0)


def test_connect_when_every_slot_is_taken(serve: Any, line_server: Any) -> None:
    port, _ = line_server
    lt = serve(max_connections=1)

    def body() -> Generator[Op, Any, Any]:
        first = yield from connect("127.0.0.1", port, timeout_s=WAIT_S)
        try:
            yield from connect("127.0.0.1", port, timeout_s=WAIT_S)
        except OSError as exc:
            return exc
        finally:
            yield from first.send(b"done\n")
            first.close()
        return None

    outcome = run_fiber(lt, body)
    assert isinstance(outcome[0], OSError)
    assert "max_connections" in str(outcome[0])
    lt.wait_stats(lambda s: s.slots_live == 0)


def test_connect_over_ipv6(serve: Any) -> None:
    try:
        lsock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError as exc:
        pytest.skip(f"no IPv6: {exc}")
    with lsock:
        try:
            lsock.bind(("::1", 0))
        except OSError as exc:
            pytest.skip(f"no ::1 here: {exc}")
        lsock.listen(1)
        port = lsock.getsockname()[1]
        lt = serve()

        def body() -> Generator[Op, Any, Any]:
            conn = yield from connect("::1", port, timeout_s=WAIT_S)
            peer = conn.peer
            conn.close()
            return peer

        outcome = run_fiber(lt, body)
        accepted, _ = lsock.accept()
        accepted.close()
    assert outcome == [("::1", port)]
    lt.wait_stats(lambda s: s.slots_live == 0)


def test_stop_gives_up_on_a_pending_connect_after_the_grace(serve: Any, blackhole: int) -> None:
    lt = serve(grace_s=0.3)
    outcome: list[Any] = []
    done = threading.Event()

    def fiber() -> Generator[Op, Any, None]:
        try:
            yield from connect("127.0.0.1", blackhole, timeout_s=60.0)
        except BaseException as exc:  # whatever ends it, the loop must end too
            outcome.append(exc)
            done.set()
            if not isinstance(exc, Exception):
                raise

    lt.call(lt.loop.go, fiber)
    lt.wait_stats(lambda s: s.slots_live == 1)  # the connect is in flight
    lt.loop.stop()
    lt.thread.join(WAIT_S)
    assert not lt.thread.is_alive()
    assert done.is_set()
    assert len(outcome) == 1
    assert lt.loop.statistics().slots_live == 0
