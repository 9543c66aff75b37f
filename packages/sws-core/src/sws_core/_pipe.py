"""`Pipe`: bytes pushed in by callbacks, pulled out by a fiber in synchronous style.

Protocol code that reads "a line, then n bytes" is easiest to write as straight-line code.
A `Pipe` lets a fiber do that over data that arrives in arbitrary pieces:

    line = yield from pipe.readline()
    body = yield from pipe.read(length)

`push` and `close` are called from the IO thread (a `TcpProtocol`, or `Pipe.feed_from`
reading a connection). Reads never return more than asked; `read` at EOF returns what is
left, possibly b"".
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Final

from sws_core._conn import Conn
from sws_core._fiber import Event
from sws_core._ops import Op

DEFAULT_MAX_LINE_BYTES: Final = 65536  # readline's limit; h11 allows 64 KiB of head


class Pipe:
    """A byte buffer with blocking-style reads for fibers.

    Args:
        max_line_bytes: the longest line `readline` accepts, not counting its newline.
    """

    __slots__ = ("_buf", "_closed", "_event", "max_line_bytes")

    def __init__(self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._buf = bytearray()
        self._closed = False
        self._event = Event()
        self.max_line_bytes = max_line_bytes

    def push(self, data: bytes) -> None:
        """Append bytes and wake a waiting reader.

        Raises:
            ValueError: the pipe was closed.
        """
        if self._closed:
            raise ValueError("push on a closed pipe")
        self._buf += data
        self._event.set()

    def close(self) -> None:
        """Mark the end of the data; waiting and later reads see EOF."""
        self._closed = True
        self._event.set()

    @property
    def at_eof(self) -> bool:
        """Whether the pipe is closed and empty."""
        return self._closed and not self._buf

    def __len__(self) -> int:
        return len(self._buf)

    def _wait(self) -> Generator[Op, Any, None]:
        self._event.clear()
        yield from self._event.wait()

    def read(self, n: int) -> Generator[Op, Any, bytes]:
        """Wait for `n` bytes (fewer only at EOF) and return them."""
        while len(self._buf) < n and not self._closed:
            yield from self._wait()
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def read_some(self) -> Generator[Op, Any, bytes]:
        """Wait for any bytes and return all that are buffered (b"" at EOF)."""
        while not self._buf and not self._closed:
            yield from self._wait()
        data = bytes(self._buf)
        self._buf.clear()
        return data

    def readline(self) -> Generator[Op, Any, bytes]:
        """Wait for a line and return it with its b"\\n" (at EOF: what is left).

        Raises:
            ValueError: the line is longer than `max_line_bytes` (without its newline).
        """
        start = 0
        while (end := self._buf.find(b"\n", start)) < 0:
            if len(self._buf) > self.max_line_bytes:
                raise ValueError(f"line longer than {self.max_line_bytes} bytes")
            if self._closed:
                end = len(self._buf) - 1
                break
            start = len(self._buf)
            yield from self._wait()
        if end > self.max_line_bytes:  # the same verdict however the bytes arrived
            raise ValueError(f"line longer than {self.max_line_bytes} bytes")
        data = bytes(self._buf[: end + 1])
        del self._buf[: end + 1]
        return data

    def feed_from(self, conn: Conn) -> Generator[Op, Any, None]:
        """A fiber body that pushes everything `conn` receives into the pipe, then closes
        it at EOF: `loop.go(pipe.feed_from(conn))`."""
        try:
            while data := (yield from conn.receive()):
                self.push(data)
        finally:  # EOF, reset or close: the reader sees the end instead of waiting forever
            self.close()

    def __repr__(self) -> str:
        return f"<Pipe buffered={len(self._buf)} closed={self._closed}>"
