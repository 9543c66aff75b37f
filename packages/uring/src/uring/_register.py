"""io_uring_register(2): files, buffers, eventfds, buffer rings, ring fds and the probe.

Every method is named as liburing's `io_uring_register_*` minus the prefix and documented by
its man page. Memory the kernel keeps pointing at after the call (registered buffers) is
pinned here until it is unregistered or the ring closes.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from uring._constants import OP_SUPPORTED, RSRC_REGISTER_SPARSE, Op, RegisterOp
from uring._memory import IovecArray
from uring._syscall import io_uring_register


class _RsrcRegister(ctypes.Structure):
    _fields_ = (
        ("nr", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("resv2", ctypes.c_uint64),
        ("data", ctypes.c_uint64),
        ("tags", ctypes.c_uint64),
    )


class _RsrcUpdate(ctypes.Structure):
    _fields_ = (
        ("offset", ctypes.c_uint32),
        ("resv", ctypes.c_uint32),
        ("data", ctypes.c_uint64),
    )


class _FileIndexRange(ctypes.Structure):
    _fields_ = (("off", ctypes.c_uint32), ("len", ctypes.c_uint32), ("resv", ctypes.c_uint64))


class _BufReg(ctypes.Structure):
    _fields_ = (
        ("ring_addr", ctypes.c_uint64),
        ("ring_entries", ctypes.c_uint32),
        ("bgid", ctypes.c_uint16),
        ("flags", ctypes.c_uint16),
        ("resv", ctypes.c_uint64 * 3),
    )


class _ProbeOp(ctypes.Structure):
    _fields_ = (
        ("op", ctypes.c_uint8),
        ("resv", ctypes.c_uint8),
        ("flags", ctypes.c_uint16),
        ("resv2", ctypes.c_uint32),
    )


_PROBE_OPS = 256


class _Probe(ctypes.Structure):
    _fields_ = (
        ("last_op", ctypes.c_uint8),
        ("ops_len", ctypes.c_uint8),
        ("resv", ctypes.c_uint16),
        ("resv2", ctypes.c_uint32 * 3),
        ("ops", _ProbeOp * _PROBE_OPS),
    )


@dataclass(frozen=True, slots=True)
class Probe:
    """Which opcodes this kernel supports (`IORING_REGISTER_PROBE`).

    Attributes:
        last_op: the highest opcode the kernel knows.
        supported: the opcodes it reports as supported, including ones newer than `Op`.
    """

    last_op: int
    supported: frozenset[int]

    def is_supported(self, op: Op | int) -> bool:
        """Return whether opcode `op` is supported. See: io_uring_opcode_supported(3)"""
        return int(op) in self.supported


class Registrations:
    """The registration half of `Ring` (kept apart to keep each module readable)."""

    __slots__ = ("_pinned_buffers",)
    fd: int

    def _init_registrations(self) -> None:
        self._pinned_buffers: IovecArray | None = None

    def _drop_registrations(self) -> None:
        self._pinned_buffers = None

    def _register(self, opcode: RegisterOp, arg: Any, nr: int) -> int:
        """Register with `arg` passed by reference (a `c_void_p` or None as it is)."""
        if arg is not None and not isinstance(arg, ctypes.c_void_p):
            arg = ctypes.byref(arg)
        return io_uring_register(self.fd, opcode, arg, nr)

    # --- files -------------------------------------------------------------------------

    def register_files(self, fds: Sequence[int]) -> None:
        """Register `fds` as fixed files 0..n-1 (-1 leaves a slot empty).

        See: io_uring_register_files(3)
        """
        array = (ctypes.c_int32 * len(fds))(*fds)
        self._register(RegisterOp.REGISTER_FILES, array, len(fds))

    def register_files_sparse(self, nr: int) -> None:
        """Register a table of `nr` empty fixed-file slots (for `_direct` ops).

        See: io_uring_register_files_sparse(3)
        """
        reg = _RsrcRegister(nr=nr, flags=RSRC_REGISTER_SPARSE)
        self._register(RegisterOp.REGISTER_FILES2, reg, ctypes.sizeof(reg))

    def register_files_update(self, offset: int, fds: Sequence[int]) -> int:
        """Replace fixed-file slots from `offset` with `fds` (-1 clears a slot,
        `REGISTER_FILES_SKIP` keeps it). Returns how many slots were updated.

        See: io_uring_register_files_update(3)
        """
        array = (ctypes.c_int32 * len(fds))(*fds)
        upd = _RsrcUpdate(offset=offset, data=ctypes.addressof(array))
        return self._register(RegisterOp.REGISTER_FILES_UPDATE, upd, len(fds))

    def register_file_alloc_range(self, off: int, length: int) -> None:
        """Limit kernel-allocated fixed-file slots to [off, off + length).

        See: io_uring_register_file_alloc_range(3)
        """
        rng = _FileIndexRange(off=off, len=length)
        self._register(RegisterOp.REGISTER_FILE_ALLOC_RANGE, rng, 0)

    def unregister_files(self) -> None:
        """Drop the fixed-file table. See: io_uring_unregister_files(3)"""
        self._register(RegisterOp.UNREGISTER_FILES, None, 0)

    # --- buffers -----------------------------------------------------------------------

    def register_buffers(self, buffers: Sequence[Any]) -> None:
        """Register writable buffers for `_fixed` ops, as indexes 0..n-1.

        The buffers stay pinned (kept alive here) until `unregister_buffers` or `close`.

        Raises:
            BufferError: a buffer is read-only.

        See: io_uring_register_buffers(3)
        """
        iov = IovecArray(list(buffers), writable=True)
        self._register(RegisterOp.REGISTER_BUFFERS, ctypes.c_void_p(iov.address), iov.count)
        self._pinned_buffers = iov

    def unregister_buffers(self) -> None:
        """Drop the registered buffers. See: io_uring_unregister_buffers(3)"""
        self._register(RegisterOp.UNREGISTER_BUFFERS, None, 0)
        self._pinned_buffers = None

    def register_buf_ring(self, ring_addr: int, entries: int, bgid: int, flags: int = 0) -> None:
        """Register a provided-buffer ring at page-aligned `ring_addr` as group `bgid`.

        `BufferRing` does this and owns the memory; use this only for memory of your own.

        See: io_uring_register_buf_ring(3)
        """
        reg = _BufReg(ring_addr=ring_addr, ring_entries=entries, bgid=bgid, flags=flags)
        self._register(RegisterOp.REGISTER_PBUF_RING, reg, 1)

    def unregister_buf_ring(self, bgid: int) -> None:
        """Unregister buffer group `bgid`. See: io_uring_unregister_buf_ring(3)"""
        reg = _BufReg(bgid=bgid)
        self._register(RegisterOp.UNREGISTER_PBUF_RING, reg, 1)

    # --- eventfd, ring fd, workers, probe ---------------------------------------------------

    def register_eventfd(self, fd: int, *, async_only: bool = False) -> None:
        """Signal eventfd `fd` on each completion (or only on those completed
        asynchronously, with `async_only`).

        See: io_uring_register_eventfd(3)
        """
        op = RegisterOp.REGISTER_EVENTFD_ASYNC if async_only else RegisterOp.REGISTER_EVENTFD
        self._register(op, ctypes.c_int32(fd), 1)

    def unregister_eventfd(self) -> None:
        """Stop signalling the eventfd. See: io_uring_unregister_eventfd(3)"""
        self._register(RegisterOp.UNREGISTER_EVENTFD, None, 0)

    def _register_ring_fd(self) -> int:
        upd = _RsrcUpdate(offset=0xFFFF_FFFF, data=self.fd)  # offset -1: any free index
        self._register(RegisterOp.REGISTER_RING_FDS, upd, 1)
        return int(upd.offset)

    def _unregister_ring_fd(self, index: int) -> None:
        upd = _RsrcUpdate(offset=index)
        self._register(RegisterOp.UNREGISTER_RING_FDS, upd, 1)

    def register_iowq_max_workers(self, bounded: int, unbounded: int) -> tuple[int, int]:
        """Cap the kernel's async worker threads (0 keeps a value). Returns the old caps.

        See: io_uring_register_iowq_max_workers(3)
        """
        values = (ctypes.c_uint32 * 2)(bounded, unbounded)
        self._register(RegisterOp.REGISTER_IOWQ_MAX_WORKERS, values, 2)
        return int(values[0]), int(values[1])

    def probe(self) -> Probe:
        """Ask the kernel which opcodes it supports. See: io_uring_get_probe_ring(3)"""
        raw = _Probe()
        self._register(RegisterOp.REGISTER_PROBE, raw, _PROBE_OPS)
        supported = frozenset(
            raw.ops[i].op for i in range(raw.ops_len) if raw.ops[i].flags & OP_SUPPORTED
        )
        return Probe(last_op=raw.last_op, supported=supported)
