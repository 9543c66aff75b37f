"""permessage-deflate (RFC 7692): the negotiated parameters, and one compressor per direction.

A compressed message is raw DEFLATE (no zlib header: negative `wbits`) flushed with
Z_SYNC_FLUSH, whose output always ends in an empty stored block, 00 00 ff ff; the sender
strips those four bytes and the receiver appends them before inflating (§7.2.1, §7.2.2).
Without "no_context_takeover" a direction keeps its LZ77 window from message to message;
with it, each message starts from an empty window (§7.1.1), so we drop the zlib object
between messages and hold no memory for it while the connection is idle.

Some facts about zlib this module relies on:

- zlib refuses raw deflate with an 8-bit window (`compressobj(wbits=-8)` raises; zlib issue
  171), which is why the websockets library declines server_max_window_bits=8. We accept it:
  with window 8 the compressor runs with a 9-bit window and strategy Z_RLE, whose matches
  all have distance 1 (zlib.h), so the peer's 256-byte window always holds what they need.
  (zlib's 9-bit compressor happens never to reach past 250 bytes, MAX_DIST in deflate.h,
  but that is an internal detail; Z_RLE's limit is documented.)
- Inflating never needs a smaller window than the sender's; a larger one is always safe.
- `decompress(data, max_length)` stops once it has produced max_length bytes and keeps the
  rest of the input in `unconsumed_tail`; that is the zip bomb defense: a message never
  inflates past its limit plus one byte before we refuse it.
- Memory (zlib's zconf.h): a compressor takes 2**(wbits+2) + 2**(memLevel+9) bytes (144 KiB
  at wbits 15, memLevel 5), a decompressor 2**wbits plus about 7 KiB.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Final

from sws_ws.proto._errors import ProtocolError

TAIL: Final = b"\x00\x00\xff\xff"  # the empty stored block a sync flush ends with (§7.2.1)

# zlib memLevel of our compressors (1-9): the websockets library's choice for both its client
# and server (memLevel 5: 16 KiB of hash tables instead of 128 KiB, for little loss).
DEFAULT_DEFLATE_MEM_LEVEL: Final = 5
# zlib compression level (0-9, or -1 for zlib's default, 6).
DEFAULT_DEFLATE_LEVEL: Final = zlib.Z_DEFAULT_COMPRESSION


@dataclass(frozen=True, slots=True)
class DeflateParams:
    """The permessage-deflate parameters both ends agreed on (RFC 7692 §7.1).

    Attributes:
        server_no_context_takeover: we start every message we send from an empty window.
        client_no_context_takeover: the client does the same for every message it sends.
        server_max_window_bits: the largest window we compress with (8-15).
        client_max_window_bits: the largest window the client compresses with (8-15).
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15

    def __post_init__(self) -> None:
        for bits in (self.server_max_window_bits, self.client_max_window_bits):
            if not 8 <= bits <= 15:
                raise ValueError(f"window bits are 8-15 (RFC 7692 §7.1.2), got {bits}")


class Deflater:
    """Compress whole messages for permessage-deflate (RFC 7692 §7.2.1).

    Args:
        window_bits: the negotiated max window of our direction, 8-15.
        no_context_takeover: start every message from an empty window.
        level: zlib compression level.
        mem_level: zlib memLevel.
    """

    __slots__ = ("_compressor", "level", "mem_level", "no_context_takeover", "window_bits")

    def __init__(
        self,
        window_bits: int = 15,
        no_context_takeover: bool = False,
        *,
        level: int = DEFAULT_DEFLATE_LEVEL,
        mem_level: int = DEFAULT_DEFLATE_MEM_LEVEL,
    ) -> None:
        if not 8 <= window_bits <= 15:
            raise ValueError(f"window bits are 8-15 (RFC 7692 §7.1.2), got {window_bits}")
        self.window_bits = window_bits
        self.no_context_takeover = no_context_takeover
        self.level = level
        self.mem_level = mem_level
        self._compressor: zlib._Compress | None = None

    def _new(self) -> zlib._Compress:
        if self.window_bits == 8:  # see the module docstring: distance-1 matches only
            return zlib.compressobj(self.level, zlib.DEFLATED, -9, self.mem_level, zlib.Z_RLE)
        return zlib.compressobj(self.level, zlib.DEFLATED, -self.window_bits, self.mem_level)

    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        """Compress one message.

        Args:
            data: the message's payload.

        Returns:
            The compressed payload, without the 00 00 ff ff tail; send it with RSV1 set
            on the message's first frame.
        """
        compressor = self._compressor or self._new()
        out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
        self._compressor = None if self.no_context_takeover else compressor
        assert out.endswith(TAIL), "a sync flush ends with an empty stored block"
        return out[:-4]

    def __repr__(self) -> str:
        return (
            f"<Deflater window_bits={self.window_bits} "
            f"no_context_takeover={self.no_context_takeover}>"
        )


class Inflater:
    """Decompress messages for permessage-deflate, in parts, within a size limit (§7.2.2).

    Feed each frame's payload (or any part of it, in order) to `decompress`, then call
    `finish` at the end of the message.

    Args:
        window_bits: the negotiated max window of the peer's direction, 8-15.
        no_context_takeover: the peer starts every message from an empty window.
    """

    __slots__ = ("_decompressor", "_wbits", "no_context_takeover", "window_bits")

    def __init__(self, window_bits: int = 15, no_context_takeover: bool = False) -> None:
        if not 8 <= window_bits <= 15:
            raise ValueError(f"window bits are 8-15 (RFC 7692 §7.1.2), got {window_bits}")
        self.window_bits = window_bits
        self.no_context_takeover = no_context_takeover
        # zlib before 1.2.9 compressed with a 9-bit window when asked for 8, so a peer that
        # agreed to 8 may use 9; inflating with a larger window than the sender's is safe.
        self._wbits = -max(window_bits, 9)
        self._decompressor: zlib._Decompress | None = None

    def decompress(self, data: bytes, max_bytes: int) -> bytes:
        """Inflate the next part of a message.

        Args:
            data: compressed bytes, in order.
            max_bytes: how many bytes the message may still grow by.

        Returns:
            The bytes inflated so far from this part (at most `max_bytes`).

        Raises:
            ProtocolError: 1009 when the output would pass `max_bytes`; 1007 when the data
                is not valid DEFLATE.
        """
        d = self._decompressor
        if d is None:
            d = self._decompressor = zlib.decompressobj(wbits=self._wbits)
        elif d.eof:
            # Past a final block (BFINAL, RFC 7692 §7.2.3.4) nothing is data: the RFC's own
            # example follows one with the header of an empty stored block. Not fed to
            # zlib, where it would pile up in `unused_data`.
            return b""
        try:
            out = d.decompress(data, max_bytes + 1)
        except zlib.error as exc:
            self._decompressor = None
            raise ProtocolError(f"invalid compressed data: {exc}", 1007) from None
        if len(out) > max_bytes:
            self._decompressor = None
            raise ProtocolError("message exceeds the size limit once inflated", 1009)
        return out

    def finish(self, max_bytes: int) -> bytes:
        """End the message: inflate the 00 00 ff ff tail and whatever zlib still held.

        Args:
            max_bytes: how many bytes the message may still grow by.

        Returns:
            The last bytes of the message.

        Raises:
            ProtocolError: as `decompress`.
        """
        out = self.decompress(TAIL, max_bytes)
        d = self._decompressor
        # A message that ended with a final block left zlib at the end of a stream: the
        # next message needs a new decompressor.
        if self.no_context_takeover or (d is not None and d.eof):
            self._decompressor = None
        return out

    def __repr__(self) -> str:
        return (
            f"<Inflater window_bits={self.window_bits} "
            f"no_context_takeover={self.no_context_takeover}>"
        )
