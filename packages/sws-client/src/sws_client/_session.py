"""`Session`: what one client keeps on its loop thread, and the settings it runs with.

Only the client's loop thread touches a `Session` (other threads reach it through
`loop.invoke`): the keep-alive pool, the host lookup, the transfers in flight and the
counters. Its rules:

- A connection is opened for a request only when the pool has no usable idle one for the
  origin; it goes back to the pool only after an exchange that left it reusable, and
  `expire` (on a timer while the pool is not empty) closes those idle past the TTL.
- An idle connection that the server closes, or that receives bytes, is closed and leaves
  the pool at once (`discard_idle`), so a dead connection does not wait for the next
  request to be found out.
- `shutdown` fails every transfer in flight with `ClientClosedError` and closes every
  connection, idle or busy; the loop can then stop with nothing left open.
- Transfers run on worker fibers that park between requests (at most `MAX_IDLE_WORKERS`
  parked): waking a parked worker (an `Event` set) runs a transfer on the loop's next
  turn, where a new fiber (`loop.go`) would start one turn later. Every transfer `start`
  queues wakes a worker or makes one, and a worker takes queued transfers until none is
  left, so none is stranded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sws_client._connection import Connection
from sws_client._errors import ClientClosedError
from sws_client._lookup import HostLookup
from sws_client._pool import ConnectionPool
from sws_core import Event, Loop, Op, Timer

if TYPE_CHECKING:
    from sws_client._transfer import Transfer

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_READ_TIMEOUT_S",
    "DEFAULT_TIMEOUT_S",
    "MAX_IDLE_WORKERS",
    "ClientStatistics",
    "Session",
    "Settings",
    "Timeout",
]

# Seconds to open a TCP connection: sws_core's connect default; curl's is 300, httpx's 5.
DEFAULT_CONNECT_TIMEOUT_S: Final = 10.0
# Seconds the server may stay silent while we wait for its response (or may leave our
# request unread): nginx's proxy_read_timeout is 60, httpx's read timeout 5.
DEFAULT_READ_TIMEOUT_S: Final = 60.0
# Seconds a whole buffered request may take, redirects and retries included (for a
# stream: until its head arrives). Go's http.Client.Timeout and requests have none;
# nginx bounds an upstream exchange only by the per-read timeouts. A limit on everything.
DEFAULT_TIMEOUT_S: Final = 300.0
# Bytes of one buffered response body, held whole in memory; streams are not limited.
# The Zig original capped responses at 64 KiB (a flaw); aiohttp's server limit is 1 MiB,
# curl and Go have none. 64 MiB holds any API answer and bounds a runaway download.
DEFAULT_MAX_BODY_BYTES: Final = 64 << 20
# Bytes of a response head (status line and fields): curl accepts 100 KiB per header field
# (CURL_MAX_HTTP_HEADER), Node.js 16 KiB for a whole head; Set-Cookie-heavy heads need more
# than 16 KiB.
DEFAULT_MAX_HEADER_BYTES: Final = 64 << 10
# Fields in a response head: Python's http.client reads at most 100 (_MAXHEADERS).
DEFAULT_MAX_HEADERS: Final = 100
# Redirects followed for one request: Python's urllib (HTTPRedirectHandler) stops at 10;
# browsers at 20, requests at 30, curl at 50.
DEFAULT_MAX_REDIRECTS: Final = 10
# Worker fibers kept parked for the next requests: as many as the requests usually in
# flight at once (a bench's 32, urllib3's 10 pooled connections per host); one more is made
# when none is parked, and the ones past this end when they run out of work.
MAX_IDLE_WORKERS: Final = 64


@dataclass(frozen=True, slots=True)
class Timeout:
    """The timeouts of a request, in seconds.

    Attributes:
        connect_s: to open one TCP connection.
        read_s: the longest silence of the server while a response is awaited or read
            (and the longest it may leave our request unread).
        total_s: the whole request, redirects and retries included (a stream's: until its
            head arrives); None for no total bound.
    """

    connect_s: float = DEFAULT_CONNECT_TIMEOUT_S
    read_s: float = DEFAULT_READ_TIMEOUT_S
    total_s: float | None = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        for name in ("connect_s", "read_s", "total_s"):
            value = getattr(self, name)
            if value is not None and not 0 < value < float("inf"):
                raise ValueError(f"timeout {name}={value} is not a finite, positive time")


@dataclass(frozen=True, slots=True)
class Settings:
    """A client's limits and defaults, fixed when it starts."""

    timeout: Timeout
    follow_redirects: bool
    max_redirects: int
    max_header_bytes: int
    max_headers: int
    max_body_bytes: int
    max_stream_buffer_bytes: int
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ClientStatistics:
    """A snapshot of a client's counters (`HttpClient.statistics()`).

    Attributes:
        requests: requests started (each redirect hop and retry counts once more).
        active: requests in flight.
        connections_opened: TCP connections opened.
        connections_reused: requests sent on a connection taken from the pool.
        retries: requests resent on a fresh connection after a reused one failed.
        idle: idle connections in the pool.
    """

    requests: int
    active: int
    connections_opened: int
    connections_reused: int
    retries: int
    idle: int


class Session:
    """The loop-side state of one client."""

    __slots__ = (
        "_parked",
        "_runnable",
        "_sweep",
        "active",
        "closed",
        "connections_opened",
        "connections_reused",
        "lookup",
        "loop",
        "pool",
        "requests",
        "retries",
        "settings",
    )

    def __init__(
        self, loop: Loop, settings: Settings, pool: ConnectionPool[Connection], lookup: HostLookup
    ) -> None:
        self.loop = loop
        self.settings = settings
        self.pool = pool
        self.lookup = lookup
        self.active: set[Transfer] = set()
        self.closed = False
        self.requests = 0
        self.connections_opened = 0
        self.connections_reused = 0
        self.retries = 0
        self._sweep: Timer | None = None
        self._runnable: deque[Transfer] = deque()  # started, waiting for a worker
        self._parked: list[Event] = []  # one per parked worker: set to wake it

    def start(self, transfer: Transfer) -> None:
        """Run `transfer` on a worker fiber; fail it if the session is closed."""
        if self.closed:
            transfer.pending.settle(None, ClientClosedError("the client is closed"))
            return
        self.active.add(transfer)
        self._runnable.append(transfer)
        if self._parked:
            self._parked.pop().set()
        else:
            self.loop.go(self._work())

    def _work(self) -> Generator[Op, Any, None]:
        runnable = self._runnable
        parked = self._parked
        wake = Event()  # this worker's own, set by `start` to hand it a transfer
        woken = wake.wait()  # an op may be waited for again and again
        while True:
            while runnable:
                yield from runnable.popleft().run()
            if self.closed or len(parked) >= MAX_IDLE_WORKERS:
                return
            wake.clear()
            parked.append(wake)
            yield from woken

    def checkout(self, origin: tuple[str, int]) -> Connection | None:
        """A usable idle connection to `origin`, or None."""
        connection = self.pool.checkout(origin, self.loop.now)
        if connection is not None:
            connection.idle = False
            self.connections_reused += 1
        return connection

    def checkin(self, connection: Connection) -> None:
        """Park a connection whose exchange left it reusable."""
        if self.closed or not connection.usable():
            connection.close()
            return
        connection.idle = True
        self.pool.checkin(connection.origin, connection, self.loop.now)
        if self._sweep is None and len(self.pool):
            self._sweep = self.loop.call_later(self.pool.idle_ttl_s, self._expire)

    def discard_idle(self, connection: Connection) -> None:
        """An idle connection broke (server EOF, stray bytes): out of the pool, closed."""
        self.pool.discard(connection)
        connection.close()

    def _expire(self) -> None:
        self._sweep = None
        next_expiry = self.pool.expire(self.loop.now)
        if next_expiry is not None:
            # A little past the expiry, so the entry is over the TTL when the timer runs.
            delay = max(0.0, next_expiry - self.loop.now) + 0.001
            self._sweep = self.loop.call_later(delay, self._expire)

    def shutdown(self) -> None:
        """Fail the transfers in flight and close every connection (on the loop thread)."""
        self.closed = True
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for transfer in list(self.active):
            transfer.abandon(ClientClosedError("the client was closed during the request"))
        self.pool.close_all()

    def statistics(self) -> ClientStatistics:
        """A snapshot of the counters (plain ints: readable from any thread)."""
        return ClientStatistics(
            requests=self.requests,
            active=len(self.active),
            connections_opened=self.connections_opened,
            connections_reused=self.connections_reused,
            retries=self.retries,
            idle=len(self.pool),
        )

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Session {state} active={len(self.active)} pool={self.pool!r}>"
