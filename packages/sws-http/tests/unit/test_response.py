"""Response heads and chunks (sws_http.proto._response): exact bytes, framing rules
(RFC 9112 §6, §7.1; RFC 9110 §8.6, §15) and the ValueErrors that stop header injection.
"""

from __future__ import annotations

import re

import pytest

from sws_http.proto import REASONS, chunk, http_date, last_chunk, response_head

STATUS_LINE = re.compile(rb"HTTP/1\.1 [1-5][0-9]{2} [\t !-~]*\r\n")
NO_FRAMING = [100, 101, 102, 103, 204, 304]


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        pytest.param(
            (200,),
            {"content_length": 5},
            b"HTTP/1.1 200 OK\r\nserver: sws\r\ncontent-length: 5\r\n\r\n",
            id="200-length",
        ),
        pytest.param(
            (200,),
            {"content_length": 0},
            b"HTTP/1.1 200 OK\r\nserver: sws\r\ncontent-length: 0\r\n\r\n",
            id="200-length-0",
        ),
        pytest.param(
            (200,),
            {"chunked": True},
            b"HTTP/1.1 200 OK\r\nserver: sws\r\ntransfer-encoding: chunked\r\n\r\n",
            id="200-chunked",
        ),
        pytest.param(
            (404,), {}, b"HTTP/1.1 404 Not Found\r\nserver: sws\r\n\r\n", id="404-no-framing"
        ),
        pytest.param(
            (200,),
            {"server": None, "content_length": 2},
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n",
            id="no-server",
        ),
        pytest.param(
            (201, [("Content-Type", "text/plain"), ("X-A", "1"), ("x-a", "2")]),
            {"content_length": 3, "date": b"Thu, 01 Jan 1970 00:00:00 GMT", "server": b"s/1"},
            b"HTTP/1.1 201 Created\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\nserver: s/1\r\n"
            b"Content-Type: text/plain\r\nX-A: 1\r\nx-a: 2\r\ncontent-length: 3\r\n\r\n",
            id="date-server-headers-in-order",
        ),
        pytest.param(
            (200,),
            {"content_length": 1, "keep_alive": False},
            b"HTTP/1.1 200 OK\r\nserver: sws\r\ncontent-length: 1\r\nconnection: close\r\n\r\n",
            id="close",
        ),
        pytest.param(
            (200,),
            {"content_length": 1, "http_10": True},
            b"HTTP/1.1 200 OK\r\nserver: sws\r\ncontent-length: 1\r\n"
            b"connection: keep-alive\r\n\r\n",
            id="http10-keep-alive",
        ),
        pytest.param(
            (200,),
            {"http_10": True, "keep_alive": False},
            b"HTTP/1.1 200 OK\r\nserver: sws\r\nconnection: close\r\n\r\n",
            id="http10-close-delimited",
        ),
        pytest.param((204,), {"server": None}, b"HTTP/1.1 204 No Content\r\n\r\n", id="204"),
        pytest.param((100,), {"server": None}, b"HTTP/1.1 100 Continue\r\n\r\n", id="100"),
        pytest.param(
            (299,),
            {"server": None, "content_length": 0},
            b"HTTP/1.1 299 \r\ncontent-length: 0\r\n\r\n",
            id="unregistered-empty-reason",
        ),
        pytest.param(
            (200, [("X", "caf\xe9")]),
            {"server": None},
            b"HTTP/1.1 200 OK\r\nX: caf\xe9\r\n\r\n",
            id="latin-1-value",
        ),
        pytest.param(
            (200, [("X", "a\tb"), ("Y", "")]),
            {"server": None},
            b"HTTP/1.1 200 OK\r\nX: a\tb\r\nY: \r\n\r\n",
            id="tab-and-empty",
        ),
    ],
)
def test_response_head_bytes(args: tuple, kwargs: dict, expected: bytes) -> None:
    assert response_head(*args, **kwargs) == expected


@pytest.mark.parametrize(("status", "reason"), sorted(REASONS.items()))
def test_every_reason_gives_a_valid_status_line(status: int, reason: str) -> None:
    head = response_head(status, server=None)
    line, _, rest = head.partition(b"\r\n")
    assert STATUS_LINE.fullmatch(line + b"\r\n")
    assert line == f"HTTP/1.1 {status} {reason}".encode("ascii")
    assert rest.endswith(b"\r\n")


def test_reasons_cover_the_usual_codes() -> None:
    for status in (
        100,
        101,
        200,
        204,
        206,
        301,
        302,
        304,
        400,
        404,
        413,
        414,
        417,
        431,
        500,
        501,
        505,
    ):
        assert REASONS[status]
    assert all(100 <= code <= 599 for code in REASONS)


@pytest.mark.parametrize("status", NO_FRAMING)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"content_length": 5},
        {"chunked": True},
        {"chunked": True, "content_length": 5},
        {"chunked": True, "http_10": True},
    ],
)
def test_no_framing_fields_for_1xx_204_304(status: int, kwargs: dict) -> None:
    head = response_head(status, **kwargs).lower()
    assert b"content-length" not in head
    assert b"transfer-encoding" not in head
    assert head.startswith(b"http/1.1 %d " % status)


@pytest.mark.parametrize("status", [99, 0, -1, 600, 1000])
def test_status_outside_range(status: int) -> None:
    with pytest.raises(ValueError):
        response_head(status)


def test_chunked_and_content_length_are_exclusive() -> None:
    with pytest.raises(ValueError):
        response_head(200, chunked=True, content_length=5)
    with pytest.raises(ValueError):
        response_head(200, chunked=True, content_length=0)


def test_no_chunked_for_http10() -> None:
    with pytest.raises(ValueError):
        response_head(200, chunked=True, http_10=True)


@pytest.mark.parametrize(
    "value", ["a\rb", "a\nb", "a\r\nX-Injected: 1", "a\x00b", "\x01", "a\x1fb", "a\x7f", "\n"]
)
def test_control_characters_in_values(value: str) -> None:
    with pytest.raises(ValueError):
        response_head(200, [("X", value)])
    with pytest.raises(ValueError):
        last_chunk([("X", value)])


@pytest.mark.parametrize(
    "name", ["", "Bad Name", "X:Y", "X\r\n", "X\x00", "caf\xe9", "(x)", "a/b", " X", "X\t"]
)
def test_names_must_be_tokens(name: str) -> None:
    with pytest.raises(ValueError):
        response_head(200, [(name, "v")])
    with pytest.raises(ValueError):
        last_chunk([(name, "v")])


def test_value_outside_latin_1() -> None:
    with pytest.raises(ValueError):  # UnicodeEncodeError is a ValueError
        response_head(200, [("X", "\u20ac")])


@pytest.mark.parametrize(
    "name",
    [
        "Content-Length",
        "content-length",
        "Transfer-Encoding",
        "TRANSFER-ENCODING",
        "Connection",
        "connection",
    ],
)
@pytest.mark.parametrize("status", [200, 204])
def test_framing_fields_in_headers(name: str, status: int) -> None:
    with pytest.raises(ValueError):
        response_head(status, [(name, "x")])


def test_chunk_bytes() -> None:
    assert chunk(b"") == b""
    assert chunk(b"a") == b"1\r\na\r\n"
    assert chunk(b"hello") == b"5\r\nhello\r\n"
    assert chunk(b"x" * 255) == b"ff\r\n" + b"x" * 255 + b"\r\n"
    assert chunk(b"x" * 4096) == b"1000\r\n" + b"x" * 4096 + b"\r\n"
    assert chunk(b"\r\n") == b"2\r\n\r\n\r\n"


def test_last_chunk_bytes() -> None:
    assert last_chunk() == b"0\r\n\r\n"
    assert last_chunk([]) == b"0\r\n\r\n"
    assert last_chunk([("X-Checksum", "abc"), ("x-b", "caf\xe9")]) == (
        b"0\r\nX-Checksum: abc\r\nx-b: caf\xe9\r\n\r\n"
    )


IMF_FIXDATE = re.compile(
    rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    rb"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (0, b"Thu, 01 Jan 1970 00:00:00 GMT"),
        (784111777, b"Sun, 06 Nov 1994 08:49:37 GMT"),  # RFC 9110 §5.6.7's example
        (784111777.9, b"Sun, 06 Nov 1994 08:49:37 GMT"),
        (951782400, b"Tue, 29 Feb 2000 00:00:00 GMT"),
        (4102444799, b"Thu, 31 Dec 2099 23:59:59 GMT"),
    ],
)
def test_http_date(timestamp: float, expected: bytes) -> None:
    assert http_date(timestamp) == expected
    assert IMF_FIXDATE.fullmatch(expected)


def test_http_date_format_many() -> None:
    for timestamp in range(0, 4_000_000_000, 86_400 * 37 + 3_671):
        assert IMF_FIXDATE.fullmatch(http_date(timestamp)), timestamp


@pytest.mark.parametrize(
    "kwargs",
    [
        {"server": b"a\r\nX: y"},
        {"server": b"a\nb"},
        {"server": b"a\x00"},
        {"date": b"a\r\nX: y"},
        {"date": b"\r"},
    ],
)
def test_server_and_date_checked(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        response_head(200, **kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"keep_alive": False}, {"http_10": True}])
def test_101_upgrade(kwargs: dict) -> None:
    # RFC 9110 §7.8: a sender of Upgrade also sends the "upgrade" connection option.
    assert response_head(101, upgrade="websocket", **kwargs) == (
        b"HTTP/1.1 101 Switching Protocols\r\nserver: sws\r\n"
        b"connection: upgrade\r\nupgrade: websocket\r\n\r\n"
    )
    assert b"upgrade: h2c/1.0\r\n" in response_head(101, upgrade="h2c/1.0")


@pytest.mark.parametrize(
    ("status", "upgrade"), [(200, "websocket"), (426, "websocket"), (101, ""), (101, "a b")]
)
def test_upgrade_needs_101_and_a_token(status: int, upgrade: str) -> None:
    with pytest.raises(ValueError):
        response_head(status, upgrade=upgrade)


# --- bugs found ---------------------------------------------------------------------------------


def test_negative_content_length() -> None:
    with pytest.raises(ValueError):
        response_head(200, content_length=-1)


@pytest.mark.parametrize("upgrade", ["websocket/\r\nX-Injected: 1", "h2c/a b", "h2c/\x00"])
def test_upgrade_version_checked(upgrade: str) -> None:
    with pytest.raises(ValueError):
        response_head(101, upgrade=upgrade)
