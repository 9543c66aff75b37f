"""Handler kinds on a real loop: a callbacks class (one instance per connection), a shared
callbacks object, a generator fiber, an `async def` fiber; a handler that raises (1011,
and the server goes on); a fiber that returns (1000); sending from another thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK

from sws_core import Op
from sws_ws import Server, WebSocket

pytestmark = pytest.mark.integration

WAIT_S = 10.0


def build_app(record: Any) -> Server:
    app = Server()

    @app.ws("/class")
    class PerConnection:
        def __init__(self) -> None:
            self.count = 0

        def on_open(self, ws: WebSocket) -> None:
            record.add("open", id(self))

        def on_message(self, ws: WebSocket, message: str | bytes) -> None:
            self.count += 1  # state of this connection only
            record.add("message", id(self), message)
            ws.send(f"{message}:{self.count}")

        def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
            record.add("close", id(self), code, reason)

    class Shared:
        def __init__(self) -> None:
            self.count = 0

        def on_message(self, ws: WebSocket, message: str | bytes) -> None:
            self.count += 1  # every connection's messages
            ws.send(f"{message}:{self.count}")

        def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
            record.add("shared-close", id(self), code)

    app.ws("/shared")(Shared())

    @app.ws("/gen")
    def gen_fiber(ws: WebSocket) -> Generator[Op, Any, None]:
        record.add("fiber-start", ws.path)
        while (message := (yield from ws.receive())) is not None:
            ws.send(message)
        record.add("fiber-end", ws.close_code)

    @app.ws("/async")
    async def async_fiber(ws: WebSocket) -> None:
        record.add("fiber-start", ws.path)
        while (message := await ws.receive()) is not None:
            ws.send(message)
        record.add("fiber-end", ws.close_code)

    @app.ws("/two-then-return")
    def returns(ws: WebSocket) -> Generator[Op, Any, None]:
        for _ in range(2):
            message = yield from ws.receive()
            ws.send(f"got {message}")
        record.add("fiber-returned", ws.path)

    @app.ws("/raise-on-message")
    class Raises:
        def on_message(self, ws: WebSocket, message: str | bytes) -> None:
            raise RuntimeError("secret-detail-do-not-leak")

        def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
            record.add("close", id(self), code, reason)

    @app.ws("/raise-on-open")
    class RaisesOnOpen:
        def on_open(self, ws: WebSocket) -> None:
            raise RuntimeError("secret-detail-do-not-leak")

        def on_message(self, ws: WebSocket, message: str | bytes) -> None:
            ws.send(message)

    @app.ws("/raise-in-init")
    class RaisesInInit:
        def __init__(self) -> None:
            raise RuntimeError("secret-detail-do-not-leak")

        def on_message(self, ws: WebSocket, message: str | bytes) -> None:
            ws.send(message)

    @app.ws("/raise-in-fiber")
    def raising_fiber(ws: WebSocket) -> Generator[Op, Any, None]:
        yield from ws.receive()
        raise RuntimeError("secret-detail-do-not-leak")

    @app.ws("/raise-in-async")
    async def raising_async(ws: WebSocket) -> None:
        await ws.receive()
        raise RuntimeError("secret-detail-do-not-leak")

    @app.ws("/thread")
    class FromThread:
        def on_open(self, ws: WebSocket) -> None:
            record.add("ws", ws)

        def on_message(self, ws: WebSocket, message: str | bytes) -> None:
            ws.send(message)

        def on_pong(self, ws: WebSocket, data: bytes) -> None:
            record.add("pong", data)

    return app


@pytest.fixture
def served(serve: Callable[..., Any], record: Any) -> Any:
    return serve(build_app(record))


def slots_freed(served: Any) -> None:
    served.wait_until(lambda: served.loop.statistics().slots_live == 0, "every slot freed")


# --- callbacks ----------------------------------------------------------------------------------


def test_a_callbacks_class_gets_open_message_close_on_its_own_instance(
    served: Any, ws_clients: Any, record: Any
) -> None:
    a = ws_clients.connect(served.url("/class"))
    b = ws_clients.connect(served.url("/class"))
    a.send("x")
    assert a.recv(WAIT_S) == "x:1"
    a.send("y")
    assert a.recv(WAIT_S) == "y:2"
    b.send("z")
    assert b.recv(WAIT_S) == "z:1"  # a new instance per connection
    a.close(1000, "done")
    b.close(4321, "other")
    slots_freed(served)
    opened = [i for (i,) in record.of("open")]
    assert len(set(opened)) == 2
    instance_a, instance_b = opened
    assert record.of("message") == [(instance_a, "x"), (instance_a, "y"), (instance_b, "z")]
    closes = record.of("close")
    assert sorted(closes) == sorted([(instance_a, 1000, "done"), (instance_b, 4321, "other")])


def test_a_shared_callbacks_object_serves_every_connection(
    served: Any, ws_clients: Any, record: Any
) -> None:
    a = ws_clients.connect(served.url("/shared"))
    b = ws_clients.connect(served.url("/shared"))
    a.send("a")
    assert a.recv(WAIT_S) == "a:1"
    b.send("b")
    assert b.recv(WAIT_S) == "b:2"  # the same object counted both
    a.close()
    b.close()
    closes = record.wait("shared-close", 2)
    assert len({obj for obj, _ in closes}) == 1
    assert sorted(code for _, code in closes) == [1000, 1000]


# --- fibers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/gen", "/async"])
def test_a_fiber_echoes_until_the_client_closes(
    served: Any, ws_clients: Any, record: Any, path: str
) -> None:
    client = ws_clients.connect(served.url(path))
    for message in ["one", b"two", "", b"", "three" * 1000]:
        client.send(message)
        assert client.recv(WAIT_S) == message
    client.close(4100, "enough")
    assert record.wait("fiber-end") == [(4100,)]  # receive() returned None once closed
    assert record.of("fiber-start") == [(path,)]


@pytest.mark.parametrize("path", ["/gen", "/async"])
def test_a_fiber_sees_messages_sent_in_a_burst_in_order(
    served: Any, ws_clients: Any, path: str
) -> None:
    client = ws_clients.connect(served.url(path))
    # More than the fiber's inbox holds (64): reading pauses and resumes, nothing is lost.
    for i in range(300):
        client.send(f"m{i}")
    assert [client.recv(WAIT_S) for _ in range(300)] == [f"m{i}" for i in range(300)]


def test_a_fiber_that_returns_closes_the_connection_with_1000(
    served: Any, ws_clients: Any, record: Any
) -> None:
    client = ws_clients.connect(served.url("/two-then-return"))
    client.send("a")
    client.send("b")
    assert client.recv(WAIT_S) == "got a"
    assert client.recv(WAIT_S) == "got b"
    with pytest.raises(ConnectionClosedOK) as info:
        client.recv(WAIT_S)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1000
    assert record.of("fiber-returned") == [("/two-then-return",)]


# --- a handler that raises ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/raise-on-message",
        "/raise-on-open",
        "/raise-in-init",
        "/raise-in-fiber",
        "/raise-in-async",
    ],
)
def test_a_handler_that_raises_closes_with_1011_and_the_server_goes_on(
    served: Any, ws_clients: Any, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = ws_clients.connect(served.url(path))
    if path not in ("/raise-on-open", "/raise-in-init"):  # those close before any send
        client.send("boom")
    with pytest.raises(ConnectionClosedError) as info:
        client.recv(WAIT_S)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1011
    assert "secret" not in info.value.rcvd.reason  # no details to the peer
    assert any("raised" in r.getMessage() for r in caplog.records if r.name == "sws_ws")
    other = ws_clients.connect(served.url("/gen"))
    other.send("still serving")
    assert other.recv(WAIT_S) == "still serving"


def test_on_close_runs_once_after_a_handler_failure(
    served: Any, ws_clients: Any, record: Any
) -> None:
    client = ws_clients.connect(served.url("/raise-on-message"))
    client.send("boom")
    with pytest.raises(ConnectionClosed):
        client.recv(WAIT_S)
    slots_freed(served)
    assert [code for _, code, _ in record.of("close")] == [1011]


# --- other threads ------------------------------------------------------------------------------


def test_send_from_another_thread_is_delivered(served: Any, ws_clients: Any, record: Any) -> None:
    client = ws_clients.connect(served.url("/thread"))
    [(ws,)] = record.wait("ws")
    threads = [
        threading.Thread(target=lambda i=i: [ws.send(f"t{i}-{j}") for j in range(50)])
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    got = [client.recv(WAIT_S) for _ in range(200)]
    assert sorted(got) == sorted(f"t{i}-{j}" for i in range(4) for j in range(50))
    for i in range(4):  # each thread's messages in the order it sent them
        assert [m for m in got if m.startswith(f"t{i}-")] == [f"t{i}-{j}" for j in range(50)]


def test_ping_and_close_from_another_thread(served: Any, ws_clients: Any, record: Any) -> None:
    client = ws_clients.connect(served.url("/thread"))
    [(ws,)] = record.wait("ws")
    pinger = threading.Thread(target=ws.ping, args=(b"from a thread",))
    pinger.start()
    pinger.join(WAIT_S)
    assert record.wait("pong") == [(b"from a thread",)]
    closer = threading.Thread(target=ws.close, args=(4002, "from a thread"))
    closer.start()
    closer.join(WAIT_S)
    with pytest.raises(ConnectionClosedError) as info:
        client.recv(WAIT_S)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4002, "from a thread")
    ws.send("after close")  # dropped, not an error
