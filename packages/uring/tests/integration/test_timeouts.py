"""Timeouts: TIMEOUT (by time and by count), TIMEOUT_REMOVE, LINK_TIMEOUT, and enter's own.

Every timespec given to the kernel stays referenced until its op's CQE. Long timeouts
(`LONG`) are never meant to fire: they end by count or by removal, and the ring's close
cancels them if a test fails first.
"""

from __future__ import annotations

import errno

import pytest

from uring import (
    KernelTimespec,
    Ring,
    SqeFlag,
    prep_link_timeout,
    prep_nop,
    prep_recv,
    prep_timeout,
    prep_timeout_remove,
    sqe_set_data64,
    sqe_set_flags,
)

pytestmark = pytest.mark.integration

LONG = KernelTimespec.from_seconds(60)


def test_timeout_fires_with_etime(ring: Ring, reap_until) -> None:
    ts = KernelTimespec.from_seconds(0.002)
    sqe = ring.get_sqe()
    prep_timeout(sqe, ts, 0)
    sqe_set_data64(sqe, 1)
    assert reap_until(ring, 1) == [(1, -errno.ETIME, 0)]


def test_timeout_with_count_completes_after_that_many_cqes(ring: Ring, reap_until) -> None:
    sqe = ring.get_sqe()
    prep_timeout(sqe, LONG, 2)
    sqe_set_data64(sqe, 1)
    for user_data in (2, 3):
        sqe = ring.get_sqe()
        prep_nop(sqe)
        sqe_set_data64(sqe, user_data)
    assert reap_until(ring, 3) == [(2, 0, 0), (3, 0, 0), (1, 0, 0)]


def test_timeout_with_count_waits_for_the_count(ring: Ring, reap_until, reap_quiet) -> None:
    sqe = ring.get_sqe()
    prep_timeout(sqe, LONG, 3)
    sqe_set_data64(sqe, 1)
    sqe = ring.get_sqe()
    prep_nop(sqe)
    sqe_set_data64(sqe, 2)
    assert reap_until(ring, 1) == [(2, 0, 0)]
    assert reap_quiet(ring) == []  # one of three: the timeout still waits
    for user_data in (3, 4):
        sqe = ring.get_sqe()
        prep_nop(sqe)
        sqe_set_data64(sqe, user_data)
    assert reap_until(ring, 3) == [(3, 0, 0), (4, 0, 0), (1, 0, 0)]


def test_timeout_remove_cancels_a_pending_timeout(ring: Ring, reap_until, by_user_data):
    sqe = ring.get_sqe()
    prep_timeout(sqe, LONG, 0)
    sqe_set_data64(sqe, 1)
    ring.submit()
    sqe = ring.get_sqe()
    prep_timeout_remove(sqe, 1)
    sqe_set_data64(sqe, 2)
    assert by_user_data(reap_until(ring, 2)) == {1: (-errno.ECANCELED, 0), 2: (0, 0)}


def test_timeout_remove_of_an_unknown_timeout_is_enoent(ring: Ring, reap_until) -> None:
    sqe = ring.get_sqe()
    prep_timeout_remove(sqe, 12345)
    sqe_set_data64(sqe, 2)
    assert reap_until(ring, 1) == [(2, -errno.ENOENT, 0)]


def test_link_timeout_cancels_a_recv_that_never_completes(
    ring: Ring, sock_pair, reap_until, by_user_data
) -> None:
    a, _ = sock_pair
    buf = bytearray(16)
    ts = KernelTimespec.from_seconds(0.005)
    sqe = ring.get_sqe()
    prep_recv(sqe, a.fileno(), buf, len(buf))
    sqe_set_data64(sqe, 1)
    sqe_set_flags(sqe, SqeFlag.IO_LINK)
    sqe = ring.get_sqe()
    prep_link_timeout(sqe, ts)
    sqe_set_data64(sqe, 2)
    assert by_user_data(reap_until(ring, 2)) == {1: (-errno.ECANCELED, 0), 2: (-errno.ETIME, 0)}
    assert buf == bytearray(16)


def test_link_timeout_is_cancelled_when_the_recv_completes_first(
    ring: Ring, sock_pair, reap_until, by_user_data
) -> None:
    a, b = sock_pair
    b.sendall(b"in time")
    buf = bytearray(16)
    sqe = ring.get_sqe()
    prep_recv(sqe, a.fileno(), buf, len(buf))
    sqe_set_data64(sqe, 1)
    sqe_set_flags(sqe, SqeFlag.IO_LINK)
    sqe = ring.get_sqe()
    prep_link_timeout(sqe, LONG)
    sqe_set_data64(sqe, 2)
    assert by_user_data(reap_until(ring, 2)) == {1: (7, 0), 2: (-errno.ECANCELED, 0)}
    assert buf[:7] == b"in time"


def test_submit_and_wait_with_a_timeout_returns_with_nothing_ready(ring: Ring) -> None:
    assert ring.submit_and_wait(1, timeout_s=0.005) == 0
    assert ring.reap() == []
    assert ring.submit_and_wait(4, timeout_s=0) == 0
    assert ring.reap() == []


def test_submit_and_wait_with_a_timeout_still_submits(ring: Ring) -> None:
    sqe = ring.get_sqe()
    prep_nop(sqe)
    sqe_set_data64(sqe, 9)
    # Waits for two, gets one: the submit counts, the short wait is not an error.
    assert ring.submit_and_wait(2, timeout_s=0.005) == 1
    assert ring.reap() == [(9, 0, 0)]


def test_negative_timeouts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        KernelTimespec.from_seconds(-1)
