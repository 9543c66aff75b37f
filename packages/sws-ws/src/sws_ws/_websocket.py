"""`WebSocket`: one upgraded connection, driven by `sws_ws.proto.ServerConnection`.

Rules that hold here:

- Every frame of every read is processed, in order; the messages are handed to the
  handler (callbacks) or queued for `receive()` (fibers) before the frames the protocol
  sends on its own (pongs, the close reply) are written, so a reply to a message that
  arrived just before the peer's close still goes out, ahead of our close frame.
- Full duplex: reads go on while writes are in flight. The send queue is bounded: a peer
  that does not read while more than `max_send_queue_bytes` wait for it is closed with
  1008 (policy violation); a fiber that does not `receive()` pauses reading instead.
- After the closing handshake (or a protocol failure, whose close frame says why) the
  server closes TCP first, as RFC 6455 §7.1.1 asks. After a failure the peer may still
  be sending: the FIN goes out at once, but the socket closes only at the peer's EOF (or
  the close deadline), its bytes read and dropped meanwhile, so that no reset can destroy
  the close frame (a lingering close). A peer that vanishes gets `on_close(1006)`.
- Liveness: a connection silent for `ping_interval_s` gets a ping; no answer within
  `ping_timeout_s` closes it with 1011 (the server's periodic check, see `_server`).
- Every method may be called from the IO thread; `send`, `ping`, `close` and the topic
  methods also from any other thread, through the loop's invoke queue.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Generator
from threading import get_ident as _get_ident
from typing import TYPE_CHECKING, Any, Final

from sws_core import Conn, Op
from sws_core import Event as Flag
from sws_ws.proto import (
    BinaryMessage,
    CloseReceived,
    ConnectionClosedError,
    ConnectionState,
    Event,
    Pong,
    ProtocolFailed,
    ServerConnection,
    TextMessage,
    close_payload,
)

if TYPE_CHECKING:
    from sws_core import Timer
    from sws_http.proto import Headers
    from sws_ws._server import Server, WsRoute

log = logging.getLogger("sws_ws")

Message = str | bytes
_CLOSED: Final = ConnectionState.CLOSED
_OPEN: Final = ConnectionState.OPEN
_ABNORMAL: Final = 1006
_POLICY: Final = 1008
_INTERNAL: Final = 1011
_GOING_AWAY: Final = 1001
MAX_INBOX: Final = 64  # messages a fiber has not taken yet before reading pauses


class WebSocket:
    """A WebSocket connection: `send`, `ping`, `close`, `subscribe`; `receive` in fibers.

    Attributes:
        path: the request path; `params` its route parameters, `query` its query
            (name -> values), `headers` the upgrade request's headers; `subprotocol` the
            negotiated subprotocol (None when none).
        close_code / close_reason: once closed, why (1006 when the peer vanished).
        data: a dict for the application's own per-connection state.
    """

    __slots__ = (
        "_arrived",
        "_close_timer",
        "_closed",
        "_inbox",
        "_lingering",
        "_over_since",
        "_paused",
        "_pinged_at",
        "_reported",
        "_route",
        "_thread_id",
        "_topics",
        "app",
        "close_code",
        "close_reason",
        "conn",
        "data",
        "handler",
        "headers",
        "last_seen",
        "params",
        "path",
        "proto",
        "query",
        "subprotocol",
    )

    def __init__(
        self,
        app: Server,
        route: WsRoute,
        conn: Conn,
        proto: ServerConnection,
        *,
        path: str,
        params: dict[str, str],
        query: dict[str, list[str]],
        headers: Headers,
        subprotocol: str | None,
    ) -> None:
        self.app = app
        self._route = route
        self.conn = conn
        self.proto = proto
        self.path = path
        self.params = params
        self.query = query
        self.headers = headers
        self.subprotocol = subprotocol
        self.handler: Any = None  # the callbacks object (None for a fiber handler)
        self.data: dict[str, Any] = {}
        self.close_code: int | None = None
        self.close_reason = ""
        self.last_seen = conn.loop.now
        self._pinged_at = 0.0  # when our unanswered liveness ping left (0: none)
        self._over_since = 0.0  # when the send queue went over its bound (0: it is not)
        self._paused = False  # reading paused: a fiber's inbox is full
        self._close_timer: Timer | None = None  # our close frame is out, theirs is awaited
        self._thread_id = _get_ident()  # made on the IO thread, by the upgrade
        self._inbox: collections.deque[Message] | None = None  # fibers only
        self._arrived: Flag | None = None
        self._closed = False  # the TCP connection is closing or closed
        self._lingering = False  # failed: our FIN is out, the peer's bytes are dropped
        self._reported = False  # on_close has run / the fiber was told
        self._topics: set[str] | None = None

    # --- the application's side ---------------------------------------------------------------

    def send(self, message: Message) -> None:
        """Send a text (str) or binary (bytes) message; safe from any thread.

        A message sent after the connection closed is dropped (a closed connection is not
        an error here: the peer may go at any time; `on_close` tells when).

        Raises:
            TypeError: `message` is neither str nor bytes.
            InvokeQueueFullError: called off the IO thread while the invoke queue is full.
        """
        if type(message) is not str and not isinstance(message, bytes | bytearray | memoryview):
            raise TypeError(f"a message is str or bytes, not {type(message).__name__}")
        if _get_ident() != self._thread_id:
            self.conn.loop.invoke(self.send, message)
            return
        if self._closed:
            return
        try:
            if isinstance(message, str):
                frame = self.proto.send_text(message)
            else:
                frame = self.proto.send_binary(message)
        except ConnectionClosedError:
            return
        self._write(frame)

    def send_frame(self, frame: bytes) -> None:
        """Write an already encoded frame (a published message); IO thread only."""
        if not self._closed and self.proto.state is _OPEN:  # nothing after our close frame
            self._write(frame)

    def ping(self, data: bytes = b"") -> None:
        """Send a ping (the pong arrives as `on_pong` if the handler has one); any thread.

        Raises:
            ValueError: `data` is longer than 125 bytes (RFC 6455 §5.5).
        """
        if len(data) > 125:
            raise ValueError(f"ping payload of {len(data)} bytes exceeds 125")
        if not self.conn.loop.on_loop_thread():
            self.conn.loop.invoke(self.ping, data)
            return
        if self._closed:
            return
        try:
            self._write(self.proto.send_ping(data))
        except ConnectionClosedError:
            return

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake with `code` and `reason`; any thread.

        The peer's close frame, or `close_timeout_s` without it, then closes the
        connection; `on_close` follows. Idempotent.

        Raises:
            ValueError: a code that may not be sent, or a reason over 123 UTF-8 bytes.
        """
        close_payload(code, reason)  # checked here, in the caller's thread
        if not self.conn.loop.on_loop_thread():
            self.conn.loop.invoke(self.close, code, reason)
            return
        if self._closed or self.proto.state is not ConnectionState.OPEN:
            return
        self._write(self.proto.send_close(code, reason))
        self._arm_close_deadline()

    def subscribe(self, topic: str) -> None:
        """Receive what `app.publish(topic, ...)` sends from now on; any thread."""
        if not self.conn.loop.on_loop_thread():
            self.conn.loop.invoke(self.subscribe, topic)
            return
        if self._closed:
            return
        if self._topics is None:
            self._topics = set()
        self._topics.add(topic)
        self.app._topic_add(topic, self)

    def unsubscribe(self, topic: str) -> None:
        """Stop receiving `topic`; any thread. Idempotent."""
        if not self.conn.loop.on_loop_thread():
            self.conn.loop.invoke(self.unsubscribe, topic)
            return
        if self._topics is not None and topic in self._topics:
            self._topics.discard(topic)
            self.app._topic_remove(topic, self)

    @property
    def topics(self) -> frozenset[str]:
        """The topics this connection is subscribed to."""
        return frozenset(self._topics or ())

    @property
    def closed(self) -> bool:
        """Whether the connection is closing or closed."""
        return self._closed or self.proto.state is _CLOSED

    @property
    def client(self) -> tuple[str, int]:
        """The peer's (host, port)."""
        return self.conn.peer

    def receive(self) -> Receive:
        """Return the op that waits for the next message (fibers): `msg = yield from
        ws.receive()` or `await ws.receive()`; None once the connection has closed."""
        return Receive(self)

    # --- the connection's side (sws_core TcpProtocol) -----------------------------------------

    def data_received(self, data: bytes) -> None:
        self.last_seen = self.conn.loop.now
        proto = self.proto
        events = proto.receive_data(data)
        if proto.state is not _CLOSED:
            # Pongs first: a ping between the fragments of a message is answered before
            # the reply to that message (RFC 6455 §5.5.2, "as soon as practical").
            out = proto.data_to_send()
            if out:
                self._write(out)
            if events:
                self._dispatch(events)
            return
        # The peer's close (or a failure) is in this read: the replies to the messages
        # before it go out first, then the close frame; then TCP closes.
        self._dispatch(events)
        out = proto.data_to_send()
        if out and not self._closed:
            self._write(out)
        if not self._closed:
            self._closed = True
            if any(type(event) is ProtocolFailed for event in events):
                self._linger()
            else:
                self.conn.close()  # §7.1.1: the server closes TCP first

    def _dispatch(self, events: list[Event]) -> None:
        for event in events:
            kind = type(event)
            if kind is TextMessage or kind is BinaryMessage:
                self._deliver(event.data)  # type: ignore[union-attr]
            elif kind is Pong:
                self._pinged_at = 0.0
                on_pong = getattr(self.handler, "on_pong", None)
                if on_pong is not None:
                    self._call(on_pong, event.data)  # type: ignore[union-attr]
            elif kind is CloseReceived or kind is ProtocolFailed:
                if kind is ProtocolFailed:
                    log.info("websocket %s failed: %s", self.path, event)
                self._end(event.code, event.reason)  # type: ignore[union-attr]

    def eof_received(self) -> None:
        if not self._closed or self._lingering:
            self._closed = True
            self._lingering = False
            self.conn.close()
        self._end(_ABNORMAL, "")

    def connection_lost(self, exc: BaseException | None) -> None:
        self._closed = True
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if self._topics:
            for topic in self._topics:
                self.app._topic_remove(topic, self)
            self._topics = None
        self.app._ws_lost(self)
        self._end(_ABNORMAL, "")

    def shutdown_requested(self) -> None:
        """A graceful stop: close with 1001 (going away)."""
        self.close(_GOING_AWAY, "server shutting down")

    # --- internals ------------------------------------------------------------------------------

    def _write(self, frame: bytes) -> None:
        conn = self.conn
        if conn.state != 0:  # not OPEN: closing or closed
            return
        if conn.write_queue_bytes > self.app.max_send_queue_bytes:
            # Over the bound: a burst from one handler call is fine (the kernel has not
            # had a chance to take any of it); still over in a later loop turn, the peer
            # is not reading. The close flushes what is queued, bounded by the write
            # timeout, and then the 1008 frame.
            now = conn.loop.now
            if not self._over_since:
                self._over_since = now
            elif now > self._over_since:
                log.info(
                    "websocket %s not reading: %d bytes queued", self.path, conn.write_queue_bytes
                )
                self._closed = True
                conn.write(self.proto.send_close(_POLICY, "send queue full"))
                conn.close()
                self._end(_POLICY, "send queue full")
                return
        elif self._over_since:
            self._over_since = 0.0
        conn.write(frame)

    def _deliver(self, message: Message) -> None:
        handler = self.handler
        if handler is not None:
            try:
                handler.on_message(self, message)
            except Exception:
                self._handler_failed("on_message")
            return
        inbox = self._inbox
        if inbox is None:
            return  # a fiber handler that finished: nobody reads any more
        inbox.append(message)
        if len(inbox) >= MAX_INBOX and not self._paused:
            self._paused = True
            self.conn.pause_reading()
        arrived = self._arrived
        if arrived is not None:
            arrived.set()

    def _call(self, method: Any, *args: Any) -> None:
        try:
            method(self, *args)
        except Exception:
            self._handler_failed(getattr(method, "__name__", "handler"))

    def _handler_failed(self, where: str) -> None:
        log.exception("websocket handler %s for %s raised", where, self.path)
        if not self._closed and self.proto.state is ConnectionState.OPEN:
            self._write(self.proto.send_close(_INTERNAL, ""))  # no details to the peer
            self._arm_close_deadline()
        if self._inbox is not None:  # a fiber that failed reads no more
            self._inbox = None
            self._unpause()

    def _end(self, code: int, reason: str) -> None:
        """Tell the handler once: the close code and reason (1006: no close frame)."""
        if self._reported:
            return
        self._reported = True
        self.close_code = code
        self.close_reason = reason
        handler = self.handler
        if handler is not None:
            on_close = getattr(handler, "on_close", None)
            if on_close is not None:
                self._call(on_close, code, reason)
        elif self._arrived is not None:
            self._arrived.set()  # a waiting receive() returns None

    def _linger(self) -> None:
        """Close after failing the connection (1002, 1007, 1009) while the peer may still
        be sending (the rest of a message over the limit, say).

        Closing a socket with received bytes unread makes the kernel send a reset, which
        can destroy our close frame before the peer reads it. So the FIN goes out behind
        the close frame (we still close first, RFC 6455 §7.1.1), what the peer sends is
        read and dropped, and the socket closes at the peer's EOF, or at the close
        deadline (a lingering close, as nginx's `lingering_close`)."""
        self._lingering = True
        self.conn.shutdown_write()
        self._unpause()  # the peer's bytes must be read to be dropped
        self._arm_close_deadline()

    def _arm_close_deadline(self) -> None:
        """Our close frame is out: the peer's reply has `close_timeout_s` to come, however
        much else it keeps sending meanwhile."""
        if self._close_timer is None:
            loop = self.conn.loop
            self._close_timer = loop.call_later(self.app.close_timeout_s, self._close_expired)

    def _close_expired(self) -> None:
        self._close_timer = None
        if self._lingering:
            log.info(
                "websocket %s: the peer kept its side open %.0f s after our close frame",
                self.path,
                self.app.close_timeout_s,
            )
            self._closed = True
            self.conn.abort(TimeoutError("the peer did not close after our close frame"))
        elif not self._closed:
            log.info(
                "websocket %s: no close frame within %.0f s", self.path, self.app.close_timeout_s
            )
            self._closed = True
            self.conn.abort(TimeoutError("no close frame from the peer"))

    def _unpause(self) -> None:
        if self._paused:
            self._paused = False
            self.conn.resume_reading()

    def _check_liveness(self, now: float, interval_s: float, timeout_s: float) -> None:
        """Ping a silent connection; close one whose ping went unanswered."""
        if self._closed or self.proto.state is not ConnectionState.OPEN or self._paused:
            return  # paused: its fiber is behind, and the pong waits unread in the socket
        if self._pinged_at:
            if now - self._pinged_at > timeout_s:
                log.info("websocket %s: no pong within %.0f s", self.path, timeout_s)
                self._write(self.proto.send_close(_INTERNAL, "keepalive ping timeout"))
                self._closed = True
                self.conn.close()
                self._end(_ABNORMAL, "keepalive ping timeout")
        elif now - self.last_seen > interval_s:
            self._pinged_at = now
            self._write(self.proto.send_ping(b""))

    def _start_fiber_inbox(self) -> None:
        self._inbox = collections.deque()
        self._arrived = Flag()

    def _take(self) -> Message | None:
        inbox = self._inbox
        if inbox:
            message = inbox.popleft()
            if len(inbox) <= MAX_INBOX // 2:
                self._unpause()
            return message
        return None

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<WebSocket {self.path} {state} conn={self.conn!r}>"


class Receive:
    """The op of `ws.receive()`: the next message, or None once closed."""

    __slots__ = ("ws",)

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    def __await__(self) -> Generator[Op, Any, Message | None]:
        ws = self.ws
        while True:
            message = ws._take()
            if message is not None:
                return message
            if ws._reported or ws._arrived is None:
                return None
            ws._arrived.clear()
            yield from ws._arrived.wait()

    __iter__ = __await__
