"""Fibers and events: the waiting half of the loop.

A `Fiber` wraps a generator or a coroutine; both are driven the same way, `send(value)` on
success and `throw(exc)` on failure, and both wait by yielding an op (`sws_core._ops`).
A fiber is resumed only from the loop's ready queue, never from inside a CQE dispatch, so
one completion cannot run user code in the middle of another's bookkeeping.

An `Event` belongs to the loop thread: `set()` from the loop thread (or through
`loop.invoke(event.set)` from another), `yield from event.wait()` in a fiber.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import TYPE_CHECKING, Any, TypeAlias

from sws_core._ops import Op, WaitEvent

if TYPE_CHECKING:
    from sws_core._conn import Conn
    from sws_core._loop import Loop

Coro: TypeAlias = Generator[Op, Any, Any] | Coroutine[Op, Any, Any]


class Fiber:
    """One running generator or coroutine, and the connection it serves, if any."""

    __slots__ = ("conn", "coro", "loop", "waiting")

    def __init__(self, loop: Loop, coro: Coro, conn: Conn | None) -> None:
        self.loop = loop
        self.coro = coro
        self.conn = conn
        self.waiting: Op | None = None  # the op this fiber waits on, None when ready

    def __repr__(self) -> str:
        name = getattr(self.coro, "__qualname__", type(self.coro).__name__)
        where = f" conn={self.conn!r}" if self.conn is not None else ""
        state = f"waiting={type(self.waiting).__name__}" if self.waiting else "ready"
        return f"<Fiber {name} {state}{where}>"


class Event:
    """A flag fibers can wait for; loop-thread only (use `loop.invoke(event.set)` elsewhere)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[Fiber] = []

    def is_set(self) -> bool:
        """Return whether the event is set."""
        return self._set

    def set(self) -> None:
        """Set the event and make every waiting fiber ready."""
        self._set = True
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for fiber in waiters:
                fiber.loop._resume(fiber, None)

    def clear(self) -> None:
        """Clear the event; later waits block again."""
        self._set = False

    def wait(self) -> WaitEvent:
        """Return the op that waits for the event: `yield from event.wait()`."""
        return WaitEvent(self)

    def _add_waiter(self, fiber: Fiber) -> None:
        self._waiters.append(fiber)

    def _discard_waiter(self, fiber: Fiber) -> None:
        if fiber in self._waiters:
            self._waiters.remove(fiber)

    def __repr__(self) -> str:
        return f"<Event set={self._set} waiters={len(self._waiters)}>"
