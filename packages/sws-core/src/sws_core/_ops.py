"""Ops: what a fiber can wait for, as typed, frozen records (`RingOp`, made once per io_uring
operation, is a plain slotted one: see `sws_core._ringop`).

A fiber is a generator or an `async def` coroutine. It waits by yielding an op; the loop
turns the op into SQEs or timers and resumes the fiber with the result (`send`) or the
error (`throw`). The helpers below and the `Conn` methods are the only code that creates
ops (the one door into the loop): user code writes `data = yield from conn.receive()` or
`data = await conn.receive()`, never `yield SomeOp(...)`. Every op supports both forms:
`__await__` yields the op itself and returns what the loop sends back, and `__iter__` is
the same generator, so `yield from op` works in plain generators.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from sws_core._ringop import RingOp

if TYPE_CHECKING:
    from sws_core._conn import Conn
    from sws_core._fiber import Event


@dataclass(frozen=True, slots=True)
class Receive:
    """Wait for data on `conn`; b"" means the peer has finished sending."""

    conn: Conn

    def __await__(self) -> Generator[Op, Any, bytes]:
        result: bytes = yield self
        return result

    __iter__ = __await__


@dataclass(frozen=True, slots=True)
class Send:
    """Queue `data` on `conn` and wait until its write queue is under the limit again."""

    conn: Conn
    data: bytes

    def __await__(self) -> Generator[Op, Any, None]:
        yield self

    __iter__ = __await__


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait `seconds` (a timer on the loop; 0 yields to other work)."""

    seconds: float

    def __await__(self) -> Generator[Op, Any, None]:
        yield self

    __iter__ = __await__


@dataclass(frozen=True, slots=True)
class Connect:
    """Open an outbound TCP connection to a numeric address, within `timeout_s`."""

    host: str
    port: int
    timeout_s: float

    def __await__(self) -> Generator[Op, Any, Conn]:
        conn: Conn = yield self
        return conn

    __iter__ = __await__


@dataclass(frozen=True, slots=True)
class ToWorker:
    """Run `fn(*args)` on a worker thread; its return value or exception comes back."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]

    def __await__(self) -> Generator[Op, Any, Any]:
        return (yield self)

    __iter__ = __await__


@dataclass(frozen=True, slots=True)
class WaitEvent:
    """Wait until `event` is set (already set: resume at once)."""

    event: Event

    def __await__(self) -> Generator[Op, Any, None]:
        yield self

    __iter__ = __await__


Op: TypeAlias = Receive | Send | Sleep | Connect | ToWorker | WaitEvent | RingOp


def sleep(seconds: float) -> Sleep:
    """Return the op that waits `seconds`: `yield from sleep(0.5)` / `await sleep(0.5)`.

    Raises:
        ValueError: `seconds` is negative.
    """
    if seconds < 0:
        raise ValueError(f"sleep of {seconds} s is negative")
    return Sleep(seconds)


def to_worker(fn: Callable[..., Any], *args: Any) -> ToWorker:
    """Return the op that runs `fn(*args)` on the loop's worker pool and waits for it.

    `result = yield from to_worker(fn, x)`: the IO thread goes on serving meanwhile.
    """
    return ToWorker(fn, args)


def connect(host: str, port: int, *, timeout_s: float = 10.0) -> Connect:
    """Return the op that opens a TCP connection: `conn = yield from connect(host, port)`.

    Args:
        host: a numeric IPv4 or IPv6 address (names are resolved by sws_client's resolver).
        port: the port.
        timeout_s: how long the connect may take before it fails with `TimeoutError`.

    Raises:
        ValueError: `timeout_s` is negative, infinite or NaN.
    """
    if not 0 <= timeout_s < float("inf"):
        raise ValueError(f"connect timeout of {timeout_s} s is not a finite, positive time")
    return Connect(host, port, timeout_s)
