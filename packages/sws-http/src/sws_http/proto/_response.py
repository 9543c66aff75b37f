"""Response heads and chunks as bytes (RFC 9112 §4, §7.1; RFC 9110 §15 reasons).

`response_head` refuses what would let a header inject another (CR, LF or NUL in a value,
a name that is not a token) with `ValueError`: that is a bug in the caller, never input to
pass on. It writes the framing itself (Content-Length or chunked, and Connection), so a
caller cannot write a message whose body and framing disagree; 1xx, 204 and 304 responses
carry no framing fields at all (RFC 9110 §8.6, RFC 9112 §6.1).
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable
from typing import Final

from sws_http.proto._remembered import remember

REASONS: Final[dict[int, str]] = {
    100: "Continue",
    101: "Switching Protocols",
    102: "Processing",
    103: "Early Hints",
    200: "OK",
    201: "Created",
    202: "Accepted",
    203: "Non-Authoritative Information",
    204: "No Content",
    205: "Reset Content",
    206: "Partial Content",
    207: "Multi-Status",
    208: "Already Reported",
    226: "IM Used",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    305: "Use Proxy",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    416: "Range Not Satisfiable",
    417: "Expectation Failed",
    421: "Misdirected Request",
    422: "Unprocessable Content",
    423: "Locked",
    424: "Failed Dependency",
    425: "Too Early",
    426: "Upgrade Required",
    428: "Precondition Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
    506: "Variant Also Negotiates",
    507: "Insufficient Storage",
    508: "Loop Detected",
    510: "Not Extended",
    511: "Network Authentication Required",
}
_STATUS_LINES: Final = {
    code: f"HTTP/1.1 {code} {reason}\r\n".encode("ascii") for code, reason in REASONS.items()
}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# Set by response_head from its arguments; a caller's own copy would contradict them.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})


# Header lines already checked, by (name, value): a server answers with the same few
# fields again and again. Bounded: cleared when full.
_MAX_CHECKED: Final = 1024
_checked_lines: dict[tuple[str, str], bytes] = {}
_checked_fixed_lines: dict[tuple[bytes, bytes], bytes] = {}


def _header_line(name: str, value: str) -> bytes:
    """Check one header field and return its line; remember it for next time."""
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"header name {name!r} is not a token")
    if _BAD_VALUE.search(value):
        raise ValueError(f"header {name!r} has a control character (CR, LF, NUL, ...)")
    if name.lower() in _FRAMING:
        raise ValueError(f"{name} is set from response_head's arguments")
    line = f"{name}: {value}\r\n".encode("latin-1")
    remember(_checked_lines, (name, value), line, _MAX_CHECKED)
    return line


def _checked_fixed(name: bytes, value: bytes) -> bytes:
    line = _checked_fixed_lines.get((name, value))
    if line is None:
        if _BAD_BYTES.search(value):
            raise ValueError(f"the {name.decode()} value has a control character (CR, LF, ...)")
        line = name + b": " + value + b"\r\n"
        remember(_checked_fixed_lines, (name, value), line, _MAX_CHECKED)
    return line


def http_date(timestamp: float) -> bytes:
    """An IMF-fixdate for the `Date` field (RFC 9110 §5.6.7), e.g. for a cached value
    the server refreshes once a second."""
    return email.utils.formatdate(timestamp, usegmt=True).encode("ascii")


def response_head(
    status: int,
    headers: Iterable[tuple[str, str]] = (),
    *,
    content_length: int | None = None,
    chunked: bool = False,
    keep_alive: bool = True,
    http_10: bool = False,
    date: bytes | None = None,
    server: bytes | None = b"sws",
    upgrade: str | None = None,
) -> bytes:
    """Return a response's status line and header section, ending with the empty line.

    Args:
        status: 100-599; a code without a registered reason gets an empty one.
        headers: `(name, value)` pairs, in order; not Content-Length,
            Transfer-Encoding or Connection, which the other arguments decide.
        content_length: the body's length (for HEAD: what GET would send).
        chunked: announce a chunked body instead (HTTP/1.1 only).
        keep_alive: whether the connection stays open after this response.
        http_10: the request was HTTP/1.0: keep-alive must then be announced.
        date: the `Date` value (see `http_date`), or None to leave it out.
        server: the `Server` value, or None to leave it out.
        upgrade: for a 101, the protocol switched to ("websocket"): writes `Upgrade` and
            the `Connection: upgrade` option it requires (RFC 9110 §7.8).

    Raises:
        ValueError: a bad status, name or value, a framing field in `headers`, or a
            framing request that cannot be met (chunked for HTTP/1.0, both framings).
    """
    line = _STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 599:
            raise ValueError(f"status {status} is outside 100-599")
        line = f"HTTP/1.1 {status} \r\n".encode("ascii")
    parts = [line]
    if date is not None:
        parts.append(_checked_fixed(b"date", date))
    if server is not None:
        parts.append(_checked_fixed(b"server", server))
    for field in headers:
        line = _checked_lines.get(field) if type(field) is tuple else None
        if line is None:
            line = _header_line(*field)
        parts.append(line)
    if status >= 200 and status not in (204, 304):
        if chunked:
            if content_length is not None:
                raise ValueError("a response is either chunked or has a Content-Length")
            if http_10:
                raise ValueError("HTTP/1.0 has no chunked coding: close-delimit the body")
            parts.append(b"transfer-encoding: chunked\r\n")
        elif content_length is not None:
            if content_length < 0:
                raise ValueError(f"content_length {content_length} is negative")
            parts.append(b"content-length: %d\r\n" % content_length)
    if upgrade is not None:
        name, slash, version = upgrade.partition("/")
        valid = _TOKEN.fullmatch(name) and (not slash or _TOKEN.fullmatch(version))
        if status != 101 or not valid:
            raise ValueError(f"upgrade={upgrade!r} needs status 101 and protocol[/version]")
        parts.append(f"connection: upgrade\r\nupgrade: {upgrade}\r\n".encode("ascii"))
    elif not keep_alive:
        parts.append(b"connection: close\r\n")
    elif http_10:
        parts.append(b"connection: keep-alive\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (b"" for empty data: a zero-size chunk would end it)."""
    if not data:
        return b""
    return b"%x\r\n%s\r\n" % (len(data), data)


def last_chunk(trailers: Iterable[tuple[str, str]] = ()) -> bytes:
    """The end of a chunked body, with optional trailer fields.

    Raises:
        ValueError: a bad trailer name or value.
    """
    parts = [b"0\r\n"]
    for name, value in trailers:
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise ValueError(f"invalid trailer field {name!r}")
        parts.append(f"{name}: {value}\r\n".encode("latin-1"))
    parts.append(b"\r\n")
    return b"".join(parts)
