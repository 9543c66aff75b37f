"""`Exchange`: one request and its response on one `Connection`.

Everything here runs on the client's loop thread, in the fiber of a `Transfer`.

Rules that hold in this module:

- Every wait has a deadline: the read timeout from now, or the total deadline if sooner
  (`RequestTimeoutError` then, else `ReadTimeoutError`). A wait for bytes ends when the
  connection's timer wakes it; a send parked on backpressure (the server reads nothing)
  ends when a timer aborts the connection.
- Responses are parsed by `sws_http.proto.ResponseParser`: 1xx heads are skipped, HEAD,
  204 and 304 have no body, chunked bodies end with trailers, close-delimited ones at EOF.
  A parser error becomes our `ProtocolError` with the parser's as `__cause__`.
- A connection carries a second request only when the exchange ended cleanly: the response
  read to its end, keep-alive, no stray bytes, no EOF (`Exchange.reusable`).
- The server closing (or resetting) the connection before any byte of the response is a
  `NetworkError` with `Exchange.received == 0`: the one case where a request that went out
  on a reused connection may be retried (see `sws_client._transfer`).
"""

from __future__ import annotations

import builtins
from collections.abc import Generator
from typing import Any, Final

from sws_client._connection import Connection
from sws_client._errors import (
    ClientClosedError,
    NetworkError,
    ProtocolError,
    ReadTimeoutError,
    RequestTimeoutError,
    ResponseTooLargeError,
)
from sws_core import BrokenResourceError, Cancelled, ClosedResourceError, Loop, Op
from sws_http import proto

__all__ = ["Exchange"]

_NO_TRAILERS: Final = proto.Headers([])  # read-only, as every response's fields


class Exchange:
    """One request and its response on a `Connection`.

    Args:
        loop: the client's loop.
        connection: the connection to use; its response parser reads this response.
        method: the request's method (HEAD changes the response's framing).
        read_timeout_s: the longest wait for the server (for bytes, or to take ours).
        total_deadline: loop time by which the whole request must be done, or None.
    """

    __slots__ = (
        "connection",
        "done",
        "head",
        "loop",
        "parser",
        "read_timeout_s",
        "received",
        "total_deadline",
        "trailers",
    )

    def __init__(
        self,
        loop: Loop,
        connection: Connection,
        method: str,
        read_timeout_s: float,
        total_deadline: float | None,
    ) -> None:
        self.loop = loop
        self.connection = connection
        self.read_timeout_s = read_timeout_s
        self.total_deadline = total_deadline
        self.parser = parser = connection.parser
        parser.expect(method)
        self.received = 0  # response bytes received
        self.head: proto.Response | None = None
        self.trailers = _NO_TRAILERS
        self.done = False  # the response was read to its end
        connection.requests += 1

    def _deadline(self) -> tuple[float, bool]:
        """The next wait's deadline, and whether it is the total one."""
        read = self.loop.now + self.read_timeout_s
        total = self.total_deadline
        if total is not None and total <= read:
            return total, True
        return read, False

    def _timeout_error(self, total: bool) -> builtins.TimeoutError:
        if total:
            return RequestTimeoutError("request took longer than its total timeout")
        return ReadTimeoutError(f"server sent nothing for {self.read_timeout_s} s")

    def send(self, data: bytes) -> Generator[Op, Any, None]:
        """Send request bytes, waiting while the write queue is over its limit.

        Raises:
            NetworkError: the connection broke (unless a response already arrived: a server
                may answer early, e.g. 413, and close before reading the whole body).
            ReadTimeoutError / RequestTimeoutError: the server stopped reading.
        """
        connection = self.connection
        conn = connection.conn
        loop = self.loop
        if conn.write_queue_bytes + len(data) <= conn.max_write_queue_bytes:
            # The usual case: the bytes fit in the queue, so nothing waits; queue them here
            # rather than through a Send op (a fiber round trip through the loop).
            try:
                conn.write(data)
                if conn.state != 0:  # not OPEN: the write aborted it (the peer reads nothing)
                    raise conn.closed_error("send")
            except (BrokenResourceError, ClosedResourceError) as exc:
                self._send_failed(exc, None)
            return
        timed_out: list[bool] = []
        # Only a send over the queue's limit waits (for the server to read); a timer for
        # every small one would leave a cancelled entry in the loop's heap (see `_arm`).
        deadline, total = self._deadline()

        def expire() -> None:
            timed_out.append(True)
            connection.abort(self._timeout_error(total))

        timer = loop.call_later(max(0.0, deadline - loop.now), expire)
        try:
            yield from conn.send(data)
        except (BrokenResourceError, ClosedResourceError, Cancelled) as exc:
            self._send_failed(exc, total if timed_out else None)
        finally:
            timer.cancel()

    def _send_failed(self, exc: BaseException, timed_out: bool | None) -> None:
        """Raise what a failed send means (`timed_out`: the total deadline's flag, or None
        when no timeout ended it); return if a response arrived already: read it."""
        if timed_out is not None:
            raise self._timeout_error(timed_out) from None
        connection = self.connection
        if isinstance(connection.error, ClientClosedError):
            raise ClientClosedError("the client was closed") from None
        if connection.buffered:
            return  # the server answered already: read that answer
        raise NetworkError(f"sending the request failed: {exc}") from exc

    def _fill(self) -> Generator[Op, Any, None]:
        """Feed the parser what arrived, waiting for it within the deadline."""
        connection = self.connection
        if not (connection.buffered or connection.eof or connection.lost):
            deadline, total = self._deadline()
            if not (yield from connection.wait(self.loop, deadline)):
                raise self._timeout_error(total)
        if connection.buffered:
            data = connection.take()
            self.received += len(data)
            self.parser.feed(data)
            return
        error = connection.error
        if isinstance(error, ClientClosedError):
            raise ClientClosedError("the client was closed")
        if connection.lost and not connection.eof:
            raise NetworkError(f"the connection broke: {error or 'closed'}")
        if not self.received:
            raise NetworkError("the server closed the connection without responding")
        self.parser.feed_eof()

    def _event(self) -> Any:
        """The parser's next event (or NEED_DATA), its errors as ours."""
        try:
            return self.parser.next_event()
        except proto.ProtocolError as exc:
            raise ProtocolError(f"malformed response: {exc.message}") from exc

    def read_head(self) -> Generator[Op, Any, proto.Response]:
        """Read up to the final response head (1xx heads are skipped).

        Raises:
            ProtocolError: a malformed head, or a 101 nobody asked for.
            NetworkError: the connection closed or broke before the response.
            ReadTimeoutError / RequestTimeoutError: the server was too slow.
        """
        if not self.parser.buffered:  # the usual case: nothing yet, the parser would say so
            yield from self._fill()
        while True:
            event = self._event()
            if event is proto.NEED_DATA:
                yield from self._fill()
            elif isinstance(event, proto.Response):
                self.head = event
                return event
            elif isinstance(event, proto.InformationalResponse):
                if event.status == 101:  # RFC 9110 §15.2.2: only an answer to Upgrade
                    raise ProtocolError("101 Switching Protocols to a request without Upgrade")
                # RFC 9110 §15.2: a client ignores 1xx it does not expect
            else:
                raise ProtocolError(f"unexpected {type(event).__name__} before the response head")

    def _body_piece(self) -> bytes | None:
        """The parser's next body bytes: None when it needs more input, b"" at the end
        (`done` is then set, and the trailers kept) or for an empty piece."""
        event = self._event()
        if event is proto.NEED_DATA:
            return None
        if isinstance(event, proto.Data):
            return event.data
        if isinstance(event, proto.EndOfMessage):
            self.done = True
            self.trailers = event.trailers
            return b""
        raise ProtocolError(f"unexpected {type(event).__name__} in a response body")

    def read_data(self) -> Generator[Op, Any, bytes]:
        """The next piece of the body; b"" once it is complete (trailers then set)."""
        while not self.done:
            piece = self._body_piece()
            if piece is None:
                yield from self._fill()
            elif piece:
                return piece
        return b""

    def read_body(self, limit: int) -> Generator[Op, Any, bytes]:
        """The whole body, at most `limit` bytes.

        Raises:
            ResponseTooLargeError: the body is (or announces it will be) over `limit`.
        """
        head = self.head
        assert head is not None
        if head.content_length is not None and head.content_length > limit:
            raise ResponseTooLargeError(
                f"response body of {head.content_length} bytes exceeds {limit}"
            )
        body = self.parser.take_body()  # the usual case: a Content-Length body, all here
        if body is not None:  # not over the limit: the length was checked just above
            self.done = True
            self.trailers = _NO_TRAILERS
            return body
        parts: list[bytes] = []
        size = 0
        while not self.done:  # read_data's loop, without a generator per piece
            piece = self._body_piece()
            if piece is None:
                yield from self._fill()
            elif piece:
                size += len(piece)
                if size > limit:
                    raise ResponseTooLargeError(f"response body exceeds {limit} bytes")
                parts.append(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def reusable(self) -> bool:
        """Whether the connection may carry another request now (RFC 9112 §9.3)."""
        head = self.head
        return (
            self.done
            and head is not None
            and head.keep_alive
            and self.parser.reusable
            and self.connection.usable()
        )

    def __repr__(self) -> str:
        status = self.head.status if self.head is not None else None
        return f"<Exchange status={status} received={self.received} done={self.done}>"
