"""Ping-pong load for a TCP echo server: `--conns` connections, one message in flight each.

Run: python bench/servers/echo_client.py --port PORT --seconds S [--conns 50] [--size 64]

Each connection sends its own `--size`-byte message, waits until the same bytes have come
back, and sends it again, for `--seconds` seconds; a round trip is counted when the whole
message is back and equal to what was sent. One thread, one `select.epoll` (level
triggered) over non-blocking sockets with TCP_NODELAY; per-fd state lives in lists indexed
by the fd so the hot loop does no dict look-ups. The last stdout line is one JSON object:

    {"round_trips": N, "seconds": S, "errors": E, "conns": C, "size": B, "cpu_seconds": P}

`seconds` is the wall time from the first send to the end of the loop; messages still in
flight then are not counted. Exit status 1 (with the reason on stderr) when the server
refuses, closes or corrupts a connection, or no reply arrives for `--stall` seconds.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import sys
import time
from collections.abc import Callable
from typing import NoReturn

HOST = "127.0.0.1"


def _not_ours(arg: object) -> NoReturn:
    raise AssertionError("epoll reported an fd the client does not own")


class EchoError(RuntimeError):
    """The server misbehaved: the message says how."""


def connect_all(port: int, conns: int, timeout_s: float) -> list[socket.socket]:
    socks = []
    try:
        for _ in range(conns):
            sock = socket.create_connection((HOST, port), timeout=timeout_s)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            socks.append(sock)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def ping_pong(
    socks: list[socket.socket], size: int, seconds: float, stall_s: float
) -> tuple[int, float]:
    """Run the ping-pong for `seconds`; return (round trips, wall seconds)."""
    nfds = max(s.fileno() for s in socks) + 1
    recv: list[Callable[[int], bytes]] = [_not_ours] * nfds
    send: list[Callable[[bytes], int]] = [_not_ours] * nfds
    message: list[bytes] = [b""] * nfds
    partial: list[bytes] = [b""] * nfds
    ep = select.epoll(len(socks))
    for i, sock in enumerate(socks):
        fd = sock.fileno()
        recv[fd] = sock.recv
        send[fd] = sock.send
        message[fd] = f"{i:08d}".encode().ljust(size, b".")[:size]
        ep.register(fd, select.EPOLLIN)
    round_trips = 0
    poll = ep.poll
    clock = time.perf_counter
    try:
        t0 = clock()
        for sock in socks:
            sock.send(message[sock.fileno()])
        deadline = t0 + seconds
        last_reply = t0
        now = t0
        while now < deadline:
            events = poll(0.2)
            now = clock()
            if not events:
                if now - last_reply > stall_s:
                    raise EchoError(f"no reply for {stall_s:.0f} s after {round_trips} round trips")
                continue
            last_reply = now
            for fd, _ in events:
                data = recv[fd](65536)
                expected = message[fd]
                if data == expected and not partial[fd]:
                    round_trips += 1
                    send[fd](expected)
                    continue
                if not data:
                    raise EchoError(f"server closed fd {fd} after {round_trips} round trips")
                data = partial[fd] + data
                if len(data) < size and expected.startswith(data):
                    partial[fd] = data
                    continue
                if data != expected:
                    raise EchoError(f"fd {fd}: got {data[:80]!r}, expected {expected[:80]!r}")
                partial[fd] = b""
                round_trips += 1
                send[fd](expected)
        return round_trips, clock() - t0
    finally:
        ep.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--conns", type=int, default=50)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--connect-timeout", type=float, default=5.0)
    parser.add_argument("--stall", type=float, default=5.0, help="seconds without any reply")
    args = parser.parse_args(argv)
    if args.size < 8 or args.conns < 1 or args.seconds <= 0:
        parser.error("need --size >= 8, --conns >= 1, --seconds > 0")
    try:
        socks = connect_all(args.port, args.conns, args.connect_timeout)
    except OSError as e:
        print(f"echo_client: connecting to {HOST}:{args.port}: {e}", file=sys.stderr)
        return 1
    try:
        round_trips, seconds = ping_pong(socks, args.size, args.seconds, args.stall)
    except (EchoError, OSError) as e:
        print(f"echo_client: {e}", file=sys.stderr)
        return 1
    finally:
        for sock in socks:
            sock.close()
    report = {
        "round_trips": round_trips,
        "seconds": seconds,
        "errors": 0,
        "conns": args.conns,
        "size": args.size,
        "cpu_seconds": time.process_time(),
    }
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
