"""io_uring_register: fixed files (direct accept and close), eventfd, ring fd, probe, io-wq.

A fixed-file slot holds its own reference to the file: the ring keeps a socket open after
the process closed its fd, and `prep_close_direct` is what finally closes it.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Iterator

import pytest

from uring import (
    FILE_INDEX_ALLOC,
    REGISTER_FILES_SKIP,
    CqeFlag,
    Op,
    Ring,
    SetupFlag,
    SqeFlag,
    prep_accept_direct,
    prep_accept_direct_multishot,
    prep_cancel64,
    prep_close_direct,
    prep_nop,
    prep_recv,
    prep_send,
    setup_flag_support,
    sqe_set_data64,
    sqe_set_flags,
)

pytestmark = pytest.mark.integration


def fixed_send(ring: Ring, index: int, data: bytes, user_data: int) -> None:
    sqe = ring.get_sqe()
    prep_send(sqe, index, data, len(data), socket.MSG_NOSIGNAL)
    sqe_set_data64(sqe, user_data)
    sqe_set_flags(sqe, SqeFlag.FIXED_FILE)


def fixed_recv(ring: Ring, index: int, buf: bytearray, user_data: int) -> None:
    sqe = ring.get_sqe()
    prep_recv(sqe, index, buf, len(buf))
    sqe_set_data64(sqe, user_data)
    sqe_set_flags(sqe, SqeFlag.FIXED_FILE)


@pytest.fixture
def sparse_table(ring: Ring) -> Iterator[Ring]:
    """The ring with a table of four empty fixed-file slots."""
    ring.register_files_sparse(4)
    try:
        yield ring
    finally:
        ring.unregister_files()


# --- fixed files ---------------------------------------------------------------------------


def test_send_and_recv_through_fixed_file_indexes(ring: Ring, sock_pair, reap_until):
    a, b = sock_pair
    ring.register_files([a.fileno(), b.fileno()])
    try:
        buf = bytearray(16)
        fixed_recv(ring, 1, buf, 1)
        fixed_send(ring, 0, b"fixed", 2)
        done = {ud: res for ud, res, _ in reap_until(ring, 2)}
        assert done == {1: 5, 2: 5}
        assert buf[:5] == b"fixed"
    finally:
        ring.unregister_files()


def test_fixed_file_outlives_the_fd_it_was_registered_from(
    ring: Ring, sock_pair, reap_until
) -> None:
    a, b = sock_pair
    dup = os.dup(a.fileno())
    try:
        ring.register_files([dup])
    finally:
        os.close(dup)
    try:
        fixed_send(ring, 0, b"still open", 1)
        assert reap_until(ring, 1) == [(1, 10, 0)]
        assert b.recv(16) == b"still open"
    finally:
        ring.unregister_files()


def test_empty_or_unregistered_fixed_slot_is_ebadf(ring: Ring, sock_pair, reap_until) -> None:
    a, _ = sock_pair
    ring.register_files([-1, a.fileno()])
    try:
        fixed_send(ring, 0, b"x", 1)  # registered as -1: empty
        assert reap_until(ring, 1) == [(1, -errno.EBADF, 0)]
    finally:
        ring.unregister_files()
    fixed_send(ring, 1, b"x", 2)  # no table at all any more
    assert reap_until(ring, 1) == [(2, -errno.EBADF, 0)]


def test_files_update_fills_skips_and_clears_sparse_slots(
    sparse_table: Ring, sock_pair, reap_until
) -> None:
    ring = sparse_table
    a, b = sock_pair
    assert ring.register_files_update(2, [a.fileno()]) == 1
    fixed_send(ring, 2, b"slot two", 1)
    assert reap_until(ring, 1) == [(1, 8, 0)]
    assert b.recv(16) == b"slot two"

    # SKIP keeps slot 2 as it is while slot 3 is filled.
    assert ring.register_files_update(2, [REGISTER_FILES_SKIP, b.fileno()]) == 2
    buf = bytearray(16)
    fixed_recv(ring, 3, buf, 2)
    fixed_send(ring, 2, b"two to three", 3)
    assert sorted(reap_until(ring, 2)) == [(2, 12, 0), (3, 12, 0)]
    assert buf[:12] == b"two to three"

    assert ring.register_files_update(2, [-1]) == 1  # -1 clears the slot
    fixed_send(ring, 2, b"x", 4)
    assert reap_until(ring, 1) == [(4, -errno.EBADF, 0)]


def test_files_update_past_the_table_raises(sparse_table: Ring, sock_pair) -> None:
    a, _ = sock_pair
    with pytest.raises(OSError) as info:
        sparse_table.register_files_update(4, [a.fileno()])
    assert info.value.errno == errno.EINVAL


def test_unregister_files_without_a_table_raises_enxio(ring: Ring) -> None:
    with pytest.raises(OSError) as info:
        ring.unregister_files()
    assert info.value.errno == errno.ENXIO


def test_accept_direct_into_a_chosen_slot_then_close_direct(
    sparse_table: Ring, listener: socket.socket, reap_until
) -> None:
    ring = sparse_table
    sqe = ring.get_sqe()
    prep_accept_direct(sqe, listener.fileno(), None, None, 0, 1)
    sqe_set_data64(sqe, 1)
    with socket.create_connection(listener.getsockname()) as client:
        assert reap_until(ring, 1) == [(1, 0, 0)]  # res 0: the socket is in slot 1
        client.sendall(b"to slot 1")
        buf = bytearray(16)
        fixed_recv(ring, 1, buf, 2)
        assert reap_until(ring, 1) == [(2, 9, 0)]
        assert buf[:9] == b"to slot 1"

        sqe = ring.get_sqe()
        prep_close_direct(sqe, 1)
        sqe_set_data64(sqe, 3)
        assert reap_until(ring, 1) == [(3, 0, 0)]
        client.settimeout(5)
        assert client.recv(1) == b""  # the slot held the only reference: closed
        fixed_send(ring, 1, b"x", 4)
        assert reap_until(ring, 1) == [(4, -errno.EBADF, 0)]


def test_accept_direct_with_alloc_returns_the_slot(
    sparse_table: Ring, listener: socket.socket, reap_until
) -> None:
    ring = sparse_table
    ring.register_files_update(0, [listener.fileno()])  # slot 0 taken: alloc skips it
    sqe = ring.get_sqe()
    prep_accept_direct(sqe, listener.fileno(), None, None, 0, FILE_INDEX_ALLOC)
    sqe_set_data64(sqe, 1)
    with socket.create_connection(listener.getsockname()) as client:
        [(user_data, slot, _)] = reap_until(ring, 1)
        assert user_data == 1
        assert slot in (1, 2, 3)
        fixed_send(ring, slot, b"allocated", 2)
        assert reap_until(ring, 1) == [(2, 9, 0)]
        assert client.recv(16) == b"allocated"


def test_accept_direct_multishot_fills_free_slots(
    sparse_table: Ring, listener: socket.socket, reap_until, by_user_data
) -> None:
    ring = sparse_table
    sqe = ring.get_sqe()
    prep_accept_direct_multishot(sqe, listener.fileno(), None, None, 0)
    sqe_set_data64(sqe, 1)
    with (
        socket.create_connection(listener.getsockname()) as c1,
        socket.create_connection(listener.getsockname()) as c2,
    ):
        cqes = reap_until(ring, 2)
        assert all(ud == 1 and flags & CqeFlag.MORE for ud, _, flags in cqes)
        slots = sorted(res for _, res, _ in cqes)
        assert len(set(slots)) == 2
        assert all(0 <= s < 4 for s in slots)
        payloads = [b"slot %d" % slot for slot in slots]  # alive until their sends complete
        for i, (slot, payload) in enumerate(zip(slots, payloads, strict=True)):
            fixed_send(ring, slot, payload, 10 + i)
        assert sorted(ud for ud, _, _ in reap_until(ring, 2)) == [10, 11]
        assert {c1.recv(16), c2.recv(16)} == set(payloads)

        for i, slot in enumerate(slots):
            sqe = ring.get_sqe()
            prep_close_direct(sqe, slot)
            sqe_set_data64(sqe, 20 + i)
        sqe = ring.get_sqe()
        prep_cancel64(sqe, 1)
        sqe_set_data64(sqe, 30)
        done = by_user_data(reap_until(ring, 4))
        assert done[20] == done[21] == done[30] == (0, 0)
        res, flags = done[1]
        assert res == -errno.ECANCELED
        assert not flags & CqeFlag.MORE


# --- eventfd -------------------------------------------------------------------------------


def test_registered_eventfd_is_signalled_by_a_completion(ring: Ring, reap_until) -> None:
    efd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
    try:
        ring.register_eventfd(efd)
        with pytest.raises(BlockingIOError):
            os.eventfd_read(efd)
        prep_nop(ring.get_sqe())
        reap_until(ring, 1)
        assert os.eventfd_read(efd) >= 1

        ring.unregister_eventfd()
        prep_nop(ring.get_sqe())
        reap_until(ring, 1)
        with pytest.raises(BlockingIOError):
            os.eventfd_read(efd)
    finally:
        os.close(efd)


def test_second_eventfd_registration_is_ebusy(ring: Ring) -> None:
    efd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
    try:
        ring.register_eventfd(efd)
        with pytest.raises(OSError) as info:
            ring.register_eventfd(efd)
        assert info.value.errno == errno.EBUSY
        ring.unregister_eventfd()
    finally:
        os.close(efd)


# --- ring fd -------------------------------------------------------------------------------


def test_enter_works_through_a_registered_ring_fd(ring: Ring, reap_until) -> None:
    index = ring.register_ring_fd()
    try:
        assert index >= 0
        for user_data in range(3):
            sqe = ring.get_sqe()
            prep_nop(sqe)
            sqe_set_data64(sqe, user_data)
        assert reap_until(ring, 3) == [(0, 0, 0), (1, 0, 0), (2, 0, 0)]
    finally:
        ring.unregister_ring_fd()
    ring.unregister_ring_fd()  # a second unregister does nothing
    sqe = ring.get_sqe()
    prep_nop(sqe)
    sqe_set_data64(sqe, 9)
    assert reap_until(ring, 1) == [(9, 0, 0)]


def run_in_fresh_thread(target) -> BaseException | None:
    """Run `target` in a new thread (a new io_uring task context); return what it raised."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # handed to the test thread
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return failure[0] if failure else None


def test_unregistered_ring_fds_free_their_slot() -> None:
    def cycle() -> None:
        for _ in range(20):  # more than the kernel's 16 slots per thread
            with Ring(4) as r:
                r.register_ring_fd()
                r.unregister_ring_fd()

    assert run_in_fresh_thread(cycle) is None


def test_close_releases_a_registered_ring_fd() -> None:
    def cycle() -> None:
        for _ in range(20):  # more than the kernel's 16 slots per thread
            with Ring(4) as r:
                r.register_ring_fd()

    # Regression test: close must unregister the ring fd (as io_uring_queue_exit does), or
    # the kernel ring outlives it and 16 closed rings exhaust the thread's slots (EBUSY).
    # A fresh thread: whatever a buggy close leaves behind goes when the thread exits.
    failure = run_in_fresh_thread(cycle)
    assert failure is None, f"after close, register_ring_fd failed: {failure!r}"


def test_close_cancels_in_flight_ops_of_a_ring_with_a_registered_fd() -> None:
    # Regression test: a registered ring fd holds a reference to the ring, which a close
    # that forgot it left alive with its recv. Closing the ring cancels the recv, which
    # drops its reference to the socket, so closing our fd closes it and the peer sees EOF.
    outcome: list[bytes | str] = []

    def scenario() -> None:
        a, b = socket.socketpair()
        buf = bytearray(16)
        _kept_alive.append(buf)  # a ring that outlives close may still write here
        with a, b:
            ring = Ring(4)
            ring.register_ring_fd()
            prep_recv(ring.get_sqe(), a.fileno(), buf, len(buf))
            ring.submit()
            ring.close()
            a.close()
            b.settimeout(5)  # a ceiling for the bug's case; EOF comes at once otherwise
            try:
                outcome.append(b.recv(1))
            except TimeoutError:
                outcome.append("no EOF: the recv still holds the socket")

    assert run_in_fresh_thread(scenario) is None
    assert outcome == [b""]


_kept_alive: list[bytearray] = []


# --- probe, setup flags, io-wq --------------------------------------------------------------


def test_probe_reports_the_basic_opcodes(ring: Ring) -> None:
    probe = ring.probe()
    for op in (Op.NOP, Op.READ, Op.WRITE, Op.SEND, Op.RECV, Op.ACCEPT, Op.ASYNC_CANCEL):
        assert probe.is_supported(op), op
    assert probe.last_op >= Op.SOCKET
    assert not probe.is_supported(255)


def test_setup_flag_support_answers_for_every_flag() -> None:
    support = setup_flag_support()
    assert set(support) == set(SetupFlag)
    assert all(value in (True, False, None) for value in support.values())
    assert support[SetupFlag.CQSIZE] is True  # every kernel since 5.5
    assert support[SetupFlag.NO_MMAP] is None  # needs caller memory: not tried


def test_iowq_max_workers_returns_the_previous_caps(ring: Ring) -> None:
    before = ring.register_iowq_max_workers(0, 0)  # 0 reads without changing
    assert ring.register_iowq_max_workers(3, 5) == before
    assert ring.register_iowq_max_workers(0, 0) == (3, 5)
