"""ASYNC_CANCEL by user_data (`prep_cancel64`) and by file descriptor (`prep_cancel_fd`).

A cancelled op completes with -ECANCELED; the cancel itself completes with 0 (or, with
`AsyncCancelFlag.ALL`, the number cancelled), or -ENOENT when nothing matched.
"""

from __future__ import annotations

import errno

import pytest

from uring import AsyncCancelFlag, Ring, prep_cancel64, prep_cancel_fd, prep_recv, sqe_set_data64

pytestmark = pytest.mark.integration


def pending_recv(ring: Ring, fd: int, buf: bytearray, user_data: int, reap_quiet) -> None:
    sqe = ring.get_sqe()
    prep_recv(sqe, fd, buf, len(buf))
    sqe_set_data64(sqe, user_data)
    assert reap_quiet(ring) == []  # submitted, and waiting for data that never comes


def test_cancel_by_user_data_ends_a_pending_recv(
    ring: Ring, sock_pair, reap_until, reap_quiet, by_user_data
) -> None:
    a, _ = sock_pair
    buf = bytearray(16)
    pending_recv(ring, a.fileno(), buf, 1, reap_quiet)
    sqe = ring.get_sqe()
    prep_cancel64(sqe, 1)
    sqe_set_data64(sqe, 2)
    assert by_user_data(reap_until(ring, 2)) == {1: (-errno.ECANCELED, 0), 2: (0, 0)}


def test_cancel_of_unknown_user_data_is_enoent(ring: Ring, reap_until) -> None:
    sqe = ring.get_sqe()
    prep_cancel64(sqe, 0xDEAD_BEEF)
    sqe_set_data64(sqe, 2)
    assert reap_until(ring, 1) == [(2, -errno.ENOENT, 0)]


def test_cancel_of_a_completed_op_is_enoent(ring: Ring, sock_pair, reap_until) -> None:
    a, b = sock_pair
    b.sendall(b"done")
    buf = bytearray(8)
    sqe = ring.get_sqe()
    prep_recv(sqe, a.fileno(), buf, len(buf))
    sqe_set_data64(sqe, 1)
    assert reap_until(ring, 1) == [(1, 4, 0)]
    sqe = ring.get_sqe()
    prep_cancel64(sqe, 1)
    sqe_set_data64(sqe, 2)
    assert reap_until(ring, 1) == [(2, -errno.ENOENT, 0)]


def test_cancel_fd_ends_a_pending_recv(
    ring: Ring, sock_pair, reap_until, reap_quiet, by_user_data
) -> None:
    a, _ = sock_pair
    buf = bytearray(16)
    pending_recv(ring, a.fileno(), buf, 1, reap_quiet)
    sqe = ring.get_sqe()
    prep_cancel_fd(sqe, a.fileno())
    sqe_set_data64(sqe, 2)
    assert by_user_data(reap_until(ring, 2)) == {1: (-errno.ECANCELED, 0), 2: (0, 0)}


def test_cancel_fd_all_ends_every_op_on_that_fd_only(
    ring: Ring, sock_pair, reap_until, reap_quiet, by_user_data
) -> None:
    a, b = sock_pair
    bufs = [bytearray(16) for _ in range(3)]
    pending_recv(ring, a.fileno(), bufs[0], 1, reap_quiet)
    pending_recv(ring, a.fileno(), bufs[1], 2, reap_quiet)
    pending_recv(ring, b.fileno(), bufs[2], 3, reap_quiet)  # another fd: left alone
    sqe = ring.get_sqe()
    prep_cancel_fd(sqe, a.fileno(), AsyncCancelFlag.ALL)
    sqe_set_data64(sqe, 4)
    done = by_user_data(reap_until(ring, 3))
    assert done == {1: (-errno.ECANCELED, 0), 2: (-errno.ECANCELED, 0), 4: (2, 0)}
    a.sendall(b"still there")
    assert reap_until(ring, 1) == [(3, 11, 0)]
    assert bufs[2][:11] == b"still there"


def test_cancel_fd_with_nothing_pending_is_enoent(ring: Ring, sock_pair, reap_until) -> None:
    a, _ = sock_pair
    sqe = ring.get_sqe()
    prep_cancel_fd(sqe, a.fileno())
    sqe_set_data64(sqe, 2)
    assert reap_until(ring, 1) == [(2, -errno.ENOENT, 0)]
