"""`ProtocolError`: a request that breaks HTTP/1.1, with the status to answer it with."""

from __future__ import annotations


class ProtocolError(Exception):
    """The peer sent something HTTP/1.1 does not allow; answer `status_hint`, then close.

    Attributes:
        status_hint: 400, 413, 414, 417, 431, 501 or 505 (as h11's `error_status_hint`).
        message: what was wrong, for logs; send the client a generic reason phrase.
    """

    def __init__(self, message: str, status_hint: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_hint = status_hint

    def __repr__(self) -> str:
        return f"ProtocolError({self.message!r}, status_hint={self.status_hint})"
