"""`Server`: an sws-http application that also serves WebSocket routes, with pub/sub.

    app = Server()

    @app.ws("/echo")
    class Echo:                                  # callbacks: one instance per connection
        def on_message(self, ws, message):
            ws.send(message)

    @app.ws("/chat/{room}")
    def chat(ws):                                # or a fiber (generator or async def)
        ws.subscribe(ws.params["room"])
        while (message := (yield from ws.receive())) is not None:
            app.publish(ws.params["room"], message)

A WebSocket route is an HTTP GET route whose handler validates the upgrade (RFC 6455
§4.2) and answers 101, so middleware runs on the handshake (authentication, logging) and
may refuse it. A request that is not a valid upgrade gets 400 (426 for another version),
never a plain HTTP answer from the WebSocket handler. `publish` encodes a message once,
as one uncompressed frame, and writes the same bytes to every subscriber.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from sws_core import Conn, Loop
from sws_http import Context
from sws_http import Server as HttpServer
from sws_ws._websocket import Message, WebSocket
from sws_ws.proto import (
    DEFAULT_MAX_FRAGMENTS,
    DEFAULT_MAX_FRAME_BYTES,
    DEFAULT_MAX_MESSAGE_BYTES,
    HandshakeError,
    ServerConnection,
    encode_frame,
    server_handshake,
)

log = logging.getLogger("sws_ws")

# Bytes queued for one peer before it counts as not reading; websockets: 32 KiB high-water
# mark then the sender waits; here the sender never waits, so the bound is larger.
DEFAULT_MAX_SEND_QUEUE_BYTES: Final = 4 * 1024 * 1024
DEFAULT_PING_INTERVAL_S: Final = 20.0  # websockets' default ping_interval
DEFAULT_PING_TIMEOUT_S: Final = 20.0  # websockets' default ping_timeout
DEFAULT_CLOSE_TIMEOUT_S: Final = 10.0  # waiting for the peer's close frame; websockets: 10
_SKIPPED_HEADERS: Final = frozenset({"upgrade", "connection"})  # written by ctx.upgrade

OriginCheck = Callable[[str | None], bool]


class WsRoute:
    """A WebSocket route: its handler and handshake options."""

    __slots__ = ("fiber", "handler", "make_callbacks", "origin_ok", "subprotocols")

    def __init__(
        self,
        handler: Any,
        subprotocols: Sequence[str],
        origins: Sequence[str] | OriginCheck | None,
    ) -> None:
        self.handler = handler
        self.subprotocols = tuple(subprotocols)
        self.fiber = inspect.isgeneratorfunction(handler) or inspect.iscoroutinefunction(handler)
        if self.fiber:
            self.make_callbacks: Callable[[], Any] | None = None
        elif inspect.isclass(handler):
            self.make_callbacks = handler  # one instance per connection
        elif callable(getattr(handler, "on_message", None)):
            self.make_callbacks = lambda: handler  # one object shared by every connection
        else:
            raise TypeError(
                f"a websocket handler is a generator or async function, or has on_message; "
                f"got {handler!r}"
            )
        if origins is None:
            self.origin_ok: OriginCheck = _any_origin
        elif callable(origins):
            self.origin_ok = origins
        else:
            allowed = frozenset(origins)
            self.origin_ok = lambda origin: origin in allowed


class Server(HttpServer):
    """An HTTP server with WebSocket routes (`ws`) and topics (`publish`).

    Args:
        max_frame_bytes / max_message_bytes / max_fragments: limits on what a peer
            sends (see `sws_ws.proto.ServerConnection`), answered with 1009.
        max_send_queue_bytes: bytes queued for one peer before it is closed with 1008.
        compression: accept permessage-deflate when a client offers it.
        ping_interval_s / ping_timeout_s: a connection silent this long gets a ping, and
            is closed if the pong does not come in time (None: no liveness pings).
        close_timeout_s: how long to wait for the peer's close frame after ours.
        http_options: `sws_http.Server` keyword arguments.
    """

    def __init__(
        self,
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        max_fragments: int = DEFAULT_MAX_FRAGMENTS,
        max_send_queue_bytes: int = DEFAULT_MAX_SEND_QUEUE_BYTES,
        compression: bool = True,
        ping_interval_s: float | None = DEFAULT_PING_INTERVAL_S,
        ping_timeout_s: float = DEFAULT_PING_TIMEOUT_S,
        close_timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S,
        **http_options: Any,
    ) -> None:
        super().__init__(**http_options)
        self.ws_limits = {
            "max_frame_bytes": max_frame_bytes,
            "max_message_bytes": max_message_bytes,
            "max_fragments": max_fragments,
        }
        self.max_send_queue_bytes = max_send_queue_bytes
        self.compression = compression
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.close_timeout_s = close_timeout_s
        self._topics: dict[str, set[WebSocket]] = {}
        self._sockets: set[WebSocket] = set()
        self._liveness_loop: Loop | None = None
        self._last_liveness_check = 0.0

    # --- routes ---------------------------------------------------------------------------------

    def ws(
        self,
        path: str,
        *,
        subprotocols: Sequence[str] = (),
        origins: Sequence[str] | OriginCheck | None = None,
    ) -> Callable[[Any], Any]:
        """Decorator: serve WebSocket connections at `path` (with `{name}` parameters).

        The handler is a class (one instance per connection) or an object with
        `on_message(ws, message)` and optionally `on_open(ws)`, `on_close(ws, code,
        reason)`, `on_pong(ws, data)`; or a fiber `handler(ws)`, a generator function or
        `async def`, that reads with `ws.receive()`.

        Args:
            path: the route.
            subprotocols: the subprotocols this route speaks, chosen in the client's order.
            origins: the allowed `Origin` values, or a function of the Origin (None when
                the client sent none) returning whether to accept; None accepts any.

        Raises:
            TypeError: the handler is none of the above.
        """

        def register(handler: Any) -> Any:
            route = WsRoute(handler, subprotocols, origins)

            def handshake(ctx: Context) -> None:
                self._handshake(ctx, route)

            self.router.add(path, ["GET"], handshake)
            return handler

        return register

    def _handshake(self, ctx: Context, route: WsRoute) -> None:
        request = ctx.request
        try:
            hs = server_handshake(
                request.method,
                request.http_version,
                request.headers.fields,
                subprotocols=route.subprotocols,
                deflate=self.compression,
            )
        except HandshakeError as exc:
            ctx.text(exc.message, status=exc.status)
            for name, value in exc.headers:
                ctx.header(name, value)
            return
        if not route.origin_ok(ctx.headers.get("origin")):
            ctx.text("origin not allowed", status=403)
            return
        params = ctx.params
        path = ctx.path
        query = ctx.query.to_dict()
        headers = ctx.headers

        def protocol(conn: Conn) -> WebSocket:
            proto = ServerConnection(deflate=hs.deflate, **self.ws_limits)
            ws = WebSocket(
                self,
                route,
                conn,
                proto,
                path=path,
                params=params,
                query=query,
                headers=headers,
                subprotocol=hs.subprotocol,
            )
            self._open(ws, conn)
            return ws

        answer = [h for h in hs.response_headers if h[0].lower() not in _SKIPPED_HEADERS]
        ctx.upgrade("websocket", protocol, answer)

    def _open(self, ws: WebSocket, conn: Conn) -> None:
        """Start a connection's handler, on the IO thread, right after the 101."""
        # Silence is the ping check's business now; the loop's idle timeout stays as a
        # backstop only when pings are off. The send queue's bound is this server's.
        conn.idle_timeout_s = float("inf") if self.ping_interval_s is not None else None
        conn.max_write_queue_bytes = self.max_send_queue_bytes
        self._sockets.add(ws)
        self._ensure_liveness(conn.loop)
        route = ws._route
        if route.fiber:
            ws._start_fiber_inbox()
            conn.loop.go(self._run_fiber(ws, route.handler))
            return
        assert route.make_callbacks is not None
        try:
            ws.handler = route.make_callbacks()
        except Exception:
            log.exception("websocket handler for %s could not start", ws.path)
            ws._handler_failed("__init__")
            return
        on_open = getattr(ws.handler, "on_open", None)
        if on_open is not None:
            ws._call(on_open)

    def _run_fiber(self, ws: WebSocket, handler: Any) -> Any:
        try:
            fiber = handler(ws)
            if inspect.iscoroutine(fiber):
                yield from fiber.__await__()
            else:
                yield from fiber
        except Exception:
            ws._handler_failed(getattr(handler, "__name__", "handler"))
            return
        ws._inbox = None  # nobody reads any more
        ws._unpause()
        ws.close()

    # --- pub/sub --------------------------------------------------------------------------------

    def publish(self, topic: str, message: Message) -> int:
        """Send `message` to every subscriber of `topic`; safe from any thread.

        The message is encoded once, as one uncompressed frame (RFC 7692 lets any
        message go uncompressed), and the same bytes are queued on every connection.

        Returns:
            How many connections it was queued on (0 when called off the IO thread: the
            publish then happens there, later).

        Raises:
            TypeError: `message` is neither str nor bytes.
        """
        if type(message) is str:
            frame = encode_frame(1, message.encode())
        elif isinstance(message, bytes | bytearray | memoryview):
            frame = encode_frame(2, bytes(message))
        else:
            raise TypeError(f"a message is str or bytes, not {type(message).__name__}")
        loop = self.loop
        if loop is not None and not loop.on_loop_thread():
            loop.invoke(self._publish_frame, topic, frame)
            return 0
        return self._publish_frame(topic, frame)

    def _publish_frame(self, topic: str, frame: bytes) -> int:
        subscribers = self._topics.get(topic)
        if not subscribers:
            return 0
        for ws in list(subscribers):  # a slow one may unsubscribe itself by closing
            ws.send_frame(frame)
        return len(subscribers)

    def subscribers(self, topic: str) -> int:
        """How many connections are subscribed to `topic` (IO thread)."""
        return len(self._topics.get(topic, ()))

    def _topic_add(self, topic: str, ws: WebSocket) -> None:
        self._topics.setdefault(topic, set()).add(ws)

    def _topic_remove(self, topic: str, ws: WebSocket) -> None:
        subscribers = self._topics.get(topic)
        if subscribers is not None:
            subscribers.discard(ws)
            if not subscribers:
                del self._topics[topic]

    # --- liveness -------------------------------------------------------------------------------

    def _ensure_liveness(self, loop: Loop) -> None:
        if self.ping_interval_s is None or self._liveness_loop is loop:
            return
        self._liveness_loop = loop
        loop.add_tick_hook(self._check_liveness)

    def _check_liveness(self) -> None:
        """Once a second at most: ping silent connections, close unanswered ones."""
        loop = self._liveness_loop
        interval = self.ping_interval_s
        if loop is None or interval is None:
            return
        now = loop.now
        if now - self._last_liveness_check < 1.0:
            return
        self._last_liveness_check = now
        for ws in list(self._sockets):
            ws._check_liveness(now, interval, self.ping_timeout_s)

    def _ws_lost(self, ws: WebSocket) -> None:
        self._sockets.discard(ws)


def _any_origin(origin: str | None) -> bool:
    return True
