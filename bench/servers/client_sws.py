"""sws-client GETs against a local server, for bench/client.py: one job, measured in itself.

Run: python bench/servers/client_sws.py --url URL --mode sequential|concurrent
         [--concurrency 32] [--seconds 3] [--warmup 0.5] [--style fibers|threads]

- sequential: one request at a time from a plain thread, `client.get(url)` (it blocks that
  thread while the client's own loop thread does the request);
- concurrent, `--style fibers` (the default, and the faster): `--concurrency` fibers on an
  sws_core `Loop` run on the main thread, each `resp = yield from client.fetch("GET", url)`
  in a loop: the way a server handler calls out. Requests cross to the client's loop
  thread by `invoke` and outcomes come back by `invoke`, at most one per loop turn each way
  however many requests cross in it (each `invoke` is an eventfd write and a wake-up);
- concurrent, `--style threads`: `--concurrency` plain threads, each `client.get(url)` in a
  loop (each wake-up is a `threading.Event` per request, and the threads take turns at the
  GIL).

Every response is checked (status 200, body `hello`). The client keeps up to
`--concurrency` idle connections per host (`max_idle_per_host`; its default of 10 would
close 22 of 32 connections after each request: keep-alive is what is measured). The last
stdout line is the job report of `measured_window.py`.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Generator
from typing import Any

from measured_window import (  # this script's folder is on sys.path
    MeasuredWindow,
    add_job_arguments,
    countdown,
    fail,
)

from sws_client import HttpClient, Response
from sws_core import Loop, Op

BODY = b"hello"  # what nginx.conf.template answers


def check(resp: Response) -> None:
    if resp.status != 200 or resp.body != BODY:
        fail(f"unexpected response {resp!r}")


def sequential(client: HttpClient, url: str, window: MeasuredWindow) -> None:
    get = client.get
    while True:
        check(get(url))
        if not window.record():
            return


def fibers(client: HttpClient, url: str, window: MeasuredWindow, concurrency: int) -> None:
    # The caller's loop makes no connections of its own: a few slots and buffers do.
    loop = Loop(max_connections=16, recv_buffers=16, handle_signals=False)
    worker_done = countdown(concurrency, loop.stop)

    def worker() -> Generator[Op, Any, None]:
        fetch = client.fetch
        try:
            while True:
                try:
                    resp = yield from fetch("GET", url)
                except Exception as e:  # the loop would log it and go on with one worker less
                    fail(f"request failed: {e!r}")
                check(resp)
                if not window.record():
                    return
        finally:
            worker_done()

    for _ in range(concurrency):
        loop.go(worker())
    loop.run()


def threads(client: HttpClient, url: str, window: MeasuredWindow, concurrency: int) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            sequential(client, url, window)
        except BaseException as e:  # SystemExit from fail() too: a thread would swallow it
            errors.append(e)

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    if errors:
        fail(f"{len(errors)} of {concurrency} threads failed, the first with {errors[0]!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    add_job_arguments(parser, ("sequential", "concurrent"))
    parser.add_argument("--style", choices=("fibers", "threads"), default="fibers")
    args = parser.parse_args(argv)
    idle = max(args.concurrency, 10)
    with HttpClient(max_idle_per_host=idle, max_idle=max(idle, 100)) as client:
        window = MeasuredWindow(args.warmup, args.seconds)
        if args.mode == "sequential":
            sequential(client, args.url, window)
        elif args.style == "fibers":
            fibers(client, args.url, window, args.concurrency)
        else:
            threads(client, args.url, window, args.concurrency)
    window.emit()


if __name__ == "__main__":
    main()
