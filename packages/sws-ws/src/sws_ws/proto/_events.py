"""The events `ServerConnection.receive_data` returns, in the order their frames arrived."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ConnectionState(enum.Enum):
    """Where the closing handshake stands (RFC 6455 §7.1).

    OPEN: messages flow both ways.
    CLOSING: we sent a close frame and wait for the peer's; incoming frames still count.
    CLOSED: a close frame went each way, or we failed the connection; the driver closes
        TCP once it has written what is left to send, and incoming bytes are ignored.
    """

    OPEN = "OPEN"
    CLOSING = "CLOSING"
    CLOSED = "CLOSED"


@dataclass(frozen=True, slots=True)
class TextMessage:
    """A whole text message (every fragment joined, inflated, valid UTF-8)."""

    data: str


@dataclass(frozen=True, slots=True)
class BinaryMessage:
    """A whole binary message (every fragment joined, inflated)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Ping:
    """A ping; the pong that answers it is already in `data_to_send()` (RFC 6455 §5.5.2)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Pong:
    """A pong, solicited or not (RFC 6455 §5.5.3)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class CloseReceived:
    """The peer's close frame (RFC 6455 §5.5.1, §7.1.5).

    If we had not sent a close frame yet, the reply is already in `data_to_send()`; the
    state is CLOSED either way.

    Attributes:
        code: the peer's close code, or 1005 (NO_STATUS) when its frame had no payload.
        reason: the peer's reason ("" when none).
    """

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class ProtocolFailed:
    """We failed the connection (RFC 6455 §7.1.7): the peer broke the protocol.

    A close frame with `code` is already in `data_to_send()` (unless we had sent our close
    frame before); write it, then close TCP. The state is CLOSED.

    Attributes:
        code: 1002 (a framing rule), 1007 (invalid UTF-8 or compressed data) or 1009
            (a limit).
        reason: the rule that was broken, and the value that broke it.
    """

    code: int
    reason: str


Event = TextMessage | BinaryMessage | Ping | Pong | CloseReceived | ProtocolFailed
