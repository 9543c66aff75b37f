"""Pending, Signal, Wakeups and BodyChannel (sws_client._handoff), driven by hand: no loop,
and a thread only where a Signal must be set from one or block one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import Any, cast

import pytest

from sws_client import NetworkError
from sws_client._handoff import BodyChannel, Pending, Signal, Wakeups
from sws_core import Event, Loop, WaitEvent


class FakeLoop:
    """Records `invoke` calls instead of running them on another thread."""

    def __init__(self) -> None:
        self.invoked: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def on_loop_thread(self) -> bool:
        return False

    def invoke(self, fn: Callable[..., Any], *args: Any) -> None:
        self.invoked.append((fn, args))

    def run_invoked(self) -> None:
        calls, self.invoked = self.invoked, []
        for fn, args in calls:
            fn(*args)


def finish(gen: Generator[Any, Any, Any]) -> Any:
    """Run a generator that must not wait; return its value."""
    with pytest.raises(StopIteration) as info:
        next(gen)
    return info.value.value


# --- Pending -----------------------------------------------------------------------------------


def test_pending_result_and_yield_from_once_settled() -> None:
    pending: Pending[str] = Pending(lambda: None)
    assert not pending.done()
    assert "running" in repr(pending)
    assert pending.settle("value", None)
    assert not pending.settle("other", None)  # the first outcome wins
    assert pending.done()
    assert pending.result() == "value"
    assert finish(iter(pending)) == "value"  # no wait once done
    assert finish(pending.__await__()) == "value"
    assert "done" in repr(pending)


def test_pending_error_is_raised_in_the_waiter() -> None:
    pending: Pending[str] = Pending(lambda: None)
    pending.settle(None, NetworkError("reset"))
    with pytest.raises(NetworkError, match="reset"):
        pending.result()
    with pytest.raises(NetworkError):
        finish(iter(pending))


def test_pending_result_timeout() -> None:
    pending: Pending[str] = Pending(lambda: None)
    with pytest.raises(TimeoutError, match="goes on"):
        pending.result(timeout=0.001)


def test_waiting_outside_a_fiber_is_refused() -> None:
    pending: Pending[str] = Pending(lambda: None)
    with pytest.raises(RuntimeError, match="fiber on an sws loop"):
        next(iter(pending))


def test_abandon_only_while_running() -> None:
    calls: list[int] = []
    pending: Pending[str] = Pending(lambda: calls.append(1))
    pending.abandon()
    assert calls == [1]
    pending.settle("x", None)
    pending.abandon()
    assert calls == [1]


# --- Signal ------------------------------------------------------------------------------------


def test_signal_is_level_triggered() -> None:
    signal = Signal()
    assert not signal.wait_blocking(0)
    signal.set()
    assert signal.is_set()
    assert signal.wait_blocking(0)
    signal.clear()
    assert not signal.is_set()
    assert not signal.wait_blocking(0)


# --- BodyChannel -------------------------------------------------------------------------------


def channel(limit: int = 10) -> tuple[BodyChannel, FakeLoop, list[int]]:
    loop = FakeLoop()
    abandoned: list[int] = []
    return BodyChannel(loop, lambda: abandoned.append(1), limit), loop, abandoned  # type: ignore[arg-type]


def test_pieces_come_out_joined_then_the_end() -> None:
    ch, _, _ = channel()
    assert finish(ch.put(b"ab"))
    assert finish(ch.put(b"cd"))
    assert ch.receive_blocking() == b"abcd"
    ch.end()
    assert ch.receive_blocking() == b""
    assert finish(ch.receive()) == b""


def test_a_full_channel_makes_the_producer_wait_until_taken() -> None:
    ch, loop, _ = channel(limit=4)
    put = ch.put(b"12345")
    op = next(put)
    assert isinstance(op, WaitEvent)  # over the limit: wait for space
    assert ch.receive_blocking() == b"12345"
    assert len(loop.invoked) == 1  # the consumer wakes the producer through the loop
    loop.run_invoked()
    assert op.event.is_set()
    with pytest.raises(StopIteration) as info:
        put.send(None)
    assert info.value.value is True


def test_an_error_reaches_the_consumer_after_the_data() -> None:
    ch, _, _ = channel()
    finish(ch.put(b"partial"))
    ch.end(NetworkError("reset mid-body"))
    assert ch.receive_blocking() == b"partial"
    with pytest.raises(NetworkError):
        ch.receive_blocking()


def test_closing_early_abandons_on_the_loop_and_stops_the_producer() -> None:
    ch, loop, abandoned = channel(limit=4)
    put = ch.put(b"12345")
    next(put)  # waiting for space
    ch.close()
    assert ch.closed
    loop.run_invoked()
    assert abandoned == [1]
    with pytest.raises(StopIteration) as info:
        put.send(None)
    assert info.value.value is False
    assert finish(ch.put(b"more")) is False
    assert ch.receive_blocking() == b""


def test_closing_after_the_end_abandons_nothing() -> None:
    ch, loop, abandoned = channel()
    ch.end()
    ch.close()
    ch.close()
    assert loop.invoked == []
    assert abandoned == []
    assert "closed" in repr(ch)


def test_receiving_outside_a_fiber_must_block_instead() -> None:
    ch, _, _ = channel()
    with pytest.raises(RuntimeError, match="fiber on an sws loop"):
        next(ch.receive())


# --- Wakeups -----------------------------------------------------------------------------------


def test_wakeups_send_one_invoke_per_loop_per_flush() -> None:
    a, b = FakeLoop(), FakeLoop()
    events = [Event() for _ in range(3)]
    wakeups = Wakeups()
    wakeups.add(cast(Loop, a), events[0])
    wakeups.add(cast(Loop, a), events[1])
    wakeups.add(cast(Loop, b), events[2])
    assert not a.invoked
    assert not b.invoked
    wakeups.flush()
    assert len(a.invoked) == 1
    assert len(b.invoked) == 1
    a.run_invoked()
    b.run_invoked()
    assert all(e.is_set() for e in events)
    wakeups.flush()  # nothing gathered: nothing sent
    assert not a.invoked


def test_signal_set_gathers_while_bound_and_unbind_flushes() -> None:
    loop = FakeLoop()
    signal = Signal()
    event = Event()
    signal._waiters.append((cast(Loop, loop), event))  # a fiber of `loop` waits
    wakeups = Wakeups()
    done = threading.Event()

    def producer() -> None:  # a thread of its own, as the client's loop thread is
        wakeups.bind()
        signal.set()
        assert not loop.invoked  # gathered, not sent
        wakeups.unbind()
        done.set()

    threading.Thread(target=producer).start()
    assert done.wait(5)
    assert len(loop.invoked) == 1
    loop.run_invoked()
    assert event.is_set()


def test_signal_set_unbound_invokes_at_once() -> None:
    loop = FakeLoop()
    signal = Signal()
    event = Event()
    signal._waiters.append((cast(Loop, loop), event))
    signal.set()
    assert len(loop.invoked) == 1


# --- Signal: blocked threads -------------------------------------------------------------------


def test_signal_wakes_a_blocked_thread() -> None:
    signal = Signal()
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(signal.wait_blocking(5)))
    waiter.start()
    while not signal._blocked and waiter.is_alive():
        threading.Event().wait(0.001)
    signal.set()
    waiter.join(5)
    assert woke == [True]
    assert not signal._blocked


def test_signal_wait_blocking_times_out_and_leaves_nothing_behind() -> None:
    signal = Signal()
    assert not signal.wait_blocking(0.01)
    assert not signal._blocked
    signal.set()
    assert signal.wait_blocking(0.01)
