"""`ServerConnection`: one WebSocket connection after the handshake, server side, sans-IO.

It is a `FrameReader` (the parser, `_reader.py`) plus the closing handshake and the send
side (RFC 6455 §5.5, §7). The closing handshake, as a table:

    state    what happens                  new state  queued for data_to_send()
    OPEN     send_close()                  CLOSING    nothing (send_close returns it)
    OPEN     the peer's close frame        CLOSED     our reply, echoing its code
    OPEN     a protocol error              CLOSED     our close with the error's code
    CLOSING  the peer's close frame        CLOSED     nothing
    CLOSING  a protocol error              CLOSED     nothing (our close already left)
    CLOSED   any bytes received            CLOSED     nothing (they are ignored)

Rules that hold in this module:

- Frames we must send on our own (pongs, the close reply, the close that fails the
  connection) collect in `_out` until the driver takes them with `data_to_send()`.
- Our data frames may still be sent until our close frame has left this object (returned
  by `send_close()` or `data_to_send()`): the driver writes what `send_*` and
  `data_to_send()` return in the order it got them, so a message answered in the same
  batch of events as the peer's close still goes out before our close (§5.5.1: no data
  frames after a close frame).
- After the peer's close frame, or once we fail the connection, the state is CLOSED and
  incoming bytes are ignored.
"""

from __future__ import annotations

from typing import Final

from sws_ws.proto._deflate import DeflateParams, Deflater
from sws_ws.proto._errors import ConnectionClosedError, ProtocolError
from sws_ws.proto._events import (
    BinaryMessage,
    CloseReceived,
    ConnectionState,
    Event,
    Ping,
    Pong,
    ProtocolFailed,
    TextMessage,
)
from sws_ws.proto._frames import (
    HEAD_7,
    HEAD_16,
    HEAD_64,
    MAX_CONTROL_PAYLOAD_BYTES,
    U16,
    close_payload,
    is_valid_close_code,
    truncate_reason,
    xor_mask,
)
from sws_ws.proto._reader import (
    DEFAULT_MAX_FRAGMENTS,
    DEFAULT_MAX_FRAME_BYTES,
    DEFAULT_MAX_MESSAGE_BYTES,
    FrameReader,
)

_OPEN: Final = ConnectionState.OPEN
_CLOSING: Final = ConnectionState.CLOSING
_CLOSED: Final = ConnectionState.CLOSED


def _frame(b0: int, payload: bytes) -> bytes:
    """An unmasked frame (servers never mask, RFC 6455 §5.1) with first byte `b0`."""
    n = len(payload)
    if n < 126:
        return HEAD_7.pack(b0, n) + payload
    if n < 65536:
        return HEAD_16.pack(b0, 126, n) + payload
    return HEAD_64.pack(b0, 127, n) + payload


class ServerConnection(FrameReader):
    """The server side of one WebSocket connection: bytes in, events and bytes out.

    Args:
        deflate: the permessage-deflate parameters from the handshake, or None.
        max_frame_bytes: one frame's payload, as sent; past it: 1009.
        max_message_bytes: one message's payload, inflated; past it: 1009.
        max_fragments: frames in one message; past it: 1009.

    Attributes:
        state: OPEN, CLOSING (our close frame sent, the peer's awaited) or CLOSED.
        close_code_sent, close_reason_sent: our close frame's (None and "" before it).
        close_code_received, close_reason_received: the peer's (1005 when it had no code).
        deflate: the permessage-deflate parameters, or None.

    Raises:
        ValueError: a limit below 1.
    """

    __slots__ = (
        "_buf",
        "_close_queued",
        "_deflater",
        "_out",
        "_send_done",
        "close_code_received",
        "close_code_sent",
        "close_reason_received",
        "close_reason_sent",
        "deflate",
        "state",
    )

    def __init__(
        self,
        *,
        deflate: DeflateParams | None = None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        max_fragments: int = DEFAULT_MAX_FRAGMENTS,
    ) -> None:
        super().__init__(
            deflate=deflate,
            max_frame_bytes=max_frame_bytes,
            max_message_bytes=max_message_bytes,
            max_fragments=max_fragments,
        )
        self.deflate = deflate
        self.state = _OPEN
        self.close_code_sent: int | None = None
        self.close_reason_sent = ""
        self.close_code_received: int | None = None
        self.close_reason_received = ""
        self._deflater: Deflater | None = None
        if deflate is not None:
            self._deflater = Deflater(
                deflate.server_max_window_bits, deflate.server_no_context_takeover
            )
        self._buf = bytearray()  # a partial header or control frame from the last read
        self._out = bytearray()  # frames the protocol sends on its own
        self._close_queued = False  # our close frame is in _out
        self._send_done = False  # our close frame has left: nothing more may be sent

    # --- receiving ----------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Process bytes from the peer; never raises for any input.

        Args:
            data: the bytes of one read, any size, split anywhere.

        Returns:
            The events of every frame completed by these bytes, in order; after a close
            frame or a `ProtocolFailed` nothing more (later bytes are ignored).
        """
        if self.state is _CLOSED:
            return []
        if type(data) is not bytes:
            data = bytes(data)
        buf = self._buf
        if buf:
            data = bytes(buf) + data
            buf.clear()
        elif not self._opcode:
            # The common case: the read is exactly one small masked message frame.
            n = len(data)
            if 6 <= n <= self._fast_max + 6 and data[1] == 122 + n:  # 0x80 | (n - 6)
                b0 = data[0]
                if b0 == 0x82:
                    return [BinaryMessage(xor_mask(data[6:], data[2:6]))]
                if b0 == 0x81:
                    try:
                        return [TextMessage(xor_mask(data[6:], data[2:6]).decode())]
                    except UnicodeDecodeError:
                        pass  # the general path fails the connection
        events: list[Event] = []
        try:
            pos = self._parse(data, events)
        except ProtocolError as exc:
            self._fail(exc, events)
            return events
        if pos < len(data):
            buf += memoryview(data)[pos:]
        return events

    def _control(self, opcode: int, payload: bytes, events: list[Event]) -> bool:
        """Handle a control frame; return True for a close frame (input ends there)."""
        if opcode == 9:
            events.append(Ping(payload))
            # §5.5.2: answer every ping not preceded by the peer's close, as soon as we can.
            self._out += HEAD_7.pack(0x8A, len(payload)) + payload
            return False
        if opcode == 10:
            events.append(Pong(payload))
            return False
        # §5.5.1 and §7.1.5: the code is optional, but one byte of it is not.
        if not payload:
            code, reason = 1005, ""
        elif len(payload) == 1:
            raise ProtocolError("close frame with a 1-byte payload")
        else:
            code = U16.unpack_from(payload)[0]
            if not is_valid_close_code(code):
                raise ProtocolError(f"close code {code} may not be sent")
            try:
                reason = payload[2:].decode()
            except UnicodeDecodeError:
                raise ProtocolError("invalid utf-8 in a close reason", 1007) from None
        self.close_code_received = code
        self.close_reason_received = reason
        events.append(CloseReceived(code, reason))
        if self.state is _OPEN:
            # §5.5.1: reply with a close frame, typically echoing the code.
            self._queue_close(1000 if code == 1005 else code, "")
        self.state = _CLOSED
        self._release_input()
        self._buf.clear()
        return True

    def _fail(self, exc: ProtocolError, events: list[Event]) -> None:
        """Fail the connection (§7.1.7): the close frame first, unless ours already left."""
        events.append(ProtocolFailed(exc.code, exc.message))
        if self.state is _OPEN:
            self._queue_close(exc.code, truncate_reason(exc.message))
        self.state = _CLOSED
        self._release_input()
        self._buf.clear()

    def _queue_close(self, code: int, reason: str) -> None:
        self._out += _frame(0x88, close_payload(code, reason))
        self._close_queued = True
        self.close_code_sent = code
        self.close_reason_sent = reason

    # --- sending ------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Take the frames the protocol itself must send: pongs, the close reply, the close
        that fails the connection.

        Returns:
            The bytes to write, in order (b"" when none); the buffer is then empty. Write
            them after whatever `send_*` returned before this call.
        """
        out = self._out
        if not out:
            return b""
        self._out = bytearray()
        if self._close_queued:
            self._send_done = True
        return bytes(out)

    def _check_send(self, what: str) -> None:
        if self._send_done:
            raise ConnectionClosedError(f"cannot send a {what} after our close frame")

    def send_text(self, text: str) -> bytes:
        """A text message, compressed when permessage-deflate was negotiated.

        Args:
            text: the message.

        Returns:
            The frame to write.

        Raises:
            ConnectionClosedError: our close frame has already left.
        """
        if self._send_done:
            self._check_send("text message")
        deflater = self._deflater
        if deflater is None:
            return _frame(0x81, text.encode())
        return _frame(0xC1, deflater.compress(text.encode()))

    def send_binary(self, data: bytes | bytearray | memoryview) -> bytes:
        """A binary message, compressed when permessage-deflate was negotiated.

        Args:
            data: the message.

        Returns:
            The frame to write.

        Raises:
            ConnectionClosedError: our close frame has already left.
        """
        if self._send_done:
            self._check_send("binary message")
        deflater = self._deflater
        if deflater is None:
            return _frame(0x82, bytes(data))
        return _frame(0xC2, deflater.compress(data))

    def send_ping(self, data: bytes = b"") -> bytes:
        """A ping (RFC 6455 §5.5.2); the peer answers with a `Pong` carrying `data`.

        Args:
            data: at most 125 bytes.

        Returns:
            The frame to write.

        Raises:
            ValueError: `data` is longer than 125 bytes.
            ConnectionClosedError: our close frame has already left.
        """
        return self._control_frame(0x89, data, "ping")

    def send_pong(self, data: bytes = b"") -> bytes:
        """An unsolicited pong (a heartbeat, RFC 6455 §5.5.3); pings are answered already.

        Args:
            data: at most 125 bytes.

        Returns:
            The frame to write.

        Raises:
            ValueError: `data` is longer than 125 bytes.
            ConnectionClosedError: our close frame has already left.
        """
        return self._control_frame(0x8A, data, "pong")

    def _control_frame(self, b0: int, data: bytes, what: str) -> bytes:
        if len(data) > MAX_CONTROL_PAYLOAD_BYTES:
            raise ValueError(f"{what} payload of {len(data)} bytes exceeds 125 (RFC 6455 §5.5)")
        self._check_send(what)
        return _frame(b0, bytes(data))

    def send_close(self, code: int = 1000, reason: str = "") -> bytes:
        """Start the closing handshake (RFC 6455 §7.1.2): the state becomes CLOSING.

        Args:
            code: a close code that may be sent (1000-1003, 1007-1014, 3000-4999).
            reason: at most 123 bytes once UTF-8 encoded.

        Returns:
            The close frame to write; b"" when a close frame of ours was already sent or
            is waiting in `data_to_send()` (a reply to the peer's, or a failure).

        Raises:
            ValueError: the code may not be sent, or the reason is too long.
        """
        payload = close_payload(code, reason)
        if self._send_done or self._close_queued:
            return b""
        self._send_done = True
        self.state = _CLOSING
        self.close_code_sent = code
        self.close_reason_sent = reason
        return _frame(0x88, payload)

    @property
    def buffered(self) -> int:
        """How many received bytes wait for the rest of a frame header or control frame."""
        return len(self._buf)

    @property
    def close_code(self) -> int | None:
        """The peer's close code if its close frame came, else ours if sent, else None."""
        if self.close_code_received is not None:
            return self.close_code_received
        return self.close_code_sent

    @property
    def close_reason(self) -> str:
        """The reason that goes with `close_code`."""
        if self.close_code_received is not None:
            return self.close_reason_received
        return self.close_reason_sent

    def __repr__(self) -> str:
        deflate = "on" if self._deflater is not None else "off"
        return (
            f"<ServerConnection state={self.state.name} deflate={deflate} "
            f"buffered={len(self._buf)} to_send={len(self._out)}>"
        )
