"""WebSocket echo and broadcast on the `websockets` library's asyncio server, on uvloop when
it is importable (else asyncio's own loop).

Run: python bench/servers/ws_websockets.py --port PORT   (SIGTERM or SIGINT stops it)

Its fastest reasonable setup: `websockets.asyncio.server.serve` with `compression=None`
(the client offers none either) and keepalive pings off (`ping_interval=None`, as in
ws_sws.py). One handler routes on the request path, as `ws_client.py` expects:

    /ws   `async for message in ws: await ws.send(message)`
    /sub  joins the set of subscribers, then echoes (the client's subscription check)
    /pub  `websockets.broadcast(subscribers, message)` for every message: the frame is
          encoded once and written to every connection without awaiting
"""

from __future__ import annotations

import argparse
import asyncio

from process_setup import (  # this script's folder is on sys.path
    event_loop,
    raise_nofile_limit,
    stop_on_signals,
)
from websockets.asyncio.server import ServerConnection, broadcast, serve

HOST = "127.0.0.1"

SUBSCRIBERS: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    path = ws.request.path if ws.request is not None else ""
    if path == "/ws":
        async for message in ws:
            await ws.send(message)
    elif path == "/sub":
        SUBSCRIBERS.add(ws)
        try:
            async for message in ws:
                await ws.send(message)
        finally:
            SUBSCRIBERS.discard(ws)
    elif path == "/pub":
        async for message in ws:
            broadcast(SUBSCRIBERS, message)
    else:
        await ws.close(1008, "no such path")


async def serve_until_stopped(port: int, backlog: int) -> None:
    """Serve on 127.0.0.1:`port` until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = stop_on_signals()
    async with serve(handler, HOST, port, compression=None, ping_interval=None, backlog=backlog):
        print(f"websockets on {type(loop).__name__} listening on {HOST}:{port}", flush=True)
        await stop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backlog", type=int, default=1024)
    args = parser.parse_args(argv)
    raise_nofile_limit()
    with asyncio.Runner(loop_factory=event_loop) as runner:
        runner.run(serve_until_stopped(args.port, args.backlog))


if __name__ == "__main__":
    main()
