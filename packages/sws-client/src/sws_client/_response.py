"""`Response` (a buffered response) and `StreamResponse` (a body that arrives in pieces).

Both are made on the client's loop and handed to the caller, who may be on any thread; a
`Response` is complete and never changes after that. Header fields are the parser's
`Headers`: names case-insensitive, repeated fields kept in order (`get`, `get_all`).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Generator, Iterator
from typing import Any

from sws_client._handoff import BodyChannel
from sws_core import Op
from sws_http.proto import Headers

__all__ = ["Response", "StreamResponse", "charset_of"]


def charset_of(content_type: str | None, default: str = "utf-8") -> str:
    """The charset parameter of a Content-Type value (RFC 9110 §8.3.1), if Python knows it.

    Args:
        content_type: the field value, e.g. 'text/html; charset="ISO-8859-1"', or None.
        default: what to return when there is none, or it names no known codec.
    """
    if content_type:
        for param in content_type.split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip(" \t").lower() == "charset":
                charset = value.strip(" \t").strip('"').strip(" \t")
                try:
                    return codecs.lookup(charset).name
                except LookupError:
                    return default
    return default


class _Head:
    """What both kinds of response have: the status line, the fields, the URL."""

    __slots__ = ("headers", "history", "http_version", "reason", "status", "url")

    def __init__(
        self,
        status: int,
        reason: str,
        http_version: str,
        headers: Headers,
        url: str,
        history: tuple[Response, ...],
    ) -> None:
        self.status = status
        self.reason = reason
        self.http_version = http_version
        self.headers = headers
        self.url = url
        self.history = history

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    @property
    def is_redirect(self) -> bool:
        """Whether the status is a redirect with a Location field."""
        return self.status in (301, 302, 303, 307, 308) and "location" in self.headers


class Response(_Head):
    """A response with its whole body.

    Attributes:
        status: the status code (a final one: 200-599).
        reason: the reason phrase as sent (may be empty).
        http_version: "1.1" or "1.0".
        headers: the header fields (case-insensitive names, repeated ones kept);
            read-only: responses with the same head may share them.
        body: the body (b"" for HEAD, 204, 304).
        trailers: the trailer fields of a chunked body (empty otherwise).
        url: the URL this response answers (the last one, after redirects).
        history: the redirect responses that led here, oldest first.
    """

    __slots__ = ("body", "trailers")

    def __init__(
        self,
        status: int,
        reason: str,
        http_version: str,
        headers: Headers,
        body: bytes,
        url: str,
        *,
        trailers: Headers | None = None,
        history: tuple[Response, ...] = (),
    ) -> None:
        super().__init__(status, reason, http_version, headers, url, history)
        self.body = body
        self.trailers = trailers if trailers is not None else Headers()

    @property
    def charset(self) -> str:
        """The body's charset from Content-Type, "utf-8" when none (or unknown) is named."""
        return charset_of(self.headers.get("content-type"))

    def text(self, errors: str = "replace") -> str:
        """The body decoded with `charset` (bytes that do not decode become U+FFFD)."""
        return self.body.decode(self.charset, errors)

    def json(self) -> Any:
        """The body parsed as JSON (UTF-8, -16 or -32, as RFC 8259 §8.1 allows).

        Raises:
            ValueError: the body is not JSON.
        """
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason!r} {len(self.body)} bytes url={self.url}>"


class _Next:
    """The awaitable `StreamResponse.__anext__` returns."""

    __slots__ = ("_channel",)

    def __init__(self, channel: BodyChannel) -> None:
        self._channel = channel

    def __await__(self) -> Generator[Op, Any, bytes]:
        data = yield from self._channel.receive()
        if not data:
            raise StopAsyncIteration
        return data


class _Receive:
    """The op-like object `StreamResponse.receive` returns (`yield from` or `await` it)."""

    __slots__ = ("_channel",)

    def __init__(self, channel: BodyChannel) -> None:
        self._channel = channel

    def __await__(self) -> Generator[Op, Any, bytes]:
        return (yield from self._channel.receive())

    __iter__ = __await__


class StreamResponse(_Head):
    """A response whose body is read piece by piece, as it arrives.

    In a fiber: `while chunk := (yield from resp.receive()): ...`, or in an `async def`,
    `async for chunk in resp: ...`. From a plain thread: `for chunk in resp: ...`. Close it
    (or use `with`) when you stop before the end: the connection is then closed, not reused.
    The client's `max_body_bytes` does not apply: nothing is held beyond a bounded buffer.

    Attributes:
        status / reason / http_version / headers / url / history: as `Response`'s.
        trailers: the trailer fields, once the body has been read to its end.
    """

    __slots__ = ("_channel", "trailers")

    def __init__(
        self,
        status: int,
        reason: str,
        http_version: str,
        headers: Headers,
        url: str,
        channel: BodyChannel,
        *,
        history: tuple[Response, ...] = (),
    ) -> None:
        super().__init__(status, reason, http_version, headers, url, history)
        self._channel = channel
        self.trailers = Headers()

    def receive(self) -> _Receive:
        """In a fiber: the next piece of the body, b"" at its end (`yield from` / `await`).

        Raises:
            HttpClientError: the download failed (timeout, broken connection, bad framing).
        """
        return _Receive(self._channel)

    def __aiter__(self) -> StreamResponse:
        return self

    def __anext__(self) -> _Next:
        return _Next(self._channel)

    def __iter__(self) -> Iterator[bytes]:
        """From a plain thread: the pieces of the body, blocking for each.

        Raises:
            RuntimeError: on an sws IO thread (iterate with `receive()` in a fiber there).
            HttpClientError: the download failed.
        """
        while data := self._channel.receive_blocking():
            yield data

    def close(self) -> None:
        """Stop reading: the rest of the body is dropped and the connection closed."""
        self._channel.close()

    def __enter__(self) -> StreamResponse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<StreamResponse {self.status} {self.reason!r} url={self.url} {self._channel!r}>"
