"""`RequestParser`: HTTP/1.1 requests from bytes, incrementally (RFC 9112).

States, and what moves the parser from one to the next:

    HEAD         -> a complete head (request line, fields, empty line) -> Request
                    then BODY_LENGTH, CHUNK_SIZE, or (no body) EndOfMessage -> HEAD/CLOSED
    BODY_LENGTH  -> Content-Length bytes, as Data events -> EndOfMessage
    CHUNK_SIZE   -> a size line; 0 -> TRAILERS, else CHUNK_DATA
    CHUNK_DATA   -> that many bytes as Data -> CHUNK_END (the CRLF after them) -> CHUNK_SIZE
    TRAILERS     -> fields up to an empty line -> EndOfMessage
    after EndOfMessage: HEAD if the request allows keep-alive, else CLOSED (NEED_DATA for
    good, further bytes ignored). ERROR after a ProtocolError: every call raises it again.

The same events come out however the input is split: every state waits for the whole
syntactic unit it needs (a head, a size line, a CRLF) before it decides anything, and a
unit is only searched for in bytes not already searched.
"""

from __future__ import annotations

import re
from typing import Any, Final

from sws_http.proto._errors import ProtocolError
from sws_http.proto._events import NEED_DATA, Data, EndOfMessage, Headers, NeedData, Request
from sws_http.proto._remembered import head_table, remember

# Limits (units in the names). Precedents in the comments.
DEFAULT_MAX_HEADER_BYTES: Final = 16384  # request line + fields; h11 and node use 16 KiB
DEFAULT_MAX_HEADERS: Final = 100  # fields per head; Apache's LimitRequestFields is 100
DEFAULT_MAX_TARGET_BYTES: Final = 8192  # request-target; nginx's large buffer is 8 KiB
DEFAULT_MAX_BODY_BYTES: Final = 1 << 20  # 1 MiB; nginx's client_max_body_size is 1m
_MAX_CHUNK_LINE_BYTES: Final = 4096  # size + extensions of one chunk line
_MAX_SIZE_HEX_DIGITS: Final = 16  # a chunk size fits in 64 bits
_MAX_LENGTH_DIGITS: Final = 18  # a Content-Length fits in 63 bits
_MAX_EMPTY_LINES: Final = 8  # CRLFs tolerated before a request line (RFC 9112 §2.2)

_HEAD, _BODY_LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _CLOSED, _ERROR = range(8)

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# field-value: VCHAR, obs-text, SP and HTAB; anything else (NUL, CR, LF, other controls,
# DEL) is refused (RFC 9110 §5.5).
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# A whole field section in one pass: "token:" then a value of VCHAR/obs-text/SP/HTAB,
# lines joined by CRLF (RFC 9110 §5.5, RFC 9112 §5); empty for no fields.
_FIELD_BLOCK = re.compile(
    rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\x09\x20-\x7e\x80-\xff]*"
    rb"(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\x09\x20-\x7e\x80-\xff]*)*)?"
)
# The fields that decide framing and routing, found in the raw section in one pass.
_SPECIAL_FIELD = re.compile(
    rb"(?:^|(?<=\n))(host|content-length|transfer-encoding|connection|expect):([^\r]*)",
    re.IGNORECASE,
)
# A well-formed HTTP/1.0 or 1.1 request line, in one pass (RFC 9112 §3).
_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/1\.([01])")
_TARGET = re.compile(rb"[\x21-\x7e]+")  # visible ASCII only, no space or control
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_DIGITS = re.compile(rb"[0-9]+")
# In a head: NUL, LF without CR before it, CR followed by anything but LF.
_BAD_HEAD = re.compile(rb"\x00|(?<!\r)\n|\r(?=[^\n])")
# uri-host [":" port] (RFC 3986 §3.2.2): an IP literal, or a reg-name (no userinfo).
_HOST = re.compile(rb"(\[[0-9A-Fa-f:.vV]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(:[0-9]*)?")
_FRAMING_FIELDS: Final = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "expect"}
)
_ABSOLUTE = re.compile(rb"[A-Za-z][A-Za-z0-9+\-.]*://([^/?#]*)(.*)", re.DOTALL)

# Request heads already parsed, by their bytes, one table per set of limits (a limit can
# turn an accepted head into an error): a client on a kept-alive connection, and a
# server's many clients, send the same few heads again and again. The table holds the
# (read-only) Request itself: requests whose heads are byte for byte the same share it.
# Bounded: cleared when full.
_MAX_CACHED_HEAD_BYTES: Final = 2048  # a browser's head with cookies fits; most are ~500
_MAX_CACHED_HEADS: Final = 512  # at most 1 MiB per set of limits
_RequestArgs = tuple[str, str, str, str, str, Headers, str, bool, int | None, bool, bool]
_head_caches: dict[tuple[int, ...], dict[bytes, Request]] = {}
_NO_TRAILERS: Final = EndOfMessage(Headers([]))


class Limits:
    """A parser's limits, read-only: what it parsed is remembered per set of limits (a
    limit can turn an accepted head into an error), so they cannot change afterwards.
    `_cache` is the table of heads remembered under them (see `head_table`)."""

    __slots__ = ("_cache", "_max_body_bytes", "_max_header_bytes", "_max_headers")

    _cache: dict[bytes, Any]

    def __init__(self, max_header_bytes: int, max_headers: int, max_body_bytes: int) -> None:
        self._max_header_bytes = max_header_bytes
        self._max_headers = max_headers
        self._max_body_bytes = max_body_bytes

    @property
    def max_header_bytes(self) -> int:
        """The limit on a head (first line + fields), or a trailer section."""
        return self._max_header_bytes

    @property
    def max_headers(self) -> int:
        """The limit on the fields of a head, or of a trailer section."""
        return self._max_headers

    @property
    def max_body_bytes(self) -> int:
        """The limit on a body's total length."""
        return self._max_body_bytes


class RequestParser(Limits):
    """Parse the requests of one connection, in order (pipelining included).

    Args:
        max_header_bytes: request line + fields; past it: 431.
        max_headers: number of fields; past it: 431.
        max_target_bytes: the request-target; past it: 414.
        max_body_bytes: a body's total length; past it: 413.
    """

    __slots__ = (
        "_body_bytes",
        "_buf",
        "_empty_lines",
        "_eof",
        "_error",
        "_last_head",
        "_last_request",
        "_max_target_bytes",
        "_remaining",
        "_request",
        "_state",
        "_valid_host",
    )

    def __init__(
        self,
        *,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_headers: int = DEFAULT_MAX_HEADERS,
        max_target_bytes: int = DEFAULT_MAX_TARGET_BYTES,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        super().__init__(max_header_bytes, max_headers, max_body_bytes)
        self._max_target_bytes = max_target_bytes
        self._buf = bytearray()
        self._state = _HEAD
        self._remaining = 0  # body or chunk bytes still to come
        self._body_bytes = 0  # body bytes of the current request so far
        self._request: Request | None = None
        self._error: ProtocolError | None = None
        self._empty_lines = 0  # CRLFs skipped before the current request line
        self._eof = False  # the peer has closed its side
        self._valid_host = ""  # the last Host value found valid
        # The last whole bodyless keep-alive request, and its head as it arrived.
        self._last_head = b""
        self._last_request: Request | None = None
        limits = (max_header_bytes, max_headers, max_target_bytes, max_body_bytes)
        self._cache = head_table(_head_caches, limits)

    @property
    def max_target_bytes(self) -> int:
        """The limit on the request-target (414 past it)."""
        return self._max_target_bytes

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add received bytes (after a non-keep-alive request they are ignored)."""
        if self._state != _CLOSED:
            self._buf += data

    def feed_whole(self, data: bytes | bytearray | memoryview) -> Request | None:
        """Feed `data`; return its Request if it is one whole bodyless request seen before.

        The usual keep-alive request, in one call: when nothing else is buffered and `data`
        is exactly a head this parser's limits accepted before, with no body and no
        `Expect`, its (shared) Request is returned and the request is consumed whole, as
        if `next_event` had returned it and then its EndOfMessage. Otherwise the bytes are
        buffered as `feed` does, None is returned, and `next_event` goes on from there.
        """
        if self._state == _HEAD and not self._buf:
            if data == self._last_head:  # a connection mostly repeats its last request
                self._empty_lines = 0
                return self._last_request
            if type(data) is not bytes:
                data = bytes(data)  # a key, kept: it must be hashable and never change
            request: Request | None = self._cache.get(data)
            if request is not None and request.content_length == 0 and not request.expect_continue:
                return self._whole(data, request)
        if self._state != _CLOSED:
            self._buf += data
        return None

    def next_whole(self) -> Request | None:
        """Return the next request if it is a whole bodyless head seen before, else None.

        `feed_whole` for bytes already buffered (pipelined requests): the Request is
        consumed with its end, as if `next_event` had returned it and then EndOfMessage.
        None says nothing about the bytes: `next_event` reads them as usual.
        """
        buf = self._buf
        if self._state != _HEAD or not buf or buf[0] == 13:
            return None
        head = self._last_head
        if head and buf.startswith(head):  # pipelined requests mostly repeat each other
            del buf[: len(head)]
            self._empty_lines = 0
            return self._last_request
        end = buf.find(b"\r\n\r\n", 0, _MAX_CACHED_HEAD_BYTES) + 4
        if end < 4:
            return None
        head = bytes(buf) if end == len(buf) else bytes(buf[:end])
        request: Request | None = self._cache.get(head)
        if request is None or request.content_length != 0 or request.expect_continue:
            return None
        del buf[:end]
        return self._whole(head, request)

    def _whole(self, head: bytes, request: Request) -> Request:
        """A whole bodyless `request` read from `head`: remembered as the last one if it
        keeps the connection open, else the parser closes."""
        self._empty_lines = 0
        if request.keep_alive:
            self._last_head = head
            self._last_request = request
        else:
            self._state = _CLOSED
            self._buf.clear()
        return request

    def feed_eof(self) -> None:
        """The peer closed its side. Requests already complete in the buffer still come
        out of `next_event`; one cut short makes it (or this call) raise.

        Raises:
            ProtocolError: the input already buffered cannot complete the request in
                progress (400).
        """
        self._eof = True
        if self._state == _ERROR:
            assert self._error is not None
            raise self._error
        buf = self._buf
        state = self._state
        # What is certainly cut short now; anything else is found by next_event, which
        # raises when it runs out of bytes in the middle of a request.
        no_end = b"\r\n\r\n" not in buf
        cut = (
            (state == _HEAD and bool(buf.strip(b"\r\n")) and no_end)
            or (state in (_BODY_LENGTH, _CHUNK_DATA) and self._remaining > len(buf))
            or (state == _CHUNK_SIZE and b"\r\n" not in buf)
            or (state == _CHUNK_END and len(buf) < 2)
            or (state == _TRAILERS and not buf.startswith(b"\r\n") and no_end)
        )
        if cut:
            self._fail("connection closed in the middle of a request", 400)

    def _need_data(self) -> NeedData:
        """NEED_DATA, or the end of the road when the peer has closed mid-request."""
        if self._eof and (self._buf.strip(b"\r\n") or self._state not in (_HEAD, _CLOSED)):
            self._fail("connection closed in the middle of a request", 400)
        return NEED_DATA

    @property
    def buffered(self) -> int:
        """How many received bytes wait to be parsed."""
        return len(self._buf)

    def take_buffered(self) -> bytes:
        """Return the bytes received after the last complete request, and stop parsing.

        For a connection that switches protocols after a request (a 101 answer): those
        bytes, and all later ones, belong to the new protocol.
        """
        rest = bytes(self._buf)
        self._buf.clear()
        self._state = _CLOSED
        return rest

    @property
    def mid_request(self) -> bool:
        """Whether part of a request has arrived and the rest has not (a slow client)."""
        if self._state == _HEAD:
            buf = self._buf
            return bool(buf) and (buf[0] != 13 or bool(buf.strip(b"\r\n")))
        return self._state not in (_CLOSED, _ERROR)

    @property
    def closed(self) -> bool:
        """Whether the last request forbade another one on this connection."""
        return self._state == _CLOSED

    def next_event(self) -> Request | Data | EndOfMessage | NeedData:
        """Return the next event, or `NEED_DATA` when more bytes are needed.

        Raises:
            ProtocolError: the input breaks HTTP/1.1; every later call raises it again.
        """
        state = self._state
        if state == _HEAD:
            return self._parse_head()
        if state == _BODY_LENGTH:
            if not self._remaining:
                return self._end_of_message(_NO_TRAILERS)
            return self._body_length()
        if state == _CHUNK_DATA:
            return self._chunk_data()
        if state <= _TRAILERS:  # _CHUNK_SIZE, _CHUNK_END or _TRAILERS
            return self._chunk_framing()
        if state == _ERROR:
            assert self._error is not None
            raise self._error
        return NEED_DATA

    def _fail(self, message: str, status: int = 400) -> ProtocolError:
        self._state = _ERROR
        self._error = ProtocolError(message, status)
        raise self._error

    # --- the head -----------------------------------------------------------------------------

    def _parse_head(self) -> Request | Data | EndOfMessage | NeedData:
        buf = self._buf
        if not buf:
            return self._need_data()
        if buf[0] != 13:
            # A head seen before (keep-alive clients repeat theirs byte for byte): its
            # checks passed then and would pass again, under the same limits.
            end = buf.find(b"\r\n\r\n", 0, _MAX_CACHED_HEAD_BYTES) + 4
            if end >= 4:  # the whole buffer, in the usual case: no slice to copy
                request = self._cache.get(bytes(buf) if end == len(buf) else bytes(buf[:end]))
                if request is not None:
                    del buf[:end]
                    self._empty_lines = 0
                    return self._start_body(request)
        else:  # CR: RFC 9112 §2.2, skip (a few) empty lines before a request
            start = 0
            while buf.startswith(b"\r\n", start):
                start += 2
            del buf[:start]
            self._empty_lines += start // 2  # counted across calls: split-independent
            if self._empty_lines > _MAX_EMPTY_LINES:
                self._fail(f"more than {_MAX_EMPTY_LINES} empty lines before a request")
            if not buf:
                return self._need_data()
        end = self._block_end(self._max_header_bytes, self._max_target_bytes + 64, "request head")
        if end < 0:
            return self._need_data()
        head = bytes(buf[:end])
        del buf[: end + 4]
        self._empty_lines = 0
        return self._start_body(self._request_from_head(head))

    def _start_body(self, request: Request) -> Request:
        self._request = request
        self._body_bytes = 0
        if request.chunked:
            self._state = _CHUNK_SIZE
        else:  # no body (0): the next call returns EndOfMessage
            self._state = _BODY_LENGTH
            self._remaining = request.content_length or 0
        return request

    def _block_end(self, limit: int, first_line_limit: int | None, what: str) -> int:
        """Find the end of a head or trailer section (the offset of its CRLFCRLF), or -1.

        The verdict depends only on the bytes, never on how they were split: each error
        is tied to the input length at which it becomes certain (a bad byte: its own
        position; a line or section too long: the limit), and the earliest one wins,
        unless the section ends before it.
        """
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        # The usual case first: a whole, clean section within every limit.
        if 0 <= end <= limit - 4:
            stop = end + 4  # every CR and LF paired as CRLF, no NUL: byte counts, in C
            crlf = buf.count(b"\r\n", 0, stop)
            if (
                buf.count(b"\r", 0, stop) == crlf
                and buf.count(b"\n", 0, stop) == crlf
                and buf.find(b"\x00", 0, stop) < 0
                and (first_line_limit is None or buf.find(b"\r\n", 0, first_line_limit + 2) >= 0)
            ):
                return end
        n = len(buf)
        done_at = end + 4 if end >= 0 else n + 1  # input length that completes the section
        bad = _BAD_HEAD.search(buf, 0, min(n, done_at))
        errors = []
        if bad is not None:
            # A NUL or a bare LF is certain at its own byte; a bare CR only once the byte
            # after it (not LF) has arrived.
            at = bad.end() + 1 if buf[bad.start()] == 13 else bad.end()
            errors.append((at, 400, f"NUL, bare CR or bare LF in the {what}"))
        if first_line_limit is not None:
            line_end = buf.find(b"\r\n", 0, first_line_limit + 2)
            if line_end < 0 or line_end > first_line_limit:
                errors.append(
                    (
                        first_line_limit + 1,
                        414,
                        f"request line longer than {first_line_limit} bytes",
                    )
                )
        errors.append((limit + 1, 431, f"{what} longer than {limit} bytes"))
        at, status, message = min(errors)
        if at <= n and at <= done_at:
            self._fail(message, status)
        return end if done_at <= n else -1

    def _request_from_head(self, head: bytes) -> Request:
        line_end = head.find(b"\r\n")
        if line_end < 0:
            line_end = len(head)
        method, target, version = self._request_line(head[:line_end])
        block = head[line_end + 2 :]
        if block.count(b"\r\n") >= self._max_headers:
            self._fail(f"more than {self._max_headers} header fields", 431)
        if _FIELD_BLOCK.fullmatch(block):
            # One regex pass checked every field; only the framing ones are looked at now.
            headers = Headers(raw=block)
            special: dict[str, list[str]] = {}
            for m in _SPECIAL_FIELD.finditer(block):
                name = m.group(1).decode("ascii").lower()
                special.setdefault(name, []).append(m.group(2).decode("latin-1").strip(" \t"))
            request = Request(*self._build_request(method, target, version, headers, special))
            if len(head) <= _MAX_CACHED_HEAD_BYTES - 4:  # keyed with its end, as it arrives
                remember(self._cache, head + b"\r\n\r\n", request, _MAX_CACHED_HEADS)
            return request
        fields = self._fields(block.split(b"\r\n") if block else [], "header")
        headers = Headers(fields)
        special = {}
        for name, value in fields:
            if name in _FRAMING_FIELDS:
                special.setdefault(name, []).append(value)
        return Request(*self._build_request(method, target, version, headers, special))

    def _request_line(self, line: bytes) -> tuple[bytes, bytes, str]:
        m = _REQUEST_LINE.fullmatch(line)
        if m is not None and len(m.group(2)) <= self._max_target_bytes:  # the usual case
            if b"#" in m.group(2):
                self._fail("a fragment in the request-target")  # RFC 9112 §3.2: none
            return m.group(1), m.group(2), "1.1" if m.group(3) == b"1" else "1.0"
        parts = line.split(b" ")  # find and name what is wrong
        if len(parts) != 3:
            self._fail("request line is not 'method SP target SP version'")
        method, target, version = parts
        if not _TOKEN.fullmatch(method):
            self._fail("invalid method")
        if len(target) > self._max_target_bytes:
            self._fail(
                f"request-target of {len(target)} bytes exceeds {self._max_target_bytes}", 414
            )
        if not _TARGET.fullmatch(target) or b"#" in target:
            self._fail("invalid request-target")
        match = _VERSION.fullmatch(version)
        if match is None:
            self._fail("invalid HTTP version")
        assert match is not None
        if match.group(1) != b"1":
            self._fail(f"HTTP/{version[5:].decode()} is not supported", 505)
        return method, target, "1.1" if match.group(2) != b"0" else "1.0"

    def _fields(self, lines: list[bytes], what: str) -> list[tuple[str, str]]:
        if len(lines) > self._max_headers:
            self._fail(f"{len(lines)} {what} fields exceed {self._max_headers}", 431)
        if not lines:
            return []
        block = b"\r\n".join(lines)
        if _FIELD_BLOCK.fullmatch(block):
            # One regex pass has checked every name and value: split without re-checking.
            fields = []
            for line in block.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                fields.append((name.lower(), value.strip(" \t")))
            return fields
        return self._fields_slow(lines, what)  # finds and names the first bad field

    def _fields_slow(self, lines: list[bytes], what: str) -> list[tuple[str, str]]:
        fields = []
        for line in lines:
            if line[:1] in (b" ", b"\t"):
                self._fail("obsolete line folding (obs-fold)")
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(name):
                self._fail(f"invalid {what} field name")  # also whitespace before ':'
            value = value.strip(b" \t")
            if _BAD_VALUE.search(value):
                self._fail(f"control character in {what} field value")
            fields.append((name.decode("ascii").lower(), value.decode("latin-1")))
        return fields

    def _build_request(
        self,
        method: bytes,
        target: bytes,
        version: str,
        headers: Headers,
        special: dict[str, list[str]],
    ) -> _RequestArgs:
        method_s = method.decode("ascii")
        target_s = target.decode("ascii")
        hosts = special.get("host", [])
        if len(hosts) > 1:
            self._fail("more than one Host field")
        if version == "1.1" and not hosts:
            self._fail("HTTP/1.1 request without Host")
        host = hosts[0] if hosts else ""
        if host and host != self._valid_host:  # a connection mostly repeats one Host
            if not _HOST.fullmatch(host.encode("latin-1")):
                self._fail("invalid Host value")  # RFC 9112 §3.2: MUST answer 400
            self._valid_host = host
        if method_s == "CONNECT":  # tunnels are not served, whatever the target's form
            self._fail("CONNECT is not implemented", 501)
        if target_s[0] == "/" and "?" not in target_s:  # the usual origin-form path
            path, query = target_s, ""
        else:
            path, query, authority = self._split_target(method_s, target_s)
            if authority is not None:
                host = authority  # RFC 9112 §3.2.2: the target's authority wins over Host
        length_values = special.get("content-length")
        content_length = self._content_length(length_values) if length_values else None
        codings = special.get("transfer-encoding")
        chunked = self._chunked(codings, version) if codings else False
        if chunked and content_length is not None:
            self._fail("both Content-Length and Transfer-Encoding")  # RFC 9112 §6.3
        conn_values = special.get("connection")
        connection: set[str] | tuple[()] = (
            {t.strip().lower() for v in conn_values for t in v.split(",")} if conn_values else ()
        )
        if version == "1.1":
            keep_alive = "close" not in connection
        else:
            keep_alive = "keep-alive" in connection and "close" not in connection
        expect = special.get("expect")
        expect_continue = False
        if expect:
            if len(expect) > 1 or expect[0].lower() != "100-continue":
                self._fail("unsupported expectation", 417)
            expect_continue = version == "1.1"
        if content_length is not None and content_length > self._max_body_bytes:
            self._fail(f"body of {content_length} bytes exceeds {self._max_body_bytes}", 413)
        return (  # Request's fields, in order
            method_s,
            target_s,
            path,
            query,
            version,
            headers,
            host,
            keep_alive,
            None if chunked else (content_length or 0),
            chunked,
            expect_continue,
        )

    def _split_target(self, method: str, target: str) -> tuple[str, str, str | None]:
        authority = None
        if target.startswith("/"):
            rest = target
        elif target == "*":
            if method != "OPTIONS":
                self._fail("asterisk-form target is only for OPTIONS")
            return "*", "", None
        elif (match := _ABSOLUTE.fullmatch(target.encode("ascii"))) is not None:
            authority = match.group(1).decode("ascii")
            if not _HOST.fullmatch(match.group(1)):
                self._fail("invalid authority in the request-target")
            rest = match.group(2).decode("ascii") or "/"
            if not rest.startswith(("/", "?")):
                self._fail("invalid absolute-form target")
            if rest.startswith("?"):
                rest = "/" + rest
        else:
            self._fail("invalid request-target form")
        path, _, query = rest.partition("?")
        return path, query, authority

    def _content_length(self, values: list[str] | None) -> int | None:
        if not values:
            return None
        lengths = {part.strip() for value in values for part in value.split(",")}
        if len(lengths) != 1:
            self._fail("conflicting Content-Length values")
        (text,) = lengths
        raw = text.encode("latin-1")
        if not _DIGITS.fullmatch(raw) or len(raw) > _MAX_LENGTH_DIGITS:
            self._fail("invalid Content-Length")
        return int(raw)

    def _chunked(self, values: list[str] | None, version: str) -> bool:
        if not values:
            return False
        if version == "1.0":
            self._fail("Transfer-Encoding in an HTTP/1.0 request")  # RFC 9112 §6.1
        codings = [c.strip().lower() for value in values for c in value.split(",")]
        if "" in codings:
            self._fail("empty transfer coding")
        if codings[-1] != "chunked":
            if "chunked" in codings:
                self._fail("chunked is not the last transfer coding")
            self._fail(f"transfer coding {codings[-1]!r} is not implemented", 501)
        if len(codings) > 1:
            if codings.count("chunked") > 1:
                self._fail("chunked applied more than once")
            self._fail(f"transfer coding {codings[0]!r} is not implemented", 501)
        return True

    # --- bodies ---------------------------------------------------------------------------------

    def _count_body(self, n: int) -> None:
        self._body_bytes += n
        if self._body_bytes > self._max_body_bytes:
            self._fail(f"body exceeds {self._max_body_bytes} bytes", 413)

    def _body_length(self) -> Data | EndOfMessage | NeedData:
        if not self._remaining:
            return self._end_of_message(_NO_TRAILERS)
        buf = self._buf
        if not buf:
            return self._need_data()
        n = min(len(buf), self._remaining)
        data = bytes(buf[:n])
        del buf[:n]
        self._remaining -= n
        return Data(data)

    def _chunk_data(self) -> Data | NeedData:
        buf = self._buf
        if not buf:
            return self._need_data()
        n = min(len(buf), self._remaining)
        data = bytes(buf[:n])
        del buf[:n]
        self._remaining -= n
        if not self._remaining:
            self._state = _CHUNK_END
        return Data(data)

    def _line(self, limit: int, what: str) -> bytes | None:
        """Take one CRLF-terminated line of at most `limit` bytes, or None until it is
        complete. Every error here is a 400, so which one is found first does not matter."""
        buf = self._buf
        end = buf.find(b"\r\n", 0, limit + 2)
        if end < 0:
            if len(buf) > limit + 1 or b"\n" in buf:
                self._fail(f"{what} longer than {limit} bytes, or without CRLF")
            return None
        line = bytes(buf[:end])
        del buf[: end + 2]
        if b"\n" in line or b"\r" in line or b"\x00" in line:
            self._fail(f"bare CR, LF or NUL in the {what}")
        return line

    def _chunk_framing(self) -> Data | EndOfMessage | NeedData:
        state = self._state
        if state == _CHUNK_END:
            buf = self._buf
            if buf[:2] != b"\r\n"[: len(buf)]:
                self._fail("chunk data not followed by CRLF")
            if len(buf) < 2:
                return self._need_data()
            del buf[:2]
            self._state = _CHUNK_SIZE
            return self._chunk_framing()
        if state == _CHUNK_SIZE:
            line = self._line(_MAX_CHUNK_LINE_BYTES, "chunk size line")
            if line is None:
                return self._need_data()
            size_text = line.partition(b";")[0].rstrip(b" \t")
            if not _HEX.fullmatch(size_text) or len(size_text) > _MAX_SIZE_HEX_DIGITS:
                self._fail("invalid chunk size")
            if _BAD_VALUE.search(line):
                self._fail("control character in a chunk extension")
            size = int(size_text, 16)
            if size == 0:
                self._state = _TRAILERS
                return self._chunk_framing()
            self._count_body(size)
            self._remaining = size
            self._state = _CHUNK_DATA
            return self._chunk_data()
        return self._trailers()

    def _trailers(self) -> EndOfMessage | NeedData:
        buf = self._buf
        if buf.startswith(b"\r\n"):  # no trailer fields
            del buf[:2]
            return self._end_of_message(_NO_TRAILERS)
        if buf == b"\r":
            return self._need_data()
        end = self._block_end(self._max_header_bytes, None, "trailer section")
        if end < 0:
            return self._need_data()
        section = bytes(buf[:end])
        del buf[: end + 4]
        trailers = Headers(self._fields(section.split(b"\r\n"), "trailer"))
        return self._end_of_message(EndOfMessage(trailers))

    def _end_of_message(self, end: EndOfMessage) -> EndOfMessage:
        request = self._request
        assert request is not None
        self._request = None
        if request.keep_alive:
            self._state = _HEAD
        else:
            self._state = _CLOSED
            self._buf.clear()
        return end

    def __repr__(self) -> str:
        names = (
            "HEAD",
            "BODY",
            "CHUNK_SIZE",
            "CHUNK_DATA",
            "CHUNK_END",
            "TRAILERS",
            "CLOSED",
            "ERROR",
        )
        return f"<RequestParser state={names[self._state]} buffered={len(self._buf)}>"
