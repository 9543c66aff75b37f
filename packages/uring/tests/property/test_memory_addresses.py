"""`buffer_address` and `IovecArray` agree with ctypes for any buffer, slice and list.

ctypes computes the expected addresses on its own: `c_char_p` for bytes, `c_char.from_buffer`
for writable buffers. No file descriptor is involved.
"""

from __future__ import annotations

import ctypes

from hypothesis import given
from hypothesis import strategies as st

import uring


class Iovec(ctypes.Structure):
    """`struct iovec` from <sys/uio.h>, written out independently of uring."""

    _fields_ = (("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t))


def bytes_address(data: bytes) -> int:
    return ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0


def writable_address(buf: bytearray | memoryview) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(buf))


@given(data=st.binary(max_size=4096))
def test_bytes_address_is_the_c_char_p_pointer(data: bytes) -> None:
    assert uring.buffer_address(data) == bytes_address(data)
    with memoryview(data) as view:
        assert uring.buffer_address(view) == bytes_address(data)


@given(data=st.binary(min_size=1, max_size=512), bounds=st.data())
def test_slices_point_into_their_base(data: bytes, bounds: st.DataObject) -> None:
    start = bounds.draw(st.integers(0, len(data) - 1), label="start")
    stop = bounds.draw(st.integers(start + 1, len(data)), label="stop")
    buf = bytearray(data)
    base = writable_address(buf)
    with memoryview(buf) as view:
        assert uring.buffer_address(view[start:stop], writable=True) == base + start
    with memoryview(data) as view:
        assert uring.buffer_address(view[start:stop]) == bytes_address(data) + start


@given(size=st.integers(1, 4096), writable=st.booleans())
def test_bytearray_and_ctypes_array_addresses(size: int, writable: bool) -> None:
    buf = bytearray(size)
    array = (ctypes.c_char * size)()
    assert uring.buffer_address(buf, writable=writable) == writable_address(buf)
    assert uring.buffer_address(array, writable=writable) == ctypes.addressof(array)


@given(address=st.integers(0, 2**64 - 1), writable=st.booleans())
def test_ints_pass_through(address: int, writable: bool) -> None:
    assert uring.buffer_address(address, writable=writable) == address


@given(
    buffers=st.lists(
        st.one_of(st.binary(max_size=64), st.binary(max_size=64).map(bytearray)), max_size=16
    )
)
def test_iovec_array_describes_its_buffers(buffers: list[bytes | bytearray]) -> None:
    iovecs = uring.IovecArray(buffers)
    assert iovecs.count == len(buffers)
    assert iovecs.total() == sum(len(b) for b in buffers)
    array = (Iovec * len(buffers)).from_address(iovecs.address)
    for iov, buf in zip(array, buffers, strict=True):
        assert iov.iov_len == len(buf)
        assert ctypes.string_at(iov.iov_base or 0, iov.iov_len) == buf
        if isinstance(buf, bytes):
            assert (iov.iov_base or 0) == bytes_address(buf)
        elif buf:
            assert iov.iov_base == writable_address(buf)
