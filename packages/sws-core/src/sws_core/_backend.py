"""What the loop needs from io_uring, as two small interfaces, and the real implementation.

The loop talks to a `RingLike` and a `BuffersLike`. `UringBackend` gives it a real
`uring.Ring` with the fastest setup flags this kernel accepts and a `uring.BufferRing`;
tests give it a fake ring that completes SQEs in the order the test chooses.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Protocol

import uring


class RingLike(Protocol):
    """The part of `uring.Ring` the loop uses."""

    def get_sqe(self) -> memoryview | None: ...
    def get_sqes(self, n: int) -> list[memoryview] | None: ...
    def pending_sqe(self) -> memoryview | None: ...
    def submit(self) -> int: ...
    def submit_and_wait(self, wait_nr: int = 1, timeout_s: float | None = None) -> int: ...
    def reap(self, max_cqes: int = 0) -> list[tuple[int, int, int]]: ...
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
    """Makes the loop's ring and its provided-buffer group."""

    def open_ring(self, entries: int) -> RingLike: ...
    def open_buffers(self, ring: RingLike, bgid: int, entries: int, size: int) -> BuffersLike: ...


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
