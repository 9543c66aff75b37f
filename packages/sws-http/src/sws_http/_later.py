"""Responses that do not come from the handler's return: deferred, streamed, upgraded.

- `DeferredResponse` (`ctx.defer()`): the handler returns at once and any thread answers
  later with `text` / `json` / `bytes` / `complete`. The answer travels to the IO thread
  through the loop's invoke queue; the loop's deferred hooks run just before it is written.
  Answering twice is an error; answering a connection that has closed meanwhile is a no-op.
- `ResponseStream` (`ctx.stream()`, in a generator or async handler): the head goes out
  first, then each `yield from stream.write(data)` sends a chunk (waiting while the
  connection's write queue is full), and the body ends when the handler returns (or at
  `stream.end()`). An HTTP/1.0 client gets the body delimited by the connection's close.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sws_core import Send
from sws_http.proto import chunk, last_chunk, response_head

if TYPE_CHECKING:
    from sws_core import Conn, TcpProtocol
    from sws_http._context import Context
    from sws_http._protocol import HttpProtocol


class DeferredResponse:
    """An answer another thread gives later (see the module docstring)."""

    __slots__ = ("_done", "_lock", "ctx", "protocol")

    def __init__(self, ctx: Context, protocol: HttpProtocol) -> None:
        self.ctx = ctx
        self.protocol = protocol
        self._done = False
        self._lock = threading.Lock()

    def text(self, text: str, status: int = 200) -> None:
        """Answer plain text; safe from any thread."""
        self._complete(lambda ctx: ctx.text(text, status))

    def json(self, value: Any, status: int = 200) -> None:
        """Answer JSON; safe from any thread."""
        self._complete(lambda ctx: ctx.json(value, status))

    def bytes(
        self, body: bytes, content_type: str = "application/octet-stream", status: int = 200
    ) -> None:
        """Answer raw bytes with any Content-Type; safe from any thread."""
        self._complete(lambda ctx: ctx.bytes(body, content_type, status))

    def complete(self, build: Callable[[Context], Any]) -> None:
        """Answer with `build(ctx)`, run on the IO thread (it may use every ctx helper)."""
        self._complete(build)

    def _complete(self, build: Callable[[Context], Any]) -> None:
        with self._lock:
            if self._done:
                raise RuntimeError("this deferred response was already answered")
            self._done = True
        self.protocol.conn.loop.invoke(self.protocol._deferred_done, self.ctx, build)

    def __repr__(self) -> str:
        return f"<DeferredResponse {self.ctx.method} {self.ctx.target} done={self._done}>"


class ResponseStream:
    """A chunked response body written piece by piece (see the module docstring)."""

    __slots__ = ("_chunked", "_ended", "_head_only", "keep_alive", "protocol")

    def __init__(
        self, protocol: HttpProtocol, ctx: Context, status: int, content_type: str
    ) -> None:
        self.protocol = protocol
        request = ctx.request
        self._chunked = request.http_version == "1.1"
        self._head_only = request.method == "HEAD"
        self._ended = False
        headers = [*ctx.response_headers, ("content-type", content_type)]
        # An HTTP/1.0 stream has no chunks: its end is the end of the connection.
        self.keep_alive = keep_alive = request.keep_alive and self._chunked
        head = response_head(
            status,
            headers,
            chunked=self._chunked and not self._head_only,
            keep_alive=keep_alive,
            http_10=not self._chunked,
            date=protocol.app.date(),
        )
        protocol._write(head)

    def write(self, data: bytes) -> Send:
        """Return the op that sends `data` as the next piece: `yield from stream.write(b)`.

        Raises:
            RuntimeError: the stream has ended.
        """
        if self._ended:
            raise RuntimeError("write after the end of the response stream")
        if self._head_only or not data:
            data = b""
        elif self._chunked:
            data = chunk(data)
        return self.protocol.conn.send(data)

    def end(self) -> None:
        """End the body (idempotent; the handler's return ends it too)."""
        if self._ended:
            return
        self._ended = True
        if self._chunked and not self._head_only and self.protocol.conn.state == 0:
            self.protocol.conn.write(last_chunk())

    @property
    def ended(self) -> bool:
        """Whether the body has ended."""
        return self._ended


class Upgrade:
    """A switch to another protocol, answered with 101 (see the module docstring)."""

    __slots__ = ("name", "protocol")

    def __init__(self, name: str, protocol: Callable[[Conn], TcpProtocol]) -> None:
        self.name = name  # the Upgrade token, "websocket"
        self.protocol = protocol  # makes the connection's new protocol, on the IO thread

    def __repr__(self) -> str:
        return f"<Upgrade to {self.name}>"
