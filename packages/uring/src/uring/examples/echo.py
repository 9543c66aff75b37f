"""A TCP echo server on raw io_uring: multishot accept, multishot recv, provided buffers.

Run: python -m uring.examples.echo --port 8080   (Ctrl-C stops it)
"""

from __future__ import annotations

import argparse
import collections
import errno
import signal
import socket

from uring import (
    BufferRing,
    CqeFlag,
    Ring,
    SqeFlag,
    buffer_id,
    prep_accept_multishot,
    prep_close,
    prep_recv_multishot,
    prep_send,
    sqe_set_buf_group,
    sqe_set_flags,
)

ACCEPT, RECV, SEND, CLOSE = 1, 2, 3, 4
GROUP = 0  # the provided-buffer group every recv picks from


def serve(listener: socket.socket, ring: Ring, bufs: BufferRing) -> None:
    """Echo every byte received on every accepted connection, until interrupted."""
    # One send in flight per connection keeps the bytes in order; more wait in its queue,
    # and every bytes object stays referenced here until the kernel has sent it.
    queues: dict[int, collections.deque[bytes]] = {}  # fd -> bytes not yet sent, in order
    ended: set[int] = set()  # fds whose peer is gone, closed once their queue is empty

    def sqe() -> memoryview:
        s = ring.get_sqe()
        while s is None:  # SQ full: hand what is queued to the kernel, then retry
            ring.submit()
            s = ring.get_sqe()
        return s

    def arm_accept() -> None:
        fd = listener.fileno()
        prep_accept_multishot(sqe(), fd, None, None, socket.SOCK_CLOEXEC, user_data=ACCEPT << 32)

    def arm_recv(fd: int) -> None:
        s = sqe()
        prep_recv_multishot(s, fd, None, 0, user_data=RECV << 32 | fd)
        sqe_set_flags(s, SqeFlag.BUFFER_SELECT)  # after prep_*, which writes the whole SQE
        sqe_set_buf_group(s, GROUP)

    def send_head(fd: int) -> None:
        data = queues[fd][0]
        prep_send(sqe(), fd, data, len(data), socket.MSG_NOSIGNAL, user_data=SEND << 32 | fd)

    def send(fd: int, data: bytes) -> None:
        queue = queues.setdefault(fd, collections.deque())
        queue.append(data)
        if len(queue) == 1:  # nothing in flight: start now
            send_head(fd)

    def close(fd: int) -> None:
        # Not while a send is in flight: a reused fd number would mix two connections.
        if queues.get(fd):
            ended.add(fd)
            return
        ended.discard(fd)
        queues.pop(fd, None)
        prep_close(sqe(), fd, user_data=CLOSE << 32 | fd)

    arm_accept()
    while True:
        ring.submit_and_wait(1)
        for user_data, res, flags in ring.reap():
            kind, fd = user_data >> 32, user_data & 0xFFFF_FFFF
            more = flags & CqeFlag.MORE  # without MORE, this was a multishot op's last CQE
            if kind == ACCEPT:
                if res >= 0:
                    arm_recv(res)
                if not more:
                    arm_accept()
            elif kind == RECV:
                if res > 0:
                    bid = buffer_id(flags)
                    data = bytes(bufs.get(bid, res))  # copy out, then give the buffer back
                    bufs.recycle(bid)
                    send(fd, data)
                    if not more:
                        arm_recv(fd)
                elif res == -errno.ENOBUFS:
                    arm_recv(fd)  # all buffers were in use; they are back now
                else:
                    close(fd)  # 0: the peer closed; < 0: an error ended the recv
            elif kind == SEND:
                queue = queues[fd]
                if res < 0:
                    queue.clear()  # the peer is gone; its recv ends and closes the fd
                elif res < len(queue[0]):
                    queue[0] = queue[0][res:]  # a short send: the rest goes first
                else:
                    queue.popleft()
                if queue:
                    send_head(fd)
                elif fd in ended:
                    close(fd)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)  # stop on SIGTERM as on Ctrl-C
    signal.signal(signal.SIGINT, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as listener, Ring(256) as ring:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((args.host, args.port))
            listener.listen(1024)
            with BufferRing(ring, GROUP, entries=256, buf_size=4096) as bufs:
                host, port = listener.getsockname()[:2]
                print(f"echo server listening on {host}:{port}", flush=True)
                serve(listener, ring, bufs)
    except KeyboardInterrupt:  # the with blocks have closed everything on the way out
        print("stopped", flush=True)


if __name__ == "__main__":
    main()
