"""`FrameReader`: frames and messages from a client's bytes (RFC 6455 §5, RFC 7692 §6).

Rules that hold in this module:

- Every frame of every read is processed, in order; a frame may be split at any byte.
  Only a partial header or a partial control frame (at most 131 bytes) is left over for
  the next read: a data frame's payload is consumed as it arrives (unmasked, inflated and
  UTF-8 checked piece by piece), so a large message read in small pieces is copied once,
  and a text message fails the moment its bytes cannot become valid UTF-8 (Autobahn's
  "fail fast" cases 6.4.*).
- Limits are decided on the frame header, before any payload is kept: a frame past
  `max_frame_bytes`, a message past `max_message_bytes` (for a compressed message, its
  inflated size, checked as zlib produces it) or past `max_fragments` frames fails with 1009.
- Any broken rule raises `ProtocolError`; the events appended before it stay valid.
- Control frames are whole before they are handed to `_control`, which the connection
  defines (pings, pongs and the closing handshake are its business, not the parser's).
"""

from __future__ import annotations

import codecs
from typing import Final

from sws_ws.proto._deflate import DeflateParams, Inflater
from sws_ws.proto._errors import ProtocolError
from sws_ws.proto._events import BinaryMessage, Event, TextMessage
from sws_ws.proto._frames import MAX_CONTROL_PAYLOAD_BYTES, U16, U64, xor_mask

# Limits (units in the names). Precedents in the comments.
# One frame's payload as sent (compressed or not): the websockets library's max_size, 1 MiB.
DEFAULT_MAX_FRAME_BYTES: Final = 1 << 20
# One message's payload, inflated: websockets' max_size, 1 MiB. Autobahn's cases 9.1.4-9.1.6
# and 9.2.4-9.2.6 send 4, 8 and 16 MiB messages: a conformance server passes a larger limit.
DEFAULT_MAX_MESSAGE_BYTES: Final = 1 << 20
# Frames in one message. Browsers send one frame per message and no common client cuts a
# message finer than a few KiB, while an empty fragment costs CPU and counts for no bytes.
# Autobahn's cases 9.3.1 and 9.4.1 send 4 MiB in 64-byte fragments (65536 of them).
DEFAULT_MAX_FRAGMENTS: Final = 1024

_Utf8Decoder = codecs.getincrementaldecoder("utf-8")


class FrameReader:
    """The parsing half of a server connection: client frames in, message events out.

    Args:
        deflate: the permessage-deflate parameters, or None when not negotiated.
        max_frame_bytes: one frame's payload, as sent; past it: 1009.
        max_message_bytes: one message's payload, inflated; past it: 1009.
        max_fragments: frames in one message; past it: 1009.
    """

    __slots__ = (
        "_bin_parts",
        "_compressed",
        "_decoder",
        "_fast_max",
        "_fin",
        "_frames",
        "_inflater",
        "_left",
        "_mask",
        "_offset",
        "_opcode",
        "_size",
        "_text_parts",
        "_whole_max",
        "max_fragments",
        "max_frame_bytes",
        "max_message_bytes",
    )

    def __init__(
        self,
        *,
        deflate: DeflateParams | None = None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        max_fragments: int = DEFAULT_MAX_FRAGMENTS,
    ) -> None:
        for name, value in (
            ("max_frame_bytes", max_frame_bytes),
            ("max_message_bytes", max_message_bytes),
            ("max_fragments", max_fragments),
        ):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        self.max_frame_bytes = max_frame_bytes
        self.max_message_bytes = max_message_bytes
        self.max_fragments = max_fragments
        # The largest single-frame message the fast paths take whole: any size within the
        # limits once the frame is complete; up to 125 bytes when it is the whole read.
        self._whole_max = min(max_frame_bytes, max_message_bytes)
        self._fast_max = min(MAX_CONTROL_PAYLOAD_BYTES, self._whole_max)
        self._inflater: Inflater | None = None
        if deflate is not None:
            self._inflater = Inflater(
                deflate.client_max_window_bits, deflate.client_no_context_takeover
            )
        self._decoder: codecs.IncrementalDecoder | None = None
        # The message in progress (opcode 0: none).
        self._opcode = 0
        self._compressed = False
        self._size = 0  # payload bytes so far (inflated, for a compressed message)
        self._frames = 0
        self._text_parts: list[str] = []
        self._bin_parts: list[bytes] = []
        # The data frame in progress: payload bytes still to come, mask, bytes seen, FIN.
        self._left = 0
        self._mask = b""
        self._offset = 0
        self._fin = False

    def _parse(self, data: bytes, events: list[Event]) -> int:
        """Process the frames in `data`; return how many bytes were used."""
        pos = 0
        end = len(data)
        while pos < end:
            left = self._left
            if left:
                n = end - pos if end - pos < left else left
                self._payload(data[pos : pos + n], events)
                pos += n
                continue
            if end - pos < 2:
                return pos
            b0 = data[pos]
            b1 = data[pos + 1]
            opcode = b0 & 0x0F
            # RFC 6455 §5.2: RSV bits need an extension that defines them, opcodes 3-7 and
            # 11-15 are reserved; §5.1: a client masks every frame.
            if b0 & 0x70 or b1 < 0x80 or 2 < opcode < 8 or opcode > 10:
                self._bad_header(b0, b1)
            length = b1 & 0x7F
            if opcode >= 8:
                # §5.5: control frames are never fragmented and carry at most 125 bytes.
                stop = pos + 6 + length
                if not b0 & 0x80:
                    raise ProtocolError(f"control frame (opcode {opcode}) without fin")
                if length > MAX_CONTROL_PAYLOAD_BYTES:
                    raise ProtocolError(f"control frame of {length} bytes exceeds 125")
                if stop > end:
                    return pos
                payload = xor_mask(data[pos + 6 : stop], data[pos + 2 : pos + 6])
                pos = stop
                if self._control(opcode, payload, events):
                    return end  # a close frame: nothing after it counts
                continue
            # §5.2: "the minimal number of bytes MUST be used to encode the length", and the
            # most significant bit of a 64-bit length MUST be 0.
            if length < 126:
                start = pos + 6
            elif length == 126:
                start = pos + 8
                if start > end:
                    return pos
                length = U16.unpack_from(data, pos + 2)[0]
                if length < 126:
                    raise ProtocolError(f"length {length} sent in 16 bits, not 7")
            else:
                start = pos + 14
                if start > end:
                    return pos
                length = U64.unpack_from(data, pos + 2)[0]
                if length >> 63:
                    raise ProtocolError(f"64-bit length {length} has its top bit set")
                if length < 65536:
                    raise ProtocolError(f"length {length} sent in 64 bits, not 16")
            if start > end:
                return pos
            mask = data[start - 4 : start]
            if b0 & 0x80 and opcode and not self._opcode and not b0 & 0x40:
                stop = start + length
                if stop <= end and length <= self._whole_max:
                    # A whole unfragmented message: no parts, no incremental decoder.
                    payload = xor_mask(data[start:stop], mask)
                    pos = stop
                    if opcode == 2:
                        events.append(BinaryMessage(payload))
                        continue
                    try:
                        events.append(TextMessage(payload.decode()))
                    except UnicodeDecodeError:  # §8.1
                        raise ProtocolError("invalid utf-8 in a text message", 1007) from None
                    continue
            pos = start
            self._begin_frame(opcode, b0, length, mask, events)
        return pos

    def _bad_header(self, b0: int, b1: int) -> None:
        """Raise for what is wrong with the first two bytes of a frame."""
        opcode = b0 & 0x0F
        if 2 < opcode < 8 or opcode > 10:
            raise ProtocolError(f"reserved opcode {opcode}")
        if b1 < 0x80:
            raise ProtocolError("client frame is not masked")
        if b0 & 0x30:
            raise ProtocolError(f"reserved bit rsv2 or rsv3 set in first byte {b0:#04x}")
        if self._inflater is None:
            raise ProtocolError("rsv1 set but permessage-deflate was not negotiated")
        if not 1 <= opcode <= 2:  # RFC 7692 §6.1: only on a message's first frame
            kind = "continuation" if opcode == 0 else "control"
            raise ProtocolError(f"rsv1 set on a {kind} frame")

    def _begin_frame(
        self, opcode: int, b0: int, length: int, mask: bytes, events: list[Event]
    ) -> None:
        """Check a data frame's header against the message in progress and the limits."""
        if length > self.max_frame_bytes:
            raise ProtocolError(
                f"frame of {length} bytes exceeds the limit of {self.max_frame_bytes}", 1009
            )
        # §5.4: a continuation frame continues the message in progress, and a new message
        # waits for the end of that one (control frames may come in between).
        if opcode:
            if self._opcode:
                raise ProtocolError(f"opcode {opcode} inside a fragmented message")
            self._opcode = opcode
            self._compressed = bool(b0 & 0x40)
            self._frames = 1
            self._size = 0
            if opcode == 1:
                if self._decoder is None:
                    self._decoder = _Utf8Decoder()
                else:
                    self._decoder.reset()
        else:
            if not self._opcode:
                raise ProtocolError("continuation frame with no message to continue")
            self._frames += 1
            if self._frames > self.max_fragments:
                raise ProtocolError(f"message of more than {self.max_fragments} fragments", 1009)
        if not self._compressed:
            self._size += length
            if self._size > self.max_message_bytes:
                raise ProtocolError(
                    f"message of {self._size} bytes or more exceeds the limit of "
                    f"{self.max_message_bytes}",
                    1009,
                )
        self._left = length
        self._mask = mask
        self._offset = 0
        self._fin = bool(b0 & 0x80)
        if not length and self._fin:
            self._end_message(events)

    def _payload(self, chunk: bytes, events: list[Event]) -> None:
        """Take the next piece of the current data frame's payload."""
        offset = self._offset
        mask = self._mask
        if offset & 3:  # the piece starts inside the 4-byte mask cycle
            mask = mask[offset & 3 :] + mask[: offset & 3]
        self._offset = offset + len(chunk)
        self._left -= len(chunk)
        data = xor_mask(chunk, mask)
        if self._compressed:
            assert self._inflater is not None
            data = self._inflater.decompress(data, self.max_message_bytes - self._size)
            self._size += len(data)
        self._add(data)
        if not self._left and self._fin:
            self._end_message(events)

    def _add(self, data: bytes) -> None:
        """Append payload bytes to the message; text is checked as it comes (§8.1)."""
        if self._opcode == 1:
            assert self._decoder is not None
            try:
                text = self._decoder.decode(data)
            except UnicodeDecodeError:
                raise ProtocolError("invalid utf-8 in a text message", 1007) from None
            if text:
                self._text_parts.append(text)
        elif data:
            self._bin_parts.append(data)

    def _end_message(self, events: list[Event]) -> None:
        """The message's last frame is in: emit it."""
        if self._compressed:
            assert self._inflater is not None
            data = self._inflater.finish(self.max_message_bytes - self._size)
            self._size += len(data)
            self._add(data)
        if self._opcode == 1:
            assert self._decoder is not None
            try:
                self._decoder.decode(b"", True)
            except UnicodeDecodeError:
                raise ProtocolError("text message ends inside a utf-8 sequence", 1007) from None
            events.append(TextMessage("".join(self._text_parts)))
            self._text_parts = []
        else:
            events.append(BinaryMessage(b"".join(self._bin_parts)))
            self._bin_parts = []
        self._opcode = 0

    def _control(self, opcode: int, payload: bytes, events: list[Event]) -> bool:
        """Handle a whole control frame; return True when input ends with it (a close)."""
        raise NotImplementedError

    def _release_input(self) -> None:
        """Drop what only incoming frames need: input is over."""
        self._text_parts = []
        self._bin_parts = []
        self._opcode = 0
        self._left = 0
        self._inflater = None
        self._decoder = None
