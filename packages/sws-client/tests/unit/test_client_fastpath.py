"""The per-request shortcuts: wake-ups batched per loop, threads parked on their own lock,
parsed URLs and checked requests reused. Each must behave as the slow way would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

import pytest

from sws_client._handoff import Signal, Wakeups
from sws_client._request import MAX_CACHED_SPECS, RequestSpec, make_spec
from sws_client._session import Settings, Timeout
from sws_client._url import parse_url
from sws_core import Event, Loop


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


SETTINGS = Settings(
    timeout=Timeout(),
    follow_redirects=False,
    max_redirects=10,
    max_header_bytes=1 << 16,
    max_headers=100,
    max_body_bytes=1 << 20,
    max_stream_buffer_bytes=1 << 20,
    headers=(("User-Agent", "t/1"), ("Accept", "*/*")),
)


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


# --- caches ------------------------------------------------------------------------------------


def test_parse_url_returns_the_same_url_for_the_same_text() -> None:
    url = "http://example.com:8080/a b?q=1"
    assert parse_url(url) is parse_url(url)
    assert parse_url(url).target == "/a%20b?q=1"


def test_make_spec_reuses_a_plain_request_only() -> None:
    cache: dict[tuple[str, str, bool], RequestSpec] = {}
    url = "http://example.com/"
    first = make_spec(SETTINGS, "GET", url, None, None, None, None, False, cache)
    assert make_spec(SETTINGS, "GET", url, None, None, None, None, False, cache) is first
    assert first.head == make_spec(SETTINGS, "GET", url, None, None, None, None, False).head
    assert first.head.startswith(b"GET / HTTP/1.1\r\n")
    # Anything of its own (fields, body, timeout, redirects, stream) is checked anew.
    other = [
        make_spec(SETTINGS, "GET", url, {"X-A": "1"}, None, None, None, False, cache),
        make_spec(SETTINGS, "GET", url, None, b"x", None, None, False, cache),
        make_spec(SETTINGS, "GET", url, None, None, 5.0, None, False, cache),
        make_spec(SETTINGS, "GET", url, None, None, None, True, False, cache),
        make_spec(SETTINGS, "GET", url, None, None, None, None, True, cache),
    ]
    assert all(spec is not first for spec in other)
    assert len(cache) == 2  # the plain GET, and the plain streamed GET


def test_make_spec_cache_is_bounded() -> None:
    cache: dict[tuple[str, str, bool], RequestSpec] = {}
    for i in range(MAX_CACHED_SPECS + 1):
        make_spec(SETTINGS, "GET", f"http://example.com/{i}", None, None, None, None, False, cache)
    assert len(cache) <= MAX_CACHED_SPECS


def test_make_spec_still_refuses_bad_input_with_a_cache() -> None:
    cache: dict[tuple[str, str, bool], RequestSpec] = {}
    with pytest.raises(ValueError):
        make_spec(SETTINGS, "GET", "http://example.com/", None, None, 0, None, False, cache)
    with pytest.raises(ValueError):
        make_spec(SETTINGS, "G T", "http://example.com/", None, None, None, None, False, cache)
    assert not cache
