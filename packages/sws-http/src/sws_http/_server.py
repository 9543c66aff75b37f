"""`Server`: an HTTP/1.1 application on an sws_core loop.

    app = Server()

    @app.get("/hello/{name}")
    def hello(ctx):
        ctx.text(f"hello {ctx.params['name']}")

    app.run("127.0.0.1", 8080)

Handlers are plain functions (the fast path: no fiber), generator functions
(`yield from to_worker(...)`, `yield from sleep(...)`) or `async def` coroutines; the
response is written when the handler returns. Middleware `mw(ctx, next)` wraps every
handler: it may answer itself without calling `next()`, and run code before and after it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any, Final

from sws_core import DEFAULT_GRACE_S, Conn, Listener, Loop
from sws_http._context import Context
from sws_http._processes import reserve_port, serve_processes
from sws_http._protocol import HttpProtocol
from sws_http._router import Handler, Router
from sws_http.proto import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_TARGET_BYTES,
    http_date,
    response_head,
)
from sws_http.proto._remembered import remember

Middleware = Callable[[Context, Callable[[], Any]], Any]
DEFAULT_KEEP_ALIVE_TIMEOUT_S: Final = 75.0  # idle keep-alive connections; nginx's default
DEFAULT_REQUEST_TIMEOUT_S: Final = 30.0  # to receive one whole request; nginx: 60 (head)
# Response heads remembered within one second: an app answers with a few kinds of head
# (status, fields, length); 256 of them, a few hundred bytes each, is under 100 KiB.
_MAX_CACHED_HEADS: Final = 256


class Server:
    """Routes, middleware and limits; `run` serves them.

    Args:
        max_header_bytes / max_headers / max_target_bytes / max_body_bytes: request
            limits (see `sws_http.proto.RequestParser`), answered 431/431/414/413.
        keep_alive_timeout_s: how long an idle keep-alive connection stays open.
        request_timeout_s: how long one request may take to arrive (slowloris defense):
            a client still sending after it gets 408, one gone silent is closed.
        access_log: log one line per response (logger "sws_http.access", INFO).
    """

    def __init__(
        self,
        *,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_headers: int = DEFAULT_MAX_HEADERS,
        max_target_bytes: int = DEFAULT_MAX_TARGET_BYTES,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        keep_alive_timeout_s: float = DEFAULT_KEEP_ALIVE_TIMEOUT_S,
        request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
        access_log: bool = False,
    ) -> None:
        self.router = Router()
        self.limits = {
            "max_header_bytes": max_header_bytes,
            "max_headers": max_headers,
            "max_target_bytes": max_target_bytes,
            "max_body_bytes": max_body_bytes,
        }
        self.keep_alive_timeout_s = keep_alive_timeout_s
        self.request_timeout_s = request_timeout_s
        self.access_log = access_log
        self.loop: Loop | None = None
        self._middleware: list[Middleware] = []
        # Runs a handler inside the middleware (see `_chain`); rebuilt by `use`.
        self._run: Callable[[Context, Handler], Any] = _call
        self._date = b""
        # The second that _date and _heads were made for: [_date_from, _date_expires).
        self._date_from = 0.0
        self._date_expires = 0.0
        self._heads: dict[tuple[Any, ...], bytes] = {}  # response heads of this second

    # --- routes -------------------------------------------------------------------------------

    def route(self, path: str, methods: list[str] | None = None) -> Callable[[Handler], Handler]:
        """Decorator: serve `path` (with `{name}` / `{name:path}` parts) for `methods`."""

        def register(handler: Handler) -> Handler:
            self.router.add(path, methods or ["GET"], handler)
            return handler

        return register

    def get(self, path: str) -> Callable[[Handler], Handler]:
        """Decorator for GET (which also answers HEAD)."""
        return self.route(path, ["GET"])

    def post(self, path: str) -> Callable[[Handler], Handler]:
        """Decorator for POST."""
        return self.route(path, ["POST"])

    def put(self, path: str) -> Callable[[Handler], Handler]:
        """Decorator for PUT."""
        return self.route(path, ["PUT"])

    def patch(self, path: str) -> Callable[[Handler], Handler]:
        """Decorator for PATCH."""
        return self.route(path, ["PATCH"])

    def delete(self, path: str) -> Callable[[Handler], Handler]:
        """Decorator for DELETE."""
        return self.route(path, ["DELETE"])

    def head(self, path: str) -> Callable[[Handler], Handler]:
        """Decorator for HEAD."""
        return self.route(path, ["HEAD"])

    def options(self, path: str) -> Callable[[Handler], Handler]:
        """Decorator for OPTIONS."""
        return self.route(path, ["OPTIONS"])

    def use(self, middleware: Middleware) -> None:
        """Add middleware `mw(ctx, next)`; the first added runs outermost."""
        self._middleware.append(middleware)
        self._run = _chain(self._middleware)

    # --- serving ------------------------------------------------------------------------------

    def listen(
        self, loop: Loop, host: str = "127.0.0.1", port: int = 8080, **options: Any
    ) -> Listener:
        """Serve this app on `loop` at `host:port` (before or while the loop runs)."""
        self.loop = loop

        def protocol(conn: Conn) -> HttpProtocol:
            return HttpProtocol(self, conn)

        return loop.listen(host, port, protocol=protocol, **options)

    def run(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        workers: int = 1,
        threads: int = 0,
        ready: Callable[[str, int], Any] | None = None,
        **loop_options: Any,
    ) -> None:
        """Serve until SIGINT/SIGTERM (a graceful stop).

        Args:
            host / port: where to listen (port 0: a free port, told to `ready`).
            workers: processes, each with its own IO thread, sharing the port with
                SO_REUSEPORT; the parent restarts a crashed one and forwards the stop.
            threads: worker threads per process for `to_worker` / `loop.submit`.
            ready: called with the host and the real port once serving starts.
            loop_options: more `sws_core.Loop` keyword arguments (limits, timeouts).
        """
        if workers <= 1:
            loop = Loop(workers=threads, **loop_options)
            listener = self.listen(loop, host, port)
            if ready is not None:
                loop.go(ready, host, listener.port)
            loop.run()
            return
        holder = reserve_port(host, port)
        real_port = holder.getsockname()[1]

        def worker(index: int) -> None:
            holder.close()  # the parent's placeholder: this process listens on its own
            loop = Loop(workers=threads, **loop_options)
            self.listen(loop, host, real_port, reuse_port=True)
            loop.run()

        grace_s = loop_options.get("grace_s", DEFAULT_GRACE_S)
        try:
            serve_processes(
                workers,
                worker,
                grace_s=grace_s,
                on_started=(lambda: ready(host, real_port)) if ready else None,
            )
        finally:
            holder.close()

    def date(self) -> bytes:
        """The `Date` value, computed at most once a second."""
        now = time.time()
        if not self._date_from <= now < self._date_expires:  # a new second, or a clock step
            second = float(int(now))  # floats: time() against an int is a slower compare
            self._date_from = second
            self._date_expires = second + 1.0
            self._date = http_date(now)
            self._heads.clear()
        return self._date

    def _response_head(
        self,
        status: int,
        headers: list[tuple[str, str]],
        content_length: int,
        keep_alive: bool,
        http_version: str,
    ) -> bytes:
        """`response_head` with this second's Date and the Server field, remembered for
        the rest of the second under `(status, *headers, content_length, keep_alive,
        http_version)`: most responses repeat an earlier one's head, and the connections
        look them up themselves (see `HttpProtocol._handle`).

        Raises:
            ValueError: from `response_head`.
        """
        head = response_head(
            status,
            headers,
            content_length=content_length,
            keep_alive=keep_alive,
            http_10=http_version == "1.0",
            date=self.date(),
        )
        with contextlib.suppress(TypeError):  # an unhashable header: built every time
            key = (status, *headers, content_length, keep_alive, http_version)
            remember(self._heads, key, head, _MAX_CACHED_HEADS)
        return head

    def _route(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        """The handler for `method` on the raw `path`, and its parameters (the one lookup
        for every request: a static route's is cut short, see HttpProtocol._handle)."""
        match = self.router.match(method, path)
        handler = match.handler
        if handler is None:
            return (_not_found if match.status == 404 else _method_not_allowed(match.allow)), {}
        return handler, match.params


def _call(ctx: Context, handler: Handler) -> Any:
    return handler(ctx)


def _chain(middleware: list[Middleware]) -> Callable[[Context, Handler], Any]:
    """Compose `middleware` (the first outermost) into one `run(ctx, handler)`.

    Each layer calls its middleware with a `next` that runs the layers inside it, made
    once per request and layer; the innermost `next` calls the handler itself.
    """
    run: Callable[[Context, Handler], Any] = _call
    for middleware_fn in reversed(middleware):
        run = _innermost(middleware_fn) if run is _call else _layer(middleware_fn, run)
    return run


def _innermost(mw: Middleware) -> Callable[[Context, Handler], Any]:
    def run(ctx: Context, handler: Handler) -> Any:
        return mw(ctx, lambda: handler(ctx))

    return run


def _layer(
    mw: Middleware, inner: Callable[[Context, Handler], Any]
) -> Callable[[Context, Handler], Any]:
    def run(ctx: Context, handler: Handler) -> Any:
        return mw(ctx, lambda: inner(ctx, handler))

    return run


def _not_found(ctx: Context) -> None:
    ctx.text("Not Found", status=404)


def _method_not_allowed(allow: tuple[str, ...]) -> Handler:
    def answer(ctx: Context) -> None:
        ctx.text("Method Not Allowed", status=405)
        ctx.header("allow", ", ".join(allow))

    return answer
