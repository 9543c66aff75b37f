"""URL parsing and redirect rules (sws_client._url), without IO."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sws_client import UnsupportedURLError
from sws_client._url import URL, is_ip_literal, parse_url, redirect_request


@pytest.mark.parametrize(
    ("url", "host", "port", "target", "authority"),
    [
        ("http://example.com", "example.com", 80, "/", "example.com"),
        ("http://example.com/", "example.com", 80, "/", "example.com"),
        ("HTTP://Example.COM:8080/a/b?x=1&y=2", "example.com", 8080, "/a/b?x=1&y=2",
         "example.com:8080"),
        ("http://example.com:80/p", "example.com", 80, "/p", "example.com"),
        ("http://127.0.0.1:9000/p?q", "127.0.0.1", 9000, "/p?q", "127.0.0.1:9000"),
        ("http://[::1]:8080/v6", "::1", 8080, "/v6", "[::1]:8080"),
        ("http://[0:0::1]/", "::1", 80, "/", "[::1]"),
        ("http://[2001:DB8::1]/", "2001:db8::1", 80, "/", "[2001:db8::1]"),
        ("http://h/p#frag", "h", 80, "/p", "h"),
        ("http://h/p?#frag", "h", 80, "/p?", "h"),
        ("http://h?q=1", "h", 80, "/?q=1", "h"),
        ("http://h/a b/ü?x=a b", "h", 80, "/a%20b/%C3%BC?x=a%20b", "h"),
        ("http://h/already%20escaped?v=%2F", "h", 80, "/already%20escaped?v=%2F", "h"),
        ("http://bücher.example/", "xn--bcher-kva.example", 80, "/", "xn--bcher-kva.example"),
    ],
)  # fmt: skip
def test_parse_url(url: str, host: str, port: int, target: str, authority: str) -> None:
    parsed = parse_url(url)
    assert (parsed.host, parsed.port, parsed.target, parsed.authority) == (
        host,
        port,
        target,
        authority,
    )
    assert parsed.authorization is None
    assert parsed.origin == (host, port)


def test_user_information_becomes_basic_authorization() -> None:
    parsed = parse_url("http://al%40ice:s3cr%3At@h/")
    assert parsed.authorization == "Basic " + base64.b64encode(b"al@ice:s3cr:t").decode()
    assert str(parsed) == "http://h/"  # never written back into the URL


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("https://h/", "https is not supported.*TLS proxy"),
        ("ws://h/", "only http://"),
        ("h/path", "only http://"),
        ("http://", "no host"),
        ("http://:80/", "no host"),
        ("http://h:x/", "invalid port"),
        ("http://h:70000/", "invalid port"),
        ("http://h:0/", "port 0"),
        ("http://[fe80::1%25eth0]/", "zone"),
        ("http://[::1/", "invalid URL"),
        ("http://h\x00/", "control character"),
        ("http://a_b!c/", "invalid host"),
    ],
)
def test_unsupported_urls(url: str, match: str) -> None:
    with pytest.raises(UnsupportedURLError, match=match):
        parse_url(url)


def test_url_must_be_text() -> None:
    with pytest.raises(TypeError):
        parse_url(b"http://h/")  # type: ignore[arg-type]


def test_ip_literals() -> None:
    assert is_ip_literal("127.0.0.1")
    assert is_ip_literal("::1")
    assert not is_ip_literal("localhost")
    assert not is_ip_literal("1.2.3")


hosts = st.sampled_from(["a.example", "127.0.0.1", "::1", "2001:db8::7", "x-y.z"])
segments = st.text(alphabet="abcXYZ019-._~ %/é", max_size=12)


@given(hosts, st.integers(1, 65535), segments, st.one_of(st.none(), segments))
def test_parse_of_str_is_the_same_url(host: str, port: int, path: str, query: str | None) -> None:
    authority = f"[{host}]" if ":" in host else host
    url = f"http://{authority}:{port}/{path}" + ("" if query is None else f"?{query}")
    parsed = parse_url(url)
    assert parse_url(str(parsed)) == parsed
    assert parsed.target.isascii()
    assert " " not in parsed.target


# --- redirects -----------------------------------------------------------------------------------

BASE = parse_url("http://a.example:8080/dir/page?x=1")
FIELDS = [
    ("Authorization", "Bearer t"),
    ("Cookie", "c=1"),
    ("Content-Type", "application/json"),
    ("X-Other", "kept"),
]


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/abs", "http://a.example:8080/abs"),
        ("rel", "http://a.example:8080/dir/rel"),
        ("../up?y=2", "http://a.example:8080/up?y=2"),
        ("?only=query", "http://a.example:8080/dir/page?only=query"),
        ("//b.example/net", "http://b.example/net"),
        ("http://c.example:81/full", "http://c.example:81/full"),
        ("  /spaced  ", "http://a.example:8080/spaced"),
    ],
)
def test_relative_locations_resolve(location: str, expected: str) -> None:
    url, _, _, _ = redirect_request(302, location, BASE, "GET", [], None)
    assert str(url) == expected


@pytest.mark.parametrize(
    ("status", "method", "new_method", "keeps_body"),
    [
        (301, "GET", "GET", False),
        (301, "POST", "GET", False),
        (301, "PUT", "PUT", True),
        (302, "POST", "GET", False),
        (302, "DELETE", "GET", False),
        (302, "HEAD", "HEAD", False),
        (303, "POST", "GET", False),
        (303, "PUT", "GET", False),
        (303, "HEAD", "HEAD", False),
        (307, "POST", "POST", True),
        (307, "PUT", "PUT", True),
        (308, "POST", "POST", True),
        (308, "PATCH", "PATCH", True),
    ],
)
def test_method_rules(status: int, method: str, new_method: str, keeps_body: bool) -> None:
    body = None if method in ("GET", "HEAD") else b"data"
    _, m, fields, b = redirect_request(status, "/next", BASE, method, FIELDS, body)
    assert m == new_method
    assert b == (body if keeps_body else None)
    names = {n.lower() for n, _ in fields}
    assert ("content-type" in names) == (b is not None)
    assert {"authorization", "cookie", "x-other"} <= names  # same origin: all kept


@pytest.mark.parametrize(
    "location", ["http://b.example:8080/", "http://a.example:8081/", "//other/"]
)
def test_credentials_dropped_across_origins(location: str) -> None:
    fields = [*FIELDS, ("Host", "a.example:8080")]
    _, _, kept, _ = redirect_request(307, location, BASE, "POST", fields, b"x")
    assert [n for n, _ in kept] == ["Content-Type", "X-Other"]


def test_redirect_to_https_is_unsupported() -> None:
    with pytest.raises(UnsupportedURLError, match="https"):
        redirect_request(302, "https://a.example/", BASE, "GET", [], None)


def test_url_is_a_value() -> None:
    assert URL("h", 80, "/", "h") == parse_url("http://h/")
    assert hash(parse_url("http://h/")) == hash(parse_url("http://H:80"))
