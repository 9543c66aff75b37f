"""The three io_uring system calls, through ctypes on libc's `syscall(2)` symbol.

Facts this module relies on:

- io_uring_setup, io_uring_enter and io_uring_register are 425, 426 and 427 on every
  architecture with the unified syscall table (x86_64, aarch64, riscv64, ...). Alpha and the
  MIPS ABIs offset them; they are not supported.
- A ctypes function without `argtypes` converts a Python int to a C int and passes a ctypes
  instance (`c_void_p`) by value; libffi widens ints to the register size of a variadic
  call. That makes a call about twice as cheap as one with `argtypes`. Pointers are passed
  as preallocated `c_void_p` objects, small values as plain ints.
- `PyDLL` keeps the GIL across the call and `CDLL` releases it. An enter that may sleep
  (waiting for completions) must go through `CDLL` or every other Python thread stalls
  while the ring waits; an enter that cannot sleep (submit only) goes through the cheaper
  `PyDLL` symbol.
- On failure the raw syscall returns -1 and sets errno; `use_errno=True` keeps a copy that
  `ctypes.get_errno()` reads without racing other threads.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
from typing import Final

SYS_IO_URING_SETUP: Final = 425
SYS_IO_URING_ENTER: Final = 426
SYS_IO_URING_REGISTER: Final = 427

_libc_nogil = ctypes.CDLL(None, use_errno=True)
_libc_gil = ctypes.PyDLL(None, use_errno=True)
syscall_nogil = _libc_nogil.syscall  # releases the GIL: for calls that may block
syscall_gil = _libc_gil.syscall  # keeps the GIL: for calls that never block
get_errno = ctypes.get_errno


_mmap = _libc_nogil.mmap
_mmap.argtypes = (
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
)
_mmap.restype = ctypes.c_void_p
_munmap = _libc_nogil.munmap
_munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
_munmap.restype = ctypes.c_int
_MAP_FAILED = ctypes.c_void_p(-1).value


def map_ring(fd: int, length: int, offset: int) -> int:
    """mmap(2) one region of a ring shared with the kernel and return its address.

    Python's `mmap.mmap` would dup the ring fd for every mapping (three fds per ring on
    Python 3.11), so the ring maps through libc instead.

    Raises:
        OSError: the mapping failed (ENOMEM: RLIMIT_MEMLOCK on old kernels, or no memory).
    """
    flags = mmap.MAP_SHARED | mmap.MAP_POPULATE
    addr = _mmap(None, length, mmap.PROT_READ | mmap.PROT_WRITE, flags, fd, offset)
    if addr is None or addr == _MAP_FAILED:
        raise_errno(get_errno(), f"mmap(io_uring, offset={offset:#x})")
    return int(addr)


def unmap_ring(addr: int, length: int) -> None:
    """munmap(2) a region mapped by `map_ring`."""
    if _munmap(addr, length) != 0:  # pragma: no cover - only fails on a bad address
        raise_errno(get_errno(), "munmap")


class SqringOffsets(ctypes.Structure):
    """`struct io_sqring_offsets`: where each SQ ring field sits in the SQ ring mapping."""

    _fields_ = (
        ("head", ctypes.c_uint32),
        ("tail", ctypes.c_uint32),
        ("ring_mask", ctypes.c_uint32),
        ("ring_entries", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("dropped", ctypes.c_uint32),
        ("array", ctypes.c_uint32),
        ("resv1", ctypes.c_uint32),
        ("user_addr", ctypes.c_uint64),
    )


class CqringOffsets(ctypes.Structure):
    """`struct io_cqring_offsets`: where each CQ ring field sits in the CQ ring mapping."""

    _fields_ = (
        ("head", ctypes.c_uint32),
        ("tail", ctypes.c_uint32),
        ("ring_mask", ctypes.c_uint32),
        ("ring_entries", ctypes.c_uint32),
        ("overflow", ctypes.c_uint32),
        ("cqes", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("resv1", ctypes.c_uint32),
        ("user_addr", ctypes.c_uint64),
    )


class Params(ctypes.Structure):
    """`struct io_uring_params`: passed to io_uring_setup and filled in by the kernel."""

    _fields_ = (
        ("sq_entries", ctypes.c_uint32),
        ("cq_entries", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("sq_thread_cpu", ctypes.c_uint32),
        ("sq_thread_idle", ctypes.c_uint32),
        ("features", ctypes.c_uint32),
        ("wq_fd", ctypes.c_uint32),
        ("resv", ctypes.c_uint32 * 3),
        ("sq_off", SqringOffsets),
        ("cq_off", CqringOffsets),
    )


class KernelTimespec(ctypes.Structure):
    """`struct __kernel_timespec`: the timeout argument of TIMEOUT, LINK_TIMEOUT and enter."""

    _fields_ = (("tv_sec", ctypes.c_int64), ("tv_nsec", ctypes.c_int64))

    @classmethod
    def from_seconds(cls, seconds: float) -> KernelTimespec:
        """Return a timespec for a relative time of `seconds`, to the nearest nanosecond.

        Raises:
            ValueError: `seconds` is negative or does not fit in 64-bit seconds.
        """
        ts = cls()
        ts.set_seconds(seconds)
        return ts

    def set_seconds(self, seconds: float) -> None:
        """Overwrite this timespec in place (no allocation) with `seconds`.

        Raises:
            ValueError: `seconds` is negative or does not fit in 64-bit seconds.
        """
        if seconds < 0:
            raise ValueError(f"timeout of {seconds} s is negative")
        if not seconds < _MAX_TIMESPEC_S:  # also catches NaN
            raise ValueError(f"timeout of {seconds} s does not fit in 64-bit seconds")
        # Round the total first, then split: rounding the fraction alone could give
        # tv_nsec == 1e9, which the kernel refuses with EINVAL.
        self.tv_sec, self.tv_nsec = divmod(round(seconds * 1_000_000_000), 1_000_000_000)


_MAX_TIMESPEC_S: Final = 2**63 - 1


class GeteventsArg(ctypes.Structure):
    """`struct io_uring_getevents_arg`: the IORING_ENTER_EXT_ARG argument of enter."""

    _fields_ = (
        ("sigmask", ctypes.c_uint64),
        ("sigmask_sz", ctypes.c_uint32),
        ("min_wait_usec", ctypes.c_uint32),
        ("ts", ctypes.c_uint64),
    )


class IoUringUnavailableError(OSError):
    """io_uring cannot be used in this process; the message names the cause and the fix."""


def raise_errno(err: int, what: str) -> None:
    """Raise the `OSError` subclass that matches `err`, with `what` naming the call.

    Raises:
        OSError: always; `OSError(errno, msg)` picks `PermissionError`,
            `FileNotFoundError`, ... from the errno.
    """
    raise OSError(err, f"{what}: {os.strerror(err)}")


def unavailable_error(err: int) -> IoUringUnavailableError:
    """Return the error for an io_uring_setup failure that means io_uring is off limits."""
    if err == errno.ENOSYS:
        why = (
            "io_uring_setup is not implemented by this kernel (ENOSYS): the kernel is too "
            "old or built without CONFIG_IO_URING; use Linux 6.1 or newer"
        )
    else:
        why = (
            f"io_uring_setup was refused ({errno.errorcode.get(err, err)}): io_uring is "
            "disabled by 'sysctl kernel.io_uring_disabled' or blocked by a seccomp profile "
            "(containers often block it); try 'sysctl -w kernel.io_uring_disabled=0', or "
            "run the container with a seccomp profile that allows io_uring_setup, "
            "io_uring_enter and io_uring_register"
        )
    return IoUringUnavailableError(err, why)


def io_uring_setup(entries: int, params: Params) -> int:
    """Create an io_uring instance and return its fd.

    Args:
        entries: requested SQ size; the kernel rounds it up to a power of two.
        params: in: flags and options; out: sizes, features and ring offsets.

    Returns:
        The ring's file descriptor.

    Raises:
        IoUringUnavailableError: io_uring is missing (ENOSYS) or forbidden (EPERM).
        OSError: any other failure, e.g. EINVAL for a flag this kernel does not know.
    """
    fd: int = syscall_nogil(SYS_IO_URING_SETUP, entries, ctypes.byref(params))
    if fd < 0:
        err = get_errno()
        if err in (errno.ENOSYS, errno.EPERM):
            raise unavailable_error(err)
        raise_errno(err, f"io_uring_setup(flags={params.flags:#x})")
    return fd


def io_uring_register(fd: int, opcode: int, arg: object, nr_args: int) -> int:
    """Call io_uring_register(2) and return its non-negative result.

    Args:
        fd: the ring fd.
        opcode: a `RegisterOp` value.
        arg: a pointer: `ctypes.byref(obj)`, a `c_void_p`, or None for NULL.
        nr_args: the count argument of the opcode.

    Raises:
        OSError: the kernel refused; the errno picks the subclass.
    """
    ret: int = syscall_nogil(SYS_IO_URING_REGISTER, fd, opcode, arg, nr_args)
    if ret < 0:
        raise_errno(get_errno(), f"io_uring_register(opcode={opcode})")
    return ret
