"""Frames (sws_ws.proto._frames): the RFC 6455 §5.7 examples byte for byte, every length
form, masking, and close payloads (RFC 6455 §5.5.1, §7.4).
"""

from __future__ import annotations

import pytest

from sws_ws.proto import (
    CloseCode,
    Opcode,
    apply_mask,
    close_payload,
    encode_frame,
    is_valid_close_code,
)

RFC_MASK = bytes.fromhex("37fa213d")


# --- RFC 6455 §5.7 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        # A single-frame unmasked text message
        (encode_frame(Opcode.TEXT, b"Hello"), "810548656c6c6f"),
        # A single-frame masked text message
        (encode_frame(Opcode.TEXT, b"Hello", mask=RFC_MASK), "818537fa213d7f9f4d5158"),
        # A fragmented unmasked text message
        (encode_frame(Opcode.TEXT, b"Hel", fin=False), "010348656c"),
        (encode_frame(Opcode.CONTINUATION, b"lo"), "80026c6f"),
        # Unmasked Ping request and masked Ping response
        (encode_frame(Opcode.PING, b"Hello"), "890548656c6c6f"),
        (encode_frame(Opcode.PONG, b"Hello", mask=RFC_MASK), "8a8537fa213d7f9f4d5158"),
    ],
)
def test_rfc_6455_examples(frame: bytes, expected: str) -> None:
    assert frame == bytes.fromhex(expected)


def test_rfc_6455_256_byte_binary_uses_the_16_bit_length() -> None:
    payload = bytes(range(256))
    frame = encode_frame(Opcode.BINARY, payload)
    assert frame[:4] == bytes.fromhex("827e0100")
    assert frame[4:] == payload


def test_rfc_6455_64_kib_binary_uses_the_64_bit_length() -> None:
    payload = b"\xab" * 65536
    frame = encode_frame(Opcode.BINARY, payload)
    assert frame[:10] == bytes.fromhex("827f0000000000010000")
    assert frame[10:] == payload


@pytest.mark.parametrize(
    ("length", "head"),
    [
        (0, "8200"),
        (125, "827d"),
        (126, "827e007e"),
        (65535, "827effff"),
        (65536, "827f0000000000010000"),
    ],
)
def test_length_forms_are_minimal(length: int, head: str) -> None:
    assert encode_frame(Opcode.BINARY, b"x" * length)[: len(head) // 2] == bytes.fromhex(head)


def test_masked_long_frame_puts_the_key_after_the_length() -> None:
    frame = encode_frame(Opcode.BINARY, b"\x00" * 300, mask=b"\x01\x02\x03\x04")
    assert frame[:8] == bytes.fromhex("82fe012c01020304")
    assert frame[8:] == b"\x01\x02\x03\x04" * 75


def test_rsv1_and_fin_bits() -> None:
    assert encode_frame(Opcode.TEXT, b"", rsv1=True)[0] == 0xC1
    assert encode_frame(Opcode.TEXT, b"", fin=False, rsv1=True)[0] == 0x41
    assert encode_frame(Opcode.CONTINUATION, b"", fin=False)[0] == 0x00


def test_encode_frame_accepts_reserved_opcodes_but_not_out_of_range() -> None:
    assert encode_frame(3, b"")[0] == 0x83  # for building invalid frames in tests
    with pytest.raises(ValueError, match="opcode"):
        encode_frame(16, b"")
    with pytest.raises(ValueError, match="masking key"):
        encode_frame(Opcode.TEXT, b"", mask=b"abc")


# --- masking ------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 3, 4, 5, 125, 4095, 4096, 4097, 70001])
def test_apply_mask_matches_the_definition(length: int) -> None:
    data = bytes(i * 7 % 256 for i in range(length))
    mask = b"\x8f\x00\xff\x31"
    expected = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    assert apply_mask(data, mask) == expected
    assert apply_mask(bytearray(data), mask) == expected
    assert apply_mask(memoryview(data), mask) == expected
    assert apply_mask(expected, mask) == data


def test_apply_mask_rfc_example() -> None:
    assert apply_mask(b"Hello", RFC_MASK) == bytes.fromhex("7f9f4d5158")


def test_apply_mask_needs_a_4_byte_key() -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        apply_mask(b"data", b"\x00" * 5)


# --- close codes and payloads -------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]
)
def test_valid_close_codes(code: int) -> None:
    assert is_valid_close_code(code)
    assert close_payload(code) == code.to_bytes(2, "big")


@pytest.mark.parametrize(
    "code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
)
def test_invalid_close_codes(code: int) -> None:
    assert not is_valid_close_code(code)
    with pytest.raises(ValueError, match=f"close code {code}"):
        close_payload(code)


def test_close_payload_reason_is_utf8_and_at_most_123_bytes() -> None:
    assert close_payload(1000, "bye") == b"\x03\xe8bye"
    assert close_payload(1001, "é" * 61) == b"\x03\xe9" + ("é" * 61).encode()  # 122 bytes
    assert len(close_payload(1000, "x" * 123)) == 125
    with pytest.raises(ValueError, match="124 bytes exceeds 123"):
        close_payload(1000, "x" * 124)
    with pytest.raises(ValueError, match="124 bytes exceeds 123"):
        close_payload(1000, "é" * 62)


def test_enum_values() -> None:
    assert [int(o) for o in Opcode] == [0, 1, 2, 8, 9, 10]
    assert CloseCode.NO_STATUS == 1005
    assert CloseCode.MESSAGE_TOO_BIG == 1009
    assert CloseCode.BAD_GATEWAY == 1014
