"""`Context`: one request and the response being built for it.

A handler reads the request from the context and answers through it:

    @app.get("/users/{id}")
    def user(ctx):
        ctx.json({"id": ctx.params["id"], "q": ctx.query.get("q")})

Every response helper replaces the response so far; headers added with `header` are kept.
A handler that sets nothing answers 204 No Content.
"""

from __future__ import annotations

import json as _json
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs

from sws_http._later import DeferredResponse, ResponseStream, Upgrade
from sws_http.proto import Headers, Request

_TEXT_TYPE: Final = ("content-type", "text/plain; charset=utf-8")

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from sws_core import Conn, TcpProtocol
    from sws_http._protocol import HttpProtocol


class Context:
    """The request (method, path, query, headers, params, body) and its response."""

    __slots__ = (
        "_query",
        "body",
        "conn",
        "later",
        "params",
        "path",
        "request",
        "response_body",
        "response_headers",
        "status",
    )

    def __init__(self, request: Request, path: str, body: bytes, conn: Conn | None) -> None:
        self.request = request
        self.path = path
        self.body = body
        self.conn = conn
        self.params: dict[str, str] = {}
        self.later: Any = None  # a DeferredResponse or ResponseStream, once asked for
        self._query: dict[str, list[str]] | None = None
        self.status = 204
        self.response_headers: list[tuple[str, str]] = []
        self.response_body = b""

    # --- the request ------------------------------------------------------------------------

    @property
    def method(self) -> str:
        """The request method ("GET")."""
        return self.request.method

    @property
    def target(self) -> str:
        """The request-target exactly as sent."""
        return self.request.target

    @property
    def headers(self) -> Headers:
        """The request's header fields (case-insensitive lookup, repeats kept)."""
        return self.request.headers

    @property
    def query(self) -> QueryParams:
        """The query string, parsed and percent-decoded; repeated keys keep every value."""
        if self._query is None:
            self._query = parse_qs(self.request.query, keep_blank_values=True)
        return QueryParams(self._query)

    @property
    def client(self) -> tuple[str, int]:
        """The peer's `(host, port)`."""
        return self.conn.peer if self.conn is not None else ("", 0)

    @property
    def text_body(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    def json_body(self) -> Any:
        """The body parsed as JSON.

        Raises:
            ValueError: the body is not valid JSON.
        """
        return _json.loads(self.body)

    # --- the response -----------------------------------------------------------------------

    def bytes(
        self, body: bytes, content_type: str = "application/octet-stream", status: int = 200
    ) -> None:
        """Answer `body` as it is, with any Content-Type."""
        self.status = status
        self.response_body = body
        if self.response_headers:
            self._replace_header("content-type", content_type)
        else:
            self.response_headers.append(("content-type", content_type))

    def text(self, text: str, status: int = 200) -> None:
        """Answer plain text (UTF-8)."""
        self.status = status
        self.response_body = text.encode()  # UTF-8, the default: quicker unnamed
        if self.response_headers:
            self._replace_header("content-type", "text/plain; charset=utf-8")
        else:
            self.response_headers.append(_TEXT_TYPE)

    def html(self, html: str, status: int = 200) -> None:
        """Answer HTML (UTF-8)."""
        self.bytes(html.encode(), "text/html; charset=utf-8", status)

    def json(self, value: Any, status: int = 200) -> None:
        """Answer `value` as JSON."""
        body = _json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        self.bytes(body, "application/json", status)

    def redirect(self, location: str, status: int = 302) -> None:
        """Answer a redirect to `location` (301, 302, 303, 307 or 308).

        Raises:
            ValueError: `status` is not a redirect status.
        """
        if status not in (301, 302, 303, 307, 308):
            raise ValueError(f"status {status} is not a redirect")
        self.status = status
        self.response_body = b""
        self._replace_header("location", location)

    def header(self, name: str, value: str) -> None:
        """Add a response header (checked for CR/LF when the response is written)."""
        self.response_headers.append((name, value))

    def defer(self) -> DeferredResponse:
        """Answer later, from any thread: the handler returns without a response.

        Raises:
            RuntimeError: the context has no connection, or already defers or streams.
        """
        deferred = DeferredResponse(self, self._protocol("defer"))
        self.later = deferred
        return deferred

    def stream(
        self, status: int = 200, content_type: str = "application/octet-stream"
    ) -> ResponseStream:
        """Start a streamed (chunked) response; the head is sent at once. For generator
        and async handlers: `yield from stream.write(data)` sends each piece.

        Raises:
            RuntimeError: the context has no connection, or already defers or streams.
        """
        stream = ResponseStream(self._protocol("stream"), self, status, content_type)
        self.later = stream
        return stream

    def upgrade(
        self,
        name: str,
        protocol: Callable[[Conn], TcpProtocol],
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Switch the connection to another protocol: answer `101 Switching Protocols`
        with `Upgrade: name` and `headers`, then hand the connection to `protocol(conn)`.

        The new protocol receives every byte after this request (some may have arrived
        with it). Middleware sees the 101 like any response and may add headers.

        Args:
            name: the protocol token of the `Upgrade` header ("websocket").
            protocol: called on the IO thread with the connection once the 101 is
                queued; returns the `TcpProtocol` that drives the connection from then on.
            headers: extra response headers (`Sec-WebSocket-Accept`, ...).

        Raises:
            RuntimeError: the context has no connection, or already defers or streams.
        """
        self._protocol("upgrade")
        self.later = Upgrade(name, protocol)
        self.status = 101
        self.response_body = b""
        self.response_headers.extend(headers)

    def _protocol(self, what: str) -> HttpProtocol:
        if self.later is not None:
            raise RuntimeError(f"{what}: this response is already deferred, streamed or upgraded")
        protocol = getattr(self.conn, "protocol", None)
        if protocol is None:
            raise RuntimeError(f"{what} needs a live connection")
        return protocol  # type: ignore[no-any-return]

    def set_status(self, status: int) -> None:
        """Set the status, keeping the body."""
        self.status = status

    def _replace_header(self, name: str, value: str) -> None:
        """Set a single-valued header, dropping earlier values of it."""
        if self.response_headers:
            self.response_headers = [h for h in self.response_headers if h[0].lower() != name]
        self.response_headers.append((name, value))

    def __repr__(self) -> str:
        return f"<Context {self.method} {self.target} status={self.status}>"


class QueryParams:
    """Parsed query parameters: `get(name)` for the first value, `get_all` for every one."""

    __slots__ = ("_params",)

    def __init__(self, params: dict[str, list[str]]) -> None:
        self._params = params

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of `name`, or `default`."""
        values = self._params.get(name)
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        """Every value of `name`, in order."""
        return list(self._params.get(name, ()))

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def to_dict(self) -> dict[str, list[str]]:
        """Every parameter with every value."""
        return {k: list(v) for k, v in self._params.items()}

    def __repr__(self) -> str:
        return f"QueryParams({self._params!r})"
