"""A TCP echo server on sws_core: one fiber per connection.

Run: python -m sws_core.examples.echo --port 8080   (Ctrl-C or SIGTERM stops it gracefully)
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Generator
from typing import Any

from sws_core import Conn, Loop, Op


def echo(conn: Conn) -> Generator[Op, Any, None]:
    """Send back every byte received, until the peer finishes sending."""
    while data := (yield from conn.receive()):
        yield from conn.send(data)


def _announce(line: str) -> None:
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--max-connections", type=int, default=16384)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    loop = Loop(max_connections=args.max_connections)
    listener = loop.listen(args.host, args.port, handler=echo)
    # Announced from the loop's first turn, once SIGINT/SIGTERM lead to a graceful stop.
    loop.go(_announce, f"echo server listening on {listener.host}:{listener.port}")
    loop.run()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
