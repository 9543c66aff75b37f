"""`Ring` set-up and lifetime: sizes, refusals, close, context manager, repr, task work.

After `close` the SQE views handed out earlier are released, so a stale SQE cannot write
into memory the ring no longer maps.
"""

from __future__ import annotations

import errno
import os
import time

import pytest

import uring
from uring import (
    Feature,
    IoUringUnavailableError,
    Ring,
    SetupFlag,
    SqRingFlag,
    prep_nop,
    prep_recv,
    sqe_set_data64,
)

pytestmark = pytest.mark.integration

WAIT_S = 5.0  # ceiling for a bounded wait (as in conftest); only reached by a bug


def fd_is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError as exc:
        assert exc.errno == errno.EBADF
        return False
    return True


def test_close_is_idempotent_and_closes_the_fd() -> None:
    ring = Ring(8)
    fd = ring.fd
    assert not ring.closed
    assert fd_is_open(fd)
    ring.close()
    assert ring.closed
    assert not fd_is_open(fd)
    ring.close()
    assert ring.closed


def test_context_manager_closes_on_exit_and_on_error() -> None:
    with Ring(8) as ring:
        fd = ring.fd
    assert ring.closed
    assert not fd_is_open(fd)
    with pytest.raises(KeyError), Ring(8) as ring:
        raise KeyError("boom")
    assert ring.closed


def test_repr_says_what_the_ring_is() -> None:
    with Ring(8) as ring:
        text = repr(ring)
        assert text.startswith("<Ring ")
        assert f"fd={ring.fd}" in text
        assert "sq=8" in text
        assert "cq=16" in text
    assert repr(ring) == "<Ring closed>"


def test_sqe_views_are_released_by_close() -> None:
    ring = Ring(8)
    sqe = ring.get_sqe()
    assert sqe is not None
    ring.close()
    with pytest.raises(ValueError, match="released"):
        sqe[0]
    # struct.pack_into reports a released view as TypeError; either way nothing is written.
    with pytest.raises((TypeError, ValueError)):
        prep_nop(sqe)
    with pytest.raises((TypeError, ValueError)):
        sqe_set_data64(sqe, 1)


def test_using_a_closed_ring_raises() -> None:
    ring = Ring(8)
    ring.close()
    with pytest.raises(ValueError):
        ring.reap()
    with pytest.raises(ValueError):
        ring.cq_ready()
    with pytest.raises((TypeError, ValueError)):
        ring.submit()
    with pytest.raises((TypeError, ValueError)):
        ring.submit_and_wait(1, timeout_s=0)


def test_get_sqe_after_close_raises_value_error() -> None:
    # Regression test: it raised IndexError from the emptied SQE list.
    ring = Ring(8)
    ring.close()
    with pytest.raises(ValueError):
        ring.get_sqe()


def test_sizes_round_up_to_powers_of_two() -> None:
    with Ring(3, cq_entries=5) as ring:
        assert ring.sq_entries == 4
        assert ring.cq_entries == 8


def test_default_ring_reports_the_features_the_package_relies_on() -> None:
    with Ring() as ring:
        assert ring.sq_entries == uring.DEFAULT_ENTRIES
        for feature in (Feature.SINGLE_MMAP, Feature.NODROP, Feature.EXT_ARG):
            assert ring.features & feature, feature


def test_refused_setup_raises_os_error_and_leaks_nothing() -> None:
    with pytest.raises(OSError) as info:
        Ring(0)
    assert info.value.errno == errno.EINVAL
    with pytest.raises(OSError) as info:
        Ring(8, SetupFlag.DEFER_TASKRUN)  # needs SINGLE_ISSUER
    assert info.value.errno == errno.EINVAL
    with pytest.raises(OSError) as info:
        Ring(8, cq_entries=4)  # a CQ smaller than the SQ
    assert info.value.errno == errno.EINVAL


def test_unavailable_error_is_an_os_error() -> None:
    assert issubclass(IoUringUnavailableError, OSError)
    assert uring.IoUringUnavailableError is IoUringUnavailableError


def test_event_loop_ring_completes_a_recv_through_deferred_task_work(
    event_loop_flags: SetupFlag, sock_pair, reap_until, reap_quiet
) -> None:
    a, b = sock_pair
    buf = bytearray(16)
    with Ring(8, event_loop_flags) as ring:
        sqe = ring.get_sqe()
        prep_recv(sqe, a.fileno(), buf, len(buf))
        sqe_set_data64(sqe, 1)
        assert reap_quiet(ring) == []
        b.sendall(b"deferred")
        assert reap_until(ring, 1) == [(1, 8, 0)]
        assert buf[:8] == b"deferred"


def test_reap_runs_deferred_task_work_flagged_by_taskrun(sock_pair) -> None:
    # With DEFER_TASKRUN the recv runs as task work only when this thread enters with
    # GETEVENTS; TASKRUN_FLAG makes the kernel say so in the SQ flags, and reap alone must
    # then flush it in.
    a, b = sock_pair
    buf = bytearray(16)
    flags = SetupFlag.SINGLE_ISSUER | SetupFlag.DEFER_TASKRUN | SetupFlag.TASKRUN_FLAG
    with Ring(8, flags) as ring:
        prep_recv(ring.get_sqe(), a.fileno(), buf, len(buf), user_data=1)
        ring.submit()
        assert ring.reap() == []
        b.sendall(b"task work")
        deadline = time.monotonic() + WAIT_S
        while not ring.sq_flags & SqRingFlag.TASKRUN:
            assert time.monotonic() < deadline, "TASKRUN never showed in the SQ flags"
            time.sleep(0.001)
        assert ring.cq_ready() == 0  # nothing posted: the recv waits for an enter
        assert buf == bytearray(16)
        assert ring.reap() == [(1, 9, 0)]
        assert buf[:9] == b"task work"
        assert not ring.sq_flags & SqRingFlag.TASKRUN
