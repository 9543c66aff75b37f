"""Closing and flow control: nothing after our close frame, deadlines that hold, bursts,
and the connection's timeouts once it is no longer HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import Any

import pytest

from sws_core import Op
from sws_ws import Server, WebSocket

pytestmark = pytest.mark.integration

WAIT_S = 10.0
MIB = 1 << 20


def app_with(record: Any, **options: Any) -> Server:
    app = Server(**options)

    @app.ws("/room")
    class Room:
        def on_open(self, ws: WebSocket) -> None:
            ws.subscribe("room")
            record.add("open", ws)

        def on_message(self, ws: WebSocket, message: str | bytes) -> None:
            if message == "burst":
                for _ in range(4):
                    ws.send(b"x" * MIB)
            elif message == "close me":
                ws.close(4000, "bye")

        def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
            record.add("close", code, reason)

    @app.ws("/push")
    def push(ws: WebSocket) -> Generator[Op, Any, None]:
        record.add("fiber", ws)
        message = yield from ws.receive()  # takes one message, then falls behind
        record.add("got", message)
        yield from record_event(record).wait()
        raise RuntimeError("the push fiber gives up")

    return app


def record_event(record: Any) -> Any:
    from sws_core import Event

    if not hasattr(record, "gate"):
        record.gate = Event()
    return record.gate


def test_publish_after_close_sends_nothing_behind_the_close_frame(
    serve: Callable[..., Any], record: Any, raw: Any
) -> None:
    app = app_with(record)
    served = serve(app)
    client = raw.connect(served.port)
    client.handshake("/room")
    [(ws,)] = record.wait("open")

    def close_then_publish() -> int:
        ws.close(4001, "going")
        return app.publish("room", "after the close")

    assert served.call(close_then_publish) == 1  # still subscribed until the close completes
    frame = client.read_frame()
    assert frame.opcode == 8
    assert frame.close_code == 4001
    client.send_frame(8, frame.payload)  # our reply completes the handshake
    assert client.closed_by_peer()


def test_a_burst_over_the_loop_write_limit_reaches_a_reading_peer(
    serve: Callable[..., Any], record: Any, ws_clients: Any
) -> None:
    app = app_with(record, max_message_bytes=8 * MIB, max_frame_bytes=8 * MIB)
    served = serve(app)  # the loop's own write limit stays at its 1 MiB default
    client = ws_clients.connect(served.url("/room"), max_size=8 * MIB, compression=None)
    client.send("burst")
    got = [client.recv(WAIT_S) for _ in range(4)]
    assert [len(m) for m in got] == [MIB] * 4
    assert not record.of("close")


def test_an_upgraded_connection_does_not_keep_the_http_idle_timeout(
    serve: Callable[..., Any], record: Any, ws_clients: Any
) -> None:
    app = app_with(record, keep_alive_timeout_s=2.0, ping_interval_s=30.0)
    served = serve(app)
    ws_clients.connect(served.url("/room"))
    [(ws,)] = record.wait("open")
    assert served.call(lambda: ws.conn.idle_timeout_s) == float("inf")


def test_the_close_deadline_holds_against_a_peer_that_keeps_talking(
    serve: Callable[..., Any], record: Any, raw: Any
) -> None:
    app = app_with(record, close_timeout_s=0.3)
    served = serve(app)
    client = raw.connect(served.port)
    client.handshake("/room")
    client.send_frame(1, b"close me")
    assert client.read_frame().close_code == 4000
    stop = threading.Event()

    def chatter() -> None:  # never answers the close, keeps sending
        while not stop.is_set():
            try:
                client.send_frame(1, b"still here")
            except OSError:
                return
            stop.wait(0.02)

    talker = threading.Thread(target=chatter)
    talker.start()
    try:
        assert record.wait("close")[0][0] in (4000, 1006)
        served.wait_until(lambda: served.loop.statistics().slots_live == 0, "the close")
    finally:
        stop.set()
        talker.join(WAIT_S)


def test_a_failing_fiber_with_a_full_inbox_still_completes_the_close(
    serve: Callable[..., Any], record: Any, raw: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_with(record)
    served = serve(app)
    client = raw.connect(served.port)
    client.handshake("/push")
    record.wait("fiber")
    client.send_frames(*[(1, b"m%d" % i) for i in range(100)])  # the inbox fills: paused
    record.wait("got")
    served.call(lambda: record_event(record).set())  # the fiber raises
    close = client.read_until_close()
    assert close.close_code == 1011
    client.send_frame(8, close.payload)  # read at once: reading resumed for the close
    assert client.closed_by_peer()
    served.wait_until(lambda: served.loop.statistics().slots_live == 0, "the close")


def test_misuse_raises_in_the_calling_thread(
    serve: Callable[..., Any], record: Any, ws_clients: Any
) -> None:
    app = app_with(record)
    served = serve(app)
    ws_clients.connect(served.url("/room"))
    [(ws,)] = record.wait("open")
    with pytest.raises(TypeError):
        ws.send(42)
    with pytest.raises(ValueError, match="125"):
        ws.ping(b"x" * 126)
    with pytest.raises(ValueError):
        ws.close(1005)
