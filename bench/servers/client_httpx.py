"""httpx GETs against a local server, for bench/client.py: one job, measured in itself.

Run: python bench/servers/client_httpx.py --url URL --mode sequential|concurrent
         [--concurrency 32] [--seconds 3] [--warmup 0.5]

- sequential: the sync `httpx.Client`, `client.get(url)` in a loop on the main thread;
- concurrent: one `httpx.AsyncClient` shared by `--concurrency` asyncio tasks, each
  `await client.get(url)` in a loop, on uvloop when it is importable (else asyncio's loop).

Both keep `--concurrency` connections alive (`httpx.Limits`: the default keeps 20 idle
connections, which would close 12 of 32 after each request). Every response is checked
(status 200, body `hello`). The last stdout line is the job report of `measured_window.py`.
"""

from __future__ import annotations

import argparse
import asyncio

import httpx
from measured_window import (  # this script's folder is on sys.path
    MeasuredWindow,
    add_job_arguments,
    fail,
)
from process_setup import run_async

BODY = b"hello"  # what nginx.conf.template answers


def check(resp: httpx.Response) -> None:
    if resp.status_code != 200 or resp.content != BODY:
        fail(f"unexpected response {resp!r} {resp.content[:80]!r}")


def sequential(url: str, window: MeasuredWindow) -> None:
    with httpx.Client() as client:
        get = client.get
        while True:
            check(get(url))
            if not window.record():
                return


async def concurrent(url: str, window: MeasuredWindow, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def worker() -> None:
            get = client.get
            while True:
                check(await get(url))
                if not window.record():
                    return

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    add_job_arguments(parser, ("sequential", "concurrent"))
    args = parser.parse_args(argv)
    window = MeasuredWindow(args.warmup, args.seconds)
    if args.mode == "sequential":
        sequential(args.url, window)
    else:
        run_async(concurrent(args.url, window, args.concurrency))
    window.emit()


if __name__ == "__main__":
    main()
