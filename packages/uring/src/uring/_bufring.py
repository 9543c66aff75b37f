"""`BufferRing`: a provided-buffer ring (`IORING_REGISTER_PBUF_RING`) that owns its memory.

With a buffer ring, a receive does not name a buffer: it carries `SqeFlag.BUFFER_SELECT`
and a group id, and the kernel picks a free buffer of that group only when data arrives.
An idle connection therefore holds no read buffer. The CQE says which buffer it used
(`CqeFlag.BUFFER`, id in the upper 16 bits of `flags`, see `buffer_id`); from then on the
buffer belongs to the application until it is handed back with `recycle`.

Facts the code relies on:

- The ring is an array of `struct io_uring_buf {u64 addr; u32 len; u16 bid; u16 resv}` in
  page-aligned memory. The ring's 16-bit tail overlays the `resv` field of entry 0, so an
  entry is written as its first 14 bytes only, never all 16.
- The application advances the tail; the kernel keeps the head to itself. Entries must be
  written before the tail that publishes them (x86-64 keeps stores in order).
- When the group runs dry, a receive completes with -ENOBUFS, and a multishot receive
  ends there (no `CqeFlag.MORE`): recycle buffers, then re-arm it.
- Memory comes from anonymous mmaps, which never move, and is released only after the
  group is unregistered, so the kernel never writes into freed memory.
- The kernel takes entries in ring order and, for plain receives, only reads them. A
  Python-side copy of the buffer id in each entry lets `take` skip rewriting an entry
  that already names the buffer going back: in the usual order, none is rewritten.
"""

from __future__ import annotations

import array
import ctypes
import mmap
import struct
from typing import Final

from uring._ring import Ring

MAX_ENTRIES: Final = 32768  # the kernel's limit for a buffer ring
_ENTRY = struct.Struct("<QIH")  # addr, len, bid: 14 bytes, leaving resv (the tail) alone
_ENTRY_SIZE: Final = 16
_TAIL = struct.Struct("H")  # native: one 2-byte store the kernel cannot see torn
_pack_entry = _ENTRY.pack_into
_pack_tail = _TAIL.pack_into
_TAIL_OFFSET: Final = 14

_WITH_KERNEL: Final = 1
_WITH_APP: Final = 0


class BufferRing:
    """A group of `entries` buffers of `buf_size` bytes each, registered as group `bgid`.

    Every buffer starts with the kernel. `get` lends one to the application after a CQE
    named it; `recycle` gives it back.

    Args:
        ring: the ring to register with; the group lives until `close` or the ring closes.
        bgid: the buffer group id (0-65535) that SQEs name with `sqe_set_buf_group`.
        entries: number of buffers, a power of two up to 32768.
        buf_size: bytes per buffer.

    Raises:
        ValueError: `entries` or `buf_size` out of range.
        OSError: the kernel refused the registration (EEXIST: group taken; EINVAL).

    See: io_uring_setup_buf_ring(3)
    """

    def __init__(self, ring: Ring, bgid: int, entries: int, buf_size: int) -> None:
        if not 0 < entries <= MAX_ENTRIES or entries & (entries - 1):
            raise ValueError(f"entries={entries} must be a power of two up to {MAX_ENTRIES}")
        if buf_size <= 0:
            raise ValueError(f"buf_size={buf_size} must be positive")
        self.bgid = bgid
        self.entries = entries
        self.buf_size = buf_size
        self._ring = ring
        self._mask = entries - 1
        self._ring_mem = mmap.mmap(-1, max(mmap.PAGESIZE, entries * _ENTRY_SIZE))
        self._buf_mem = mmap.mmap(-1, entries * buf_size)
        # ctypes views export the mmaps' buffers, which pins them for their addresses.
        ring_anchor = ctypes.c_char.from_buffer(self._ring_mem)
        buf_anchor = ctypes.c_char.from_buffer(self._buf_mem)
        self._ring_anchor: ctypes.c_char | None = ring_anchor
        self._buf_anchor: ctypes.c_char | None = buf_anchor
        self._base = ctypes.addressof(buf_anchor)
        self._view = memoryview(self._buf_mem)
        self._state = bytearray(entries)  # _WITH_KERNEL or _WITH_APP per buffer id
        self._bid_at = array.array("H", bytes(2 * entries))  # the buffer id each entry names
        self._tail = 0
        self.closed = False
        self._registered = False
        try:
            ring.register_buf_ring(ctypes.addressof(ring_anchor), entries, bgid)
        except BaseException:
            del ring_anchor, buf_anchor  # their exports would keep the mmaps from closing
            self._free()
            raise
        self._registered = True
        del ring_anchor, buf_anchor
        for bid in range(entries):
            self._put(bid)
        _TAIL.pack_into(self._ring_mem, _TAIL_OFFSET, self._tail & 0xFFFF)

    def _put(self, bid: int) -> None:
        at = self._tail & self._mask
        _ENTRY.pack_into(
            self._ring_mem, at * _ENTRY_SIZE, self._base + bid * self.buf_size, self.buf_size, bid
        )
        self._bid_at[at] = bid
        self._state[bid] = _WITH_KERNEL
        self._tail += 1

    def get(self, bid: int, length: int) -> memoryview:
        """Take buffer `bid` from a CQE and return a view of its first `length` bytes.

        The view is valid until `recycle(bid)`; copy what must live longer.

        Raises:
            ValueError: `bid` is not with the kernel (never handed out, or taken twice).
        """
        if self._state[bid] != _WITH_KERNEL:
            raise ValueError(f"buffer {bid} of group {self.bgid} is already taken")
        self._state[bid] = _WITH_APP
        start = bid * self.buf_size
        return self._view[start : start + length]

    def read(self, bid: int, length: int) -> bytes:
        """Copy the first `length` bytes of buffer `bid` out, and give it back at once.

        `get`, `bytes(...)` and `recycle` in one call, for the common case of a receive
        whose data is copied anyway: one slice of the mmap, one ring entry (written only if
        it names another buffer, see `take`), one tail store.

        Raises:
            ValueError: `bid` is not with the kernel (see `get`).
        """
        data = self.take(bid, length)
        _pack_tail(self._ring_mem, _TAIL_OFFSET, self._tail & 0xFFFF)
        return data

    def take(self, bid: int, length: int) -> bytes:
        """`read` without publishing the recycled buffer: the kernel sees it (and every
        other one taken since) at the next `publish`. For a loop that reads a batch of
        completions and publishes once per batch.

        The entry is written only if it names another buffer. The kernel hands a ring's
        buffers out in entry order and, for plain receives, never writes the entries; so
        buffers taken back in completion order land in the entries that already name
        them, and a busy server writes none. (A bundle receive, IORING_RECVSEND_BUNDLE,
        may shorten an entry: give such buffers back with `recycle`, which always writes.)

        Raises:
            ValueError: `bid` is not with the kernel (see `get`).
        """
        if self._state[bid] != _WITH_KERNEL:
            raise ValueError(f"buffer {bid} of group {self.bgid} is already taken")
        start = bid * self.buf_size
        tail = self._tail
        at = tail & self._mask
        if self._bid_at[at] != bid:  # else the entry already names it (see above)
            _pack_entry(self._ring_mem, at * _ENTRY_SIZE, self._base + start, self.buf_size, bid)
            self._bid_at[at] = bid
        self._tail = tail + 1
        return self._buf_mem[start : start + length]

    def publish(self) -> None:
        """Make every buffer recycled by `take` visible to the kernel (one tail store)."""
        _pack_tail(self._ring_mem, _TAIL_OFFSET, self._tail & 0xFFFF)

    def recycle(self, bid: int) -> None:
        """Give buffer `bid` back to the kernel for the next receive.

        Raises:
            ValueError: `bid` is already with the kernel (a double recycle would hand the
                same memory out twice).

        See: io_uring_buf_ring_add(3), io_uring_buf_ring_advance(3)
        """
        if self._state[bid] != _WITH_APP:
            raise ValueError(f"buffer {bid} of group {self.bgid} is already with the kernel")
        self._put(bid)
        _TAIL.pack_into(self._ring_mem, _TAIL_OFFSET, self._tail & 0xFFFF)

    def with_app(self) -> int:
        """Return how many buffers the application holds (taken and not yet recycled)."""
        return self._state.count(_WITH_APP)

    def _free(self) -> None:
        self._view.release()
        self._ring_anchor = self._buf_anchor = None
        self._ring_mem.close()
        self._buf_mem.close()

    def close(self) -> None:
        """Unregister the group and free its memory. Idempotent.

        Views from `get` must be released first (BufferError otherwise). Call this
        before the ring closes if the ring lives on; if the ring is already closed, the
        kernel has dropped the group and only the memory is freed.
        """
        if self.closed:
            return
        if self._registered and not self._ring.closed:
            self._ring.unregister_buf_ring(self.bgid)
        self._registered = False
        self._free()  # BufferError while a view from get() lives: close() can be retried
        self.closed = True

    def __enter__(self) -> BufferRing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"with_app={self.with_app()}"
        return f"<BufferRing bgid={self.bgid} entries={self.entries} size={self.buf_size} {state}>"
