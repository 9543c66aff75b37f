"""Server pings and stopping: a peer that never answers pings is closed, one that answers
stays; a graceful stop closes every WebSocket with 1001 (going away)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosedOK

from sws_core import Op
from sws_ws import Server, WebSocket

pytestmark = pytest.mark.integration

WAIT_S = 10.0
JOIN_S = 20.0
# Small enough to see both a ping and its timeout in a few liveness checks, which run at
# most once a second (`Server._check_liveness`).
PING_INTERVAL_S = 0.2
PING_TIMEOUT_S = 0.3


def build_app(record: Any, **options: Any) -> Server:
    app = Server(**options)

    @app.ws("/echo")
    class Echo:
        def on_open(self, ws: WebSocket) -> None:
            record.add("open", ws.path)

        def on_message(self, ws: WebSocket, message: str | bytes) -> None:
            if message == "close me":
                ws.close(4003, "bye")
            else:
                ws.send(message)

        def on_pong(self, ws: WebSocket, data: bytes) -> None:
            record.add("pong", ws.client[1], data)

        def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
            record.add("close", code, reason)

    @app.ws("/fiber")
    def fiber(ws: WebSocket) -> Generator[Op, Any, None]:
        record.add("open", ws.path)
        while (message := (yield from ws.receive())) is not None:
            ws.send(message)
        record.add("fiber-end", ws.close_code)

    return app


# --- server pings -------------------------------------------------------------------------------


@pytest.fixture
def pinging(serve: Callable[..., Any], record: Any) -> Any:
    return serve(build_app(record, ping_interval_s=PING_INTERVAL_S, ping_timeout_s=PING_TIMEOUT_S))


def test_a_peer_that_never_answers_pings_is_closed(pinging: Any, raw: Any, record: Any) -> None:
    client = raw.connect(pinging.port)
    client.handshake()
    ping = client.read_frame()
    assert ping.opcode == 0x9  # a liveness ping; left unanswered
    close = client.read_until_close()
    assert close.close_code == 1011
    assert client.closed_by_peer()
    [(code, reason)] = record.wait("close")
    assert code == 1006  # no closing handshake took place
    assert "ping" in reason


def test_peers_that_answer_pings_stay_connected(
    pinging: Any, ws_clients: Any, raw: Any, record: Any
) -> None:
    auto = ws_clients.connect(pinging.url("/echo"))  # websockets answers pings itself
    by_hand = raw.connect(pinging.port)
    by_hand.handshake()
    ports = {auto.local_address[1], by_hand.sock.getsockname()[1]}
    for _ in range(2):  # two liveness pings, each answered
        ping = by_hand.read_frame()
        assert ping.opcode == 0x9
        by_hand.send_frame(0xA, ping.payload)
    record.wait("pong", 4)
    assert {port for port, _ in record.of("pong")} == ports
    auto.send("still here")
    assert auto.recv(WAIT_S) == "still here"
    by_hand.send_frame(0x1, b"still here")
    frame = by_hand.read_frame()
    assert (frame.opcode, frame.payload) == (0x1, b"still here")
    assert not record.of("close")


def test_a_peer_that_never_answers_our_close_is_dropped(
    serve: Callable[..., Any], record: Any, raw: Any
) -> None:
    served = serve(build_app(record, close_timeout_s=0.2))
    client = raw.connect(served.port)
    client.handshake()
    client.send_frame(0x1, b"close me")
    assert client.read_frame().close_code == 4003
    assert client.closed_by_peer()  # after close_timeout_s, without our reply
    assert record.wait("close") == [(1006, "")]  # no closing handshake took place


# --- a graceful stop ----------------------------------------------------------------------------


def test_stopping_the_loop_closes_open_websockets_with_1001(
    serve: Callable[..., Any], record: Any, ws_clients: Any
) -> None:
    served = serve(build_app(record))
    callbacks = ws_clients.connect(served.url("/echo"))
    fiber = ws_clients.connect(served.url("/fiber"))
    record.wait("open", 2)
    served.loop.stop()
    for client in (callbacks, fiber):
        with pytest.raises(ConnectionClosedOK) as info:
            client.recv(WAIT_S)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1001
    served.thread.join(JOIN_S)
    assert not served.thread.is_alive()
    assert record.of("close") == [(1001, "server shutting down")]  # the client's echo
    assert record.of("fiber-end") == [(1001,)]


def test_a_stop_finishes_when_a_peer_never_answers_the_close(
    serve: Callable[..., Any], record: Any, raw: Any
) -> None:
    served = serve(build_app(record, close_timeout_s=0.2))
    client = raw.connect(served.port)
    client.handshake()
    record.wait("open")
    served.loop.stop()
    close = client.read_until_close()
    assert close.close_code == 1001
    assert client.closed_by_peer()  # after close_timeout_s, not the whole grace period
    served.thread.join(JOIN_S)
    assert not served.thread.is_alive()
