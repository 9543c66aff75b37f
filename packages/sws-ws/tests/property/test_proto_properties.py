"""Properties of sws_ws.proto (hypothesis).

(a) Frames built by `encode_frame` (random opcodes, payloads, masks, fragmentation, control
    frames in between, compressed or not) come out of `ServerConnection` as the messages
    they carry, and however the stream is split into reads, the events are the same.
(b) `apply_mask` is an involution and agrees with the per-byte definition.
(c) Incremental UTF-8 validation agrees with one-shot `bytes.decode("utf-8")` for any bytes
    cut into any fragments and reads: valid gives the message, invalid gives 1007.
(d) Random and mutated bytes give only events, at most one `ProtocolFailed` and nothing
    after it or after a `CloseReceived`; `receive_data` never raises.
(e) permessage-deflate round trips for any messages and parameters, in both directions.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
from hypothesis import given

from sws_ws.proto import (
    BinaryMessage,
    CloseReceived,
    DeflateParams,
    Deflater,
    Inflater,
    Opcode,
    Ping,
    Pong,
    ProtocolFailed,
    ServerConnection,
    TextMessage,
    apply_mask,
    close_payload,
    encode_frame,
)

masks = st.binary(min_size=4, max_size=4)
window_bits = st.integers(8, 15)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """`data` split at `points` (any values; clipped and sorted)."""
    points = sorted(min(max(p, 0), len(data)) for p in points)
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def feed_all(conn: ServerConnection, chunks: list[bytes]) -> list[Any]:
    return [event for chunk in chunks for event in conn.receive_data(chunk)]


@st.composite
def streams(draw: st.DrawFn, deflater: Deflater | None = None) -> tuple[bytes, list[Any]]:
    """A stream of client frames and the events it must give."""
    frames: list[bytes] = []
    events: list[Any] = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["text", "binary", "ping", "pong"]))
        if kind in ("ping", "pong"):
            payload = draw(st.binary(max_size=125))
            opcode = Opcode.PING if kind == "ping" else Opcode.PONG
            frames.append(encode_frame(opcode, payload, mask=draw(masks)))
            events.append(Ping(payload) if kind == "ping" else Pong(payload))
            continue
        if kind == "text":
            message: Any = draw(st.text(max_size=300))
            data = message.encode()
            event: Any = TextMessage(message)
        else:
            data = draw(st.binary(max_size=300))
            event = BinaryMessage(data)
        compressed = deflater is not None and draw(st.booleans())
        if compressed:
            assert deflater is not None
            data = deflater.compress(data)
        pieces = cut(data, draw(st.lists(st.integers(0, len(data)), max_size=4)))
        for i, piece in enumerate(pieces):
            opcode = (Opcode.TEXT if kind == "text" else Opcode.BINARY) if i == 0 else 0
            last = i == len(pieces) - 1
            rsv1 = compressed and i == 0
            frames.append(encode_frame(opcode, piece, fin=last, rsv1=rsv1, mask=draw(masks)))
            if not last and draw(st.booleans()):  # a control frame between fragments
                payload = draw(st.binary(max_size=20))
                frames.append(encode_frame(Opcode.PING, payload, mask=draw(masks)))
                events.append(Ping(payload))
        events.append(event)
    if draw(st.booleans()):
        frames.append(encode_frame(Opcode.CLOSE, close_payload(1000, "end"), mask=draw(masks)))
        events.append(CloseReceived(1000, "end"))
        frames.append(encode_frame(Opcode.TEXT, b"ignored", mask=draw(masks)))
    return b"".join(frames), events


# --- (a) frames and splits ----------------------------------------------------------------------


@given(stream=streams(), points=st.lists(st.integers(0, 5000), max_size=20))
def test_stream_gives_its_events_however_split(
    stream: tuple[bytes, list[Any]], points: list[int]
) -> None:
    data, expected = stream
    assert ServerConnection().receive_data(data) == expected
    assert feed_all(ServerConnection(), cut(data, points)) == expected


@given(data=st.data(), takeover=st.booleans(), bits=window_bits)
def test_compressed_stream_gives_its_events_however_split(
    data: st.DataObject, takeover: bool, bits: int
) -> None:
    deflater = Deflater(bits, no_context_takeover=not takeover)
    stream, expected = data.draw(streams(deflater))
    points = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    params = DeflateParams(client_no_context_takeover=not takeover, client_max_window_bits=bits)
    assert feed_all(ServerConnection(deflate=params), cut(stream, points)) == expected


lengths = st.one_of(
    st.integers(0, 300),
    st.sampled_from([125, 126, 127, 4095, 4096, 65535, 65536, 65537]),
    st.integers(0, 70_000),
)


@given(
    opcode=st.sampled_from([Opcode.TEXT, Opcode.BINARY]),
    length=lengths,
    seed=st.binary(min_size=1, max_size=64),
    mask=masks,
)
def test_single_frame_round_trip_every_length_form(
    opcode: int, length: int, seed: bytes, mask: bytes
) -> None:
    payload = (seed * (length // len(seed) + 1))[:length]
    if opcode == Opcode.TEXT:
        payload = payload.decode("latin-1").encode()  # valid UTF-8 of about that length
    frame = encode_frame(opcode, payload, mask=mask)
    [event] = ServerConnection().receive_data(frame)
    expected = TextMessage(payload.decode()) if opcode == Opcode.TEXT else BinaryMessage(payload)
    assert event == expected


# --- (b) masking --------------------------------------------------------------------------------


@given(data=st.binary(max_size=10_000), mask=masks)
def test_apply_mask_is_an_involution(data: bytes, mask: bytes) -> None:
    masked = apply_mask(data, mask)
    assert masked == bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    assert apply_mask(masked, mask) == data


# --- (c) incremental UTF-8 ----------------------------------------------------------------------


@st.composite
def maybe_utf8(draw: st.DrawFn) -> bytes:
    """Bytes that are valid UTF-8, or nearly: one byte changed, inserted or cut off."""
    data = draw(st.text(max_size=40)).encode()
    how = draw(st.sampled_from(["valid", "replace", "insert", "truncate", "random"]))
    if how == "random":
        return draw(st.binary(max_size=40))
    if how == "valid" or (not data and how != "insert"):
        return data
    i = draw(st.integers(0, len(data) - (how != "insert")))
    byte = bytes([draw(st.integers(0x80, 0xFF))])
    if how == "replace":
        return data[:i] + byte + data[i + 1 :]
    if how == "insert":
        return data[:i] + byte + data[i:]
    return data[: i + 1] if i + 1 < len(data) else data[:-1]


@given(
    payload=maybe_utf8(),
    fragments=st.lists(st.integers(0, 60), max_size=5),
    reads=st.lists(st.integers(0, 200), max_size=10),
)
def test_incremental_utf8_agrees_with_one_shot_decode(
    payload: bytes, fragments: list[int], reads: list[int]
) -> None:
    pieces = cut(payload, fragments)
    stream = b"".join(
        encode_frame(
            Opcode.TEXT if i == 0 else 0, p, fin=i == len(pieces) - 1, mask=b"\x12\x34\x56\x78"
        )
        for i, p in enumerate(pieces)
    )
    events = feed_all(ServerConnection(), cut(stream, reads))
    try:
        expected = payload.decode("utf-8")
    except UnicodeDecodeError:
        assert len(events) == 1
        assert isinstance(events[0], ProtocolFailed)
        assert events[0].code == 1007
    else:
        assert events == [TextMessage(expected)]


# --- (d) garbage never raises -------------------------------------------------------------------


def check_events(events: list[Any]) -> None:
    kinds = (TextMessage, BinaryMessage, Ping, Pong, CloseReceived, ProtocolFailed)
    assert all(isinstance(e, kinds) for e in events)
    for i, event in enumerate(events):
        if isinstance(event, ProtocolFailed | CloseReceived):
            assert i == len(events) - 1
        if isinstance(event, ProtocolFailed):
            assert event.code in (1002, 1007, 1009)


@given(
    data=st.binary(max_size=600),
    points=st.lists(st.integers(0, 600), max_size=10),
    deflate=st.booleans(),
)
def test_random_bytes_give_events_or_failure(data: bytes, points: list[int], deflate: bool) -> None:
    conn = ServerConnection(deflate=DeflateParams() if deflate else None, max_message_bytes=500)
    check_events(feed_all(conn, cut(data, points)))
    conn.data_to_send()


@given(
    data=st.data(),
    deflate=st.booleans(),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=4),
)
def test_mutated_streams_give_events_or_failure(
    data: st.DataObject, deflate: bool, flips: list[tuple[int, int]]
) -> None:
    stream, _ = data.draw(streams(Deflater() if deflate else None))
    mutated = bytearray(stream)
    for where, xor in flips:
        if mutated:
            mutated[where % len(mutated)] ^= xor
    points = data.draw(st.lists(st.integers(0, len(mutated)), max_size=10))
    conn = ServerConnection(deflate=DeflateParams() if deflate else None, max_fragments=3)
    check_events(feed_all(conn, cut(bytes(mutated), points)))


# --- (e) permessage-deflate ---------------------------------------------------------------------


@given(
    messages=st.lists(st.binary(max_size=2000), max_size=6),
    bits=window_bits,
    takeover=st.booleans(),
)
def test_deflate_round_trip(messages: list[bytes], bits: int, takeover: bool) -> None:
    deflater = Deflater(bits, no_context_takeover=not takeover)
    inflater = Inflater(bits, no_context_takeover=not takeover)
    for message in messages:
        compressed = deflater.compress(message)
        out = inflater.decompress(compressed, len(message)) + inflater.finish(len(message))
        assert out == message


@given(
    messages=st.lists(st.text(max_size=500), max_size=6),
    server_bits=window_bits,
    server_nct=st.booleans(),
)
def test_server_messages_inflate_on_the_client(
    messages: list[str], server_bits: int, server_nct: bool
) -> None:
    params = DeflateParams(
        server_no_context_takeover=server_nct, server_max_window_bits=server_bits
    )
    conn = ServerConnection(deflate=params)
    inflater = Inflater(server_bits, no_context_takeover=server_nct)
    for message in messages:
        frame = conn.send_text(message)
        assert frame[0] == 0xC1
        payload = frame[2:] if frame[1] < 126 else frame[4:]
        out = inflater.decompress(payload, 1 << 20) + inflater.finish(1 << 20)
        assert out.decode() == message
