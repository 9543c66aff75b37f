"""Regular-file I/O: read/write, readv/writev, the file position (offset -1), fixed buffers."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from uring import (
    Feature,
    IovecArray,
    Ring,
    prep_read,
    prep_read_fixed,
    prep_readv,
    prep_write,
    prep_write_fixed,
    prep_writev,
    sqe_set_data64,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def file_fd(tmp_path: Path) -> Iterator[int]:
    fd = os.open(tmp_path / "data", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        yield fd
    finally:
        os.close(fd)


def one(ring: Ring, reap_until) -> tuple[int, int, int]:
    [cqe] = reap_until(ring, 1)
    return cqe


def test_write_then_read_at_offsets(ring: Ring, file_fd: int, reap_until) -> None:
    data = b"hello io_uring"
    sqe = ring.get_sqe()
    prep_write(sqe, file_fd, data, len(data), 0)
    sqe_set_data64(sqe, 1)
    assert one(ring, reap_until) == (1, len(data), 0)
    assert os.pread(file_fd, 100, 0) == data

    buf = bytearray(8)
    sqe = ring.get_sqe()
    prep_read(sqe, file_fd, buf, 5, 6)  # "io_ur"
    sqe_set_data64(sqe, 2)
    assert one(ring, reap_until) == (2, 5, 0)
    assert buf == b"io_ur\0\0\0"


def test_read_past_end_of_file_is_zero(ring: Ring, file_fd: int, reap_until) -> None:
    os.pwrite(file_fd, b"abc", 0)
    buf = bytearray(4)
    prep_read(ring.get_sqe(), file_fd, buf, 4, 100)
    _, res, _ = one(ring, reap_until)
    assert res == 0
    assert buf == bytearray(4)


def test_read_of_a_bad_fd_is_ebadf_as_res(ring: Ring, file_fd: int, reap_until) -> None:
    buf = bytearray(4)
    bad_fd = os.dup(file_fd)
    os.close(bad_fd)
    prep_read(ring.get_sqe(), bad_fd, buf, 4, 0)
    _, res, _ = one(ring, reap_until)
    assert res == -errno.EBADF


def test_offset_minus_one_uses_and_advances_the_file_position(
    ring: Ring, file_fd: int, reap_until
) -> None:
    assert ring.features & Feature.RW_CUR_POS
    for i, chunk in enumerate([b"abc", b"defg"]):
        sqe = ring.get_sqe()
        prep_write(sqe, file_fd, chunk, len(chunk), -1)
        sqe_set_data64(sqe, i)
        assert one(ring, reap_until) == (i, len(chunk), 0)
    assert os.lseek(file_fd, 0, os.SEEK_CUR) == 7
    assert os.pread(file_fd, 100, 0) == b"abcdefg"

    os.lseek(file_fd, 2, os.SEEK_SET)
    buf = bytearray(3)
    prep_read(ring.get_sqe(), file_fd, buf, 3, -1)
    assert one(ring, reap_until)[1] == 3
    assert buf == b"cde"
    assert os.lseek(file_fd, 0, os.SEEK_CUR) == 5


def test_writev_then_readv_scatter_and_gather(ring: Ring, file_fd: int, reap_until) -> None:
    parts = [b"one-", b"two-", b"three"]
    out = IovecArray(parts)
    assert out.total() == 13
    sqe = ring.get_sqe()
    prep_writev(sqe, file_fd, out, out.count, 0)
    sqe_set_data64(sqe, 1)
    assert one(ring, reap_until) == (1, 13, 0)
    assert os.pread(file_fd, 100, 0) == b"one-two-three"

    bufs = [bytearray(3), bytearray(6), bytearray(10)]
    into = IovecArray(bufs, writable=True)
    sqe = ring.get_sqe()
    prep_readv(sqe, file_fd, into, into.count, 1)
    sqe_set_data64(sqe, 2)
    assert one(ring, reap_until) == (2, 12, 0)
    assert bufs[0] == b"ne-"
    assert bufs[1] == b"two-th"
    assert bufs[2] == b"ree" + bytes(7)


def test_writev_and_readv_at_the_file_position(ring: Ring, file_fd: int, reap_until) -> None:
    os.write(file_fd, b"0123")
    out = IovecArray([b"ab", b"cd"])
    prep_writev(ring.get_sqe(), file_fd, out, out.count, -1)
    assert one(ring, reap_until)[1] == 4
    assert os.pread(file_fd, 100, 0) == b"0123abcd"

    os.lseek(file_fd, 3, os.SEEK_SET)
    bufs = [bytearray(2), bytearray(2)]
    into = IovecArray(bufs, writable=True)
    prep_readv(ring.get_sqe(), file_fd, into, into.count, -1)
    assert one(ring, reap_until)[1] == 4
    assert bufs == [b"3a", b"bc"]
    assert os.lseek(file_fd, 0, os.SEEK_CUR) == 7


def test_iovec_array_refuses_read_only_buffers_for_reads() -> None:
    with pytest.raises(BufferError):
        IovecArray([b"read-only"], writable=True)


def test_read_fixed_and_write_fixed_use_registered_buffers(
    ring: Ring, file_fd: int, reap_until
) -> None:
    out_buf = bytearray(b"fixed-buffer-payload".ljust(4096, b"."))
    in_buf = bytearray(4096)
    ring.register_buffers([out_buf, in_buf])
    try:
        sqe = ring.get_sqe()
        prep_write_fixed(sqe, file_fd, out_buf, 4096, 0, 0)
        sqe_set_data64(sqe, 1)
        assert one(ring, reap_until) == (1, 4096, 0)
        assert os.pread(file_fd, 4096, 0) == bytes(out_buf)

        # A read into the middle of registered buffer 1: the address lies inside it.
        with memoryview(in_buf)[100:] as tail:
            sqe = ring.get_sqe()
            prep_read_fixed(sqe, file_fd, tail, 20, 0, 1)
            sqe_set_data64(sqe, 2)
            assert one(ring, reap_until) == (2, 20, 0)
        assert in_buf[100:120] == b"fixed-buffer-payload"
        assert in_buf[:100] == bytes(100)
    finally:
        ring.unregister_buffers()


def test_read_fixed_outside_the_registered_buffer_is_efault(
    ring: Ring, file_fd: int, reap_until
) -> None:
    os.pwrite(file_fd, b"x" * 64, 0)
    registered = bytearray(4096)
    other = bytearray(4096)
    ring.register_buffers([registered])
    try:
        prep_read_fixed(ring.get_sqe(), file_fd, other, 64, 0, 0)
        _, res, _ = one(ring, reap_until)
        assert res == -errno.EFAULT
        assert other == bytearray(4096)
    finally:
        ring.unregister_buffers()
