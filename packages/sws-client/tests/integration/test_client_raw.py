"""HttpClient against scripted raw-socket servers: framing, broken servers, timeouts, retries.

Each test's `handler(conn, index)` plays the server for one accepted connection (`index`
counts connections from 1), so the bytes on the wire and the moment the server closes are
exactly what the test says. Waits are bounded by events, never by sleeping.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from sws_client import (
    ConnectError,
    ConnectTimeoutError,
    HttpClient,
    HttpTimeoutError,
    NetworkError,
    ProtocolError,
    ReadTimeoutError,
    RequestTimeoutError,
    ResponseTooLargeError,
    Timeout,
)

WAIT_S = 10.0
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def answer_each(*responses: bytes, close: bool = True) -> Callable[[Any, int], None]:
    """A handler answering the n-th request of a connection with responses[n]."""

    def handler(conn: Any, index: int) -> None:
        for response in responses:
            if conn.read_request() is None:
                return
            conn.send(response)
        if not close:
            conn.read_request()  # hold the connection until the client closes it

    return handler


@pytest.fixture
def client(http_client: Callable[..., HttpClient]) -> HttpClient:
    return http_client(read_timeout_s=5.0, timeout_s=10.0)


# --- framing -------------------------------------------------------------------------------------


def test_chunked_body_with_trailers(raw_server: Callable[..., Any], client: HttpClient) -> None:
    response = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
        b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Sum: 42\r\nX-Other: a\r\n\r\n"
    )
    server = raw_server(answer_each(response, response, close=False))
    resp = client.get(server.url())
    assert resp.body == b"hello, world"
    assert resp.trailers.get("x-sum") == "42"
    assert resp.trailers.get_all("X-Other") == ["a"]
    with client.stream("GET", server.url()) as stream:
        assert b"".join(stream) == b"hello, world"
        assert stream.trailers.get("x-sum") == "42"
    assert server.accepted == 1  # the chunked framing left the connection reusable


def test_informational_responses_are_skipped(
    raw_server: Callable[..., Any], client: HttpClient
) -> None:
    server = raw_server(
        answer_each(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + OK
        )
    )
    resp = client.get(server.url())
    assert (resp.status, resp.body) == (200, b"ok")


def test_read_until_close(raw_server: Callable[..., Any], client: HttpClient) -> None:
    body = b"x" * 100_000
    server = raw_server(answer_each(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + body))
    resp = client.get(server.url())
    assert resp.body == body
    assert client.get(server.url()).body == body
    assert server.accepted == 2  # a close-delimited body ends its connection
    assert client.statistics().idle == 0


def test_http_10_response_without_keep_alive(
    raw_server: Callable[..., Any], client: HttpClient
) -> None:
    server = raw_server(answer_each(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold"))
    resp = client.get(server.url())
    assert (resp.http_version, resp.body) == ("1.0", b"old")
    client.get(server.url())
    assert server.accepted == 2


def test_head_and_304_have_no_body_whatever_their_fields_say(
    raw_server: Callable[..., Any], client: HttpClient
) -> None:
    server = raw_server(
        answer_each(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 1000\r\n\r\n",
            OK,
            close=False,
        )
    )
    head = client.head(server.url())
    assert (head.status, head.body, head.headers.get("content-length")) == (200, b"", "1000")
    assert client.get(server.url()).status == 304
    assert client.get(server.url()).body == b"ok"
    assert server.accepted == 1


def test_stray_bytes_after_a_response_stop_reuse(
    raw_server: Callable[..., Any], client: HttpClient
) -> None:
    server = raw_server(answer_each(OK + b"JUNK", close=False))
    assert client.get(server.url()).body == b"ok"
    assert client.get(server.url()).body == b"ok"
    assert server.accepted == 2


def test_connection_close_from_the_server_stops_reuse(
    raw_server: Callable[..., Any], client: HttpClient
) -> None:
    server = raw_server(
        answer_each(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
    )
    client.get(server.url())
    client.get(server.url())
    assert server.accepted == 2


def test_connection_close_asked_by_the_caller(
    raw_server: Callable[..., Any], client: HttpClient
) -> None:
    seen: list[bytes] = []

    def handler(conn: Any, index: int) -> None:  # would keep the connection open
        while (request := conn.read_request()) is not None:
            seen.append(request)
            conn.send(OK)

    server = raw_server(handler)
    client.get(server.url(), headers={"Connection": "close"})
    client.get(server.url(), headers={"Connection": "close"})
    assert all(b"\r\nconnection: close\r\n" in request.lower() for request in seen)
    assert server.accepted == 2  # RFC 9112 §9.6: no second request after "close"
    assert client.statistics().idle == 0


@pytest.mark.parametrize(
    "response",
    [
        b"HELLO WORLD\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n folded: x\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # then the server closes
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
)
def test_malformed_responses_raise_protocol_error(
    raw_server: Callable[..., Any], client: HttpClient, response: bytes
) -> None:
    server = raw_server(answer_each(response))
    with pytest.raises(ProtocolError) as info:
        client.get(server.url())
    assert str(info.value).startswith(("malformed response", "101 Switching"))
    assert client.get(raw_server(answer_each(OK)).url()).body == b"ok"  # the client goes on


def test_eof_without_a_response_is_a_network_error(
    raw_server: Callable[..., Any], client: HttpClient
) -> None:
    server = raw_server(answer_each(b""))
    with pytest.raises(NetworkError, match="without responding"):
        client.get(server.url())


def test_announced_body_over_the_limit_is_refused_before_reading(
    raw_server: Callable[..., Any], http_client: Callable[..., HttpClient]
) -> None:
    client = http_client(max_body_bytes=1000)
    server = raw_server(answer_each(b"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n"))
    with pytest.raises(ResponseTooLargeError, match="5000000 bytes exceeds 1000"):
        client.get(server.url())
    chunked = raw_server(
        answer_each(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + b"a" * 2048)
    )
    with pytest.raises(ResponseTooLargeError, match="exceeds 1000 bytes"):
        client.get(chunked.url())


# --- stale keep-alive connections ----------------------------------------------------------------


def close_on_second_request(conn: Any, index: int) -> None:
    """Connection 1 answers once, then reads the next request and closes unanswered (the
    server's keep-alive timeout racing the client's reuse); later connections answer."""
    conn.read_request()
    conn.send(OK)
    if index == 1:
        conn.read_request()
        return
    while conn.read_request() is not None:
        conn.send(OK)


def test_idempotent_request_on_a_stale_connection_is_retried(
    raw_server: Callable[..., Any], client: HttpClient
) -> None:
    server = raw_server(close_on_second_request)
    client.get(server.url())
    resp = client.get(server.url())
    assert resp.body == b"ok"
    stats = client.statistics()
    assert (stats.retries, stats.connections_reused, server.accepted) == (1, 1, 2)


def test_post_on_a_stale_connection_is_not_retried(
    raw_server: Callable[..., Any], client: HttpClient
) -> None:
    server = raw_server(close_on_second_request)
    client.get(server.url())
    with pytest.raises(NetworkError, match="without responding"):
        client.post(server.url(), body=b"pay once")
    assert client.statistics().retries == 0
    assert server.accepted == 1


def test_an_idle_connection_closed_by_the_server_is_discarded(
    raw_server: Callable[..., Any], client: HttpClient
) -> None:
    closed = threading.Event()

    def handler(conn: Any, index: int) -> None:
        conn.read_request()
        conn.send(OK)  # keep-alive by HTTP/1.1 rules, then close at once
        if index == 1:
            conn.sock.shutdown(socket.SHUT_RDWR)
            closed.set()
            return
        conn.read_request()

    server = raw_server(handler)
    client.get(server.url())
    assert closed.wait(WAIT_S)
    deadline = threading.Event()
    for _ in range(1000):  # the EOF reaches the pool within a loop turn or two
        if client.statistics().idle == 0:
            break
        deadline.wait(0.01)
    assert client.statistics().idle == 0
    assert client.get(server.url()).body == b"ok"
    assert client.statistics().retries == 0
    assert server.accepted == 2


# --- timeouts ------------------------------------------------------------------------------------


@pytest.fixture
def release() -> Any:
    event = threading.Event()
    yield event
    event.set()


def test_a_server_that_never_answers_is_a_read_timeout(
    raw_server: Callable[..., Any], http_client: Callable[..., HttpClient], release: Any
) -> None:
    def silent(conn: Any, index: int) -> None:
        conn.read_request()
        release.wait(WAIT_S)

    client = http_client(read_timeout_s=0.1)
    with pytest.raises(ReadTimeoutError) as info:
        client.get(raw_server(silent).url())
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value, HttpTimeoutError)


def test_a_server_that_reads_nothing_is_a_read_timeout(
    raw_server: Callable[..., Any], http_client: Callable[..., HttpClient], release: Any
) -> None:
    def deaf(conn: Any, index: int) -> None:
        release.wait(WAIT_S)

    client = http_client(read_timeout_s=0.2)
    with pytest.raises(ReadTimeoutError):
        client.post(raw_server(deaf).url(), body=b"x" * (48 << 20))


def test_total_timeout_bounds_a_trickling_server(
    raw_server: Callable[..., Any], http_client: Callable[..., HttpClient], release: Any
) -> None:
    def trickle(conn: Any, index: int) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        while not release.wait(0.02):
            conn.send(b"x")

    client = http_client(read_timeout_s=5.0)
    with pytest.raises(RequestTimeoutError):
        client.get(raw_server(trickle).url(), timeout=0.2)
    with pytest.raises(RequestTimeoutError):
        client.get(raw_server(trickle).url(), timeout=Timeout(read_s=5.0, total_s=0.2))


def test_connect_to_a_closed_port_is_a_connect_error(client: HttpClient) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with pytest.raises(ConnectError, match="refused") as info:
        client.get(f"http://127.0.0.1:{port}/")
    assert not isinstance(info.value, TimeoutError)


def test_connect_timeout(http_client: Callable[..., HttpClient]) -> None:
    # A listener with a full accept queue drops further SYNs: connects hang until a timeout.
    listener = socket.socket()
    filler = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        filler.connect(("127.0.0.1", port))
        client = http_client(connect_timeout_s=0.1)
        with pytest.raises(ConnectTimeoutError) as info:
            client.get(f"http://127.0.0.1:{port}/")
        assert isinstance(info.value, ConnectError)
        assert isinstance(info.value, TimeoutError)
        with pytest.raises(RequestTimeoutError):
            client.get(f"http://127.0.0.1:{port}/", timeout=Timeout(connect_s=5.0, total_s=0.1))
    finally:
        filler.close()
        listener.close()
