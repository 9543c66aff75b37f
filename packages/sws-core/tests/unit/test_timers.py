"""`TimerQueue`: deadline order, cancelled timers freed at once and dropped lazily."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from sws_core._timers import TimerQueue


class Payload:
    """Something a timer's callback holds."""


def test_timers_fire_in_deadline_then_creation_order() -> None:
    queue = TimerQueue()
    fired: list[str] = []
    queue.add(2.0, fired.append, ("late",))
    queue.add(1.0, fired.append, ("first",))
    queue.add(1.0, fired.append, ("second",))
    assert queue.next_deadline() == 1.0
    for timer in queue.pop_due(1.5):
        timer.fn(*timer.args)
    assert fired == ["first", "second"]
    assert queue.next_deadline() == 2.0


def test_a_cancelled_timer_lets_go_of_its_callback_at_once() -> None:
    queue = TimerQueue()
    payload = Payload()
    ref = weakref.ref(payload)
    timer = queue.add(300.0, lambda p: None, (payload,))
    del payload
    timer.cancel()
    timer.cancel()  # idempotent
    gc.collect()
    assert ref() is None
    assert queue.pop_due(301.0) == []
    assert len(queue) == 0


def test_cancelled_timers_do_not_pile_up() -> None:
    queue = TimerQueue()
    keep = queue.add(1000.0, print, ())
    for i in range(10_000):
        queue.add(300.0 + i, print, ()).cancel()  # one long timeout per request, cancelled
    assert len(queue) < 200
    assert queue.next_deadline() == 1000.0  # cancelled heads are skipped
    keep.cancel()
    assert queue.next_deadline() is None


def test_cancel_after_firing_changes_nothing() -> None:
    queue = TimerQueue()
    seen: list[Any] = []
    timer = queue.add(1.0, seen.append, (1,))
    [due] = queue.pop_due(1.0)
    due.cancel()
    assert queue._cancelled == 0
    queue.add(2.0, seen.append, (2,))
    assert [t.args for t in queue.pop_due(2.0)] == [(2,)]
    assert timer is due
