"""permessage-deflate (sws_ws.proto._deflate): the RFC 7692 §7.2.3 examples, context
takeover on and off, the 8-bit window, size limits and a zip bomb.
"""

from __future__ import annotations

import pytest

from sws_ws.proto import DeflateParams, Deflater, Inflater, ProtocolError

HELLO = bytes.fromhex("f248cdc9c90700")  # RFC 7692 §7.2.3.1


def inflate_all(inflater: Inflater, *parts: bytes, limit: int = 1 << 20) -> bytes:
    out = b""
    for part in parts:
        out += inflater.decompress(part, limit - len(out))
    return out + inflater.finish(limit - len(out))


# --- RFC 7692 §7.2.3 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "parts",
    [
        [HELLO],  # §7.2.3.1, one frame
        [bytes.fromhex("f248cd"), bytes.fromhex("c9c90700")],  # §7.2.3.1, two fragments
        [bytes.fromhex("0005 00faff 48656c6c6f 00")],  # §7.2.3.3, a stored block
        [bytes.fromhex("f348cdc9c9070000")],  # §7.2.3.4, BFINAL set
        [bytes.fromhex("f24805000000ffffcac9c90700")],  # §7.2.3.5, two blocks
    ],
)
def test_rfc_7692_examples_inflate_to_hello(parts: list[bytes]) -> None:
    assert inflate_all(Inflater(), *parts) == b"Hello"


def test_rfc_7692_shared_window_example() -> None:
    # §7.2.3.2: the second "Hello" refers back to the first one.
    inflater = Inflater()
    assert inflate_all(inflater, HELLO) == b"Hello"
    assert inflate_all(inflater, bytes.fromhex("f200110000")) == b"Hello"


def test_deflater_reproduces_the_rfc_examples() -> None:
    deflater = Deflater()
    assert deflater.compress(b"Hello") == HELLO
    assert deflater.compress(b"Hello") == bytes.fromhex("f200110000")
    fresh = Deflater(no_context_takeover=True)
    assert fresh.compress(b"Hello") == HELLO
    assert fresh.compress(b"Hello") == HELLO


def test_empty_message() -> None:
    # §7.2.3.6: an empty message may be sent as the single byte 0x00.
    assert inflate_all(Inflater(), b"\x00") == b""
    assert inflate_all(Inflater(), Deflater().compress(b"")) == b""


def test_bfinal_resets_the_inflater_for_the_next_message() -> None:
    inflater = Inflater()
    assert inflate_all(inflater, bytes.fromhex("f348cdc9c9070000")) == b"Hello"
    assert inflate_all(inflater, HELLO) == b"Hello"
    # Bytes after the final block are not data.
    assert inflate_all(inflater, bytes.fromhex("f348cdc9c9070000"), b"junk" * 100) == b"Hello"


# --- round trips --------------------------------------------------------------------------------

MESSAGES = [b"", b"a", b"Hello, Hello, Hello!", bytes(range(256)) * 40, b"x" * 100_000]


@pytest.mark.parametrize("takeover", [True, False])
@pytest.mark.parametrize("bits", [8, 9, 12, 15])
def test_round_trip(takeover: bool, bits: int) -> None:
    deflater = Deflater(bits, no_context_takeover=not takeover)
    inflater = Inflater(bits, no_context_takeover=not takeover)
    for message in MESSAGES * 2:
        compressed = deflater.compress(message)
        assert not compressed.endswith(b"\x00\x00\xff\xff") or not message
        assert inflate_all(inflater, compressed) == message


def test_context_takeover_compresses_repeats_better() -> None:
    message = bytes(range(200)) * 2
    keep, fresh = Deflater(), Deflater(no_context_takeover=True)
    keep.compress(message)
    fresh.compress(message)
    assert len(keep.compress(message)) < len(fresh.compress(message)) // 10


def test_no_context_takeover_messages_inflate_alone() -> None:
    deflater = Deflater(no_context_takeover=True)
    deflater.compress(b"Hello world, " * 10)
    second = deflater.compress(b"Hello world, " * 10)
    assert inflate_all(Inflater(no_context_takeover=True), second) == b"Hello world, " * 10


# A minimal DEFLATE reader (RFC 1951 §3.2) that reports the farthest match distance: zlib's
# own inflater accepts distances past a small window within one call, so it cannot tell.
_LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83]
_LEN_BASE += [99, 115, 131, 163, 195, 227, 258]
_LEN_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
_DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769]
_DIST_BASE += [1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
_DIST_EXTRA = [0, 0, 0, 0] + [n for n in range(1, 14) for _ in (0, 1)]
_CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]


def max_match_distance(data: bytes) -> int:
    """The largest back-reference distance in a sync-flushed raw DEFLATE stream."""
    bits = int.from_bytes(data, "little")
    pos = 0

    def read(n: int) -> int:
        nonlocal pos
        value = (bits >> pos) & ((1 << n) - 1)
        pos += n
        return value

    def table(lengths: list[int]) -> dict[tuple[int, int], int]:
        codes, code = {}, 0
        for length in range(1, 16):
            for symbol, n in enumerate(lengths):
                if n == length:
                    codes[(n, code)] = symbol
                    code += 1
            code <<= 1
        return codes

    def symbol(codes: dict[tuple[int, int], int]) -> int:
        code = length = 0
        while (length, code) not in codes:
            code = (code << 1) | read(1)
            length += 1
        return codes[(length, code)]

    farthest = 0
    while pos < len(data) * 8 - 7:
        read(1)  # BFINAL
        kind = read(2)
        if kind == 0:  # stored: skip to the byte boundary, then LEN bytes
            pos = (pos + 7) // 8 * 8
            pos += 32 + read(16) * 8 - 16
            continue
        if kind == 1:
            lit = table([8] * 144 + [9] * 112 + [7] * 24 + [8] * 8)
            dist = table([5] * 30)
        else:
            hlit, hdist, hclen = read(5) + 257, read(5) + 1, read(4) + 4
            cl = [0] * 19
            for i in range(hclen):
                cl[_CL_ORDER[i]] = read(3)
            cl_codes, lengths = table(cl), []
            while len(lengths) < hlit + hdist:
                s = symbol(cl_codes)
                if s < 16:
                    lengths.append(s)
                elif s == 16:
                    lengths += [lengths[-1]] * (3 + read(2))
                else:
                    lengths += [0] * ((3 + read(3)) if s == 17 else (11 + read(7)))
            lit, dist = table(lengths[:hlit]), table(lengths[hlit:])
        while (s := symbol(lit)) != 256:
            if s > 256:
                read(_LEN_EXTRA[s - 257])
                d = symbol(dist)
                farthest = max(farthest, _DIST_BASE[d] + read(_DIST_EXTRA[d]))
    return farthest


def test_distance_reader_sees_far_matches() -> None:
    data = bytes(range(256)) * 4
    assert max_match_distance(Deflater(15).compress(data)) == 256
    assert max_match_distance(Deflater(15).compress(b"abc" * 10)) == 3


def test_window_8_uses_only_distance_1_matches() -> None:
    # zlib refuses raw deflate with window 8; window 9 with Z_RLE stays within 256 bytes.
    data = (bytes(range(256)) * 2 + b"z" * 300 + b"abc" * 100) * 3
    deflater = Deflater(8)
    inflater = Inflater(8)
    for _ in range(3):
        compressed = deflater.compress(data)
        assert max_match_distance(compressed) == 1
        assert inflate_all(inflater, compressed) == data
    runs = b"a" * 1000 + b"b" * 1000
    assert len(deflater.compress(runs)) < 50


def test_inflated_size_limit_and_zip_bomb() -> None:
    bomb = Deflater().compress(b"\x00" * (64 << 20))  # 64 MiB in about 64 KiB
    assert len(bomb) < 100_000
    inflater = Inflater()
    with pytest.raises(ProtocolError) as info:
        inflater.decompress(bomb, 1 << 20)
    assert info.value.code == 1009
    # The limit is exact: a message of exactly max_bytes passes, one byte more does not.
    message = Deflater().compress(b"y" * 1000)
    assert inflate_all(Inflater(), message, limit=1000) == b"y" * 1000
    with pytest.raises(ProtocolError, match="size limit"):
        inflate_all(Inflater(), message, limit=999)


def test_corrupt_data_is_1007() -> None:
    with pytest.raises(ProtocolError, match="invalid compressed data") as info:
        inflate_all(Inflater(), b"\xff\xff\xff\xff")
    assert info.value.code == 1007


def test_params_and_window_validation() -> None:
    assert DeflateParams() == DeflateParams(False, False, 15, 15)
    with pytest.raises(ValueError, match="window bits"):
        DeflateParams(server_max_window_bits=16)
    with pytest.raises(ValueError, match="window bits"):
        Deflater(7)
    with pytest.raises(ValueError, match="window bits"):
        Inflater(16)
    assert repr(Deflater(10, True)) == "<Deflater window_bits=10 no_context_takeover=True>"
    assert repr(Inflater()) == "<Inflater window_bits=15 no_context_takeover=False>"
