"""A differential test: the `websockets` library's sans-IO client as the peer of
`server_handshake` and `ServerConnection`, in memory.

Its frames (masked, fragmented, compressed by its own permessage-deflate) must come out of
`ServerConnection` as the messages it sent, and ours must parse in it as the ones we sent.
"""

from __future__ import annotations

from typing import Any

import pytest
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame
from websockets.frames import Opcode as WsOpcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from sws_ws.proto import (
    BinaryMessage,
    CloseReceived,
    ConnectionState,
    Ping,
    Pong,
    ServerConnection,
    TextMessage,
    server_handshake,
)


def connect(
    extensions: list[Any] | None = None, **handshake: Any
) -> tuple[ClientProtocol, ServerConnection]:
    """Run the opening handshake between a websockets client and our server side."""
    client = ClientProtocol(
        parse_uri("ws://example.com/chat"), extensions=extensions, subprotocols=["v2", "v1"]
    )
    request = client.connect()
    client.send_request(request)
    assert b"".join(client.data_to_send()).startswith(b"GET /chat HTTP/1.1\r\n")
    headers = [(name.lower(), value) for name, value in request.headers.raw_items()]
    hs = server_handshake("GET", "1.1", headers, subprotocols=["v1", "v2"], **handshake)
    head = "HTTP/1.1 101 Switching Protocols\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in hs.response_headers) + "\r\n"
    client.receive_data(head.encode())
    [response] = client.events_received()
    assert isinstance(response, Response)
    assert response.status_code == 101
    assert client.state is State.OPEN, client.handshake_exc
    assert client.subprotocol == hs.subprotocol == "v2"  # the client's first choice
    return client, ServerConnection(deflate=hs.deflate)


def client_to_server(client: ClientProtocol, conn: ServerConnection) -> list[Any]:
    data = b"".join(client.data_to_send())
    # Any split must do: feed the bytes in uneven pieces.
    events = []
    for i in range(0, len(data), 1000):
        events += conn.receive_data(data[i : i + 1000])
    return events


def server_to_client(client: ClientProtocol, data: bytes) -> list[tuple[WsOpcode, bytes]]:
    client.receive_data(data)
    frames = client.events_received()
    assert all(isinstance(f, Frame) for f in frames)
    return [(f.opcode, bytes(f.data)) for f in frames]


DEFLATE_OFFERS = [
    None,  # no compression
    [ClientPerMessageDeflateFactory()],
    [ClientPerMessageDeflateFactory(compress_settings={"memLevel": 5})],
    [
        ClientPerMessageDeflateFactory(
            server_no_context_takeover=True, client_no_context_takeover=True
        )
    ],
    [ClientPerMessageDeflateFactory(server_max_window_bits=8, client_max_window_bits=9)],
    [ClientPerMessageDeflateFactory(server_max_window_bits=11, client_max_window_bits=True)],
]

MESSAGES = ["Hello", "", "é€😀" * 300, "x" * 70_000, "Hello"]


@pytest.mark.parametrize("extensions", DEFLATE_OFFERS)
def test_messages_both_ways(extensions: list[Any] | None) -> None:
    client, conn = connect(extensions)
    assert (conn.deflate is None) == (extensions is None)
    for text in MESSAGES:
        client.send_text(text.encode())
        client.send_binary(text.encode()[::-1])
    assert client_to_server(client, conn) == [
        event for t in MESSAGES for event in (TextMessage(t), BinaryMessage(t.encode()[::-1]))
    ]
    for text in MESSAGES:
        assert server_to_client(client, conn.send_text(text)) == [(WsOpcode.TEXT, text.encode())]
        data = text.encode()[::-1]
        assert server_to_client(client, conn.send_binary(data)) == [(WsOpcode.BINARY, data)]


@pytest.mark.parametrize("extensions", DEFLATE_OFFERS)
def test_fragments_and_control_frames_in_between(extensions: list[Any] | None) -> None:
    client, conn = connect(extensions)
    client.send_text(b"Hel", fin=False)
    client.send_ping(b"are you there")
    client.send_continuation(b"lo, ", fin=False)
    client.send_pong(b"unsolicited")
    client.send_continuation("wörld".encode() * 1000, fin=True)
    client.send_binary(b"\x00" * 10, fin=False)
    client.send_continuation(b"\x01" * 10, fin=True)
    assert client_to_server(client, conn) == [
        Ping(b"are you there"),
        Pong(b"unsolicited"),
        TextMessage("Hello, " + "wörld" * 1000),
        BinaryMessage(b"\x00" * 10 + b"\x01" * 10),
    ]
    # Our automatic pong and our own ping, as the client sees them.
    assert server_to_client(client, conn.data_to_send() + conn.send_ping(b"hb")) == [
        (WsOpcode.PONG, b"are you there"),
        (WsOpcode.PING, b"hb"),
    ]


def test_client_closes() -> None:
    client, conn = connect([ClientPerMessageDeflateFactory()])
    client.send_close(1001, "bye")
    assert client_to_server(client, conn) == [CloseReceived(1001, "bye")]
    assert conn.state is ConnectionState.CLOSED
    assert server_to_client(client, conn.data_to_send()) == [(WsOpcode.CLOSE, b"\x03\xe9")]
    client.receive_eof()  # the server closes TCP
    assert client.state is State.CLOSED
    assert client.close_code == 1001


def test_server_closes() -> None:
    client, conn = connect()
    server_to_client(client, conn.send_close(1000, "done"))
    assert client.state is State.CLOSING
    assert client_to_server(client, conn) == [CloseReceived(1000, "done")]
    assert conn.state is ConnectionState.CLOSED
    assert conn.data_to_send() == b""


def test_failure_close_reaches_the_client() -> None:
    client, conn = connect()
    client.send_text(b"ok")
    data = b"".join(client.data_to_send()) + b"\x81\x05Hello"  # an unmasked frame
    events = conn.receive_data(data)
    assert events[0] == TextMessage("ok")
    assert events[1].code == 1002
    [(opcode, _payload)] = server_to_client(client, conn.data_to_send())
    assert opcode is WsOpcode.CLOSE
    assert client.close_rcvd is not None
    assert client.close_rcvd.code == 1002
    assert client.close_rcvd.reason == "client frame is not masked"
