"""Deferred and streamed responses, with real clients."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Generator
from typing import Any

import httpx
import pytest

from sws_core import Op, sleep
from sws_http import Context, Server

pytestmark = pytest.mark.integration

WAIT_S = 10.0


def later_app() -> Server:
    app = Server()

    @app.get("/defer")
    def deferred(ctx: Context) -> None:
        answer = ctx.defer()
        threading.Timer(0.01, answer.json, ({"from": "a thread"},)).start()

    @app.get("/defer-twice")
    def twice(ctx: Context) -> None:
        answer = ctx.defer()
        answer.text("first")
        try:
            answer.text("second")
        except RuntimeError:
            ctx.header("x-second", "refused")  # the answer is built on the IO thread later

    @app.get("/stream")
    def streamed(ctx: Context) -> Generator[Op, Any, None]:
        body = ctx.stream(content_type="text/plain")
        for i in range(4):
            yield from body.write(b"piece %d\n" % i)
            yield from sleep(0.005)

    @app.get("/big-stream")
    def big(ctx: Context) -> Generator[Op, Any, None]:
        body = ctx.stream()
        for _ in range(64):
            yield from body.write(b"x" * 65536)  # 4 MiB through the write-queue limit

    @app.get("/after")
    def after(ctx: Context) -> None:
        ctx.text("after")

    return app


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_deferred_answer_from_another_thread(serve: Callable[..., Any]) -> None:
    served = serve(later_app())
    hooks: list[int] = []
    served.loop.invoke(served.loop.add_deferred_hook, lambda: hooks.append(1))
    with httpx.Client(base_url=f"http://127.0.0.1:{served.port}", timeout=WAIT_S) as client:
        response = client.get("/defer")
    assert response.status_code == 200
    assert response.json() == {"from": "a thread"}
    assert hooks == [1]  # deferred hooks ran before the answer was written


def test_a_deferred_response_is_answered_once(serve: Callable[..., Any]) -> None:
    port = serve(later_app()).port
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=WAIT_S) as client:
        response = client.get("/defer-twice")
    assert response.text == "first"


def test_streamed_response_is_chunked(serve: Callable[..., Any]) -> None:
    port = serve(later_app()).port
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=WAIT_S) as client:
        response = client.get("/stream")
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.text == "".join(f"piece {i}\n" for i in range(4))


def test_large_stream_arrives_whole(serve: Callable[..., Any]) -> None:
    port = serve(later_app()).port
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=WAIT_S) as client,
        client.stream("GET", "/big-stream") as response,
    ):
        total = sum(len(part) for part in response.iter_bytes())
    assert total == 64 * 65536


def test_pipelined_requests_keep_their_order_around_later_answers(
    serve: Callable[..., Any],
) -> None:
    port = serve(later_app()).port
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(
            b"GET /defer HTTP/1.1\r\nHost: t\r\n\r\n"
            b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"
            b"GET /after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        data = read_all(sock)
    first = data.index(b'{"from":"a thread"}')
    second = data.index(b"piece 3\n")
    third = data.index(b"\r\n\r\nafter")
    assert first < second < third


def test_http10_stream_is_delimited_by_close(serve: Callable[..., Any]) -> None:
    port = serve(later_app()).port
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
        data = read_all(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower()
    assert body == b"".join(b"piece %d\n" % i for i in range(4))


def test_head_of_a_stream_has_no_body(serve: Callable[..., Any]) -> None:
    port = serve(later_app()).port
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(b"HEAD /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 200 ")
    assert data.endswith(b"\r\n\r\n")


def test_access_log_has_one_line_per_response(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    app = later_app()
    app.access_log = True
    port = serve(app).port
    with (
        caplog.at_level("INFO", logger="sws_http.access"),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=WAIT_S) as client,
    ):
        client.get("/after?x=1")
        client.get("/nope")
    lines = [r.getMessage() for r in caplog.records if r.name == "sws_http.access"]
    assert lines == [
        '127.0.0.1 "GET /after?x=1 HTTP/1.1" 200 5',
        '127.0.0.1 "GET /nope HTTP/1.1" 404 9',
    ]
