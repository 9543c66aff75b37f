"""The fake ring itself: it must decode what `uring.prep_*` write, and keep the kernel's
rules the loop relies on, or the other unit tests prove nothing."""

from __future__ import annotations

import errno
import os
from typing import Any

import pytest

from uring import CqeFlag, Op, SqeFlag, prep_cancel64, prep_close, prep_send


def test_records_decode_the_fields_prep_wrote(fake: Any) -> None:
    r = fake.FakeRing(4)
    data = b"payload"
    sqe = r.get_sqe()
    prep_send(sqe, 7, data, len(data), 0x4000, user_data=0x1234_5678_9ABC)
    sqe[1] |= int(SqeFlag.IO_LINK)
    r.submit()
    [rec] = r.live()
    assert (rec.opcode, rec.fd, rec.len, rec.op_flags) == (Op.SEND, 7, 7, 0x4000)
    assert rec.user_data == 0x1234_5678_9ABC
    assert rec.flags == SqeFlag.IO_LINK
    assert rec.payload() == b"payload"


def test_the_sq_is_full_at_entries_until_submitted(fake: Any) -> None:
    r = fake.FakeRing(2)
    assert r.get_sqe() is not None
    assert r.get_sqe() is not None
    assert r.get_sqe() is None
    assert r.get_sqes(1) is None
    assert r.submit() == 2
    assert r.get_sqes(2) is not None


def test_only_submitted_sqes_complete_and_each_only_once(fake: Any) -> None:
    r = fake.FakeRing(4)
    prep_cancel64(r.get_sqe(), 99, user_data=1)
    [rec] = r.sqes
    with pytest.raises(AssertionError, match="never submitted"):
        r.complete(rec, 0)
    r.submit()
    r.complete(rec, 0)
    with pytest.raises(AssertionError, match="already completed"):
        r.complete(rec, 0)
    assert r.reap() == [(1, 0, 0)]


def test_more_keeps_an_sqe_live(fake: Any) -> None:
    r = fake.FakeRing(4)
    prep_cancel64(r.get_sqe(), 99, user_data=5)
    r.submit()
    [rec] = r.sqes
    r.complete(rec, 1, int(CqeFlag.MORE))
    assert r.live() == [rec]
    r.complete(rec, 2)
    assert r.live() == []
    assert r.reap(1) == [(5, 1, int(CqeFlag.MORE))]
    assert r.reap() == [(5, 2, 0)]


def test_a_successful_close_closes_the_fd(fake: Any) -> None:
    r = fake.FakeRing(4)
    fd = os.eventfd(0)
    prep_close(r.get_sqe(), fd, user_data=3)
    r.submit()
    r.complete(r.one(Op.CLOSE), 0)
    with pytest.raises(OSError) as info:
        os.fstat(fd)
    assert info.value.errno == errno.EBADF


def test_a_cancel_ends_its_target_or_reports_enoent(fake: Any) -> None:
    r = fake.FakeRing(4)
    prep_cancel64(r.get_sqe(), 0, user_data=42)  # the target: any SQE with user_data 42
    prep_cancel64(r.get_sqe(), 42, user_data=7)
    r.submit()
    target, cancel = r.sqes
    assert r.complete_cancel(cancel) is target
    assert r.reap() == [(42, -errno.ECANCELED, 0), (7, 0, 0)]
    prep_cancel64(r.get_sqe(), 42, user_data=8)
    r.submit()
    assert r.complete_cancel(r.sqes[-1]) is None
    assert r.reap() == [(8, -errno.ENOENT, 0)]


def test_submit_and_wait_never_blocks_and_checks_the_timeout_like_the_ring(fake: Any) -> None:
    r = fake.FakeRing(4)
    waited: list[Any] = []
    r.on_wait = lambda wait_nr, timeout_s: waited.append((wait_nr, timeout_s))
    r.submit_and_wait(1, 2.5)
    r.submit_and_wait(0)
    assert r.waits == [(1, 2.5), (0, None)]
    assert waited == [(1, 2.5)]  # only a wait that would block lets time pass
    with pytest.raises(ValueError, match="negative"):
        r.submit_and_wait(1, -1.0)


def test_buffers_must_be_handed_out_before_use_and_recycled_once(fake: Any) -> None:
    bufs = fake.FakeBuffers(0, 2, 8)
    bid = bufs.put(b"abc")
    with bufs.get(bid, 2) as view:
        assert bytes(view) == b"ab"
    bufs.recycle(bid)
    with pytest.raises(AssertionError, match="recycled twice"):
        bufs.recycle(bid)
    with pytest.raises(AssertionError, match="not handed out"):
        bufs.get(bid, 1)
