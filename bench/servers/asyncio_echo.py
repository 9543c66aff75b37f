"""TCP echo server on asyncio: one `asyncio.Protocol` that writes back what it receives.

Run: python bench/servers/asyncio_echo.py --port PORT   (SIGTERM or SIGINT stops it)

`uvloop_echo.py` runs this same Protocol on uvloop's event loop, so the two differ only in
the loop. At start the server raises its RLIMIT_NOFILE soft limit to the hard limit, so it
can hold as many connections as the benchmark opens.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, cast

from process_setup import raise_nofile_limit, stop_on_signals  # this script's folder is on sys.path

HOST = "127.0.0.1"


class EchoProtocol(asyncio.Protocol):
    """Send back every byte received; close when the peer finishes sending."""

    __slots__ = ("transport",)

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's does not subclass asyncio.Transport, so no isinstance).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int, backlog: int) -> None:
    """Serve on 127.0.0.1:`port` until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = stop_on_signals()
    server = await loop.create_server(EchoProtocol, HOST, port, backlog=backlog)
    print(f"{loop.__class__.__name__} echo server listening on {HOST}:{port}", flush=True)
    async with server:
        await stop


def main(
    run: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run,
    argv: list[str] | None = None,
) -> None:
    """Parse the flags and serve with `run` (asyncio.run here, uvloop.run in uvloop_echo)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backlog", type=int, default=1024)
    args = parser.parse_args(argv)
    raise_nofile_limit()
    run(serve(args.port, args.backlog))


if __name__ == "__main__":
    main()
