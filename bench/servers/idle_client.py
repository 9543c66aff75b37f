"""Open many idle connections to an echo server and read its resident memory.

Run: python bench/servers/idle_client.py --port PORT --pid SERVER_PID [--conns 10000]

1. Read the server's VmRSS from /proc/PID/status (before).
2. Open `--conns` connections in batches of `--batch`: each batch connects (non-blocking,
   waiting in one epoll), sends one byte on each connection and waits until that byte has
   come back on each, so every connection is accepted and served once before the next
   batch starts (a batch is well under the listen backlog).
3. Hold them all idle for `--hold` seconds, read VmRSS again (after), and check that the
   server closed none of them (no connection readable).
4. Close them all.

The last stdout line is one JSON object: conns, rss_before_kib, rss_after_kib,
rss_bytes_per_conn ((after - before) * 1024 / conns), connect_seconds (step 2),
closed_early (step 3, must be 0) and cpu_seconds (this client's). The client raises its own
RLIMIT_NOFILE soft limit to the hard limit first. Exit status 1, with the reason on stderr,
when a connection fails, a batch times out (`--timeout` seconds each) or echoes wrong bytes.
"""

from __future__ import annotations

import argparse
import errno
import json
import select
import socket
import sys
import time

from process_setup import NofileLimitError, need_nofile_limit  # this script's folder is on sys.path

HOST = "127.0.0.1"
PING = b"x"
FD_HEADROOM = 64  # fds beyond the connections: stdio, epoll, the interpreter's own


class IdleError(RuntimeError):
    """The server misbehaved or a connection failed: the message says how."""


def vmrss_kib(pid: int) -> int:
    """The resident set size of `pid` in KiB, from the VmRSS line of /proc/PID/status."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise IdleError(f"no VmRSS in /proc/{pid}/status (a kernel thread?)")


def _wait(ep: select.epoll, pending: set[int], deadline: float, what: str) -> list[int]:
    """Wait until every fd of `pending` has an event; return them in event order."""
    ready = []
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            raise IdleError(f"{len(pending)} connections still waiting to {what}")
        for fd, _ in ep.poll(min(left, 1.0)):
            if fd in pending:
                pending.discard(fd)
                ready.append(fd)
    return ready


def open_batch(port: int, count: int, ep: select.epoll, timeout_s: float) -> list[socket.socket]:
    """Connect `count` sockets, echo one byte on each; return them, idle."""
    deadline = time.monotonic() + timeout_s
    socks: dict[int, socket.socket] = {}
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
            socks[sock.fileno()] = sock
            err = sock.connect_ex((HOST, port))
            if err not in (0, errno.EINPROGRESS):
                raise IdleError(f"connect: {errno.errorcode.get(err, err)}")
            ep.register(sock.fileno(), select.EPOLLOUT)
        for fd in _wait(ep, set(socks), deadline, "connect"):
            sock = socks[fd]
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise IdleError(f"connect: {errno.errorcode.get(err, err)}")
            ep.modify(fd, select.EPOLLIN)
            if sock.send(PING) != len(PING):
                raise IdleError("short send of one byte")
        for fd in _wait(ep, set(socks), deadline, "echo one byte"):
            data = socks[fd].recv(16)
            if data != PING:
                raise IdleError(f"echo of {PING!r} came back as {data!r} (b'' is a close)")
            ep.unregister(fd)
    except BaseException:
        for sock in socks.values():
            sock.close()
        raise
    return list(socks.values())


def count_readable(socks: list[socket.socket]) -> int:
    """How many connections are readable now: data or EOF the server sent while idle."""
    ep = select.epoll(len(socks))
    try:
        for sock in socks:
            ep.register(sock.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
        return len(ep.poll(0, len(socks)))
    finally:
        ep.close()


def run(args: argparse.Namespace) -> dict[str, float]:
    need_nofile_limit(args.conns + FD_HEADROOM)
    before = vmrss_kib(args.pid)
    socks: list[socket.socket] = []
    ep = select.epoll()
    try:
        t0 = time.perf_counter()
        while len(socks) < args.conns:
            count = min(args.batch, args.conns - len(socks))
            try:
                socks += open_batch(args.port, count, ep, args.timeout)
            except (IdleError, OSError) as e:
                raise IdleError(f"after {len(socks)} connections: {e}") from None
        connect_s = time.perf_counter() - t0
        time.sleep(args.hold)
        after = vmrss_kib(args.pid)
        closed_early = count_readable(socks)
    finally:
        ep.close()
        for sock in socks:
            sock.close()
    return {
        "conns": args.conns,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "rss_bytes_per_conn": (after - before) * 1024 / args.conns,
        "connect_seconds": connect_s,
        "closed_early": closed_early,
        "cpu_seconds": time.process_time(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's PID")
    parser.add_argument("--conns", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="connections opened at once")
    parser.add_argument("--hold", type=float, default=1.0, help="idle seconds before reading")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per batch")
    args = parser.parse_args(argv)
    if args.conns < 1 or args.batch < 1 or args.hold < 0 or args.timeout <= 0:
        parser.error("need --conns >= 1, --batch >= 1, --hold >= 0, --timeout > 0")
    try:
        report = run(args)
    except (IdleError, NofileLimitError, OSError) as e:
        print(f"idle_client: {e}", file=sys.stderr)
        return 1
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
