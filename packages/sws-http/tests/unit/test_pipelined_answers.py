"""`HttpProtocol` over a recording stand-in for the connection: how the answers to a batch
of pipelined requests are written (joined, in order, and never more than a bounded amount
held back), how repeated requests are answered, and the Date their answers carry."""

from __future__ import annotations

import re

import pytest
from sws_http_testing import RecordingConn, connect  # loaded by ../conftest.py

import sws_http._server
from sws_http import Context, Server
from sws_http._protocol import _MAX_HELD_BYTES


def app_with(size: int) -> Server:
    app = Server()

    @app.get("/n/{i}")
    def numbered(ctx: Context) -> None:
        ctx.bytes(ctx.params["i"].encode().rjust(size, b"."))

    return app


def serve_batch(app: Server, count: int) -> RecordingConn:
    conn, protocol = connect(app)
    protocol.data_received(
        b"".join(b"GET /n/%d HTTP/1.1\r\nHost: t\r\n\r\n" % i for i in range(count))
    )
    return conn


def bodies(writes: list[bytes], size: int) -> list[bytes]:
    stream = b"".join(writes)
    out = []
    while stream:
        head, _, stream = stream.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        out.append(stream[:size].lstrip(b"."))
        stream = stream[size:]
    return out


def test_small_answers_to_a_batch_go_out_in_one_write() -> None:
    conn = serve_batch(app_with(10), 20)
    assert len(conn.writes) == 1
    assert bodies(conn.writes, 10) == [b"%d" % i for i in range(20)]


def test_large_answers_are_not_all_held_back() -> None:
    size = 100 << 10  # each answer alone is over what may be held
    conn = serve_batch(app_with(size), 30)
    assert len(conn.writes) == 30
    assert bodies(conn.writes, size) == [b"%d" % i for i in range(30)]


def test_held_answers_stay_under_the_bound() -> None:
    size = 10 << 10
    conn = serve_batch(app_with(size), 60)
    assert 1 < len(conn.writes) < 60
    assert all(len(w) <= _MAX_HELD_BYTES + size + 200 for w in conn.writes)
    assert bodies(conn.writes, size) == [b"%d" % i for i in range(60)]


# --- repeated requests --------------------------------------------------------------------------

HELLO = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"


def hello_app() -> Server:
    app = Server()

    @app.get("/hello")
    def hello(ctx: Context) -> None:
        ctx.text("hello")

    return app


def test_a_repeated_request_gets_the_same_answer_each_time() -> None:
    conn, protocol = connect(hello_app())
    for _ in range(5):  # the first parsed in full, the rest recognised whole
        protocol.data_received(HELLO)
    assert len(conn.writes) == 5
    assert len(set(conn.writes)) == 1
    assert conn.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert conn.writes[0].endswith(b"\r\n\r\nhello")
    assert not conn.closed


def test_a_repeat_after_the_start_of_another_request_continues_that_request() -> None:
    conn, protocol = connect(hello_app())
    protocol.data_received(HELLO)  # answered, and remembered whole
    protocol.data_received(HELLO[:10])  # the start of a request: buffered
    protocol.data_received(HELLO)  # the same bytes again, but they follow that start
    assert len(conn.writes) == 2
    assert conn.writes[1].startswith(b"HTTP/1.1 400 ")
    assert conn.closed


def test_a_repeat_after_bytes_that_waited_behind_a_handler_continues_them() -> None:
    conn, protocol = connect(hello_app())
    protocol.data_received(HELLO)
    protocol._busy = True  # as if a streamed answer were still going out
    protocol.data_received(HELLO[:10])  # waits behind it
    protocol._finish(True)  # the stream ends: the waiting bytes are read, and wait for more
    assert len(conn.writes) == 1
    protocol.data_received(HELLO)
    assert len(conn.writes) == 2
    assert conn.writes[1].startswith(b"HTTP/1.1 400 ")


def test_repeated_pipelined_requests_get_one_write_in_order() -> None:
    app = app_with(4)
    conn, protocol = connect(app)
    batch = b"".join(b"GET /n/%d HTTP/1.1\r\nHost: t\r\n\r\n" % (i % 3) for i in range(12))
    protocol.data_received(batch)
    protocol.data_received(batch)  # now every head is remembered
    assert len(conn.writes) == 2
    assert conn.writes[0] == conn.writes[1]
    assert bodies(conn.writes, 4) == [b"%d" % (i % 3) for i in range(12)] * 2


def test_a_graceful_stop_closes_after_the_next_answer() -> None:
    conn, protocol = connect(hello_app())
    protocol.data_received(HELLO)
    protocol.data_received(HELLO)
    protocol.shutdown_requested()  # idle between requests: closes now
    assert conn.closed
    conn, protocol = connect(hello_app())
    protocol.data_received(HELLO)
    protocol._busy = True  # as if a handler were still running: the close waits for it
    protocol.shutdown_requested()
    assert not conn.closed
    protocol._busy = False
    protocol.data_received(HELLO)
    assert b"connection: close" in conn.writes[-1].lower()
    assert conn.closed


def test_answers_carry_the_current_date(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_800_000_000.25]
    monkeypatch.setattr(sws_http._server.time, "time", lambda: clock[0])
    conn, protocol = connect(hello_app())
    dates = []
    for step in (0.0, 0.5, 0.3, 1.0):  # the same second twice, then the next two
        clock[0] += step
        protocol.data_received(HELLO)
        found = re.search(rb"\r\ndate: ([^\r]+)\r\n", conn.writes[-1], re.IGNORECASE)
        assert found is not None
        dates.append(found.group(1))
    assert dates[0] == dates[1]
    assert len(set(dates)) == 3
    assert dates[-1] == b"Fri, 15 Jan 2027 08:00:02 GMT"


def test_requests_waiting_behind_a_long_handler_get_the_date_they_are_answered_at(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1_800_000_000.25]
    monkeypatch.setattr(sws_http._server.time, "time", lambda: clock[0])
    conn, protocol = connect(hello_app())
    protocol.data_received(HELLO)  # its head is now remembered for this second
    protocol._busy = True  # as if a streamed answer were still going out
    protocol.data_received(HELLO)  # waits behind it
    clock[0] += 5.0
    protocol._finish(True)  # the stream ends: the waiting request is answered now
    assert len(conn.writes) == 2
    assert b"Fri, 15 Jan 2027 08:00:05 GMT" in conn.writes[1]


def test_the_date_follows_a_clock_set_back(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [2000.5]
    monkeypatch.setattr(sws_http._server.time, "time", lambda: clock[0])
    app = Server()
    assert app.date() == b"Thu, 01 Jan 1970 00:33:20 GMT"
    clock[0] = 1500.0
    assert app.date() == b"Thu, 01 Jan 1970 00:25:00 GMT"
