"""TCP echo server on sws_core, in either of its two handler styles.

Run: python bench/servers/sws_echo.py --port PORT [--mode protocol|fiber]
(SIGTERM or SIGINT stops it gracefully)

- `protocol` (the fast path): a `TcpProtocol` whose `data_received` calls `conn.write(data)`;
  no fiber machinery runs per message.
- `fiber`: the handler of `sws_core.examples.echo`, one generator fiber per connection
  (`data = yield from conn.receive()`, `yield from conn.send(data)`).

At start the server raises its RLIMIT_NOFILE soft limit to the hard limit, and the loop has
`--max-connections` slots (default 16384), so it can hold what the benchmarks open.
"""

from __future__ import annotations

import argparse

from process_setup import raise_nofile_limit  # this script's folder is on sys.path

from sws_core import Conn, Loop
from sws_core.examples.echo import echo

HOST = "127.0.0.1"


class EchoProtocol:
    """Send back every byte received; close when the peer finishes sending."""

    __slots__ = ("conn",)

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def data_received(self, data: bytes) -> None:
        self.conn.write(data)

    def eof_received(self) -> None:
        self.conn.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("protocol", "fiber"), default="protocol")
    parser.add_argument("--max-connections", type=int, default=16384)
    parser.add_argument("--backlog", type=int, default=1024)
    args = parser.parse_args(argv)
    raise_nofile_limit()
    loop = Loop(max_connections=args.max_connections)
    if args.mode == "protocol":
        loop.listen(HOST, args.port, protocol=EchoProtocol, backlog=args.backlog)
    else:
        loop.listen(HOST, args.port, handler=echo, backlog=args.backlog)
    print(f"sws {args.mode} echo server listening on {HOST}:{args.port}", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
