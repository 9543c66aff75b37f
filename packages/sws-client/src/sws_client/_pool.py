"""`ConnectionPool`: idle keep-alive connections by origin (the original's TinyCache), no IO.

Rules that hold in this module:

- Only idle connections live here: a connection is checked out for one request at a time
  and checked back in only when that exchange left it reusable (the client decides that:
  keep-alive, the response read to its end, no stray bytes, no error).
- Reuse is last in, first out per `(host, port)`: the connection used most recently is the
  least likely to have been closed by the server, and the oldest ones age out unused.
- An idle connection lives at most `idle_ttl_s`: expired ones are never handed out, and
  `expire(now)` (run by the client on a timer) closes them.
- At most `max_idle_per_host` idle connections per origin and `max_idle` in all; past
  either cap the oldest idle connection is closed to make room (the new one is warmer).
- A connection that can no longer be used (`usable()` is False: the server closed it, or
  sent bytes nobody asked for) is closed instead of handed out.
- The clock is passed in (`now`), so the bookkeeping is tested with a fake one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

__all__ = [
    "DEFAULT_IDLE_TTL_S",
    "DEFAULT_MAX_IDLE",
    "DEFAULT_MAX_IDLE_PER_HOST",
    "ConnectionPool",
    "PoolStatistics",
    "Poolable",
]

# Seconds an idle connection is kept. Shorter than the servers' own keep-alive timeouts, so
# the client closes first and rarely meets a connection the server just closed: nginx
# keepalive_timeout 75 s, Apache KeepAliveTimeout 5 s, Node.js 5 s; the Zig original's
# TinyCache used 1 s. urllib3 and httpx keep idle connections 5 s (httpx keepalive_expiry).
DEFAULT_IDLE_TTL_S: Final = 5.0
# Idle connections kept per (host, port): urllib3's PoolManager default maxsize is 10.
DEFAULT_MAX_IDLE_PER_HOST: Final = 10
# Idle connections kept in all: httpx's max_keepalive_connections default is 20.
DEFAULT_MAX_IDLE: Final = 100


class Poolable(Protocol):
    """What the pool needs of a connection."""

    def usable(self) -> bool:
        """Whether the connection can carry another request."""
        ...

    def close(self) -> None:
        """Close the connection (idempotent)."""
        ...


C = TypeVar("C", bound=Poolable)


@dataclass(frozen=True, slots=True)
class PoolStatistics:
    """A snapshot of a pool's counters (`ConnectionPool.statistics()`)."""

    idle: int
    hits: int
    misses: int
    expired: int
    evicted: int
    discarded: int


class ConnectionPool(Generic[C]):
    """Idle connections by origin, with a TTL and caps.

    Args:
        idle_ttl_s: how long a connection may stay idle before it is closed.
        max_idle_per_host: idle connections kept per origin (0: no keep-alive reuse).
        max_idle: idle connections kept in all.

    Raises:
        ValueError: a negative limit.
    """

    __slots__ = (
        "_discarded",
        "_evicted",
        "_expired",
        "_hits",
        "_idle",
        "_misses",
        "_total",
        "idle_ttl_s",
        "max_idle",
        "max_idle_per_host",
    )

    def __init__(
        self,
        *,
        idle_ttl_s: float = DEFAULT_IDLE_TTL_S,
        max_idle_per_host: int = DEFAULT_MAX_IDLE_PER_HOST,
        max_idle: int = DEFAULT_MAX_IDLE,
    ) -> None:
        if idle_ttl_s < 0 or max_idle_per_host < 0 or max_idle < 0:
            raise ValueError("pool limits must not be negative")
        self.idle_ttl_s = idle_ttl_s
        self.max_idle_per_host = max_idle_per_host
        self.max_idle = max_idle
        # Per origin, oldest first: (time it went idle, connection).
        self._idle: dict[Hashable, deque[tuple[float, C]]] = {}
        self._total = 0
        self._hits = self._misses = self._expired = self._evicted = self._discarded = 0

    def checkout(self, key: Hashable, now: float) -> C | None:
        """Take the most recently idle usable connection to `key`, or None.

        Expired and unusable connections met on the way are closed.
        """
        entries = self._idle.get(key)
        while entries:
            since, conn = entries.pop()
            self._total -= 1
            if now - since > self.idle_ttl_s:
                self._expired += 1
                conn.close()
            elif not conn.usable():
                self._discarded += 1
                conn.close()
            else:
                if not entries:
                    del self._idle[key]
                self._hits += 1
                return conn
        self._idle.pop(key, None)
        self._misses += 1
        return None

    def checkin(self, key: Hashable, conn: C, now: float) -> None:
        """Keep `conn` as idle for `key` (closing the oldest idle one past a cap)."""
        if self.max_idle_per_host == 0 or self.max_idle == 0:
            conn.close()
            return
        entries = self._idle.get(key)
        if entries is not None and len(entries) >= self.max_idle_per_host:
            _, oldest = entries.popleft()
            self._total -= 1
            self._evicted += 1
            oldest.close()
        elif self._total >= self.max_idle:
            self._evict_oldest()
        self._idle.setdefault(key, deque()).append((now, conn))
        self._total += 1

    def discard(self, conn: C) -> bool:
        """Remove `conn` if it is idle here (it became unusable); return whether it was."""
        for key, entries in self._idle.items():
            for i, (_, idle) in enumerate(entries):
                if idle is conn:
                    del entries[i]
                    self._total -= 1
                    self._discarded += 1
                    if not entries:
                        del self._idle[key]
                    return True
        return False

    def expire(self, now: float) -> float | None:
        """Close the connections idle for longer than the TTL, and the unusable ones.

        Returns:
            When the next idle connection expires, or None when none is left.
        """
        ttl = self.idle_ttl_s
        next_expiry: float | None = None
        for key in list(self._idle):
            entries = self._idle[key]
            kept: deque[tuple[float, C]] = deque()
            for since, conn in entries:
                if now - since > ttl:
                    self._expired += 1
                    conn.close()
                elif not conn.usable():
                    self._discarded += 1
                    conn.close()
                else:
                    kept.append((since, conn))
                    expiry = since + ttl
                    next_expiry = expiry if next_expiry is None else min(next_expiry, expiry)
            self._total -= len(entries) - len(kept)
            if kept:
                self._idle[key] = kept
            else:
                del self._idle[key]
        return next_expiry

    def close_all(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, {}
        self._total = 0
        for entries in idle.values():
            for _, conn in entries:
                conn.close()

    def _evict_oldest(self) -> None:
        # No origin is kept with an empty deque, so each has an oldest entry at [0].
        key = min(self._idle, key=lambda k: self._idle[k][0][0])
        entries = self._idle[key]
        _, oldest = entries.popleft()
        if not entries:
            del self._idle[key]
        self._total -= 1
        self._evicted += 1
        oldest.close()

    def __len__(self) -> int:
        return self._total

    def idle_for(self, key: Hashable) -> int:
        """How many idle connections `key` has."""
        return len(self._idle.get(key, ()))

    def statistics(self) -> PoolStatistics:
        """Return a snapshot of the counters."""
        return PoolStatistics(
            idle=self._total,
            hits=self._hits,
            misses=self._misses,
            expired=self._expired,
            evicted=self._evicted,
            discarded=self._discarded,
        )

    def __repr__(self) -> str:
        return (
            f"<ConnectionPool idle={self._total}/{self.max_idle} hosts={len(self._idle)} "
            f"ttl={self.idle_ttl_s}s>"
        )
