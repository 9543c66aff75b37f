"""`Conn`: one TCP connection on the loop, full duplex, its reads and writes on the ring.

Rules that hold in this module:

- Reads are one multishot recv per connection, picking from the loop's provided-buffer
  ring, so an idle connection holds no read buffer. Each completion's bytes are copied out
  and the buffer recycled at once; the loop publishes the recycled buffers to the kernel
  once per turn, after the dispatch. -ENOBUFS (the group ran dry) ends the multishot; the
  connection re-arms on the next loop turn instead of closing.
- Writes keep their bytes alive until the send completes; a short send continues from
  where it stopped. At most one send is in flight (`_sending`), so bytes leave in order;
  everything queued behind it meanwhile (`_wq`) is joined into the next send (one syscall
  per batch).
- Backpressure: over `max_write_queue_bytes` queued, reading pauses (the recv is cancelled)
  and `Send` waits; under a quarter of it, reading resumes and waiting senders go on. A
  callback protocol that keeps writing into an over-full queue, past four times the limit,
  is ignoring backpressure: the connection aborts. (A peer that does not read at all is
  caught by the write timeout.)
- Closing never races the kernel: the recv (and, on abort, the send) is cancelled first,
  and the fd is closed through the ring only when no operation of the connection is in
  flight, so no completion can name an fd number that a new connection has reused. The
  slot is released when that close completes.
- A close right after a write ends the connection early (`_close_after_send`): the bytes
  go to the socket at once with the FIN behind them (this side closes first), or what the
  socket does not take is sent through the ring with the close linked behind it. The
  recv that close overtakes is cancelled by user_data and keeps its own reference to the
  socket, so it races nothing.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import socket
import struct
from typing import TYPE_CHECKING, Final, Protocol

from sws_core._errors import (
    BrokenResourceError,
    BusyResourceError,
    Cancelled,
    ClosedResourceError,
    error_from_res,
)
from sws_core._ops import Receive, Send
from uring import (
    BYTES_DATA_OFFSET,
    SQE_FIELDS,
    CqeFlag,
    Op,
    SqeFlag,
    buffer_address,
    parse_sockaddr,
    prep_cancel64,
    prep_close,
    prep_nop,
    prep_recv_multishot,
    prep_shutdown,
    sqe_layout,
    sqe_set_buf_group,
    sqe_set_flags,
)

if TYPE_CHECKING:
    from sws_core._fiber import Fiber
    from sws_core._loop import Loop

log = logging.getLogger("sws_core")

# Kinds of operation, in the low byte of user_data (see sws_core._slots).
K_RECV: Final = 1
K_SEND: Final = 2
K_CLOSE: Final = 3
K_CANCEL: Final = 4
K_SHUTDOWN: Final = 5
K_CONNECT: Final = 6
K_LINK_TIMEOUT: Final = 7
K_ACCEPT: Final = 8
K_WAKE: Final = 9
K_DISCARD: Final = 10  # closing a refused connection's fd: no slot to report to
K_OP: Final = 11  # a fiber's ring_op; the op's id, not a slot, in the bits above the kind
K_OP_TIMEOUT: Final = 12  # the timeout linked to a ring_op (its own CQE is not needed)

OPEN: Final = 0
CLOSING: Final = 1  # no new reads; flushing (close) or cancelling (abort)
CLOSED: Final = 2  # the fd close is in flight
FREED: Final = 3  # the slot is released; every use raises ClosedResourceError
CONNECTING: Final = 4
_STATE_NAMES: Final = ("OPEN", "CLOSING", "CLOSED", "FREED", "CONNECTING")

_PAUSE_WRITE: Final = 1  # reading paused because the write queue is over its limit
_PAUSE_READ: Final = 2  # reading paused because unread data is over its limit
_PAUSE_USER: Final = 4  # reading paused by the protocol (pause_reading)

_MORE: Final = int(CqeFlag.MORE)
_BUFFER_SELECT: Final = int(SqeFlag.BUFFER_SELECT)
_MSG_NOSIGNAL: Final = socket.MSG_NOSIGNAL
# A send SQE in one pack, as prep_send writes it, without its keyword-argument call: the
# hottest SQE of a server (see uring.sqe_layout). Equality with prep_send is unit-tested.
_pack_send = sqe_layout("opcode", "fd", "addr", "len", "op_flags", "user_data").pack_into
_OP_SEND: Final = int(Op.SEND)
_MSG_WAITALL: Final = socket.MSG_WAITALL
_IO_LINK: Final = int(SqeFlag.IO_LINK)
_USER_DATA_OFFSET: Final = SQE_FIELDS["user_data"][0]
_BYTES_OFFSET: Final = BYTES_DATA_OFFSET
_unpack_user_data = struct.Struct("<Q").unpack_from

_libc = ctypes.CDLL(None, use_errno=True)
_getpeername = _libc.getpeername


class TcpProtocol(Protocol):
    """What a layer above implements to be driven by a connection's events (push style).

    Each method runs on the IO thread; one that raises aborts the connection.
    """

    def data_received(self, data: bytes) -> None:
        """Bytes arrived, in order."""

    def eof_received(self) -> None:
        """The peer finished sending (half-close); writing may go on."""

    def connection_lost(self, exc: BaseException | None) -> None:
        """The connection is closed and its slot released; `exc` says why, if not cleanly."""


class Conn:
    """A TCP connection: `receive`/`send` from fibers, `write`/`close` from callbacks.

    A connection is driven either by a `TcpProtocol` (its callbacks get every event) or by
    one handler fiber (which pulls data with `yield from conn.receive()`).
    """

    __slots__ = (
        "_close_exc",
        "_connecting",
        "_eof",
        "_inflight",
        "_keep",
        "_pause",
        "_peer",
        "_rbuf",
        "_rbuf_bytes",
        "_reader",
        "_recv_armed",
        "_send_started",
        "_send_ud",
        "_sending",
        "_shut_wr",
        "_ud",
        "_wq",
        "_wq_bytes",
        "_writers",
        "fd",
        "fiber",
        "gen",
        "idle_timeout_s",
        "last_active",
        "loop",
        "max_write_queue_bytes",
        "protocol",
        "slot",
        "state",
        "write_timeout_s",
    )

    def __init__(self, loop: Loop, slot: int, gen: int, fd: int) -> None:
        self.loop = loop
        self.slot = slot
        self.gen = gen
        self.fd = fd
        self.state = OPEN
        self.protocol: TcpProtocol | None = None
        self.fiber: Fiber | None = None
        self.last_active = loop.now
        self.idle_timeout_s: float | None = None  # None: the loop's idle_timeout_s
        self.write_timeout_s: float | None = None  # None: the loop's write_timeout_s
        self.max_write_queue_bytes = loop.max_write_queue_bytes  # a protocol may change it
        self._recv_armed = False
        self._pause = 0
        self._eof = False
        self._inflight = 0  # ops in flight but a send: _sending is not None while one is
        self._ud = slot << 8 | gen << 32  # user_data without its kind (see sws_core._slots)
        self._send_ud = self._ud | K_SEND  # a send's, made once: the hot path sends
        # Containers are made on first use: most connections never need some of them, and
        # an idle connection's memory is mostly what it holds.
        self._wq: list[bytes | memoryview] | None = None  # queued behind _sending
        self._wq_bytes = 0  # not yet sent: the rest of _sending and the queue behind it
        self._sending: bytes | memoryview | None = None  # the bytes of the send in flight
        self._send_started = 0.0
        self._shut_wr = False
        self._rbuf: list[bytes] | None = None
        self._rbuf_bytes = 0
        self._reader: Fiber | None = None
        self._writers: list[Fiber] | None = None
        self._close_exc: BaseException | None = None
        self._peer: tuple[str, int] | None = None
        self._connecting: Fiber | None = None  # the fiber waiting for an outbound connect
        self._keep: object = None  # memory an in-flight op points at (connect's sockaddr)

    # --- the public face ------------------------------------------------------------------

    @property
    def id(self) -> int:
        """A number naming this connection; `loop.conn(id)` finds it while it is open."""
        return self.slot | self.gen << 24

    @property
    def peer(self) -> tuple[str, int]:
        """The peer's `(host, port)` (looked up once, on first use)."""
        if self._peer is None:
            buf = ctypes.create_string_buffer(128)
            size = ctypes.c_uint32(128)
            if _getpeername(self.fd, buf, ctypes.byref(size)) != 0:
                return ("", 0)
            self._peer = parse_sockaddr(buf.raw[: size.value])
        return self._peer

    @property
    def write_queue_bytes(self) -> int:
        """Bytes queued and not yet acknowledged by a completed send."""
        return self._wq_bytes

    def receive(self) -> Receive:
        """Return the op that waits for data: `data = yield from conn.receive()`.

        The result is every byte that arrived since the last receive (at least one), or
        b"" once the peer has finished sending.
        """
        return Receive(self)

    def send(self, data: bytes) -> Send:
        """Return the op that queues `data` and waits while the write queue is over its
        limit: `yield from conn.send(data)`."""
        return Send(self, data)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue `data` for sending without waiting (callback style).

        Raises:
            ClosedResourceError: the connection is closing or closed.
        """
        if self.state != OPEN or self._shut_wr:
            raise self.closed_error("write")
        if not data:
            return
        if type(data) is not bytes:
            data = bytes(data)  # the caller may reuse its buffer; the kernel reads later
        n = len(data)
        if self._sending is None:
            # The common case, a response to a request: nothing in flight (so nothing
            # queued either: the queue goes out as soon as no send is in flight), send now.
            self._wq_bytes = n
            self._sending = data
            loop = self.loop
            self._send_started = self.last_active = loop.now
            address = (
                id(data) + _BYTES_OFFSET if _BYTES_OFFSET is not None else buffer_address(data)
            )
            sqe = loop._get_sqe() or loop._sqe()
            _pack_send(sqe, 0, _OP_SEND, self.fd, address, n, _MSG_NOSIGNAL, self._send_ud)
            if n > self.max_write_queue_bytes:
                self._over_limit(False)
            return
        wq = self._wq
        if wq is None:
            self._wq = [data]
        else:
            wq.append(data)
        queued = self._wq_bytes
        self._wq_bytes = queued + n
        limit = self.max_write_queue_bytes
        if self._wq_bytes > limit:
            self._over_limit(queued > limit)

    def shutdown_write(self) -> None:
        """Half-close: send FIN once the write queue is flushed; reading goes on."""
        if self.state != OPEN or self._shut_wr:
            return
        self._shut_wr = True
        if self._sending is None:
            self._submit_shutdown()

    def close(self) -> None:
        """Flush what is queued, then close. Idempotent; never raises."""
        if self.state == CONNECTING:
            self.abort(ClosedResourceError("closed while connecting"))
        if self.state != OPEN:
            return
        self.state = CLOSING
        if self._sending is not None and not self._wq and not self._shut_wr:
            self._close_after_send()
        self._cancel_recv()
        self._finish_if_idle()

    def _close_after_send(self) -> None:
        """Close right behind the last send when that send has not reached the kernel yet.

        The usual end of a short-lived connection: the response and then `close()` in one
        handler call. The bytes are offered to the socket at once (`send_now`); if it takes
        them all, the FIN follows them at once (`shutdown_write`), the SQE becomes a NOP,
        and the close goes the usual way: this side closes first and keeps the TIME_WAIT,
        and a client opening connection after connection does not run out of ports.
        Otherwise the send of what is left gets `IO_LINK` and `MSG_WAITALL` (so a short
        send fails the link) and the close follows it in the same submission. The recv
        still in flight is cancelled by its user_data, not its fd, and holds its own
        reference to the socket, so the early close races nothing; if the send fails, the
        close completes with -ECANCELED and the connection closes the usual way
        (`on_close_cancelled`).
        """
        ring = self.loop._ring
        assert ring is not None
        sqe = ring.pending_sqe()
        if sqe is None or _unpack_user_data(sqe, _USER_DATA_OFFSET)[0] != self._ud | K_SEND:
            return
        data = self._sending
        assert data is not None
        loop = self.loop
        sent = loop._send_now(self.fd, data)
        if sent == len(data):  # all in the socket: the FIN goes right behind it
            prep_nop(sqe, user_data=K_DISCARD)  # the SQE does nothing now
            self._sending = None
            self._wq_bytes = 0
            loop._shutdown_write(self.fd)
            return
        if sent > 0:  # the rest goes through the ring, the close linked behind it
            self._sending = data = memoryview(data)[sent:]
            self._wq_bytes -= sent
        close_sqe = ring.get_sqe()
        # The SQE sends the rest in any case; with no room for the close, alone, and the
        # close goes the usual way once it completes.
        op_flags = _MSG_NOSIGNAL if close_sqe is None else _MSG_NOSIGNAL | _MSG_WAITALL
        addr = buffer_address(data)
        _pack_send(sqe, 0, _OP_SEND, self.fd, addr, len(data), op_flags, self._send_ud)
        if close_sqe is None:
            return
        sqe_set_flags(sqe, _IO_LINK)
        prep_close(close_sqe, self.fd, user_data=self._ud | K_CLOSE)
        self.state = CLOSED

    def on_close_cancelled(self) -> None:
        """The linked close did not run (its send failed): close once nothing is in flight."""
        self.state = CLOSING
        self._finish_if_idle()

    def abort(self, exc: BaseException | None = None) -> None:
        """Close at once, dropping queued bytes; `exc` is reported to the protocol."""
        if self.state in (CLOSED, FREED):
            return
        if self._close_exc is None:
            self._close_exc = exc
        self.state = CLOSING
        if self._wq:
            self._wq.clear()
        self._wq_bytes = 0
        self._cancel_recv()
        if self._sending is not None:
            self._cancel(K_SEND)
        if self._connecting:
            self._cancel(K_CONNECT)
        self._finish_if_idle()

    def closed_error(self, what: str) -> Exception:
        """The error for using this connection after it closed: `BrokenResourceError` if
        the peer or the network broke it, `ClosedResourceError` if this side closed it."""
        cause = self._close_exc
        if cause is not None and not isinstance(cause, ClosedResourceError | Cancelled):
            error = BrokenResourceError(f"{what} on {self!r}: the connection broke: {cause}")
            error.__cause__ = cause
            return error
        return ClosedResourceError(f"{what} on {self!r}")

    def __repr__(self) -> str:
        return (
            f"<Conn slot={self.slot} gen={self.gen} fd={self.fd} "
            f"state={_STATE_NAMES[self.state]} queued={self._wq_bytes}>"
        )

    # --- reading ----------------------------------------------------------------------------

    def arm_recv(self) -> None:
        """Arm the multishot recv (when open, not paused, not at EOF, not armed)."""
        if self._recv_armed or self._pause or self._eof or self.state != OPEN:
            return
        sqe = self.loop._sqe()
        prep_recv_multishot(sqe, self.fd, None, 0, user_data=self._ud | K_RECV)
        sqe_set_flags(sqe, _BUFFER_SELECT)
        sqe_set_buf_group(sqe, self.loop.buffer_group)
        self._recv_armed = True
        self._inflight += 1

    def on_recv(self, res: int, flags: int) -> None:
        """Handle a recv completion (the hottest path: keep it flat; Loop._dispatch
        serves its usual case itself, as it does on_send's)."""
        if not flags & _MORE:
            self._recv_armed = False
            self._inflight -= 1
        loop = self.loop
        if res > 0:
            data = loop._read_buffer(flags >> 16, res)
            self.last_active = loop.now
            if self.state == OPEN:
                protocol = self.protocol
                if protocol is None:
                    self._deliver(data)
                else:
                    try:
                        protocol.data_received(data)
                    except Exception as exc:
                        self.protocol_failed(exc)
        elif res == 0:
            self._eof = True
            if self.state == OPEN:
                self._deliver(b"")
        elif res == -errno.ENOBUFS:
            loop.stats_enobufs += 1  # buffers come back as this turn's data is handled
        elif res != -errno.ECANCELED:
            self.abort(error_from_res(res))
        state = self.state
        if not self._recv_armed and state == OPEN:
            # Ended: data without MORE, ENOBUFS, or a cancel that a resume has overtaken.
            # arm_recv (next turn) re-checks EOF and pauses.
            loop._rearm.append(self)
        elif state == CLOSING:
            self._finish_if_idle()

    def protocol_failed(self, exc: Exception) -> None:
        """The protocol raised from a callback: log it and abort the connection."""
        log.exception("protocol of %r raised; closing it", self, exc_info=exc)
        self.abort(exc)

    def _deliver(self, data: bytes) -> None:
        protocol = self.protocol
        if protocol is not None:
            try:
                if data:
                    protocol.data_received(data)
                else:
                    protocol.eof_received()
            except Exception as exc:
                self.protocol_failed(exc)
            return
        reader = self._reader
        if reader is not None:
            self._reader = None
            reader.waiting = None
            self.loop._resume(reader, data)
        elif data:
            if self._rbuf is None:
                self._rbuf = [data]
            else:
                self._rbuf.append(data)
            self._rbuf_bytes += len(data)
            if self._rbuf_bytes > self.loop.max_read_buffer_bytes:
                self._pause_reading(_PAUSE_READ)

    def wait_receive(self, fiber: Fiber) -> None:
        """Serve a fiber's `Receive`: data at once if buffered, else park the fiber."""
        rbuf = self._rbuf
        if rbuf:
            data = rbuf[0] if len(rbuf) == 1 else b"".join(rbuf)
            rbuf.clear()
            self._rbuf_bytes = 0
            self.loop._resume(fiber, data)
            if self._pause & _PAUSE_READ:
                self._resume_reading(_PAUSE_READ)
        elif self._eof:
            self.loop._resume(fiber, b"")
        elif self.state != OPEN:
            self.loop._throw(fiber, self.closed_error("receive"))
        elif self._reader is not None:
            self.loop._throw(fiber, BusyResourceError(f"another fiber receives on {self!r}"))
        else:
            self._reader = fiber

    def pause_reading(self) -> None:
        """Stop reading until `resume_reading` (a protocol whose consumer fell behind).

        The recv is cancelled; data the kernel had already received may still arrive
        once, right after this call. Idempotent.
        """
        if self.state == OPEN:
            self._pause_reading(_PAUSE_USER)

    def resume_reading(self) -> None:
        """Read again after `pause_reading` (unless backpressure still holds it). Idempotent."""
        if self._pause & _PAUSE_USER:
            self._resume_reading(_PAUSE_USER)

    def _pause_reading(self, reason: int) -> None:
        if not self._pause:
            self._cancel_recv()
        self._pause |= reason

    def _resume_reading(self, reason: int) -> None:
        self._pause &= ~reason
        if not self._pause:
            self.arm_recv()

    def _cancel_recv(self) -> None:
        if self._recv_armed:
            self._cancel(K_RECV)

    def _cancel(self, kind: int) -> None:
        sqe = self.loop._sqe()
        prep_cancel64(sqe, self._ud | kind, user_data=self._ud | K_CANCEL)

    # --- writing ----------------------------------------------------------------------------

    def wait_send(self, fiber: Fiber, data: bytes) -> None:
        """Serve a fiber's `Send`: queue the bytes, resume when the queue is under limit."""
        try:
            self.write(data)
        except ClosedResourceError as exc:
            self.loop._throw(fiber, exc)
            return
        if self.state != OPEN:  # the write itself aborted the connection (peer not reading)
            self.loop._throw(fiber, self.closed_error("send"))
        elif self._wq_bytes > self.max_write_queue_bytes:
            if self._writers is None:
                self._writers = [fiber]
            else:
                self._writers.append(fiber)
        else:
            self.loop._resume(fiber, None)

    def _send_queued(self, first: memoryview | None = None) -> None:
        """Send `first` (the rest of a short send) and everything queued, joined."""
        wq = self._wq
        if not wq:
            assert first is not None
            self._start_send(first)
            return
        if first is not None:
            wq.insert(0, first)
        data = wq[0] if len(wq) == 1 else b"".join(wq)
        wq.clear()
        self._start_send(data)

    def _start_send(self, data: bytes | memoryview) -> None:
        """Submit the send of `data`; no other send is in flight."""
        self._sending = data
        loop = self.loop
        self._send_started = self.last_active = loop.now
        sqe = loop._get_sqe() or loop._sqe()
        _pack_send(
            sqe,
            0,
            _OP_SEND,
            self.fd,
            buffer_address(data),
            len(data),
            _MSG_NOSIGNAL,
            self._send_ud,
        )

    def on_send(self, res: int) -> None:
        """Handle a send completion: account, continue a short send, start the next."""
        data = self._sending
        self._sending = None
        if res < 0:
            if self._wq:
                self._wq.clear()
            self._wq_bytes = 0
            if self.state == OPEN:
                self.abort(BrokenResourceError(f"send failed: {error_from_res(res)}"))
            self._finish_if_idle()
            return
        if not self._wq_bytes:  # aborted while the send was in flight: nothing to account
            self._finish_if_idle()
            return
        assert data is not None
        self._wq_bytes -= res
        if res < len(data):
            self._send_queued(memoryview(data)[res:])  # the view keeps the bytes alive
        elif self._wq:
            self._send_queued()
        elif self._shut_wr and self.state == OPEN:
            self._submit_shutdown()
        if self._pause or self._writers:
            self._after_drain()
        if self.state == CLOSING:
            self._finish_if_idle()

    def _after_drain(self) -> None:
        """Resume reading and waiting senders once the queue is under its limits."""
        limit = self.max_write_queue_bytes
        if self._pause & _PAUSE_WRITE and self._wq_bytes <= limit // 4:
            self._resume_reading(_PAUSE_WRITE)
        writers = self._writers
        if writers and self._wq_bytes <= limit:
            self._writers = None
            for fiber in writers:
                self.loop._resume(fiber, None)

    def _over_limit(self, was_over: bool) -> None:
        """Pause reading; abort a writer that keeps adding to an over-full queue.

        One large write is fine (it may exceed the limit by any amount, and `Send` then
        waits); writing more while already over the limit, past four times it, is a
        callback protocol ignoring backpressure, and the connection is aborted.
        """
        limit = self.max_write_queue_bytes
        if was_over and self._wq_bytes > 4 * limit:
            msg = f"write queue of {self._wq_bytes} bytes exceeds {4 * limit}: peer not reading"
            self.abort(BrokenResourceError(msg))
        else:
            self._pause_reading(_PAUSE_WRITE)

    def _submit_shutdown(self) -> None:
        sqe = self.loop._sqe()
        prep_shutdown(sqe, self.fd, socket.SHUT_WR, user_data=self._ud | K_SHUTDOWN)
        self._inflight += 1

    def on_shutdown(self, res: int) -> None:
        """Handle the completion of a half-close."""
        self._inflight -= 1
        self._finish_if_idle()

    # --- closing ----------------------------------------------------------------------------

    def _finish_if_idle(self) -> None:
        if self.state == CLOSING and not self._inflight and self._sending is None and not self._wq:
            self.state = CLOSED
            sqe = self.loop._sqe()
            prep_close(sqe, self.fd, user_data=self._ud | K_CLOSE)

    def on_closed(self) -> None:
        """The fd is closed: wake whoever waits on this connection, then report the loss."""
        self.state = FREED
        loop = self.loop
        if self._writers or self._reader is not None:  # built only when someone waits
            cancelled = Cancelled(f"{self!r} closed")
            for fiber in self._writers or ():
                loop._throw(fiber, cancelled)
            self._writers = None
            if self._reader is not None:
                loop._throw(self._reader, cancelled)
                self._reader = None
        self._rbuf = None
        protocol, self.protocol = self.protocol, None
        if protocol is not None:
            try:
                protocol.connection_lost(self._close_exc)
            except Exception:
                log.exception("connection_lost of %r raised", self)

    def is_quiet(self, now: float, quiet_s: float) -> bool:
        """Whether nothing is queued or in flight for writing, no unread data waits, and
        nothing arrived for `quiet_s`: safe to close during a graceful stop."""
        return (
            self._sending is None
            and not self._wq
            and not self._rbuf
            and now - self.last_active >= quiet_s
            and (self.fiber is None or self._reader is self.fiber)
        )

    def check_timeouts(self, now: float, idle_timeout_s: float, write_timeout_s: float) -> None:
        """Close the connection if it was idle, or its send stalled, for too long (a stalled
        send also ends a connection that is closing: its peer stopped reading).

        The connection's own `idle_timeout_s` / `write_timeout_s`, when set, override the
        loop-wide values passed in.
        """
        state = self.state
        if self._sending is not None:
            limit = self.write_timeout_s if self.write_timeout_s is not None else write_timeout_s
            if now - self._send_started > limit:
                if state == CLOSED:
                    # A close linked to this send waits on it: cancelling the send breaks
                    # the link, and the close then goes the usual way.
                    self._cancel(K_SEND)
                elif state != FREED:  # OPEN, or CLOSING while flushing to a silent peer
                    self.abort(TimeoutError(f"send stalled for over {limit} s"))
            return
        if state == OPEN:
            limit = self.idle_timeout_s if self.idle_timeout_s is not None else idle_timeout_s
            if now - self.last_active > limit:
                self.loop.stats_idle_closed += 1
                self.close()
