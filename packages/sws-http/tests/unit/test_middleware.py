"""Middleware composition (`Server.use`): order, early answers, results passed back, and
middleware added after requests were served. Driven through `HttpProtocol` over a
recording stand-in for the connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sws_http_testing import connect  # loaded by ../conftest.py

from sws_http import Context, Server

REQUEST = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"


def logging_app(log: list[Any], result: Any = None) -> Server:
    """An app whose one handler logs "handler", answers "ok" and returns `result`."""
    app = Server()

    @app.get("/x")
    def handler(ctx: Context) -> Any:
        log.append("handler")
        ctx.text("ok")
        return result  # not a fiber: the server answers and ignores it

    return app


def serve(app: Server) -> list[bytes]:
    conn, protocol = connect(app)
    protocol.data_received(REQUEST)
    return conn.writes


def recording(log: list[Any], name: str) -> Callable[[Context, Callable[[], Any]], Any]:
    def mw(ctx: Context, call_next: Callable[[], Any]) -> Any:
        log.append(f"{name} in")
        result = call_next()
        log.append(f"{name} out")
        return result

    return mw


@pytest.mark.parametrize("layers", [0, 1, 2, 3])
def test_middleware_runs_outermost_first_around_the_handler(layers: int) -> None:
    log: list[Any] = []
    app = logging_app(log)
    for i in range(layers):
        app.use(recording(log, str(i)))
    [answer] = serve(app)
    assert answer.endswith(b"\r\n\r\nok")
    inner = [f"{i} in" for i in range(layers)]
    outer = [f"{i} out" for i in reversed(range(layers))]
    assert log == [*inner, "handler", *outer]


def test_middleware_that_answers_itself_skips_the_rest() -> None:
    log: list[Any] = []
    app = logging_app(log)

    def refuse(ctx: Context, call_next: Callable[[], Any]) -> None:
        ctx.text("no", status=403)

    app.use(recording(log, "outer"))
    app.use(refuse)
    app.use(recording(log, "inner"))
    [answer] = serve(app)
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert log == ["outer in", "outer out"]


def test_middleware_added_later_wraps_the_next_requests() -> None:
    log: list[Any] = []
    app = logging_app(log)
    conn, protocol = connect(app)
    protocol.data_received(REQUEST)
    app.use(recording(log, "late"))
    protocol.data_received(REQUEST)
    assert log == ["handler", "late in", "handler", "late out"]
    assert len(conn.writes) == 2


def test_each_layer_gets_the_result_of_the_layers_inside() -> None:
    log: list[Any] = []
    app = logging_app(log, result="from the handler")

    def keep(ctx: Context, call_next: Callable[[], Any]) -> Any:
        result = call_next()
        log.append(result)
        return result

    app.use(keep)
    app.use(keep)
    serve(app)
    assert log == ["handler", "from the handler", "from the handler"]
