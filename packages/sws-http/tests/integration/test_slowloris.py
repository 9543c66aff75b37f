"""Slow clients: a request must arrive within request_timeout_s (slowloris defense)."""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from sws_core import Op, sleep
from sws_http import Context, Server

pytestmark = pytest.mark.integration

SLOW = 1000  # slowloris connections held open at once
TIMEOUT_S = 0.5  # the server's request_timeout_s in these tests
WAIT_S = 10.0


def hello_app() -> Server:
    app = Server(request_timeout_s=TIMEOUT_S)

    @app.get("/")
    def hello(ctx: Context) -> None:
        ctx.text("hello")

    return app


@pytest.fixture
def enough_fds() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * SLOW + 256  # both ends of every connection live in this process
    if hard < need:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {need}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def get(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
        return data


def test_slowloris_connections_are_closed_while_others_are_served(
    serve: Callable[..., Any], enough_fds: None
) -> None:
    port = serve(hello_app()).port
    slow = []
    try:
        for _ in range(SLOW):
            sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n")  # a head that never ends
            slow.append(sock)
        for _ in range(20):  # normal clients are served meanwhile
            assert get(port).endswith(b"\r\n\r\nhello")
        for sock in slow:  # each slow one is closed by the server, without an answer
            assert sock.recv(4096) == b""
    finally:
        for sock in slow:
            sock.close()


def test_a_client_that_drips_a_request_gets_408(serve: Callable[..., Any]) -> None:
    port = serve(hello_app()).port
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 100
        deadline = time.monotonic() + WAIT_S
        sent = 0
        reply = b""
        while time.monotonic() < deadline:  # one byte every 50 ms: never idle, never done
            try:
                sock.sendall(head[sent : sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            sock.settimeout(0.05)
            try:
                reply = sock.recv(4096)
                break
            except TimeoutError:
                continue
        assert reply.startswith(b"HTTP/1.1 408 ")
        assert sent < len(head)


def test_a_fast_request_after_a_slow_start_is_served(serve: Callable[..., Any]) -> None:
    port = serve(hello_app()).port
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(b"GET / HTT")
        sock.sendall(b"P/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 ")


def test_a_handler_running_past_the_request_timeout_still_answers(
    serve: Callable[..., Any],
) -> None:
    # A request that arrived in pieces is under the slow-request timeout until it is
    # whole; once its handler runs, the connection waits for it like any other.
    app = Server(request_timeout_s=TIMEOUT_S)

    @app.post("/slow")
    def slow(ctx: Context) -> Generator[Op, Any, None]:
        yield from sleep(4 * TIMEOUT_S)
        ctx.text(f"got {len(ctx.body)}")

    port = serve(app).port
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(b"POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab")
        time.sleep(TIMEOUT_S / 5)
        sock.sendall(b"cd")
        reply = b""
        while not reply.endswith(b"got 4"):
            chunk = sock.recv(4096)
            assert chunk, f"closed before the answer: {reply!r}"
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 ")
