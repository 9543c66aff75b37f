"""`Ring`: one io_uring instance, its mappings, and the submission and completion queues.

Kernel facts the code below relies on:

- **SQE lifetime.** An SQE belongs to the application from `get_sqe` until `submit` has
  published the new tail and the kernel has consumed it. Without SQPOLL the kernel copies
  every SQE it consumes during `io_uring_enter`, so once `submit` returns the slot may be
  reused; with SQPOLL the kernel thread consumes asynchronously and a slot is free only
  when the kernel's SQ head has passed it (`get_sqe` re-reads that head when the ring looks
  full). What an SQE points at is another matter: see "buffers" below.
- **Buffers outlive their op.** `sqe->addr` is a raw address. The kernel reads or writes it
  when the operation runs, which may be after `submit` returns (a recv waits for data),
  so the buffer must stay alive and unmoved until the operation's last CQE, or the kernel
  scribbles on freed memory. `SUBMIT_STABLE` only promises that the SQE's own data (an
  iovec array, a timespec) is copied at submit time.
- **CQ overflow.** The CQ ring has `cq_entries` slots. If completions arrive while it is
  full, kernels with `Feature.NODROP` (all supported ones) keep them on an internal list,
  set `SqRingFlag.CQ_OVERFLOW` and, while that backlog exists, may refuse new submissions
  with EBUSY. The backlog is moved into the ring when the application enters with
  `EnterFlag.GETEVENTS`; `reap` does that when the flag is set and the ring looks empty.
  The kernel's `overflow` counter (`cq_overflow`) counts only completions truly lost.
- **The end of a multishot op.** A multishot accept, recv or poll posts CQEs with
  `CqeFlag.MORE` set for as long as it stays armed. The first CQE without `MORE` is its
  last: it ended (an error, -ENOBUFS when the buffer group ran dry, a cancel, EOF with res
  0) and must be re-armed to go on.
- **Memory ordering.** The application writes the SQ tail and the CQ head; the kernel
  writes the SQ head and the CQ tail. Entries must be written before the tail that
  publishes them (store-release) and read after the tail that announces them
  (load-acquire). Python has no fences, so the code leans on two facts: without SQPOLL the
  kernel reads the SQ tail inside `io_uring_enter`, and a syscall is a full barrier; and on
  x86-64 (TSO) plain loads and stores are not reordered with each other in the ways that
  matter here (store-store, load-load). With SQPOLL, `submit` fences (a lock and unlock)
  between the tail store and the NEED_WAKEUP load, which even x86 may reorder, and on a
  weakly ordered CPU before the tail store too. Every head and tail is read or written with
  one aligned 4-byte access, never byte by byte, so neither side sees a torn value.
- **Task work.** With `SetupFlag.DEFER_TASKRUN` (it requires `SINGLE_ISSUER`) completions
  are only posted when the submitting thread enters with `GETEVENTS`, and only that
  thread may do it; with `COOP_TASKRUN` they are posted at the next kernel transition.
  Either way, a ring waiting for nothing is never interrupted, which is most of
  io_uring's speed over epoll from Python.

A `Ring` is not thread-safe: one thread owns it, which `SINGLE_ISSUER` enforces.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import threading
from types import TracebackType
from typing import Any, Final, TypeAlias

from uring._constants import (
    OFF_SQ_RING,
    OFF_SQES,
    EnterFlag,
    Feature,
    SetupFlag,
    SqRingFlag,
)
from uring._register import Registrations
from uring._syscall import (
    SYS_IO_URING_ENTER,
    GeteventsArg,
    KernelTimespec,
    Params,
    get_errno,
    io_uring_setup,
    map_ring,
    raise_errno,
    syscall_gil,
    syscall_nogil,
    unmap_ring,
)

Cqe: TypeAlias = tuple[int, int, int]
"""A completion as `reap` returns it: `(user_data, res, flags)`. A negative `res` is -errno."""

SplitCqe: TypeAlias = tuple[int, int, int, int]
"""A completion as `reap_split` returns it: `(user_data & 0xFFFFFFFF, user_data >> 32, res,
flags)`."""

DEFAULT_ENTRIES: Final = 256  # SQ entries; liburing's examples and most servers use 64-4096

# Native "I", not "<I": the native format packs and unpacks with one memcpy, a single
# aligned 4-byte access; the standard formats go byte by byte, and a kernel thread (SQPOLL,
# io-wq completions) could see a torn head or tail half-way through, as this ring once did.
_U32 = struct.Struct("I")
_pack_u32 = _U32.pack_into
_unpack_u32 = _U32.unpack_from
_SYS_ENTER: Final = SYS_IO_URING_ENTER
# EINTR: a signal (its handler runs when we return); EAGAIN/EBUSY: the kernel is short of
# memory or holds overflowed CQEs (reap, then submit again); ETIME: the wait timed out.
_RETRY_LATER: Final = frozenset({errno.EINTR, errno.EAGAIN, errno.EBUSY, errno.ETIME})
_M32: Final = 0xFFFF_FFFF
_WEAK_ORDERING: Final = platform.machine() not in ("x86_64", "AMD64", "i386", "i686")
_fence_lock = threading.Lock()

# Plain ints for the hot paths: IntFlag operators cost about a microsecond each on 3.11.
_GETEVENTS: Final = int(EnterFlag.GETEVENTS)
_EXT_ARG: Final = int(EnterFlag.EXT_ARG)
_SQ_WAKEUP: Final = int(EnterFlag.SQ_WAKEUP)
_REGISTERED_RING: Final = int(EnterFlag.REGISTERED_RING)
_NEED_WAKEUP: Final = int(SqRingFlag.NEED_WAKEUP)
_NEEDS_FLUSH: Final = int(SqRingFlag.CQ_OVERFLOW | SqRingFlag.TASKRUN)


def _fence() -> None:
    """A full memory barrier: lock and unlock imply one on every architecture."""
    with _fence_lock:
        pass


class Ring(Registrations):
    """One io_uring instance: setup, mmaps, `get_sqe`, `submit`, `reap`, registration.

    Args:
        entries: SQ size, rounded up to a power of two by the kernel.
        flags: `SetupFlag`s. `CQSIZE` is added when `cq_entries` is given; `SQ_AFF` when
            `sq_thread_cpu` is.
        cq_entries: CQ size (default: twice `entries`).
        sq_thread_cpu: CPU for the SQPOLL thread.
        sq_thread_idle_ms: how long the SQPOLL thread spins before it sleeps.
        wq_fd: a ring whose async workers to share (`SetupFlag.ATTACH_WQ`).

    Raises:
        IoUringUnavailableError: io_uring is missing or forbidden here.
        OSError: the kernel refused the flags (EINVAL) or memory (ENOMEM).
    """

    __slots__ = (
        "_cq_head",
        "_cq_head_off",
        "_cq_mask",
        "_cq_mm",
        "_cq_overflow_off",
        "_cq_tail_off",
        "_cqe_size",
        "_cqe_split_struct",
        "_cqe_struct",
        "_cqes",
        "_enter_fd",
        "_enter_flags",
        "_maps",
        "_no_arg_size",
        "_sq_dropped_off",
        "_sq_end",
        "_sq_flags_off",
        "_sq_head_off",
        "_sq_mask",
        "_sq_mm",
        "_sq_tail",
        "_sq_tail_off",
        "_sqes",
        "_sqpoll",
        "_views",
        "_wait_arg",
        "_wait_arg_ptr",
        "_wait_arg_size",
        "_wait_ts",
        "closed",
        "cq_entries",
        "fd",
        "features",
        "flags",
        "sq_entries",
    )

    def __init__(
        self,
        entries: int = DEFAULT_ENTRIES,
        flags: SetupFlag | int = 0,
        *,
        cq_entries: int | None = None,
        sq_thread_cpu: int | None = None,
        sq_thread_idle_ms: int | None = None,
        wq_fd: int | None = None,
    ) -> None:
        params = Params()
        params.flags = int(flags)
        if cq_entries is not None:
            params.flags |= SetupFlag.CQSIZE
            params.cq_entries = cq_entries
        if sq_thread_cpu is not None:
            params.flags |= SetupFlag.SQ_AFF
            params.sq_thread_cpu = sq_thread_cpu
        if sq_thread_idle_ms is not None:
            params.sq_thread_idle = sq_thread_idle_ms
        if wq_fd is not None:
            params.flags |= SetupFlag.ATTACH_WQ
            params.wq_fd = wq_fd
        self.fd = io_uring_setup(entries, params)
        self.closed = False
        self._maps: list[tuple[int, int]] = []  # (address, length) of each mapping
        self._views: list[memoryview] = []
        try:
            self._map_rings(params)
        except BaseException:
            self._release_maps()
            os.close(self.fd)
            raise
        self._init_registrations()
        self.flags = SetupFlag(params.flags)
        self.features = Feature(params.features)
        self._enter_fd = self.fd
        self._enter_flags = 0
        self._sqpoll = bool(params.flags & SetupFlag.SQPOLL)
        self._wait_arg = GeteventsArg()
        self._wait_ts = KernelTimespec()
        self._wait_arg.ts = ctypes.addressof(self._wait_ts)
        self._wait_arg_ptr = ctypes.c_void_p(ctypes.addressof(self._wait_arg))
        # The 6th syscall argument travels on the stack, where a bare Python int would be
        # pushed as a 32-bit C int with undefined upper bits: pass it as a C long.
        self._wait_arg_size = ctypes.c_long(ctypes.sizeof(GeteventsArg))
        self._no_arg_size = ctypes.c_long(0)

    def _map(self, offset: int, length: int) -> memoryview:
        addr = map_ring(self.fd, length, offset)
        self._maps.append((addr, length))
        view = memoryview((ctypes.c_char * length).from_address(addr)).cast("B")
        self._views.append(view)
        return view

    def _map_rings(self, p: Params) -> None:
        """mmap the SQ ring, CQ ring and SQE array, and precompute every offset."""
        cqe_size = 32 if p.flags & SetupFlag.CQE32 else 16
        sqe_size = 128 if p.flags & SetupFlag.SQE128 else 64
        has_array = not p.flags & SetupFlag.NO_SQARRAY
        sq_size = p.sq_off.array + p.sq_entries * 4 if has_array else 0
        cq_size = p.cq_off.cqes + p.cq_entries * cqe_size
        if not p.features & Feature.SINGLE_MMAP:  # pragma: no cover - before Linux 5.4
            raise OSError(errno.ENOSYS, "io_uring without SINGLE_MMAP: use Linux 6.1 or newer")
        sq_mm = self._map(OFF_SQ_RING, max(sq_size, cq_size))
        cq_mm = sq_mm
        sqe_mm = self._map(OFF_SQES, p.sq_entries * sqe_size)

        self._sq_mm, self._cq_mm = sq_mm, cq_mm
        self.sq_entries: int = p.sq_entries
        self.cq_entries: int = p.cq_entries
        self._sq_mask: int = _U32.unpack_from(sq_mm, p.sq_off.ring_mask)[0]
        self._cq_mask: int = _U32.unpack_from(cq_mm, p.cq_off.ring_mask)[0]
        self._sq_head_off = p.sq_off.head
        self._sq_tail_off = p.sq_off.tail
        self._sq_flags_off = p.sq_off.flags
        self._sq_dropped_off = p.sq_off.dropped
        self._cq_head_off = p.cq_off.head
        self._cq_tail_off = p.cq_off.tail
        self._cq_overflow_off = p.cq_off.overflow
        self._sq_tail: int = _U32.unpack_from(sq_mm, p.sq_off.tail)[0]
        # The tail at which the SQ is full, as far as we know the kernel's head.
        self._sq_end: int = _U32.unpack_from(sq_mm, p.sq_off.head)[0] + self.sq_entries
        self._cq_head: int = _U32.unpack_from(cq_mm, p.cq_off.head)[0]
        if has_array:
            # The SQ index array maps ring slot i to SQE i, once and for all (as liburing).
            n = p.sq_entries
            struct.pack_into(f"<{n}I", sq_mm, p.sq_off.array, *range(n))

        self._sqes: list[memoryview] = [
            sqe_mm[i * sqe_size : (i + 1) * sqe_size] for i in range(p.sq_entries)
        ]
        self._views.extend(self._sqes)
        self._cqes = cq_mm[p.cq_off.cqes : p.cq_off.cqes + p.cq_entries * cqe_size]
        self._views.append(self._cqes)
        self._cqe_size = cqe_size
        self._cqe_struct = struct.Struct("<QiI" if cqe_size == 16 else "<QiI16x")
        self._cqe_split_struct = struct.Struct("<IIiI" if cqe_size == 16 else "<IIiI16x")

    # --- submission ----------------------------------------------------------------------

    def get_sqe(self) -> memoryview | None:
        """Return the next free SQE, or None when the SQ is full (submit, then retry).

        The SQE is a 64-byte (128 with SQE128) view into the kernel-shared SQE array; fill
        it with one `prep_*` call and optional `sqe_set_*` calls before the next `submit`.

        See: io_uring_get_sqe(3)
        """
        # _sq_tail and _sq_end count without wrapping (Python ints); the kernel's 32-bit
        # head is read, and unwrapped against the tail, only when the ring looks full.
        tail = self._sq_tail
        if tail >= self._sq_end:
            self._sq_end = self._read_sq_end(tail)
            if tail >= self._sq_end:
                return None
        self._sq_tail = tail + 1
        return self._sqes[tail & self._sq_mask]

    def get_sqes(self, n: int) -> list[memoryview] | None:
        """Return `n` free SQEs at once, or None when fewer than `n` are free.

        The batch form of `get_sqe`: one call instead of `n`, which in Python is most of
        the cost of preparing a NOP. The SQEs are consecutive in the ring, in order.
        """
        tail = self._sq_tail
        if tail + n > self._sq_end:
            self._sq_end = self._read_sq_end(tail)
            if tail + n > self._sq_end:
                return None
        self._sq_tail = tail + n
        start = tail & self._sq_mask
        end = start + n
        if end <= self.sq_entries:
            return self._sqes[start:end]
        return self._sqes[start:] + self._sqes[: end - self.sq_entries]

    def _read_sq_end(self, tail: int) -> int:
        """The tail at which the SQ is full, from the kernel's head now."""
        khead: int = _unpack_u32(self._sq_mm, self._sq_head_off)[0]
        return tail - ((tail - khead) & _M32) + self.sq_entries

    def pending_sqe(self) -> memoryview | None:
        """Return the newest SQE handed out if the kernel cannot see it yet, else None.

        The tail is published only by `submit`, so an SQE returned here may still be
        changed, and one taken next with `get_sqe` follows it in the same submission: the
        way to add a link (`SqeFlag.IO_LINK`) after an SQE filled elsewhere.
        """
        tail = self._sq_tail
        if _unpack_u32(self._sq_mm, self._sq_tail_off)[0] == tail & _M32:
            return None
        return self._sqes[(tail - 1) & self._sq_mask]

    def sq_ready(self) -> int:
        """Return how many SQEs are filled but not yet consumed by the kernel."""
        head: int = _U32.unpack_from(self._sq_mm, self._sq_head_off)[0]
        return (self._sq_tail - head) & _M32

    def sq_space_left(self) -> int:
        """Return how many more SQEs `get_sqe` can hand out before a submit."""
        return self.sq_entries - self.sq_ready()

    def submit(self) -> int:
        """Publish the prepared SQEs and hand them to the kernel; never waits.

        Returns:
            The number of SQEs the kernel consumed (0 after EINTR, EAGAIN or EBUSY: reap
            completions, then submit again).

        Raises:
            OSError: io_uring_enter failed for another reason.

        See: io_uring_submit(3)
        """
        return self._submit(0, 0)

    def submit_and_wait(self, wait_nr: int = 1, timeout_s: float | None = None) -> int:
        """Submit, then wait until `wait_nr` completions are ready or `timeout_s` passes.

        Args:
            wait_nr: completions to wait for; 0 only flushes pending task work.
            timeout_s: the longest wait (IORING_ENTER_EXT_ARG); None waits without limit.

        Returns:
            The number of SQEs the kernel consumed. A timeout or a signal is not an error:
            `reap` then simply finds fewer completions than asked for.

        Raises:
            OSError: io_uring_enter failed for another reason.

        See: io_uring_submit_and_wait_timeout(3)
        """
        if timeout_s is None:
            return self._submit(wait_nr, _GETEVENTS)
        self._wait_ts.set_seconds(timeout_s)
        return self._submit(wait_nr, _GETEVENTS | _EXT_ARG)

    def _submit(self, wait_nr: int, flags: int) -> int:
        # The hot path of every loop turn: module-level ints and bound methods only, and the
        # enter inlined (see _enter for the same call off the hot path).
        tail = self._sq_tail
        sq_mm = self._sq_mm
        if _WEAK_ORDERING and self._sqpoll:  # pragma: no cover - x86-64 is TSO
            _fence()  # SQE stores before the tail store
        _pack_u32(sq_mm, self._sq_tail_off, tail & _M32)
        if self._sqpoll:
            # The tail store before the NEED_WAKEUP load: even x86 reorders a store with a
            # later load, and a stale flag would lose the wake-up (liburing: smp_mb here).
            _fence()
        to_submit: int = (tail - _unpack_u32(sq_mm, self._sq_head_off)[0]) & _M32
        sq_flags = _unpack_u32(sq_mm, self._sq_flags_off)[0]
        if sq_flags & _NEEDS_FLUSH:
            flags |= _GETEVENTS
        if self._sqpoll:
            if sq_flags & _NEED_WAKEUP:
                flags |= _SQ_WAKEUP
            elif not flags:
                return to_submit  # the SQ thread is awake and picks the tail up itself
        elif not to_submit and not flags:
            return 0
        if flags & _EXT_ARG:
            arg, argsz = self._wait_arg_ptr, self._wait_arg_size
        else:
            arg, argsz = None, self._no_arg_size
        # Only a call that may sleep releases the GIL (see uring._syscall).
        ret: int = (syscall_nogil if wait_nr else syscall_gil)(
            _SYS_ENTER, self._enter_fd, to_submit, wait_nr, flags | self._enter_flags, arg, argsz
        )
        if ret >= 0:
            return ret
        return self._enter_failed()

    def _enter(self, to_submit: int, wait_nr: int, flags: int) -> int:
        ret: int = (syscall_nogil if wait_nr else syscall_gil)(
            _SYS_ENTER,
            self._enter_fd,
            to_submit,
            wait_nr,
            flags | self._enter_flags,
            None,
            self._no_arg_size,
        )
        return ret if ret >= 0 else self._enter_failed()

    @staticmethod
    def _enter_failed() -> int:
        """Turn a failed enter into 0 (retry later) or an OSError."""
        err = get_errno()
        if err in _RETRY_LATER:
            return 0
        raise_errno(err, "io_uring_enter")
        raise AssertionError("unreachable")  # pragma: no cover

    # --- completion ------------------------------------------------------------------------

    def cq_ready(self) -> int:
        """Return how many completions wait in the CQ ring. See: io_uring_cq_ready(3)"""
        tail: int = _U32.unpack_from(self._cq_mm, self._cq_tail_off)[0]
        return (tail - self._cq_head) & _M32

    def reap(self, max_cqes: int = 0) -> list[Cqe]:
        """Copy out the ready completions and give their slots back to the kernel.

        One call per batch: the CQEs are unpacked straight from the shared ring with
        `Struct.iter_unpack`, so a batch costs about one Python call plus one small tuple
        per completion. If the ring is empty but the kernel holds overflowed completions
        or pending task work, they are flushed in first.

        Args:
            max_cqes: reap at most this many (0: all that are ready).

        Returns:
            `(user_data, res, flags)` tuples in completion order; empty when none are ready.

        See: io_uring_peek_batch_cqe(3), io_uring_cq_advance(3)
        """
        return self._reap(self._cqe_struct, max_cqes)

    def reap_split(self, max_cqes: int = 0) -> list[SplitCqe]:
        """`reap`, with each `user_data` split in halves: `(low 32 bits, high 32 bits, res,
        flags)`.

        For a program that packs a small tag in the low half of its `user_data` and a large
        one (a generation, a pointer's high bits) in the high half. CPython computes with
        ints below 2**30 on a fast path that a 64-bit `user_data` misses: decoding the halves
        costs less than masking and shifting the whole value, on every completion.
        """
        return self._reap(self._cqe_split_struct, max_cqes)

    def _reap(self, layout: struct.Struct, max_cqes: int) -> list[Any]:
        cq_mm = self._cq_mm
        head = self._cq_head
        n = (_unpack_u32(cq_mm, self._cq_tail_off)[0] - head) & _M32
        if not n:
            sq_flags = _unpack_u32(self._sq_mm, self._sq_flags_off)[0]
            if not sq_flags & _NEEDS_FLUSH:
                return []
            self._enter(0, 0, _GETEVENTS)
            n = (_unpack_u32(cq_mm, self._cq_tail_off)[0] - head) & _M32
            if not n:
                return []
        if 0 < max_cqes < n:
            n = max_cqes
        size = self._cqe_size
        start = head & self._cq_mask
        if n == 1:  # a lone completion, the usual case of a quiet loop: no slice, no iterator
            out = [layout.unpack_from(self._cqes, start * size)]
        elif start + n <= self.cq_entries:
            out = list(layout.iter_unpack(self._cqes[start * size : (start + n) * size]))
        else:
            out = list(layout.iter_unpack(self._cqes[start * size :]))
            wrapped = (start + n - self.cq_entries) * size
            out.extend(layout.iter_unpack(self._cqes[:wrapped]))
        head = (head + n) & _M32
        self._cq_head = head
        _pack_u32(cq_mm, self._cq_head_off, head)
        return out

    @property
    def cq_overflow(self) -> int:
        """Completions the kernel had to drop (stays 0 with `Feature.NODROP` and memory)."""
        return int(_U32.unpack_from(self._cq_mm, self._cq_overflow_off)[0])

    @property
    def sq_dropped(self) -> int:
        """SQEs the kernel skipped as invalid (an index out of range in the SQ array)."""
        return int(_U32.unpack_from(self._sq_mm, self._sq_dropped_off)[0])

    @property
    def sq_flags(self) -> SqRingFlag:
        """The kernel's current SQ ring flags (`NEED_WAKEUP`, `CQ_OVERFLOW`, `TASKRUN`)."""
        return SqRingFlag(_U32.unpack_from(self._sq_mm, self._sq_flags_off)[0])

    # --- ring fd registration (changes how enter is called) --------------------------------

    def register_ring_fd(self) -> int:
        """Register the ring's own fd so each enter skips the fd table lookup.

        The registration belongs to the calling thread: call it from the thread that
        submits. Returns the registered index.

        See: io_uring_register_ring_fd(3)
        """
        index = self._register_ring_fd()
        self._enter_fd = index
        self._enter_flags = _REGISTERED_RING
        return index

    def unregister_ring_fd(self) -> None:
        """Undo `register_ring_fd`. See: io_uring_unregister_ring_fd(3)"""
        if self._enter_flags & _REGISTERED_RING:
            self._unregister_ring_fd(self._enter_fd)
            self._enter_fd = self.fd
            self._enter_flags = 0

    # --- lifetime -----------------------------------------------------------------------

    def _release_maps(self) -> None:
        for view in reversed(self._views):
            view.release()
        self._views.clear()
        self._sqes = []
        for addr, length in self._maps:
            unmap_ring(addr, length)
        self._maps.clear()

    def close(self) -> None:
        """Tear the ring down: unmap it and close its fd. Idempotent.

        Closing cancels every operation still in flight; memory they pointed at may be
        freed afterwards. Registered files, buffers and buffer rings go with the ring.

        See: io_uring_queue_exit(3)
        """
        if self.closed:
            return
        self.closed = True
        # A registered ring fd holds a reference to the ring: without this the kernel ring
        # and its in-flight operations would outlive close, until the thread exits.
        self.unregister_ring_fd()
        self._release_maps()
        self._drop_registrations()
        self.sq_entries = 0
        self._sq_end = 0  # get_sqe now reaches the released views and raises ValueError
        os.close(self.fd)

    def __enter__(self) -> Ring:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<Ring closed>"
        return (
            f"<Ring fd={self.fd} sq={self.sq_entries} cq={self.cq_entries} "
            f"flags={self.flags!r} sq_ready={self.sq_ready()} cq_ready={self.cq_ready()}>"
        )
