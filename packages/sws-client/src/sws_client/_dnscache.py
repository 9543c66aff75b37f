"""The resolver's answer cache: positive and negative answers, each until its TTL runs out.

Rules that hold in this module:

- No clock inside: every call that needs the time takes `now`, seconds on a monotonic clock
  the caller owns (`time.monotonic()` in production, a number in tests).
- Keys are (name, qtype); names compare as DNS names do (ASCII case-insensitive, RFC 4343;
  one trailing dot ignored), see `fold_name`.
- What is kept: ADDRESSES until their TTL, NXDOMAIN and NODATA until their negative TTL
  (RFC 2308 §5), each clamped to [min_ttl_s, max_ttl_s], a negative one also to
  max_negative_ttl_s. An answer whose clamped TTL is 0 is not kept (RFC 1035 §3.2.1: TTL 0
  is for the transaction in progress only). Truncated answers and server errors are never
  kept: they say nothing about the name.
- An entry is dead from `expires_at` on: `get` drops it and reports a miss.
- Bounded: at most `max_entries`; a put beyond that evicts the least recently used entry.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

from ._dnsmsg import Answer, Outcome, fold_name

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_MAX_NEGATIVE_TTL_S",
    "DEFAULT_MAX_TTL_S",
    "DEFAULT_MIN_TTL_S",
    "CacheEntry",
    "CacheStatistics",
    "DnsCache",
]

# Entries, one per (name, qtype). A process talking to a few thousand hosts fits; each entry
# is a few hundred bytes.
DEFAULT_MAX_ENTRIES = 4096
# Seconds. systemd-resolved caps cached TTLs at 2 hours (CACHE_TTL_MAX_USEC): a record that
# says "a week" still gets looked up again when its server moves.
DEFAULT_MAX_TTL_S = 2 * 3600
# Seconds. 0 honours a TTL of 0 (not cached); raise it to spare servers from names with
# tiny TTLs.
DEFAULT_MIN_TTL_S = 0
# Seconds. RFC 2308 §5: a negative-caching limit of "one to three hours" works well.
DEFAULT_MAX_NEGATIVE_TTL_S = 3600

_CACHED = frozenset({Outcome.ADDRESSES, Outcome.NXDOMAIN, Outcome.NODATA})
_ADDRESSES = Outcome.ADDRESSES


class CacheEntry(NamedTuple):
    """A cached answer: what a lookup needs of it, and no more (every entry's objects stay
    in memory until it is evicted, and a full cache is thousands of them).

    Attributes:
        outcome: ADDRESSES, NXDOMAIN or NODATA.
        addresses: the addresses (empty for a negative entry).
        expires_at: the `now` from which the entry is dead.
    """

    outcome: Outcome
    addresses: tuple[str, ...]
    expires_at: float


@dataclass(frozen=True, slots=True)
class CacheStatistics:
    """Counters since the cache was made (entries: now)."""

    entries: int
    hits: int
    misses: int
    evictions: int  # entries pushed out by the size limit while still alive
    expirations: int  # dead entries dropped by `get` or `purge_expired`


class DnsCache:
    """A bounded LRU cache of DNS answers with TTL expiry; see the module docstring.

    Args:
        max_entries: the most entries kept.
        max_ttl_s: the longest any entry is kept, whatever its TTL.
        min_ttl_s: the shortest a cacheable answer is kept.
        max_negative_ttl_s: the longest an NXDOMAIN or NODATA entry is kept.

    Raises:
        ValueError: a limit out of range (max_entries < 1, a negative TTL bound, or
            min_ttl_s > max_ttl_s).
    """

    __slots__ = (
        "_entries",
        "_evictions",
        "_expirations",
        "_hits",
        "_max_entries",
        "_max_negative_ttl_s",
        "_max_ttl_s",
        "_min_ttl_s",
        "_misses",
    )

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_ttl_s: float = DEFAULT_MAX_TTL_S,
        min_ttl_s: float = DEFAULT_MIN_TTL_S,
        max_negative_ttl_s: float = DEFAULT_MAX_NEGATIVE_TTL_S,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries {max_entries} is below 1")
        if min(max_ttl_s, min_ttl_s, max_negative_ttl_s) < 0:
            raise ValueError("ttl bounds must not be negative")
        if min_ttl_s > max_ttl_s:
            raise ValueError(f"min_ttl_s {min_ttl_s} exceeds max_ttl_s {max_ttl_s}")
        self._entries: OrderedDict[tuple[str, int], CacheEntry] = OrderedDict()
        self._max_entries = max_entries
        self._max_ttl_s = max_ttl_s
        self._min_ttl_s = min_ttl_s
        self._max_negative_ttl_s = max_negative_ttl_s
        self._hits = self._misses = self._evictions = self._expirations = 0

    def get(self, name: str, qtype: int, now: float) -> CacheEntry | None:
        """Return the live entry for (name, qtype), or None.

        Args:
            name: the queried name.
            qtype: the query type (1 A, 28 AAAA).
            now: the current time, seconds on the caller's monotonic clock.

        Returns:
            The entry, if there is one and `now` is before its `expires_at`; a dead one is
            dropped.
        """
        return self.get_key((fold_name(name), qtype), now)

    def get_key(self, key: tuple[str, int], now: float) -> CacheEntry | None:
        """`get` with the key made already: (`fold_name(name)`, qtype)."""
        entry = self._entries.get(key)
        if entry is None:
            self._misses += 1
            return None
        if now >= entry.expires_at:
            del self._entries[key]
            self._expirations += 1
            self._misses += 1
            return None
        self._entries.move_to_end(key)
        self._hits += 1
        return entry

    def put(self, name: str, qtype: int, answer: Answer, now: float) -> CacheEntry | None:
        """Keep `answer` for (name, qtype), replacing what was there.

        Args:
            name: the queried name (the candidate actually sent, not the one the user typed).
            qtype: the query type.
            answer: the checked answer (see `check_answer`).
            now: the current time, seconds on the caller's monotonic clock.

        Returns:
            The new entry, or None when the clamped TTL is 0 (then the old entry is dropped
            too: the newer answer says not to trust it).

        Raises:
            ValueError: the answer is TRUNCATED or a SERVER_ERROR, which are never cached.
        """
        return self.put_key((fold_name(name), qtype), answer, now)

    def put_key(self, key: tuple[str, int], answer: Answer, now: float) -> CacheEntry | None:
        """`put` with the key made already: (`fold_name(name)`, qtype)."""
        outcome = answer.outcome
        ttl_s = min(max(answer.ttl_s, self._min_ttl_s), self._max_ttl_s)
        if outcome is not _ADDRESSES:  # (an identity test: an Enum's hash is Python code)
            if outcome not in _CACHED:
                raise ValueError(f"a {outcome.value} answer is not cacheable")
            ttl_s = min(ttl_s, self._max_negative_ttl_s)
        if ttl_s <= 0:
            self._entries.pop(key, None)
            return None
        entry = CacheEntry(outcome, answer.addresses, now + ttl_s)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        if len(self._entries) > self._max_entries:
            _, evicted = self._entries.popitem(last=False)
            if now >= evicted.expires_at:
                self._expirations += 1
            else:
                self._evictions += 1
        return entry

    def purge_expired(self, now: float) -> int:
        """Drop every dead entry; the cache stays correct without it, only smaller.

        Args:
            now: the current time, seconds on the caller's monotonic clock.

        Returns:
            How many entries were dropped.
        """
        dead = [key for key, entry in self._entries.items() if now >= entry.expires_at]
        for key in dead:
            del self._entries[key]
        self._expirations += len(dead)
        return len(dead)

    def clear(self) -> None:
        """Drop every entry (the counters stay)."""
        self._entries.clear()

    def statistics(self) -> CacheStatistics:
        """Return the counters and the number of entries.

        Returns:
            A frozen snapshot.
        """
        return CacheStatistics(
            len(self._entries), self._hits, self._misses, self._evictions, self._expirations
        )

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<DnsCache entries={len(self._entries)}/{self._max_entries}>"
