"""Outbound TCP connections on the loop's own ring (the original's RingSharedClient).

A connect is two linked SQEs: IORING_OP_CONNECT, then IORING_OP_LINK_TIMEOUT, which
cancels the connect (-ECANCELED) if it has not completed in time. The pair must go to the
kernel in one submission (a link cannot span two), so both SQEs are taken at once. The
sockaddr and the timespec stay referenced by the connection until the kernel has read
them. Once connected, the connection is an ordinary `Conn`, with its multishot recv.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING, Final

from sws_core._conn import CONNECTING, K_CONNECT, K_LINK_TIMEOUT, OPEN, Conn
from sws_core._errors import ClosedResourceError, error_from_res
from sws_core._fiber import Fiber
from sws_core._ops import Connect
from sws_core._slots import pack_user_data
from uring import KernelTimespec, SqeFlag, prep_connect, prep_link_timeout, sockaddr

if TYPE_CHECKING:
    from sws_core._loop import Loop

_IO_LINK: Final = int(SqeFlag.IO_LINK)
_FLAGS_OFFSET: Final = 1  # sqe->flags


def start_connect(loop: Loop, fiber: Fiber, op: Connect) -> None:
    """Serve a fiber's `Connect`: take a slot, open a socket, submit connect + timeout."""
    try:
        addr = sockaddr(op.host, op.port)
        timeout = KernelTimespec.from_seconds(op.timeout_s)
    except ValueError as exc:
        loop._throw(fiber, exc)
        return
    family = socket.AF_INET6 if len(addr) > 16 else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    except OSError as exc:  # EMFILE, ENFILE, ENOBUFS: before a slot is taken
        loop._throw(fiber, exc)
        return
    slot = loop._pool.acquire()
    if slot < 0:
        sock.close()
        loop._throw(fiber, OSError(f"max_connections={loop._pool.capacity} reached"))
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = Conn(loop, slot, loop._pool.gen[slot], sock.detach())
    loop._conns[slot] = conn
    conn.state = CONNECTING
    conn._connecting = fiber
    conn._peer = (op.host, op.port)
    conn._keep = (addr, timeout)  # read by the kernel at submit, which is next turn
    sqe, sqe_timeout = loop._sqe_pair()
    prep_connect(sqe, conn.fd, addr, len(addr), user_data=pack_user_data(K_CONNECT, slot, conn.gen))
    sqe[_FLAGS_OFFSET] |= _IO_LINK
    user_data = pack_user_data(K_LINK_TIMEOUT, slot, conn.gen)
    prep_link_timeout(sqe_timeout, timeout, user_data=user_data)
    conn._inflight += 2


def finish_connect(loop: Loop, conn: Conn, res: int) -> None:
    """Handle the connect's completion: resume the fiber with the connection or the error."""
    conn._inflight -= 1
    fiber, conn._connecting = conn._connecting, None
    if res == 0 and conn.state == CONNECTING:
        conn.state = OPEN
        conn.last_active = loop.now
        conn.arm_recv()
        if fiber is not None:
            loop._resume(fiber, conn)
        return
    if conn.state != CONNECTING:  # our own close or abort cancelled it
        exc: BaseException = ClosedResourceError("connection closed while connecting")
    elif res == -errno.ECANCELED:  # the linked timeout fired
        exc = TimeoutError(f"connect to {conn._peer} timed out")
    else:
        exc = error_from_res(res)
    conn.abort(exc)
    if fiber is not None:
        loop._throw(fiber, exc)
