"""Hello world as an RSGI app on granian (Rust HTTP stack, Python handler), one worker.

Run: python bench/servers/http_granian.py --port PORT   (SIGTERM or SIGINT stops it)

granian's normal server (`granian --interface rsgi --workers 1 ...`, `granian.Granian`) is a
supervisor that starts its worker as a separate process (multiprocessing), so the PID the
harness starts and samples in /proc would be the idle supervisor, not the worker. This
script therefore runs granian's embedded server (`granian.server.embed.Server`, marked
experimental by granian) on a uvloop event loop in this very process: the same RSGIWorker
(Rust runtime with 1 runtime thread, Python callback on this loop) that the worker process
would run, so the PID started is the PID that serves.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import uvloop
from granian.constants import Interfaces
from granian.server.embed import Server

HOST = "127.0.0.1"
HEADERS = [("content-type", "text/plain; charset=utf-8")]


async def app(scope: Any, proto: Any) -> None:
    proto.response_str(200, HEADERS, "hello")


async def serve(port: int) -> None:
    server = Server(
        app,
        address=HOST,
        port=port,
        interface=Interfaces.RSGI,
        runtime_threads=1,
        backlog=1024,
        log_enabled=False,
        websockets=False,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stop)
    await server.serve()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()
