"""The errors of `sws_ws.proto`: who is at fault, and what to tell the peer.

- `HandshakeError`: the upgrade request breaks RFC 6455 §4.2.1; answer `status` (400 or
  426) with `headers`, then treat the request as a failed upgrade.
- `ProtocolError`: the peer broke RFC 6455 or RFC 7692 after the handshake; `code` is the
  close code to fail the connection with (1002, 1007 or 1009). `ServerConnection` never lets
  it out of `receive_data`: it becomes a `ProtocolFailed` event and a close frame.
- `ConnectionClosedError`: our own code tried to send after our close frame left (misuse).
"""

from __future__ import annotations

from collections.abc import Sequence


class HandshakeError(Exception):
    """The client's upgrade request cannot be accepted; answer it with `status`.

    Attributes:
        status: 400 (a malformed upgrade) or 426 (a WebSocket version other than 13).
        message: what was wrong, for logs and for the body of the answer.
        headers: header fields the answer must carry: a 426 lists the version we speak
            (`("Sec-WebSocket-Version", "13")`, RFC 6455 §4.2.2).
    """

    def __init__(
        self, message: str, status: int = 400, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = list(headers)

    def __repr__(self) -> str:
        return f"HandshakeError({self.message!r}, status={self.status})"


class ProtocolError(Exception):
    """The peer broke the WebSocket protocol; fail the connection with close `code`.

    Attributes:
        code: 1002 (a framing rule), 1007 (invalid UTF-8 or compressed data) or 1009 (a
            frame, a message or a fragment count past its limit), as wsproto's
            `ParseFailed.code`.
        message: what was wrong; short enough to be the reason of the close frame.
    """

    def __init__(self, message: str, code: int = 1002) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __repr__(self) -> str:
        return f"ProtocolError({self.message!r}, code={self.code})"


class ConnectionClosedError(RuntimeError):
    """A frame was to be sent after our close frame left the connection: a bug in the caller.

    RFC 6455 §5.5.1: after sending a close frame, an endpoint sends no more data frames.
    """
