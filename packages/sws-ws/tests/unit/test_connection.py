"""`ServerConnection` (sws_ws.proto._connection and _reader): every receive rule of RFC 6455
§5 and §7 as a table of input bytes and the events or close code they give, the closing
handshake in both directions, limits, permessage-deflate, and the send side.
"""

from __future__ import annotations

from typing import Any

import pytest

from sws_ws.proto import (
    BinaryMessage,
    CloseReceived,
    ConnectionClosedError,
    ConnectionState,
    DeflateParams,
    Deflater,
    Inflater,
    Opcode,
    Ping,
    Pong,
    ProtocolFailed,
    ServerConnection,
    TextMessage,
    close_payload,
    encode_frame,
)

MASK = b"\x5a\xc3\x01\xfe"
OPEN, CLOSING, CLOSED = ConnectionState.OPEN, ConnectionState.CLOSING, ConnectionState.CLOSED


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv1: bool = False) -> bytes:
    """A client frame: masked."""
    return encode_frame(opcode, payload, fin=fin, rsv1=rsv1, mask=MASK)


def text(s: str, *, fin: bool = True) -> bytes:
    return frame(Opcode.TEXT, s.encode(), fin=fin)


def cont(payload: bytes | str, *, fin: bool = True) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return frame(Opcode.CONTINUATION, data, fin=fin)


def close(code: int | None = None, reason: bytes = b"") -> bytes:
    payload = b"" if code is None else code.to_bytes(2, "big") + reason
    return frame(Opcode.CLOSE, payload)


def with_bits(data: bytes, b0_or: int = 0, b0_and: int = 0xFF) -> bytes:
    return bytes([(data[0] | b0_or) & b0_and]) + data[1:]


def unmasked(data: bytes) -> bytes:
    """A client frame with the MASK bit cleared (and its key dropped), 7-bit length only."""
    n = data[1] & 0x7F
    assert n < 126
    payload = bytes(b ^ MASK[i % 4] for i, b in enumerate(data[6:]))
    return bytes([data[0], n]) + payload


def server_frame(opcode: int, payload: bytes = b"", *, rsv1: bool = False) -> bytes:
    return encode_frame(opcode, payload, rsv1=rsv1)


def feed(data: bytes, conn: ServerConnection | None = None, **kwargs: Any) -> list[Any]:
    conn = conn or ServerConnection(**kwargs)
    return conn.receive_data(data)


def failure(data: bytes, **kwargs: Any) -> tuple[int, list[Any], ServerConnection]:
    """Feed `data` and return the failure code, the events before it, and the connection."""
    conn = ServerConnection(**kwargs)
    events = conn.receive_data(data)
    assert events, "expected a ProtocolFailed event"
    failed = events[-1]
    assert isinstance(failed, ProtocolFailed), events
    assert conn.state is CLOSED
    # The close frame that fails the connection carries the same code.
    assert conn.data_to_send().startswith(bytes([0x88]))
    assert conn.close_code_sent == failed.code
    assert conn.receive_data(text("ignored")) == []
    return failed.code, events[:-1], conn


# --- valid input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "events"),
    [
        (text("Hello"), [TextMessage("Hello")]),
        (text(""), [TextMessage("")]),
        (frame(Opcode.BINARY, b"\x00\xff"), [BinaryMessage(b"\x00\xff")]),
        (frame(Opcode.BINARY), [BinaryMessage(b"")]),
        (text("é€😀"), [TextMessage("é€😀")]),
        (text("a" * 125), [TextMessage("a" * 125)]),
        (text("a" * 126), [TextMessage("a" * 126)]),
        (text("a" * 65536), [TextMessage("a" * 65536)]),
        (text("Hel", fin=False) + cont("lo"), [TextMessage("Hello")]),
        (
            text("a", fin=False) + cont("", fin=False) + cont("b", fin=False) + cont(""),
            [TextMessage("ab")],
        ),
        # A character split across fragments
        (
            frame(Opcode.TEXT, "😀".encode()[:1], fin=False) + cont("😀".encode()[1:]),
            [TextMessage("😀")],
        ),
        (
            frame(Opcode.BINARY, b"ab", fin=False) + cont(b"cd", fin=False) + cont(b"e"),
            [BinaryMessage(b"abcde")],
        ),
        # Control frames between fragments are delivered at once (RFC 6455 §5.4)
        (
            text("He", fin=False) + frame(Opcode.PING, b"p") + cont("llo"),
            [Ping(b"p"), TextMessage("Hello")],
        ),
        (
            text("He", fin=False) + frame(Opcode.PONG, b"q") + cont("llo"),
            [Pong(b"q"), TextMessage("Hello")],
        ),
        (frame(Opcode.PING, b"x" * 125), [Ping(b"x" * 125)]),
        (frame(Opcode.PONG), [Pong(b"")]),
        # Several frames in one read
        (
            text("a") + frame(Opcode.BINARY, b"b") + frame(Opcode.PING) + text("c"),
            [TextMessage("a"), BinaryMessage(b"b"), Ping(b""), TextMessage("c")],
        ),
        # Noncharacters are valid UTF-8
        (text("\ufffe\uffff\U0010ffff"), [TextMessage("\ufffe\uffff\U0010ffff")]),
    ],
)
def test_valid_frames(data: bytes, events: list[Any]) -> None:
    conn = ServerConnection()
    assert conn.receive_data(data) == events
    assert conn.state is OPEN
    # The same events, one byte at a time.
    conn = ServerConnection()
    got = [e for i in range(len(data)) for e in conn.receive_data(data[i : i + 1])]
    assert got == events
    assert conn.buffered == 0


def test_ping_is_answered_with_the_same_payload() -> None:
    conn = ServerConnection()
    assert conn.receive_data(frame(Opcode.PING, b"abc") + frame(Opcode.PING)) == [
        Ping(b"abc"),
        Ping(b""),
    ]
    assert conn.data_to_send() == server_frame(Opcode.PONG, b"abc") + server_frame(Opcode.PONG)
    assert conn.data_to_send() == b""


def test_pong_needs_no_answer() -> None:
    conn = ServerConnection()
    assert conn.receive_data(frame(Opcode.PONG, b"hb")) == [Pong(b"hb")]
    assert conn.data_to_send() == b""


def test_input_types() -> None:
    conn = ServerConnection()
    assert conn.receive_data(bytearray(text("a"))) == [TextMessage("a")]
    assert conn.receive_data(memoryview(text("b"))) == [TextMessage("b")]
    assert conn.receive_data(b"") == []


def test_large_message_in_small_reads_buffers_only_headers() -> None:
    payload = bytes(range(256)) * 400  # 100 KiB
    data = frame(Opcode.BINARY, payload, fin=False) + cont(payload)
    conn = ServerConnection()
    events = []
    for i in range(0, len(data), 7):
        events += conn.receive_data(data[i : i + 7])
        assert conn.buffered < 14  # at most a partial header, never payload
    assert events == [BinaryMessage(payload * 2)]


# --- protocol errors ----------------------------------------------------------------------------

BAD_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"a\x80", b"\xce"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        # RFC 6455 §5.1: client frames are masked
        (unmasked(text("Hello")), 1002),
        (unmasked(frame(Opcode.PING)), 1002),
        # §5.2: reserved bits and opcodes
        (with_bits(text("a"), 0x40), 1002),  # RSV1 without permessage-deflate
        (with_bits(text("a"), 0x20), 1002),
        (with_bits(text("a"), 0x10), 1002),
        (with_bits(frame(Opcode.PING), 0x40), 1002),
        *[(frame(op, b"x"), 1002) for op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)],
        *[(frame(op, b"x", fin=False), 1002) for op in (3, 11)],
        # §5.5: control frames: final, at most 125 bytes
        (frame(Opcode.PING, fin=False), 1002),
        (frame(Opcode.PONG, fin=False), 1002),
        (frame(Opcode.CLOSE, close_payload(1000), fin=False), 1002),
        (frame(Opcode.PING, b"x" * 126), 1002),
        (frame(Opcode.PONG, b"x" * 126), 1002),
        (close(1000, b"x" * 124), 1002),
        # §5.2: the shortest length form, and the top bit of a 64-bit length
        (b"\x82\xfe\x00\x05" + MASK + b"abcde", 1002),
        (b"\x82\xff" + (200).to_bytes(8, "big") + MASK, 1002),
        (b"\x82\xff" + (65535).to_bytes(8, "big") + MASK, 1002),
        (b"\x82\xff" + (1 << 63).to_bytes(8, "big") + MASK, 1002),
        # §5.4: fragmentation
        (cont("a"), 1002),
        (cont("a", fin=False), 1002),
        (text("a", fin=False) + text("b"), 1002),
        (text("a", fin=False) + frame(Opcode.BINARY, b"b"), 1002),
        (frame(Opcode.BINARY, b"a", fin=False) + text("b", fin=False), 1002),
        # §8.1: text is UTF-8
        *[(frame(Opcode.TEXT, bad), 1007) for bad in BAD_UTF8],
        *[(text("ok", fin=False) + cont(bad), 1007) for bad in BAD_UTF8],
        (frame(Opcode.TEXT, b"\xce", fin=False) + cont(b""), 1007),
        (frame(Opcode.TEXT, b"a" * 200 + b"\xff"), 1007),
        # §5.5.1, §7.4: close frames
        (close(None)[:1] + bytes([0x81]) + MASK + b"\x00", 1002),  # a 1-byte payload
        *[(close(code), 1002) for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000)],
        (close(1000, b"\xff"), 1007),
        (close(1000, "é".encode()[:1]), 1007),
    ],
)
def test_protocol_errors(data: bytes, code: int) -> None:
    assert failure(data)[0] == code
    # Byte by byte, the same failure.
    conn = ServerConnection()
    events = [e for i in range(len(data)) for e in conn.receive_data(data[i : i + 1])]
    assert isinstance(events[-1], ProtocolFailed)
    assert events[-1].code == code


def test_failure_close_frame_carries_code_and_reason() -> None:
    conn = ServerConnection()
    events = conn.receive_data(unmasked(text("Hello")))
    assert events == [ProtocolFailed(1002, "client frame is not masked")]
    assert conn.data_to_send() == server_frame(
        Opcode.CLOSE, close_payload(1002, "client frame is not masked")
    )
    assert conn.close_code == 1002
    assert conn.close_reason == "client frame is not masked"


def test_events_before_a_failure_are_kept_and_nothing_after_it_counts() -> None:
    # Autobahn 3.2 and 5.15: the first message comes out, the ping after the bad frame is
    # never answered.
    data = text("first") + with_bits(text("bad"), 0x20) + frame(Opcode.PING, b"p")
    code, before, _conn = failure(data)
    assert (code, before) == (1002, [TextMessage("first")])
    data = text("a", fin=False) + cont("b") + cont("x", fin=False) + text("c")
    assert failure(data)[:2] == (1002, [TextMessage("ab")])


def test_utf8_fails_fast_inside_a_frame() -> None:
    # Autobahn 6.4.3: the frame is not complete, but its bytes already cannot be UTF-8.
    payload = "κόσμε".encode() + b"\xf4\x90\x80\x80" + b"edited"
    data = frame(Opcode.TEXT, payload)
    conn = ServerConnection()
    cut = 2 + 4 + len("κόσμε".encode())
    assert conn.receive_data(data[:cut]) == []
    events = conn.receive_data(data[cut : cut + 2])
    assert [type(e) for e in events] == [ProtocolFailed]
    assert events[0].code == 1007


def test_utf8_fails_fast_across_fragments() -> None:
    # Autobahn 6.4.2: the sequence is broken by the first byte of the second fragment.
    conn = ServerConnection()
    assert conn.receive_data(frame(Opcode.TEXT, "κόσμε".encode() + b"\xf4", fin=False)) == []
    events = conn.receive_data(cont(b"\x90", fin=False))
    assert events[0] == ProtocolFailed(1007, "invalid utf-8 in a text message")


def test_receive_never_raises_on_truncated_or_garbage_input() -> None:
    for data in [b"\x00", b"\xff" * 20, b"\x81", b"\x81\xfe", b"\x81\xff\x00"]:
        conn = ServerConnection()
        conn.receive_data(data)


# --- limits -------------------------------------------------------------------------------------


def test_frame_limit_is_decided_on_the_header() -> None:
    conn = ServerConnection(max_frame_bytes=1000)
    head = frame(Opcode.BINARY, b"x" * 1001)[:8]  # header only, no payload yet
    events = conn.receive_data(head)
    assert events == [ProtocolFailed(1009, "frame of 1001 bytes exceeds the limit of 1000")]
    assert ServerConnection(max_frame_bytes=1000).receive_data(
        frame(Opcode.BINARY, b"x" * 1000)
    ) == [BinaryMessage(b"x" * 1000)]


@pytest.mark.parametrize("limit", [1, 5, 125, 126, 1000])
def test_limits_below_and_at_the_fast_path(limit: int) -> None:
    ok = frame(Opcode.BINARY, b"x" * limit)
    too_big = frame(Opcode.BINARY, b"x" * (limit + 1))
    for kwargs in ({"max_frame_bytes": limit}, {"max_message_bytes": limit}):
        assert feed(ok, **kwargs) == [BinaryMessage(b"x" * limit)]
        assert failure(too_big, **kwargs)[0] == 1009
        assert failure(text("é" * (limit // 2 + 1)), **kwargs)[0] == 1009


def test_message_limit_counts_every_fragment() -> None:
    data = text("a" * 600, fin=False) + cont("b" * 400, fin=False) + cont("c")
    assert failure(data, max_message_bytes=1000)[0] == 1009
    assert feed(data[:-7] + cont(""), max_message_bytes=1000) == [
        TextMessage("a" * 600 + "b" * 400)
    ]


def test_fragment_limit() -> None:
    data = text("a", fin=False) + cont("", fin=False) * 2 + cont("")
    assert feed(data, max_fragments=4) == [TextMessage("a")]
    code, _, conn = failure(data, max_fragments=3)
    assert code == 1009
    assert conn.close_reason_sent == "message of more than 3 fragments"


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_fragments must be at least 1, got 0"):
        ServerConnection(max_fragments=0)


# --- permessage-deflate -------------------------------------------------------------------------


def compressed(opcode: int, data: bytes, deflater: Deflater, *, parts: int = 1) -> bytes:
    payload = deflater.compress(data)
    step = len(payload) // parts + 1
    pieces = [payload[i : i + step] for i in range(0, len(payload), step)]
    if len(pieces) == 1:
        return frame(opcode, payload, rsv1=True)
    out = frame(opcode, pieces[0], fin=False, rsv1=True)
    out += b"".join(cont(p, fin=False) for p in pieces[1:-1])
    return out + cont(pieces[-1])


@pytest.mark.parametrize("takeover", [True, False])
def test_compressed_messages(takeover: bool) -> None:
    params = DeflateParams(client_no_context_takeover=not takeover)
    client = Deflater(no_context_takeover=not takeover)
    conn = ServerConnection(deflate=params)
    messages = ["Hello", "Hello", "", "é" * 1000, "Hello" * 500]
    data = b"".join(compressed(Opcode.TEXT, m.encode(), client, parts=3) for m in messages)
    data += compressed(Opcode.BINARY, b"\x00" * 5000, client)
    data += text("plain")  # an uncompressed message is allowed too (RFC 7692 §6)
    events = [e for i in range(0, len(data), 5) for e in conn.receive_data(data[i : i + 5])]
    assert events == [TextMessage(m) for m in messages] + [
        BinaryMessage(b"\x00" * 5000),
        TextMessage("plain"),
    ]


def test_rfc_7692_frames() -> None:
    # §7.2.3.1 and §7.2.3.2, masked as a client sends them
    conn = ServerConnection(deflate=DeflateParams())
    one = frame(Opcode.TEXT, bytes.fromhex("f248cdc9c90700"), rsv1=True)
    two = frame(Opcode.TEXT, bytes.fromhex("f200110000"), rsv1=True)
    frag = frame(Opcode.TEXT, bytes.fromhex("f248cd"), fin=False, rsv1=True)
    frag += cont(bytes.fromhex("c9c90700"))
    assert conn.receive_data(one + two + frag) == [TextMessage("Hello")] * 3


@pytest.mark.parametrize(
    ("data", "code"),
    [
        # RFC 7692 §6.1: RSV1 only on the first frame of a message
        (text("a", fin=False) + with_bits(cont("b"), 0x40), 1002),
        (with_bits(frame(Opcode.PING), 0x40), 1002),
        (with_bits(close(1000), 0x40), 1002),
        (with_bits(text("a"), 0x20), 1002),
        # Not DEFLATE, and inflated bytes that are not UTF-8
        (frame(Opcode.BINARY, b"\xff\xff\xff", rsv1=True), 1007),
        (compressed(Opcode.TEXT, b"ok\xff", Deflater()), 1007),
    ],
)
def test_compressed_protocol_errors(data: bytes, code: int) -> None:
    assert failure(data, deflate=DeflateParams())[0] == code


def test_zip_bomb_is_1009_without_inflating_it() -> None:
    bomb = compressed(Opcode.BINARY, b"\x00" * (32 << 20), Deflater())
    assert len(bomb) < 64 << 10
    code, _, conn = failure(bomb, deflate=DeflateParams())
    assert code == 1009
    assert conn.close_reason_sent == "message exceeds the size limit once inflated"
    # The same limit holds for a bomb cut into many fragments.
    code = failure(
        compressed(Opcode.TEXT, b"a" * 3000, Deflater(), parts=4),
        deflate=DeflateParams(),
        max_message_bytes=2999,
    )[0]
    assert code == 1009


def test_send_compresses_with_our_window() -> None:
    params = DeflateParams(server_no_context_takeover=True, server_max_window_bits=9)
    conn = ServerConnection(deflate=params)
    inflater = Inflater(9, no_context_takeover=True)
    for message in ["Hello", "Hello", "x" * 10000]:
        out = conn.send_text(message)
        assert out[0] == 0xC1  # FIN, RSV1, text
        n = out[1] if out[1] < 126 else int.from_bytes(out[2:4], "big")
        payload = out[2:] if out[1] < 126 else out[4:]
        assert len(payload) == n
        assert inflater.decompress(payload, 1 << 20) + inflater.finish(1 << 20) == (
            message.encode()
        )
    assert conn.send_binary(b"")[0] == 0xC2


# --- the closing handshake ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "event", "reply"),
    [
        (close(1000), CloseReceived(1000, ""), 1000),
        (close(1001, b"bye"), CloseReceived(1001, "bye"), 1001),
        (close(None), CloseReceived(1005, ""), 1000),  # no code: we reply 1000
        (close(3000, "é".encode() * 61), CloseReceived(3000, "é" * 61), 3000),
        (close(4999, b"x" * 123), CloseReceived(4999, "x" * 123), 4999),
    ],
)
def test_peer_closes_first(data: bytes, event: CloseReceived, reply: int) -> None:
    conn = ServerConnection()
    assert conn.receive_data(data + text("after the close")) == [event]
    assert conn.state is CLOSED
    assert conn.data_to_send() == server_frame(Opcode.CLOSE, close_payload(reply))
    assert (conn.close_code_received, conn.close_reason_received) == (event.code, event.reason)
    assert conn.close_code_sent == reply
    assert (conn.close_code, conn.close_reason) == (event.code, event.reason)
    assert conn.receive_data(frame(Opcode.PING)) == []
    assert conn.data_to_send() == b""
    assert conn.send_close() == b""


def test_close_drops_a_message_in_progress() -> None:
    # Autobahn 7.1.5
    conn = ServerConnection()
    data = text("frag", fin=False) + close(1000) + cont("ment")
    assert conn.receive_data(data) == [CloseReceived(1000, "")]


def test_answers_still_go_out_before_the_queued_close() -> None:
    # The driver answers the events of one read in order, then writes data_to_send().
    conn = ServerConnection()
    events = conn.receive_data(text("echo me") + close(1000))
    assert events == [TextMessage("echo me"), CloseReceived(1000, "")]
    assert conn.send_text("echo me") == server_frame(Opcode.TEXT, b"echo me")
    assert conn.data_to_send() == server_frame(Opcode.CLOSE, close_payload(1000))
    with pytest.raises(ConnectionClosedError, match="after our close frame"):
        conn.send_text("too late")
    with pytest.raises(ConnectionClosedError):
        conn.send_ping()


def test_we_close_first() -> None:
    conn = ServerConnection()
    assert conn.send_close(1001, "going away") == server_frame(
        Opcode.CLOSE, close_payload(1001, "going away")
    )
    assert conn.state is CLOSING
    assert conn.send_close() == b""  # once only
    for send in (conn.send_text, conn.send_binary, conn.send_ping, conn.send_pong):
        with pytest.raises(ConnectionClosedError):
            send(b"" if send is not conn.send_text else "")  # type: ignore[operator]
    # The peer may still send data and pings before its close frame.
    assert conn.receive_data(text("late") + frame(Opcode.PING, b"p")) == [
        TextMessage("late"),
        Ping(b"p"),
    ]
    assert conn.data_to_send() == server_frame(Opcode.PONG, b"p")
    assert conn.receive_data(close(1001)) == [CloseReceived(1001, "")]
    assert conn.state is CLOSED
    assert conn.data_to_send() == b""  # no second close frame
    assert (conn.close_code_sent, conn.close_reason_sent) == (1001, "going away")
    assert conn.close_code == 1001


def test_failure_while_closing_sends_no_second_close() -> None:
    conn = ServerConnection()
    conn.send_close()
    events = conn.receive_data(cont("x"))
    assert [type(e) for e in events] == [ProtocolFailed]
    assert conn.state is CLOSED
    assert conn.data_to_send() == b""
    assert conn.close_code_sent == 1000


def test_send_close_validates_its_arguments() -> None:
    conn = ServerConnection()
    with pytest.raises(ValueError, match="close code 1005"):
        conn.send_close(1005)
    with pytest.raises(ValueError, match="exceeds 123"):
        conn.send_close(1000, "x" * 124)
    assert conn.state is OPEN


def test_close_after_queued_reply_returns_nothing() -> None:
    conn = ServerConnection()
    conn.receive_data(close(1000))
    assert conn.send_close(1001) == b""
    assert conn.data_to_send() == server_frame(Opcode.CLOSE, close_payload(1000))


# --- sending ------------------------------------------------------------------------------------


def test_send_frames() -> None:
    conn = ServerConnection()
    assert conn.send_text("Hello") == bytes.fromhex("810548656c6c6f")
    assert conn.send_binary(b"x" * 200) == bytes.fromhex("827e00c8") + b"x" * 200
    assert conn.send_binary(bytearray(b"ab")) == b"\x82\x02ab"
    assert conn.send_binary(b"y" * 70000)[:10] == bytes.fromhex("827f0000000000011170")
    assert conn.send_ping(b"hb") == b"\x89\x02hb"
    assert conn.send_pong() == b"\x8a\x00"
    with pytest.raises(ValueError, match="ping payload of 126 bytes exceeds 125"):
        conn.send_ping(b"x" * 126)


def test_repr() -> None:
    conn = ServerConnection(deflate=DeflateParams())
    conn.receive_data(b"\x81")
    assert repr(conn) == "<ServerConnection state=OPEN deflate=on buffered=1 to_send=0>"
