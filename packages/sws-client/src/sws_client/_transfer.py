"""`Transfer`: one request, from its first hop to its final response, as a client-loop fiber.

A transfer resolves the host, takes an idle connection from the pool or opens one (trying
each address in turn), runs an `Exchange`, follows redirects when asked, and settles its
`Pending` with a `Response`, a `StreamResponse`, or an error. Its rules:

- Every request has a total deadline (when its `Timeout.total_s` is set), fixed when the
  transfer starts; name resolution, connects and every wait are bounded by it, and
  `RequestTimeoutError` names it. A stream's total deadline ends when its head arrives.
- Retry (RFC 9110 §9.2.2): a request that went out on a *reused* connection and failed
  with a `NetworkError` before any byte of the response arrived is sent once more on a
  fresh connection, if its method is idempotent. The server most likely closed the idle
  connection as we reused it (RFC 9112 §9.3.1); a non-idempotent request may have been
  acted on, so it is not resent. Timeouts and protocol errors are never retried.
- `abandon(error)` (on the loop thread: the client closing, a waiting fiber gone, a
  stream closed early) settles the pending with `error` unless it is settled, and aborts
  the connection in use; the fiber then ends on its next wake-up.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Generator, Sequence
from typing import Any, Final

from sws_client._connection import Connection
from sws_client._errors import (
    ClientClosedError,
    ConnectError,
    ConnectTimeoutError,
    NetworkError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)
from sws_client._exchange import Exchange
from sws_client._handoff import BodyChannel, Pending
from sws_client._request import RequestSpec, build_head
from sws_client._response import Response, StreamResponse
from sws_client._session import Session
from sws_client._url import ORIGIN_FIELDS, REDIRECT_STATUSES, URL, redirect_request
from sws_core import ClosedResourceError, Event, Op, connect
from sws_http.proto import ResponseParser

__all__ = ["IDEMPOTENT_METHODS", "Transfer"]

IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
_JOIN_BELOW: Final = 64 << 10  # bodies smaller than this go out in one send with the head
_MAX_REDIRECT_BODY: Final = 1 << 20  # a redirect's body is drained up to this, else dropped
# A stream's parser has no practical body limit: the stream holds a bounded buffer only.
_UNLIMITED: Final = (1 << 63) - 1


class Transfer:
    """One request on the client's loop (see the module docstring)."""

    __slots__ = ("_abandoned", "channel", "connection", "deadline", "pending", "session", "spec")

    def __init__(self, session: Session, spec: RequestSpec, pending: Pending[Any]) -> None:
        self.session = session
        self.spec = spec
        self.pending = pending
        self.connection: Connection | None = None
        self.channel: BodyChannel | None = None
        self.deadline: float | None = None
        self._abandoned: BaseException | None = None

    def run(self) -> Generator[Op, Any, None]:
        """The fiber body: settle the pending with the outcome."""
        session = self.session
        session.active.add(self)
        total = self.spec.timeout.total_s
        self.deadline = session.loop.now + total if total is not None else None
        try:
            response = yield from self._follow()
            if response is not None:
                self.pending.settle(response, None)
        except GeneratorExit:  # the loop is tearing down under us
            self._fail(ClientClosedError("the client's loop stopped during the request"))
            raise
        except Exception as exc:
            self._fail(exc)
        finally:
            session.active.discard(self)
            if self.connection is not None:
                self.connection.abort()
                self.connection = None

    def abandon(self, error: BaseException) -> None:
        """Give the request up with `error` (on the loop thread; idempotent)."""
        if self._abandoned is not None:
            return
        self._abandoned = error
        self._fail(error)
        if self.connection is not None:
            self.connection.abort(error)

    def _fail(self, error: BaseException) -> None:
        self.pending.settle(None, error)
        if self.channel is not None:
            self.channel.end(error)

    def _check_abandoned(self) -> None:
        if self._abandoned is not None:
            raise ClientClosedError(f"request abandoned: {self._abandoned}")

    # --- hops and attempts ------------------------------------------------------------------

    def _follow(self) -> Generator[Op, Any, Response | None]:
        spec = self.spec
        settings = self.session.settings
        url, method, body, request_head = spec.url, spec.method, spec.body, spec.head
        headers: Sequence[tuple[str, str]] = spec.headers  # a redirect makes a new list
        history: list[Response] = []
        for hop in itertools.count():
            exchange = yield from self._open(url, method, request_head, body)
            head = exchange.head
            assert head is not None
            location = head.headers.get("location") if spec.follow_redirects else None
            if location is not None and head.status in REDIRECT_STATUSES:
                history.append(self._response(exchange, (yield from self._drain(exchange)), url))
                if hop >= settings.max_redirects:
                    raise TooManyRedirectsError(
                        f"more than {settings.max_redirects} redirects (the last to {location!r})"
                    )
                url, method, headers, body = redirect_request(
                    head.status, location, url, method, list(headers), body
                )
                request_head = self._head(url, method, headers, body)
                continue
            if spec.stream:
                yield from self._stream(exchange, url, tuple(history))
                return None
            data = yield from exchange.read_body(settings.max_body_bytes)
            self._finish(exchange)
            return self._response(exchange, data, url, tuple(history) if history else ())
        raise AssertionError("unreachable")  # pragma: no cover - itertools.count never ends

    def _response(
        self, exchange: Exchange, body: bytes, url: URL, history: tuple[Response, ...] = ()
    ) -> Response:
        head = exchange.head
        assert head is not None
        return Response(
            head.status,
            head.reason,
            head.http_version,
            head.headers,
            body,
            str(url),
            trailers=exchange.trailers,
            history=history,
        )

    def _head(
        self, url: URL, method: str, headers: Sequence[tuple[str, str]], body: bytes | None
    ) -> bytes:
        """The head of a redirected request."""
        defaults = self.session.settings.headers
        if url.origin != self.spec.url.origin:  # redirected elsewhere: no credentials
            defaults = tuple(f for f in defaults if f[0].lower() not in ORIGIN_FIELDS)
        return build_head(defaults, method, url, headers, body, self.spec.keep_alive)

    def _open(
        self, url: URL, method: str, head: bytes, body: bytes | None
    ) -> Generator[Op, Any, Exchange]:
        """Send the request and read the response head, retrying once if allowed."""
        session = self.session
        for attempt in range(2):
            self._check_abandoned()
            connection = session.checkout(url.origin) if attempt == 0 else None
            reused = connection is not None
            if connection is None:
                connection = yield from self._connect(url)
            self.connection = connection
            session.requests += 1
            exchange = Exchange(
                session.loop, connection, method, self.spec.timeout.read_s, self.deadline
            )
            try:
                if body and len(body) >= _JOIN_BELOW:
                    yield from exchange.send(head)
                    yield from exchange.send(body)
                else:
                    yield from exchange.send(head + body if body else head)
                yield from exchange.read_head()
            except NetworkError:
                self._drop(connection)
                retry = reused and not exchange.received and method in IDEMPOTENT_METHODS
                if retry and self._abandoned is None:
                    session.retries += 1
                    continue
                raise
            except BaseException:
                self._drop(connection)
                raise
            return exchange
        raise AssertionError("unreachable")  # pragma: no cover - the second attempt returns

    def _finish(self, exchange: Exchange) -> None:
        """The response was read to its end: pool the connection or close it."""
        connection = exchange.connection
        self.connection = None
        # RFC 9112 §9.6: after sending "Connection: close", no further request on it.
        if self.spec.keep_alive and exchange.reusable():
            self.session.checkin(connection)
        else:
            connection.close()

    def _drop(self, connection: Connection) -> None:
        connection.abort()
        self.connection = None

    def _drain(self, exchange: Exchange) -> Generator[Op, Any, bytes]:
        """Read a redirect's body, so its connection can be reused; drop a large one."""
        limit = min(self.session.settings.max_body_bytes, _MAX_REDIRECT_BODY)
        try:
            body = yield from exchange.read_body(limit)
        except ResponseTooLargeError:
            self._drop(exchange.connection)
            return b""
        self._finish(exchange)
        return body

    def _stream(
        self, exchange: Exchange, url: URL, history: tuple[Response, ...]
    ) -> Generator[Op, Any, None]:
        head = exchange.head
        assert head is not None
        channel = BodyChannel(
            self.session.loop, self._abandon_stream, self.session.settings.max_stream_buffer_bytes
        )
        self.channel = channel
        response = StreamResponse(
            head.status, head.reason, head.http_version, head.headers, str(url), channel,
            history=history,
        )  # fmt: skip
        exchange.total_deadline = None  # the total timeout bounds the wait for the head
        if not self.pending.settle(response, None):
            self._drop(exchange.connection)  # abandoned meanwhile
            return
        while chunk := (yield from exchange.read_data()):
            if not (yield from channel.put(chunk)):
                self._drop(exchange.connection)  # the consumer closed the stream
                return
        response.trailers = exchange.trailers
        self._finish(exchange)
        channel.end()

    def _abandon_stream(self) -> None:
        self.abandon(ClientClosedError("the stream was closed before its end"))

    # --- names and connections ----------------------------------------------------------

    def _connect_timeout(self) -> tuple[float, bool]:
        """The next connect's timeout, and whether it is the total deadline's rest."""
        connect_s = self.spec.timeout.connect_s
        if self.deadline is None:
            return connect_s, False
        remaining = self.deadline - self.session.loop.now
        if remaining <= 0:
            raise RequestTimeoutError("request took longer than its total timeout")
        return (remaining, True) if remaining < connect_s else (connect_s, False)

    def _connect(self, url: URL) -> Generator[Op, Any, Connection]:
        session = self.session
        addresses = session.lookup.known(url.host)
        if addresses is None:
            addresses = yield from self._resolve(url.host)
        error: ConnectError | None = None
        for address in addresses:
            self._check_abandoned()
            timeout_s, is_total = self._connect_timeout()
            where = f"[{address}]:{url.port}" if ":" in address else f"{address}:{url.port}"
            try:
                conn = yield from connect(address, url.port, timeout_s=timeout_s)
            except builtins.TimeoutError as exc:
                if is_total:
                    raise RequestTimeoutError(
                        f"connecting to {where} ran past the total timeout"
                    ) from exc
                error = ConnectTimeoutError(f"connecting to {where} took over {timeout_s} s")
                error.__cause__ = exc
                continue
            except ClosedResourceError as exc:
                raise ClientClosedError("the client was closed while connecting") from exc
            except (OSError, ValueError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                error = ConnectError(f"cannot connect to {where}: {reason}")
                error.__cause__ = exc
                continue
            session.connections_opened += 1
            settings = session.settings
            parser = ResponseParser(
                max_header_bytes=settings.max_header_bytes,
                max_headers=settings.max_headers,
                max_body_bytes=_UNLIMITED,  # streams are bounded by their buffer only
            )
            connection = Connection(conn, url.origin, session.discard_idle, parser)
            if self._abandoned is not None:
                connection.abort()
                self._check_abandoned()
            return connection
        assert error is not None  # `known` and `resolve` never return an empty list
        raise error

    def _resolve(self, host: str) -> Generator[Op, Any, list[str]]:
        """Resolve within the total deadline (the lookup runs as its own fiber)."""
        lookup = self.session.lookup
        deadline = self.deadline
        if deadline is None:
            return (yield from lookup.resolve(host))
        loop = self.session.loop
        outcome: list[tuple[list[str] | None, Exception | None]] = []
        done = Event()

        def resolve() -> Generator[Op, Any, None]:
            try:
                outcome.append(((yield from lookup.resolve(host)), None))
            except Exception as exc:
                outcome.append((None, exc))
            finally:
                done.set()

        loop.go(resolve())
        timer = loop.call_later(max(0.0, deadline - loop.now), done.set)
        try:
            yield from done.wait()
        finally:
            timer.cancel()
        if not outcome:
            raise RequestTimeoutError(f"resolving {host!r} ran past the total timeout")
        addresses, error = outcome[0]
        if error is not None:
            raise error
        assert addresses is not None
        return addresses

    def __repr__(self) -> str:
        spec = self.spec
        state = "abandoned" if self._abandoned is not None else "running"
        return f"<Transfer {spec.method} {spec.url} {state} connection={self.connection!r}>"
