"""Middleware composition (`Server.use`): order, early answers, results passed back, and
middleware added after requests were served. Driven through `HttpProtocol` over a
recording stand-in for the connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sws_http import Context, Server
from sws_http._protocol import HttpProtocol

REQUEST = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"


class FakeLoop:
    now = 0.0
    stopping = False


class FakeConn:
    state = 0  # OPEN
    peer = ("127.0.0.1", 1)
    idle_timeout_s: float | None = None

    def __init__(self) -> None:
        self.loop = FakeLoop()
        self.writes: list[bytes] = []
        self.protocol: Any = None

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.state = 1


def serve(app: Server, times: int = 1) -> list[bytes]:
    conn = FakeConn()
    protocol = HttpProtocol(app, conn)  # type: ignore[arg-type]
    for _ in range(times):
        protocol.data_received(REQUEST)
    return conn.writes


def recording(log: list[str], name: str) -> Callable[[Context, Callable[[], Any]], Any]:
    def mw(ctx: Context, call_next: Callable[[], Any]) -> Any:
        log.append(f"{name} in")
        result = call_next()
        log.append(f"{name} out")
        return result

    return mw


@pytest.mark.parametrize("layers", [0, 1, 2, 3])
def test_middleware_runs_outermost_first_around_the_handler(layers: int) -> None:
    app = Server()
    log: list[str] = []

    @app.get("/x")
    def handler(ctx: Context) -> None:
        log.append("handler")
        ctx.text("ok")

    for i in range(layers):
        app.use(recording(log, str(i)))
    [answer] = serve(app)
    assert answer.endswith(b"\r\n\r\nok")
    inner = [f"{i} in" for i in range(layers)]
    outer = [f"{i} out" for i in reversed(range(layers))]
    assert log == [*inner, "handler", *outer]


def test_middleware_that_answers_itself_skips_the_rest() -> None:
    app = Server()
    log: list[str] = []

    @app.get("/x")
    def handler(ctx: Context) -> None:
        log.append("handler")

    def refuse(ctx: Context, call_next: Callable[[], Any]) -> None:
        ctx.text("no", status=403)

    app.use(recording(log, "outer"))
    app.use(refuse)
    app.use(recording(log, "inner"))
    [answer] = serve(app)
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert log == ["outer in", "outer out"]


def test_middleware_added_later_wraps_the_next_requests() -> None:
    app = Server()
    log: list[str] = []

    @app.get("/x")
    def handler(ctx: Context) -> None:
        log.append("handler")
        ctx.text("ok")

    conn = FakeConn()
    protocol = HttpProtocol(app, conn)  # type: ignore[arg-type]
    protocol.data_received(REQUEST)
    app.use(recording(log, "late"))
    protocol.data_received(REQUEST)
    assert log == ["handler", "late in", "handler", "late out"]
    assert len(conn.writes) == 2


def test_each_layer_gets_the_result_of_the_layers_inside() -> None:
    app = Server()
    results: list[Any] = []

    @app.get("/x")
    def handler(ctx: Context) -> str:
        ctx.text("ok")
        return "from the handler"  # not a fiber: ignored by the server

    def keep(ctx: Context, call_next: Callable[[], Any]) -> Any:
        result = call_next()
        results.append(result)
        return result

    app.use(keep)
    app.use(keep)
    serve(app)
    assert results == ["from the handler", "from the handler"]
