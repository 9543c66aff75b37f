"""Results crossing from the client's loop thread to whoever waits: a thread or a fiber.

The client's requests run on its own loop; the caller is a plain thread or a fiber on
another sws loop (a server handler). Rules that hold in this module:

- The producer is always the client's loop thread; a consumer waits in exactly one of two
  ways: a plain thread blocks (on a lock of its own, which `set` releases), a fiber waits
  on an sws_core `Event` of its own loop, which the producer sets through that loop's
  `invoke` (the one thread-safe way in), once per turn of the client's loop for all the
  events of one waiting loop (`Wakeups`). An IO thread therefore never blocks here:
  `Pending.result()` refuses to run on one.
- A `Signal` is level-triggered and may be cleared by its consumer and set again; waiters
  re-check their condition after every wake-up, so a late or spurious wake-up is harmless.
- `Pending` settles once; the first outcome wins (a result, or an error such as the client
  closing under the request).
- A `BodyChannel` is bounded: the producer's `put` waits while `max_buffer_bytes` are
  queued and the consumer wakes it, through the client loop's `invoke`, once it has taken
  them. A consumer that closes the channel early abandons the rest of the body.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Generator
from typing import Any, Final, Generic, TypeVar

from sws_client._errors import ClientClosedError
from sws_core import Event, InvokeQueueFullError, Loop, Op, current_loop

__all__ = ["DEFAULT_MAX_STREAM_BUFFER_BYTES", "BodyChannel", "Pending", "Signal", "Wakeups"]

log = logging.getLogger("sws_client")

# Body bytes queued between the client's loop and a stream's consumer before the download
# pauses: as the loop's own per-connection read buffer (1 MiB); curl's largest read buffer
# (CURL_MAX_READ_SIZE) is 10 MiB, urllib3 reads in 64 KiB pieces.
DEFAULT_MAX_STREAM_BUFFER_BYTES: Final = 1 << 20

T = TypeVar("T")

_local = threading.local()  # `wakeups`: the `Wakeups` bound on this thread, if any


def _wake(loop: Loop, event: Event) -> None:
    if loop.on_loop_thread():
        event.set()
        return
    wakeups: Wakeups | None = getattr(_local, "wakeups", None)
    if wakeups is not None:
        wakeups.add(loop, event)
        return
    try:
        loop.invoke(event.set)
    except InvokeQueueFullError:  # the waiting fiber's loop is saturated: say so loudly
        log.error("cannot wake a fiber on %r: its invoke queue is full", loop)


def _set_all(events: list[Event]) -> None:
    for event in events:
        event.set()


class Wakeups:
    """Wake-ups of fibers on other loops, gathered on one loop thread for a whole turn.

    Every `invoke` into another loop is an eventfd write and a wake-up of that thread; the
    outcomes of many requests settled in one turn of the client's loop cross as one
    `invoke` per waiting loop instead, sent by `flush` (a tick hook of the producer's loop:
    it runs once at the end of every turn). While `bind` holds on a thread, `Signal.set`
    there adds to this batch rather than invoking at once.
    """

    __slots__ = ("_events",)

    def __init__(self) -> None:
        self._events: dict[Loop, list[Event]] = {}

    def bind(self) -> None:
        """Gather the calling thread's wake-ups here (call on the producer's loop thread)."""
        _local.wakeups = self

    def unbind(self) -> None:
        """Send what is gathered, and stop gathering on the calling thread."""
        _local.wakeups = None
        self.flush()

    def add(self, loop: Loop, event: Event) -> None:
        """Set `event`, a sws_core `Event` of `loop` (another thread's), at the next flush."""
        events = self._events.get(loop)
        if events is None:
            self._events[loop] = [event]
        else:
            events.append(event)

    def flush(self) -> None:
        """Send the gathered wake-ups: one `invoke` per loop."""
        if not self._events:
            return
        gathered, self._events = self._events, {}
        for loop, events in gathered.items():
            try:
                loop.invoke(_set_all, events)
            except InvokeQueueFullError:  # the waiting fibers' loop is saturated
                log.error(
                    "cannot wake %d fibers on %r: its invoke queue is full", len(events), loop
                )

    def __repr__(self) -> str:
        return f"<Wakeups loops={len(self._events)}>"


class Signal:
    """A flag a thread can block on and fibers on any loop can wait for.

    Nothing but a plain `threading.Lock` is made until someone waits: a blocked thread
    parks on a lock of its own (acquired once, released by `set`), a fiber on an sws_core
    `Event` of its loop. Most signals (a `Pending` waited for by a fiber) never block a
    thread, and a `threading.Event` per signal (a `Condition` and two locks) would be paid
    on every request.
    """

    __slots__ = ("_blocked", "_lock", "_set", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = False
        self._waiters: list[tuple[Loop, Event]] = []
        self._blocked: list[threading.Lock] = []  # one held lock per blocked thread

    def set(self) -> None:
        """Set the flag and wake every waiter; safe from any thread."""
        with self._lock:
            self._set = True
            waiters = self._waiters
            if waiters:
                self._waiters = []
            blocked = self._blocked
            if blocked:
                self._blocked = []
        for parked in blocked:
            parked.release()
        for loop, event in waiters:
            _wake(loop, event)

    def clear(self) -> None:
        """Clear the flag (by the consumer, before it re-checks its condition)."""
        with self._lock:
            self._set = False

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._set

    def wait(self) -> Generator[Op, Any, None]:
        """In a fiber: wait until the flag is set.

        Raises:
            RuntimeError: not called from a fiber on an sws loop.
        """
        loop = current_loop()
        if loop is None:
            raise RuntimeError("wait in a fiber on an sws loop; block with result() elsewhere")
        with self._lock:
            if self._set:
                return
            event = Event()
            self._waiters.append((loop, event))
        yield from event.wait()

    def wait_blocking(self, timeout: float | None = None) -> bool:
        """In a plain thread: block until the flag is set; False if `timeout` passed."""
        with self._lock:
            if self._set:
                return True
            if timeout is not None and timeout <= 0:
                return False
            parked = threading.Lock()
            parked.acquire()
            self._blocked.append(parked)
        if parked.acquire(timeout=-1 if timeout is None else timeout):
            return True
        with self._lock:
            if parked in self._blocked:  # not released: the timeout passed first
                self._blocked.remove(parked)
                return False
        return True  # `set` took it off the list as the timeout passed: it is set

    def __repr__(self) -> str:
        return f"<Signal set={self._set} fibers={len(self._waiters)} threads={len(self._blocked)}>"


def refuse_on_loop_thread(what: str) -> None:
    """Raise if the caller is an sws IO thread, which must never block."""
    if current_loop() is not None:
        raise RuntimeError(
            f"{what} would block an sws IO thread; in a fiber write "
            "`yield from ...` or `await ...` instead"
        )


class Pending(Generic[T]):
    """A request in flight on the client's loop, and later its outcome.

    In a fiber on any sws loop (a server handler), wait for it without blocking the loop:
    `resp = yield from pending` or `resp = await pending`. From a plain thread, block with
    `pending.result()`. Either way the outcome is the `Response` (or `StreamResponse`), or
    the request's error raised in the waiter.
    """

    __slots__ = ("_abandon", "_done", "_error", "_signal", "_value")

    def __init__(self, abandon: Callable[[], None]) -> None:
        self._abandon = abandon
        self._done = False
        self._value: T | None = None
        self._error: BaseException | None = None
        self._signal = Signal()

    def done(self) -> bool:
        """Whether the request has ended (with a result or an error)."""
        return self._done

    def result(self, timeout: float | None = None) -> T:
        """Block the calling thread until the outcome, and return it.

        Args:
            timeout: seconds to wait at most (None: until the request ends, which its own
                timeouts bound).

        Raises:
            RuntimeError: called on an sws IO thread (use `yield from` / `await` there).
            TimeoutError: `timeout` passed first (the request goes on).
            HttpClientError: the request failed (the subclass says how).
        """
        if not self._done:
            refuse_on_loop_thread("Pending.result()")
            if not self._signal.wait_blocking(timeout):
                raise TimeoutError(f"no outcome within {timeout} s (the request goes on)")
        return self._outcome()

    def __await__(self) -> Generator[Op, Any, T]:
        if not self._done:
            try:
                while not self._done:
                    yield from self._signal.wait()
            except GeneratorExit:  # the waiting fiber was closed: nobody wants the answer
                self.abandon()
                raise
        return self._outcome()

    __iter__ = __await__

    def abandon(self) -> None:
        """Give the request up: its connection is closed, not reused (no effect once done)."""
        if not self._done:
            self._abandon()

    def _outcome(self) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def settle(self, value: T | None, error: BaseException | None) -> bool:
        """Set the outcome (producer side); False if it was already set."""
        if self._done:
            return False
        self._value = value
        self._error = error
        self._done = True
        self._signal.set()
        return True

    def __repr__(self) -> str:
        if not self._done:
            return "<Pending running>"
        outcome = type(self._error).__name__ if self._error is not None else repr(self._value)
        return f"<Pending done {outcome}>"


class BodyChannel:
    """Body pieces from the client's loop to one consumer, bounded.

    Args:
        loop: the client's loop (the producer's).
        abandon: called on the client's loop when the consumer closes before the end.
        max_buffer_bytes: bytes queued before the producer waits.
    """

    __slots__ = (
        "_abandon",
        "_chunks",
        "_closed",
        "_ended",
        "_error",
        "_lock",
        "_loop",
        "_producer_waiting",
        "_queued",
        "_readable",
        "_space",
        "max_buffer_bytes",
    )

    def __init__(
        self,
        loop: Loop,
        abandon: Callable[[], None],
        max_buffer_bytes: int = DEFAULT_MAX_STREAM_BUFFER_BYTES,
    ) -> None:
        self._loop = loop
        self._abandon = abandon
        self.max_buffer_bytes = max_buffer_bytes
        self._lock = threading.Lock()
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._ended = False
        self._error: BaseException | None = None
        self._closed = False
        self._readable = Signal()
        self._space = Event()  # on the client's loop: the producer may put again
        self._producer_waiting = False

    # --- the producer: a fiber on the client's loop -------------------------------------

    def put(self, data: bytes) -> Generator[Op, Any, bool]:
        """Queue a piece; wait while the queue is full. False once the consumer closed."""
        with self._lock:
            closed = self._closed
            if not closed:
                self._chunks.append(data)
                self._queued += len(data)
        if closed:
            return False
        self._readable.set()
        while True:
            self._space.clear()
            with self._lock:
                if self._closed:
                    return False
                full = self._queued >= self.max_buffer_bytes
                self._producer_waiting = full
            if not full:
                return True
            yield from self._space.wait()

    def end(self, error: BaseException | None = None) -> None:
        """The body is complete (or failed with `error`)."""
        with self._lock:
            self._ended = True
            self._error = error
        self._readable.set()

    @property
    def closed(self) -> bool:
        """Whether the consumer closed the channel."""
        return self._closed

    # --- the consumer: a thread or a fiber ----------------------------------------------

    def _take(self) -> bytes | None:
        """Everything queued, b"" at the end, None when the consumer must wait."""
        wake = False
        with self._lock:
            if self._chunks:
                chunks = self._chunks
                data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                self._queued = 0
                wake, self._producer_waiting = self._producer_waiting, False
            elif self._error is not None:
                raise self._error
            elif self._ended or self._closed:
                return b""
            else:
                self._readable.clear()
                return None
        if wake:
            _wake(self._loop, self._space)
        return data

    def receive(self) -> Generator[Op, Any, bytes]:
        """In a fiber: the next piece of the body, b"" at its end."""
        while (data := self._take()) is None:
            yield from self._readable.wait()
        return data

    def receive_blocking(self) -> bytes:
        """In a plain thread: the next piece of the body, b"" at its end."""
        refuse_on_loop_thread("iterating a StreamResponse")
        while (data := self._take()) is None:
            self._readable.wait_blocking()
        return data

    def close(self) -> None:
        """Stop consuming: the rest of the body is dropped, the download abandoned."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            ended = self._ended
            self._chunks.clear()
            self._queued = 0
        if not ended:
            try:
                self._loop.invoke(self._abandon_on_loop)
            except (InvokeQueueFullError, ClientClosedError):
                log.error("cannot tell the client's loop a stream was closed")

    def _abandon_on_loop(self) -> None:
        self._space.set()
        self._abandon()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "ended" if self._ended else "open"
        return f"<BodyChannel {state} queued={self._queued}/{self.max_buffer_bytes}>"
