"""`Loop`: one io_uring, one thread, every connection and fiber of that thread.

Each turn, in this order:

1. submit what is queued and wait for at least one completion, in one `io_uring_enter`
   (no wait when work is ready; the wait is bounded by the next timer and the TTL tick);
2. reap the completions (copied out of the ring in one batch), then dispatch each one;
   fibers a completion wakes are only queued here, never resumed inside the dispatch;
3. resume ready fibers; run `go` tasks (at most `IO_QUANTUM` a turn); drain the invoke
   queue (the calls queued when the turn began, in FIFO order); run due timers; run tick
   hooks; re-arm receives that ran out of buffers; advance the incremental TTL scan.

The loop never blocks on anything but `io_uring_enter`. Other threads talk to it only
through `invoke` (and `stop`), which wake it with an eventfd whose read is always armed on
the ring.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import errno
import inspect
import logging
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic as _monotonic
from time import time as _wall_clock
from typing import Any, Final, assert_never, cast

from sws_core._backend import Backend, BuffersLike, RingLike, UringBackend
from sws_core._conn import (
    CLOSING,
    FREED,
    K_ACCEPT,
    K_CANCEL,
    K_CLOSE,
    K_CONNECT,
    K_DISCARD,
    K_LINK_TIMEOUT,
    K_OP,
    K_OP_TIMEOUT,
    K_RECV,
    K_SEND,
    K_SHUTDOWN,
    K_WAKE,
    Conn,
    TcpProtocol,
)
from sws_core._errors import (
    BrokenResourceError,
    Cancelled,
    ClosedResourceError,
    InvokeQueueFullError,
    NoWorkerPoolError,
    error_from_res,
)
from sws_core._fiber import Coro, Fiber
from sws_core._listener import Listener
from sws_core._ops import Connect, Op, Receive, Send, Sleep, ToWorker, WaitEvent
from sws_core._outbound import finish_connect, start_connect
from sws_core._ringop import RingOp
from sws_core._slots import SlotPool, pack_user_data
from sws_core._stop import GracefulStop, install_signal_handlers, restore_signal_handlers
from sws_core._timers import Timer, TimerQueue
from sws_core._workers import Done, WorkerPool
from uring import (
    CqeFlag,
    KernelTimespec,
    SqeFlag,
    prep_close,
    prep_link_timeout,
    prep_nop,
    prep_read,
    sqe_set_data64,
)

log = logging.getLogger("sws_core")

IO_QUANTUM: Final = 64  # go tasks run per turn, as the original's IO_QUANTUM
DEFAULT_RING_ENTRIES: Final = 1024  # SQEs; a turn that needs more submits early
DEFAULT_MAX_CONNECTIONS: Final = 16384  # slots; nginx's worker_connections default is 512
DEFAULT_RECV_BUFFER_BYTES: Final = 16384  # per provided buffer; one TLS record, as h2o
DEFAULT_RECV_BUFFERS: Final = (
    512  # buffers in the ring: 8 MiB of address space, pages touched on use
)
DEFAULT_MAX_WRITE_QUEUE_BYTES: Final = 1 << 20  # per connection, before reads pause
DEFAULT_MAX_READ_BUFFER_BYTES: Final = 1 << 20  # unread bytes per connection, same rule
DEFAULT_MAX_INVOKES: Final = 65536  # queued cross-thread calls before invoke refuses
DEFAULT_IDLE_TIMEOUT_S: Final = 300.0  # seconds without traffic; nginx keepalive is 75
DEFAULT_WRITE_TIMEOUT_S: Final = 60.0  # seconds one send may stall; nginx send_timeout
DEFAULT_GRACE_S: Final = 10.0  # graceful-stop budget; uvicorn and gunicorn use 30
_TTL_TICK_S: Final = 1.0  # longest sleep while connections have timeouts to check
_SCAN_INTERVAL_S: Final = 0.1  # the TTL scan steps at most this often (see _scan_ttl)
_MAX_WAIT_S: Final = 3600.0  # longest single wait; the loop re-checks its timers after it
_STEPS_PER_TURN: Final = 4096  # fiber steps per turn before IO gets its turn again
_BUFFER_GROUP: Final = 0
_WAKE_BYTES: Final = 8
_CQE_BUFFER: Final = int(CqeFlag.BUFFER)
_MORE: Final = int(CqeFlag.MORE)
_ECANCELED: Final = errno.ECANCELED
_OP_TYPES: Final = (Receive, Send, Sleep, Connect, ToWorker, WaitEvent, RingOp)
_OP_ID_MASK: Final = (1 << 56) - 1
_IO_LINK: Final = int(SqeFlag.IO_LINK)
_SQE_FLAGS_OFFSET: Final = 1
# eventfd_write(3) through a PyDLL symbol: the write never blocks (the eventfd is
# non-blocking), and keeping the GIL across it spares the waker a hand-over of the GIL to
# the thread it wakes, and the wait to get it back (os.eventfd_write releases it).
_eventfd_write = ctypes.PyDLL(None, use_errno=True).eventfd_write
_eventfd_write.argtypes = (ctypes.c_int, ctypes.c_uint64)
_eventfd_write.restype = ctypes.c_int


@dataclass(frozen=True, slots=True)
class LoopStatistics:
    """A snapshot of a loop's counters (`Loop.statistics()`)."""

    slots_live: int
    slots_capacity: int
    turns: int
    sqes_submitted: int
    cqes_reaped: int
    stale_cqes_dropped: int
    fibers_live: int
    fibers_ready: int
    timers: int
    invokes_pending: int
    connections_accepted: int
    connections_refused: int
    connections_idle_closed: int
    recv_buffer_exhaustions: int


class Loop:
    """The IO-thread runtime.

    Args:
        max_connections: connection slots, fixed at start; past it, new connections are
            closed at once, counted and logged once.
        workers: threads for `submit` / `to_worker` (0: none, and submitting is an error).
        ring_entries: SQ size of the ring.
        recv_buffer_bytes / recv_buffers: the provided-buffer ring shared by every read.
        max_write_queue_bytes: queued output per connection before reading pauses.
        max_read_buffer_bytes: unread input per fiber connection before reading pauses.
        idle_timeout_s / write_timeout_s: per-connection timeouts (None: off).
        max_invokes: cross-thread calls queued before `invoke` refuses.
        grace_s: how long a graceful stop waits for in-flight work.
        handle_signals: on the main thread, SIGINT and SIGTERM start a graceful stop.
        backend: where the ring comes from (tests pass a fake).
        clock: a monotonic clock in seconds.

    Attributes:
        now: the clock's reading when this turn's completions were reaped.
        wall: `time.time()` at the same moment: a wall-clock stamp for whatever needs
            none finer than a turn (an HTTP Date), read once a turn instead of per use.
    """

    def __init__(
        self,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        workers: int = 0,
        ring_entries: int = DEFAULT_RING_ENTRIES,
        recv_buffer_bytes: int = DEFAULT_RECV_BUFFER_BYTES,
        recv_buffers: int = DEFAULT_RECV_BUFFERS,
        max_write_queue_bytes: int = DEFAULT_MAX_WRITE_QUEUE_BYTES,
        max_read_buffer_bytes: int = DEFAULT_MAX_READ_BUFFER_BYTES,
        idle_timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S,
        write_timeout_s: float | None = DEFAULT_WRITE_TIMEOUT_S,
        max_invokes: int = DEFAULT_MAX_INVOKES,
        grace_s: float = DEFAULT_GRACE_S,
        handle_signals: bool = True,
        backend: Backend | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._clock = clock or _monotonic
        self.now = self._clock()
        self.wall = _wall_clock()
        self.max_write_queue_bytes = max_write_queue_bytes
        self.max_read_buffer_bytes = max_read_buffer_bytes
        self.idle_timeout_s = idle_timeout_s
        self.write_timeout_s = write_timeout_s
        self.max_invokes = max_invokes
        self.grace_s = grace_s
        self.handle_signals = handle_signals
        self.buffer_group = _BUFFER_GROUP
        self._ring_entries = ring_entries
        self._recv_buffer_bytes = recv_buffer_bytes
        self._recv_buffers = recv_buffers
        self._backend: Backend = backend or UringBackend()
        self._pool = SlotPool(max_connections)
        self._conns: list[Conn | None] = [None] * max_connections
        self._listeners: list[Listener] = []
        self._ring: RingLike | None = None
        self._bufs: BuffersLike | None = None
        self._get_sqe: Callable[[], memoryview | None] = _not_running
        self._send_now: Callable[[int, bytes | memoryview], int] = _not_running
        self._shutdown_write: Callable[[int], None] = _not_running
        self._read_buffer: Callable[[int, int], bytes] = _not_running
        self._publish_buffers: Callable[[], None] = _not_running
        self._workers = WorkerPool(workers, self._deliver_work) if workers else None
        self._ready: collections.deque[tuple[Fiber, Any, BaseException | None]] = (
            collections.deque()
        )
        self._fibers: set[Fiber] = set()
        self._go: collections.deque[tuple[Callable[..., Any] | Coro, tuple[Any, ...]]] = (
            collections.deque()
        )
        self._invokes: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]] = (
            collections.deque()
        )
        self._timers = TimerQueue()
        self._tick_hooks: list[Callable[[], Any]] = []
        self._deferred_hooks: list[Callable[[], Any]] = []
        self._rearm: list[Conn] = []
        self._ttl_cursor = 0
        self._next_scan = 0.0
        self._last_scan = 0.0
        self._wake_fd = -1
        self._wake_pending = False  # an eventfd write is on its way (see _wake)
        self._wake_buf = bytearray(_WAKE_BYTES)
        self._thread_id: int | None = None
        self._stop = GracefulStop(self)
        self.running = False
        self._refused_logged = False
        self._turns = 0
        self._sqes = 0
        self._cqes = 0
        self._stale = 0
        self._ring_ops: dict[int, tuple[Fiber, RingOp, KernelTimespec | None]] = {}
        self._next_op_id = 1
        self._last_timespec: tuple[float, KernelTimespec | None] = (-1.0, None)
        # How `_step` serves each op type, by exact type (`_dispatch_known_op` matches the
        # same cases for subclasses): one dict lookup instead of a chain of type tests.
        self._serve: dict[type, Callable[[Fiber, Any], object]] = {
            RingOp: self._start_ring_op,
            Receive: self._serve_receive,
            Send: self._serve_send,
            WaitEvent: self._serve_wait_event,
            Sleep: lambda fiber, op: self.call_later(op.seconds, self._resume, fiber, None),
            Connect: lambda fiber, op: start_connect(self, fiber, op),
            ToWorker: lambda fiber, op: self._to_worker(fiber, op.fn, op.args),
        }
        self._accepted = 0
        self._refused = 0
        self.stats_idle_closed = 0
        self.stats_enobufs = 0

    # --- public API: from the IO thread -------------------------------------------------

    def listen(
        self,
        host: str,
        port: int,
        *,
        handler: Callable[[Conn], Coro] | None = None,
        protocol: Callable[[Conn], TcpProtocol] | None = None,
        backlog: int = 1024,
        reuse_port: bool = False,
    ) -> Listener:
        """Listen on `host:port` and serve each connection with `handler` or `protocol`.

        Args:
            host: a numeric IPv4 or IPv6 address ("::" listens on both families).
            port: the port; 0 picks a free one (see `Listener.port`).
            handler: `handler(conn)` returns the fiber (generator or coroutine) that
                serves the connection; the connection closes when it returns.
            protocol: `protocol(conn)` returns a `TcpProtocol` driven by callbacks.
            backlog: listen(2) backlog.
            reuse_port: set SO_REUSEPORT, so several processes can share the port.

        Raises:
            ValueError: neither or both of `handler` and `protocol` were given.
            OSError: the address is in use or invalid.
        """
        if (handler is None) == (protocol is None):
            raise ValueError("give exactly one of handler= and protocol=")
        listener = Listener(
            self,
            len(self._listeners),
            host,
            port,
            handler,
            protocol,
            backlog=backlog,
            reuse_port=reuse_port,
        )
        self._listeners.append(listener)
        if self.running:
            listener.arm()
        return listener

    def go(self, target: Callable[..., Any] | Coro, *args: Any) -> None:
        """Run `target` on the IO thread: a generator or coroutine becomes a fiber; a
        function is called (and if it returns a generator or coroutine, that runs as a
        fiber). At most `IO_QUANTUM` such tasks start per turn."""
        self._go.append((target, args))

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any, BaseException | None], Any] | None = None,
    ) -> None:
        """Run `fn(*args)` on a worker thread; `on_done(result, exc)` runs on the IO thread.

        Raises:
            NoWorkerPoolError: the loop was made with `workers=0`.
        """
        if self._workers is None:
            raise NoWorkerPoolError("submit needs a worker pool: Loop(workers=N)")
        self._workers.submit(fn, args, on_done or _log_worker_error)

    def call_later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Call `fn(*args)` on the IO thread after `delay_s` seconds; returns a handle
        with `cancel()`."""
        return self._timers.add(self.now + max(0.0, delay_s), fn, args)

    def add_tick_hook(self, fn: Callable[[], Any]) -> None:
        """Call `fn()` once every turn; a hook that raises is logged and removed.

        A turn follows IO, timers and invokes: a loop with nothing to do waits, up to a
        second while connections are open and without limit when none are. A hook that
        must act by a deadline arms a `call_later` for it (which wakes the loop).
        """
        self._tick_hooks.append(fn)

    def remove_tick_hook(self, fn: Callable[[], Any]) -> None:
        """Stop calling a tick hook (no error if it is not there)."""
        if fn in self._tick_hooks:
            self._tick_hooks.remove(fn)

    def add_deferred_hook(self, fn: Callable[[], Any]) -> None:
        """Call `fn()` before each deferred response (see `run_deferred_hooks`)."""
        self._deferred_hooks.append(fn)

    def run_deferred_hooks(self) -> None:
        """Run the deferred hooks; one that raises is logged and removed."""
        self._run_hooks(self._deferred_hooks)

    def conn(self, conn_id: int) -> Conn:
        """Return the open connection named by `Conn.id`.

        Raises:
            ClosedResourceError: the id is stale (the connection closed, maybe reused).
        """
        slot, gen = conn_id & 0xFFFFFF, conn_id >> 24
        conn = self._conns[slot] if 0 <= slot < len(self._conns) else None
        if conn is None or conn.gen != gen or conn.state == FREED:
            raise ClosedResourceError(f"connection id {conn_id} is stale")
        return conn

    def statistics(self) -> LoopStatistics:
        """Return a snapshot of the loop's counters."""
        return LoopStatistics(
            slots_live=len(self._pool),
            slots_capacity=self._pool.capacity,
            turns=self._turns,
            sqes_submitted=self._sqes,
            cqes_reaped=self._cqes,
            stale_cqes_dropped=self._stale,
            fibers_live=len(self._fibers),
            fibers_ready=len(self._ready),
            timers=len(self._timers),
            invokes_pending=len(self._invokes),
            connections_accepted=self._accepted,
            connections_refused=self._refused,
            connections_idle_closed=self.stats_idle_closed,
            recv_buffer_exhaustions=self.stats_enobufs,
        )

    # --- public API: from any thread -----------------------------------------------------

    def invoke(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call `fn(*args)` on the IO thread, in FIFO order; safe from any thread.

        Raises:
            InvokeQueueFullError: `max_invokes` calls are already queued.
        """
        if len(self._invokes) >= self.max_invokes:
            raise InvokeQueueFullError(f"{len(self._invokes)} invokes already queued")
        self._invokes.append((fn, args))
        self._wake()

    def stop(self) -> None:
        """Start a graceful stop: no new connections, in-flight work gets `grace_s`.

        Safe from any thread and from signal handlers.
        """
        self._stop.requested = True
        # Always through the eventfd, even on the loop thread: a signal handler may run
        # between the turn's stop check and the next wait, which would then sleep on.
        if self._wake_fd >= 0:
            self._write_wake()

    def on_loop_thread(self) -> bool:
        """Whether the caller runs on this loop's IO thread (False before `run`)."""
        return threading.get_ident() == self._thread_id

    @property
    def stopping(self) -> bool:
        """Whether a graceful stop has begun."""
        return self._stop.begun

    def _wake(self) -> None:
        """Wake the loop from another thread, skipping the eventfd write while an earlier
        one is not yet taken. `_wake_pending` is set before the write and cleared when the
        loop takes the wake-up's completion, so while it is set a write is on its way or
        not yet taken, and the turn that takes it runs whatever was queued before this
        call. (Threads racing past the check may each write; `stop` always writes.)"""
        if (
            not self._wake_pending
            and self._wake_fd >= 0
            and threading.get_ident() != self._thread_id
        ):
            self._write_wake()

    def _write_wake(self) -> None:
        self._wake_pending = True
        if _eventfd_write(self._wake_fd, 1) < 0:  # closed in teardown: nobody to wake
            self._wake_pending = False

    # --- running ----------------------------------------------------------------------------

    def run(self) -> None:
        """Run until stopped; then close every connection, the ring and the workers.

        Raises:
            RuntimeError: the loop is already running.
            IoUringUnavailableError: io_uring cannot be used here.
        """
        if self.running:
            raise RuntimeError("the loop is already running")
        self.running = True
        self._thread_id = threading.get_ident()
        outer = getattr(_current, "loop", None)
        _current.loop = self
        # Handlers first, so a signal during set-up stops the loop too: stop() then only
        # sets the flag (no eventfd yet), which the first turn checks before it waits.
        old_handlers = install_signal_handlers(self) if self.handle_signals else {}
        try:
            self._setup()
            while not self._finished():
                self._turn()
        finally:
            restore_signal_handlers(old_handlers)
            self._teardown()
            self.running = False
            _current.loop = outer

    def _setup(self) -> None:
        self._ring = self._backend.open_ring(self._ring_entries)
        self._bufs = self._backend.open_buffers(
            self._ring, _BUFFER_GROUP, self._recv_buffers, self._recv_buffer_bytes
        )
        self._send_now = self._backend.send_now
        self._shutdown_write = self._backend.shutdown_write
        self._get_sqe = self._ring.get_sqe  # bound once: the hot paths call these per op
        self._read_buffer = self._bufs.take  # published once per turn, after the dispatch
        self._publish_buffers = self._bufs.publish
        self._wake_pending = False  # a write into a previous run's eventfd is gone
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._arm_wake()
        for listener in self._listeners:
            listener.arm()
        if self._workers is not None:
            self._workers.start()
        self.now = self._clock()
        self.wall = _wall_clock()

    def _turn(self) -> None:
        ring = self._ring
        assert ring is not None
        self._turns += 1
        stop = self._stop
        if stop.requested and not stop.begun:
            stop.begin()  # before waiting: the request may predate the wake eventfd
        if self._ready or self._go or self._invokes or self._rearm:
            self._sqes += ring.submit_and_wait(0)
        else:
            self._sqes += ring.submit_and_wait(1, self._wait_timeout())
        cqes = ring.reap_split()
        self.now = self._clock()
        self.wall = _wall_clock()
        if cqes:
            self._cqes += len(cqes)
            self._dispatch(cqes)
            self._publish_buffers()
        self._run_ready()
        self._run_go()
        self._run_invokes()
        self._run_timers()
        if self._tick_hooks:
            self._run_hooks(self._tick_hooks)
        if self._rearm:
            rearm, self._rearm = self._rearm, []
            for conn in rearm:
                conn.arm_recv()
        if stop.requested and not stop.begun:
            stop.begin()
        if stop.begun:
            stop.close_quiet_connections()
        self._scan_ttl()

    def _wait_timeout(self) -> float | None:
        timeout: float | None = None
        deadline = self._timers.next_deadline()
        if deadline is not None:
            timeout = max(0.0, deadline - self.now)
        if len(self._pool):  # connections may have timeouts of their own to check
            timeout = _TTL_TICK_S if timeout is None else min(timeout, _TTL_TICK_S)
        if self.stopping:
            timeout = 0.05 if timeout is None else min(timeout, 0.05)
        if timeout is not None and timeout > _MAX_WAIT_S:
            timeout = _MAX_WAIT_S  # sleep(inf) is legal; a timespec of inf is not
        return timeout

    # --- completions -------------------------------------------------------------------------

    def _dispatch(self, cqes: list[tuple[int, int, int, int]]) -> None:
        conns = self._conns
        read_buffer = self._read_buffer
        now = self.now
        for low, gen, res, flags in cqes:  # user_data in halves: kind|slot<<8, gen
            kind = low & 0xFF
            if kind == K_RECV:  # one recv and one send a message: tested first
                conn = conns[low >> 8]
                if conn is not None and conn.gen == gen:
                    protocol = conn.protocol
                    if res > 0 and flags & _MORE and conn.state == 0 and protocol is not None:
                        # Conn.on_recv's usual case, inlined: bytes for an open connection's
                        # protocol, the multishot recv still armed.
                        data = read_buffer(flags >> 16, res)  # raises past the protocol
                        conn.last_active = now
                        try:
                            protocol.data_received(data)
                        except Exception as exc:
                            conn.protocol_failed(exc)
                        if conn.state == CLOSING:
                            conn._finish_if_idle()
                    else:
                        conn.on_recv(res, flags)
                    continue
            elif kind == K_SEND:
                conn = conns[low >> 8]
                if conn is not None and conn.gen == gen:
                    if (
                        res == conn._wq_bytes
                        and conn.state == 0
                        and not (conn._pause or conn._writers or conn._shut_wr)
                    ):
                        # Conn.on_send's usual case, inlined: the one send in flight took
                        # everything queued, and nobody waits for the queue.
                        conn._sending = None
                        conn._wq_bytes = 0
                    else:
                        conn.on_send(res)
                    continue
            if kind == K_CANCEL or kind == K_DISCARD or kind == K_OP_TIMEOUT:  # noqa: SIM109
                continue  # (no tuple built per CQE)
            if kind == K_OP:
                self._finish_ring_op(low >> 8 | gen << 24, res)
                continue
            slot = low >> 8
            if kind == K_ACCEPT:
                self._listeners[slot].on_accept(res, flags)
                continue
            if kind == K_WAKE:
                self._on_wake(res)
                continue
            conn = conns[slot]
            if conn is None or conn.gen != gen:
                self._stale += 1
                if flags & _CQE_BUFFER:  # a buffer no live connection will give back
                    self._read_buffer(flags >> 16, 0)
                continue
            if kind == K_CLOSE:  # (a live connection's recv and send were served above)
                if res == -_ECANCELED:  # a close linked to a send that failed
                    conn.on_close_cancelled()
                else:
                    self._on_closed(conn)
            elif kind == K_SHUTDOWN:
                conn.on_shutdown(res)
            elif kind == K_CONNECT:
                finish_connect(self, conn, res)
            elif kind == K_LINK_TIMEOUT:
                conn._inflight -= 1
                conn._finish_if_idle()
            else:  # pragma: no cover - every kind the loop submits is handled above
                log.error("completion of unknown kind %d for %r", kind, conn)

    def _sqe(self) -> memoryview:
        """Return a free SQE, submitting what is queued first if the SQ is full."""
        ring = self._ring
        assert ring is not None
        sqe = ring.get_sqe()
        if sqe is None:
            self._sqes += ring.submit()
            sqe = ring.get_sqe()
            if sqe is None:  # pragma: no cover - only an SQPOLL ring could still be full
                raise RuntimeError("submission queue still full after a submit")
        return sqe

    def _sqe_pair(self) -> list[memoryview]:
        """Two consecutive SQEs, for a linked pair that must go in one submission."""
        ring = self._ring
        assert ring is not None
        pair = ring.get_sqes(2)
        if pair is None:
            self._sqes += ring.submit()
            pair = ring.get_sqes(2)
            if pair is None:  # pragma: no cover - as in _sqe
                raise RuntimeError("submission queue still full after a submit")
        return pair

    def _adopt(self, fd: int, listener: Listener) -> None:
        """Take over an accepted connection, or refuse it when every slot is taken."""
        slot = self._pool.acquire()
        if slot < 0:
            if not self._refused_logged:
                self._refused_logged = True
                log.warning(
                    "max_connections=%d reached: refusing new connections (logged once)",
                    self._pool.capacity,
                )
            self._adopt_refused(fd)
            return
        self._accepted += 1
        conn = Conn(self, slot, self._pool.gen[slot], fd)
        self._conns[slot] = conn
        if listener.protocol is not None:
            try:
                conn.protocol = listener.protocol(conn)
            except Exception as exc:
                log.exception("protocol factory failed for %r", conn)
                conn.abort(exc)
                return
        else:
            assert listener.handler is not None
            self._start_fiber(listener.handler, conn)
        conn.arm_recv()

    def _adopt_refused(self, fd: int) -> None:
        """Close an accepted fd nobody will serve (no slot, or the listener is closing)."""
        self._refused += 1
        prep_close(self._sqe(), fd, user_data=pack_user_data(K_DISCARD, 0, 0))

    def _on_closed(self, conn: Conn) -> None:
        self._conns[conn.slot] = None
        self._pool.release(conn.slot)
        conn.on_closed()

    # --- fibers ----------------------------------------------------------------------------

    def _start_fiber(self, handler: Callable[[Conn], Coro], conn: Conn) -> None:
        try:
            coro = handler(conn)
        except Exception as exc:
            log.exception("handler failed to start for %r", conn)
            conn.abort(exc)
            return
        if not (inspect.isgenerator(coro) or inspect.iscoroutine(coro)):
            error = TypeError(f"handler {handler!r} returned {coro!r}, not a fiber")
            log.error("%s; closing %r", error, conn)
            conn.abort(error)
            return
        fiber = Fiber(self, coro, conn)
        conn.fiber = fiber
        self._fibers.add(fiber)
        self._ready.append((fiber, None, None))

    def _resume(self, fiber: Fiber, value: Any) -> None:
        fiber.waiting = None
        self._ready.append((fiber, value, None))

    def _throw(self, fiber: Fiber, exc: BaseException) -> None:
        fiber.waiting = None
        self._ready.append((fiber, None, exc))

    def _run_ready(self) -> None:
        ready = self._ready
        step = self._step
        for _ in range(_STEPS_PER_TURN):
            if not ready:
                return
            fiber, value, exc = ready.popleft()
            step(fiber, value, exc)

    def _step(self, fiber: Fiber, value: Any, exc: BaseException | None) -> None:
        try:
            if exc is None:
                op = fiber.coro.send(value)
            else:
                op = fiber.coro.throw(exc)
        except StopIteration:
            self._fiber_done(fiber, None)
            return
        except Cancelled:
            self._fiber_done(fiber, None)
            return
        except BrokenResourceError as error:  # the peer went away: routine, not a bug
            log.debug("fiber %r ended: %s", fiber, error)
            self._fiber_done(fiber, error)
            return
        except Exception as error:
            log.exception("fiber %r raised", fiber)
            self._fiber_done(fiber, error)
            return
        fiber.waiting = op
        try:
            serve = self._serve.get(type(op))
            if serve is not None:
                serve(fiber, op)
            else:  # a subclass of an op, or no op at all
                self._dispatch_op(fiber, op)
        except Exception as error:  # serving the op failed (bad arguments): the fiber's error
            self._throw(fiber, error)

    def _fiber_done(self, fiber: Fiber, error: BaseException | None) -> None:
        self._fibers.discard(fiber)
        conn = fiber.conn
        if conn is not None and conn.fiber is fiber:
            if error is None:
                conn.close()
            else:
                conn.abort(error)

    def _serve_receive(self, fiber: Fiber, op: Receive) -> None:
        op.conn.wait_receive(fiber)

    def _serve_send(self, fiber: Fiber, op: Send) -> None:
        op.conn.wait_send(fiber, op.data)

    def _serve_wait_event(self, fiber: Fiber, op: WaitEvent) -> None:
        if op.event.is_set():
            self._resume(fiber, None)
        else:
            op.event._add_waiter(fiber)

    def _dispatch_op(self, fiber: Fiber, op: Any) -> None:
        if not isinstance(op, _OP_TYPES):
            self._throw(fiber, TypeError(f"a fiber must yield sws_core ops, not {op!r}"))
            return
        self._dispatch_known_op(fiber, op)

    def _dispatch_known_op(self, fiber: Fiber, op: Op) -> None:
        match op:
            case Receive(conn=conn):
                conn.wait_receive(fiber)
            case Send(conn=conn, data=data):
                conn.wait_send(fiber, data)
            case Sleep(seconds=seconds):
                self.call_later(seconds, self._resume, fiber, None)
            case Connect():
                start_connect(self, fiber, op)
            case ToWorker(fn=fn, args=args):
                self._to_worker(fiber, fn, args)
            case WaitEvent():
                self._serve_wait_event(fiber, op)
            case RingOp():
                self._start_ring_op(fiber, op)
            case _:
                assert_never(op)

    def _start_ring_op(self, fiber: Fiber, op: RingOp) -> None:
        """Serve a fiber's `RingOp`: one SQE, plus a linked timeout when it has one."""
        op_id = self._next_op_id
        self._next_op_id = (op_id + 1) & _OP_ID_MASK
        timespec = None
        if op.timeout_s is None:
            sqe = self._sqe()
        else:
            timespec = self._timespec(op.timeout_s)
            sqe, timeout_sqe = self._sqe_pair()
            prep_link_timeout(timeout_sqe, timespec, user_data=K_OP_TIMEOUT)
        try:
            op.prep(sqe)
        except Exception as exc:
            prep_nop(sqe, user_data=K_DISCARD)  # the SQEs are taken: leave them harmless
            if timespec is not None:
                prep_nop(timeout_sqe, user_data=K_DISCARD)  # and the timespec unread
            self._throw(fiber, exc)
            return
        if timespec is not None:
            sqe[_SQE_FLAGS_OFFSET] |= _IO_LINK
        sqe_set_data64(sqe, K_OP | op_id << 8)
        self._ring_ops[op_id] = (fiber, op, timespec)

    def _timespec(self, seconds: float) -> KernelTimespec:
        """A timespec for a linked timeout of `seconds`: the last one made, when it is for the
        same time (ops often share theirs). Sharing is safe: the kernel copies a timeout's
        timespec when it takes the SQE, and nobody writes to one once it is made."""
        last_s, last = self._last_timespec
        if seconds == last_s and last is not None:
            return last
        timespec = KernelTimespec.from_seconds(seconds)
        self._last_timespec = (seconds, timespec)
        return timespec

    def _finish_ring_op(self, op_id: int, res: int) -> None:
        entry = self._ring_ops.pop(op_id, None)
        if entry is None:  # pragma: no cover - every K_OP SQE has an entry
            return
        fiber, op, _ = entry
        if res >= 0:
            self._resume(fiber, res)
        elif res == -errno.ECANCELED and op.timeout_s is not None:
            self._throw(fiber, TimeoutError(f"ring operation timed out after {op.timeout_s} s"))
        else:
            self._throw(fiber, error_from_res(res))

    def _to_worker(self, fiber: Fiber, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if self._workers is None:
            self._throw(fiber, NoWorkerPoolError("to_worker needs Loop(workers=N)"))
            return

        def done(result: Any, exc: BaseException | None) -> None:
            if exc is None:
                self._resume(fiber, result)
            else:
                self._throw(fiber, exc)

        self._workers.submit(fn, args, done)

    def _deliver_work(self, done: Done, result: Any, exc: BaseException | None) -> None:
        # From a worker thread; results bypass the invoke limit: the pool bounds them.
        self._invokes.append((done, (result, exc)))
        self._wake()

    # --- the other per-turn work -------------------------------------------------------------

    def _run_go(self) -> None:
        go = self._go
        for _ in range(min(IO_QUANTUM, len(go))):
            target, args = go.popleft()
            if inspect.isgenerator(target) or inspect.iscoroutine(target):
                self._spawn(cast(Coro, target))
                continue
            try:
                result = target(*args)  # type: ignore[operator]
            except Exception:
                log.exception("go task %r raised", target)
                continue
            if inspect.isgenerator(result) or inspect.iscoroutine(result):
                self._spawn(cast(Coro, result))

    def _spawn(self, coro: Coro) -> None:
        fiber = Fiber(self, coro, None)
        self._fibers.add(fiber)
        self._ready.append((fiber, None, None))

    def _run_invokes(self) -> None:
        invokes = self._invokes
        for _ in range(len(invokes)):
            fn, args = invokes.popleft()
            try:
                fn(*args)
            except Exception:
                log.exception("invoked %r raised", fn)

    def _run_timers(self) -> None:
        for timer in self._timers.pop_due(self.now):
            try:
                timer.fn(*timer.args)
            except Exception:
                log.exception("timer callback %r raised", timer.fn)

    def _run_hooks(self, hooks: list[Callable[[], Any]]) -> None:
        for hook in list(hooks):
            try:
                hook()
            except Exception:
                log.exception("hook %r raised; removed", hook)
                hooks.remove(hook)

    def _scan_ttl(self) -> None:
        """Check a share of the live connections' timeouts: every connection once per
        `_TTL_TICK_S`, in steps at most every `_SCAN_INTERVAL_S` (a busy loop spreads the
        pass over its turns; an idle one, woken by the tick, checks them all at once)."""
        now = self.now
        if now < self._next_scan:
            return
        elapsed = now - self._last_scan
        self._next_scan = now + _SCAN_INTERVAL_S
        self._last_scan = now
        pool = self._pool
        live = len(pool)
        if not live:
            return
        idle = self.idle_timeout_s if self.idle_timeout_s is not None else float("inf")
        write = self.write_timeout_s if self.write_timeout_s is not None else float("inf")
        budget = min(live, max(64, math.ceil(live * elapsed / _TTL_TICK_S)))
        cursor = self._ttl_cursor
        conns = self._conns
        for _ in range(budget):
            if cursor >= len(pool):
                cursor = 0
                if not len(pool):
                    break
            conn = conns[pool.live_at(cursor)]
            cursor += 1
            if conn is not None:
                conn.check_timeouts(now, idle, write)
        self._ttl_cursor = cursor

    def _arm_wake(self) -> None:
        prep_read(
            self._sqe(),
            self._wake_fd,
            self._wake_buf,
            _WAKE_BYTES,
            0,
            user_data=pack_user_data(K_WAKE, 0, 0),
        )

    def _on_wake(self, res: int) -> None:
        self._wake_pending = False
        if self._wake_fd >= 0 and not self._stop.aborted:
            self._arm_wake()

    # --- stopping -------------------------------------------------------------------------------

    def _finished(self) -> bool:
        return self._stop.finished()

    def _teardown(self) -> None:
        for fiber in list(self._fibers):
            try:
                fiber.coro.close()
            except Exception:  # e.g. it waited in a finally block: nothing left to run it
                log.exception("fiber %r did not close cleanly", fiber)
        for target, _ in self._go:
            if inspect.isgenerator(target) or inspect.iscoroutine(target):
                target.close()
        self._go.clear()
        self._fibers.clear()
        self._ready.clear()
        ring, self._ring = self._ring, None
        bufs, self._bufs = self._bufs, None
        if ring is not None:
            # Connections the grace period could not close: their fds go with the ring.
            for slot in self._pool.live():
                conn = self._conns[slot]
                if conn is not None and conn.state != FREED:
                    _close_quietly(conn.fd)
                    self._on_closed(conn)
            ring.close()  # cancels whatever is still in flight, before its memory goes
            self._ring_ops.clear()
        if bufs is not None:
            bufs.close()
        for listener in self._listeners:
            listener.close_socket()
        # Workers first: one delivering a result writes the eventfd, which must still be open.
        if self._workers is not None and not self._workers.shutdown(timeout_s=5.0):
            log.warning("worker threads still busy after 5 s; left running as daemons")
        if self._wake_fd >= 0:
            fd, self._wake_fd = self._wake_fd, -1
            os.close(fd)

    def __repr__(self) -> str:
        state = "stopping" if self.stopping else "running" if self.running else "idle"
        return (
            f"<Loop {state} conns={len(self._pool)}/{self._pool.capacity} "
            f"fibers={len(self._fibers)} listeners={len(self._listeners)}>"
        )


_current = threading.local()  # .loop: the Loop running on this thread, if any


def current_loop() -> Loop | None:
    """Return the loop running on the calling thread (its IO thread), or None.

    Code that may run either on an IO thread or elsewhere (a client library, say) uses it
    to choose between waiting through the loop (a fiber op) and blocking its thread.
    """
    return getattr(_current, "loop", None)


def _not_running(*_: Any) -> Any:
    raise RuntimeError("the loop has no ring until run() starts it")


def _log_worker_error(result: Any, exc: BaseException | None) -> None:
    if exc is not None:
        log.error("worker job raised", exc_info=exc)


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
