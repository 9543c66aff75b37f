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
from measured_window import MeasuredWindow, fail  # this script's folder is on sys.path

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
    parser.add_argument("--mode", choices=("sequential", "concurrent"), required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    args = parser.parse_args(argv)
    window = MeasuredWindow(args.warmup, args.seconds)
    if args.mode == "sequential":
        sequential(args.url, window)
    else:
        try:
            import uvloop
        except ImportError:
            asyncio.run(concurrent(args.url, window, args.concurrency))
        else:
            uvloop.run(concurrent(args.url, window, args.concurrency))
    window.emit()


if __name__ == "__main__":
    main()
