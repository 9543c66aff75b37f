"""Messages over a real connection, with the `websockets` client as the peer: text, binary,
empty, large, fragmented; permessage-deflate on and off; pings both ways; close codes and
reasons both ways."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from sws_ws import Server, WebSocket

pytestmark = pytest.mark.integration

WAIT_S = 10.0
LARGE_BYTES = 5 * 1024 * 1024  # several MiB: past every default limit (1 MiB)
LIMIT_BYTES = 8 * 1024 * 1024  # what the large-message server accepts


def echo_app(record: Any, **options: Any) -> Server:
    """Echoes every message; "ping me" and "close me" make it ping or close instead."""
    app = Server(**options)

    @app.ws("/echo")
    class Echo:
        def on_open(self, ws: WebSocket) -> None:
            record.add("open", ws.path)

        def on_message(self, ws: WebSocket, message: str | bytes) -> None:
            if message == "ping me":
                ws.ping(b"srv")
            elif message == "close me":
                ws.close(4001, "go")
            else:
                ws.send(message)

        def on_pong(self, ws: WebSocket, data: bytes) -> None:
            record.add("pong", data)

        def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
            record.add("close", code, reason)

    return app


@pytest.fixture
def echo(serve: Callable[..., Any], record: Any) -> Any:
    return serve(echo_app(record))


def inflate(payload: bytes) -> bytes:
    """A permessage-deflate message's payload, inflated (RFC 7692 §7.2.2)."""
    return zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")


def slots_freed(served: Any) -> None:
    served.wait_until(lambda: served.loop.statistics().slots_live == 0, "every slot freed")


# --- echo ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    ["hello", "héllo wörld ✓ 🎉", b"\x00\x01\xfe\xff", "", b""],
    ids=["text", "text-utf8", "binary", "empty-text", "empty-binary"],
)
def test_echo_keeps_the_message_and_its_type(echo: Any, ws_clients: Any, message: Any) -> None:
    client = ws_clients.connect(echo.url("/echo"))
    client.send(message)
    got = client.recv(WAIT_S)
    assert type(got) is type(message)
    assert got == message


def test_many_messages_come_back_in_order(echo: Any, ws_clients: Any) -> None:
    client = ws_clients.connect(echo.url("/echo"))
    for i in range(200):
        client.send(f"m{i}" if i % 2 else f"m{i}".encode())
    got = [client.recv(WAIT_S) for _ in range(200)]
    assert got == [f"m{i}" if i % 2 else f"m{i}".encode() for i in range(200)]


@pytest.mark.parametrize("compression", ["deflate", None], ids=["deflate", "plain"])
@pytest.mark.parametrize("kind", ["text", "binary"])
def test_a_message_of_several_mib_echoes_with_raised_limits(
    serve: Callable[..., Any],
    record: Any,
    ws_clients: Any,
    compression: str | None,
    kind: str,
) -> None:
    served = serve(echo_app(record, max_frame_bytes=LIMIT_BYTES, max_message_bytes=LIMIT_BYTES))
    client = ws_clients.connect(served.url("/echo"), compression=compression, max_size=LIMIT_BYTES)
    # Text compresses well, random bytes not at all: both paths of the deflater. The text
    # has multi-byte characters, so reads (and inflated pieces) end inside some of them.
    text = "héllo wörld ✓ "  # 18 bytes
    message: str | bytes = text * (LARGE_BYTES // 18) if kind == "text" else os.urandom(LARGE_BYTES)
    client.send(message)
    assert client.recv(WAIT_S) == message


def test_a_message_past_the_default_limit_is_refused_with_1009(
    echo: Any, ws_clients: Any, record: Any
) -> None:
    client = ws_clients.connect(echo.url("/echo"), compression=None)
    client.send(b"x" * (2 * 1024 * 1024))
    with pytest.raises(ConnectionClosedError) as info:
        client.recv(WAIT_S)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1009
    assert record.wait("close") == [(1009, info.value.rcvd.reason)]


@pytest.mark.parametrize(
    "fragments",
    [["ab", "cd", "", "ef"], [b"ab", b"", b"cd", b"ef"]],
    ids=["text", "binary"],
)
def test_a_fragmented_message_arrives_whole(
    echo: Any, ws_clients: Any, fragments: list[Any]
) -> None:
    client = ws_clients.connect(echo.url("/echo"))
    client.send(iter(fragments))  # an iterable: one frame per item
    assert client.recv(WAIT_S) == fragments[0][:0].join(fragments)
    client.send("after")
    assert client.recv(WAIT_S) == "after"


def test_many_fragments_of_a_large_text_message(echo: Any, ws_clients: Any) -> None:
    client = ws_clients.connect(echo.url("/echo"))
    parts = [f"{i:04d}é" for i in range(1000)]  # 6 bytes each, a multi-byte char in each
    client.send(iter(parts))
    assert client.recv(WAIT_S) == "".join(parts)


# --- permessage-deflate -------------------------------------------------------------------------


def test_permessage_deflate_is_negotiated_when_the_client_offers_it(
    echo: Any, ws_clients: Any
) -> None:
    client = ws_clients.connect(echo.url("/echo"))
    extensions = client.response.headers.get("Sec-WebSocket-Extensions")
    assert extensions is not None
    assert extensions.startswith("permessage-deflate")
    assert [ext.name for ext in client.protocol.extensions] == ["permessage-deflate"]
    text = "compress me " * 1000
    client.send(text)
    assert client.recv(WAIT_S) == text


def test_the_server_compresses_its_messages_after_negotiation(echo: Any, raw: Any) -> None:
    client = raw.connect(echo.port)
    resp = client.handshake(sec_websocket_extensions="permessage-deflate")
    assert resp.header("sec-websocket-extensions") == "permessage-deflate"
    text = b"the same words again and again " * 100
    client.send_frame(0x1, text)  # an uncompressed message is allowed (RFC 7692 §6)
    frame = client.read_frame()
    assert (frame.fin, frame.rsv1, frame.opcode) == (True, True, 0x1)
    assert len(frame.payload) < len(text)
    assert inflate(frame.payload) == text


def test_a_compressed_message_is_limited_by_its_inflated_size(
    echo: Any, raw: Any, record: Any
) -> None:
    client = raw.connect(echo.port)
    client.handshake(sec_websocket_extensions="permessage-deflate")
    deflater = zlib.compressobj(wbits=-15)
    bomb = deflater.compress(bytes(2 * 1024 * 1024)) + deflater.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 4096  # small on the wire, past the 1 MiB message limit inflated
    client.send_frame(0x2, bomb[:-4], rsv1=True)  # RFC 7692 §7.2.1: without 00 00 ff ff
    assert client.read_until_close().close_code == 1009
    assert client.closed_by_peer()
    assert [code for code, _ in record.wait("close")] == [1009]


DEFLATE_OFFERS = [  # (the client's offer, the server's answer after "permessage-deflate; ")
    ({"server_max_window_bits": 10}, "server_max_window_bits=10"),
    ({"server_max_window_bits": 9}, "server_max_window_bits=9"),
    ({"server_no_context_takeover": True}, "server_no_context_takeover"),
    ({"client_no_context_takeover": True}, "client_no_context_takeover"),
    ({"client_max_window_bits": 9}, "client_max_window_bits=9"),
]


@pytest.mark.parametrize(("offer", "answer"), DEFLATE_OFFERS, ids=[a for _, a in DEFLATE_OFFERS])
def test_deflate_parameters_are_honoured(
    echo: Any, ws_clients: Any, offer: dict[str, Any], answer: str
) -> None:
    client = ws_clients.connect(
        echo.url("/echo"),
        compression=None,
        extensions=[ClientPerMessageDeflateFactory(**offer)],
        max_size=None,
    )
    assert client.response.headers.get("Sec-WebSocket-Extensions") == (
        f"permessage-deflate; {answer}"
    )
    # Repeats 4 KiB apart: only a 4 KiB window (or a kept context) could reach them, so
    # a server that ignored a smaller window or no_context_takeover would break the client.
    block = os.urandom(4096)
    for message in [block * 20, block[:100] * 5, block * 20]:
        client.send(message)
        assert client.recv(WAIT_S) == message


def test_no_compression_when_the_client_does_not_offer_it(echo: Any, ws_clients: Any) -> None:
    client = ws_clients.connect(echo.url("/echo"), compression=None)
    assert client.response.headers.get("Sec-WebSocket-Extensions") is None
    assert client.protocol.extensions == []
    client.send("plain " * 100)
    assert client.recv(WAIT_S) == "plain " * 100


def test_no_compression_when_the_server_turns_it_off(
    serve: Callable[..., Any], record: Any, ws_clients: Any, raw: Any
) -> None:
    served = serve(echo_app(record, compression=False))
    client = ws_clients.connect(served.url("/echo"))  # offers permessage-deflate
    assert client.response.headers.get("Sec-WebSocket-Extensions") is None
    assert client.protocol.extensions == []
    client.send("plain " * 100)
    assert client.recv(WAIT_S) == "plain " * 100
    rawc = raw.connect(served.port)
    resp = rawc.handshake(sec_websocket_extensions="permessage-deflate")
    assert resp.header("sec-websocket-extensions") is None
    rawc.send_frame(0x1, b"plain " * 100)
    frame = rawc.read_frame()
    assert (frame.rsv1, frame.payload) == (False, b"plain " * 100)


# --- ping and pong ------------------------------------------------------------------------------


def test_a_client_ping_gets_its_pong(echo: Any, ws_clients: Any) -> None:
    client = ws_clients.connect(echo.url("/echo"))
    pong = client.ping(b"abc")
    assert pong.wait(WAIT_S)
    client.send("still here")
    assert client.recv(WAIT_S) == "still here"


def test_a_ping_between_fragments_is_answered_and_the_message_survives(echo: Any, raw: Any) -> None:
    client = raw.connect(echo.port)
    client.handshake()
    client.send_frame(0x1, b"hel", fin=False)
    client.send_frame(0x9, b"mid")  # RFC 6455 §5.4: control frames may interleave
    client.send_frame(0x0, b"lo")
    pong = client.read_frame()
    assert (pong.opcode, pong.payload) == (0xA, b"mid")
    message = client.read_frame()
    assert (message.opcode, message.payload) == (0x1, b"hello")


def test_a_server_ping_reaches_the_client_and_its_pong_comes_back(
    echo: Any, ws_clients: Any, record: Any, raw: Any
) -> None:
    client = ws_clients.connect(echo.url("/echo"))
    client.send("ping me")
    assert record.wait("pong") == [(b"srv",)]  # websockets answered our ping
    rawc = raw.connect(echo.port)
    rawc.handshake()
    rawc.send_frame(0x1, b"ping me")
    ping = rawc.read_frame()
    assert (ping.opcode, ping.payload) == (0x9, b"srv")


# --- closing ------------------------------------------------------------------------------------


def test_a_client_close_code_and_reason_reach_on_close_once(
    echo: Any, ws_clients: Any, record: Any
) -> None:
    client = ws_clients.connect(echo.url("/echo"))
    client.send("x")
    assert client.recv(WAIT_S) == "x"
    client.close(4000, "bye")
    assert client.protocol.close_rcvd is not None
    assert client.protocol.close_rcvd.code == 4000  # the server echoed the code
    slots_freed(echo)
    assert record.of("close") == [(4000, "bye")]


def test_a_server_close_code_and_reason_reach_the_client(
    echo: Any, ws_clients: Any, record: Any
) -> None:
    client = ws_clients.connect(echo.url("/echo"))
    client.send("close me")
    with pytest.raises(ConnectionClosedError) as info:
        client.recv(WAIT_S)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4001, "go")
    slots_freed(echo)
    # on_close reports the client's reply (websockets echoes the code and the reason).
    assert [code for code, _ in record.of("close")] == [4001]


def test_a_raw_close_gets_the_echoed_code_then_the_tcp_close(
    echo: Any, raw: Any, record: Any
) -> None:
    client = raw.connect(echo.port)
    client.handshake()
    client.send_frame(0x8, b"\x0f\xa0" + b"done")  # 4000 "done"
    frame = client.read_frame()
    assert frame.close_code == 4000
    assert client.closed_by_peer()  # RFC 6455 §7.1.1: the server closes TCP first
    assert record.wait("close") == [(4000, "done")]


def test_a_close_without_a_code_is_answered_with_1000_and_reported_as_1005(
    echo: Any, raw: Any, record: Any
) -> None:
    client = raw.connect(echo.port)
    client.handshake()
    client.send_frame(0x8, b"")
    assert client.read_frame().close_code == 1000  # RFC 6455 §7.1.5, §7.4.1
    assert client.closed_by_peer()
    assert record.wait("close") == [(1005, "")]


def test_replies_to_messages_just_before_the_close_go_out_before_the_close_reply(
    echo: Any, raw: Any
) -> None:
    client = raw.connect(echo.port)
    client.handshake()
    client.send_frames((0x1, b"one"), (0x2, b"two"), (0x8, b"\x03\xe8"))  # one read
    frames = [client.read_frame() for _ in range(3)]
    assert [(f.opcode, f.payload) for f in frames[:2]] == [(0x1, b"one"), (0x2, b"two")]
    assert frames[2].close_code == 1000
    assert client.closed_by_peer()


def test_a_peer_that_vanishes_gets_on_close_1006(echo: Any, raw: Any, record: Any) -> None:
    client = raw.connect(echo.port)
    client.handshake()
    client.send_frame(0x1, b"x")
    assert client.read_frame().payload == b"x"
    client.close()
    assert record.wait("close") == [(1006, "")]
