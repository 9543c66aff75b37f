"""`ring_op` and `Datagram` on a real ring: raw SQEs from fibers, UDP through the ring."""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from sws_core import Datagram, Op, ring_op
from uring import prep_nop, prep_read

pytestmark = pytest.mark.integration

WAIT_S = 10.0


def run_fiber(lt: Any, waiter: Any, make: Callable[[], Generator[Op, Any, Any]]) -> Any:
    """Run `make()` as a fiber on the loop; return its result or raise its exception."""
    outcome: list[tuple[Any, BaseException | None]] = []

    def fiber() -> Generator[Op, Any, None]:
        try:
            outcome.append(((yield from make()), None))
        except Exception as exc:
            outcome.append((None, exc))

    lt.call(lt.loop.go, fiber)
    waiter(lambda: outcome, what="the fiber to finish")
    result, error = outcome[0]
    if error is not None:
        raise error
    return result


class UdpEcho:
    """A UDP echo peer on a thread: answers each datagram from its own port (or not)."""

    def __init__(self, *, answer: bool = True) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.seen: list[tuple[bytes, tuple[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.seen.append((data, peer))
            if self.answer:
                self.sock.sendto(data.upper(), peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(WAIT_S)
        self.sock.close()


@pytest.fixture
def udp_echo() -> Iterator[Callable[..., UdpEcho]]:
    peers: list[UdpEcho] = []

    def start(**kw: Any) -> UdpEcho:
        peers.append(UdpEcho(**kw))
        return peers[-1]

    yield start
    for peer in peers:
        peer.close()


def test_ring_op_resumes_with_the_result(serve: Any, waiter: Any) -> None:
    lt = serve()
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, b"from the pipe")
        buf = bytearray(64)

        def reader() -> Generator[Op, Any, bytes]:
            n = yield from ring_op(lambda sqe: prep_read(sqe, read_fd, buf, len(buf), 0), buf)
            return bytes(buf[:n])

        assert run_fiber(lt, waiter, reader) == b"from the pipe"
        assert run_fiber(lt, waiter, lambda: ring_op(prep_nop).__await__()) == 0
    finally:
        os.close(read_fd)
        os.close(write_fd)


@pytest.mark.parametrize("first_id", [2**24 - 2, 2**56 - 2], ids=["low-half", "wrap"])
def test_ring_op_ids_run_into_the_high_half_of_user_data(
    serve: Any, waiter: Any, first_id: int
) -> None:
    # An op's id sits above its kind in user_data, and the loop reaps user_data in two
    # 32-bit halves: ids past 24 bits reach into the high half, and at 56 bits they wrap.
    lt = serve()

    def start_at() -> None:
        lt.loop._next_op_id = first_id

    lt.call(start_at)
    for _ in range(4):
        assert run_fiber(lt, waiter, lambda: ring_op(prep_nop).__await__()) == 0
    assert lt.call(lambda: lt.loop._ring_ops) == {}


def test_ring_op_errors_raise_the_errno(serve: Any, waiter: Any) -> None:
    lt = serve()
    buf = bytearray(8)
    no_fd = 1 << 20  # past any fd limit: never open

    def bad_fd() -> Generator[Op, Any, int]:
        return (yield from ring_op(lambda sqe: prep_read(sqe, no_fd, buf, 8, 0), buf))

    with pytest.raises(OSError, match="Bad file descriptor") as info:
        run_fiber(lt, waiter, bad_fd)
    assert info.value.errno == errno.EBADF


def test_ring_op_timeout_cancels_and_raises_timeout_error(serve: Any, waiter: Any) -> None:
    lt = serve()
    read_fd, write_fd = os.pipe()
    try:
        buf = bytearray(8)

        def forever() -> Generator[Op, Any, int]:
            op = ring_op(lambda sqe: prep_read(sqe, read_fd, buf, 8, 0), buf, timeout_s=0.05)
            return (yield from op)

        with pytest.raises(TimeoutError):
            run_fiber(lt, waiter, forever)
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_prep_that_raises_is_thrown_into_the_fiber(serve: Any, waiter: Any) -> None:
    lt = serve()

    def broken(sqe: memoryview) -> None:
        raise ValueError("no such operation")

    for timeout_s in (None, 1.0):  # with a linked timeout the pair must stay harmless too
        with pytest.raises(ValueError, match="no such operation"):
            run_fiber(lt, waiter, lambda t=timeout_s: ring_op(broken, timeout_s=t).__await__())
    assert run_fiber(lt, waiter, lambda: ring_op(prep_nop).__await__()) == 0  # loop fine


def test_ring_op_refuses_a_bad_timeout() -> None:
    with pytest.raises(ValueError, match="not a finite"):
        ring_op(prep_nop, timeout_s=-1)


def test_datagram_round_trip_through_the_ring(serve: Any, waiter: Any, udp_echo: Any) -> None:
    lt = serve()
    peer = udp_echo()
    sock = Datagram("127.0.0.1", peer.port)
    try:

        def exchange() -> Generator[Op, Any, list[bytes]]:
            got = []
            for word in (b"one", b"two"):
                yield from sock.send(word)
                got.append((yield from sock.receive(timeout_s=WAIT_S)))
            return got

        assert run_fiber(lt, waiter, exchange) == [b"ONE", b"TWO"]
        assert [peer_addr for _, peer_addr in peer.seen] == [sock.local_address] * 2
        assert sock.local_address[1] != 0
    finally:
        sock.close()
    assert sock.closed
    assert "closed" in repr(sock)


def test_datagram_ignores_other_senders(serve: Any, waiter: Any, udp_echo: Any) -> None:
    lt = serve()
    peer = udp_echo(answer=False)
    sock = Datagram("127.0.0.1", peer.port)
    spoofer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:

        def exchange() -> Generator[Op, Any, bytes]:
            yield from sock.send(b"query")
            spoofer.sendto(b"forged", sock.local_address)  # another port: dropped
            peer.sock.sendto(b"genuine", sock.local_address)
            return (yield from sock.receive(timeout_s=WAIT_S))

        assert run_fiber(lt, waiter, exchange) == b"genuine"
    finally:
        spoofer.close()
        sock.close()


def test_datagram_receive_times_out(serve: Any, waiter: Any, udp_echo: Any) -> None:
    lt = serve()
    peer = udp_echo(answer=False)
    sock = Datagram("127.0.0.1", peer.port)
    try:

        def silent() -> Generator[Op, Any, bytes]:
            yield from sock.send(b"anyone?")
            return (yield from sock.receive(timeout_s=0.05))

        with pytest.raises(TimeoutError):
            run_fiber(lt, waiter, silent)
    finally:
        sock.close()


def test_datagram_to_a_closed_port_reports_connection_refused(serve: Any, waiter: Any) -> None:
    lt = serve()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    sock = Datagram("127.0.0.1", closed_port)
    try:

        def refused() -> Generator[Op, Any, bytes]:
            yield from sock.send(b"hello?")
            return (yield from sock.receive(timeout_s=WAIT_S))

        with pytest.raises(ConnectionRefusedError):
            run_fiber(lt, waiter, refused)
    finally:
        sock.close()


def test_datagram_over_ipv6(serve: Any, waiter: Any) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    lt = serve()
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as server:
        try:
            server.bind(("::1", 0))
        except OSError:
            pytest.skip("no ::1")
        sock = Datagram("::1", server.getsockname()[1])
        try:

            def send() -> Generator[Op, Any, int]:
                return (yield from sock.send(b"v6"))

            assert run_fiber(lt, waiter, send) == 2
            server.settimeout(WAIT_S)
            assert server.recvfrom(16)[0] == b"v6"
        finally:
            sock.close()


def test_datagram_needs_a_numeric_address() -> None:
    with pytest.raises(ValueError):
        Datagram("localhost", 53)


def test_datagram_refuses_a_bad_receive_timeout_when_asked(udp_echo: Any) -> None:
    sock = Datagram("127.0.0.1", udp_echo().port)
    try:
        with pytest.raises(ValueError, match="not a finite"):
            sock.receive(timeout_s=-1)
    finally:
        sock.close()


def test_ring_ops_with_the_same_timeout_share_one_timespec(serve: Any, waiter: Any) -> None:
    lt = serve()
    loop = lt.loop
    first = loop._timespec(1.5)
    assert loop._timespec(1.5) is first
    other = loop._timespec(0.25)
    assert other is not first
    assert (other.tv_sec, other.tv_nsec) == (0, 250_000_000)
    # Ops with a timeout still run and complete (each keeps its timespec until then).
    for _ in range(3):
        assert run_fiber(lt, waiter, lambda: ring_op(prep_nop, timeout_s=1.5).__await__()) == 0


def test_datagram_peers_are_remembered_but_zoned_ones_are_looked_up_again() -> None:
    from sws_core import _ringop

    _ringop._peers.clear()
    first = _ringop._connect_args("127.0.0.1", 5353)
    assert first == (socket.AF_INET, ("127.0.0.1", 5353))
    assert _ringop._connect_args("127.0.0.1", 5353) is first
    zoned = _ringop._connect_args("::1%lo", 53)
    assert zoned[0] == socket.AF_INET6
    assert zoned[1][:3] == ("::1", 53, 0)
    assert zoned[1][3] == socket.if_nametoindex("lo")
    assert ("::1%lo", 53) not in _ringop._peers  # an interface may come back renumbered
    for port in range(1, 200):  # bounded: cleared whole when full
        _ringop._connect_args("127.0.0.1", port)
        assert len(_ringop._peers) <= _ringop._MAX_PEERS
    with pytest.raises(ValueError):
        _ringop._connect_args("localhost", 53)


def test_a_closed_datagrams_buffer_serves_the_next_one(
    serve: Any, waiter: Any, udp_echo: Any
) -> None:
    lt = serve()
    peer = udp_echo()
    first = Datagram("127.0.0.1", peer.port, max_datagram_bytes=1500)

    def exchange(sock: Datagram, data: bytes) -> Callable[[], Generator[Op, Any, bytes]]:
        def body() -> Generator[Op, Any, bytes]:
            yield from sock.send(data)
            return (yield from sock.receive(timeout_s=WAIT_S))

        return body

    assert (
        run_fiber(lt, waiter, exchange(first, b"a long first datagram")) == b"A LONG FIRST DATAGRAM"
    )
    buf = first._buf
    first.close()
    second = Datagram("127.0.0.1", peer.port, max_datagram_bytes=1500)
    try:
        assert second._buf is buf  # reused, not zeroed: only the bytes received come back
        assert run_fiber(lt, waiter, exchange(second, b"short")) == b"SHORT"
    finally:
        second.close()


def test_a_buffer_a_receive_may_still_fill_is_not_reused(udp_echo: Any) -> None:
    from sws_core import _ringop

    sock = Datagram("127.0.0.1", udp_echo().port, max_datagram_bytes=1234)
    buf = sock._buf
    sock._receiving = True  # as when a stopping loop closed its fiber mid-receive
    sock.close()
    assert all(b is not buf for b, _ in _ringop._free_buffers.get(1234, []))
    huge = [Datagram("127.0.0.1", udp_echo().port, max_datagram_bytes=200_000) for _ in range(3)]
    for sock in huge:
        sock.close()
    assert len(_ringop._free_buffers.get(200_000, [])) <= 1  # bounded in bytes too


def test_a_loop_stopping_mid_receive_keeps_the_buffer_out_of_reuse(
    serve: Any, waiter: Any, udp_echo: Any
) -> None:
    from sws_core import _ringop

    lt = serve()
    sock = Datagram("127.0.0.1", udp_echo(answer=False).port, max_datagram_bytes=1236)
    buf = sock._buf
    waiting: list[bool] = []

    def fiber() -> Generator[Op, Any, None]:
        try:
            waiting.append(True)
            yield from sock.receive()  # nothing comes: the loop stops first
        finally:
            sock.close()  # closed by the stopping loop, the receive still in the ring

    lt.call(lt.loop.go, fiber)
    waiter(lambda: waiting, what="the fiber to wait")
    lt.stop_and_join()
    assert sock.closed
    assert all(b is not buf for b, _ in _ringop._free_buffers.get(1236, []))
