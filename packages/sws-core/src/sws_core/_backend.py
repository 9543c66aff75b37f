"""What the loop needs from io_uring, as two small interfaces, and the real implementation.

The loop talks to a `RingLike` and a `BuffersLike`. `UringBackend` gives it a real
`uring.Ring` with the fastest setup flags this kernel accepts and a `uring.BufferRing`;
tests give it a fake ring that completes SQEs in the order the test chooses.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import socket
from typing import Protocol

import uring
from uring import buffer_address


class RingLike(Protocol):
    """The part of `uring.Ring` the loop uses."""

    def get_sqe(self) -> memoryview | None: ...
    def get_sqes(self, n: int) -> list[memoryview] | None: ...
    def pending_sqe(self) -> memoryview | None: ...
    def submit(self) -> int: ...
    def submit_and_wait(self, wait_nr: int = 1, timeout_s: float | None = None) -> int: ...
    def reap(self, max_cqes: int = 0) -> list[tuple[int, int, int]]: ...
    def reap_split(self, max_cqes: int = 0) -> list[tuple[int, int, int, int]]: ...
    def close(self) -> None: ...


class BuffersLike(Protocol):
    """The part of `uring.BufferRing` the loop uses."""

    def get(self, bid: int, length: int) -> memoryview: ...
    def read(self, bid: int, length: int) -> bytes: ...
    def take(self, bid: int, length: int) -> bytes: ...
    def publish(self) -> None: ...
    def recycle(self, bid: int) -> None: ...
    def close(self) -> None: ...


class Backend(Protocol):
    """Makes the loop's ring and its provided-buffer group; sends a connection's last bytes.

    `send_now` and `shutdown_write` are plain non-blocking syscalls, for the end of a
    connection only: through the ring, the FIN would leave only once the connection's
    multishot recv is cancelled, at the end of the next enter, by which time a fast client
    has read the response and closed first (and keeps the TIME_WAIT, and runs out of
    ports).
    """

    def open_ring(self, entries: int) -> RingLike: ...
    def open_buffers(self, ring: RingLike, bgid: int, entries: int, size: int) -> BuffersLike: ...
    def send_now(self, fd: int, data: bytes | memoryview) -> int: ...
    def shutdown_write(self, fd: int) -> None: ...


@functools.cache
def event_loop_flags() -> uring.SetupFlag:
    """The setup flags for a loop's ring, probed once per process (see DESIGN.md §11)."""
    return uring.fast_setup_flags()


class UringBackend:
    """The real thing: a `uring.Ring` with probed fast flags and a `uring.BufferRing`.

    The ring must be created on the thread that will submit to it (SINGLE_ISSUER).
    """

    def open_ring(self, entries: int) -> RingLike:
        """Create the ring, with SINGLE_ISSUER|DEFER_TASKRUN where the kernel has them, and
        its fd registered (each enter then skips the fd table lookup; the registration
        belongs to this thread, the loop's)."""
        ring = uring.Ring(entries, event_loop_flags(), cq_entries=entries * 4)
        with contextlib.suppress(OSError):  # Linux 5.18+; the plain fd works everywhere
            ring.register_ring_fd()
        return ring

    def open_buffers(self, ring: RingLike, bgid: int, entries: int, size: int) -> BuffersLike:
        """Register a provided-buffer ring of `entries` buffers of `size` bytes."""
        assert isinstance(ring, uring.Ring)
        return uring.BufferRing(ring, bgid, entries, size)

    @staticmethod
    def send_now(fd: int, data: bytes | memoryview) -> int:
        """Write to the socket now, without blocking: the bytes taken, or -1 (EAGAIN, an
        error: the ring's send then reports it)."""
        return int(_send(fd, buffer_address(data), len(data), _DONTWAIT_NOSIGNAL))

    @staticmethod
    def shutdown_write(fd: int) -> None:
        """Send the FIN behind what the socket holds (shutdown SHUT_WR), now."""
        _shutdown(fd, socket.SHUT_WR)


# Plain syscalls that never block: PyDLL keeps the GIL (no release and re-take per call).
_libc = ctypes.PyDLL(None, use_errno=True)
_send = _libc.send
_send.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
_send.restype = ctypes.c_ssize_t
_shutdown = _libc.shutdown
_DONTWAIT_NOSIGNAL = socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL
