"""sws_http.proto: HTTP/1.1 for servers and clients, sans-IO (RFC 9110, RFC 9112).

Bytes in, events out; response heads and chunks out as bytes. No sockets, threads or
clocks: the caller passes the `Date` value in. The one entry for requests is
`RequestParser`:

    parser = RequestParser()                    # limits as keyword arguments
    parser.feed(data)                           # any split of the input, b"" never needed
    while (event := parser.next_event()) is not NEED_DATA:
        match event:
            case Request():        ...          # the head: method, target, headers, ...
            case Data(data=chunk): ...          # body bytes, as they arrive
            case EndOfMessage():   ...          # body done (trailers for chunked bodies)
    parser.feed_eof()                           # the peer closed: ProtocolError mid-message

After `EndOfMessage` the parser is ready for the next pipelined request, whose bytes may
already be buffered; `next_event` returns it in order. If the request did not allow
keep-alive, the parser returns `NEED_DATA` for good after its `EndOfMessage`.

Rules applied strictly (request smuggling defenses):

- Lines end in CRLF; a bare CR or LF, NUL, or other control bytes in the head are errors.
- The request line is `method SP request-target SP HTTP/x.y`, single spaces; the method is
  a token; origin-form, absolute-form (proxies' form, accepted), `*` only for OPTIONS.
- Field names are tokens with no whitespace before the colon; obs-fold is rejected;
  values are trimmed of surrounding SP/HTAB.
- HTTP/1.1 requires exactly one Host; more than one is an error in every version.
- Content-Length: digits only, one value (repeated identical values are one value, as
  RFC 9110 §8.6 allows; different ones are an error).
- Transfer-Encoding: only `chunked`, exactly once and last; with Content-Length, an error
  (RFC 9112 §6.1 allows a server to reject it, and we do); in HTTP/1.0, an error.
- Chunked bodies: hex sizes (no sign, no leading whitespace, bounded length), chunk
  extensions skipped, CRLF after each chunk, trailers parsed like headers.

Both parsers remember the heads they accepted, by their bytes, in bounded tables (one per
set of limits, shared by every parser with those limits): a head met again (a keep-alive
client repeats its own byte for byte; a server its response head within the second of its
Date) is not checked and split again. Requests with the same head share one read-only
`Request`; responses each get their own `Response`, which may share a read-only `Headers`.
`RequestParser.feed_whole` and `next_whole` read such a remembered bodyless request, and
its end, in one call.

Every error is a `ProtocolError` with the status to answer (400, 413, 414, 431, 501, 505)
and a short message; the caller answers and closes the connection.

The client role: `request_head` writes a request head (Host, the caller's fields, then the
framing from its arguments; `chunk`/`last_chunk` write a chunked body), and
`ResponseParser` reads the responses, with the same `feed`/`feed_eof`/`next_event` shape.
Framing depends on the request (RFC 9112 §6.3), so the caller announces each request it
sends, in order, with `parser.expect(method)`. 1xx heads come out as
`InformationalResponse` before the final `Response`; after a 101, or a 2xx to CONNECT, the
parser stops and the bytes after the head are `trailing_data`. A close-delimited body ends
at `feed_eof()`. Heads may use bare-LF line ends, as every client accepts; framing fields
and chunked framing are as strict as for requests. Errors are `ProtocolError` with
`status_hint` 502 (what a gateway would answer); the caller closes the connection, and
reuses it only when `parser.reusable` says so (no stray bytes after the last response).
"""

from sws_http.proto._client import InformationalResponse, Response, request_head
from sws_http.proto._errors import ProtocolError
from sws_http.proto._events import (
    NEED_DATA,
    Data,
    EndOfMessage,
    Headers,
    NeedData,
    Request,
)
from sws_http.proto._request import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_TARGET_BYTES,
    RequestParser,
)
from sws_http.proto._response import (
    REASONS,
    chunk,
    http_date,
    last_chunk,
    response_head,
)
from sws_http.proto._response_parser import DEFAULT_MAX_RESPONSE_BODY_BYTES, ResponseParser

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_MAX_RESPONSE_BODY_BYTES",
    "DEFAULT_MAX_TARGET_BYTES",
    "NEED_DATA",
    "REASONS",
    "Data",
    "EndOfMessage",
    "Headers",
    "InformationalResponse",
    "NeedData",
    "ProtocolError",
    "Request",
    "RequestParser",
    "Response",
    "ResponseParser",
    "chunk",
    "http_date",
    "last_chunk",
    "request_head",
    "response_head",
]
