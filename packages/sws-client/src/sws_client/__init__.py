"""sws_client: outbound HTTP/1.1 on its own io_uring loop thread, usable from threads and fibers.

    from sws_client import HttpClient

    with HttpClient() as client:                    # starts the client's loop thread
        resp = client.get("http://127.0.0.1:8080/users/1")
        print(resp.status, resp.headers.get("content-type"), resp.json())

From a plain thread, the verbs (`get`, `post`, `put`, `patch`, `delete`, `head`, `request`,
`stream`) block that thread and return the response. From a fiber on an sws loop (a server
handler), the same calls return a `Pending` to wait for without blocking the IO thread:

    @app.get("/proxy")
    def proxy(ctx):
        resp = yield from client.get("http://upstream:9000/data")    # or `await` in async def
        ctx.bytes(resp.body, resp.headers.get("content-type", "application/octet-stream"))

`fetch` and `fetch_stream` always return the `Pending` (typed; `.result()` blocks a plain
thread). Large bodies are read piece by piece with `client.stream(...)` (a `StreamResponse`).

What it does: Content-Length, chunked (with trailers) and close-delimited bodies; 1xx heads
skipped; redirects when asked (`follow_redirects=True`); IPv4 and IPv6; a keep-alive pool
per host and port with an idle TTL; connect, read and total timeouts; limits on heads and
buffered bodies; failures as typed `HttpClientError`s, never as made-up responses. Plain
`http://` only: TLS is a non-goal (put a TLS proxy in front). Names resolve from
`/etc/hosts`, then through the client's own `DnsResolver` (or the `resolver=` given, or
`resolver="system"` for `getaddrinfo` on a worker thread).

`DnsResolver` is usable alone: async DNS over UDP on the ring (A and AAAA, CNAME chains,
`/etc/hosts` first, every resolv.conf nameserver with failover, search and ndots, TCP after
truncation, random ids and source ports, answers checked against id and question, a TTL
cache with negative entries, one query for concurrent lookups of a name):

    addresses = yield from resolver.resolve_on_loop("example.com")   # in a fiber
    addresses = resolver.resolve("example.com")                        # from a plain thread
"""

from sws_client._client import DEFAULT_MAX_CONNECTIONS, DEFAULT_USER_AGENT, HttpClient
from sws_client._dnscache import DnsCache
from sws_client._dnserrors import (
    DnsError,
    DnsServerError,
    DnsTimeoutError,
    NameNotFoundError,
    NoAddressError,
)
from sws_client._errors import (
    ClientClosedError,
    ConnectError,
    ConnectTimeoutError,
    HttpClientError,
    HttpTimeoutError,
    NameResolutionError,
    NetworkError,
    ProtocolError,
    ReadTimeoutError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    UnsupportedURLError,
)
from sws_client._handoff import DEFAULT_MAX_STREAM_BUFFER_BYTES, Pending
from sws_client._lookup import Resolver
from sws_client._pool import DEFAULT_IDLE_TTL_S, DEFAULT_MAX_IDLE, DEFAULT_MAX_IDLE_PER_HOST
from sws_client._resolvconf import (
    Hosts,
    ResolvConf,
    load_hosts,
    load_resolv_conf,
    parse_hosts,
    parse_resolv_conf,
)
from sws_client._resolver import DEFAULT_MAX_INFLIGHT, DnsResolver, ResolverStatistics
from sws_client._response import Response, StreamResponse
from sws_client._session import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_READ_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
    ClientStatistics,
    Timeout,
)

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_IDLE_TTL_S",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_MAX_IDLE",
    "DEFAULT_MAX_IDLE_PER_HOST",
    "DEFAULT_MAX_INFLIGHT",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_MAX_STREAM_BUFFER_BYTES",
    "DEFAULT_READ_TIMEOUT_S",
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_USER_AGENT",
    "ClientClosedError",
    "ClientStatistics",
    "ConnectError",
    "ConnectTimeoutError",
    "DnsCache",
    "DnsError",
    "DnsResolver",
    "DnsServerError",
    "DnsTimeoutError",
    "Hosts",
    "HttpClient",
    "HttpClientError",
    "HttpTimeoutError",
    "NameNotFoundError",
    "NameResolutionError",
    "NetworkError",
    "NoAddressError",
    "Pending",
    "ProtocolError",
    "ReadTimeoutError",
    "RequestTimeoutError",
    "ResolvConf",
    "Resolver",
    "ResolverStatistics",
    "Response",
    "ResponseTooLargeError",
    "StreamResponse",
    "Timeout",
    "TooManyRedirectsError",
    "UnsupportedURLError",
    "load_hosts",
    "load_resolv_conf",
    "parse_hosts",
    "parse_resolv_conf",
]
