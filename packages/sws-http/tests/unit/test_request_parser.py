"""`RequestParser` (sws_http.proto._request): the exact events for valid requests, the exact
`ProtocolError.status_hint` for each smuggling vector and limit, and the states after
EndOfMessage and after an error (RFC 9112, RFC 9110).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import pytest
import sws_http_testing as testing  # loaded by ../conftest.py
from sws_http_testing import data, eom

from sws_http.proto import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_TARGET_BYTES,
    NEED_DATA,
    Data,
    EndOfMessage,
    Headers,
    ProtocolError,
    Request,
    RequestParser,
    _request,
)

# --- helpers ------------------------------------------------------------------------------------


norm = testing.norm_request
drain = partial(testing.drain, norm=norm)  # every event until NEED_DATA, bounded


def parse(
    data: bytes, **limits: int
) -> tuple[list[tuple[Any, ...]], ProtocolError | None, RequestParser]:
    """Feed `data` at once; return the merged events, the error if any, and the parser."""
    parser = RequestParser(**limits)
    parser.feed(data)
    return (*testing.parse_fed(parser, norm), parser)


def req(
    method: str = "GET",
    target: str = "/",
    *,
    path: str | None = None,
    query: str = "",
    version: str = "1.1",
    headers: list[tuple[str, str]] | None = None,
    host: str = "a",
    keep_alive: bool = True,
    content_length: int | None = 0,
    chunked: bool = False,
    expect_continue: bool = False,
) -> tuple[Any, ...]:
    return (
        "request",
        method,
        target,
        target if path is None else path,
        query,
        version,
        [("host", "a")] if headers is None else headers,
        host,
        keep_alive,
        content_length,
        chunked,
        expect_continue,
    )


H = b"Host: a\r\n"

# --- valid requests -----------------------------------------------------------------------------

VALID: list[Any] = [
    pytest.param(
        b"GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\n\r\n",
        [
            req(
                target="/a/b?x=1&y=2",
                path="/a/b",
                query="x=1&y=2",
                headers=[("host", "example.com")],
                host="example.com",
            ),
            eom(),
        ],
        id="get",
    ),
    pytest.param(b"HEAD /h HTTP/1.1\r\n" + H + b"\r\n", [req("HEAD", "/h"), eom()], id="head"),
    pytest.param(
        b"GET / HTTP/1.1\r\nHost: \r\n\r\n",
        [req(headers=[("host", "")], host=""), eom()],
        id="empty-host",
    ),
    pytest.param(
        b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello",
        [
            req("POST", "/p", headers=[("host", "a"), ("content-length", "5")], content_length=5),
            data(b"hello"),
            eom(),
        ],
        id="post-content-length",
    ),
    pytest.param(
        b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: 0\r\n\r\n",
        [req("POST", "/p", headers=[("host", "a"), ("content-length", "0")]), eom()],
        id="post-content-length-0",
    ),
    pytest.param(
        b"POST /u HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
        b'5;name=val\r\nhello\r\n6 ; x ; y="q"\r\n world\r\nA\r\n0123456789\r\n'
        b"0;last\r\nX-Checksum: abc\r\nX-Other: \t v \r\n\r\n",
        [
            req(
                "POST",
                "/u",
                headers=[("host", "a"), ("transfer-encoding", "chunked")],
                content_length=None,
                chunked=True,
            ),
            data(b"hello world0123456789"),
            eom([("x-checksum", "abc"), ("x-other", "v")]),
        ],
        id="chunked-extensions-trailers",
    ),
    pytest.param(
        b"POST /u HTTP/1.1\r\n"
        + H
        + b"Transfer-Encoding: Chunked\r\n\r\nff\r\n"
        + b"x" * 255
        + b"\r\n0\r\n\r\n",
        [
            req(
                "POST",
                "/u",
                headers=[("host", "a"), ("transfer-encoding", "Chunked")],
                content_length=None,
                chunked=True,
            ),
            data(b"x" * 255),
            eom(),
        ],
        id="chunked-case-insensitive-lower-hex",
    ),
    pytest.param(
        b"GET / HTTP/1.0\r\n\r\n",
        [req(version="1.0", headers=[], host="", keep_alive=False), eom()],
        id="http10-close",
    ),
    pytest.param(
        b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
        [
            req(version="1.0", headers=[("connection", "Keep-Alive")], host="", keep_alive=True),
            eom(),
        ],
        id="http10-keep-alive",
    ),
    pytest.param(
        b"GET / HTTP/1.0\r\n" + H + b"Connection: keep-alive, close\r\n\r\n",
        [
            req(
                version="1.0",
                headers=[("host", "a"), ("connection", "keep-alive, close")],
                keep_alive=False,
            ),
            eom(),
        ],
        id="http10-keep-alive-and-close",
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n",
        [req(headers=[("host", "a"), ("connection", "close")], keep_alive=False), eom()],
        id="connection-close",
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\n" + H + b"Connection: Upgrade, CLOSE\r\n\r\n",
        [
            req(headers=[("host", "a"), ("connection", "Upgrade, CLOSE")], keep_alive=False),
            eom(),
        ],
        id="connection-close-in-list",
    ),
    pytest.param(
        b"GET http://example.org:8080/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n",
        [
            req(
                target="http://example.org:8080/p?q=1",
                path="/p",
                query="q=1",
                headers=[("host", "other")],
                host="example.org:8080",
            ),
            eom(),
        ],
        id="absolute-form",
    ),
    pytest.param(
        b"GET http://example.org HTTP/1.1\r\nHost: other\r\n\r\n",
        [
            req(
                target="http://example.org",
                path="/",
                headers=[("host", "other")],
                host="example.org",
            ),
            eom(),
        ],
        id="absolute-form-no-path",
    ),
    pytest.param(
        b"GET https://example.org?x HTTP/1.1\r\nHost: other\r\n\r\n",
        [
            req(
                target="https://example.org?x",
                path="/",
                query="x",
                headers=[("host", "other")],
                host="example.org",
            ),
            eom(),
        ],
        id="absolute-form-query-only",
    ),
    pytest.param(
        b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n",
        [req("OPTIONS", "*", path="*"), eom()],
        id="asterisk-form",
    ),
    pytest.param(
        b"\r\n\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n",
        [req(), eom()],
        id="leading-crlfs",
    ),
    pytest.param(
        b"GET /1 HTTP/1.1\r\n" + H + b"\r\n"
        b"POST /2 HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nabc"
        b"\r\nGET /3 HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"
        b"GET /ignored HTTP/1.1\r\n" + H + b"\r\n",
        [
            req(target="/1"),
            eom(),
            req("POST", "/2", headers=[("host", "a"), ("content-length", "3")], content_length=3),
            data(b"abc"),
            eom(),
            req(target="/3", headers=[("host", "a"), ("connection", "close")], keep_alive=False),
            eom(),
        ],
        id="pipelined",
    ),
    pytest.param(
        b"PUT /x HTTP/1.1\r\n" + H + b"Expect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi",
        [
            req(
                "PUT",
                "/x",
                headers=[("host", "a"), ("expect", "100-Continue"), ("content-length", "2")],
                content_length=2,
                expect_continue=True,
            ),
            data(b"hi"),
            eom(),
        ],
        id="expect-100-continue",
    ),
    pytest.param(
        # RFC 9110 §10.1.1: a server MUST ignore 100-continue in an HTTP/1.0 request.
        b"PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
        [
            req(
                "PUT",
                "/x",
                version="1.0",
                headers=[("expect", "100-continue"), ("content-length", "2")],
                host="",
                keep_alive=False,
                content_length=2,
            ),
            data(b"hi"),
            eom(),
        ],
        id="expect-100-continue-http10-ignored",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        [
            req(
                "POST",
                headers=[("host", "a"), ("content-length", "3"), ("content-length", "3")],
                content_length=3,
            ),
            data(b"abc"),
            eom(),
        ],
        id="repeated-identical-content-length",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\n\r\nabc",
        [
            req("POST", headers=[("host", "a"), ("content-length", "3, 3")], content_length=3),
            data(b"abc"),
            eom(),
        ],
        id="content-length-list-identical",
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\nX-A: 1\r\n"
        + H
        + b"x-b: 2\r\nX-A: 3\r\nCookie: c=1\r\ncookie: d=2\r\n\r\n",
        [
            req(
                headers=[
                    ("x-a", "1"),
                    ("host", "a"),
                    ("x-b", "2"),
                    ("x-a", "3"),
                    ("cookie", "c=1"),
                    ("cookie", "d=2"),
                ]
            ),
            eom(),
        ],
        id="repeated-headers-in-order",
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\nHost:a\r\nX: \t  v a\tl \t \r\nY:\r\nZ:   \r\n\r\n",
        [req(headers=[("host", "a"), ("x", "v a\tl"), ("y", ""), ("z", "")]), eom()],
        id="values-trimmed",
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\n" + H + b"X: caf\xe9 \xff\x80\r\n\r\n",
        [req(headers=[("host", "a"), ("x", "caf\xe9 \xff\x80")]), eom()],
        id="obs-text-latin-1",
    ),
    pytest.param(
        b"get /%7Euser;p=1/ HTTP/1.1\r\n" + H + b"\r\n",
        [req("get", "/%7Euser;p=1/"), eom()],
        id="lowercase-method-not-decoded",
    ),
    pytest.param(
        # RFC 9112 §2.3: a higher minor version is answered as 1.1.
        b"GET / HTTP/1.2\r\n" + H + b"\r\n",
        [req(), eom()],
        id="http12-as-11",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), VALID)
def test_valid_request_events(raw: bytes, expected: list[tuple[Any, ...]]) -> None:
    events, error, _ = parse(raw)
    assert error is None
    assert events == expected


@pytest.mark.parametrize(("raw", "expected"), VALID)
def test_valid_request_byte_by_byte(raw: bytes, expected: list[tuple[Any, ...]]) -> None:
    assert testing.feed_byte_by_byte(RequestParser(), raw, norm) == expected


def test_headers_accessors() -> None:
    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r\nX-A: 1\r\n" + H + b"X-A: 2\r\n\r\n")
    request = parser.next_event()
    assert isinstance(request, Request)
    headers = request.headers
    assert headers.get("x-a") == "1"
    assert headers.get("X-A") == "1"
    assert headers.get_all("X-a") == ["1", "2"]
    assert headers.get("missing") is None
    assert headers.get("missing", "d") == "d"
    assert "HOST" in headers
    assert "missing" not in headers
    assert len(headers) == 3
    assert list(headers) == [("x-a", "1"), ("host", "a"), ("x-a", "2")]
    assert headers == Headers([("x-a", "1"), ("host", "a"), ("x-a", "2")])


def test_pipelined_requests_come_one_at_a_time() -> None:
    parser = RequestParser()
    parser.feed(b"GET /1 HTTP/1.1\r\n" + H + b"\r\nGET /2 HTTP/1.1\r\n" + H + b"\r\n")
    first = parser.next_event()
    assert isinstance(first, Request)
    assert first.target == "/1"
    assert isinstance(parser.next_event(), EndOfMessage)
    second = parser.next_event()
    assert isinstance(second, Request)
    assert second.target == "/2"
    assert isinstance(parser.next_event(), EndOfMessage)
    assert parser.next_event() is NEED_DATA
    assert not parser.closed


def test_body_arrives_as_it_is_fed() -> None:
    parser = RequestParser()
    parser.feed(b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 6\r\n\r\nab")
    assert isinstance(parser.next_event(), Request)
    assert parser.next_event() == Data(b"ab")
    assert parser.next_event() is NEED_DATA
    parser.feed(b"cdefGET")  # the rest of the body and the start of the next request
    assert parser.next_event() == Data(b"cdef")
    assert isinstance(parser.next_event(), EndOfMessage)
    assert parser.next_event() is NEED_DATA
    parser.feed(b" / HTTP/1.1\r\n" + H + b"\r\n")
    assert isinstance(parser.next_event(), Request)


def test_defaults() -> None:
    parser = RequestParser()
    assert parser.max_header_bytes == DEFAULT_MAX_HEADER_BYTES == 16384
    assert parser.max_headers == DEFAULT_MAX_HEADERS == 100
    assert parser.max_target_bytes == DEFAULT_MAX_TARGET_BYTES == 8192
    assert parser.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1 << 20


def test_limits_are_inclusive() -> None:
    # Exactly at each limit is accepted.
    target = b"/" + b"t" * (DEFAULT_MAX_TARGET_BYTES - 1)
    events, error, _ = parse(b"GET " + target + b" HTTP/1.1\r\n" + H + b"\r\n")
    assert error is None
    assert events[0][2] == target.decode()
    fields = b"".join(b"X%d: v\r\n" % i for i in range(DEFAULT_MAX_HEADERS - 1))
    events, error, _ = parse(b"GET / HTTP/1.1\r\n" + H + fields + b"\r\n")
    assert error is None
    assert len(events[0][6]) == DEFAULT_MAX_HEADERS
    events, error, _ = parse(
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 10\r\n\r\n0123456789", max_body_bytes=10
    )
    assert error is None
    events, error, _ = parse(
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
        b"5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n",
        max_body_bytes=10,
    )
    assert error is None
    assert events[1] == data(b"0123456789")
    head = b"GET / HTTP/1.1\r\n" + H + b"X: "
    head += b"v" * (64 - len(head) - 4) + b"\r\n\r\n"
    assert len(head) == 64  # the limit counts the whole head, its empty line included
    _, error, _ = parse(head, max_header_bytes=64)
    assert error is None
    _, error, _ = parse(head.replace(b"X: ", b"X: v"), max_header_bytes=64)
    assert error is not None
    assert error.status_hint == 431


# --- errors: smuggling vectors and limits -------------------------------------------------------

POST = b"POST / HTTP/1.1\r\n" + H
CHUNKED = POST + b"Transfer-Encoding: chunked\r\n\r\n"


def head_with(fields: bytes, line: bytes = b"GET / HTTP/1.1") -> bytes:
    return line + b"\r\n" + fields + b"\r\n"


ERRORS: list[Any] = [
    pytest.param(b"GET / HTTP/1.1\r\n\r\n", {}, 400, id="no-host-http11"),
    pytest.param(head_with(H + b"Host: b\r\n"), {}, 400, id="two-hosts"),
    pytest.param(head_with(H + b"Host: a\r\n"), {}, 400, id="two-identical-hosts"),
    pytest.param(head_with(H + H, b"GET / HTTP/1.0"), {}, 400, id="two-hosts-http10"),
    pytest.param(
        POST + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", {}, 400, id="cl-and-te"
    ),
    pytest.param(
        POST + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", {}, 400, id="te-and-cl"
    ),
    pytest.param(
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        {},
        400,
        id="te-in-http10",
    ),
    pytest.param(POST + b"Transfer-Encoding: gzip\r\n\r\n", {}, 501, id="te-gzip"),
    pytest.param(POST + b"Transfer-Encoding: identity\r\n\r\n", {}, 501, id="te-identity"),
    pytest.param(
        POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n", {}, 501, id="te-gzip-then-chunked"
    ),
    pytest.param(
        POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n", {}, 400, id="te-chunked-not-last"
    ),
    pytest.param(
        POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
        {},
        400,
        id="te-chunked-not-last-two-lines",
    ),
    pytest.param(
        POST + b"Transfer-Encoding: chunked, chunked\r\n\r\n", {}, 400, id="te-chunked-twice"
    ),
    pytest.param(
        POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        {},
        400,
        id="te-chunked-twice-two-lines",
    ),
    pytest.param(POST + b"Transfer-Encoding: ,chunked\r\n\r\n", {}, 400, id="te-empty-coding"),
    pytest.param(POST + b"Transfer-Encoding: \r\n\r\n", {}, 400, id="te-empty"),
    pytest.param(
        POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", {}, 400, id="conflicting-cl"
    ),
    pytest.param(POST + b"Content-Length: 5, 6\r\n\r\n", {}, 400, id="conflicting-cl-list"),
    pytest.param(POST + b"Content-Length: 5,\r\n\r\n", {}, 400, id="cl-list-empty-member"),
    *[
        pytest.param(POST + b"Content-Length: " + v + b"\r\n\r\n", {}, 400, id=f"cl-{v!r}")
        for v in (b"+5", b"5a", b" ", b"", b"-1", b"0x5", b"5.0", b"5 5", b"1" * 19, b"\xb5")
    ],
    pytest.param(head_with(H + b"X: a\r\n b\r\n"), {}, 400, id="obs-fold-space"),
    pytest.param(head_with(H + b"X: a\r\n\tb\r\n"), {}, 400, id="obs-fold-tab"),
    pytest.param(head_with(b" Host: a\r\n"), {}, 400, id="whitespace-before-first-field"),
    pytest.param(head_with(b"Host : a\r\n"), {}, 400, id="space-before-colon"),
    pytest.param(head_with(H + b"X\t: a\r\n"), {}, 400, id="tab-before-colon"),
    pytest.param(head_with(H + b": a\r\n"), {}, 400, id="empty-field-name"),
    pytest.param(head_with(H + b"X a: b\r\n"), {}, 400, id="space-in-field-name"),
    pytest.param(head_with(H + b"X(: b\r\n"), {}, 400, id="separator-in-field-name"),
    pytest.param(head_with(H + b"no-colon\r\n"), {}, 400, id="field-without-colon"),
    pytest.param(b"GET / HTTP/1.1\nHost: a\r\n\r\n", {}, 400, id="bare-lf-request-line"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\n\r\n", {}, 400, id="bare-lf-field"),
    pytest.param(b"GET / HTTP/1.1\nHost: a\n\n", {}, 400, id="bare-lf-only"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", {}, 400, id="bare-cr-field"),
    pytest.param(b"GET / HTTP/1.1\rHost: a\r\n\r\n", {}, 400, id="bare-cr-request-line"),
    pytest.param(head_with(H + b"X: a\rb\r\n"), {}, 400, id="bare-cr-in-value"),
    pytest.param(head_with(H + b"X: a\x00b\r\n"), {}, 400, id="nul-in-value"),
    pytest.param(b"GET /\x00 HTTP/1.1\r\n" + H + b"\r\n", {}, 400, id="nul-in-target"),
    pytest.param(head_with(H + b"X\x00: b\r\n"), {}, 400, id="nul-in-name"),
    *[
        pytest.param(head_with(H + b"X: a" + bytes([c]) + b"b\r\n"), {}, 400, id=f"ctl-{c:#x}")
        for c in (0x01, 0x08, 0x0B, 0x0C, 0x1B, 0x1F, 0x7F)
    ],
    pytest.param(b"G(T / HTTP/1.1\r\n" + H + b"\r\n", {}, 400, id="method-not-token"),
    pytest.param(b"G\xe9T / HTTP/1.1\r\n" + H + b"\r\n", {}, 400, id="method-non-ascii"),
    pytest.param(b" / HTTP/1.1\r\n" + H + b"\r\n", {}, 400, id="method-empty"),
    pytest.param(b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", {}, 400, id="space-in-target"),
    pytest.param(b"GET  / HTTP/1.1\r\n" + H + b"\r\n", {}, 400, id="double-space"),
    pytest.param(b"GET / HTTP/1.1 \r\n" + H + b"\r\n", {}, 400, id="trailing-space"),
    pytest.param(b"GET\t/ HTTP/1.1\r\n" + H + b"\r\n", {}, 400, id="tab-separator"),
    pytest.param(b"GET /\xe9 HTTP/1.1\r\n" + H + b"\r\n", {}, 400, id="non-ascii-target"),
    pytest.param(b"GET / \r\n" + H + b"\r\n", {}, 400, id="no-version"),
    pytest.param(b"GET /\r\n" + H + b"\r\n", {}, 400, id="http09-style-line"),
    pytest.param(b"GET / HTTP/2.0\r\n" + H + b"\r\n", {}, 505, id="http20"),
    pytest.param(b"GET / HTTP/0.9\r\n" + H + b"\r\n", {}, 505, id="http09"),
    pytest.param(b"GET / HTTP/3.0\r\n" + H + b"\r\n", {}, 505, id="http30"),
    *[
        pytest.param(b"GET / " + v + b"\r\n" + H + b"\r\n", {}, 400, id=f"version-{v!r}")
        for v in (
            b"HTTP/1",
            b"HTTP/1.1.1",
            b"http/1.1",
            b"HTTP/11",
            b"XTTP/1.1",
            b"HTTP/1.x",
            b"HTTP/10.0",
            b"HTTP /1.1",
            b"HTTP/",
        )
    ],
    pytest.param(b"GET * HTTP/1.1\r\n" + H + b"\r\n", {}, 400, id="asterisk-not-options"),
    pytest.param(
        b"GET example.com:80 HTTP/1.1\r\n" + H + b"\r\n", {}, 400, id="authority-form-not-connect"
    ),
    pytest.param(
        b"GET http://a#f HTTP/1.1\r\n" + H + b"\r\n", {}, 400, id="absolute-form-fragment-only"
    ),
    pytest.param(
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", {}, 501, id="connect"
    ),
    pytest.param(head_with(H + b"Expect: something\r\n"), {}, 417, id="expect-unknown"),
    pytest.param(
        head_with(H + b"Expect: 100-continue\r\nExpect: 100-continue\r\n"),
        {},
        417,
        id="expect-twice",
    ),
    pytest.param(CHUNKED + b"zz\r\n", {}, 400, id="chunk-size-not-hex"),
    pytest.param(CHUNKED + b"-5\r\n", {}, 400, id="chunk-size-negative"),
    pytest.param(CHUNKED + b"+5\r\n", {}, 400, id="chunk-size-plus"),
    pytest.param(CHUNKED + b"0x5\r\n", {}, 400, id="chunk-size-0x"),
    pytest.param(CHUNKED + b" 5\r\n", {}, 400, id="chunk-size-leading-space"),
    pytest.param(CHUNKED + b"\r\n", {}, 400, id="chunk-size-empty"),
    pytest.param(CHUNKED + b";ext\r\n", {}, 400, id="chunk-size-only-extension"),
    pytest.param(CHUNKED + b"1" * 17 + b"\r\n", {}, 400, id="chunk-size-too-many-digits"),
    pytest.param(CHUNKED + b"5\nhello\r\n0\r\n\r\n", {}, 400, id="chunk-size-bare-lf"),
    pytest.param(CHUNKED + b"5\rhello\r\n0\r\n\r\n", {}, 400, id="chunk-size-bare-cr"),
    pytest.param(CHUNKED + b"5;a=\x01\r\nhello\r\n0\r\n\r\n", {}, 400, id="chunk-ext-control"),
    pytest.param(CHUNKED + b"5;" + b"x" * 5000 + b"\r\n", {}, 400, id="chunk-line-too-long"),
    pytest.param(CHUNKED + b"5\r\nhelloXX", {}, 400, id="no-crlf-after-chunk-data"),
    pytest.param(CHUNKED + b"5\r\nhello\n0\r\n\r\n", {}, 400, id="bare-lf-after-chunk-data"),
    pytest.param(CHUNKED + b"3\r\nhello\r\n0\r\n\r\n", {}, 400, id="chunk-data-longer-than-size"),
    pytest.param(CHUNKED + b"0\r\nX: a\r\n b\r\n\r\n", {}, 400, id="trailer-obs-fold"),
    pytest.param(CHUNKED + b"0\r\nX : a\r\n\r\n", {}, 400, id="trailer-space-before-colon"),
    pytest.param(CHUNKED + b"0\r\nX: a\nY: b\r\n\r\n", {}, 400, id="trailer-bare-lf"),
    pytest.param(CHUNKED + b"0\r\nX: \x01\r\n\r\n", {}, 400, id="trailer-control"),
    pytest.param(
        head_with(H + b"X: " + b"v" * DEFAULT_MAX_HEADER_BYTES + b"\r\n"),
        {},
        431,
        id="head-too-large",
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\n" + H + b"X: " + b"v" * DEFAULT_MAX_HEADER_BYTES,
        {},
        431,
        id="head-too-large-incomplete",
    ),
    pytest.param(
        head_with(H + b"X: " + b"v" * 64 + b"\r\n"),
        {"max_header_bytes": 64},
        431,
        id="head-too-large-custom",
    ),
    pytest.param(
        head_with(H + b"".join(b"X%d: v\r\n" % i for i in range(DEFAULT_MAX_HEADERS))),
        {},
        431,
        id="too-many-fields",
    ),
    pytest.param(
        head_with(H + b"A: 1\r\nB: 2\r\nC: 3\r\n"),
        {"max_headers": 3},
        431,
        id="too-many-fields-custom",
    ),
    pytest.param(
        CHUNKED + b"0\r\nA: 1\r\nB: 2\r\n\r\n",
        {"max_headers": 1},
        431,
        id="too-many-trailer-fields",
    ),
    pytest.param(
        CHUNKED + b"0\r\nX: " + b"v" * 64 + b"\r\n\r\n",
        {"max_header_bytes": 64},
        431,
        id="trailers-too-large",
    ),
    pytest.param(
        b"GET /" + b"t" * DEFAULT_MAX_TARGET_BYTES + b" HTTP/1.1\r\n" + H + b"\r\n",
        {},
        414,
        id="target-too-long",
    ),
    pytest.param(
        b"GET /" + b"t" * (DEFAULT_MAX_TARGET_BYTES + 100), {}, 414, id="target-too-long-incomplete"
    ),
    pytest.param(
        b"GET /" + b"t" * 16 + b" HTTP/1.1\r\n" + H + b"\r\n",
        {"max_target_bytes": 16},
        414,
        id="target-too-long-custom",
    ),
    pytest.param(
        POST + b"Content-Length: %d\r\n\r\n" % (DEFAULT_MAX_BODY_BYTES + 1),
        {},
        413,
        id="content-length-too-large",
    ),
    pytest.param(
        POST + b"Content-Length: 11\r\n\r\n",
        {"max_body_bytes": 10},
        413,
        id="content-length-too-large-custom",
    ),
    pytest.param(
        POST + b"Content-Length: 999999999999999999\r\n\r\n", {}, 413, id="content-length-18-digits"
    ),
    pytest.param(
        CHUNKED + b"6\r\n012345\r\n5\r\n", {"max_body_bytes": 10}, 413, id="chunked-too-large"
    ),
    pytest.param(
        CHUNKED + b"%x\r\n" % (DEFAULT_MAX_BODY_BYTES + 1), {}, 413, id="chunk-size-too-large"
    ),
    pytest.param(CHUNKED + b"ffffffffffffffff\r\n", {}, 413, id="chunk-size-16-digits"),
    pytest.param(
        b"GET / HTTP/1.1\r\n" + H + b"\r\nGET / HTTP/2.0\r\n" + H + b"\r\n",
        {},
        505,
        id="second-pipelined-request-bad",
    ),
]


@pytest.mark.parametrize(("raw", "limits", "status"), ERRORS)
def test_error_status(raw: bytes, limits: dict[str, int], status: int) -> None:
    _, error, parser = parse(raw, **limits)
    assert error is not None, "accepted"
    assert error.status_hint == status, error
    assert error.message
    assert str(error) == error.message
    assert f"status_hint={status}" in repr(error)
    # Every later call raises the same error, whatever is fed.
    parser.feed(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
    for _ in range(3):
        with pytest.raises(ProtocolError) as again:
            parser.next_event()
        assert again.value is error
    with pytest.raises(ProtocolError) as at_eof:
        parser.feed_eof()
    assert at_eof.value is error


@pytest.mark.parametrize(("raw", "limits", "status"), ERRORS)
def test_error_status_byte_by_byte(raw: bytes, limits: dict[str, int], status: int) -> None:
    parser = RequestParser(**limits)
    with pytest.raises(ProtocolError) as error:  # noqa: PT012 (the error may come at any byte)
        for i in range(len(raw)):
            parser.feed(raw[i : i + 1])
            drain(parser)
    assert error.value.status_hint == status


def test_events_before_an_error_are_delivered() -> None:
    parser = RequestParser(max_body_bytes=10)
    parser.feed(CHUNKED + b"6\r\n012345\r\n5\r\n01234\r\n")
    assert isinstance(parser.next_event(), Request)
    assert parser.next_event() == Data(b"012345")
    with pytest.raises(ProtocolError) as error:
        parser.next_event()
    assert error.value.status_hint == 413


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"G", id="start-of-head"),
        pytest.param(b"GET / HTTP/1.1\r\n" + H, id="head-without-empty-line"),
        pytest.param(b"GET / HTTP/1.1\r\n" + H + b"\r", id="head-last-cr"),
        pytest.param(POST + b"Content-Length: 5\r\n\r\nhel", id="content-length-body"),
        pytest.param(CHUNKED, id="chunked-before-size"),
        pytest.param(CHUNKED + b"5\r\nhe", id="chunk-data"),
        pytest.param(CHUNKED + b"5\r\nhello", id="chunk-end"),
        pytest.param(CHUNKED + b"5\r\nhello\r\n0\r\n", id="before-trailers"),
        pytest.param(CHUNKED + b"0\r\nX: a\r\n", id="in-trailers"),
        pytest.param(b"GET / HTTP/1.1\r\n" + H + b"\r\nGET /2", id="second-request"),
    ],
)
def test_eof_mid_request(raw: bytes) -> None:
    parser = RequestParser()
    parser.feed(raw)
    drain(parser)
    with pytest.raises(ProtocolError) as error:
        parser.feed_eof()
    assert error.value.status_hint == 400
    with pytest.raises(ProtocolError) as again:
        parser.next_event()
    assert again.value is error.value


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="nothing"),
        pytest.param(b"\r\n\r\n", id="only-crlfs"),
        pytest.param(b"GET / HTTP/1.1\r\n" + H + b"\r\n", id="after-a-request"),
        pytest.param(b"GET / HTTP/1.1\r\n" + H + b"\r\n\r\n", id="after-a-request-and-crlf"),
        pytest.param(b"GET / HTTP/1.0\r\n\r\n", id="after-a-closing-request"),
    ],
)
def test_eof_between_requests(raw: bytes) -> None:
    parser = RequestParser()
    parser.feed(raw)
    drain(parser)
    parser.feed_eof()
    assert parser.next_event() is NEED_DATA


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"GET / HTTP/1.0\r\n\r\n", id="http10"),
        pytest.param(b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n", id="close"),
        pytest.param(POST + b"Connection: close\r\nContent-Length: 2\r\n\r\nhi", id="close-body"),
        pytest.param(
            CHUNKED.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
            + b"2\r\nhi\r\n0\r\n\r\n",
            id="close-chunked",
        ),
    ],
)
def test_closed_after_non_keep_alive_request(raw: bytes) -> None:
    parser = RequestParser()
    parser.feed(raw + b"GET /next HTTP/1.1\r\n" + H + b"\r\n")  # ignored
    assert not parser.closed
    events = drain(parser)
    assert events[0][0] == "request"
    assert events[0][8] is False  # keep_alive
    assert events[-1][0] == "eom"
    assert parser.closed
    for _ in range(3):
        parser.feed(b"GET / HTTP/1.1\r\n" + H + b"\r\n" + b"\x00garbage")
        assert parser.next_event() is NEED_DATA
    parser.feed_eof()
    assert parser.closed
    assert "CLOSED" in repr(parser)


def test_not_closed_while_keep_alive() -> None:
    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
    drain(parser)
    assert not parser.closed


def test_feed_accepts_bytearray_and_memoryview() -> None:
    parser = RequestParser()
    parser.feed(bytearray(b"GET / HTTP/1.1\r\n"))
    parser.feed(memoryview(b"Host: a\r\n\r\n"))
    assert drain(parser) == [req(), eom()]


# --- bugs found ---------------------------------------------------------------------------------


def test_many_leading_crlfs_same_verdict_however_split() -> None:
    # Up to 8 empty lines are skipped (RFC 9112 §2.2); more are a 400, however they arrive.
    for count, status in ((8, None), (9, 400)):
        raw = b"\r\n" * count + b"GET / HTTP/1.1\r\n" + H + b"\r\n"
        at_once = parse(raw)[:2]
        parser = RequestParser()
        piecewise: list[tuple[Any, ...]] = []
        verdict = None
        try:
            for i in range(0, len(raw), 2):
                parser.feed(raw[i : i + 2])
                piecewise += drain(parser)
        except ProtocolError as exc:
            verdict = exc.status_hint
        error = at_once[1]
        assert (error.status_hint if error else None) == status
        assert verdict == status
        if status is None:
            assert at_once[0] == piecewise


def test_bare_cr_at_header_limit_same_status_however_split() -> None:
    limit = 64
    head = b"GET / HTTP/1.1\r\n" + H + b"X: "
    head += b"v" * (limit - len(head))
    raw = head + b"\rX"
    _, at_once, _ = parse(raw, max_header_bytes=limit)
    parser = RequestParser(max_header_bytes=limit)
    parser.feed(raw[: limit + 1])
    with pytest.raises(ProtocolError) as split:  # noqa: PT012
        drain(parser)
        parser.feed(raw[limit + 1 :])
        drain(parser)
    assert at_once is not None
    assert at_once.status_hint == split.value.status_hint


@pytest.mark.parametrize("pulled", [0, 1])
def test_eof_after_complete_but_unread_request(pulled: int) -> None:
    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
    for _ in range(pulled):
        parser.next_event()
    parser.feed_eof()
    assert len(drain(parser)) == 2 - pulled


@pytest.mark.parametrize("target", [b"/", b"http://example.com/"])
def test_connect_any_form_is_not_implemented(target: bytes) -> None:
    _, error, _ = parse(b"CONNECT " + target + b" HTTP/1.1\r\n" + H + b"\r\n")
    assert error is not None
    assert error.status_hint in (400, 501)


@pytest.mark.parametrize("host", [b"a b", b"a/b", b"a@b:80"])
def test_invalid_host_value_rejected(host: bytes) -> None:
    _, error, _ = parse(b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    assert error is not None
    assert error.status_hint == 400


@pytest.mark.parametrize("target", [b"/a#b", b"/a?x=1#f", b"/#"])
def test_a_fragment_in_the_target_is_refused(target: bytes) -> None:
    # RFC 9112 §3.2: a request-target has no fragment; a client strips it before sending.
    events, error, _ = parse(b"GET " + target + b" HTTP/1.1\r\n" + H + b"\r\n")
    assert events == []
    assert error is not None
    assert error.status_hint == 400


def test_take_buffered_hands_over_the_bytes_after_the_request_and_stops_parsing() -> None:
    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n\x81\x85")
    assert isinstance(parser.next_event(), Request)
    assert isinstance(parser.next_event(), EndOfMessage)
    assert parser.take_buffered() == b"\x81\x85"
    parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")  # no longer parsed
    assert parser.next_event() is NEED_DATA
    assert parser.buffered == 0


# --- remembered heads ---------------------------------------------------------------------------


def test_a_remembered_head_gives_its_requests_one_read_only_request_object() -> None:
    parser = RequestParser()
    head = b"GET /r?q=1 HTTP/1.1\r\nHost: a\r\nX-Y: z\r\n\r\n"
    parser.feed(head * 2)
    first = parser.next_event()
    assert isinstance(parser.next_event(), EndOfMessage)
    second = parser.next_event()
    assert isinstance(first, Request)
    assert first is second
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.keep_alive = False  # type: ignore[misc]


# --- feed_whole -----------------------------------------------------------------------------


def test_feed_whole_answers_a_remembered_bodyless_head_in_one_call() -> None:
    head = b"GET /r HTTP/1.1\r\nHost: a\r\n\r\n"
    parser = RequestParser()
    assert parser.feed_whole(head) is None  # not seen before: buffered, as feed does
    first = parser.next_event()
    assert isinstance(first, Request)
    assert isinstance(parser.next_event(), EndOfMessage)
    assert parser.feed_whole(head) is first
    assert parser.buffered == 0
    assert not parser.mid_request
    assert parser.next_event() is NEED_DATA
    assert parser.feed_whole(head) is first  # and again: the parser is back at a head


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n", "a body"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", "an expectation"),
    ],
)
def test_feed_whole_leaves_bodies_and_expectations_to_next_event(head: bytes, why: str) -> None:
    warm = RequestParser()
    warm.feed(head)
    assert isinstance(warm.next_event(), Request)  # now remembered
    parser = RequestParser()
    assert parser.feed_whole(head) is None, why
    assert isinstance(parser.next_event(), Request)
    assert parser.mid_request or isinstance(parser.next_event(), EndOfMessage)


def test_feed_whole_buffers_behind_bytes_already_waiting() -> None:
    head = b"GET /w HTTP/1.1\r\nHost: a\r\n\r\n"
    RequestParser().feed(head)  # nothing parsed: not remembered yet
    parser = RequestParser()
    parser.feed(head)
    assert isinstance(parser.next_event(), Request)
    assert isinstance(parser.next_event(), EndOfMessage)
    parser.feed(head[:5])
    assert parser.feed_whole(head) is None  # after a partial head: buffered behind it
    assert parser.buffered == len(head) + 5


def test_next_whole_reads_pipelined_remembered_heads_one_by_one() -> None:
    first = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
    second = b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n"
    post = b"POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
    warm = RequestParser()
    warm.feed(first + second + post)
    events = testing.drain(warm, norm)
    assert len(events) == 7
    parser = RequestParser()
    parser.feed(first * 2 + second + first + post)
    got = [parser.next_whole() for _ in range(4)]
    assert [r.path if r else None for r in got] == ["/a", "/a", "/b", "/a"]
    assert parser.next_whole() is None  # a body: next_event's to read
    assert norm(parser.next_event())[:2] == ("request", "POST")
    assert parser.next_whole() is None  # in the middle of a body
    assert testing.drain(parser, norm) == [data(b"hi"), eom()]
    assert parser.next_whole() is None  # nothing buffered


def test_whole_requests_after_empty_lines_reset_their_count() -> None:
    head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    parser = RequestParser()
    parser.feed_whole(head)
    testing.drain(parser, norm)
    assert parser.feed_whole(head) is not None  # remembered as the last request
    for _ in range(20):  # more CRLFs in all than one request may have before it
        parser.feed(b"\r\n")
        assert parser.next_event() is NEED_DATA
        assert parser.feed_whole(head) is not None
    for _ in range(20):
        parser.feed(b"\r\n")
        assert parser.next_event() is NEED_DATA
        parser.feed(head)
        assert parser.next_whole() is not None


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_feed_whole_takes_any_bytes_like_input(kind: Any) -> None:
    head = b"GET /%s HTTP/1.1\r\nHost: a\r\n\r\n" % kind.__name__.encode()
    parser = RequestParser()
    buf = bytearray(head)
    assert parser.feed_whole(kind(buf)) is None  # not seen yet: buffered
    first = parser.next_event()
    assert isinstance(first, Request)
    assert isinstance(parser.next_event(), EndOfMessage)
    assert parser.feed_whole(kind(buf)) is first
    buf[:3] = b"PUT"  # the caller reuses its buffer: what the parser kept is unchanged
    assert parser.feed_whole(head) is first


def test_feed_whole_of_a_closing_request_closes_the_parser() -> None:
    head = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    parser = RequestParser()
    parser.feed(head)
    request = parser.next_event()
    assert isinstance(parser.next_event(), EndOfMessage)
    assert isinstance(request, Request)
    again = RequestParser()
    assert again.feed_whole(head) is request
    assert again.closed
    assert again.feed_whole(head) is None  # ignored, as feed ignores it
    assert again.buffered == 0


def test_a_head_remembered_under_loose_limits_still_fails_tight_ones() -> None:
    head = b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"
    events, error, _ = parse(head)
    assert error is None
    events, error, _ = parse(head, max_headers=2)
    assert events == []
    assert error is not None
    assert error.status_hint == 431


def test_remembered_heads_are_bounded() -> None:
    for i in range(3 * _request._MAX_CACHED_HEADS):
        _, error, _ = parse(b"GET /%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
        assert error is None
    assert all(len(cache) <= _request._MAX_CACHED_HEADS for cache in _request._head_caches.values())


def test_the_limits_are_read_only() -> None:
    parser = RequestParser(max_headers=3)
    with pytest.raises(AttributeError):
        parser.max_headers = 4  # type: ignore[misc]
    assert parser.max_headers == 3
