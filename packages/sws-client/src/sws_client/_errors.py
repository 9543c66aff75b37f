"""The failures an HTTP request can end in, as typed exceptions.

The client never turns a failure into a synthetic response (no made-up 502 or 504): a
`Response` is always what a server sent. Everything that goes wrong in the world is an
`HttpClientError`:

    HttpClientError
    ├── NetworkError             the connection failed: reset, closed before a response
    │   └── ConnectError         no connection could be opened (refused, unreachable)
    │       ├── NameResolutionError   the host name did not resolve
    │       └── ConnectTimeoutError   (also an HttpTimeoutError)
    ├── HttpTimeoutError         also the builtin TimeoutError
    │   ├── ConnectTimeoutError  the TCP connect took longer than the connect timeout
    │   ├── ReadTimeoutError     the server sent nothing for longer than the read timeout
    │   └── RequestTimeoutError  the whole request took longer than the total timeout
    ├── ProtocolError            the response breaks HTTP/1.1 (`__cause__`: the parser's error)
    ├── ResponseTooLargeError    a buffered body over `max_body_bytes`
    ├── TooManyRedirectsError    more redirects than `max_redirects`
    └── UnsupportedURLError      also a ValueError: not an `http://` URL with a host

`ClientClosedError` is not among them: it is a `RuntimeError` (misuse, or a request cut
short because its client was closed under it), like sws_core's `ClosedResourceError`.
"""

from __future__ import annotations

import builtins

__all__ = [
    "ClientClosedError",
    "ConnectError",
    "ConnectTimeoutError",
    "HttpClientError",
    "HttpTimeoutError",
    "NameResolutionError",
    "NetworkError",
    "ProtocolError",
    "ReadTimeoutError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "TooManyRedirectsError",
    "UnsupportedURLError",
]


class HttpClientError(Exception):
    """A request failed for a reason in the world (the network, the server, a limit)."""


class NetworkError(HttpClientError):
    """The connection failed: reset by the peer, closed before a response, a send failed."""


class ConnectError(NetworkError):
    """No connection to the server could be opened (refused, unreachable, no address)."""


class NameResolutionError(ConnectError):
    """The host name did not resolve to any address (`__cause__`: the resolver's error)."""


class HttpTimeoutError(HttpClientError, builtins.TimeoutError):
    """A timeout ran out; also the builtin `TimeoutError`, so `except TimeoutError` works."""


class ConnectTimeoutError(HttpTimeoutError, ConnectError):
    """Opening the TCP connection took longer than the connect timeout."""


class ReadTimeoutError(HttpTimeoutError):
    """The server sent nothing (or did not read what was sent) for the read timeout."""


class RequestTimeoutError(HttpTimeoutError):
    """The request as a whole took longer than its total timeout."""


class ProtocolError(HttpClientError):
    """The server's response breaks HTTP/1.1 (malformed head, framing, truncated body)."""


class ResponseTooLargeError(HttpClientError):
    """A buffered response body is larger than the client's `max_body_bytes`."""


class TooManyRedirectsError(HttpClientError):
    """Following redirects went past the client's `max_redirects`."""


class UnsupportedURLError(HttpClientError, ValueError):
    """The URL cannot be requested: not `http://` (TLS is a non-goal), no host, bad port."""


class ClientClosedError(RuntimeError):
    """The client is closed: no new request starts, and one in flight is cut short."""
