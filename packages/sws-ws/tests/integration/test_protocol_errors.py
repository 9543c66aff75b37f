"""A peer that breaks RFC 6455, from a raw socket: the server sends the close frame with
the right code (1002, 1007, 1009), then closes TCP, tells `on_close`, and goes on serving
everyone else."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest

from sws_ws import Server, WebSocket

pytestmark = pytest.mark.integration

WAIT_S = 10.0
MAX_FRAME_BYTES = 1024
MAX_MESSAGE_BYTES = 4096
MAX_FRAGMENTS = 8


@pytest.fixture
def served(serve: Callable[..., Any], record: Any) -> Any:
    app = Server(
        max_frame_bytes=MAX_FRAME_BYTES,
        max_message_bytes=MAX_MESSAGE_BYTES,
        max_fragments=MAX_FRAGMENTS,
        compression=False,
    )

    @app.ws("/echo")
    class Echo:
        def on_message(self, ws: WebSocket, message: str | bytes) -> None:
            ws.send(message)

        def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
            record.add("close", code)

    return serve(app)


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


# (name, frames as (opcode, payload, encode_frame keywords), the close code expected)
VIOLATIONS = [
    ("unmasked", [(0x1, b"hi", {"mask": False})], 1002),
    ("reserved-opcode", [(0x3, b"", {})], 1002),
    ("rsv1-without-deflate", [(0x1, b"hi", {"rsv1": True})], 1002),
    ("fragmented-ping", [(0x9, b"", {"fin": False})], 1002),
    ("ping-over-125-bytes", [(0x9, b"p" * 126, {})], 1002),
    ("continuation-first", [(0x0, b"x", {})], 1002),
    ("text-inside-a-text", [(0x1, b"a", {"fin": False}), (0x1, b"b", {})], 1002),
    ("close-code-1005-on-the-wire", [(0x8, close_payload(1005), {})], 1002),
    ("close-with-1-byte", [(0x8, b"\x03", {})], 1002),
    ("invalid-utf8", [(0x1, b"ok \xff\xfe", {})], 1007),
    ("utf8-broken-across-fragments", [(0x1, b"\xce", {"fin": False}), (0x0, b"\xff", {})], 1007),
    ("invalid-utf8-close-reason", [(0x8, close_payload(1000, b"\xff"), {})], 1007),
    ("frame-over-the-limit", [(0x2, b"x" * (MAX_FRAME_BYTES + 1), {})], 1009),
    (
        "message-over-the-limit",
        [(0x2, b"x" * 1000, {"fin": False})] + [(0x0, b"x" * 1000, {"fin": False})] * 4,
        1009,
    ),
    (
        "too-many-fragments",
        [(0x1, b"x", {"fin": False})] + [(0x0, b"x", {"fin": False})] * MAX_FRAGMENTS,
        1009,
    ),
]


@pytest.mark.parametrize(
    ("frames", "code"), [(f, c) for _, f, c in VIOLATIONS], ids=[n for n, _, _ in VIOLATIONS]
)
def test_a_protocol_violation_gets_its_close_code_then_the_tcp_close(
    served: Any, raw: Any, record: Any, frames: list[Any], code: int
) -> None:
    client = raw.connect(served.port)
    client.handshake()
    for opcode, payload, kw in frames:
        client.send_frame(opcode, payload, **kw)
    close = client.read_until_close()
    assert close.close_code == code
    assert close.close_reason  # says what was wrong
    assert client.closed_by_peer()
    assert record.wait("close") == [(code,)]


def test_a_frame_over_the_limit_is_refused_on_its_header(served: Any, raw: Any) -> None:
    client = raw.connect(served.port)
    client.handshake()
    # Announce 1 GiB and send none of it: the server must not wait for (or buffer) it.
    client.send_frame(0x2, b"", length=1 << 30)
    close = client.read_until_close()
    assert close.close_code == 1009
    assert client.closed_by_peer()


def test_messages_before_a_violation_in_the_same_packet_are_answered_first(
    served: Any, raw: Any
) -> None:
    client = raw.connect(served.port)
    client.handshake()
    frames = [(0x1, b"first"), (0x2, b"second")]
    client.send_frames(*frames, (0x1, b"\xff"))  # invalid UTF-8 last
    assert [(f.opcode, f.payload) for f in (client.read_frame(), client.read_frame())] == frames
    close = client.read_frame()
    assert close.close_code == 1007
    assert client.closed_by_peer()


def test_the_server_goes_on_serving_after_a_violation(
    served: Any, raw: Any, ws_clients: Any
) -> None:
    bad = raw.connect(served.port)
    bad.handshake()
    bad.send_frame(0x1, b"\xff")
    assert bad.read_until_close().close_code == 1007
    client = ws_clients.connect(served.url("/echo"))
    client.send("fine")
    assert client.recv(WAIT_S) == "fine"


def test_garbage_after_the_handshake_is_a_protocol_error(served: Any, raw: Any) -> None:
    client = raw.connect(served.port)
    client.handshake()
    client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # no longer HTTP: frames only
    close = client.read_until_close()
    assert close.close_code == 1002
    assert client.closed_by_peer()


def test_a_peer_still_sending_after_a_failure_reads_the_close_frame_and_a_fin(
    served: Any, raw: Any, record: Any
) -> None:
    # A lingering close: closing with the peer's bytes unread would send a reset, which may
    # destroy the close frame before the peer reads it; the server half-closes and drops
    # what keeps coming instead, and closes once the peer has.
    client = raw.connect(served.port)
    client.handshake()
    client.send_frame(0x2, b"", length=1 << 30)  # 1 GiB announced: 1009 on the header
    for _ in range(64):  # 4 MiB more, well past what the socket buffers hold
        client.send(b"x" * 65536)
    close = client.read_until_close()
    assert close.close_code == 1009
    assert client.sock.recv(65536) == b""  # the FIN, not a reset
    client.send(b"x" * 65536)  # still taken and dropped
    client.close()
    assert record.wait("close") == [(1009,)]
