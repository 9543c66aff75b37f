"""aiodns (pycares, c-ares) against a local responder, for bench/dns.py: one job.

Run: python bench/servers/dns_aiodns.py --port PORT --mode cached|uncached
         [--concurrency 32] [--seconds 3] [--warmup 0.5] [--address 192.0.2.1]

One `aiodns.DNSResolver(nameservers=["127.0.0.1:PORT"], timeout=1.0, tries=2)` (c-ares
takes a server's port in its "host:port" form) on uvloop when it is importable (else
asyncio's loop); each lookup is `await resolver.query_dns(name, "A")`, the addresses taken
from its answer records:

- cached: one task looks `cached.bench.test` up again and again. aiodns has no cache of
  its own, but c-ares (1.23 and later) keeps a query cache by default that honours the
  TTL, so these are answered without a query too;
- uncached: `--concurrency` tasks each look up a name never asked before
  (`n<i>.bench.test`, i counting up): a UDP query each.

With pycares 5, c-ares runs its own event thread and hands each outcome to the asyncio loop
with `call_soon_threadsafe`; that thread's CPU counts (the window reads the whole process).
Every answer is checked (exactly `--address`). The last stdout line is the job report of
`measured_window.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools

import aiodns
import pycares
from measured_window import (  # this script's folder is on sys.path
    MeasuredWindow,
    add_job_arguments,
    fail,
)
from process_setup import run_async

CACHED_NAME = "cached.bench.test"


async def run(port: int, window: MeasuredWindow, mode: str, concurrency: int, address: str) -> None:
    resolver = aiodns.DNSResolver(nameservers=[f"127.0.0.1:{port}"], timeout=1.0, tries=2)
    expected = [address]
    numbers = itertools.count()

    async def worker() -> None:
        query = resolver.query_dns
        a_record = pycares.ARecordData
        while True:
            name = CACHED_NAME if mode == "cached" else f"n{next(numbers)}.bench.test"
            result = await query(name, "A")
            addresses = [r.data.addr for r in result.answer if isinstance(r.data, a_record)]
            if addresses != expected:
                fail(f"{name} resolved to {addresses!r}, expected {expected!r}")
            if not window.record():
                return

    try:
        await asyncio.gather(*(worker() for _ in range(1 if mode == "cached" else concurrency)))
    finally:
        await resolver.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    add_job_arguments(parser, ("cached", "uncached"))
    parser.add_argument("--address", default="192.0.2.1")
    args = parser.parse_args(argv)
    window = MeasuredWindow(args.warmup, args.seconds)
    run_async(run(args.port, window, args.mode, args.concurrency, args.address))
    window.emit()


if __name__ == "__main__":
    main()
