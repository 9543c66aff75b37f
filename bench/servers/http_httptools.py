"""Hello world as a raw asyncio Protocol on uvloop, parsing with httptools: the floor of
what a Python HTTP server on libuv can cost (no framework, no ASGI, no routing).

Run: python bench/servers/http_httptools.py --port PORT   (SIGTERM or SIGINT stops it)

Each complete request is answered `200 hello` (with Date, Content-Type, Content-Length).
Keep-alive follows httptools' `should_keep_alive()` (HTTP/1.1 default, `Connection: close`
closes after the answer); pipelined requests are answered in order, since httptools calls
`on_message_complete` once per request while feeding the buffered bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from email.utils import formatdate
from typing import cast

import httptools
import uvloop
from process_setup import stop_on_signals  # this script's folder is on sys.path

HOST = "127.0.0.1"
BODY = b"hello"


class Responses:
    """The two possible answers, rebuilt at most once a second (for the Date header)."""

    def __init__(self) -> None:
        self.second = -1
        self.keep_alive = b""
        self.close = b""

    def get(self, keep_alive: bool) -> bytes:
        now = time.time()
        if int(now) != self.second:
            self.second = int(now)
            head = (
                "HTTP/1.1 200 OK\r\n"
                f"Date: {formatdate(now, usegmt=True)}\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(BODY)}\r\n"
            ).encode()
            self.keep_alive = head + b"\r\n" + BODY
            self.close = head + b"Connection: close\r\n\r\n" + BODY
        return self.keep_alive if keep_alive else self.close


RESPONSES = Responses()
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class HelloProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport is not an asyncio.Transport subclass, but has its methods
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.finish(BAD_REQUEST, keep_alive=False)

    def on_message_complete(self) -> None:
        keep_alive = self.parser.should_keep_alive()
        self.finish(RESPONSES.get(keep_alive), keep_alive=keep_alive)

    def finish(self, response: bytes, *, keep_alive: bool) -> None:
        transport = self.transport
        if transport is None or self.closing:
            return
        transport.write(response)
        if not keep_alive:
            self.closing = True
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HelloProtocol, HOST, port, backlog=1024)
    await stop_on_signals()
    server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()
