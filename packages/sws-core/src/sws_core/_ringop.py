"""Raw io_uring operations for fibers, and UDP sockets built on them.

`ring_op(prep, *keep, timeout_s=)` is the door for protocols of one's own: the loop takes
an SQE, lets `prep` fill it (a `uring.prep_*` call of an operation that completes once:
not a multishot one, and not a zero-copy send, whose buffer the kernel still reads after
its first completion; user_data is overwritten), links
an IORING_OP_LINK_TIMEOUT when `timeout_s` is given, and resumes the fiber with the CQE's
`res` (>= 0) or throws the errno as the matching `OSError` (`TimeoutError` when the linked
timeout cancelled it). The objects in `keep` (buffers, sockaddrs) stay referenced until
the completion, because the kernel reads and writes them until then.

`Datagram` is a connected UDP socket whose sends and receives go through the ring: the
kernel then drops datagrams from any other address and port (connect(2) on a UDP
socket), and the local port is a fresh ephemeral one per socket. It is what sws_client's
DNS resolver speaks through.

Rules that hold here: the loop keeps every pending op (and so its buffers) in a table
keyed by a 56-bit id in user_data until its CQE arrives; the linked timeout's own CQE is
discarded; at teardown the ring is closed, which cancels what is left, before the buffers
are dropped. A closed `Datagram`'s receive buffer is kept (a few per size) for the next
socket, unless a receive may still fill it: one whose fiber was closed mid-wait.
"""

from __future__ import annotations

import _socket
import socket
import struct
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from uring import buffer_address, prep_recv, prep_send, sockaddr

if TYPE_CHECKING:
    from sws_core._ops import Op

DEFAULT_MAX_DATAGRAM_BYTES = 65535  # the largest UDP payload over IPv4
_SCOPE_ID = struct.Struct("=I")  # sockaddr_in6's last field


def _scope_id(addr: bytes) -> int:
    return int(_SCOPE_ID.unpack_from(addr, 24)[0])


# Receive buffers of closed datagram sockets, by size, with their addresses: a program
# opens a socket per DNS query, and a fresh buffer would be zeroed and its address looked
# up each time. Of each size at most this many are kept, and at most this many bytes.
_MAX_FREE_BUFFERS = 64
_MAX_FREE_BYTES = 256 << 10
_free_buffers: dict[int, list[tuple[bytearray, int]]] = {}
_NO_BUFFER = (bytearray(), 0)  # a closed socket's: receives on its fd -1 fail with EBADF


def _take_buffer(size: int) -> tuple[bytearray, int]:
    """A receive buffer of `size` bytes and its address: a free one, or a new one."""
    free = _free_buffers.get(size)
    if free:
        try:
            return free.pop()
        except IndexError:  # another thread took the last one
            pass
    buf = bytearray(size)
    return buf, buffer_address(buf, writable=True)


def _give_buffer(buf: bytearray, addr: int) -> None:
    """Keep a buffer no receive uses any more for the next socket of its size."""
    size = len(buf)
    free = _free_buffers.setdefault(size, [])
    if len(free) < min(_MAX_FREE_BUFFERS, _MAX_FREE_BYTES // size):
        free.append((buf, addr))


_UDP_CLOEXEC = int(socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
# Peers seen lately, and what connect(2) takes for each: a program sends its datagrams to
# a few peers (its nameservers), and checking an address costs more than the lookup.
_MAX_PEERS = 64
_peers: dict[tuple[str, int], tuple[int, tuple[Any, ...]]] = {}


def _connect_args(host: str, port: int) -> tuple[int, tuple[Any, ...]]:
    """The family and the address tuple that connect a socket to the numeric (host, port).

    Raises:
        ValueError: `host` is not a numeric address, or names no interface as its zone.
    """
    key = (host, port)
    found = _peers.get(key)
    if found is not None:
        return found
    addr = sockaddr(host, port)  # ValueError for names: resolve first
    if len(addr) > 16:  # IPv6, and its zone ("fe80::1%eth0") as the scope id
        found = (socket.AF_INET6, (host.partition("%")[0], port, 0, _scope_id(addr)))
    else:
        found = (socket.AF_INET, (host, port))
    if "%" in host:
        return found  # a zone's interface may come back with another index: look it up again
    if len(_peers) >= _MAX_PEERS:
        _peers.clear()
    _peers[key] = found
    return found


# Not frozen: one is made per operation, and a frozen dataclass pays a setattr per field.
@dataclass(slots=True)
class RingOp:
    """One SQE, prepared by `prep`, and the wait for its completion (see the module).

    Treat it as read-only once made: the loop reads it until the completion.
    """

    prep: Callable[[memoryview], None]
    keep: tuple[Any, ...]
    timeout_s: float | None

    def __await__(self) -> Generator[Op, Any, int]:
        res: int = yield self
        return res

    __iter__ = __await__


def ring_op(
    prep: Callable[[memoryview], None], *keep: Any, timeout_s: float | None = None
) -> RingOp:
    """Return the op that submits one SQE filled by `prep` and waits for its result.

        n = yield from ring_op(lambda sqe: prep_read(sqe, fd, buf, len(buf), 0), buf)

    Args:
        prep: fills the SQE (its user_data is set by the loop afterwards); a single-shot
            operation (not multishot, not zero-copy: see the module docstring).
        keep: objects the kernel uses until the completion (kept alive until then).
        timeout_s: cancel the operation after this long (TimeoutError); None: no limit.

    Raises:
        ValueError: `timeout_s` is negative, infinite or NaN.
    """
    if timeout_s is not None and not 0 <= timeout_s < float("inf"):
        raise ValueError(f"timeout of {timeout_s} s is not a finite, positive time")
    return RingOp(prep, keep, timeout_s)


class Datagram:
    """A connected UDP socket on the ring: `send` and `receive` in fibers.

        sock = Datagram("127.0.0.1", 53)
        try:
            yield from sock.send(query)
            answer = yield from sock.receive(timeout_s=2.0)
        finally:
            sock.close()

    Args:
        host / port: the peer, a numeric IPv4 or IPv6 address (with its zone, as in
            "fe80::1%eth0", where one is needed); only its datagrams arrive.
        max_datagram_bytes: the receive buffer (larger datagrams are truncated).

    Raises:
        ValueError: `host` is not a numeric address, or names no interface as its zone.
        OSError: the socket could not be made (EMFILE, say).
    """

    __slots__ = ("_addr", "_buf", "_receiving", "_sock", "max_datagram_bytes", "peer")

    def __init__(
        self, host: str, port: int, *, max_datagram_bytes: int = DEFAULT_MAX_DATAGRAM_BYTES
    ) -> None:
        family, peer = _connect_args(host, port)
        # The C socket type: socket.socket's Python-level wrapper adds nothing used here.
        self._sock = _socket.socket(family, _UDP_CLOEXEC)
        try:
            self._sock.connect(peer)  # no IO: sets the peer and a fresh local port
        except OSError:
            self._sock.close()
            raise
        self.peer = (host, port)
        self.max_datagram_bytes = max_datagram_bytes
        self._buf, self._addr = _take_buffer(max_datagram_bytes)
        self._receiving = False  # a receive is in flight: its buffer is the kernel's

    @property
    def local_address(self) -> tuple[str, int]:
        """The local (address, port) the kernel chose."""
        name = self._sock.getsockname()
        return name[0], name[1]

    def send(self, data: bytes, *, timeout_s: float | None = None) -> RingOp:
        """Return the op that sends one datagram: `yield from sock.send(data)`."""
        fd = self._sock.fileno()
        return ring_op(lambda sqe: prep_send(sqe, fd, data, len(data)), data, timeout_s=timeout_s)

    def receive(self, *, timeout_s: float | None = None) -> Receive:
        """Return the op that waits for one datagram: `data = yield from sock.receive()`.

        Raises (in the fiber):
            TimeoutError: nothing arrived within `timeout_s`.
            OSError: the socket failed (ECONNREFUSED after an ICMP port unreachable).
        """
        if timeout_s is not None and not 0 <= timeout_s < float("inf"):
            raise ValueError(f"timeout of {timeout_s} s is not a finite, positive time")
        return Receive(self, timeout_s)

    def close(self) -> None:
        """Close the socket (idempotent). Not while a send or receive is pending.

        The receive buffer goes back to the free buffers, unless a receive may still be in
        flight (its fiber was closed mid-wait, as a stopping loop closes fibers): the kernel
        may write into that one until the ring closes, so it is left to the collector.
        """
        self._sock.close()
        buf, addr = self._buf, self._addr
        if addr and not self._receiving:
            self._buf, self._addr = _NO_BUFFER
            _give_buffer(buf, addr)

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._sock.fileno() < 0

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self._sock.fileno()}"
        return f"<Datagram peer={self.peer[0]}:{self.peer[1]} {state}>"


class Receive:
    """The op of `Datagram.receive`: one datagram's bytes."""

    __slots__ = ("sock", "timeout_s")

    def __init__(self, sock: Datagram, timeout_s: float | None) -> None:
        self.sock = sock
        self.timeout_s = timeout_s

    def __await__(self) -> Generator[Op, Any, bytes]:
        sock = self.sock
        fd, buf, addr = sock._sock.fileno(), sock._buf, sock._addr
        size = len(buf)
        sock._receiving = True
        try:
            # RingOp itself, not ring_op(): `receive` checked the timeout already.
            n = yield RingOp(lambda sqe: prep_recv(sqe, fd, addr, size), (buf,), self.timeout_s)
        except GeneratorExit:
            raise  # closed mid-wait: the receive may still be in flight
        except BaseException:
            sock._receiving = False  # thrown at its completion (an error, a timeout)
            raise
        sock._receiving = False
        return bytes(buf[:n])

    __iter__ = __await__
