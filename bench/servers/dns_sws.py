"""sws-client's `DnsResolver` against a local responder, for bench/dns.py: one job.

Run: python bench/servers/dns_sws.py --port PORT --mode cached|uncached
         [--concurrency 32] [--seconds 3] [--warmup 0.5] [--address 192.0.2.1]

The resolver asks only 127.0.0.1:PORT (`ResolvConf(nameservers=...)`, timeout 1 s, 2
attempts) with an empty hosts table; lookups are fibers on an sws_core `Loop` run on the
main thread, each `yield from resolver.resolve_on_loop(name, family=AF_INET)` (A only, one
question per lookup, as aiodns's `query_dns(name, "A")`):

- cached: one fiber looks `cached.bench.test` up again and again; all but the first are
  answered from the resolver's TTL cache (a hit returns without yielding to the loop);
- uncached: `--concurrency` fibers each look up a name never asked before
  (`n<i>.bench.test`, i counting up), so every lookup is a UDP query from a fresh socket
  with a fresh id. Each answer is cached (TTL 300 s), so past 4,096 names every lookup
  also evicts the least recently used entry: the full cost of a miss.

Every answer is checked (exactly `--address`). The last stdout line is the job report of
`measured_window.py`; the resolver's counters go to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import socket
import sys
from collections.abc import Generator
from typing import Any

from measured_window import (  # this script's folder is on sys.path
    MeasuredWindow,
    add_job_arguments,
    countdown,
    fail,
)

from sws_client import DnsResolver, ResolvConf, parse_hosts
from sws_core import Loop, Op

CACHED_NAME = "cached.bench.test"


def run(
    resolver: DnsResolver, window: MeasuredWindow, mode: str, concurrency: int, address: str
) -> None:
    loop = Loop(handle_signals=False)
    expected = [address]
    numbers = itertools.count()
    workers = 1 if mode == "cached" else concurrency
    worker_done = countdown(workers, loop.stop)

    def worker() -> Generator[Op, Any, None]:
        resolve = resolver.resolve_on_loop
        inet = socket.AF_INET
        try:
            while True:
                name = CACHED_NAME if mode == "cached" else f"n{next(numbers)}.bench.test"
                try:
                    addresses = yield from resolve(name, family=inet)
                except Exception as e:  # the loop would log it and go on with one worker less
                    fail(f"looking up {name} failed: {e!r}")
                if addresses != expected:
                    fail(f"{name} resolved to {addresses!r}, expected {expected!r}")
                if not window.record():
                    return
        finally:
            worker_done()

    for _ in range(workers):
        loop.go(worker())
    loop.run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    add_job_arguments(parser, ("cached", "uncached"))
    parser.add_argument("--address", default="192.0.2.1")
    args = parser.parse_args(argv)
    conf = ResolvConf(nameservers=(("127.0.0.1", args.port),), timeout_s=1.0, attempts=2)
    with DnsResolver(conf=conf, hosts=parse_hosts("")) as resolver:
        window = MeasuredWindow(args.warmup, args.seconds)
        run(resolver, window, args.mode, args.concurrency, args.address)
        print(resolver.statistics(), file=sys.stderr)
    window.emit()


if __name__ == "__main__":
    main()
