"""Addresses of Python buffers, for the pointer fields of an SQE.

An SQE carries raw addresses (`sqe->addr`), so every buffer handed to the kernel must be
pinned and kept alive by the caller until the operation's final completion: the kernel
reads or writes that memory after `submit` returns, possibly long after. Nothing here can
keep a buffer alive on the caller's behalf; `buffer_address` only says where it is now.

Rules that follow from CPython's memory model:

- A `bytes` object never moves and never changes; its data starts `bytes.__basicsize__ - 1`
  bytes after the object's address, which is what `ctypes.c_char_p` relies on too. That
  offset is checked once at import against ctypes; the fast path is used only if it holds.
- A `bytearray` moves when it is resized: do not resize one while an op uses it.
- `mmap` and ctypes arrays never move; they are the safest memory to give the kernel.
"""

from __future__ import annotations

import ctypes
import mmap
from typing import Any, TypeAlias

# Anything `buffer_address` accepts: an int is taken as an address already.
Address: TypeAlias = "int | bytes | bytearray | memoryview | mmap.mmap | ctypes.Array[Any]"

_PyBUF_SIMPLE = 0
_PyBUF_WRITABLE = 1


class _PyBuffer(ctypes.Structure):
    """CPython's `Py_buffer`, for `PyObject_GetBuffer`."""

    _fields_ = (
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.py_object),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    )


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = (ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int)
_get_buffer.restype = ctypes.c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = (ctypes.POINTER(_PyBuffer),)
_release_buffer.restype = None


def _bytes_data_offset() -> int | None:
    probe = b"uring"
    offset = bytes.__basicsize__ - 1
    via_ctypes = ctypes.cast(ctypes.c_char_p(probe), ctypes.c_void_p).value
    return offset if via_ctypes == id(probe) + offset else None


_BYTES_OFFSET = _bytes_data_offset()
BYTES_DATA_OFFSET: int | None = _BYTES_OFFSET
"""How far past `id(b)` the data of a `bytes` object `b` starts, checked against ctypes at
import; None if the check failed (then only `buffer_address` knows). For the hottest
paths, where `id(b) + BYTES_DATA_OFFSET` saves the call."""


def buffer_address(buf: Address, *, writable: bool = False) -> int:
    """Return the address of the first byte of `buf`.

    Args:
        buf: an int (returned as it is), or any C-contiguous object with the buffer
            protocol: bytes, bytearray, memoryview (slices included), mmap, ctypes array.
        writable: require a buffer the kernel may write into (reads and receives).

    Returns:
        The address, valid while `buf` is alive and (for bytearray) not resized.

    Raises:
        BufferError: `buf` is not contiguous, or is read-only and `writable` is set.
        TypeError: `buf` does not support the buffer protocol.
    """
    if type(buf) is int:
        return buf
    if type(buf) is bytes and _BYTES_OFFSET is not None and not writable:
        return id(buf) + _BYTES_OFFSET
    view = _PyBuffer()
    flags = _PyBUF_WRITABLE if writable else _PyBUF_SIMPLE
    if _get_buffer(buf, ctypes.byref(view), flags) != 0:  # pragma: no cover - raises first
        raise BufferError(f"cannot get a buffer from {type(buf).__name__}")
    try:
        return view.buf or 0
    finally:
        _release_buffer(ctypes.byref(view))


def buffer_length(buf: Address) -> int:
    """Return the size in bytes of a buffer-protocol object (0 for an int address)."""
    if type(buf) is int:
        return 0
    with memoryview(buf) as view:  # type: ignore[arg-type]
        return view.nbytes


class Iovec(ctypes.Structure):
    """`struct iovec` for readv/writev/sendmsg and buffer registration."""

    _fields_ = (("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t))


class IovecArray:
    """A C array of `struct iovec` that pins the buffers it points at.

    The array and the buffers must outlive every op that uses them; keeping this object
    alive does both.

    Args:
        buffers: the buffers, in order; `writable` ones for reads.
        writable: require writable buffers (readv, recvmsg, buffer registration).

    Raises:
        BufferError: a buffer is read-only while `writable` is set.
    """

    __slots__ = ("_array", "_buffers", "address", "count")

    def __init__(self, buffers: list[Any], *, writable: bool = False) -> None:
        self._buffers = list(buffers)  # keeps every buffer alive as long as the array
        self._array = (Iovec * len(self._buffers))()
        for i, b in enumerate(self._buffers):
            self._array[i].iov_base = buffer_address(b, writable=writable)
            self._array[i].iov_len = buffer_length(b)
        self.address = ctypes.addressof(self._array)
        self.count = len(self._buffers)

    def __repr__(self) -> str:
        return f"<IovecArray count={self.count} bytes={self.total()}>"

    def total(self) -> int:
        """Return the sum of the buffers' lengths."""
        return sum(v.iov_len for v in self._array)
