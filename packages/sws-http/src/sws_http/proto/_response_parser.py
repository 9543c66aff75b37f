"""`ResponseParser`: HTTP/1.1 responses from bytes, incrementally, for a client (RFC 9112).

A response's framing depends on the request it answers (RFC 9112 §6.3), so the caller
announces each request it sends with `expect(method)`, in order; pipelined requests queue.
With nothing expected, received bytes wait unparsed: they are `trailing_data`.

States, and what moves the parser from one to the next:

    HEAD         -> a request expected and a complete head ->
                    1xx: InformationalResponse, then HEAD again (SWITCHED after a 101);
                    else Response, then BODY_LENGTH, CHUNK_SIZE, BODY_CLOSE, or (no body)
                    EndOfMessage
    BODY_LENGTH  -> Content-Length bytes, as Data events -> EndOfMessage
    CHUNK_SIZE   -> a size line; 0 -> TRAILERS, else CHUNK_DATA
    CHUNK_DATA   -> that many bytes as Data -> CHUNK_END (the CRLF after them) -> CHUNK_SIZE
    TRAILERS     -> fields up to an empty line -> EndOfMessage
    BODY_CLOSE   -> every byte as Data until `feed_eof` -> EndOfMessage
    after EndOfMessage: HEAD if the response allows keep-alive; CLOSED if not; SWITCHED
    after a 2xx to CONNECT (a tunnel). CLOSED and SWITCHED return NEED_DATA for good and
    ignore further bytes. ERROR after a ProtocolError: every call raises it again.

Framing (RFC 9112 §6.3), in order: no body for a response to HEAD, a 1xx, 204 or 304, or a
2xx to CONNECT, whatever the fields say (they are not interpreted); Transfer-Encoding with
chunked last: chunked, with trailers; Transfer-Encoding without chunked last: read until
close; Content-Length; otherwise read until close.

Rules, strict where framing is decided, lenient only where every client is:

- A head's lines end in CRLF or a bare LF (as h11, curl, Go and http.client accept in
  responses); a bare CR or NUL anywhere in it is an error. Chunk size lines and the CRLF
  after chunk data are framing: CRLF only. Trailers follow the head's rules.
- The status line is `HTTP/1.y SP 3DIGIT [SP reason]`: the SP before an empty reason may
  be missing (as h11 and curl accept); 1.y above 1.1 reads as 1.1, other majors are an
  error; the status is 100-599 (RFC 9110 §15). Nothing may come before the status line.
- Field names are tokens with no whitespace before the colon; obs-fold is rejected.
- Content-Length: digits only; repeated identical values are one value (RFC 9110 §8.6),
  different ones an error. With Transfer-Encoding, an error (RFC 9112 §6.3 says it "ought
  to be handled as an error"); Transfer-Encoding in an HTTP/1.0 response, an error (§6.1);
  codings must be tokens; chunked more than once, an error (§7).
- keep_alive: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection:
  keep-alive` and a length known from the head (RFC 9112 §9.3); never for a close-delimited
  body, a 101 or a tunnel.

The same events come out however the input is split: every state waits for the whole
syntactic unit it needs before it decides anything, and each error in a head is tied to
the input length at which it becomes certain. Every error is a `ProtocolError` whose
`status_hint` is 502, what a gateway answers when the server behind it breaks HTTP
(RFC 9110 §15.6.3); the caller closes the connection.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any, Final

from sws_http.proto._client import InformationalResponse, Response
from sws_http.proto._errors import ProtocolError
from sws_http.proto._events import NEED_DATA, Data, EndOfMessage, Headers, NeedData
from sws_http.proto._remembered import head_table, remember
from sws_http.proto._request import (
    _BAD_VALUE,
    _FIELD_BLOCK,
    _HEX,
    _MAX_CACHED_HEAD_BYTES,
    _MAX_CHUNK_LINE_BYTES,
    _MAX_LENGTH_DIGITS,
    _MAX_SIZE_HEX_DIGITS,
    _NO_TRAILERS,
    _TOKEN,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    Limits,
)

# Limits (units in the names). The head limits are the request parser's: node applies its
# 16 KiB to responses too, and Python's http.client reads at most 100 response fields.
# A body comes out as Data events, never whole, so its limit bounds a runaway download,
# not memory. curl, Go and urllib3 set none by default; nginx, as a client of its
# upstreams, spools at most 1 GiB of a response (proxy_max_temp_file_size 1024m).
DEFAULT_MAX_RESPONSE_BODY_BYTES: Final = 1 << 30

_STATUS: Final = 502  # every error's status_hint

# Final response heads already parsed, by their bytes, one table per set of limits (as
# the request parser's): a server answers the same head again and again (within the
# second of its Date). Only responses to methods that do not change the framing (not
# HEAD, not CONNECT). Each response still gets its own Response; they share the lazily
# split, read-only Headers. Bounded: cleared when full.
_MAX_CACHED_HEADS: Final = 256  # a client talks to fewer servers than a server has clients
_head_caches: dict[tuple[int, ...], dict[bytes, tuple[Any, int, int, int]]] = {}

(
    _HEAD,
    _BODY_LENGTH,
    _CHUNK_SIZE,
    _CHUNK_DATA,
    _CHUNK_END,
    _TRAILERS,
    _BODY_CLOSE,
    _CLOSED,
    _SWITCHED,
    _ERROR,
) = range(10)
_STATE_NAMES: Final = (
    "HEAD",
    "BODY_LENGTH",
    "CHUNK_SIZE",
    "CHUNK_DATA",
    "CHUNK_END",
    "TRAILERS",
    "BODY_CLOSE",
    "CLOSED",
    "SWITCHED",
    "ERROR",
)

# The usual status line in one pass: HTTP/1.y, a status of 100-599, an optional reason
# of HTAB, SP, VCHAR and obs-text (RFC 9112 §4).
_STATUS_LINE = re.compile(rb"HTTP/1\.([0-9]) ([1-5][0-9][0-9])(?: ([\x09\x20-\x7e\x80-\xff]*))?")
_ANY_STATUS_LINE = re.compile(rb"HTTP/([0-9])\.[0-9] ([0-9]{3})(?: (.*))?", re.DOTALL)
_SECTION_END = re.compile(rb"\n\r?\n")  # an empty line, after CRLF or bare LF line ends
_BAD_SECTION = re.compile(rb"\x00|\r(?=[^\n])")  # NUL, or CR followed by anything but LF
_NO_BODY_STATUSES: Final = frozenset({204, 304})
# The fields that decide framing and keep-alive, found in a checked section in one pass
# (MULTILINE "^" is about 3x faster here than the request parser's lookbehind).
_FRAMING_FIELD = re.compile(
    rb"^(content-length|transfer-encoding|connection):([^\r]*)", re.IGNORECASE | re.MULTILINE
)


def _field_error(block: bytes, what: str) -> str:
    """Name the first field of a normalized section that `_FIELD_BLOCK` refused."""
    for line in block.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            return f"obsolete line folding (obs-fold) in the {what} section: {line[:40]!r}"
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            return f"invalid {what} field name {name[:40]!r}"  # also whitespace before ':'
        if _BAD_VALUE.search(value):
            return f"control character in {what} field {name[:40]!r}: {value[:40]!r}"
    raise AssertionError("_FIELD_BLOCK refused a section with valid fields")


class ResponseParser(Limits):
    """Parse the responses of one connection, in order, for the requests the caller sends.

    Args:
        max_header_bytes: status line + fields, and a trailer section; past it: an error.
        max_headers: number of fields in a head or a trailer section.
        max_body_bytes: a body's total length, whatever its framing.
    """

    __slots__ = (
        "_after",
        "_body_bytes",
        "_buf",
        "_eof",
        "_error",
        "_methods",
        "_remaining",
        "_state",
    )

    def __init__(
        self,
        *,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_headers: int = DEFAULT_MAX_HEADERS,
        max_body_bytes: int = DEFAULT_MAX_RESPONSE_BODY_BYTES,
    ) -> None:
        super().__init__(max_header_bytes, max_headers, max_body_bytes)
        self._cache = head_table(_head_caches, (max_header_bytes, max_headers, max_body_bytes))
        self._buf = bytearray()
        self._state = _HEAD
        self._methods: deque[str] = deque()  # methods of the requests awaiting a response
        self._after = _HEAD  # the state after the current response's EndOfMessage
        self._remaining = 0  # body or chunk bytes still to come
        self._body_bytes = 0  # body bytes of the current response so far
        self._error: ProtocolError | None = None
        self._eof = False  # the peer has closed its side

    def expect(self, method: str) -> None:
        """Announce a request sent on this connection: the next response not yet claimed
        answers it. Call once per request, in the order they were sent.

        Args:
            method: the request's method, as sent ("HEAD" and "CONNECT" change framing).

        Raises:
            RuntimeError: the connection can carry no further response (after one that
                closes it, a 101 or a tunnel, or a ProtocolError).
        """
        if self._state >= _CLOSED:
            raise RuntimeError(f"no response can follow in state {_STATE_NAMES[self._state]}")
        self._methods.append(method)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add received bytes (once the connection is done with HTTP, they are ignored)."""
        if self._state < _CLOSED:
            self._buf += data

    def feed_eof(self) -> None:
        """The peer closed its side. A close-delimited body ends here (`next_event` returns
        its EndOfMessage); a response cut short makes `next_event` raise once the bytes
        already buffered are used up. Never raises itself."""
        self._eof = True

    @property
    def buffered(self) -> int:
        """How many received bytes wait to be parsed (or, with nothing expected, unparsed)."""
        return len(self._buf)

    @property
    def trailing_data(self) -> bytes:
        """Bytes received that no expected response claims: with nothing expected, bytes
        the server sent unasked (the connection is not fit for reuse); after a 101 or a
        tunnel, the first bytes of the new protocol. b"" while a response is expected."""
        state = self._state
        if (state == _HEAD and not self._methods) or state in (_CLOSED, _SWITCHED):
            return bytes(self._buf)
        return b""

    @property
    def reusable(self) -> bool:
        """Whether the connection may carry another request now: every expected response
        is complete, kept alive, nothing else arrived, and the peer has not closed."""
        return self._state == _HEAD and not self._methods and not self._buf and not self._eof

    def next_event(
        self,
    ) -> InformationalResponse | Response | Data | EndOfMessage | NeedData:
        """Return the next event, or `NEED_DATA` when more bytes (or an `expect`) are needed.

        Raises:
            ProtocolError: the input breaks HTTP/1.1, or the connection closed in the middle
                of a response or before an expected one; every later call raises it again.
        """
        state = self._state
        if state == _HEAD:
            return self._parse_head()
        if state == _BODY_LENGTH:
            return self._body_length()
        if state == _CHUNK_DATA:
            return self._chunk_data()
        if state <= _TRAILERS:  # _CHUNK_SIZE, _CHUNK_END or _TRAILERS
            return self._chunk_framing()
        if state == _BODY_CLOSE:
            return self._body_close()
        if state == _ERROR:
            assert self._error is not None
            raise self._error
        return NEED_DATA

    def take_body(self) -> bytes | None:
        """The rest of the current response's body, and its end, in one call.

        When the body has a length (Content-Length, or none at all: HEAD, 204, 304) and
        every byte of it is buffered, this returns those bytes and moves past the
        response's end: what `next_event` would return as a `Data` (none for an empty
        body) and then an `EndOfMessage` without trailers. Otherwise it returns None and
        changes nothing: read the body with `next_event`.
        """
        if self._state != _BODY_LENGTH:
            return None
        remaining = self._remaining
        buf = self._buf
        if len(buf) < remaining:
            return None
        if len(buf) == remaining:
            data = bytes(buf)
            buf.clear()
        else:
            data = bytes(buf[:remaining])
            del buf[:remaining]
        self._remaining = 0
        self._state = self._after
        return data

    def _fail(self, message: str) -> ProtocolError:
        """Enter ERROR for good; return the error for the caller to raise."""
        self._state = _ERROR
        self._error = ProtocolError(message, _STATUS)
        return self._error

    def _need_data(self) -> NeedData:
        """NEED_DATA, or the end of the road when the peer has closed mid-response."""
        if self._eof:
            if self._state != _HEAD:
                raise self._fail("connection closed in the middle of a response body")
            if self._buf:
                raise self._fail("connection closed in the middle of a response head")
            raise self._fail("connection closed before the response")
        return NEED_DATA

    # --- heads ----------------------------------------------------------------------------

    def _parse_head(self) -> InformationalResponse | Response | NeedData:
        if not self._methods:
            return NEED_DATA  # nothing expected: the bytes are trailing_data
        buf = self._buf
        # A final response's head seen before, to a request whose method does not change
        # the framing: its checks passed then and would pass again, under the same limits.
        end = buf.find(b"\r\n\r\n", 0, _MAX_CACHED_HEAD_BYTES) + 4
        if end >= 4 and buf.startswith(b"HTTP/"):
            method = self._methods[0]
            if method != "HEAD" and method != "CONNECT":
                fields = self._cache.get(bytes(buf) if end == len(buf) else bytes(buf[:end]))
                if fields is not None:
                    del buf[:end]
                    self._methods.popleft()
                    response, self._state, self._remaining, self._after = fields
                    self._body_bytes = 0
                    return Response(*response)
        if not buf.startswith(b"HTTP/"):  # fail fast on a peer that does not speak HTTP
            for i, byte in enumerate(buf[:5]):
                if byte != b"HTTP/"[i]:
                    start = bytes(buf[: i + 1])
                    raise self._fail(f"response does not start with 'HTTP/': {start!r}")
            return self._need_data()
        end, after = self._section_end("response head")
        if end < 0:
            return self._need_data()
        head = bytes(buf[:end])
        original = bytes(buf[:after])  # the key it would be remembered by: the head as sent
        del buf[:after]
        if head.count(b"\n") != head.count(b"\r\n"):  # bare LF line ends: make them CRLF
            head = head.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        line_end = head.find(b"\r\n")
        if line_end < 0:
            line_end = len(head)
        status, reason, version = self._status_line(head[:line_end])
        block = head[line_end + 2 :]
        headers = self._headers(block, "header")
        if status < 200:
            if status == 101:  # RFC 9110 §15.2.2: the connection now speaks another protocol
                self._state = _SWITCHED
                self._methods.clear()
            return InformationalResponse(status, reason, version, headers)
        method = self._methods[0]
        response = self._final_response(status, reason, version, headers, block)
        if after <= _MAX_CACHED_HEAD_BYTES and method != "HEAD" and method != "CONNECT":
            keep_alive, length = response.keep_alive, response.content_length
            fields = (status, reason, version, headers, keep_alive, length)
            entry = (fields, self._state, self._remaining, self._after)
            remember(self._cache, original, entry, _MAX_CACHED_HEADS)
        return response

    def _section_end(self, what: str) -> tuple[int, int]:
        """Find a head or trailer section in the buffer: the end of its last line and the
        end of the empty line after it, or (-1, -1) until it is complete.

        The verdict depends only on the bytes, never on how they were split: each error is
        tied to the input length at which it becomes certain (NUL: its own byte; a bare
        CR: the byte after it; too long: the limit), and the earliest one wins, unless the
        section ends before it.
        """
        buf = self._buf
        limit = self._max_header_bytes
        end = buf.find(b"\r\n\r\n")
        # The usual case first: a whole section within the limit, every CR and LF paired as
        # CRLF, no NUL (so no earlier bare-LF end either): byte counts, in C.
        if 0 <= end <= limit - 4:
            stop = end + 4
            crlf = buf.count(b"\r\n", 0, stop)
            if (
                buf.count(b"\r", 0, stop) == crlf
                and buf.count(b"\n", 0, stop) == crlf
                and buf.find(b"\x00", 0, stop) < 0
            ):
                return end, stop
        n = len(buf)
        match = _SECTION_END.search(buf)
        done_at = match.end() if match is not None else n + 1  # input length that completes it
        errors = [(limit + 1, f"{what} longer than {limit} bytes")]
        bad = _BAD_SECTION.search(buf, 0, min(n, done_at))
        if bad is not None:
            at = bad.start() + (2 if buf[bad.start()] == 13 else 1)
            errors.append((at, f"NUL or bare CR in the {what} at byte {bad.start()}"))
        at, message = min(errors)
        if at <= n and at <= done_at:
            raise self._fail(message)
        if match is None:
            return -1, -1
        end = match.start()
        return (end - 1 if end and buf[end - 1] == 13 else end), match.end()

    def _status_line(self, line: bytes) -> tuple[int, str, str]:
        match = _STATUS_LINE.fullmatch(line)
        if match is not None:  # the usual case
            reason = match.group(3)
            return (
                int(match.group(2)),
                reason.decode("latin-1") if reason else "",
                "1.0" if match.group(1) == b"0" else "1.1",  # RFC 9110 §2.5: 1.2 as 1.1
            )
        match = _ANY_STATUS_LINE.fullmatch(line)  # find and name what is wrong
        if match is None:
            raise self._fail(f"status line is not 'HTTP/x.y SP 3DIGIT SP reason': {line[:40]!r}")
        if match.group(1) != b"1":
            raise self._fail(f"HTTP/{line[5:8].decode('latin-1')} is not supported")
        status = int(match.group(2))
        if not 100 <= status <= 599:
            raise self._fail(f"status {status} is outside 100-599")  # RFC 9110 §15
        raise self._fail(f"control character in the reason phrase: {match.group(3)[:40]!r}")

    def _headers(self, block: bytes, what: str) -> Headers:
        """Check a normalized field section in one pass; its fields split lazily."""
        if block and (n := block.count(b"\r\n") + 1) > self._max_headers:
            raise self._fail(f"{n} {what} fields exceed {self._max_headers}")
        if not _FIELD_BLOCK.fullmatch(block):
            raise self._fail(_field_error(block, what))
        return Headers(raw=block)

    def _final_response(
        self, status: int, reason: str, version: str, headers: Headers, block: bytes
    ) -> Response:
        method = self._methods.popleft()
        special: dict[str, list[str]] = {}
        for m in _FRAMING_FIELD.finditer(block):
            name = m.group(1).decode("ascii").lower()
            special.setdefault(name, []).append(m.group(2).decode("latin-1").strip(" \t"))
        length: int | None = 0
        after = _HEAD
        if method == "HEAD" or status in _NO_BODY_STATUSES:
            self._state = _BODY_LENGTH
        elif method == "CONNECT" and status < 300:
            self._state = _BODY_LENGTH
            after = _SWITCHED  # RFC 9110 §9.3.6: the connection is now a tunnel
        elif codings := special.get("transfer-encoding"):
            if "content-length" in special:
                raise self._fail("both Content-Length and Transfer-Encoding")  # RFC 9112 §6.3
            if version == "1.0":
                raise self._fail("Transfer-Encoding in an HTTP/1.0 response")  # RFC 9112 §6.1
            length = None
            self._state = _CHUNK_SIZE if self._chunked(codings) else _BODY_CLOSE
        elif lengths := special.get("content-length"):
            length = self._content_length(lengths)
            if length > self._max_body_bytes:
                raise self._fail(f"body of {length} bytes exceeds {self._max_body_bytes}")
            self._state = _BODY_LENGTH
        else:
            length = None
            self._state = _BODY_CLOSE
        self._remaining = length or 0
        self._body_bytes = 0
        if self._state == _BODY_CLOSE or after == _SWITCHED:
            keep_alive = False  # the body, or the tunnel, ends with the connection
        else:
            values = special.get("connection")
            options: set[str] | tuple[()] = (
                {t.strip(" \t").lower() for v in values for t in v.split(",")} if values else ()
            )
            if version == "1.1":
                keep_alive = "close" not in options
            else:
                keep_alive = "keep-alive" in options and "close" not in options
        if not keep_alive and after == _HEAD:
            after = _CLOSED
        self._after = after
        return Response(status, reason, version, headers, keep_alive, length)

    def _content_length(self, values: list[str]) -> int:
        text = values[0]
        if (
            len(values) == 1
            and text.isdigit()
            and text.isascii()
            and len(text) <= _MAX_LENGTH_DIGITS
        ):
            return int(text)  # the usual case: one plain value
        lengths = {part.strip(" \t") for value in values for part in value.split(",")}
        if len(lengths) != 1:
            raise self._fail(f"conflicting Content-Length values {values!r}")  # RFC 9110 §8.6
        (text,) = lengths
        if not (text.isascii() and text.isdigit()) or len(text) > _MAX_LENGTH_DIGITS:
            raise self._fail(f"invalid Content-Length {text!r}")
        return int(text)

    def _chunked(self, values: list[str]) -> bool:
        """Whether chunked is the last coding (else the body is read until close)."""
        codings = [c.strip(" \t").lower() for value in values for c in value.split(",")]
        for coding in codings:
            if not _TOKEN.fullmatch(coding.encode("latin-1")):
                raise self._fail(f"invalid transfer coding {coding!r}")
        if codings.count("chunked") > 1:
            raise self._fail("chunked applied more than once")  # RFC 9112 §7
        return codings[-1] == "chunked"  # RFC 9112 §6.3: else read until close

    # --- bodies ---------------------------------------------------------------------------

    def _body_length(self) -> Data | EndOfMessage | NeedData:
        remaining = self._remaining
        if not remaining:
            return self._end_of_message(_NO_TRAILERS)
        buf = self._buf
        if not buf:
            return self._need_data()
        if len(buf) <= remaining:  # the usual case: every buffered byte is body
            data = bytes(buf)
            buf.clear()
        else:
            data = bytes(buf[:remaining])
            del buf[:remaining]
        self._remaining = remaining - len(data)
        return Data(data)

    def _body_close(self) -> Data | EndOfMessage | NeedData:
        buf = self._buf
        if not buf:
            return self._end_of_message(_NO_TRAILERS) if self._eof else NEED_DATA
        room = self._max_body_bytes - self._body_bytes
        if room <= 0:  # tied to the first byte past the limit, whatever the split
            raise self._fail(f"close-delimited body exceeds {self._max_body_bytes} bytes")
        if len(buf) <= room:
            data = bytes(buf)
            buf.clear()
        else:
            data = bytes(buf[:room])
            del buf[:room]
        self._body_bytes += len(data)
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

    def _chunk_line(self) -> bytes | None:
        """Take one CRLF-terminated chunk size line, or None until it is complete. Each
        error is found at the same byte however the input is split: the first LF decides."""
        buf = self._buf
        limit = _MAX_CHUNK_LINE_BYTES
        lf = buf.find(b"\n", 0, limit + 2)
        if lf < 0:
            if len(buf) > limit + 1:
                raise self._fail(f"chunk size line longer than {limit} bytes")
            return None
        if lf == 0 or buf[lf - 1] != 13:
            raise self._fail(f"chunk size line ends in a bare LF: {bytes(buf[:lf])[:40]!r}")
        line = bytes(buf[: lf - 1])
        del buf[: lf + 1]
        if b"\r" in line or b"\x00" in line:
            raise self._fail(f"bare CR or NUL in the chunk size line {line[:40]!r}")
        return line

    def _chunk_framing(self) -> Data | EndOfMessage | NeedData:
        state = self._state
        if state == _CHUNK_END:
            buf = self._buf
            if buf[:2] != b"\r\n"[: len(buf)]:
                raise self._fail("chunk data not followed by CRLF")  # RFC 9112 §7.1
            if len(buf) < 2:
                return self._need_data()
            del buf[:2]
            self._state = _CHUNK_SIZE
            return self._chunk_framing()
        if state == _CHUNK_SIZE:
            line = self._chunk_line()
            if line is None:
                return self._need_data()
            size_text = line.partition(b";")[0].rstrip(b" \t")  # RFC 9112 §7.1.1: BWS
            if not _HEX.fullmatch(size_text) or len(size_text) > _MAX_SIZE_HEX_DIGITS:
                raise self._fail(f"invalid chunk size {size_text[:40]!r}")
            if _BAD_VALUE.search(line):
                raise self._fail(f"control character in a chunk extension {line[:40]!r}")
            size = int(size_text, 16)
            if size == 0:
                self._state = _TRAILERS
                return self._chunk_framing()
            self._body_bytes += size
            if self._body_bytes > self._max_body_bytes:
                raise self._fail(f"chunked body exceeds {self._max_body_bytes} bytes")
            self._remaining = size
            self._state = _CHUNK_DATA
            return self._chunk_data()
        return self._trailers()

    def _trailers(self) -> EndOfMessage | NeedData:
        buf = self._buf
        if buf[:1] == b"\n" or buf[:2] == b"\r\n":  # no trailer fields
            del buf[: 1 if buf[0] == 10 else 2]
            return self._end_of_message(_NO_TRAILERS)
        if buf == b"\r" or not buf:
            return self._need_data()
        end, after = self._section_end("trailer section")
        if end < 0:
            return self._need_data()
        section = bytes(buf[:end])
        del buf[:after]
        if section.count(b"\n") != section.count(b"\r\n"):
            section = section.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        return self._end_of_message(EndOfMessage(self._headers(section, "trailer")))

    def _end_of_message(self, end: EndOfMessage) -> EndOfMessage:
        self._state = self._after
        return end

    def __repr__(self) -> str:
        return (
            f"<ResponseParser state={_STATE_NAMES[self._state]} expected={len(self._methods)}"
            f" buffered={len(self._buf)}>"
        )
