"""aiohttp GETs against a local server, for bench/client.py: one job, measured in itself.

Run: python bench/servers/client_aiohttp.py --url URL --mode sequential|concurrent
         [--concurrency 32] [--seconds 3] [--warmup 0.5]

One `aiohttp.ClientSession` (its default `TCPConnector`: up to 100 connections, all kept
alive) on uvloop when it is importable (else asyncio's loop); `--concurrency` tasks (1 in
sequential mode), each `async with session.get(url) as resp: body = await resp.read()` in
a loop. Every response is checked (status 200, body `hello`). The last stdout line is the
job report of `measured_window.py`.
"""

from __future__ import annotations

import argparse
import asyncio

import aiohttp
from measured_window import (  # this script's folder is on sys.path
    MeasuredWindow,
    add_job_arguments,
    fail,
)
from process_setup import run_async

BODY = b"hello"  # what nginx.conf.template answers


async def run(url: str, window: MeasuredWindow, concurrency: int) -> None:
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            get = session.get
            while True:
                async with get(url) as resp:
                    body = await resp.read()
                    if resp.status != 200 or body != BODY:
                        fail(f"unexpected response {resp.status} {body[:80]!r}")
                if not window.record():
                    return

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    add_job_arguments(parser, ("sequential", "concurrent"))
    args = parser.parse_args(argv)
    concurrency = 1 if args.mode == "sequential" else args.concurrency
    window = MeasuredWindow(args.warmup, args.seconds)
    run_async(run(args.url, window, concurrency))
    window.emit()


if __name__ == "__main__":
    main()
