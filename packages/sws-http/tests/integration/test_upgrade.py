"""`ctx.upgrade`: a 101 hands the connection, and the bytes after the request, over."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sws_core import Conn
from sws_http import Context, Server

pytestmark = pytest.mark.integration

UPGRADE = b"GET /line HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: x-line\r\n\r\n"


class LineEcho:
    """A toy protocol: echoes every line back upper-cased; "bye" closes."""

    def __init__(self, conn: Conn, lost: list[Any]) -> None:
        self.conn = conn
        self.buf = b""
        self.lost = lost

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\n" in self.buf:
            line, _, self.buf = self.buf.partition(b"\n")
            if line == b"bye":
                self.conn.close()
                return
            self.conn.write(line.upper() + b"\n")

    def eof_received(self) -> None:
        self.conn.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.append(exc)


def line_app(lost: list[Any]) -> Server:
    app = Server()

    def refuse_without_token(ctx: Context, nxt: Callable[[], Any]) -> Any:
        if ctx.query.get("token") == "bad":
            ctx.text("forbidden", status=403)
            return None
        return nxt()

    app.use(refuse_without_token)

    @app.get("/line")
    def line(ctx: Context) -> None:
        ctx.upgrade("x-line", lambda conn: LineEcho(conn, lost), [("x-hello", "1")])

    @app.get("/")
    def root(ctx: Context) -> None:
        ctx.text("root")

    return app


def test_upgrade_answers_101_and_hands_over_bytes_sent_with_the_request(
    serve: Callable[..., Any], clients: Any
) -> None:
    lost: list[Any] = []
    served = serve(line_app(lost))
    client = clients.connect(served.port)
    client.send(UPGRADE + b"early\n")  # bytes of the new protocol in the same packet
    head = client.read_head()
    assert head.status == 101
    assert head.header("upgrade") == "x-line"
    assert head.header("connection") == "upgrade"
    assert head.header("x-hello") == "1"
    assert head.header("content-length") is None
    while b"EARLY\n" not in client.buf:
        client._fill()
    client.send(b"GET / HTTP/1.1\n")  # no longer HTTP: echoed as a line
    while b"GET / HTTP/1.1\n" not in client.buf:
        client._fill()
    client.send(b"bye\n")
    client.buf = b""
    assert client.closed_by_peer()


def test_middleware_can_refuse_an_upgrade(serve: Callable[..., Any], clients: Any) -> None:
    lost: list[Any] = []
    served = serve(line_app(lost))
    client = clients.connect(served.port)
    resp = client.request(UPGRADE.replace(b"/line", b"/line?token=bad"))
    assert resp.status == 403
    resp = client.request(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # still HTTP
    assert resp.body == b"root"


def test_a_protocol_factory_that_raises_aborts_the_connection(
    serve: Callable[..., Any], clients: Any
) -> None:
    app = Server()

    def broken(conn: Conn) -> LineEcho:
        raise RuntimeError("no protocol today")

    @app.get("/line")
    def line(ctx: Context) -> None:
        ctx.upgrade("x-line", broken)

    served = serve(app)
    client = clients.connect(served.port)
    client.send(UPGRADE)
    assert client.read_head().status == 101
    assert client.closed_by_peer()
