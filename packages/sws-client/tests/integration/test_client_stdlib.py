"""HttpClient against Python's own `http.server` (ThreadingHTTPServer on a thread): an
independent HTTP/1.1 implementation, with keep-alive, chunked bodies written by hand and
close-delimited ones."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sws_client import HttpClient

BIG = bytes(range(256)) * (4 * 4096)  # 4 MiB


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections.append(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        agent = self.headers.get("User-Agent", "")
        text = f"{self.command} {self.path} {agent} {body.decode()}".encode()
        self._answer(200, text, X_Method=self.command, Content_Type="text/plain")

    do_POST = do_PUT = do_PATCH = do_DELETE = _echo  # noqa: N815 - http.server's names

    def do_GET(self) -> None:
        if self.path == "/big":
            self._answer(200, BIG)
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum")
            self.end_headers()
            for piece in (b"alpha ", b"beta ", b"gamma"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\nX-Checksum: abc\r\n\r\n")
        elif self.path == "/until-close":
            self.send_response(200)
            self.end_headers()  # no length, no chunking: the body ends with the connection
            self.wfile.write(b"read me until the end")
            self.close_connection = True
        else:
            self._echo()

    do_HEAD = do_GET  # noqa: N815


class Server(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.connections: list[socket.socket] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield srv
    srv.shutdown()
    thread.join()
    with srv.lock:
        for sock in srv.connections:  # wake handlers waiting for a next request
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
    srv.server_close()  # joins the handler threads


@pytest.fixture
def client(http_client: Callable[..., HttpClient]) -> HttpClient:
    return http_client()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_methods(server: Server, client: HttpClient, method: str) -> None:
    body = None if method == "GET" else b"payload"
    resp = client.request(method, server.url("/echo?x=1"), body=body)
    assert resp.status == 200
    assert resp.headers.get("x-method") == method
    assert resp.text() == f"{method} /echo?x=1 sws-client/0.1 {(body or b'').decode()}"
    assert resp.headers.get("server", "").startswith("BaseHTTP")


def test_head(server: Server, client: HttpClient) -> None:
    resp = client.head(server.url("/big"))
    assert resp.status == 200
    assert resp.headers.get("content-length") == str(len(BIG))
    assert resp.body == b""
    assert client.get(server.url("/x")).status == 200  # the connection is still in step
    assert len(server.connections) == 1


def test_keep_alive_and_large_bodies(server: Server, client: HttpClient) -> None:
    for _ in range(3):
        assert client.get(server.url("/big")).body == BIG
    with client.stream("GET", server.url("/big")) as stream:
        assert b"".join(stream) == BIG
    assert client.post(server.url("/echo"), body=b"z" * 3_000_000).body.endswith(b"z" * 1000)
    assert len(server.connections) == 1
    assert client.statistics().connections_reused == 4


def test_chunked_with_trailers(server: Server, client: HttpClient) -> None:
    resp = client.get(server.url("/chunked"))
    assert resp.body == b"alpha beta gamma"
    assert resp.trailers.get("x-checksum") == "abc"


def test_read_until_close(server: Server, client: HttpClient) -> None:
    resp = client.get(server.url("/until-close"))
    assert resp.body == b"read me until the end"
    assert client.get(server.url("/until-close")).status == 200
    assert len(server.connections) == 2
