"""`ResponseParser` and `request_head` (sws_http.proto._response_parser, ._client): the exact
events for each framing case of RFC 9112 §6.3, keep-alive, limits, the ProtocolErrors for
malformed responses, sequences of responses on one connection, stray bytes after them, and
the request heads a client writes.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
import sws_http_testing as testing  # loaded by ../conftest.py
from sws_http_testing import data, eom, merge_data

from sws_http.proto import (
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_RESPONSE_BODY_BYTES,
    Data,
    EndOfMessage,
    ProtocolError,
    Response,
    ResponseParser,
    _response_parser,
    chunk,
    last_chunk,
    request_head,
)

# --- helpers ------------------------------------------------------------------------------------


norm = testing.norm_response
drain = partial(testing.drain, norm=norm, nonempty=True)  # every event until NEED_DATA, bounded
feed_byte_by_byte = partial(testing.feed_byte_by_byte, norm=norm, nonempty=True)


def parse(
    raw: bytes, methods: tuple[str, ...] = ("GET",), *, eof: bool = False, **limits: int
) -> tuple[list[tuple[Any, ...]], ProtocolError | None, ResponseParser]:
    """Expect `methods`, feed `raw` at once (then EOF if asked); return the merged events,
    the error if any, and the parser."""
    parser = ResponseParser(**limits)
    for method in methods:
        parser.expect(method)
    parser.feed(raw)
    if eof:
        parser.feed_eof()
    return (*testing.parse_fed(parser, norm), parser)


def resp(
    status: int = 200,
    reason: str = "OK",
    *,
    version: str = "1.1",
    headers: list[tuple[str, str]] | None = None,
    keep_alive: bool = True,
    content_length: int | None = 0,
) -> tuple[Any, ...]:
    return ("response", status, reason, version, headers or [], keep_alive, content_length)


def info(
    status: int = 100, reason: str = "Continue", headers: list[tuple[str, str]] | None = None
) -> tuple[Any, ...]:
    return ("info", status, reason, "1.1", headers or [])


OK = b"HTTP/1.1 200 OK\r\n"
CL0 = b"Content-Length: 0\r\n"
TE = b"Transfer-Encoding: chunked\r\n"

# --- status lines -------------------------------------------------------------------------------

VALID_STATUS_LINES = [
    pytest.param(b"HTTP/1.1 200 OK", 200, "OK", "1.1", id="200-ok"),
    pytest.param(b"HTTP/1.0 404 Not Found", 404, "Not Found", "1.0", id="http10-404"),
    pytest.param(b"HTTP/1.1 599 x", 599, "x", "1.1", id="599"),
    pytest.param(b"HTTP/1.1 200 ", 200, "", "1.1", id="empty-reason"),
    # RFC 9112 §4 requires the SP; h11 and curl accept its absence, and so do we.
    pytest.param(b"HTTP/1.1 200", 200, "", "1.1", id="no-sp-no-reason"),
    pytest.param(b"HTTP/1.1 200  OK", 200, " OK", "1.1", id="reason-as-sent"),
    pytest.param(b"HTTP/1.1 200 A b\tc ", 200, "A b\tc ", "1.1", id="reason-sp-htab"),
    pytest.param(b"HTTP/1.1 200 caf\xe9", 200, "caf\xe9", "1.1", id="reason-obs-text"),
    pytest.param(b"HTTP/1.1 418 I'm a teapot", 418, "I'm a teapot", "1.1", id="unregistered"),
    # RFC 9110 §2.5: a higher minor version is processed as the highest one implemented.
    pytest.param(b"HTTP/1.2 200 OK", 200, "OK", "1.1", id="http12-as-11"),
]


@pytest.mark.parametrize(("line", "status", "reason", "version"), VALID_STATUS_LINES)
def test_valid_status_lines(line: bytes, status: int, reason: str, version: str) -> None:
    events, error, _ = parse(line + b"\r\n" + CL0 + b"\r\n")
    assert error is None
    keep_alive = version == "1.1"
    expected = resp(
        status, reason, version=version, headers=[("content-length", "0")], keep_alive=keep_alive
    )
    assert events == [expected, eom()]


INVALID_STATUS_LINES = [
    pytest.param(b"HTTP/1.1 200OK", id="no-sp-before-reason"),
    pytest.param(b"HTTP/1.1  200 OK", id="double-sp"),
    pytest.param(b"HTTP/1.1\t200 OK", id="htab"),
    pytest.param(b"HTTP/1.1 20 OK", id="two-digits"),
    pytest.param(b"HTTP/1.1 2000 OK", id="four-digits"),
    pytest.param(b"HTTP/1.1 2x0 OK", id="not-digits"),
    pytest.param(b"HTTP/1.1 -20 OK", id="sign"),
    pytest.param(b"HTTP/1.1 099 X", id="below-100"),
    pytest.param(b"HTTP/1.1 000", id="zero"),
    pytest.param(b"HTTP/1.1 600 X", id="above-599"),  # RFC 9110 §15
    pytest.param(b"HTTP/2.0 200 OK", id="http2"),
    pytest.param(b"HTTP/0.9 200 OK", id="http09"),
    pytest.param(b"HTTP/11 200 OK", id="version-no-dot"),
    pytest.param(b"HTTP/1.1", id="version-only"),
    pytest.param(b"HTTP/1.1 200 O\x01K", id="control-in-reason"),
    pytest.param(b"HTTP/1.1 200 O\x7fK", id="del-in-reason"),
    pytest.param(b"http/1.1 200 OK", id="lowercase-http"),
    pytest.param(b" HTTP/1.1 200 OK", id="leading-space"),
    pytest.param(b"\r\nHTTP/1.1 200 OK", id="leading-empty-line"),
    pytest.param(b"ICY 200 OK", id="not-http"),
    pytest.param(b"SSH-2.0-OpenSSH_9.6", id="ssh-banner"),
]


@pytest.mark.parametrize("line", INVALID_STATUS_LINES)
def test_invalid_status_lines(line: bytes) -> None:
    events, error, parser = parse(line + b"\r\n" + CL0 + b"\r\n")
    assert events == []
    assert error is not None
    assert error.status_hint == 502
    with pytest.raises(ProtocolError) as again:
        parser.next_event()
    assert again.value is error


@pytest.mark.parametrize(
    "prefix", [b"X", b"HTTX", b"\x16\x03\x01", b"\r", b"<html>"], ids=lambda p: repr(p)
)
def test_non_http_fails_at_the_first_wrong_byte(prefix: bytes) -> None:
    # A peer that does not speak HTTP (TLS, HTML, a banner) fails before any head limit.
    _, error, _ = parse(prefix)
    assert error is not None
    assert "does not start with 'HTTP/'" in error.message


def test_http_prefix_alone_waits() -> None:
    for n in range(6):
        events, error, _ = parse(b"HTTP/1"[:n])
        assert (events, error) == ([], None)


# --- framing (RFC 9112 §6.3) --------------------------------------------------------------------

FRAMING: list[Any] = [
    pytest.param(
        ("GET",),
        OK + b"Content-Length: 5\r\n\r\nhello",
        [resp(headers=[("content-length", "5")], content_length=5), data(b"hello"), eom()],
        id="content-length",
    ),
    pytest.param(
        ("GET",),
        OK + CL0 + b"\r\n",
        [resp(headers=[("content-length", "0")]), eom()],
        id="content-length-0",
    ),
    pytest.param(
        ("GET",),
        OK + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        [
            resp(headers=[("content-length", "3"), ("content-length", "3")], content_length=3),
            data(b"abc"),
            eom(),
        ],
        id="repeated-identical-content-length",
    ),
    pytest.param(
        ("GET",),
        OK + b"Content-Length: 3 , 3\r\n\r\nabc",
        [resp(headers=[("content-length", "3 , 3")], content_length=3), data(b"abc"), eom()],
        id="content-length-list-identical",
    ),
    pytest.param(
        ("GET",),
        OK + b"Content-Length: 007\r\n\r\n1234567",
        [resp(headers=[("content-length", "007")], content_length=7), data(b"1234567"), eom()],
        id="content-length-leading-zeros",
    ),
    pytest.param(
        ("HEAD",),
        OK + b"Content-Length: 10\r\n\r\n",
        [resp(headers=[("content-length", "10")]), eom()],
        id="head-with-content-length",
    ),
    pytest.param(
        ("HEAD",),
        OK + TE + b"\r\n",
        [resp(headers=[("transfer-encoding", "chunked")]), eom()],
        id="head-with-chunked",
    ),
    pytest.param(
        ("HEAD",),
        OK + b"\r\n",
        [resp(), eom()],
        id="head-without-framing-is-not-close-delimited",
    ),
    pytest.param(
        ("GET",),
        b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
        [resp(204, "No Content", headers=[("content-length", "5")]), eom()],
        id="204-ignores-content-length",
    ),
    pytest.param(
        ("GET",),
        b"HTTP/1.1 304 Not Modified\r\n" + TE + b"Content-Length: x\r\n\r\n",
        [
            resp(
                304,
                "Not Modified",
                headers=[("transfer-encoding", "chunked"), ("content-length", "x")],
            ),
            eom(),
        ],
        id="304-framing-fields-not-interpreted",
    ),
    pytest.param(
        ("POST",),
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
        + OK
        + b"Content-Length: 2\r\n\r\nok",
        [
            info(),
            info(103, "Early Hints", [("link", "</s.css>; rel=preload")]),
            resp(headers=[("content-length", "2")], content_length=2),
            data(b"ok"),
            eom(),
        ],
        id="1xx-then-final",
    ),
    pytest.param(
        ("HEAD",),
        b"HTTP/1.1 102 Processing\r\nContent-Length: 9\r\n\r\n" + OK + b"Content-Length: 9\r\n\r\n",
        [
            info(102, "Processing", [("content-length", "9")]),
            resp(headers=[("content-length", "9")]),
            eom(),
        ],
        id="1xx-keeps-the-method",
    ),
    pytest.param(
        ("GET",),
        OK + TE + b"\r\n"
        b'5;name=val\r\nhello\r\n6 ; x ; y="q"\r\n world\r\nA\r\n0123456789\r\n'
        b"0;last\r\nX-Checksum: abc\r\nX-Other: \t v \r\n\r\n",
        [
            resp(headers=[("transfer-encoding", "chunked")], content_length=None),
            data(b"hello world0123456789"),
            eom([("x-checksum", "abc"), ("x-other", "v")]),
        ],
        id="chunked-extensions-trailers",
    ),
    pytest.param(
        ("GET",),
        OK + b"Transfer-Encoding: Chunked\r\n\r\nFF\r\n" + b"x" * 255 + b"\r\n0\r\n\r\n",
        [
            resp(headers=[("transfer-encoding", "Chunked")], content_length=None),
            data(b"x" * 255),
            eom(),
        ],
        id="chunked-case-insensitive-upper-hex",
    ),
    pytest.param(
        ("GET",),
        OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n\x1f\x8b\r\n0\r\n\r\n",
        [
            resp(headers=[("transfer-encoding", "gzip, chunked")], content_length=None),
            data(b"\x1f\x8b"),
            eom(),
        ],
        id="chunked-last-of-several",
    ),
    pytest.param(
        ("GET",),
        OK + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        [
            resp(
                headers=[("transfer-encoding", "gzip"), ("transfer-encoding", "chunked")],
                content_length=None,
            ),
            eom(),
        ],
        id="chunked-last-across-fields",
    ),
    pytest.param(
        ("GET",),
        OK + b"Transfer-Encoding: gzip\r\n\r\nbody then close",
        [
            resp(headers=[("transfer-encoding", "gzip")], keep_alive=False, content_length=None),
            data(b"body then close"),
            eom(),
        ],
        id="te-not-chunked-read-until-close",
    ),
    pytest.param(
        ("GET",),
        OK + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        [
            resp(
                headers=[("transfer-encoding", "chunked, gzip")],
                keep_alive=False,
                content_length=None,
            ),
            data(b"0\r\n\r\n"),
            eom(),
        ],
        id="te-chunked-not-last-read-until-close",
    ),
    pytest.param(
        ("GET",),
        OK + b"Content-Type: text/plain\r\n\r\nall of it\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
        [
            resp(headers=[("content-type", "text/plain")], keep_alive=False, content_length=None),
            data(b"all of it\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"),
            eom(),
        ],
        id="read-until-close",
    ),
    pytest.param(
        ("GET",),
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nx",
        [
            resp(
                version="1.0",
                headers=[("connection", "keep-alive")],
                keep_alive=False,
                content_length=None,
            ),
            data(b"x"),
            eom(),
        ],
        id="read-until-close-never-keep-alive",
    ),
    pytest.param(
        ("CONNECT",),
        b"HTTP/1.1 200 Connection Established\r\nContent-Length: 99\r\n\r\n",
        [
            resp(
                200, "Connection Established", headers=[("content-length", "99")], keep_alive=False
            ),
            eom(),
        ],
        id="connect-2xx-no-body",
    ),
    pytest.param(
        ("CONNECT",),
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno",
        [
            resp(
                407,
                "Proxy Authentication Required",
                headers=[("content-length", "2")],
                content_length=2,
            ),
            data(b"no"),
            eom(),
        ],
        id="connect-4xx-has-body",
    ),
]


@pytest.mark.parametrize(("methods", "raw", "expected"), FRAMING)
def test_framing(methods: tuple[str, ...], raw: bytes, expected: list[tuple[Any, ...]]) -> None:
    events, error, _ = parse(raw, methods, eof=True)
    assert error is None
    assert events == expected


@pytest.mark.parametrize(("methods", "raw", "expected"), FRAMING)
def test_framing_byte_by_byte(
    methods: tuple[str, ...], raw: bytes, expected: list[tuple[Any, ...]]
) -> None:
    parser = ResponseParser()
    for method in methods:
        parser.expect(method)
    events = feed_byte_by_byte(parser, raw)
    parser.feed_eof()
    assert merge_data(events + drain(parser)) == expected


def test_read_until_close_waits_for_eof() -> None:
    events, error, parser = parse(OK + b"\r\nabc")
    assert error is None
    assert events == [resp(keep_alive=False, content_length=None), data(b"abc")]
    parser.feed(b"def")
    assert drain(parser) == [data(b"def")]
    parser.feed_eof()
    assert drain(parser) == [eom()]
    assert not parser.reusable
    assert parser.trailing_data == b""


def test_body_comes_out_as_it_arrives() -> None:
    parser = ResponseParser()
    parser.expect("GET")
    parser.feed(OK + b"Content-Length: 1000000\r\n\r\n" + b"a" * 1000)
    assert drain(parser) == [
        resp(headers=[("content-length", "1000000")], content_length=1_000_000),
        data(b"a" * 1000),
    ]
    assert parser.buffered == 0  # nothing held back
    for _ in range(998):
        parser.feed(b"b" * 1000)
        assert drain(parser) == [data(b"b" * 1000)]
        assert parser.buffered == 0
    parser.feed(b"c" * 1000)
    assert drain(parser) == [data(b"c" * 1000), eom()]


# --- keep-alive ---------------------------------------------------------------------------------

KEEP_ALIVE = [
    pytest.param(OK + CL0, "GET", True, id="11-length"),
    pytest.param(OK + CL0 + b"Connection: close\r\n", "GET", False, id="11-close"),
    pytest.param(OK + CL0 + b"Connection: keep-alive, CLOSE\r\n", "GET", False, id="11-close-list"),
    pytest.param(
        OK + CL0 + b"Connection: x\r\nConnection: close\r\n", "GET", False, id="11-2-fields"
    ),
    pytest.param(OK + CL0 + b"Connection: upgrade\r\n", "GET", True, id="11-other-option"),
    pytest.param(OK + TE, "GET", True, id="11-chunked"),
    pytest.param(OK, "GET", False, id="11-close-delimited"),
    pytest.param(b"HTTP/1.1 204 No Content\r\n", "GET", True, id="11-204"),
    pytest.param(b"HTTP/1.0 200 OK\r\n" + CL0, "GET", False, id="10-length"),
    pytest.param(
        b"HTTP/1.0 200 OK\r\n" + CL0 + b"Connection: Keep-Alive\r\n", "GET", True, id="10-ka"
    ),
    pytest.param(
        b"HTTP/1.0 200 OK\r\n" + CL0 + b"Connection: keep-alive, close\r\n",
        "GET",
        False,
        id="10-ka-and-close",
    ),
    pytest.param(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n", "GET", False, id="10-ka-no-length"
    ),
    pytest.param(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n", "HEAD", True, id="10-ka-head"),
    pytest.param(
        b"HTTP/1.0 304 Not Modified\r\nConnection: keep-alive\r\n", "GET", True, id="10-ka-304"
    ),
    pytest.param(b"HTTP/1.0 204 No Content\r\n", "GET", False, id="10-204"),
]


@pytest.mark.parametrize(("head", "method", "keep_alive"), KEEP_ALIVE)
def test_keep_alive(head: bytes, method: str, keep_alive: bool) -> None:
    body = b"0\r\n\r\n" if b"chunked" in head and method != "HEAD" else b""
    events, error, parser = parse(head + b"\r\n" + body, (method,), eof=True)
    assert error is None
    assert events[0][5] is keep_alive
    assert events[-1] == eom()
    if keep_alive:
        parser.expect("GET")  # the connection may carry another request
    else:
        with pytest.raises(RuntimeError):
            parser.expect("GET")


# --- bare LF line ends (accepted in heads and trailers, never in chunked framing) ----------------

BARE_LF: list[Any] = [
    pytest.param(
        b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
        [resp(headers=[("content-length", "2")], content_length=2), data(b"ok"), eom()],
        id="all-lf",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nX: 1\nContent-Length: 2\r\n\nok",
        [resp(headers=[("x", "1"), ("content-length", "2")], content_length=2), data(b"ok"), eom()],
        id="mixed",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\nContent-Length: 0\n\r\n",
        [resp(headers=[("content-length", "0")]), eom()],
        id="lf-then-crlf-end",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\n" + TE + b"\r\n1\r\nx\r\n0\r\nT: 1\nU: 2\n\n",
        [
            resp(headers=[("transfer-encoding", "chunked")], content_length=None),
            data(b"x"),
            eom([("t", "1"), ("u", "2")]),
        ],
        id="trailers-lf",
    ),
    pytest.param(
        OK + TE + b"\r\n0\r\n\n",
        [resp(headers=[("transfer-encoding", "chunked")], content_length=None), eom()],
        id="empty-trailers-lf",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), BARE_LF)
def test_bare_lf_in_heads(raw: bytes, expected: list[tuple[Any, ...]]) -> None:
    events, error, _ = parse(raw)
    assert error is None
    assert events == expected


# --- malformed responses ------------------------------------------------------------------------

CHUNKED = OK + TE + b"\r\n"

MALFORMED = [
    pytest.param(OK + b"X: a\rb\r\n\r\n", "bare CR", id="bare-cr-in-value"),
    pytest.param(b"HTTP/1.1 200 OK\r\r\n\r\n", "bare CR", id="bare-cr-line-end"),
    pytest.param(OK + b"X: a\x00b\r\n\r\n", "NUL", id="nul-in-value"),
    pytest.param(OK + b"X: a\x01b\r\n\r\n", "control character", id="ctl-in-value"),
    pytest.param(OK + b"X: a\x7fb\r\n\r\n", "control character", id="del-in-value"),
    pytest.param(OK + b"X: a\r\n b\r\n\r\n", "obs-fold", id="obs-fold"),
    pytest.param(OK + b"X: a\r\n\tb\r\n\r\n", "obs-fold", id="obs-fold-htab"),
    pytest.param(OK + b"X : a\r\n\r\n", "field name", id="space-before-colon"),
    pytest.param(OK + b": a\r\n\r\n", "field name", id="empty-name"),
    pytest.param(OK + b"X\r\n\r\n", "field name", id="no-colon"),
    pytest.param(OK + b"X(: a\r\n\r\n", "field name", id="name-not-token"),
    pytest.param(
        OK + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", "conflicting", id="conflicting-cl"
    ),
    pytest.param(OK + b"Content-Length: 5, 6\r\n\r\n", "conflicting", id="conflicting-cl-list"),
    pytest.param(OK + b"Content-Length: 5,\r\n\r\n", "conflicting", id="cl-empty-list-item"),
    *[
        pytest.param(OK + b"Content-Length: " + v + b"\r\n\r\n", "Content-Length", id=f"cl-{v!r}")
        for v in (b"+5", b"5a", b"-1", b"0x5", b"", b"1" * 19, b"\xb2")
    ],
    pytest.param(OK + b"Content-Length: 3\r\n" + TE + b"\r\n", "both", id="cl-and-te"),
    pytest.param(b"HTTP/1.0 200 OK\r\n" + TE + b"\r\n", "HTTP/1.0", id="te-in-http10"),
    pytest.param(OK + b"Transfer-Encoding: chunked, chunked\r\n\r\n", "more than once", id="te-2x"),
    pytest.param(OK + TE + TE + b"\r\n", "more than once", id="te-twice-fields"),
    pytest.param(OK + b"Transfer-Encoding: chunked;x=1\r\n\r\n", "coding", id="te-params"),
    pytest.param(OK + b"Transfer-Encoding: ,chunked\r\n\r\n", "coding", id="te-empty-item"),
    pytest.param(OK + b"Transfer-Encoding: \r\n\r\n", "coding", id="te-empty"),
    pytest.param(CHUNKED + b"zz\r\n", "chunk size", id="chunk-size-not-hex"),
    pytest.param(CHUNKED + b"-1\r\n", "chunk size", id="chunk-size-sign"),
    pytest.param(CHUNKED + b" 5\r\n", "chunk size", id="chunk-size-leading-space"),
    pytest.param(CHUNKED + b"\r\n", "chunk size", id="chunk-size-empty"),
    pytest.param(CHUNKED + b"1" * 17 + b"\r\n", "chunk size", id="chunk-size-17-digits"),
    pytest.param(CHUNKED + b"5\nhello", "bare LF", id="chunk-size-bare-lf"),
    pytest.param(CHUNKED + b"5\r;\r\nhello", "bare CR", id="chunk-size-bare-cr"),
    pytest.param(CHUNKED + b"5;a\x01\r\nhello", "chunk extension", id="chunk-ext-control"),
    pytest.param(CHUNKED + b"3\r\nhello\r\n", "not followed by CRLF", id="chunk-data-longer"),
    pytest.param(CHUNKED + b"5\r\nhello\n0\r\n\r\n", "not followed by CRLF", id="chunk-end-lf"),
    pytest.param(CHUNKED + b"0\r\nX : a\r\n\r\n", "trailer field name", id="trailer-bad-name"),
    pytest.param(CHUNKED + b"0\r\nX: a\r\n b\r\n\r\n", "obs-fold", id="trailer-obs-fold"),
    pytest.param(CHUNKED + b"0\r\nX: a\x00\r\n\r\n", "NUL", id="trailer-nul"),
]


@pytest.mark.parametrize(("raw", "words"), MALFORMED)
def test_malformed(raw: bytes, words: str) -> None:
    _, error, parser = parse(raw)
    assert error is not None, "accepted"
    assert error.status_hint == 502
    assert words in error.message
    with pytest.raises(ProtocolError) as again:
        parser.next_event()
    assert again.value is error
    parser.feed(b"HTTP/1.1 200 OK\r\n\r\n")  # ignored
    with pytest.raises(RuntimeError):
        parser.expect("GET")


@pytest.mark.parametrize(("raw", "words"), MALFORMED)
def test_malformed_byte_by_byte(raw: bytes, words: str) -> None:
    parser = ResponseParser()
    parser.expect("GET")
    with pytest.raises(ProtocolError) as error:
        feed_byte_by_byte(parser, raw)
    assert words in error.value.message
    assert error.value.message == parse(raw)[1].message  # type: ignore[union-attr]


EOF_CASES = [
    pytest.param(b"", "before the response", id="nothing"),
    pytest.param(b"HTTP/1.1 200 OK\r\n", "head", id="in-head"),
    pytest.param(b"HTTP/1.1 100 Continue\r\n\r\n", "before the response", id="after-1xx"),
    pytest.param(OK + b"Content-Length: 5\r\n\r\nhel", "body", id="in-length-body"),
    pytest.param(CHUNKED, "body", id="before-chunk-size"),
    pytest.param(CHUNKED + b"5\r\nhel", "body", id="in-chunk"),
    pytest.param(CHUNKED + b"5\r\nhello", "body", id="before-chunk-crlf"),
    pytest.param(CHUNKED + b"5\r\nhello\r", "body", id="in-chunk-crlf"),
    pytest.param(CHUNKED + b"0\r\n", "body", id="before-trailers"),
    pytest.param(CHUNKED + b"0\r\nX: 1\r\n", "body", id="in-trailers"),
]


@pytest.mark.parametrize(("raw", "words"), EOF_CASES)
def test_eof_cuts_a_response_short(raw: bytes, words: str) -> None:
    _, error, _ = parse(raw, eof=True)
    assert error is not None
    assert "connection closed" in error.message
    assert words in error.message


def test_eof_between_responses_is_clean() -> None:
    events, error, parser = parse(OK + CL0 + b"\r\n", eof=True)
    assert error is None
    assert events == [resp(headers=[("content-length", "0")]), eom()]
    assert drain(parser) == []
    assert not parser.reusable  # the peer closed


# --- limits -------------------------------------------------------------------------------------


def test_default_limits() -> None:
    parser = ResponseParser()
    assert parser.max_header_bytes == DEFAULT_MAX_HEADER_BYTES == 16384
    assert parser.max_headers == DEFAULT_MAX_HEADERS == 100
    assert parser.max_body_bytes == DEFAULT_MAX_RESPONSE_BODY_BYTES == 1 << 30


@pytest.mark.parametrize("lf", [False, True], ids=["crlf", "lf"])
def test_max_header_bytes_boundary(lf: bool) -> None:
    head = OK + b"X: " + b"v" * 50 + b"\r\n" + CL0 + b"\r\n"
    if lf:
        head = head.replace(b"\r\n", b"\n")
    events, error, _ = parse(head, max_header_bytes=len(head))
    assert error is None
    assert events[-1] == eom()
    events, error, _ = parse(head, max_header_bytes=len(head) - 1)
    assert events == []
    assert error is not None
    assert f"longer than {len(head) - 1} bytes" in error.message


def test_max_header_bytes_without_end_fails_at_the_limit() -> None:
    events, error, _ = parse(OK + b"X: " + b"v" * 100, max_header_bytes=50)
    assert error is not None
    assert "response head longer than 50 bytes" in error.message
    events, error, _ = parse(OK + b"X: " + b"v" * 10, max_header_bytes=50)
    assert (events, error) == ([], None)


def test_max_headers() -> None:
    head = OK + b"".join(b"X-%d: v\r\n" % i for i in range(4)) + b"\r\n"
    events, error, _ = parse(head, methods=("HEAD",), max_headers=4)
    assert error is None
    assert len(events[0][4]) == 4
    _, error, _ = parse(head, methods=("HEAD",), max_headers=3)
    assert error is not None
    assert "4 header fields exceed 3" in error.message


def test_max_headers_in_trailers() -> None:
    raw = CHUNKED + b"0\r\nA: 1\r\nB: 2\r\n\r\n"
    events, error, _ = parse(raw, max_headers=2)
    assert error is None
    assert events[-1] == eom([("a", "1"), ("b", "2")])
    _, error, _ = parse(raw, max_headers=1)
    assert error is not None
    assert "2 trailer fields exceed 1" in error.message


def test_trailer_section_limit() -> None:
    raw = CHUNKED + b"0\r\nA: " + b"x" * 100 + b"\r\n\r\n"
    _, error, _ = parse(raw, max_header_bytes=60)
    assert error is not None
    assert "trailer section longer than 60 bytes" in error.message


def test_max_body_bytes_content_length() -> None:
    events, error, _ = parse(OK + b"Content-Length: 10\r\n\r\n" + b"x" * 10, max_body_bytes=10)
    assert error is None
    assert events[-1] == eom()
    events, error, _ = parse(OK + b"Content-Length: 11\r\n\r\n", max_body_bytes=10)
    assert events == []  # refused at the head, before any body byte
    assert error is not None
    assert "body of 11 bytes exceeds 10" in error.message


def test_max_body_bytes_chunked() -> None:
    raw = CHUNKED + b"6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n"
    events, error, _ = parse(raw, max_body_bytes=10)
    assert error is None
    assert events[1:] == [data(b"abcdefghij"), eom()]
    events, error, _ = parse(raw, max_body_bytes=9)
    assert events[1:] == [data(b"abcdef")]  # the chunk that crosses the limit is refused
    assert error is not None
    assert "chunked body exceeds 9 bytes" in error.message


def test_max_body_bytes_read_until_close() -> None:
    events, error, _ = parse(OK + b"\r\n" + b"x" * 10, eof=True, max_body_bytes=10)
    assert error is None
    assert events[1:] == [data(b"x" * 10), eom()]
    events, error, _ = parse(OK + b"\r\n" + b"x" * 11, max_body_bytes=10)
    assert events[1:] == [data(b"x" * 10)]  # up to the limit, whatever the split
    assert error is not None
    assert "close-delimited body exceeds 10 bytes" in error.message


def test_chunk_size_line_limit() -> None:
    _, error, _ = parse(CHUNKED + b"1;" + b"e" * 5000)
    assert error is not None
    assert "chunk size line longer than 4096 bytes" in error.message
    events, error, _ = parse(CHUNKED + b"1;" + b"e" * 4000 + b"\r\nx\r\n0\r\n\r\n")
    assert error is None
    assert events[1:] == [data(b"x"), eom()]


# --- sequences of responses on one connection ---------------------------------------------------


def test_pipelined_responses() -> None:
    raw = (
        OK + b"Content-Length: 3\r\n\r\nabc"
        b"HTTP/1.1 204 No Content\r\n\r\n"
        + OK
        + b"Content-Length: 5\r\n\r\n"  # to HEAD: no body follows
        + CHUNKED
        + b"2\r\nhi\r\n0\r\n\r\n"
        b"HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n"
    )
    events, error, parser = parse(raw, ("GET", "DELETE", "HEAD", "GET", "GET"))
    assert error is None
    assert events == [
        resp(headers=[("content-length", "3")], content_length=3),
        data(b"abc"),
        eom(),
        resp(204, "No Content"),
        eom(),
        resp(headers=[("content-length", "5")]),
        eom(),
        resp(headers=[("transfer-encoding", "chunked")], content_length=None),
        data(b"hi"),
        eom(),
        resp(304, "Not Modified", headers=[("etag", "x")]),
        eom(),
    ]
    assert parser.reusable
    assert parser.trailing_data == b""


def test_expect_after_each_response() -> None:
    parser = ResponseParser()
    for i in range(3):
        assert parser.reusable
        parser.expect("GET")
        body = b"%d" % i
        parser.feed(OK + b"Content-Length: 1\r\n\r\n" + body)
        assert drain(parser) == [
            resp(headers=[("content-length", "1")], content_length=1),
            data(body),
            eom(),
        ]


def test_nothing_expected_bytes_wait() -> None:
    parser = ResponseParser()
    parser.feed(OK + CL0 + b"\r\n")
    assert drain(parser) == []  # no request sent: not parsed
    assert parser.trailing_data == OK + CL0 + b"\r\n"
    assert not parser.reusable
    parser.expect("GET")
    assert parser.trailing_data == b""
    assert drain(parser) == [resp(headers=[("content-length", "0")]), eom()]
    assert parser.reusable


def test_response_after_close_is_not_parsed() -> None:
    raw = OK + CL0 + b"Connection: close\r\n\r\n" + OK + CL0 + b"\r\n"
    events, error, parser = parse(raw, ("GET", "GET"))
    assert error is None
    assert events == [
        resp(headers=[("content-length", "0"), ("connection", "close")], keep_alive=False),
        eom(),
    ]
    assert parser.trailing_data == OK + CL0 + b"\r\n"  # kept for inspection, never parsed
    parser.feed(b"more")  # ignored: the connection is done with HTTP
    assert parser.buffered == len(OK + CL0 + b"\r\n")
    assert not parser.reusable
    with pytest.raises(RuntimeError):
        parser.expect("GET")


# --- leftover bytes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [b"\r\n", b"x", b"HTTP/1.1 408 Request Timeout\r\n\r\n"],
    ids=["crlf", "junk", "unsolicited-408"],
)
def test_leftover_bytes_after_a_keep_alive_response(extra: bytes) -> None:
    events, error, parser = parse(OK + b"Content-Length: 2\r\n\r\nok" + extra)
    assert error is None
    assert events[-1] == eom()
    assert parser.trailing_data == extra
    assert parser.buffered == len(extra)
    assert not parser.reusable


def test_no_trailing_data_while_a_response_is_expected() -> None:
    _, _, parser = parse(OK + b"Content-Length: 5\r\n\r\nab")
    assert parser.trailing_data == b""
    _, _, parser = parse(b"HTTP/1.1 2")
    assert parser.trailing_data == b""
    assert not parser.reusable


def test_101_switches_protocols() -> None:
    raw = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        b"\x81\x05hello"
    )
    events, error, parser = parse(raw)
    assert error is None
    assert events == [
        info(101, "Switching Protocols", [("upgrade", "websocket"), ("connection", "Upgrade")])
    ]
    assert parser.trailing_data == b"\x81\x05hello"
    parser.feed(b"more")  # the caller owns the connection now
    assert parser.trailing_data == b"\x81\x05hello"
    assert drain(parser) == []
    assert not parser.reusable
    with pytest.raises(RuntimeError):
        parser.expect("GET")


def test_connect_2xx_becomes_a_tunnel() -> None:
    events, error, parser = parse(b"HTTP/1.1 200 OK\r\n\r\n\x16\x03\x01", ("CONNECT",))
    assert error is None
    assert events == [resp(keep_alive=False), eom()]
    assert parser.trailing_data == b"\x16\x03\x01"
    assert "SWITCHED" in repr(parser)
    with pytest.raises(RuntimeError):
        parser.expect("GET")


def test_repr() -> None:
    parser = ResponseParser()
    parser.expect("GET")
    parser.feed(b"HTTP/1.1")
    assert repr(parser) == "<ResponseParser state=HEAD expected=1 buffered=8>"


# --- request_head -------------------------------------------------------------------------------

REQUEST_HEADS = [
    pytest.param(
        ("GET", "/", "example.com"), {}, b"GET / HTTP/1.1\r\nhost: example.com\r\n\r\n", id="get"
    ),
    pytest.param(
        ("GET", "/a?b=1", "h:8080", [("Accept", "*/*"), ("X-A", "1")]),
        {},
        b"GET /a?b=1 HTTP/1.1\r\nhost: h:8080\r\nAccept: */*\r\nX-A: 1\r\n\r\n",
        id="host-first-then-headers-in-order",
    ),
    pytest.param(
        ("GET", "/", "ignored", [("Accept", "*/*"), ("Host", "mine")]),
        {},
        b"GET / HTTP/1.1\r\nAccept: */*\r\nHost: mine\r\n\r\n",
        id="caller-host-where-placed",
    ),
    pytest.param(
        ("POST", "/p", "h", [("Content-Type", "text/plain")]),
        {"content_length": 5},
        b"POST /p HTTP/1.1\r\nhost: h\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n\r\n",
        id="content-length",
    ),
    pytest.param(
        ("PUT", "/p", "h"),
        {"chunked": True, "keep_alive": False},
        b"PUT /p HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        id="chunked-close",
    ),
    pytest.param(
        ("GET", "/chat", "h"),
        {"upgrade": "websocket"},
        b"GET /chat HTTP/1.1\r\nhost: h\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n",
        id="upgrade",
    ),
    pytest.param(
        ("CONNECT", "example.com:443", "example.com:443"),
        {},
        b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n",
        id="connect-authority-form",
    ),
    pytest.param(
        ("GET", "http://a.example/x", "a.example"),
        {},
        b"GET http://a.example/x HTTP/1.1\r\nhost: a.example\r\n\r\n",
        id="absolute-form",
    ),
    pytest.param(
        ("OPTIONS", "*", "[::1]:80"), {}, b"OPTIONS * HTTP/1.1\r\nhost: [::1]:80\r\n\r\n", id="ipv6"
    ),
    pytest.param(("GET", "/", ""), {}, b"GET / HTTP/1.1\r\nhost: \r\n\r\n", id="empty-host"),
    pytest.param(
        ("GET", "/", "h", [("X", "caf\xe9")]),
        {},
        b"GET / HTTP/1.1\r\nhost: h\r\nX: caf\xe9\r\n\r\n",
        id="obs-text-value",
    ),
]


@pytest.mark.parametrize(("args", "kwargs", "expected"), REQUEST_HEADS)
def test_request_head(args: tuple[Any, ...], kwargs: dict[str, Any], expected: bytes) -> None:
    assert request_head(*args, **kwargs) == expected
    assert request_head(*args, **kwargs) == expected  # from the caches, the same bytes


REQUEST_HEAD_REFUSALS = [
    pytest.param(("G T", "/", "h"), {}, "method", id="method-space"),
    pytest.param(("GET\r\n", "/", "h"), {}, "method", id="method-crlf"),
    pytest.param(("", "/", "h"), {}, "method", id="method-empty"),
    pytest.param(("GET", "/a b", "h"), {}, "request-target", id="target-space"),
    pytest.param(("GET", "/\r\nX: y", "h"), {}, "request-target", id="target-crlf"),
    pytest.param(("GET", "/\x00", "h"), {}, "request-target", id="target-nul"),
    pytest.param(("GET", "/caf\xe9", "h"), {}, "request-target", id="target-not-ascii"),
    pytest.param(("GET", "/a#frag", "h"), {}, "request-target", id="target-fragment"),
    pytest.param(("GET", "", "h"), {}, "request-target", id="target-empty"),
    pytest.param(("GET", "/", "h\r\nX: y"), {}, "host", id="host-crlf"),
    pytest.param(("GET", "/", "a b"), {}, "host", id="host-space"),
    pytest.param(("GET", "/", "user@h"), {}, "host", id="host-userinfo"),
    pytest.param(("GET", "/", "b\xfccher.de"), {}, "host", id="host-not-idna"),
    pytest.param(("GET", "/", "h", [("X", "a\r\nY: b")]), {}, "control", id="value-crlf"),
    pytest.param(("GET", "/", "h", [("X", "a\x00")]), {}, "control", id="value-nul"),
    pytest.param(("GET", "/", "h", [("X", "a\nb")]), {}, "control", id="value-lf"),
    pytest.param(("GET", "/", "h", [("X Y", "a")]), {}, "token", id="name-space"),
    pytest.param(("GET", "/", "h", [("X:", "a")]), {}, "token", id="name-colon"),
    pytest.param(("GET", "/", "h", [("", "a")]), {}, "token", id="name-empty"),
    *[
        pytest.param(("GET", "/", "h", [(n, "1")]), {}, "arguments", id=f"framing-{n}")
        for n in ("Content-Length", "transfer-encoding", "Connection")
    ],
    pytest.param(
        ("POST", "/", "h"), {"chunked": True, "content_length": 1}, "either", id="both-framings"
    ),
    pytest.param(("POST", "/", "h"), {"content_length": -1}, "negative", id="negative-length"),
    pytest.param(("GET", "/", "h"), {"upgrade": "web socket"}, "upgrade", id="upgrade-space"),
    pytest.param(("GET", "/", "h"), {"upgrade": "ws\r\n"}, "upgrade", id="upgrade-crlf"),
]


@pytest.mark.parametrize(("args", "kwargs", "words"), REQUEST_HEAD_REFUSALS)
def test_request_head_refusals(args: tuple[Any, ...], kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        request_head(*args, **kwargs)


def test_request_head_with_chunked_body_parses_as_a_request() -> None:
    from sws_http.proto import Request, RequestParser

    wire = request_head("POST", "/up", "h", [("X", "1")], chunked=True)
    wire += chunk(b"hello") + chunk(b"") + chunk(b" world") + last_chunk([("T", "v")])
    parser = RequestParser()
    parser.feed(wire)
    request = parser.next_event()
    assert isinstance(request, Request)
    assert (request.method, request.target, request.host, request.chunked) == (
        "POST",
        "/up",
        "h",
        True,
    )
    body = b""
    while isinstance(event := parser.next_event(), Data):
        body += event.data
    assert body == b"hello world"
    assert isinstance(event, EndOfMessage)
    assert event.trailers.items() == [("t", "v")]


# --- remembered heads ---------------------------------------------------------------------------


def test_a_head_remembered_for_get_still_frames_a_head_response() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    parser = ResponseParser()
    parser.expect("GET")
    parser.expect("HEAD")
    parser.expect("GET")
    parser.feed(head + b"hello" + head + head + b"again")
    events = drain(parser)
    assert [e[0] for e in events] == [
        "response",
        "data",
        "eom",
        "response",
        "eom",
        "response",
        "data",
        "eom",
    ]
    assert [e[1] for e in events if e[0] == "data"] == [b"hello", b"again"]
    assert parser.reusable


def test_a_remembered_head_gives_each_response_its_own_object() -> None:
    head = b"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n"
    parser = ResponseParser()
    parser.expect("GET")
    parser.expect("GET")
    parser.feed(head * 2)
    first, _, second, _ = (parser.next_event() for _ in range(4))
    assert isinstance(first, Response)
    assert isinstance(second, Response)
    assert first is not second
    assert norm(first) == norm(second)


def test_a_head_remembered_under_loose_limits_still_fails_tight_ones() -> None:
    head = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n"
    for limits in ({}, {"max_headers": 2}):
        parser = ResponseParser(**limits)
        parser.expect("GET")
        parser.feed(head)
        if limits:
            with pytest.raises(ProtocolError):
                parser.next_event()
        else:
            assert isinstance(parser.next_event(), Response)


def test_remembered_response_heads_are_bounded() -> None:
    for i in range(3 * _response_parser._MAX_CACHED_HEADS):
        parser = ResponseParser()
        parser.expect("GET")
        parser.feed(b"HTTP/1.1 200 OK\r\nX-N: %d\r\nContent-Length: 0\r\n\r\n" % i)
        assert isinstance(parser.next_event(), Response)
    caches = _response_parser._head_caches.values()
    assert all(len(cache) <= _response_parser._MAX_CACHED_HEADS for cache in caches)


# --- take_body: a whole Content-Length body at once -----------------------------------------------


def test_take_body_returns_a_whole_length_body_and_ends_the_response() -> None:
    parser = ResponseParser()
    parser.expect("GET")
    parser.expect("GET")
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")
    assert isinstance(parser.next_event(), Response)
    assert parser.take_body() is None  # two bytes still to come: nothing taken
    assert parser.buffered == 3
    parser.feed(b"loHTTP/1.1 204 No Content\r\n\r\n")
    assert parser.take_body() == b"hello"  # and the bytes after it stay buffered
    assert isinstance(parser.next_event(), Response)
    assert parser.take_body() == b""  # 204: an empty body, ended
    assert parser.reusable


def test_take_body_leaves_other_framings_to_next_event() -> None:
    parser = ResponseParser()
    parser.expect("GET")
    assert parser.take_body() is None  # no head yet
    parser.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert isinstance(parser.next_event(), Response)
    assert parser.take_body() is None
    assert drain(parser) == [data(b"hello"), eom()]
