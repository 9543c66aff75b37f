"""`HttpProtocol`: HTTP/1.1 on one sws_core connection.

Rules that hold here:

- Requests are answered strictly in order. While a request is being handled (a fiber
  handler may take many loop turns), later pipelined requests wait, parsed or not, in the
  parser's buffer; none is lost and none overtakes another.
- The answers to a batch of pipelined requests handled in one pass are joined into one
  write: an answer is held while the pass goes on (64 KiB of answers at most) and goes
  out when it ends, and whatever is held goes out before anything else is written (100
  Continue, a stream's head, a 101, an error answer) and before a fiber handler starts.
- A malformed request gets the status the parser names and the connection closes after
  it (the bytes after a broken request cannot be trusted to be framed right).
- A handler's exception is logged and answered with a generic 500: no traceback, no
  message reaches the client.
- `Expect: 100-continue` is answered with an interim 100 before the body is read.
- After a 101 (`ctx.upgrade`) this protocol is done: the connection, and every byte the
  client sent after the upgrade request, belong to the new protocol.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import types
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

from sws_core import BrokenResourceError, ClosedResourceError, Conn, Op
from sws_http._context import Context
from sws_http._later import DeferredResponse, ResponseStream, Upgrade
from sws_http.proto import (
    REASONS,
    Data,
    EndOfMessage,
    ProtocolError,
    Request,
    RequestParser,
    response_head,
)

if TYPE_CHECKING:
    from sws_http._server import Server

log = logging.getLogger("sws_http")
access_log = logging.getLogger("sws_http.access")

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Answers held for a batch of pipelined requests, at most: past it they are written at
# once, so the connection's write-queue limit and its backpressure still apply.
_MAX_HELD_BYTES: Final = 64 << 10
_IDLE, _BATCH, _SINGLE = 0, 1, 2  # HttpProtocol._looping
_FIBERS: Final = (types.GeneratorType, types.CoroutineType)  # handler results run as fibers
_NO_BODY_STATUSES: Final = frozenset({204, 304})  # answered without their bodies


class HttpProtocol:
    """Parses requests from a connection, runs their handlers, writes the responses."""

    __slots__ = (
        "_body",
        "_busy",
        "_eof",
        "_looping",
        "_out",
        "_out_bytes",
        "_repeat",
        "_repeat_request",
        "_request",
        "_started",
        "_stopping",
        "app",
        "conn",
        "parser",
    )

    def __init__(self, app: Server, conn: Conn) -> None:
        self.app = app
        self.conn = conn
        self.parser = RequestParser(**app.limits)
        self._request: Request | None = None
        self._body: list[bytes] = []
        self._busy = False  # a handler is running; later requests wait
        # What answers requests now, so that a response knows whether more may wait
        # behind it: _IDLE (nothing), _BATCH (_process: maybe more buffered), _SINGLE
        # (data_received's one whole request: nothing buffered behind it).
        self._looping = _IDLE
        self._stopping = conn.loop.stopping  # a graceful stop: no more keep-alive
        self._out: list[bytes] = []  # responses to pipelined requests, not yet written
        self._out_bytes = 0  # their size: at most _MAX_HELD_BYTES
        self._eof = False  # the client has finished sending
        self._started = 0.0  # when the request being received began to arrive (0: none)
        # The last read the parser took whole, as one keep-alive request, and that request
        # (b"": none). The same read again is the same request, and feed_whole would leave
        # the parser as it is, as long as no other bytes have reached it since: whatever
        # else it gets, it gets before a pass over requests (_process), which forgets this.
        self._repeat = b""
        self._repeat_request: Any = None
        conn.idle_timeout_s = app.keep_alive_timeout_s

    # --- TcpProtocol --------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._busy:
            self.parser.feed(data)
            return
        app = self.app
        now = self.conn.loop.wall  # this turn's: Server.date's test, inlined, without a call
        if now >= app._date_expires or now < app._date_from:
            app.date()
        if data == self._repeat:
            # The connection's last request again, the parser untouched since it took that
            # one whole: feed_whole would return the same Request and change nothing.
            request = self._repeat_request
        else:
            request = self.parser.feed_whole(data)
            if request is not None and request.keep_alive:
                self._repeat = data
                self._repeat_request = request
        if request is not None:
            # The usual keep-alive request: one whole bodyless head seen before, alone in
            # this read, nothing buffered before it. Answered at once.
            self._looping = _SINGLE
            self._handle(request, b"")
            self._looping = _IDLE
            if self._busy or self.conn.state != 0:
                self._after_requests()
            # else: answered, open, nothing held or buffered: no slow request to watch,
            # and the idle timeout is already the keep-alive one. (Nothing is held
            # outside a pass over requests, and no data comes after the end of input.)
            return
        now = self.conn.loop.now
        if not self._started:
            self._started = now
        elif now - self._started > self.app.request_timeout_s:
            log.info("request from %s too slow: 408", self.conn.peer)
            self._answer_error(408)
            return
        self._process()

    def _watch_slow_request(self) -> None:
        """A request cut short waits at most `request_timeout_s`, in silence or not: the
        deadline above catches a client that drips bytes, the shorter idle timeout one
        that stops sending (slowloris)."""
        if self.parser.mid_request:
            if not self._started:
                self._started = self.conn.loop.now
            self.conn.idle_timeout_s = self.app.request_timeout_s
        else:
            self._started = 0.0
            self.conn.idle_timeout_s = self.app.keep_alive_timeout_s

    def eof_received(self) -> None:
        self._eof = True
        with contextlib.suppress(ProtocolError):  # gave up mid-request: nobody to answer
            self.parser.feed_eof()
        if not self._busy:
            self.conn.close()  # else _finish closes once the response is out

    def connection_lost(self, exc: BaseException | None) -> None:
        self._body = []

    def shutdown_requested(self) -> None:
        """A graceful stop: finish the request in progress, then close."""
        self._stopping = True
        if not self._busy and self._request is None:
            self.conn.close()

    # --- requests -----------------------------------------------------------------------------

    def _process(self) -> None:
        """Answer every complete request buffered, in order, until one is still being
        handled (a fiber, a deferred response) or the bytes run out."""
        parser = self.parser
        conn = self.conn
        self._repeat = b""  # the parser is given, or holds, other bytes than a repeat
        self.app.date()  # once a pass: the second its answers' heads belong to
        self._looping = _BATCH
        while not self._busy and conn.state == 0:  # OPEN
            request = parser.next_whole()
            if request is not None:  # pipelined keep-alive requests, the usual ones
                self._handle(request, b"")
                continue
            try:
                event: Any = parser.next_event()
            except ProtocolError as exc:
                self._looping = _IDLE
                if self._out:
                    self._flush()
                log.info("bad request from %s: %s", conn.peer, exc.message)
                self._answer_error(exc.status_hint)
                return
            kind = type(event)
            if kind is Request:
                self._request = event
                if event.expect_continue:
                    self._write(_CONTINUE)
                if event.content_length == 0:  # no body: its EndOfMessage is next
                    parser.next_event()
                    self._handle(event, b"")
                    if not parser.buffered:  # nothing more has arrived
                        break
            elif kind is Data:
                self._body.append(event.data)
            elif kind is EndOfMessage:
                body = self._body
                self._body = []
                assert self._request is not None
                self._handle(self._request, body[0] if len(body) == 1 else b"".join(body))
            else:  # NEED_DATA
                if parser.closed:
                    conn.close()
                break
        self._looping = _IDLE
        self._after_requests()

    def _after_requests(self) -> None:
        """Once the buffered requests are answered or waiting: write what is held, then
        close, or set the timeout that fits what the connection waits for."""
        conn = self.conn
        if self._out:
            self._flush()
        if conn.state != 0 or conn.protocol is not self:  # closed, or upgraded meanwhile
            return
        if self._eof:
            if not self._busy:
                conn.close()  # the client finished sending and everything is answered
        elif not self._busy:
            self._watch_slow_request()
        else:  # a handler runs on (a fiber, a deferred answer): no longer a slow request
            conn.idle_timeout_s = self.app.keep_alive_timeout_s

    def _handle(self, request: Request, body: bytes, done: Context | None = None) -> None:
        """Route the request, run middleware and handler, and answer (or wait).

        Given `done`, the context of a handler that has finished (a fiber's, a deferred
        response's), only answer: `_respond`. One function for both, so that the usual
        request costs one call here, not two.
        """
        app = self.app
        conn = self.conn
        ctx = done
        if ctx is None:
            path = request.path
            # Server._route, cut short for the usual request: to a static route, no "%".
            by_method = app.router.static.get(path)
            match = by_method.get(request.method) if by_method is not None else None
            handler: Any
            if match is None or "%" in path:
                handler, params = app._route(request.method, path)
                ctx = Context(request, unquote(path) if "%" in path else path, body, conn)
                if params:
                    ctx.params = params
            else:
                handler = match.handler  # a static route's match always has one
                ctx = Context(request, path, body, conn)
            self._busy = True
            self._started = 0.0
            try:
                result = handler(ctx) if not app._middleware else app._run(ctx, handler)
            except Exception:
                log.exception("handler for %s %s raised", request.method, request.target)
                self._answer_500(ctx)
                return
            if result is not None and isinstance(result, _FIBERS):
                conn.loop.go(self._run_fiber(ctx, result))
                return
        # The answer.
        if conn.state != 0:  # closed while the handler ran
            return
        later = ctx.later
        if later is not None and (
            # A deferred response is answered through _deferred_done, once given.
            (done is None and isinstance(later, DeferredResponse)) or self._respond_later(ctx)
        ):
            return
        request = ctx.request
        keep_alive = request.keep_alive and not self._stopping
        body = ctx.response_body
        status = ctx.status
        # The head, as Server._response_head makes it, looked up here: most responses
        # repeat one of this second's heads. (A pass over requests checked the Date when
        # it began: answers in one pass share its second.)
        if not self._looping:
            app.date()
        version = request.http_version
        headers = ctx.response_headers
        try:  # (the same key either way; one header, the usual case, is the quicker build)
            head = app._heads.get(
                (status, headers[0], len(body), keep_alive, version)
                if len(headers) == 1
                else (status, *headers, len(body), keep_alive, version)
            )
        except TypeError:  # an unhashable header: built every time
            head = None
        if head is None:
            try:
                head = app._response_head(status, headers, len(body), keep_alive, version)
            except ValueError:
                log.exception("handler for %s %s built an invalid response", ctx.method, ctx.target)
                self._answer_500(ctx)
                return
        data = head if status in _NO_BODY_STATUSES or request.method == "HEAD" else head + body
        if (
            keep_alive
            and self._looping == _BATCH
            and self._out_bytes + len(data) <= _MAX_HELD_BYTES
        ):
            self._out.append(data)  # more requests may wait: answer them all in one write
            self._out_bytes += len(data)
        elif self._out:
            self._write(data)
        else:
            conn.write(data)  # the usual case
        if app.access_log:
            access_log.info(
                '%s "%s %s HTTP/%s" %d %d',
                conn.peer[0],
                request.method,
                request.target,
                request.http_version,
                ctx.status,
                len(body),
            )
        self._busy = False  # _finish, inlined
        self._request = None
        if not keep_alive:
            conn.close()
        elif not self._looping and conn.state == 0:
            self._process()  # a fiber's or a deferred response is out: go on

    def _run_fiber(self, ctx: Context, fiber: Any) -> Generator[Op, Any, None]:
        try:
            if inspect.iscoroutine(fiber):
                yield from fiber.__await__()
            else:
                yield from fiber
        except (ClosedResourceError, BrokenResourceError):
            return  # the connection is gone: nobody to answer
        except Exception:
            log.exception("handler for %s %s raised", ctx.method, ctx.target)
            self._answer_500(ctx)
            return
        self._respond(ctx)

    # --- responses ----------------------------------------------------------------------------

    def _deferred_done(self, ctx: Context, build: Any) -> None:
        """On the IO thread: a deferred response was given; write it."""
        if self.conn.state != 0:
            return  # the client is gone
        try:
            build(ctx)
            self.conn.loop.run_deferred_hooks()
        except Exception:
            log.exception("deferred response for %s %s failed", ctx.method, ctx.target)
            self._answer_500(ctx)
            return
        self._respond(ctx)

    def _respond(self, ctx: Context) -> None:
        """Answer for a handler that has finished (see `_handle`)."""
        self._handle(ctx.request, ctx.body, ctx)

    def _respond_later(self, ctx: Context) -> bool:
        """Answer for a stream, a deferred response or an upgrade; False if `ctx.later`
        leaves the answer to `_handle` (an upgrade refused, a deferred response given)."""
        later = ctx.later
        if isinstance(later, ResponseStream):
            later.end()
            self._finish(later.keep_alive and not self._stopping)
            return True
        if isinstance(later, DeferredResponse) and not later._done:
            return True  # the handler returned; the answer comes through _deferred_done
        if isinstance(later, Upgrade) and ctx.status == 101:  # middleware may refuse
            self._switch(ctx, later)
            return True
        return False

    def _switch(self, ctx: Context, upgrade: Upgrade) -> None:
        """Answer 101 and hand the connection, with the bytes after the request, over."""
        conn = self.conn
        try:
            head = response_head(
                101, ctx.response_headers, upgrade=upgrade.name, date=self.app.date()
            )
        except ValueError:
            log.exception("handler for %s %s built an invalid upgrade", ctx.method, ctx.target)
            self._answer_500(ctx)
            return
        self._write(head)
        if self.app.access_log:
            request = ctx.request
            access_log.info(
                '%s "%s %s HTTP/%s" 101 0',
                conn.peer[0],
                request.method,
                request.target,
                request.http_version,
            )
        rest = self.parser.take_buffered()
        try:
            protocol = upgrade.protocol(conn)
        except Exception:
            log.exception("upgrade to %s for %s raised", upgrade.name, ctx.target)
            conn.abort()
            return
        conn.protocol = protocol  # this protocol stays busy: it gets no more events
        if rest:
            protocol.data_received(rest)
        if self._eof and conn.state == 0:
            protocol.eof_received()

    def _finish(self, keep_alive: bool) -> None:
        self._busy = False
        self._request = None
        if not keep_alive:
            self.conn.close()
        elif not self._looping and self.conn.state == 0:
            # A fiber's or a deferred response is out: go on with what is buffered.
            self._process()

    def _write(self, data: bytes) -> None:
        """Write `data` behind any responses held for pipelined requests."""
        if self._out:
            self._out.append(data)
            data = b"".join(self._out)
            self._out.clear()
            self._out_bytes = 0
        self.conn.write(data)

    def _flush(self) -> None:
        """Write the responses held for pipelined requests (unless the connection closed)."""
        data = b"".join(self._out)
        self._out.clear()
        self._out_bytes = 0
        if self.conn.state == 0:
            self.conn.write(data)

    def _answer_500(self, ctx: Context) -> None:
        ctx.response_headers = []
        ctx.text("Internal Server Error", status=500)
        self._answer(500, keep_alive=False)

    def _answer_error(self, status: int) -> None:
        self._busy = True
        self._answer(status, keep_alive=False)

    def _answer(self, status: int, *, keep_alive: bool) -> None:
        reason = REASONS.get(status, "Error").encode("ascii")
        head = response_head(
            status,
            [("content-type", "text/plain; charset=utf-8")],
            content_length=len(reason),
            keep_alive=keep_alive,
            date=self.app.date(),
        )
        if self.conn.state == 0:
            self._write(head + reason)
        self._finish(keep_alive)

    def __repr__(self) -> str:
        return f"<HttpProtocol {self.conn!r} busy={self._busy}>"
