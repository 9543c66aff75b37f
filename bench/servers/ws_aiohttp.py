"""WebSocket echo and broadcast on aiohttp's web server (`web.WebSocketResponse` handlers),
on uvloop when it is importable (else asyncio's own loop).

Run: python bench/servers/ws_aiohttp.py --port PORT   (SIGTERM or SIGINT stops it)

Handlers as aiohttp's documentation writes them, no heartbeat (as ws_sws.py), no access
log; the client offers no compression, so none is negotiated. The paths `ws_client.py`
drives:

    /ws   `async for msg in ws: await ws.send_str(msg.data)`
    /sub  joins the set of subscribers, then echoes (the client's subscription check)
    /pub  for every message, `await sub.send_str(msg.data)` on each subscriber in turn
          (aiohttp has no broadcast helper; each send encodes its own frame)
"""

from __future__ import annotations

import argparse

from aiohttp import WSMsgType, web
from process_setup import event_loop, raise_nofile_limit  # this script's folder is on sys.path

HOST = "127.0.0.1"
SHUTDOWN_TIMEOUT_S = 1.0  # aiohttp waits 60 s for handlers by default; the client is gone

SUBSCRIBERS: set[web.WebSocketResponse] = set()


async def echo_all(ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        if msg.type is WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type is WSMsgType.BINARY:
            await ws.send_bytes(msg.data)


async def echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await echo_all(ws)
    return ws


async def subscriber(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    SUBSCRIBERS.add(ws)
    try:
        await echo_all(ws)
    finally:
        SUBSCRIBERS.discard(ws)
    return ws


async def publisher(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type is WSMsgType.TEXT:
            for sub in tuple(SUBSCRIBERS):  # the set may change while a send awaits
                await sub.send_str(msg.data)
    return ws


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backlog", type=int, default=1024)
    args = parser.parse_args(argv)
    raise_nofile_limit()
    app = web.Application()
    app.add_routes([web.get("/ws", echo), web.get("/sub", subscriber), web.get("/pub", publisher)])
    loop = event_loop()
    print(f"aiohttp on {type(loop).__name__} listening on {HOST}:{args.port}", flush=True)
    web.run_app(
        app,
        host=HOST,
        port=args.port,
        backlog=args.backlog,
        print=None,
        access_log=None,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        loop=loop,
    )


if __name__ == "__main__":
    main()
