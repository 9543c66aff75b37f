"""`HttpClient`: outbound HTTP/1.1 on its own io_uring loop thread, for threads and fibers.

How a call runs: the caller's thread checks the request (URL, fields, body) and hands it to
the client's loop with `invoke`, the one thread-safe entry into a loop (requests handed over
before the loop takes them share one `invoke`). There a `Transfer`, on a worker fiber,
resolves, connects or reuses a pooled connection, and exchanges the request; its outcome
comes back through a `Pending`. The caller then waits in the way its thread allows:

- on an sws IO thread (`sws_core.current_loop()` is a loop: a server handler's fiber), the
  verbs return the `Pending`, which the fiber waits for with `resp = yield from ...` or
  `resp = await ...`: the caller's loop goes on serving, and the outcome arrives through
  that loop's own `invoke`. The IO thread never blocks;
- on any other thread, the verbs block that thread until the outcome and return it.

A method's return type cannot depend on the calling thread, so the verbs (`request`, `get`,
..., `stream`) are annotated `Any` and documented; typed code calls `fetch` /
`fetch_stream`, which always return the `Pending` (`.result()` blocks a plain thread).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Final, Literal, cast

from sws_client._connection import Connection
from sws_client._errors import ClientClosedError
from sws_client._handoff import DEFAULT_MAX_STREAM_BUFFER_BYTES, Pending, Wakeups
from sws_client._lookup import HostLookup, Resolver
from sws_client._pool import (
    DEFAULT_IDLE_TTL_S,
    DEFAULT_MAX_IDLE,
    DEFAULT_MAX_IDLE_PER_HOST,
    ConnectionPool,
)
from sws_client._request import Body, HeadersIn, RequestSpec, fields_of, make_spec
from sws_client._resolvconf import load_hosts
from sws_client._resolver import DnsResolver
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
    Session,
    Settings,
    Timeout,
)
from sws_client._transfer import Transfer
from sws_core import InvokeQueueFullError, Loop, current_loop

__all__ = ["DEFAULT_MAX_CONNECTIONS", "DEFAULT_USER_AGENT", "HttpClient"]

log = logging.getLogger("sws_client")

DEFAULT_USER_AGENT: Final = "sws-client/0.1"
# Connection slots of the client's loop (open connections, idle and busy): nginx's
# worker_connections default is 512; urllib3 and httpx do not bound them by default.
DEFAULT_MAX_CONNECTIONS: Final = 1024
_GRACE_S: Final = 1.0  # the loop's stop: every connection is already aborted by then
_JOIN_S: Final = 10.0  # close() waits this long for the loop thread


def _here(pending: Pending[Any]) -> Any:
    """What `request` and `stream` return: on an sws IO thread the pending itself (to
    `yield from` or `await`), on any other thread its outcome (blocking only that thread)."""
    return pending if current_loop() is not None else pending.result()


class HttpClient:
    """An HTTP/1.1 client (plain `http://` only) with a keep-alive pool, on its own loop.

    Args:
        resolver: resolves names that are not IP literals, localhost or in the hosts file:
            an object with `resolve_on_loop(name)`, a fiber body run on the client's loop
            that returns addresses (a `DnsResolver` to share one cache between clients);
            None: a `DnsResolver` of the client's own, on its loop (resolv.conf's
            nameservers); "system": `getaddrinfo` on a worker thread of the client's loop.
        headers: fields sent with every request (a request's own fields of the same name
            replace them).
        user_agent: the User-Agent field (None: not sent).
        follow_redirects: whether requests follow redirects unless they say otherwise.
        max_redirects: redirects one request may follow.
        connect_timeout_s / read_timeout_s / timeout_s: the default `Timeout` (connect,
            between bytes, total; `timeout_s=None` for no total bound).
        max_header_bytes / max_headers: limits on a response head.
        max_body_bytes: the largest buffered response body (streams are not limited).
        max_stream_buffer_bytes: body bytes queued for a stream's consumer.
        idle_ttl_s / max_idle_per_host / max_idle: the keep-alive pool.
        max_connections: connections open at once (slots of the client's loop).
        hosts_path: the hosts(5) file read at start.

    Raises:
        ValueError: a limit out of range.
        IoUringUnavailableError: io_uring cannot be used here (the message says why).
    """

    def __init__(
        self,
        *,
        resolver: Resolver | Literal["system"] | None = None,
        headers: HeadersIn | None = None,
        user_agent: str | None = DEFAULT_USER_AGENT,
        follow_redirects: bool = False,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_headers: int = DEFAULT_MAX_HEADERS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_stream_buffer_bytes: int = DEFAULT_MAX_STREAM_BUFFER_BYTES,
        idle_ttl_s: float = DEFAULT_IDLE_TTL_S,
        max_idle_per_host: int = DEFAULT_MAX_IDLE_PER_HOST,
        max_idle: int = DEFAULT_MAX_IDLE,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        hosts_path: str = "/etc/hosts",
    ) -> None:
        for name, value in (
            ("max_redirects", max_redirects),
            ("max_header_bytes", max_header_bytes - 1),
            ("max_headers", max_headers - 1),
            ("max_body_bytes", max_body_bytes),
            ("max_stream_buffer_bytes", max_stream_buffer_bytes - 1),
        ):
            if value < 0:
                raise ValueError(f"{name} is out of range")
        defaults = [] if user_agent is None else [("User-Agent", user_agent)]
        defaults.append(("Accept", "*/*"))
        named = {name.lower() for name, _ in fields_of(headers)}
        defaults = [f for f in defaults if f[0].lower() not in named] + fields_of(headers)
        settings = Settings(
            timeout=Timeout(connect_timeout_s, read_timeout_s, timeout_s),
            follow_redirects=follow_redirects,
            max_redirects=max_redirects,
            max_header_bytes=max_header_bytes,
            max_headers=max_headers,
            max_body_bytes=max_body_bytes,
            max_stream_buffer_bytes=max_stream_buffer_bytes,
            headers=tuple(defaults),
        )
        pool: ConnectionPool[Connection] = ConnectionPool(
            idle_ttl_s=idle_ttl_s, max_idle_per_host=max_idle_per_host, max_idle=max_idle
        )
        hosts = load_hosts(hosts_path)
        self._own_resolver: DnsResolver | None = None
        if resolver is None:
            resolver = self._own_resolver = DnsResolver(hosts=hosts)
        system = resolver == "system"
        self._loop = Loop(
            max_connections=max_connections,
            workers=1 if system else 0,
            idle_timeout_s=None,  # idle connections are the pool's business (its TTL)
            grace_s=_GRACE_S,
            handle_signals=False,
        )
        lookup = HostLookup(hosts, None if system else cast(Resolver, resolver))
        self._session = Session(self._loop, settings, pool, lookup)
        self._specs: dict[tuple[str, str, bool], RequestSpec] = {}  # make_spec's cache
        self._wakeups = Wakeups()
        self._loop.add_tick_hook(self._wakeups.flush)
        self._lock = threading.Lock()
        self._closed = False
        # Transfers handed over and not yet started: the requests of one caller's turn
        # cross with one `invoke` (one eventfd write), not one each.
        self._queued: list[Transfer] = []
        self._start_scheduled = False
        self._error: BaseException | None = None
        self._started = threading.Event()
        self._running = False
        self._thread = threading.Thread(target=self._run, name="sws-client", daemon=True)
        self._loop.invoke(self._mark_running)
        self._thread.start()
        self._started.wait()
        if not self._running:
            self._thread.join(_JOIN_S)
            assert self._error is not None
            raise self._error

    # --- the loop thread ----------------------------------------------------------------------

    def _mark_running(self) -> None:
        self._running = True
        self._started.set()

    def _run(self) -> None:
        self._wakeups.bind()
        try:
            self._loop.run()
        except BaseException as exc:
            self._error = exc
            if self._running:
                log.exception("the loop of %r failed", self)
        finally:
            self._closed = True
            # Whatever never got to run (or the loop failing) still gets an outcome.
            self._session.shutdown()
            self._start_queued()  # the session is closed: each fails with ClientClosedError
            self._wakeups.unbind()
            self._started.set()

    def _start_queued(self) -> None:
        with self._lock:
            queued, self._queued = self._queued, []
            self._start_scheduled = False
        start = self._session.start
        for transfer in queued:
            start(transfer)

    # --- requests -------------------------------------------------------------------------------

    def fetch(
        self,
        method: str,
        url: str,
        *,
        headers: HeadersIn | None = None,
        body: Body | None = None,
        timeout: float | Timeout | None = None,
        follow_redirects: bool | None = None,
    ) -> Pending[Response]:
        """Start a request and return its `Pending` at once, from any thread.

        In a fiber: `resp = yield from client.fetch("GET", url)` (or `await`); in a plain
        thread: `resp = client.fetch("GET", url).result()`. Several may run at once.

        Args:
            method: the method ("GET"), sent as given.
            url: an absolute `http://` URL; IPv6 literals in brackets.
            headers: request fields (a mapping or `(name, value)` pairs, repeats kept).
                Host, User-Agent and Accept have defaults; Content-Length and
                Transfer-Encoding come from `body`; `Connection: close` is honoured.
            body: the body (str is sent as UTF-8).
            timeout: total seconds, or a `Timeout`, or None for the client's.
            follow_redirects: None for the client's setting.

        Returns:
            The pending request; its outcome is a `Response` or an `HttpClientError`.

        Raises:
            UnsupportedURLError: not an `http://` URL (https included) or no host.
            ValueError: a field name or value that cannot be sent, a framing field.
            ClientClosedError: the client is closed.
        """
        return self._submit(method, url, headers, body, timeout, follow_redirects, stream=False)

    def fetch_stream(
        self,
        method: str,
        url: str,
        *,
        headers: HeadersIn | None = None,
        body: Body | None = None,
        timeout: float | Timeout | None = None,
        follow_redirects: bool | None = None,
    ) -> Pending[StreamResponse]:
        """As `fetch`, but the outcome is a `StreamResponse` as soon as the head arrives.

        The total timeout bounds the wait for the head; the body's pieces are bounded by
        the read timeout each. See `StreamResponse` for reading the body.
        """
        return self._submit(method, url, headers, body, timeout, follow_redirects, stream=True)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: HeadersIn | None = None,
        body: Body | None = None,
        timeout: float | Timeout | None = None,
        follow_redirects: bool | None = None,
    ) -> Any:
        """Send a request; block or not, depending on the calling thread.

        Returns:
            On an sws IO thread, the `Pending[Response]` (`resp = yield from ...` or
            `resp = await ...` in the fiber); on any other thread, the `Response`.

        Raises:
            HttpClientError: (plain threads) the request failed; see `fetch` for the rest.
        """
        pending = self._submit(method, url, headers, body, timeout, follow_redirects, stream=False)
        return _here(pending)

    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: HeadersIn | None = None,
        body: Body | None = None,
        timeout: float | Timeout | None = None,
        follow_redirects: bool | None = None,
    ) -> Any:
        """As `request`, for a `StreamResponse` (`Pending[StreamResponse]` on an IO thread).

        From a thread: `with client.stream("GET", url) as resp: for chunk in resp: ...`.
        """
        pending = self._submit(method, url, headers, body, timeout, follow_redirects, stream=True)
        return _here(pending)

    def get(self, url: str, **options: Any) -> Any:
        """`request("GET", url, ...)`."""
        return self.request("GET", url, **options)

    def head(self, url: str, **options: Any) -> Any:
        """`request("HEAD", url, ...)`: the response has no body."""
        return self.request("HEAD", url, **options)

    def post(self, url: str, **options: Any) -> Any:
        """`request("POST", url, ...)`."""
        return self.request("POST", url, **options)

    def put(self, url: str, **options: Any) -> Any:
        """`request("PUT", url, ...)`."""
        return self.request("PUT", url, **options)

    def patch(self, url: str, **options: Any) -> Any:
        """`request("PATCH", url, ...)`."""
        return self.request("PATCH", url, **options)

    def delete(self, url: str, **options: Any) -> Any:
        """`request("DELETE", url, ...)`."""
        return self.request("DELETE", url, **options)

    def _submit(
        self,
        method: str,
        url: str,
        headers: HeadersIn | None,
        body: Body | None,
        timeout: float | Timeout | None,
        follow_redirects: bool | None,
        *,
        stream: bool,
    ) -> Pending[Any]:
        spec = make_spec(
            self._session.settings,
            method,
            url,
            headers,
            body,
            timeout,
            follow_redirects,
            stream,
            self._specs,
        )
        transfer: Transfer | None = None

        def abandon() -> None:  # the waiting fiber went away: free the connection
            if transfer is not None:
                self._loop.invoke(transfer.abandon, ClientClosedError("the waiter went away"))

        pending: Pending[Any] = Pending(abandon)
        transfer = Transfer(self._session, spec, pending)
        with self._lock:  # no request slips in behind close()'s shutdown
            if self._closed:
                raise ClientClosedError("the client is closed")
            queued = self._queued
            if len(queued) >= self._loop.max_invokes:
                raise InvokeQueueFullError(f"{len(queued)} requests already queued")
            queued.append(transfer)
            if not self._start_scheduled:
                try:
                    self._loop.invoke(self._start_queued)
                except BaseException:
                    queued.pop()
                    raise
                self._start_scheduled = True
        return pending

    # --- life cycle -----------------------------------------------------------------------------

    def statistics(self) -> ClientStatistics:
        """A snapshot of the client's counters (from any thread)."""
        return self._session.statistics()

    @property
    def closed(self) -> bool:
        """Whether `close` was called (or the loop ended)."""
        return self._closed

    def close(self) -> None:
        """Fail requests in flight with `ClientClosedError`, close every connection, stop
        and join the loop thread. Idempotent; safe from any thread.

        The join takes a loop turn or two; called on an sws IO thread it holds that thread
        as long, so close clients when the application stops, not per request.
        """
        with self._lock:
            already, self._closed = self._closed, True
            if not already:
                self._loop.invoke(self._session.shutdown)
        self._loop.stop()
        if threading.current_thread() is not self._thread:
            self._thread.join(_JOIN_S)
            if self._thread.is_alive():
                log.warning("the loop thread of %r still runs %s s after close()", self, _JOIN_S)
        if self._own_resolver is not None:
            self._own_resolver.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        stats = self._session.statistics()
        return (
            f"<HttpClient {state} active={stats.active} idle={stats.idle} "
            f"opened={stats.connections_opened} thread={self._thread.name}>"
        )
