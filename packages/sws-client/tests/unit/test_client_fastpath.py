"""The per-request caches: parsed URLs and checked requests reused. Each must behave as the
slow way would. (The hand-off's shortcuts, wake-ups batched per loop and threads parked on
a lock of their own, are tested with the rest of the hand-off in test_client_handoff.py.)"""

from __future__ import annotations

import pytest

from sws_client._request import MAX_CACHED_SPECS, RequestSpec, make_spec
from sws_client._session import Settings, Timeout
from sws_client._url import parse_url

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
