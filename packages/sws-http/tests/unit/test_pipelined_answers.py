"""`HttpProtocol` over a recording stand-in for the connection: how the answers to a batch
of pipelined requests are written (joined, in order, and never more than a bounded amount
held back)."""

from __future__ import annotations

from typing import Any

from sws_http import Context, Server
from sws_http._protocol import _MAX_HELD_BYTES, HttpProtocol


class FakeLoop:
    now = 0.0
    stopping = False


class FakeConn:
    """What HttpProtocol uses of a Conn; `writes` records every write."""

    state = 0  # OPEN
    peer = ("127.0.0.1", 1)
    idle_timeout_s: float | None = None

    def __init__(self) -> None:
        self.loop = FakeLoop()
        self.writes: list[bytes] = []
        self.protocol: Any = None
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True
        self.state = 1


def app_with(size: int) -> Server:
    app = Server()

    @app.get("/n/{i}")
    def numbered(ctx: Context) -> None:
        ctx.bytes(ctx.params["i"].encode().rjust(size, b"."))

    return app


def serve_batch(app: Server, count: int) -> FakeConn:
    conn = FakeConn()
    protocol = HttpProtocol(app, conn)  # type: ignore[arg-type]
    conn.protocol = protocol
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
