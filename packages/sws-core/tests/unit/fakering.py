"""A fake io_uring backend, so `sws_core.Loop` runs turn by turn with no kernel ring.

Modelled on TigerBeetle's `src/testing/io.zig`: the loop prepares SQEs as usual, and the test
decides which of them complete, in what order, with what `res` and `flags`.

Rules of the fake (what the loop may rely on, as it relies on the kernel):

- `get_sqe` hands out a fresh 64-byte slot, or None when `entries` SQEs wait unsubmitted.
  `submit` (and `submit_and_wait`) hand them to the "kernel": the record is frozen then, as
  the real SQ slot may be reused after submission. Nothing ever completes by itself.
- `submit_and_wait` never blocks. It records `(wait_nr, timeout_s)` in `waits` (so a test can
  assert the loop's wait bound), validates the timeout as the real ring does
  (`KernelTimespec`), and calls `on_wait` if set and there is nothing to reap: that is where
  a test lets time pass while the loop sleeps.
- Only a submitted SQE can be completed. A CLOSE that completes with `res >= 0` closes its fd
  (the kernel's effect; it is what keeps the fd table clean). A cancel completes its target
  with -ECANCELED, or itself with -ENOENT when the target is gone.
- Provided buffers: `complete_recv` copies the data into a free buffer of the group and sets
  `BUFFER | bid << 16` (and `MORE`); the loop must `get` and `recycle` every buffer it was
  handed (`FakeBuffers.in_use` is the leak check).

`LoopDriver` runs the loop the way `Loop.run` does, one `_turn` at a time, with helpers for
the completions tests need most (accept a connection, deliver data, settle cancels and
closes).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import errno
import os
import select
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from typing import Any

from sws_core import Conn, Listener, Loop
from sws_core._conn import FREED, K_ACCEPT, K_DISCARD, K_WAKE
from sws_core._slots import pack_user_data, unpack_user_data
from uring import CQE_BUFFER_SHIFT, CqeFlag, KernelTimespec, Op, SqeFlag

SQE_SIZE = 64
# opcode flags ioprio fd off addr len op_flags user_data buf_index personality file_index:
# the field table of DESIGN.md / uring._prep, written out here rather than imported.
_SQE = struct.Struct("<BBHiQQIIQHHI")
_MORE = int(CqeFlag.MORE)
_BUFFER = int(CqeFlag.BUFFER)


class Sqe:
    """One SQE the loop prepared, decoded. Live until completed without `CqeFlag.MORE`."""

    def __init__(self, index: int, slot: bytearray) -> None:
        self.index = index  # order of preparation, over the ring's life
        self._slot = slot
        self._raw: bytes | None = None  # frozen at submit
        self.done = False
        self.results: list[tuple[int, int]] = []  # (res, flags) of each completion

    @property
    def submitted(self) -> bool:
        return self._raw is not None

    def _freeze(self) -> None:
        self._raw = bytes(self._slot)

    def _fields(self) -> tuple[int, ...]:
        return _SQE.unpack_from(self._raw if self._raw is not None else self._slot)

    @property
    def opcode(self) -> Op:
        return Op(self._fields()[0])

    @property
    def flags(self) -> int:
        return self._fields()[1]

    @property
    def ioprio(self) -> int:
        return self._fields()[2]

    @property
    def fd(self) -> int:
        return self._fields()[3]

    @property
    def off(self) -> int:
        return self._fields()[4]

    @property
    def addr(self) -> int:
        return self._fields()[5]

    @property
    def len(self) -> int:
        return self._fields()[6]

    @property
    def op_flags(self) -> int:
        return self._fields()[7]

    @property
    def user_data(self) -> int:
        return self._fields()[8]

    @property
    def buf_group(self) -> int:
        return self._fields()[9]

    @property
    def kind(self) -> int:
        """The sws_core op kind packed into user_data (`sws_core._conn.K_*`)."""
        return unpack_user_data(self.user_data)[0]

    @property
    def slot(self) -> int:
        return unpack_user_data(self.user_data)[1]

    @property
    def gen(self) -> int:
        return unpack_user_data(self.user_data)[2]

    def payload(self) -> bytes:
        """The bytes a SEND points at. Safe only while the SQE is live: the loop promises
        to keep them alive until the completion, and this reads them where they are."""
        assert self.opcode == Op.SEND
        assert not self.done
        return ctypes.string_at(self.addr, self.len)

    def __repr__(self) -> str:
        kind, slot, gen = unpack_user_data(self.user_data)
        state = "done" if self.done else "live" if self.submitted else "prepared"
        return (
            f"<Sqe #{self.index} {self.opcode.name} fd={self.fd} kind={kind} slot={slot} "
            f"gen={gen} len={self.len} flags={self.flags:#x} {state}>"
        )


class FakeBuffers:
    """A provided-buffer group: `put` fills a free buffer (the kernel's side of a recv)."""

    def __init__(self, bgid: int, entries: int, size: int) -> None:
        self.bgid = bgid
        self.size = size
        self._free = list(range(entries - 1, -1, -1))
        self._used: dict[int, bytearray] = {}
        self.closed = False

    @property
    def in_use(self) -> set[int]:
        """Buffer ids handed to the loop and not recycled yet."""
        return set(self._used)

    def put(self, data: bytes) -> int:
        assert 0 < len(data) <= self.size, f"{len(data)} bytes do not fit a {self.size}-byte buffer"
        assert self._free, "every provided buffer is in use: complete with -ENOBUFS instead"
        bid = self._free.pop()
        self._used[bid] = bytearray(data)
        return bid

    def get(self, bid: int, length: int) -> memoryview:
        assert not self.closed
        assert bid in self._used, f"buffer {bid} was not handed out"
        assert length <= len(self._used[bid])
        return memoryview(self._used[bid])[:length]

    def read(self, bid: int, length: int) -> bytes:
        data = bytes(self.get(bid, length))
        self.recycle(bid)
        return data

    def take(self, bid: int, length: int) -> bytes:
        return self.read(bid, length)

    def publish(self) -> None:
        assert not self.closed

    def recycle(self, bid: int) -> None:
        assert not self.closed
        assert bid in self._used, f"buffer {bid} recycled twice (or never used)"
        del self._used[bid]
        self._free.append(bid)

    def close(self) -> None:
        self.closed = True


class FakeRing:
    """The `RingLike` the loop submits to. See the module docstring for its rules."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self.sqes: list[Sqe] = []  # every SQE ever handed out, in order
        self._prepared: list[Sqe] = []
        self._cqes: collections.deque[tuple[int, int, int]] = collections.deque()
        self.waits: list[tuple[int, float | None]] = []
        self.submit_calls = 0
        self.buffers: FakeBuffers | None = None
        self.on_wait: Callable[[int, float | None], None] | None = None
        self.max_waits = 10_000  # a loop that spins forever fails instead of hanging
        self.closed = False

    # --- the loop's side -------------------------------------------------------------------

    def get_sqe(self) -> memoryview | None:
        assert not self.closed, "get_sqe on a closed ring"
        if len(self._prepared) >= self.entries:
            return None
        sqe = Sqe(len(self.sqes), bytearray(SQE_SIZE))
        self.sqes.append(sqe)
        self._prepared.append(sqe)
        return memoryview(sqe._slot)

    def get_sqes(self, n: int) -> list[memoryview] | None:
        if len(self._prepared) + n > self.entries:
            return None
        views = [self.get_sqe() for _ in range(n)]
        return [v for v in views if v is not None]

    def pending_sqe(self) -> memoryview | None:
        return memoryview(self._prepared[-1]._slot) if self._prepared else None

    def submit(self) -> int:
        assert not self.closed, "submit on a closed ring"
        self.submit_calls += 1
        prepared, self._prepared = self._prepared, []
        for sqe in prepared:
            sqe._freeze()
        return len(prepared)

    def submit_and_wait(self, wait_nr: int = 1, timeout_s: float | None = None) -> int:
        if timeout_s is not None:
            KernelTimespec.from_seconds(timeout_s)  # the real ring raises here, so do we
        n = self.submit()
        self.waits.append((wait_nr, timeout_s))
        assert len(self.waits) <= self.max_waits, "the loop kept waiting: is a test stuck?"
        if wait_nr and not self._cqes and self.on_wait is not None:
            self.on_wait(wait_nr, timeout_s)
        return n

    def reap(self, max_cqes: int = 0) -> list[tuple[int, int, int]]:
        count = len(self._cqes) if max_cqes <= 0 else min(max_cqes, len(self._cqes))
        return [self._cqes.popleft() for _ in range(count)]

    def reap_split(self, max_cqes: int = 0) -> list[tuple[int, int, int, int]]:
        return [(ud & 0xFFFFFFFF, ud >> 32, res, flags) for ud, res, flags in self.reap(max_cqes)]

    def close(self) -> None:
        self.closed = True

    # --- the test's side -------------------------------------------------------------------

    @property
    def last_wait(self) -> tuple[int, float | None]:
        return self.waits[-1]

    @property
    def queued_cqes(self) -> int:
        return len(self._cqes)

    def live(
        self,
        op: Op | None = None,
        *,
        fd: int | None = None,
        kind: int | None = None,
        user_data: int | None = None,
    ) -> list[Sqe]:
        """Submitted SQEs that have not completed for good, oldest first, filtered."""
        return [
            s
            for s in self.sqes
            if s.submitted
            and not s.done
            and (op is None or s.opcode == op)
            and (fd is None or s.fd == fd)
            and (kind is None or s.kind == kind)
            and (user_data is None or s.user_data == user_data)
        ]

    def one(self, op: Op, **filters: Any) -> Sqe:
        """The one live SQE matching `op` and `filters` (fails if none or several)."""
        found = self.live(op, **filters)
        assert len(found) == 1, f"want one live {op.name} {filters}, have {found}"
        return found[0]

    def since(self, mark: int) -> list[Sqe]:
        """SQEs prepared after `mark` (a `len(ring.sqes)` taken earlier)."""
        return self.sqes[mark:]

    def complete(self, target: Sqe, res: int, flags: int = 0) -> None:
        """Post a CQE for `target` (ends it unless `flags` has MORE)."""
        assert target.submitted, f"{target!r} was never submitted"
        assert not target.done, f"{target!r} already completed"
        if not flags & _MORE:
            target.done = True
        target.results.append((res, flags))
        if target.opcode == Op.CLOSE and res >= 0:
            os.close(target.fd)
        self._cqes.append((target.user_data, res, flags))

    def inject(self, user_data: int, res: int, flags: int = 0) -> None:
        """Post a CQE that matches no live SQE (a late or ghost completion)."""
        self._cqes.append((user_data, res, flags))

    def complete_recv(self, target: Sqe, data: bytes, *, more: bool = True) -> None:
        """Complete a buffer-select recv with `data`, copied into a provided buffer."""
        assert target.flags & SqeFlag.BUFFER_SELECT, f"{target!r} does not select buffers"
        assert self.buffers is not None
        assert target.buf_group == self.buffers.bgid
        bid = self.buffers.put(data)
        flags = _BUFFER | bid << CQE_BUFFER_SHIFT | (_MORE if more else 0)
        self.complete(target, len(data), flags)

    def complete_cancel(self, cancel: Sqe) -> Sqe | None:
        """Run an ASYNC_CANCEL: its target ends with -ECANCELED, or the cancel gets -ENOENT.
        Returns the target."""
        assert cancel.opcode == Op.ASYNC_CANCEL
        targets = self.live(user_data=cancel.addr)
        if not targets:
            self.complete(cancel, -errno.ENOENT)
            return None
        self.complete(targets[0], -errno.ECANCELED)
        self.complete(cancel, 0)
        return targets[0]


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeBackend:
    """`Backend` for `Loop(backend=...)`: makes one `FakeRing` and its `FakeBuffers`."""

    def __init__(self) -> None:
        self.ring: FakeRing | None = None
        self.buffers: FakeBuffers | None = None
        self.on_wait: Callable[[int, float | None], None] | None = None  # for the ring
        self.take_now: int | None = None  # bytes send_now takes (None: EAGAIN)
        self.sent_now: list[tuple[int, bytes]] = []
        self.shut_now: list[int] = []

    def open_ring(self, entries: int) -> FakeRing:
        self.ring = FakeRing(entries)
        self.ring.on_wait = self.on_wait
        return self.ring

    def open_buffers(self, ring: Any, bgid: int, entries: int, size: int) -> FakeBuffers:
        assert ring is self.ring
        self.buffers = FakeBuffers(bgid, entries, size)
        self.ring.buffers = self.buffers
        return self.buffers

    def send_now(self, fd: int, data: bytes | memoryview) -> int:
        """The socket takes what the test says: `take_now` bytes (None: EAGAIN, as a full
        socket buffer would; the close is then linked to the ring's send)."""
        if self.take_now is None:
            return -1
        taken = bytes(data[: self.take_now])
        self.sent_now.append((fd, taken))
        return len(taken)

    def shutdown_write(self, fd: int) -> None:
        self.shut_now.append(fd)


class LoopDriver:
    """Runs a `Loop` on a fake ring one turn at a time, as `Loop.run` would."""

    def __init__(self, loop: Loop, backend: FakeBackend, clock: FakeClock) -> None:
        self.loop = loop
        self.backend = backend
        self.clock = clock
        self.peers: list[socket.socket] = []
        self.started = False
        self.finished = False

    @property
    def ring(self) -> FakeRing:
        assert self.backend.ring is not None, "the loop has not been started"
        return self.backend.ring

    @property
    def buffers(self) -> FakeBuffers:
        assert self.backend.buffers is not None
        return self.backend.buffers

    def start(self) -> LoopDriver:
        """What `Loop.run` does before its first turn."""
        loop = self.loop
        loop.running = True
        loop._thread_id = threading.get_ident()
        loop._setup()
        self.started = True
        self._flush()
        return self

    def _flush(self) -> None:
        """Submit what the loop prepared, counted as the next turn's enter would count it."""
        self.loop._sqes += self.ring.submit()

    def turn(self, n: int = 1) -> None:
        """Run `n` turns. What a turn prepared is then submitted at once, as the next turn's
        io_uring_enter would do first, so the test can complete it."""
        for _ in range(n):
            self.loop._turn()
            self._flush()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def finished_stopping(self) -> bool:
        """`Loop.run`'s loop condition."""
        return self.loop._finished()

    # --- listeners and connections -------------------------------------------------------

    def listen(self, **kwargs: Any) -> Listener:
        """Listen on 127.0.0.1, port 0; a started loop arms the accept, submitted at once."""
        listener = self.loop.listen("127.0.0.1", 0, **kwargs)
        if self.started:
            self._flush()
        return listener

    def accept_fd(self) -> int:
        """A socket fd for the loop to adopt; its peer end is closed at teardown."""
        ours, peer = socket.socketpair()
        self.peers.append(peer)
        return ours.detach()

    def accept_sqe(self, listener: Listener | None = None) -> Sqe:
        index = 0 if listener is None else listener.index
        return self.ring.one(Op.ACCEPT, kind=K_ACCEPT, user_data=_accept_ud(index))

    def accept(self, listener: Listener | None = None) -> Conn:
        """Complete the listener's multishot accept with a new fd; return its `Conn`."""
        fd = self.accept_fd()
        self.ring.complete(self.accept_sqe(listener), fd, _MORE)
        self.turn()
        return self.conn_for_fd(fd)

    def conn_for_fd(self, fd: int) -> Conn:
        conns = [c for c in self.loop._conns if c is not None and c.fd == fd]
        assert len(conns) == 1, f"no connection with fd {fd}"
        return conns[0]

    def recv_sqe(self, conn: Conn) -> Sqe:
        return self.ring.one(Op.RECV, fd=conn.fd)

    def deliver(self, conn: Conn, *chunks: bytes, more: bool = True, turn: bool = True) -> None:
        """Complete `conn`'s multishot recv once per chunk, then run a turn."""
        recv = self.recv_sqe(conn)
        for i, chunk in enumerate(chunks):
            self.ring.complete_recv(recv, chunk, more=more or i < len(chunks) - 1)
        if turn:
            self.turn()

    def eof(self, conn: Conn, turn: bool = True) -> None:
        """The peer finished sending: the multishot recv ends with res 0."""
        self.ring.complete(self.recv_sqe(conn), 0)
        if turn:
            self.turn()

    def settle(self, max_rounds: int = 20) -> None:
        """Let the kernel run every cancel, close and shutdown, turning until none is left
        (sends are never completed here: tests decide those)."""
        ring = self.ring
        for _ in range(max_rounds):
            todo = ring.live(Op.ASYNC_CANCEL) + ring.live(Op.CLOSE) + ring.live(Op.SHUTDOWN)
            if not todo:
                return
            for sqe in todo:
                if sqe.done:
                    continue
                if sqe.opcode == Op.ASYNC_CANCEL:
                    ring.complete_cancel(sqe)
                else:
                    ring.complete(sqe, 0)
            self.turn()
        raise AssertionError(f"still not settled after {max_rounds} rounds: {ring.live()}")

    def wait_for_wake(self, timeout_s: float = 5.0) -> None:
        """Block until another thread wrote the loop's eventfd, then complete its read (the
        kernel's side of the wake-up) and run a turn."""
        fd = self.loop._wake_fd
        readable, _, _ = select.select([fd], [], [], timeout_s)
        assert readable, f"nothing woke the loop within {timeout_s} s"
        os.eventfd_read(fd)
        self.ring.complete(self.ring.one(Op.READ, fd=fd, kind=K_WAKE), 8)
        self.turn()

    # --- teardown ----------------------------------------------------------------------------

    def finish(self, *, check: bool = True) -> None:
        """What `Loop.run` does after its last turn, then the leak checks. With `check`
        false (a strict xfail), problems are cleaned up but not reported."""
        if self.finished:
            return
        self.finished = True
        loop = self.loop
        try:
            if self.started and self.backend.ring is not None and not self.ring.closed:
                # Refused fds are closed by the kernel in a real run: do it here too.
                for sqe in self.ring.live(Op.CLOSE, kind=K_DISCARD):
                    self.ring.complete(sqe, 0)
            loop._teardown()
        except Exception:  # a teardown bug under test
            if check:
                raise
        finally:
            _force_close(loop)
            loop.running = False
            for peer in self.peers:
                peer.close()
        if check and self.backend.buffers is not None:
            # A buffer whose CQE the loop never reaped is the kernel's loss, not the loop's.
            queued = self.backend.ring._cqes if self.backend.ring is not None else []
            unreaped = {flags >> CQE_BUFFER_SHIFT for _, _, flags in queued if flags & _BUFFER}
            leaked = self.buffers.in_use - unreaped
            assert not leaked, f"provided buffers never recycled: {sorted(leaked)}"


def _accept_ud(index: int) -> int:
    return pack_user_data(K_ACCEPT, index, 0)


def _force_close(loop: Loop) -> None:
    """Close whatever a failed teardown left open (only after `_teardown` raised)."""
    if loop._wake_fd >= 0:
        os.close(loop._wake_fd)
        loop._wake_fd = -1
    for listener in loop._listeners:
        listener.close_socket()
    for conn in _live_conns(loop._conns):
        with contextlib.suppress(OSError):
            os.close(conn.fd)
        conn.state = FREED
    if loop._workers is not None:
        loop._workers.shutdown(timeout_s=5.0)


def _live_conns(conns: Iterable[Conn | None]) -> list[Conn]:
    return [c for c in conns if c is not None and c.state != FREED]
