"""`SlotPool`: fixed-capacity storage for connections, and the `user_data` encoding.

Rules that hold in this module:

- Capacity is fixed at construction; `acquire` is O(1) and returns -1 when full (the caller
  refuses the connection cleanly), `release` is O(1).
- Each slot has a generation, bumped on every release. A completion carries the slot and
  the generation it was submitted under; if the slot's generation has moved on since, the
  completion belongs to a previous occupant and is stale (the ghost-event defense).
- The live list holds every acquired slot exactly once, so a TTL scan visits each live
  connection without touching free slots. Removal swaps the last entry into the hole.

`user_data` layout (64 bits): kind in bits 0-7, slot in bits 8-31, generation in 32-63. The
loop reaps it in halves (`uring.Ring.reap_split`): kind and slot in the low one, the
generation alone in the high one, each an int Python decodes on its fast path.
"""

from __future__ import annotations

from typing import Final

KIND_BITS: Final = 8
SLOT_BITS: Final = 24
GEN_BITS: Final = 32
MAX_SLOTS: Final = 1 << SLOT_BITS
GEN_MASK: Final = (1 << GEN_BITS) - 1
_KIND_MASK: Final = (1 << KIND_BITS) - 1
_SLOT_MASK: Final = MAX_SLOTS - 1
_GEN_SHIFT: Final = KIND_BITS + SLOT_BITS


def pack_user_data(kind: int, slot: int, gen: int) -> int:
    """Return the `user_data` of an operation of `kind` for `slot` at generation `gen`."""
    return kind | slot << KIND_BITS | (gen & GEN_MASK) << _GEN_SHIFT


def unpack_user_data(user_data: int) -> tuple[int, int, int]:
    """Return `(kind, slot, gen)` packed by `pack_user_data`."""
    return user_data & _KIND_MASK, user_data >> KIND_BITS & _SLOT_MASK, user_data >> _GEN_SHIFT


class SlotPool:
    """`capacity` slots with generations, a free list and a live list.

    Args:
        capacity: number of slots, at most 2**24.

    Raises:
        ValueError: capacity out of range.
    """

    __slots__ = ("_free", "_live", "_live_pos", "capacity", "gen")

    def __init__(self, capacity: int) -> None:
        if not 0 < capacity <= MAX_SLOTS:
            raise ValueError(f"capacity {capacity} is outside 1..{MAX_SLOTS}")
        self.capacity = capacity
        self.gen = [0] * capacity
        self._free = list(range(capacity - 1, -1, -1))  # pop() hands out slot 0 first
        self._live: list[int] = []
        self._live_pos = [-1] * capacity  # index in _live, or -1 when free

    def acquire(self) -> int:
        """Take a free slot and return it, or -1 when every slot is in use."""
        if not self._free:
            return -1
        slot = self._free.pop()
        self._live_pos[slot] = len(self._live)
        self._live.append(slot)
        return slot

    def release(self, slot: int) -> None:
        """Free `slot` and bump its generation, which makes every id of it stale.

        Raises:
            ValueError: `slot` is not in use (a double release is a bug upstream).
        """
        pos = self._live_pos[slot]
        if pos < 0:
            raise ValueError(f"slot {slot} is not in use")
        last = self._live.pop()
        if last != slot:
            self._live[pos] = last
            self._live_pos[last] = pos
        self._live_pos[slot] = -1
        self.gen[slot] = (self.gen[slot] + 1) & GEN_MASK
        self._free.append(slot)

    def is_live(self, slot: int) -> bool:
        """Return whether `slot` is in use."""
        return self._live_pos[slot] >= 0

    def is_current(self, slot: int, gen: int) -> bool:
        """Return whether `(slot, gen)` names the slot's current occupant."""
        return self._live_pos[slot] >= 0 and self.gen[slot] == gen

    def live(self) -> list[int]:
        """Return the live slots (a copy, in no particular order)."""
        return list(self._live)

    def live_at(self, index: int) -> int:
        """Return the live slot at `index` of the live list (for incremental scans)."""
        return self._live[index]

    def __len__(self) -> int:
        return len(self._live)

    def __repr__(self) -> str:
        return f"<SlotPool live={len(self._live)} capacity={self.capacity}>"
