"""Frames on the wire (RFC 6455 §5.2): opcodes, close codes, encoding and masking.

    0                   1                   2                   3
    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
   +-+-+-+-+-------+-+-------------+-------------------------------+
   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
   | |1|2|3|       |K|             |                               |
   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
   |     Extended payload length continued, if payload len == 127  |
   + - - - - - - - - - - - - - - - +-------------------------------+
   |                               |Masking-key, if MASK set to 1  |
   +-------------------------------+-------------------------------+

Lengths use the fewest bytes that hold them (7 bits, else 16, else 64 with the top bit 0).
Masking XORs the payload with the 4-byte key, repeated (§5.3); it is its own inverse.
`encode_frame` writes what it is asked to (tests use it to build invalid frames); the rules
on what may be sent are `ServerConnection`'s.
"""

from __future__ import annotations

import enum
import struct
from typing import Final


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 §5.2, §11.8); 3-7 and 11-15 are reserved."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(enum.IntEnum):
    """Close status codes (RFC 6455 §7.4.1, and IANA's registry for 1012-1015)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS = 1005  # never on the wire: what a close without a payload reports
    ABNORMAL = 1006  # never on the wire: the connection dropped without a close frame
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015  # never on the wire


MAX_CONTROL_PAYLOAD_BYTES: Final = 125  # RFC 6455 §5.5
MAX_CLOSE_REASON_BYTES: Final = 123  # a control payload less the 2-byte code (§5.5.1)

FIN: Final = 0x80
RSV1: Final = 0x40
RSV2: Final = 0x20
RSV3: Final = 0x10
MASK: Final = 0x80

HEAD_7: Final = struct.Struct("!BB")  # first byte, 7-bit length
HEAD_16: Final = struct.Struct("!BBH")  # ... 126, 16-bit length
HEAD_64: Final = struct.Struct("!BBQ")  # ... 127, 64-bit length
U16: Final = struct.Struct("!H")
U64: Final = struct.Struct("!Q")

_from_bytes = int.from_bytes
# XOR tables for bytes.translate, one per key byte: _XOR[k][b] == b ^ k.
_XOR: Final = tuple(
    (_from_bytes(bytes(range(256))) ^ _from_bytes(bytes((k,)) * 256)).to_bytes(256)
    for k in range(256)
)
# Under this size one big-integer XOR is fastest; from it on, four strided translates
# (about 1 ns a byte against 2.3 on CPython 3.11 x86-64).
_TRANSLATE_MIN_BYTES: Final = 4096


def xor_mask(data: bytes | bytearray | memoryview, mask: bytes) -> bytes:
    """`apply_mask` without its checks (the mask is 4 bytes); no Python loop over bytes."""
    n = len(data)
    if n < _TRANSLATE_MIN_BYTES:
        if not n:
            return b""
        key = (mask * ((n >> 2) + 1))[:n]
        return (_from_bytes(data, "little") ^ _from_bytes(key, "little")).to_bytes(n, "little")
    data = bytes(data) if type(data) is not bytes else data
    out = bytearray(n)
    out[0::4] = data[0::4].translate(_XOR[mask[0]])
    out[1::4] = data[1::4].translate(_XOR[mask[1]])
    out[2::4] = data[2::4].translate(_XOR[mask[2]])
    out[3::4] = data[3::4].translate(_XOR[mask[3]])
    return bytes(out)


def is_valid_close_code(code: int) -> bool:
    """Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4).

    1000-1003 and 1007-1014 are defined or registered; 3000-3999 are for libraries and
    frameworks (IANA), 4000-4999 for private use. 1004 is reserved; 1005, 1006 and 1015
    are never sent; the rest of 1000-2999 is reserved for the protocol; below 1000 and from
    5000 up, nothing is defined.

    Args:
        code: a close status code.

    Returns:
        Whether a close frame may carry it.
    """
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def apply_mask(data: bytes | bytearray | memoryview, mask: bytes) -> bytes:
    """XOR `data` with the 4-byte `mask` repeated (RFC 6455 §5.3); its own inverse.

    No Python loop over bytes: one big-integer XOR for small buffers, four strided
    `bytes.translate` calls for large ones.

    Args:
        data: the payload (or a part of it that starts at a multiple of 4 bytes).
        mask: the masking key, exactly 4 bytes.

    Returns:
        The masked (or unmasked) bytes, as long as `data`.

    Raises:
        ValueError: `mask` is not 4 bytes long.
    """
    if len(mask) != 4:
        raise ValueError(f"a masking key is 4 bytes, got {len(mask)}")
    return xor_mask(data, mask)


def encode_frame(
    opcode: int,
    payload: bytes | bytearray | memoryview,
    *,
    fin: bool = True,
    rsv1: bool = False,
    mask: bytes | None = None,
) -> bytes:
    """One frame: the header with the shortest length form, then the payload (RFC 6455 §5.2).

    Servers send unmasked frames; clients mask theirs (§5.1), which is what `mask` is for.

    Args:
        opcode: 0-15 (an `Opcode`, or a reserved value to build an invalid frame).
        payload: the application data (already compressed, for a compressed message).
        fin: whether this is the last frame of its message.
        rsv1: the "compressed" bit of permessage-deflate (RFC 7692 §6).
        mask: a 4-byte masking key, or None for an unmasked frame.

    Returns:
        The frame, ready to write.

    Raises:
        ValueError: `opcode` is outside 0-15, `mask` is not 4 bytes, or the payload is
            2**63 bytes or more.
    """
    if not 0 <= opcode <= 15:
        raise ValueError(f"an opcode is 0-15, got {opcode}")
    b0 = opcode | (FIN if fin else 0) | (RSV1 if rsv1 else 0)
    m = 0
    if mask is not None:
        if len(mask) != 4:
            raise ValueError(f"a masking key is 4 bytes, got {len(mask)}")
        m = MASK
        payload = apply_mask(payload, mask)
        head_tail = mask
    else:
        head_tail = b""
    n = len(payload)
    if n < 126:
        head = HEAD_7.pack(b0, m | n)
    elif n < 65536:
        head = HEAD_16.pack(b0, m | 126, n)
    elif n < 1 << 63:
        head = HEAD_64.pack(b0, m | 127, n)
    else:
        raise ValueError(f"a frame payload is under 2**63 bytes, got {n}")
    return b"".join((head, head_tail, payload))


def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame: the code (2 bytes, network order), then the reason.

    Args:
        code: a close code that may be sent (RFC 6455 §7.4: 1000-1003, 1007-1014,
            3000-4999).
        reason: text for the peer; at most 123 bytes once UTF-8 encoded (§5.5.1).

    Returns:
        The payload bytes.

    Raises:
        ValueError: the code may not be sent, or the reason is too long.
    """
    if not is_valid_close_code(code):
        raise ValueError(f"close code {code} may not be sent (RFC 6455 §7.4)")
    data = reason.encode()
    if len(data) > MAX_CLOSE_REASON_BYTES:
        raise ValueError(
            f"close reason of {len(data)} bytes exceeds {MAX_CLOSE_REASON_BYTES} (RFC 6455 §5.5)"
        )
    return U16.pack(code) + data


def truncate_reason(reason: str) -> str:
    """`reason`, cut to fit a close frame (at most 123 UTF-8 bytes, whole characters)."""
    data = reason.encode()
    if len(data) <= MAX_CLOSE_REASON_BYTES:
        return reason
    return data[:MAX_CLOSE_REASON_BYTES].decode("utf-8", "ignore")
