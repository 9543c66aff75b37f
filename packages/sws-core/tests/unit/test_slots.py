"""SlotPool and the user_data encoding (no fd, no thread)."""

from __future__ import annotations

import pytest

from sws_core import SlotPool, pack_user_data, unpack_user_data
from sws_core._slots import GEN_MASK, MAX_SLOTS


def test_acquire_until_full_then_refuse() -> None:
    pool = SlotPool(3)
    assert [pool.acquire() for _ in range(3)] == [0, 1, 2]
    assert pool.acquire() == -1
    assert len(pool) == 3


def test_release_bumps_generation_and_makes_old_ids_stale() -> None:
    pool = SlotPool(2)
    slot = pool.acquire()
    gen = pool.gen[slot]
    assert pool.is_current(slot, gen)
    pool.release(slot)
    assert not pool.is_current(slot, gen)
    again = pool.acquire()
    assert again == slot
    assert pool.is_current(slot, gen + 1)
    assert not pool.is_current(slot, gen)


def test_double_release_is_an_error() -> None:
    pool = SlotPool(1)
    slot = pool.acquire()
    pool.release(slot)
    with pytest.raises(ValueError, match="not in use"):
        pool.release(slot)


def test_live_list_swaps_on_removal() -> None:
    pool = SlotPool(4)
    slots = [pool.acquire() for _ in range(4)]
    pool.release(slots[1])
    assert sorted(pool.live()) == [0, 2, 3]
    assert sorted(pool.live_at(i) for i in range(len(pool))) == [0, 2, 3]


def test_generation_wraps_at_32_bits() -> None:
    pool = SlotPool(1)
    slot = pool.acquire()
    pool.gen[slot] = GEN_MASK
    pool.release(slot)
    assert pool.gen[slot] == 0


@pytest.mark.parametrize("capacity", [0, MAX_SLOTS + 1])
def test_capacity_out_of_range(capacity: int) -> None:
    with pytest.raises(ValueError, match="capacity"):
        SlotPool(capacity)


@pytest.mark.parametrize(
    ("kind", "slot", "gen"), [(0, 0, 0), (255, MAX_SLOTS - 1, GEN_MASK), (3, 12345, 987654)]
)
def test_user_data_round_trip(kind: int, slot: int, gen: int) -> None:
    assert unpack_user_data(pack_user_data(kind, slot, gen)) == (kind, slot, gen)
    assert pack_user_data(kind, slot, gen) < 2**64
