"""`uring._memory`: buffer addresses agree with ctypes, and IovecArray is a real iovec array.

Addresses are checked against what ctypes computes on its own: `c_char_p` for bytes (the
same pointer a C extension receives) and `c_char.from_buffer` for writable buffers. The only
memory used is Python objects and one anonymous mmap, which has no file descriptor.
"""

from __future__ import annotations

import ctypes
import gc
import mmap
from typing import Any

import pytest

import uring


def bytes_address(data: bytes) -> int:
    return ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0


def writable_address(buf: Any) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(buf))


class Iovec(ctypes.Structure):
    """`struct iovec` from <sys/uio.h>, written out independently of uring."""

    _fields_ = (("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t))


def read_iovecs(address: int, count: int) -> list[tuple[int, int]]:
    array = (Iovec * count).from_address(address)
    return [(v.iov_base or 0, v.iov_len) for v in array]


# --- buffer_address -----------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"x", b"hello world", bytes(range(256)) * 40])
def test_bytes_address_is_the_c_char_p_pointer(data: bytes) -> None:
    assert uring.buffer_address(data) == bytes_address(data)


@pytest.mark.parametrize("data", [b"", b"x", bytes(range(256)) * 40])
def test_bytes_data_offset_is_where_the_data_starts(data: bytes) -> None:
    assert uring.BYTES_DATA_OFFSET is not None  # CPython's layout, checked at import
    assert id(data) + uring.BYTES_DATA_OFFSET == bytes_address(data)
    assert ctypes.string_at(id(data) + uring.BYTES_DATA_OFFSET, len(data)) == data


def test_bytes_fast_path_agrees_with_the_buffer_protocol() -> None:
    data = b"through the buffer protocol"
    with memoryview(data) as view:
        assert uring.buffer_address(view) == bytes_address(data)
        assert uring.buffer_address(view[5:]) == bytes_address(data) + 5


def test_bytes_subclass_address_is_its_data() -> None:
    class Payload(bytes):
        pass

    data = Payload(b"subclass")
    assert uring.buffer_address(data) == bytes_address(data)


def test_bytearray_address_is_its_first_byte() -> None:
    buf = bytearray(b"0123456789")
    assert uring.buffer_address(buf) == writable_address(buf)
    assert uring.buffer_address(buf, writable=True) == writable_address(buf)


@pytest.mark.parametrize("start", [0, 1, 7, 63])
def test_memoryview_slice_address_is_offset_from_the_base(start: int) -> None:
    buf = bytearray(64)
    base = writable_address(buf)
    with memoryview(buf) as view:
        assert uring.buffer_address(view[start:]) == base + start
        assert uring.buffer_address(view[start:], writable=True) == base + start


def test_ctypes_array_address_is_addressof() -> None:
    chars = (ctypes.c_char * 32)()
    ints = (ctypes.c_uint32 * 8)()
    assert uring.buffer_address(chars, writable=True) == ctypes.addressof(chars)
    assert uring.buffer_address(ints) == ctypes.addressof(ints)


def test_anonymous_mmap_address_is_its_first_byte() -> None:
    region = mmap.mmap(-1, mmap.PAGESIZE)  # MAP_ANONYMOUS: no fd
    try:
        expected = writable_address(region)
        assert uring.buffer_address(region, writable=True) == expected
    finally:
        gc.collect()  # drop the ctypes export before closing
        region.close()


@pytest.mark.parametrize("address", [0, 1, 0x7F00_0000_1000, 2**64 - 1])
def test_ints_are_addresses_already(address: int) -> None:
    assert uring.buffer_address(address) == address
    assert uring.buffer_address(address, writable=True) == address


@pytest.mark.parametrize(
    "readonly",
    [b"bytes", memoryview(b"bytes"), memoryview(bytearray(b"ro")).toreadonly()],
    ids=["bytes", "memoryview-of-bytes", "readonly-memoryview"],
)
def test_writable_rejects_read_only_buffers(readonly: Any) -> None:
    with pytest.raises(BufferError):
        uring.buffer_address(readonly, writable=True)


def test_non_contiguous_buffers_are_rejected() -> None:
    with memoryview(bytearray(16)) as view, pytest.raises(BufferError):
        uring.buffer_address(view[::2])


@pytest.mark.parametrize(
    "obj", ["text", None, 1.5, object(), [1, 2]], ids=["str", "None", "float", "object", "list"]
)
def test_non_buffers_are_a_type_error(obj: Any) -> None:
    with pytest.raises(TypeError):
        uring.buffer_address(obj)


# --- IovecArray ---------------------------------------------------------------------------


def test_iovec_array_describes_each_buffer() -> None:
    first, second, third = b"abc", bytearray(b"defgh"), bytearray(0)
    iovecs = uring.IovecArray([first, second, third])
    assert iovecs.count == 3
    assert iovecs.total() == 8
    assert read_iovecs(iovecs.address, 3) == [
        (bytes_address(first), 3),
        (writable_address(second), 5),
        (uring.buffer_address(third), 0),
    ]


def test_iovec_array_of_slices_points_into_the_base() -> None:
    buf = bytearray(100)
    with memoryview(buf) as view:
        iovecs = uring.IovecArray([view[:10], view[50:]], writable=True)
        assert read_iovecs(iovecs.address, 2) == [
            (writable_address(buf), 10),
            (writable_address(buf) + 50, 50),
        ]
        del iovecs


def test_empty_iovec_array() -> None:
    iovecs = uring.IovecArray([])
    assert iovecs.count == 0
    assert iovecs.total() == 0
    assert repr(iovecs) == "<IovecArray count=0 bytes=0>"


def test_iovec_array_repr_says_count_and_bytes() -> None:
    assert repr(uring.IovecArray([b"ab", b"cde"])) == "<IovecArray count=2 bytes=5>"


def test_writable_iovec_array_rejects_bytes() -> None:
    with pytest.raises(BufferError):
        uring.IovecArray([bytearray(4), b"read-only"], writable=True)


def test_iovec_array_keeps_its_buffers_alive() -> None:
    iovecs = uring.IovecArray([bytearray(b"still here")])  # no other reference
    gc.collect()
    [(base, length)] = read_iovecs(iovecs.address, 1)
    assert ctypes.string_at(base, length) == b"still here"
