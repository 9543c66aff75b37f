"""One connection, many requests: keep-alive, close, pipelining in order, input split
byte by byte, request bodies (Content-Length, chunked, 100-continue), half-close."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Generator
from typing import Any

import h11
import pytest

from sws_core import Op
from sws_http import Context

pytestmark = pytest.mark.integration


def get(path: str, *extra: str, version: str = "1.1") -> bytes:
    lines = [f"GET {path} HTTP/{version}", "Host: test", *extra, "", ""]
    return "\r\n".join(lines).encode("latin-1")


# --- keep-alive and close ---------------------------------------------------------------------


def test_keep_alive_serves_several_requests(port: int, clients: Any) -> None:
    c = clients.connect(port)
    for i in range(5):
        r = c.request(get(f"/seq/{i}"))
        assert (r.status, r.body) == (200, f"seq {i}".encode())
        assert r.header("connection") is None  # HTTP/1.1: persistent by default
    r = c.request(get("/slowseq/9"))
    assert r.body == b"slow 9"
    r = c.request(get("/nope"))
    assert r.status == 404  # a 404 does not close the connection
    assert c.request(get("/")).body == b"root"


def test_http_10_without_keep_alive_closes(port: int, clients: Any) -> None:
    c = clients.connect(port)
    c.send(b"GET /seq/1 HTTP/1.0\r\n\r\n")
    r = c.read_response()
    assert (r.status, r.body) == (200, b"seq 1")
    assert r.header("connection") == "close"
    assert c.closed_by_peer()


def test_http_10_with_keep_alive_stays_open(port: int, clients: Any) -> None:
    c = clients.connect(port)
    for i in range(3):
        r = c.request(get(f"/seq/{i}", "Connection: keep-alive", version="1.0"))
        assert (r.status, r.body) == (200, f"seq {i}".encode())
        assert r.header("connection") == "keep-alive"
    r = c.request(get("/", version="1.0"))  # the last one does not ask: closed after it
    assert r.body == b"root"
    assert c.closed_by_peer()


def test_connection_close_closes_after_the_response(port: int, clients: Any) -> None:
    c = clients.connect(port)
    assert c.request(get("/seq/1")).body == b"seq 1"
    r = c.request(get("/seq/2", "Connection: close"))
    assert (r.status, r.body) == (200, b"seq 2")
    assert r.header("connection") == "close"
    assert c.closed_by_peer()


def test_connection_close_drops_later_pipelined_requests(port: int, clients: Any) -> None:
    c = clients.connect(port)
    c.send(get("/seq/1", "Connection: close") + get("/seq/2"))
    r = c.read_response()
    assert r.body == b"seq 1"
    assert c.closed_by_peer()


def test_connection_close_with_a_body_larger_than_the_socket_takes_at_once(
    serve: Any, clients: Any
) -> None:
    from sws_http import Server

    app = Server()
    body = bytes(range(256)) * 4096  # 1 MiB: the socket takes only part of it at once

    @app.get("/big")
    def big(ctx: Context) -> None:
        ctx.bytes(body)

    c = clients.connect(serve(app).port)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # a small window
    r = c.request(get("/big", "Connection: close"))
    assert r.body == body
    assert c.closed_by_peer()


# --- pipelining -------------------------------------------------------------------------------


def test_twenty_pipelined_requests_answered_in_order(port: int, clients: Any) -> None:
    c = clients.connect(port)
    c.send(b"".join(get(f"/seq/{i}") for i in range(20)))
    bodies = [c.read_response().body for _ in range(20)]
    assert bodies == [f"seq {i}".encode() for i in range(20)]
    assert c.request(get("/")).body == b"root"  # still open


def test_pipelined_mix_with_fiber_handlers_keeps_order(port: int, clients: Any) -> None:
    c = clients.connect(port)
    paths = []
    for i in range(20):
        kind = "slowseq" if i in (3, 4, 10, 19) else "seq"
        paths.append((kind, i))
    extra = [
        get("/async?q=mid"),
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc",
        get("/nothing"),
    ]
    c.send(
        b"".join(get(f"/{k}/{i}") for k, i in paths[:10])
        + b"".join(extra)
        + b"".join(get(f"/{k}/{i}") for k, i in paths[10:])
    )
    for k, i in paths[:10]:
        assert c.read_response().body == (b"slow %d" if k == "slowseq" else b"seq %d") % i
    assert json.loads(c.read_response().body) == {"async": True, "q": "mid"}
    assert json.loads(c.read_response().body)["body"] == "abc"
    assert c.read_response().status == 204
    for k, i in paths[10:]:
        assert c.read_response().body == (b"slow %d" if k == "slowseq" else b"seq %d") % i


def test_pipelined_answers_are_not_held_behind_a_partial_request(port: int, clients: Any) -> None:
    # Answers to a batch of pipelined requests go out together, but never wait for the
    # next request to finish arriving.
    c = clients.connect(port)
    c.send(get("/seq/1") + get("/seq/2") + b"GET /seq/3 HTTP/1.1\r\nHo")
    assert [c.read_response().body for _ in range(2)] == [b"seq 1", b"seq 2"]
    c.send(b"st: t\r\n\r\n")
    assert c.read_response().body == b"seq 3"


def test_pipelined_answers_come_before_the_error_for_a_bad_request(port: int, clients: Any) -> None:
    c = clients.connect(port)
    c.send(get("/seq/1") + get("/seq/2") + b"GET / HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n")
    assert [c.read_response().body for _ in range(2)] == [b"seq 1", b"seq 2"]
    assert c.read_response().status == 400
    assert c.closed_by_peer()


def test_pipelined_streams_and_continues_keep_their_place(
    serve: Callable[..., Any], make_app: Callable[..., Any], clients: Any
) -> None:
    app = make_app()

    @app.get("/stream")
    def stream(ctx: Context) -> Generator[Op, Any, None]:
        out = ctx.stream(content_type="text/plain")
        yield from out.write(b"s1")
        yield from out.write(b"s2")

    @app.get("/sync-stream")
    def sync_stream(ctx: Context) -> None:
        ctx.stream(content_type="text/plain")  # the head at once, the end on return

    port = serve(app).port
    c = clients.connect(port)
    continued = (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok"
    )
    c.send(
        get("/seq/1")
        + get("/stream")
        + get("/seq/2")
        + get("/sync-stream")
        + get("/seq/3")
        + continued
        + get("/seq/4")
    )
    assert c.read_response().body == b"seq 1"
    head = c.read_head()
    assert head.header("transfer-encoding") == "chunked"
    while b"0\r\n\r\n" not in c.buf:
        c._fill()
    body, _, c.buf = c.buf.partition(b"0\r\n\r\n")
    assert body == b"2\r\ns1\r\n2\r\ns2\r\n"
    assert c.read_response().body == b"seq 2"
    assert c.read_head().header("transfer-encoding") == "chunked"
    while b"0\r\n\r\n" not in c.buf:
        c._fill()
    assert c.buf.startswith(b"0\r\n\r\n")
    c.buf = c.buf[5:]
    assert c.read_response().body == b"seq 3"
    assert c.read_head().status == 100
    assert json.loads(c.read_response().body)["body"] == "ok"
    assert c.read_response().body == b"seq 4"


def test_pipelined_head_and_get_keep_framing(port: int, clients: Any) -> None:
    c = clients.connect(port)
    c.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get("/seq/5"))
    head = c.read_response(head_request=True)
    assert (head.status, head.header("content-length"), head.body) == (200, "4", b"")
    assert c.read_response().body == b"seq 5"  # the HEAD sent no body bytes


# --- partial writes ---------------------------------------------------------------------------


def test_request_sent_byte_by_byte(port: int, clients: Any) -> None:
    c = clients.connect(port)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data = b"POST /echo?k=v HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" + get("/")
    for i in range(len(data)):
        c.send(data[i : i + 1])
    r = c.read_response()
    assert json.loads(r.body)["body"] == "hello"
    assert c.read_response().body == b"root"


# --- request bodies ---------------------------------------------------------------------------


def test_content_length_body(port: int, clients: Any) -> None:
    c = clients.connect(port)
    body = bytes(range(256)) * 400  # 100 KiB, every byte value
    r = c.request(
        b"PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/x\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    got = json.loads(r.body)
    assert got["body"].encode("latin-1") == body
    assert got["content_type"] == "application/x"


def test_chunked_body_from_h11(port: int, clients: Any) -> None:
    h = h11.Connection(h11.CLIENT)
    data = h.send(
        h11.Request(
            method="POST", target="/echo", headers=[("Host", "t"), ("Transfer-Encoding", "chunked")]
        )
    )
    for part in (b"first,", b"second,", b"x" * 5000):
        data += h.send(h11.Data(data=part))
    data += h.send(h11.EndOfMessage())
    c = clients.connect(port)
    c.send(data)
    h.receive_data(c.sock.recv(65536))
    events = []
    while True:
        event = h.next_event()
        if event is h11.NEED_DATA:
            h.receive_data(c.sock.recv(65536))
            continue
        events.append(event)
        if isinstance(event, h11.EndOfMessage):
            break
    response = events[0]
    assert isinstance(response, h11.Response)
    assert response.status_code == 200
    body = b"".join(e.data for e in events if isinstance(e, h11.Data))
    assert json.loads(body)["body"] == "first,second," + "x" * 5000


def test_hand_written_chunked_body_with_extensions_and_trailers(port: int, clients: Any) -> None:
    c = clients.connect(port)
    r = c.request(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b"1\r\n \r\n"
        b"A\r\n0123456789\r\n"
        b"0\r\nX-Trailer: yes\r\n\r\n"
    )
    assert json.loads(r.body)["body"] == "hello 0123456789"
    assert c.request(get("/")).body == b"root"  # framing intact for the next request


def test_expect_100_continue(port: int, clients: Any) -> None:
    c = clients.connect(port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    interim = c.read_head()
    assert interim.raw_head == b"HTTP/1.1 100 Continue"
    assert c.buf == b""  # nothing else before the body was sent
    c.send(b"body")
    r = c.read_response()
    assert (r.status, json.loads(r.body)["body"]) == (200, "body")


def test_expect_100_continue_chunked(port: int, clients: Any) -> None:
    c = clients.connect(port)
    c.send(
        b"PUT /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
        b"Expect: 100-continue\r\n\r\n"
    )
    assert c.read_head().status == 100
    c.send(b"3\r\nabc\r\n0\r\n\r\n")
    assert json.loads(c.read_response().body)["body"] == "abc"


def test_half_close_after_a_request_is_still_answered(port: int, clients: Any) -> None:
    c = clients.connect(port)
    c.send(get("/seq/1"))
    c.sock.shutdown(socket.SHUT_WR)
    r = c.read_response()
    assert r.body == b"seq 1"
    assert c.closed_by_peer()


def test_half_close_during_a_fiber_handler_closes_after_the_response(
    port: int, clients: Any
) -> None:
    c = clients.connect(port, timeout=2.0)
    c.send(get("/slowseq/1"))
    c.sock.shutdown(socket.SHUT_WR)  # the FIN arrives while the handler sleeps
    r = c.read_response()
    assert r.body == b"slow 1"
    assert c.closed_by_peer()  # expected b"" at once; observed: recv times out
