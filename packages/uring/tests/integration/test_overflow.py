"""CQ overflow: completions beyond the CQ's slots wait in the kernel, and none is lost.

With `Feature.NODROP` the kernel keeps completions that find the CQ full on a list, sets
`SqRingFlag.CQ_OVERFLOW`, and moves them into the ring when the application enters with
GETEVENTS, which `reap` does once the ring is empty. `cq_overflow` counts only completions
truly dropped, so it stays 0.
"""

from __future__ import annotations

import pytest

from uring import Feature, Ring, SetupFlag, SqRingFlag, prep_nop, sqe_set_data64

pytestmark = pytest.mark.integration

COUNT = 1000  # NOPs, against a CQ of 4 slots


def submit_without_reaping(ring: Ring, user_datas: list[int]) -> bool:
    """Queue a NOP per user_data, submitting when the SQ fills, never reaping.

    Returns whether `CQ_OVERFLOW` was seen in the SQ flags.
    """
    saw_overflow = False
    for user_data in user_datas:
        sqe = ring.get_sqe()
        for _ in range(100):  # a kernel that refused every submit would otherwise spin
            if sqe is not None:
                break
            ring.submit()
            saw_overflow |= bool(ring.sq_flags & SqRingFlag.CQ_OVERFLOW)
            sqe = ring.get_sqe()
        assert sqe is not None, "the SQ stayed full: submissions refused while overflowing"
        prep_nop(sqe)
        sqe_set_data64(sqe, user_data)
    ring.submit()
    saw_overflow |= bool(ring.sq_flags & SqRingFlag.CQ_OVERFLOW)
    return saw_overflow


@pytest.mark.parametrize("setup", ["plain", "event-loop"])
def test_overflowed_completions_are_all_reaped_exactly_once(
    setup: str, event_loop_flags: SetupFlag
) -> None:
    flags = event_loop_flags if setup == "event-loop" else SetupFlag(0)
    with Ring(4, flags, cq_entries=4) as ring:
        assert ring.features & Feature.NODROP
        assert ring.cq_entries == 4
        user_datas = list(range(1, COUNT + 1))
        assert submit_without_reaping(ring, user_datas)
        assert ring.cq_ready() == 4  # the ring itself holds no more than its slots

        reaped: list[int] = []
        for _ in range(4 * COUNT):  # bounded: each reap returns at least one normally
            if len(reaped) >= COUNT:
                break
            batch = ring.reap()
            assert len(batch) <= ring.cq_entries
            assert all((res, flags) == (0, 0) for _, res, flags in batch)
            reaped.extend(ud for ud, _, _ in batch)
        assert len(reaped) == COUNT
        assert reaped == user_datas  # each exactly once, in completion order
        assert ring.reap() == []
        assert not ring.sq_flags & SqRingFlag.CQ_OVERFLOW
        assert ring.cq_overflow == 0


def test_cq_size_defaults_to_twice_the_sq() -> None:
    with Ring(5) as ring:  # rounded up to a power of two
        assert ring.sq_entries == 8
        assert ring.cq_entries == 16
