"""WebSocket load for bench/ws.py: echo ping-pong, or one publisher and many subscribers.

Run: python bench/servers/ws_client.py echo --port PORT --seconds S [--conns 50] [--pid PID]
     python bench/servers/ws_client.py broadcast --port PORT --seconds S [--subscribers 1000]

A server under test serves three paths (see ws_sws.py, ws_websockets.py, ws_aiohttp.py):

    /ws   echoes every message
    /sub  subscribes the connection to one topic, and echoes every message
    /pub  broadcasts every message to all subscribers

- **echo**: `--conns` connections to /ws each keep one 16-byte text message in flight: send,
  wait until the echo is back (checked), send again. A message is one round trip.
- **broadcast**: `--subscribers` connections to /sub, one to /pub. The publisher sends a
  16-byte text message (a sequence number), waits until every subscriber has received it
  (checked), and sends the next. A message is one delivery, so a publish counts
  `--subscribers` times. Each subscriber first sends one message and waits for its echo:
  the server subscribes a connection before it reads from it, so the echo proves the
  subscription is in place before the first publish.

The client is as cheap as a Python client gets, so that the server is the bottleneck: it
does the opening handshake itself (no extension offered, so no compression) over blocking
sockets, then runs one thread on one `select.epoll` (level triggered) over non-blocking
ones, writing frames masked in advance (RFC 6455 §5.3: every client frame is masked) and
comparing what arrives with the 18-byte unmasked frame it expects; per-fd state lives in
lists indexed by the fd. The last stdout line is one JSON object:

    {"mode": M, "messages": N, "seconds": S, "publishes": P, "conns": C, "size": 16,
     "server_cpu_s": X, "client_cpu_s": Y, "cpu_seconds": Z}

`seconds` is the wall time of the timed part (first send to end of loop; echoes still in
flight then are taken afterwards, not counted). `server_cpu_s` is utime + stime of `--pid`
from /proc/PID/stat over that same window, so it leaves out the handshakes (null without
`--pid`); `client_cpu_s` is this client's CPU over it and `cpu_seconds` over its whole run.
Afterwards every connection gets the closing handshake (close frame 1000, then read to EOF).
Exit status 1, with the reason on stderr, when the server refuses a handshake, closes,
corrupts or stops answering a connection (`--stall` seconds without any frame).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import select
import socket
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from process_setup import NofileLimitError, need_nofile_limit  # this script's folder is on sys.path

HOST = "127.0.0.1"
SIZE = 16  # payload bytes: a 1-byte length (RFC 6455 §5.2: 0-125), so 2-byte headers
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
FIN_TEXT = 0x81  # FIN + opcode 1 (text), RFC 6455 §5.2
FIN_CLOSE = 0x88  # FIN + opcode 8 (close)
NORMAL_CLOSURE = b"\x03\xe8"  # status code 1000, RFC 6455 §7.4.1
MASK_BIT = 0x80
MAX_HEAD_BYTES = 16384  # of the server's 101 response
FD_HEADROOM = 64  # fds beyond the connections: stdio, epoll, the interpreter's own
RECV_BYTES = 4096


class WsLoadError(RuntimeError):
    """The server misbehaved or a connection failed: the message says how."""


def _not_ours(arg: object) -> NoReturn:
    raise AssertionError("epoll reported an fd the client does not own")


# --- frames and the opening handshake --------------------------------------------------------


def client_frame(payload: bytes, key: bytes, first_byte: int = FIN_TEXT) -> bytes:
    """A masked, final frame (text unless `first_byte` says otherwise) of at most 125
    bytes (RFC 6455 §5.2, §5.3)."""
    n = len(payload)
    assert n <= 125, n
    assert len(key) == 4, key
    repeated = (key * (n // 4 + 1))[:n]
    masked = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return bytes((first_byte, MASK_BIT | n)) + key + masked.to_bytes(n, "big")


def server_frame(payload: bytes) -> bytes:
    """The unmasked text frame a server sends for `payload` (at most 125 bytes)."""
    assert len(payload) <= 125
    return bytes((FIN_TEXT, len(payload))) + payload


def mask_key() -> bytes:
    """A random, non-zero masking key, so a server really unmasks."""
    while True:
        key = os.urandom(4)
        if key != b"\0\0\0\0":
            return key


def handshake(sock: socket.socket, port: int, path: str) -> None:
    """The client's opening handshake on a blocking socket (RFC 6455 §4.1).

    Raises:
        WsLoadError: the answer is not a 101 with the right Sec-WebSocket-Accept, or it
            negotiates an extension (none was offered).
    """
    key = base64.b64encode(os.urandom(16))
    sock.sendall(
        b"GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
        % (path.encode(), HOST.encode(), port, key)
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(RECV_BYTES)
        if not chunk:
            raise WsLoadError(f"{path}: server closed during the handshake")
        head += chunk
        if len(head) > MAX_HEAD_BYTES:
            raise WsLoadError(f"{path}: response head exceeds {MAX_HEAD_BYTES} bytes")
    head, _, rest = head.partition(b"\r\n\r\n")
    if rest:
        raise WsLoadError(f"{path}: {len(rest)} unexpected bytes after the 101")
    status, *lines = head.split(b"\r\n")
    if not status.startswith(b"HTTP/1.1 101"):
        raise WsLoadError(f"{path}: handshake answered {status.decode(errors='replace')!r}")
    headers = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
    if headers.get(b"sec-websocket-accept") != accept:
        raise WsLoadError(
            f"{path}: wrong Sec-WebSocket-Accept {headers.get(b'sec-websocket-accept')!r}"
        )
    if b"sec-websocket-extensions" in headers:
        raise WsLoadError(f"{path}: server negotiated {headers[b'sec-websocket-extensions']!r}")


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise WsLoadError(f"server closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def open_ws(port: int, path: str, timeout_s: float) -> socket.socket:
    """A connection to `path`, handshaken, blocking with `timeout_s` (TCP_NODELAY)."""
    sock = socket.create_connection((HOST, port), timeout=timeout_s)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        handshake(sock, port, path)
    except BaseException:
        sock.close()
        raise
    return sock


def echo_once(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(client_frame(payload, mask_key()))
    expected = server_frame(payload)
    got = recv_exact(sock, len(expected))
    if got != expected:
        raise WsLoadError(f"echo of {payload!r} came back as {got!r}")


def close_all(socks: list[socket.socket], timeout_s: float) -> None:
    """The closing handshake on every connection, best effort, within `timeout_s` in all:
    send a close frame, then read until the server closes TCP (RFC 6455 §7.1.1: the server
    closes first). Without it, a server sees an abnormal closure (1006) on each, and the
    websockets library logs a traceback for every one."""
    frame = client_frame(NORMAL_CLOSURE, mask_key(), FIN_CLOSE)
    deadline = time.monotonic() + timeout_s
    for sock in socks:
        try:
            sock.setblocking(True)
            sock.sendall(frame)
        except OSError:
            pass
    for sock in socks:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            sock.settimeout(left)
            while sock.recv(RECV_BYTES):
                pass
        except OSError:  # TimeoutError too: closing it is all that is left to do
            pass


# --- the timed loops -------------------------------------------------------------------------


def server_cpu_ticks(pid: int) -> int:
    """utime + stime of `pid` in clock ticks (proc_pid_stat(5) fields 14 and 15)."""
    with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
        fields = f.read().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


class Window:
    """The timed part: wall time, this client's CPU, and the server's CPU if `pid`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.ticks = server_cpu_ticks(pid) if pid else 0
        self.cpu = time.process_time()
        self.t0 = time.perf_counter()

    def end(self) -> dict[str, float | None]:
        seconds = time.perf_counter() - self.t0
        client_cpu_s = time.process_time() - self.cpu
        server_cpu_s = None
        if self.pid:
            clk_tck = os.sysconf("SC_CLK_TCK")
            server_cpu_s = (server_cpu_ticks(self.pid) - self.ticks) / clk_tck
        return {"seconds": seconds, "server_cpu_s": server_cpu_s, "client_cpu_s": client_cpu_s}


def echo(
    socks: list[socket.socket], seconds: float, stall_s: float, pid: int
) -> dict[str, float | None]:
    """Ping-pong one message per connection for `seconds`; count round trips."""
    nfds = max(s.fileno() for s in socks) + 1
    recv: list[Callable[[int], bytes]] = [_not_ours] * nfds
    send: list[Callable[[bytes], int]] = [_not_ours] * nfds
    frame: list[bytes] = [b""] * nfds
    reply: list[bytes] = [b""] * nfds
    partial: list[bytes] = [b""] * nfds
    ep = select.epoll(len(socks))
    for i, sock in enumerate(socks):
        sock.setblocking(False)
        fd = sock.fileno()
        recv[fd], send[fd] = sock.recv, sock.send
        payload = f"{i:08d}".encode().ljust(SIZE, b".")
        frame[fd], reply[fd] = client_frame(payload, mask_key()), server_frame(payload)
        ep.register(fd, select.EPOLLIN)
    round_trips = 0
    poll, clock = ep.poll, time.perf_counter
    try:
        window = Window(pid)
        for sock in socks:
            sock.send(frame[sock.fileno()])
        now = last_reply = window.t0
        deadline = now + seconds
        while now < deadline:
            events = poll(0.2)
            now = clock()
            if not events:
                if now - last_reply > stall_s:
                    raise WsLoadError(
                        f"no echo for {stall_s:.0f} s after {round_trips} round trips"
                    )
                continue
            last_reply = now
            for fd, _ in events:
                data = recv[fd](RECV_BYTES)
                expected = reply[fd]
                if data == expected and not partial[fd]:
                    round_trips += 1
                    send[fd](frame[fd])
                    continue
                if not data:
                    raise WsLoadError(f"server closed fd {fd} after {round_trips} round trips")
                data = partial[fd] + data
                if len(data) < len(expected) and expected.startswith(data):
                    partial[fd] = data
                    continue
                if data != expected:
                    raise WsLoadError(f"fd {fd}: got {data[:80]!r}, expected {expected!r}")
                partial[fd] = b""
                round_trips += 1
                send[fd](frame[fd])
        result = {"messages": round_trips, "publishes": 0, **window.end()}
    finally:
        ep.close()
    # Take the echo still in flight on each connection (not counted), so that the close
    # frame that follows does not cross it: the websockets library logs a traceback when a
    # handler's send meets a connection that is closing.
    for sock in socks:
        fd = sock.fileno()
        sock.setblocking(True)
        sock.settimeout(stall_s)
        rest = recv_exact(sock, len(reply[fd]) - len(partial[fd]))
        if partial[fd] + rest != reply[fd]:
            raise WsLoadError(f"fd {fd}: got {partial[fd] + rest!r}, expected {reply[fd]!r}")
    return result


def broadcast(
    publisher: socket.socket,
    subscribers: list[socket.socket],
    seconds: float,
    stall_s: float,
    pid: int,
) -> dict[str, float | None]:
    """Publish one message at a time until every subscriber has it, for `seconds`."""
    nfds = max(s.fileno() for s in subscribers) + 1
    recv: list[Callable[[int], bytes]] = [_not_ours] * nfds
    partial: list[bytes] = [b""] * nfds
    ep = select.epoll(len(subscribers))
    for sock in subscribers:
        sock.setblocking(False)
        recv[sock.fileno()] = sock.recv
        ep.register(sock.fileno(), select.EPOLLIN)
    publish, key, n = publisher.sendall, mask_key(), len(subscribers)
    poll, clock = ep.poll, time.perf_counter
    publishes = 0
    try:
        window = Window(pid)
        payload = b"%016d" % publishes
        expected = server_frame(payload)
        publish(client_frame(payload, key))
        remaining = n
        now = last_reply = window.t0
        deadline = now + seconds
        while True:
            events = poll(0.2)
            now = clock()
            if not events:
                if now - last_reply > stall_s:
                    raise WsLoadError(
                        f"{remaining} of {n} subscribers without message {publishes} "
                        f"after {stall_s:.0f} s"
                    )
                continue
            last_reply = now
            for fd, _ in events:
                data = recv[fd](RECV_BYTES)
                if data == expected and not partial[fd]:
                    remaining -= 1
                    continue
                if not data:
                    raise WsLoadError(f"server closed subscriber fd {fd} at message {publishes}")
                data = partial[fd] + data
                if len(data) < len(expected) and expected.startswith(data):
                    partial[fd] = data
                    continue
                if data != expected:
                    raise WsLoadError(f"fd {fd}: got {data[:80]!r}, expected {expected!r}")
                partial[fd] = b""
                remaining -= 1
            if remaining == 0:
                publishes += 1
                if now >= deadline:
                    break
                payload = b"%016d" % publishes
                expected = server_frame(payload)
                publish(client_frame(payload, key))
                remaining = n
        return {"messages": publishes * n, "publishes": publishes, **window.end()}
    finally:
        ep.close()


# --- the command line ------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, float | str | None]:
    socks: list[socket.socket] = []  # in broadcast, the publisher last
    try:
        if args.mode == "echo":
            need_nofile_limit(args.conns + FD_HEADROOM)
            for _ in range(args.conns):
                socks.append(open_ws(args.port, "/ws", args.connect_timeout))
            result = echo(socks, args.seconds, args.stall, args.pid)
        else:
            need_nofile_limit(args.subscribers + 1 + FD_HEADROOM)
            for i in range(args.subscribers):
                sock = open_ws(args.port, "/sub", args.connect_timeout)
                socks.append(sock)
                echo_once(sock, f"sub {i:012d}".encode())
            socks.append(open_ws(args.port, "/pub", args.connect_timeout))
            result = broadcast(socks[-1], socks[:-1], args.seconds, args.stall, args.pid)
        close_all(socks, args.connect_timeout)
    finally:
        for sock in socks:
            sock.close()
    return {
        "mode": args.mode,
        **result,
        "conns": len(socks),
        "size": SIZE,
        "cpu_seconds": time.process_time(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("echo", "broadcast"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--conns", type=int, default=50, help="echo connections")
    parser.add_argument("--subscribers", type=int, default=1000, help="broadcast receivers")
    parser.add_argument("--pid", type=int, default=0, help="the server's PID, for its CPU")
    parser.add_argument("--connect-timeout", type=float, default=5.0)
    parser.add_argument("--stall", type=float, default=5.0, help="seconds without any frame")
    args = parser.parse_args(argv)
    if args.conns < 1 or args.subscribers < 1 or args.seconds <= 0 or args.stall <= 0:
        parser.error("need --conns >= 1, --subscribers >= 1, --seconds > 0, --stall > 0")
    try:
        report = run(args)
    except (WsLoadError, NofileLimitError, OSError) as e:
        print(f"ws_client: {args.mode}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
