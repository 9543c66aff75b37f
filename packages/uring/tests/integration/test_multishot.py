"""Multishot accept and multishot recv into a `BufferRing`, and how each one ends.

A multishot op posts CQEs with `CqeFlag.MORE` while it stays armed; its first CQE without
`MORE` is its last: -ECANCELED after a cancel, -ENOBUFS when the buffer group ran dry,
0 at EOF. Buffers named by a CQE belong to the test until it recycles them.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from uring import (
    BufferRing,
    CqeFlag,
    Ring,
    SqeFlag,
    buffer_id,
    prep_accept_multishot,
    prep_cancel64,
    prep_read_multishot,
    prep_recv_multishot,
    sqe_set_buf_group,
    sqe_set_data64,
    sqe_set_flags,
)

pytestmark = pytest.mark.integration

BGID = 7
RECV = 100


@pytest.fixture
def bufs(ring: Ring) -> Iterator[BufferRing]:
    """Two 64-byte buffers in group `BGID`: small enough to run dry on purpose."""
    with BufferRing(ring, BGID, entries=2, buf_size=64) as b:
        yield b


def arm_recv(ring: Ring, fd: int, user_data: int = RECV, bgid: int = BGID) -> None:
    sqe = ring.get_sqe()
    assert sqe is not None
    prep_recv_multishot(sqe, fd, None, 0)
    sqe_set_data64(sqe, user_data)
    sqe_set_flags(sqe, SqeFlag.BUFFER_SELECT)
    sqe_set_buf_group(sqe, bgid)


def take(bufs: BufferRing, cqe: tuple[int, int, int]) -> tuple[int, bytes]:
    """Check a data CQE of the multishot recv; copy its bytes out. Returns (bid, bytes)."""
    user_data, res, flags = cqe
    assert user_data == RECV
    assert res > 0, f"res {res}"
    assert flags & CqeFlag.BUFFER
    assert flags & CqeFlag.MORE
    bid = buffer_id(flags)
    with bufs.get(bid, res) as view:
        return bid, bytes(view)


# --- multishot accept --------------------------------------------------------------------


def test_multishot_accept_posts_one_cqe_per_client_until_cancelled(
    ring: Ring, listener: socket.socket, reap_until, by_user_data
) -> None:
    sqe = ring.get_sqe()
    prep_accept_multishot(sqe, listener.fileno(), None, None, socket.SOCK_CLOEXEC)
    sqe_set_data64(sqe, 1)
    with ExitStack() as stack:
        clients = [
            stack.enter_context(socket.create_connection(listener.getsockname())) for _ in range(3)
        ]
        cqes = reap_until(ring, 3)
        assert [ud for ud, _, _ in cqes] == [1, 1, 1]
        assert all(flags & CqeFlag.MORE for _, _, flags in cqes)
        accepted = [stack.enter_context(socket.socket(fileno=fd)) for _, fd, _ in cqes]
        assert all(fd >= 0 for _, fd, _ in cqes)
        by_peer = {conn.getpeername(): conn for conn in accepted}
        assert set(by_peer) == {c.getsockname() for c in clients}
        for i, client in enumerate(clients):
            client.sendall(b"client %d" % i)
            conn = by_peer[client.getsockname()]
            assert conn.recv(32) == b"client %d" % i

        # Still armed: one more client, one more CQE with MORE.
        late = stack.enter_context(socket.create_connection(listener.getsockname()))
        [(ud, fd, flags)] = reap_until(ring, 1)
        assert ud == 1
        assert flags & CqeFlag.MORE
        with socket.socket(fileno=fd) as conn:
            assert conn.getpeername() == late.getsockname()

    sqe = ring.get_sqe()
    prep_cancel64(sqe, 1)
    sqe_set_data64(sqe, 2)
    done = by_user_data(reap_until(ring, 2))
    assert done[2] == (0, 0)
    res, flags = done[1]
    assert res == -errno.ECANCELED
    assert not flags & CqeFlag.MORE


# --- multishot recv with a buffer ring ----------------------------------------------------


def test_multishot_recv_fills_provided_buffers_and_reuses_recycled_ids(
    ring: Ring, sock_pair, bufs: BufferRing, reap_until
) -> None:
    a, b = sock_pair
    arm_recv(ring, a.fileno())
    bids = []
    for i in range(6):
        msg = b"message %d" % i
        b.sendall(msg)  # one at a time, so each lands in a buffer of its own
        [cqe] = reap_until(ring, 1)
        bid, data = take(bufs, cqe)
        assert data == msg
        assert bufs.with_app() == 1
        bufs.recycle(bid)
        assert bufs.with_app() == 0
        bids.append(bid)
    # Two buffers, six messages: the kernel hands recycled ids out again, in ring order.
    assert bids == [0, 1, 0, 1, 0, 1]


def test_multishot_recv_splits_data_larger_than_a_buffer(ring: Ring, sock_pair, reap_until) -> None:
    a, b = sock_pair
    with BufferRing(ring, BGID, entries=8, buf_size=16) as bufs:
        arm_recv(ring, a.fileno())
        payload = bytes(range(100))
        b.sendall(payload)
        got = b""
        while len(got) < len(payload):
            for cqe in reap_until(ring, 1):
                bid, data = take(bufs, cqe)
                assert len(data) <= 16
                got += data
                bufs.recycle(bid)
        assert got == payload


def test_multishot_recv_ends_with_enobufs_when_the_group_runs_dry_and_rearms(
    ring: Ring, sock_pair, bufs: BufferRing, reap_until
) -> None:
    a, b = sock_pair
    arm_recv(ring, a.fileno())
    held = []
    for msg in (b"first", b"second"):  # fill both buffers and keep them
        b.sendall(msg)
        [cqe] = reap_until(ring, 1)
        bid, data = take(bufs, cqe)
        assert data == msg
        held.append(bid)
    assert sorted(held) == [0, 1]
    assert bufs.with_app() == 2

    b.sendall(b"third")  # no buffer left: the multishot recv ends
    [(user_data, res, flags)] = reap_until(ring, 1)
    assert user_data == RECV
    assert res == -errno.ENOBUFS
    assert not flags & CqeFlag.MORE

    for bid in held:
        bufs.recycle(bid)
    arm_recv(ring, a.fileno())  # re-armed, it picks up the bytes that waited
    [cqe] = reap_until(ring, 1)
    bid, data = take(bufs, cqe)
    assert data == b"third"
    bufs.recycle(bid)


def test_multishot_recv_armed_with_no_free_buffer_ends_at_once_with_enobufs(
    ring: Ring, sock_pair, bufs: BufferRing, reap_until
) -> None:
    a, b = sock_pair
    arm_recv(ring, a.fileno())
    held = []
    for msg in (b"one", b"two"):
        b.sendall(msg)
        [cqe] = reap_until(ring, 1)
        held.append(take(bufs, cqe)[0])
    b.sendall(b"three")
    [(_, res, flags)] = reap_until(ring, 1)
    assert res == -errno.ENOBUFS
    assert not flags & CqeFlag.MORE
    arm_recv(ring, a.fileno())  # re-armed before recycling: still dry
    [(_, res, flags)] = reap_until(ring, 1)
    assert res == -errno.ENOBUFS
    assert not flags & CqeFlag.MORE
    for bid in held:
        bufs.recycle(bid)


def test_multishot_recv_ends_with_zero_at_eof(
    ring: Ring, sock_pair, bufs: BufferRing, reap_until
) -> None:
    a, b = sock_pair
    arm_recv(ring, a.fileno())
    b.sendall(b"last words")
    [cqe] = reap_until(ring, 1)
    bid, data = take(bufs, cqe)
    assert data == b"last words"
    bufs.recycle(bid)
    b.close()
    [(user_data, res, flags)] = reap_until(ring, 1)
    assert (user_data, res) == (RECV, 0)
    assert not flags & CqeFlag.MORE
    assert bufs.with_app() == 0


def test_multishot_recv_is_cancelled_by_user_data(
    ring: Ring, sock_pair, bufs: BufferRing, reap_until, by_user_data
) -> None:
    a, _ = sock_pair
    arm_recv(ring, a.fileno())
    sqe = ring.get_sqe()
    prep_cancel64(sqe, RECV)
    sqe_set_data64(sqe, 1)
    done = by_user_data(reap_until(ring, 2))
    assert done[1] == (0, 0)
    res, flags = done[RECV]
    assert res == -errno.ECANCELED
    assert not flags & CqeFlag.MORE


# --- BufferRing misuse and lifetime --------------------------------------------------------


def test_get_of_a_taken_buffer_and_double_recycle_raise_value_error(
    ring: Ring, sock_pair, bufs: BufferRing, reap_until
) -> None:
    a, b = sock_pair
    arm_recv(ring, a.fileno())
    b.sendall(b"x")
    [(_, res, flags)] = reap_until(ring, 1)
    bid = buffer_id(flags)
    with bufs.get(bid, res) as view:
        assert bytes(view) == b"x"
    with pytest.raises(ValueError, match="already taken"):
        bufs.get(bid, res)
    bufs.recycle(bid)
    with pytest.raises(ValueError, match="already with the kernel"):
        bufs.recycle(bid)
    other = 1 - bid
    with pytest.raises(ValueError, match="already with the kernel"):
        bufs.recycle(other)  # never handed out


def test_buffer_group_id_clash_raises_os_error(ring: Ring, bufs: BufferRing) -> None:
    with pytest.raises(OSError) as info:
        BufferRing(ring, BGID, entries=2, buf_size=64)
    assert info.value.errno == errno.EEXIST
    assert not bufs.closed
    with BufferRing(ring, BGID + 1, entries=2, buf_size=64) as other:  # another id is fine
        assert other.bgid == BGID + 1


def test_buffer_ring_rejects_bad_sizes(ring: Ring) -> None:
    with pytest.raises(ValueError, match="power of two"):
        BufferRing(ring, 1, entries=3, buf_size=64)
    with pytest.raises(ValueError, match="power of two"):
        BufferRing(ring, 1, entries=0, buf_size=64)
    with pytest.raises(ValueError, match="positive"):
        BufferRing(ring, 1, entries=2, buf_size=0)


def test_buffer_ring_close_after_ring_close_works_and_is_idempotent() -> None:
    ring = Ring(8)
    bufs = BufferRing(ring, 3, entries=4, buf_size=64)
    try:
        assert "bgid=3" in repr(bufs)
        ring.close()
        bufs.close()
        assert bufs.closed
        bufs.close()
        assert "closed" in repr(bufs)
    finally:
        bufs.close()
        ring.close()


def test_buffer_ring_group_can_be_registered_again_after_close(ring: Ring) -> None:
    with BufferRing(ring, 5, entries=2, buf_size=32):
        pass
    with BufferRing(ring, 5, entries=4, buf_size=32) as again:
        assert not again.closed


def test_multishot_read_of_a_pipe_until_eof(ring: Ring, bufs: BufferRing, reap_until) -> None:
    r, w = os.pipe()
    try:
        prep_read_multishot(ring.get_sqe(), r, 0, 0, BGID, user_data=RECV)
        for msg in (b"through", b"a pipe"):
            os.write(w, msg)
            [cqe] = reap_until(ring, 1)
            bid, data = take(bufs, cqe)
            assert data == msg
            bufs.recycle(bid)
        os.close(w)
        w = -1
        [(user_data, res, flags)] = reap_until(ring, 1)
        assert (user_data, res) == (RECV, 0)
        assert not flags & CqeFlag.MORE
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_read_copies_and_recycles_in_one_call(
    ring: Ring, sock_pair, bufs: BufferRing, reap_until
) -> None:
    a, b = sock_pair
    arm_recv(ring, a.fileno())
    for msg in (b"one", b"two", b"three", b"four"):  # more messages than the 2 buffers
        b.sendall(msg)
        [(_, res, flags)] = reap_until(ring, 1)
        assert flags & CqeFlag.MORE
        assert bufs.read(buffer_id(flags), res) == msg
    assert bufs.with_app() == 0


def test_taken_buffers_reach_the_kernel_only_when_published(
    ring: Ring, sock_pair, bufs: BufferRing, reap_until
) -> None:
    a, b = sock_pair
    arm_recv(ring, a.fileno())
    for msg in (b"first", b"second"):  # both buffers taken, recycled but not published
        b.sendall(msg)
        [(_, res, flags)] = reap_until(ring, 1)
        assert bufs.take(buffer_id(flags), res) == msg
    b.sendall(b"third")
    [(_, res, flags)] = reap_until(ring, 1)
    assert res == -errno.ENOBUFS  # the kernel has not seen the recycled buffers yet
    assert not flags & CqeFlag.MORE
    bufs.publish()
    arm_recv(ring, a.fileno())
    [(_, res, flags)] = reap_until(ring, 1)
    assert bufs.read(buffer_id(flags), res) == b"third"


def test_taken_buffers_never_lead_the_kernel_into_a_buffer_still_held(
    ring: Ring, sock_pair, reap_until
) -> None:
    # In order, a taken buffer already sits in the entry it goes back to and nothing is
    # written; behind a buffer the application still holds, the entries are rewritten.
    a, b = sock_pair
    with BufferRing(ring, BGID, entries=4, buf_size=64) as bufs:
        arm_recv(ring, a.fileno())

        def receive(msg: bytes) -> int:
            b.sendall(msg)
            [(_, res, flags)] = reap_until(ring, 1)
            assert flags & CqeFlag.MORE
            assert res == len(msg)
            return buffer_id(flags)

        for rounds in range(2):  # taken in order: the entries stay as they are
            for i in range(4):
                msg = b"r%d m%d" % (rounds, i)
                assert bufs.take(receive(msg), len(msg)) == msg
            bufs.publish()
        held = receive(b"held")
        with bufs.get(held, 4) as view:
            taken = [receive(b"m%d" % i) for i in range(3)]
            for i, bid in enumerate(taken):
                assert bufs.take(bid, 2) == b"m%d" % i
            bufs.publish()
            again = [receive(b"n%d" % i) for i in range(3)]  # the kernel's next 3 entries
            assert held not in again
            assert bytes(view) == b"held"
            for i, bid in enumerate(again):
                assert bufs.take(bid, 2) == b"n%d" % i
        bufs.recycle(held)
        assert bufs.with_app() == 0
        assert bufs.read(receive(b"last"), 4) == b"last"
