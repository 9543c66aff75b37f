"""Pub/sub on a real loop: rooms, subscribe and unsubscribe, members that leave, publishing
from other threads, a broadcast to 1,000 connections, and a subscriber that stops reading
(closed with 1008 instead of growing the server's memory)."""

from __future__ import annotations

import asyncio
import resource
import threading
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection as AsyncClient
from websockets.asyncio.client import connect as async_connect

from sws_ws import Server, WebSocket

pytestmark = pytest.mark.integration

WAIT_S = 10.0
BROADCAST_CLIENTS = 1000
CONNECTING_AT_ONCE = 100  # handshakes in flight at a time, well under the listen backlog


def build_app(record: Any, **options: Any) -> Server:
    app = Server(**options)

    @app.ws("/rooms/{room}")
    class Member:
        """Joins its room; says to the room what it is sent, except commands."""

        def on_open(self, ws: WebSocket) -> None:
            ws.subscribe(ws.params["room"])
            record.add("open", ws.params["room"])

        def on_message(self, ws: WebSocket, message: str | bytes) -> None:
            if isinstance(message, str) and message.startswith("burst:"):
                for _ in range(int(message.removeprefix("burst:"))):
                    ws.send(CHUNK)  # to this connection only, all in this one call
            elif isinstance(message, str) and message.startswith(("sub:", "unsub:")):
                verb, _, topic = message.partition(":")
                (ws.subscribe if verb == "sub" else ws.unsubscribe)(topic)
                ws.send(f"ok {sorted(ws.topics)}")
            else:
                app.publish(ws.params["room"], message)

        def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
            record.add("close", ws.params["room"], code, reason)

    return app


@pytest.fixture
def app(record: Any) -> Server:
    return build_app(record)


@pytest.fixture
def served(serve: Callable[..., Any], app: Server) -> Any:
    return serve(app)


def subscribers(served: Any, app: Server, topic: str, count: int) -> None:
    served.wait_until(lambda: app.subscribers(topic) == count, f"{count} on {topic!r}")


# --- rooms --------------------------------------------------------------------------------------


def test_a_message_to_a_room_reaches_only_its_members(
    served: Any, app: Server, ws_clients: Any
) -> None:
    a1 = ws_clients.connect(served.url("/rooms/a"))
    a2 = ws_clients.connect(served.url("/rooms/a"))
    b1 = ws_clients.connect(served.url("/rooms/b"))
    subscribers(served, app, "a", 2)
    subscribers(served, app, "b", 1)
    a1.send("hello a")
    assert a1.recv(WAIT_S) == "hello a"  # the sender is a member too
    assert a2.recv(WAIT_S) == "hello a"
    b1.send(b"hello b")
    assert b1.recv(WAIT_S) == b"hello b"  # and not "hello a" first: it never came
    a2.send("again a")
    assert a1.recv(WAIT_S) == "again a"
    assert a2.recv(WAIT_S) == "again a"


def test_publish_on_the_io_thread_counts_the_subscribers(
    served: Any, app: Server, ws_clients: Any
) -> None:
    clients = [ws_clients.connect(served.url("/rooms/r")) for _ in range(3)]
    subscribers(served, app, "r", 3)
    assert served.call(app.publish, "r", "counted") == 3
    assert served.call(app.publish, "nobody-here", "lost") == 0
    assert [c.recv(WAIT_S) for c in clients] == ["counted"] * 3
    assert served.call(app.publish, "r", b"\x00bytes") == 3
    assert [c.recv(WAIT_S) for c in clients] == [b"\x00bytes"] * 3


def test_publish_refuses_what_is_not_a_message(app: Server) -> None:
    with pytest.raises(TypeError):
        app.publish("r", 42)  # type: ignore[arg-type]


def test_subscribe_and_unsubscribe(served: Any, app: Server, ws_clients: Any) -> None:
    client = ws_clients.connect(served.url("/rooms/home"))
    client.send("sub:news")
    assert client.recv(WAIT_S) == "ok ['home', 'news']"
    assert served.call(app.subscribers, "news") == 1
    app.publish("news", "extra!")
    assert client.recv(WAIT_S) == "extra!"
    client.send("unsub:news")
    assert client.recv(WAIT_S) == "ok ['home']"
    assert served.call(app.subscribers, "news") == 0
    app.publish("news", "missed")
    app.publish("home", "still home")  # published after "missed": arrives after it if at all
    assert client.recv(WAIT_S) == "still home"
    client.send("unsub:news")  # idempotent
    assert client.recv(WAIT_S) == "ok ['home']"


def test_a_member_that_closes_leaves_its_topics(
    served: Any, app: Server, ws_clients: Any, raw: Any, record: Any
) -> None:
    stays = ws_clients.connect(served.url("/rooms/x"))
    leaves = ws_clients.connect(served.url("/rooms/x"))
    vanishes = raw.connect(served.port)
    vanishes.handshake("/rooms/x")
    subscribers(served, app, "x", 3)
    leaves.close()
    subscribers(served, app, "x", 2)
    vanishes.close()  # no close frame: on_close(1006)
    subscribers(served, app, "x", 1)
    assert sorted(code for _, code, _ in record.wait("close", 2)) == [1000, 1006]
    assert served.call(app.publish, "x", "who is left") == 1
    assert stays.recv(WAIT_S) == "who is left"
    stays.close()
    served.wait_until(lambda: "x" not in app._topics, "the empty topic dropped")


def test_publish_from_other_threads_reaches_subscribers(
    served: Any, app: Server, ws_clients: Any
) -> None:
    clients = [ws_clients.connect(served.url("/rooms/t")) for _ in range(3)]
    subscribers(served, app, "t", 3)
    queued: list[int] = []
    threads = [
        threading.Thread(
            target=lambda i=i: queued.extend(app.publish("t", f"{i}-{j}") for j in range(20))
        )
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert set(queued) == {0}  # off the IO thread: queued, not counted
    expected = sorted(f"{i}-{j}" for i in range(4) for j in range(20))
    for client in clients:
        got = [client.recv(WAIT_S) for _ in range(80)]
        assert sorted(got) == expected
        for i in range(4):  # one thread's publishes keep their order
            assert [m for m in got if m.startswith(f"{i}-")] == [f"{i}-{j}" for j in range(20)]


def test_a_published_message_is_one_uncompressed_frame_for_a_deflate_client(
    served: Any, app: Server, raw: Any
) -> None:
    client = raw.connect(served.port)
    resp = client.handshake("/rooms/z", sec_websocket_extensions="permessage-deflate")
    assert resp.header("sec-websocket-extensions") == "permessage-deflate"
    subscribers(served, app, "z", 1)
    app.publish("z", "plain " * 50)
    frame = client.read_frame()
    assert (frame.fin, frame.rsv1, frame.opcode) == (True, False, 0x1)  # RFC 7692 §6.1
    assert frame.payload == b"plain " * 50


# --- 1,000 subscribers --------------------------------------------------------------------------


@pytest.fixture
def enough_fds() -> Any:
    """Raise the soft fd limit for both ends of the connections, or skip."""
    need = 2 * BROADCAST_CLIENTS + 256  # client and server sockets, plus the rest
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        yield
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"needs {need} file descriptors; the hard limit is {hard} (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_broadcast_reaches_1000_concurrent_subscribers(
    enough_fds: Any, serve: Callable[..., Any], app: Server
) -> None:
    served = serve(app, max_connections=BROADCAST_CLIENTS + 16)
    url = served.url("/rooms/all")

    async def main() -> list[Any]:
        gate = asyncio.Semaphore(CONNECTING_AT_ONCE)

        async def one() -> AsyncClient:
            async with gate:
                # No compression: 1,000 zlib contexts on each side test nothing more here.
                return await async_connect(
                    url, proxy=None, compression=None, ping_interval=None, open_timeout=WAIT_S
                )

        opened = await asyncio.gather(
            *(one() for _ in range(BROADCAST_CLIENTS)), return_exceptions=True
        )
        clients = [c for c in opened if isinstance(c, AsyncClient)]
        try:
            failures = [c for c in opened if not isinstance(c, AsyncClient)]
            assert not failures, f"{len(failures)} failed to connect: {failures[:3]!r}"
            await asyncio.to_thread(subscribers, served, app, "all", BROADCAST_CLIENTS)
            app.publish("all", "to everyone")  # from this thread: through invoke
            got = await asyncio.wait_for(asyncio.gather(*(c.recv() for c in clients)), WAIT_S)
            app.publish("all", b"and again")
            got += await asyncio.wait_for(asyncio.gather(*(c.recv() for c in clients)), WAIT_S)
            return got
        finally:
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)

    got = asyncio.run(main())
    assert got == ["to everyone"] * BROADCAST_CLIENTS + [b"and again"] * BROADCAST_CLIENTS
    subscribers(served, app, "all", 0)


# --- a subscriber that does not read ------------------------------------------------------------


SEND_QUEUE_BYTES = 64 * 1024
CHUNK = b"z" * (16 * 1024)  # one publish: a quarter of the send queue limit
MAX_FLOOD_BYTES = 64 * 1024 * 1024  # the flood gives up (and the test fails) past this
WRITE_TIMEOUT_S = 0.5  # the loop's stalled-send timeout in the release test
RELEASE_WAIT_S = 4.0  # the write timeout, plus the 1 s TTL scan, with room to spare


def flood_until_closed(
    served: Any, app: Server, record: Any, raw: Any, ws_clients: Any
) -> tuple[Any, int, list[Any]]:
    """Subscribe a raw peer that never reads and a websockets peer that does to "flood",
    then publish one chunk per loop round trip (so a reading peer never has more than one
    queued) until the server closes the silent one. Returns the silent peer, the bytes
    published and what the reading peer got (ending with "end")."""
    slow = raw.connect(served.port, rcvbuf=4096)  # a small window: the kernel holds less
    slow.handshake("/rooms/flood")
    fast = ws_clients.connect(served.url("/rooms/flood"), max_queue=None)
    subscribers(served, app, "flood", 2)
    fast_got: list[Any] = []

    def read_fast() -> None:
        try:
            while (message := fast.recv(WAIT_S)) != "end":
                fast_got.append(message)
            fast_got.append(message)
        except BaseException as exc:  # seen by the test thread in fast_got
            fast_got.append(exc)

    reader = threading.Thread(target=read_fast)
    reader.start()
    sent = 0
    try:
        while not record.of("close") and sent < MAX_FLOOD_BYTES:
            app.publish("flood", CHUNK)
            sent += len(CHUNK)
            served.call(lambda: None)  # the IO thread has published it
    finally:
        app.publish("flood", "end")
        reader.join(WAIT_S)
    return slow, sent, fast_got


def test_a_subscriber_that_never_reads_is_closed_with_1008(
    serve: Callable[..., Any], record: Any, raw: Any, ws_clients: Any
) -> None:
    app = build_app(record, max_send_queue_bytes=SEND_QUEUE_BYTES, compression=False)
    served = serve(app)
    slow, sent, fast_got = flood_until_closed(served, app, record, raw, ws_clients)
    assert record.wait("close") == [("flood", 1008, "send queue full")]
    # The reading peer got every chunk and is still subscribed.
    assert fast_got == [CHUNK] * (sent // len(CHUNK)) + ["end"]
    assert served.call(app.subscribers, "flood") >= 1
    # The silent peer, once it reads, finds the 1008 close frame after what was queued,
    # then the TCP close.
    assert slow.read_until_close().close_code == 1008
    assert slow.closed_by_peer()
    subscribers(served, app, "flood", 1)


def test_a_subscriber_closed_for_not_reading_is_released(
    serve: Callable[..., Any], record: Any, raw: Any, ws_clients: Any
) -> None:
    app = build_app(record, max_send_queue_bytes=SEND_QUEUE_BYTES, compression=False)
    served = serve(app, write_timeout_s=WRITE_TIMEOUT_S)
    flood_until_closed(served, app, record, raw, ws_clients)
    assert record.wait("close") == [("flood", 1008, "send queue full")]
    # The silent peer stays connected and keeps not reading: the server must still let go.
    served.wait_until(
        lambda: app.subscribers("flood") == 1 and served.loop.statistics().slots_live == 1,
        "the silent subscriber released",
        timeout_s=RELEASE_WAIT_S,
    )


def test_a_burst_over_the_send_queue_bound_does_not_close_a_reading_peer(
    serve: Callable[..., Any], record: Any, ws_clients: Any
) -> None:
    app = build_app(record, max_send_queue_bytes=SEND_QUEUE_BYTES, compression=False)
    served = serve(app)
    client = ws_clients.connect(served.url("/rooms/burst"), max_queue=None)
    count = 2 * SEND_QUEUE_BYTES // len(CHUNK)  # 128 KiB in one handler call
    client.send(f"burst:{count}")
    assert [client.recv(WAIT_S) for _ in range(count)] == [CHUNK] * count
    assert not record.of("close")
