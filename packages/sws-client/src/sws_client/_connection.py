"""`Connection`: one outbound TCP connection of the client, idle in the pool or busy.

Everything here runs on the client's loop thread.

Rules that hold in this module:

- A `Connection` is the `TcpProtocol` of its `Conn` for its whole life, idle or busy: bytes,
  EOF and loss land in its buffer and flags, and wake the one fiber that uses it through an
  sws_core `Event`. A callback protocol (rather than `conn.receive()`) is what lets an idle
  pooled connection notice that the server closed it, and lets a wait have a deadline.
- Received bytes are bounded: past `DEFAULT_MAX_BUFFER_BYTES` unread, reading pauses
  (`conn.pause_reading()`) until the exchange takes them.
- A wait ends with bytes, EOF, the connection's loss, or its deadline (loop time), which a
  timer of the loop enforces; one timer per connection serves many waits (see `_arm`).
- It can carry another request only when `usable()`: open, not at EOF, nothing unread.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Final

from sws_core import Conn, Event, Loop, Op
from sws_http.proto import ResponseParser

__all__ = ["DEFAULT_MAX_BUFFER_BYTES", "Connection"]

# Unread received bytes per connection before reading pauses: the loop's own
# max_read_buffer_bytes default for fiber connections is the same 1 MiB.
DEFAULT_MAX_BUFFER_BYTES: Final = 1 << 20


class Connection:
    """An outbound connection of the client: a `Conn` and the bytes it received.

    Args:
        conn: the connected `Conn`; this object becomes its protocol.
        origin: the `(host, port)` it was opened to (the pool's key).
        on_idle_broken: called with this connection when, idle in the pool, it is closed
            by the server or receives bytes nobody asked for.
        parser: reads the responses of every request sent on it, in order.
    """

    __slots__ = (
        "_arrived",
        "_chunks",
        "_on_idle_broken",
        "_paused",
        "_wake_at",
        "buffered",
        "closing",
        "conn",
        "eof",
        "error",
        "event",
        "idle",
        "lost",
        "origin",
        "parser",
        "requests",
    )

    def __init__(
        self,
        conn: Conn,
        origin: tuple[str, int],
        on_idle_broken: Callable[[Connection], None],
        parser: ResponseParser,
    ) -> None:
        self.conn = conn
        self.parser = parser
        self.origin = origin
        self._on_idle_broken = on_idle_broken
        self._chunks: list[bytes] = []
        self._paused = False
        self._wake_at: float | None = None  # when the pending wait timer fires, if any
        self.buffered = 0
        self.eof = False  # the server finished sending
        self.lost = False  # the connection is closed (its slot released)
        self.closing = False  # this side closed or aborted it
        self.error: BaseException | None = None  # why it was lost, if not cleanly
        self.event = Event()
        self._arrived = self.event.wait()  # the op of every wait (an op can be reused)
        self.idle = False  # parked in the pool
        self.requests = 0  # requests sent on it so far
        conn.protocol = self

    # --- TcpProtocol: called by the loop ------------------------------------------------

    def data_received(self, data: bytes) -> None:
        """Buffer the bytes (pausing reads past the limit) and wake the exchange."""
        self._chunks.append(data)
        self.buffered += len(data)
        if self.buffered > DEFAULT_MAX_BUFFER_BYTES and not self._paused:
            self._paused = True
            self.conn.pause_reading()
        self.event.set()
        if self.idle:  # bytes nobody asked for: the connection is out of step
            self._on_idle_broken(self)

    def eof_received(self) -> None:
        """The server finished sending: wake the exchange; an idle connection is dropped."""
        self.eof = True
        self.event.set()
        if self.idle:
            self._on_idle_broken(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        """The connection is gone: wake the exchange."""
        self.lost = True
        self.error = exc
        self.event.set()
        if self.idle:
            self._on_idle_broken(self)

    # --- Poolable ---------------------------------------------------------------------------

    def usable(self) -> bool:
        """Whether it can carry another request: open, quiet, nothing unread."""
        return not (self.eof or self.lost or self.closing or self.buffered)

    def close(self) -> None:
        """Close it (flushing what is queued); idempotent."""
        self.closing = True
        self.idle = False
        self.conn.close()

    def abort(self, exc: BaseException | None = None) -> None:
        """Close it at once, dropping queued bytes; idempotent."""
        self.closing = True
        self.idle = False
        self.conn.abort(exc)

    # --- for the exchange ---------------------------------------------------------------

    def take(self) -> bytes:
        """Every byte received and not yet taken."""
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.buffered = 0
        if self._paused:
            self._paused = False
            self.conn.resume_reading()
        return data

    def wait(self, loop: Loop, deadline: float) -> Generator[Op, Any, bool]:
        """Wait for bytes, EOF or loss until `deadline` (loop time); False if it passed."""
        while not (self.buffered or self.eof or self.lost):
            if loop.now >= deadline:
                return False
            self.event.clear()
            self._arm(loop, deadline)
            yield from self._arrived
        return True

    def _arm(self, loop: Loop, deadline: float) -> None:
        """Make sure a wake-up comes at `deadline` at the latest.

        The loop's timers are a heap that keeps a cancelled timer until its deadline, so a
        timer per wait (one per response, each cancelled when the bytes arrive) would pile
        up `read_timeout_s` worth of dead entries. Instead a connection keeps one timer and
        lets it fire: a wake-up before the deadline is only a re-check, after which the
        next wait arms a timer again. About one timer per connection per read timeout.
        """
        due = self._wake_at
        if due is None or due > deadline:
            self._wake_at = deadline
            loop.call_later(deadline - loop.now, self._on_timer, deadline)

    def _on_timer(self, deadline: float) -> None:
        if self._wake_at == deadline:
            self._wake_at = None
        self.event.set()

    def __repr__(self) -> str:
        state = (
            "lost"
            if self.lost
            else "closing"
            if self.closing
            else "eof"
            if self.eof
            else "idle"
            if self.idle
            else "busy"
        )
        host, port = self.origin
        return (
            f"<Connection {state} origin={host}:{port} requests={self.requests} "
            f"buffered={self.buffered} conn={self.conn!r}>"
        )
