"""`SlotPool` against a dict model (hypothesis stateful testing), and the `user_data`
encoding as a round trip.

The model is what the pool promises: a slot is either free or live; `acquire` hands out a
free slot at its current generation, or -1 when all `capacity` are live; `release` frees a
live slot and moves its generation on by one, modulo 2**32; an id `(slot, gen)` is current
exactly while that slot is live at that generation; the live list holds each live slot once.
"""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from sws_core import SlotPool, pack_user_data, unpack_user_data
from sws_core._slots import GEN_MASK, MAX_SLOTS

KINDS = st.integers(0, 255)
SLOTS = st.integers(0, MAX_SLOTS - 1)
GENS = st.integers(0, GEN_MASK)


class SlotPoolModel(RuleBasedStateMachine):
    """Drives a real pool and a dict model side by side."""

    live_slots = Bundle("live_slots")

    def __init__(self) -> None:
        super().__init__()
        self.pool = SlotPool(1)
        self.gens: dict[int, int] = {}  # slot -> generation, for every slot
        self.live: set[int] = set()
        self.ids: list[tuple[int, int]] = []  # every (slot, gen) ever handed out

    @initialize(capacity=st.integers(1, 8))
    def make(self, capacity: int) -> None:
        self.pool = SlotPool(capacity)
        self.gens = dict.fromkeys(range(capacity), 0)

    @rule(target=live_slots)
    def acquire(self) -> object:
        slot = self.pool.acquire()
        if len(self.live) == self.pool.capacity:
            assert slot == -1  # full: refused, nothing changes
            return multiple()
        assert slot in self.gens
        assert slot not in self.live
        assert self.pool.gen[slot] == self.gens[slot]
        self.live.add(slot)
        self.ids.append((slot, self.gens[slot]))
        return slot

    @rule(slot=consumes(live_slots))
    def release(self, slot: int) -> None:
        self.pool.release(slot)
        self.live.discard(slot)
        self.gens[slot] = (self.gens[slot] + 1) & GEN_MASK

    @precondition(lambda self: len(self.live) < self.pool.capacity)
    @rule(data=st.data())
    def release_a_free_slot_is_refused(self, data: st.DataObject) -> None:
        free = sorted(set(self.gens) - self.live)
        slot = data.draw(st.sampled_from(free))
        with pytest.raises(ValueError, match="not in use"):
            self.pool.release(slot)

    @precondition(lambda self: len(self.live) < self.pool.capacity)
    @rule(data=st.data(), before_wrap=st.integers(0, 2))
    def age_a_free_slot_to_near_the_wrap(self, data: st.DataObject, before_wrap: int) -> None:
        """Jump a free slot's generation to 2**32 - 1 - before_wrap, as if it had been
        reused that many times, so the next releases wrap it to 0."""
        free = sorted(set(self.gens) - self.live)
        slot = data.draw(st.sampled_from(free))
        self.pool.gen[slot] = self.gens[slot] = GEN_MASK - before_wrap

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data())
    def an_old_id_is_current_only_while_its_occupant_lives(self, data: st.DataObject) -> None:
        slot, gen = data.draw(st.sampled_from(self.ids))
        expected = slot in self.live and self.gens[slot] == gen
        assert self.pool.is_current(slot, gen) == expected

    @rule(slot=live_slots)
    def a_live_slot_is_current_at_its_generation(self, slot: int) -> None:
        assert self.pool.is_live(slot)
        assert self.pool.is_current(slot, self.gens[slot])
        assert not self.pool.is_current(slot, (self.gens[slot] - 1) & GEN_MASK)

    @invariant()
    def live_list_matches(self) -> None:
        live = self.pool.live()
        assert sorted(live) == sorted(self.live)  # each live slot exactly once
        assert len(self.pool) == len(self.live)
        assert sorted(self.pool.live_at(i) for i in range(len(self.pool))) == sorted(self.live)

    @invariant()
    def generations_match(self) -> None:
        assert self.pool.gen == [self.gens[s] for s in range(len(self.gens))]
        assert all(0 <= g <= GEN_MASK for g in self.pool.gen)
        for slot in self.gens:
            assert self.pool.is_live(slot) == (slot in self.live)


TestSlotPoolModel = SlotPoolModel.TestCase


@given(kind=KINDS, slot=SLOTS, gen=GENS)
def test_user_data_round_trips(kind: int, slot: int, gen: int) -> None:
    user_data = pack_user_data(kind, slot, gen)
    assert 0 <= user_data < 2**64
    assert unpack_user_data(user_data) == (kind, slot, gen)


@given(kind=KINDS, slot=SLOTS, gen=st.integers(0, 2**40))
def test_a_generation_past_32_bits_is_taken_modulo_2_to_the_32(
    kind: int, slot: int, gen: int
) -> None:
    assert unpack_user_data(pack_user_data(kind, slot, gen)) == (kind, slot, gen & GEN_MASK)


@given(a=st.tuples(KINDS, SLOTS, GENS), b=st.tuples(KINDS, SLOTS, GENS))
def test_different_ops_never_share_a_user_data(
    a: tuple[int, int, int], b: tuple[int, int, int]
) -> None:
    assert (pack_user_data(*a) == pack_user_data(*b)) == (a == b)
