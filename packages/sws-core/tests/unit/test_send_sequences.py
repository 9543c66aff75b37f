"""Random sequences of writes, closes, aborts, half-closes and send outcomes on one
connection, on the fake ring: the peer gets a prefix of what was written, each byte once,
and the fd never closes while a send that is not linked in front of the close is in flight.

Each seed is one sequence: writes of a few bytes (sometimes into an SQ with one or two
free entries, or none left for a linked close; sometimes closed at once, as a last
answer is), `send_now` taking none, some or all of that last write, sends completing
whole, short or failed, linked closes run or cancelled.
"""

from __future__ import annotations

import errno
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from sws_core import ClosedResourceError, Conn
from sws_core._conn import CLOSED, FREED, K_DISCARD, OPEN
from uring import Op as Opcode
from uring import SqeFlag, prep_nop

if TYPE_CHECKING:
    from fakering import FakeRing, LoopDriver

BATCHES = 20
SEEDS_PER_BATCH = 100
STEPS = 60


class Quiet:
    """A protocol that only records the end of its connection."""

    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> None:
        pass

    def connection_lost(self, exc: BaseException | None) -> None:
        self.log.append(("lost", exc))


class Peer:
    """What the other end receives: from `send_now` and from completed sends."""

    def __init__(self, driver: LoopDriver, fd: int) -> None:
        self.driver = driver
        self.fd = fd
        self.got = bytearray()
        self._sent_now_seen = 0

    def take_sent_now(self) -> None:
        sent_now = self.driver.backend.sent_now
        for _, data in sent_now[self._sent_now_seen :]:
            self.got += data
        self._sent_now_seen = len(sent_now)

    def complete_send(self, rnd: random.Random | None) -> bool:
        """Complete the live send (whole, or as `rnd` picks: short or failed), and the
        close linked behind it (run, or cancelled if the send fell short); True if the
        send failed."""
        ring = self.driver.ring
        sends = ring.live(Opcode.SEND, fd=self.fd)
        assert len(sends) <= 1, f"more than one send in flight: {sends}"
        if not sends:
            return False
        send = sends[0]
        payload = send.payload()
        res = len(payload) if rnd is None else outcome(rnd, len(payload))
        ring.complete(send, res)
        if res > 0:
            self.got += payload[:res]
        if send.flags & SqeFlag.IO_LINK:
            for close in ring.live(Opcode.CLOSE, fd=self.fd):
                ring.complete(close, 0 if res == len(payload) else -errno.ECANCELED)
        return res < 0


def outcome(rnd: random.Random, length: int) -> int:
    """A send's result: failed (15 %), any length short or whole (35 %), whole."""
    pick = rnd.random()
    if pick < 0.15:
        return -errno.EPIPE
    return rnd.randint(0, length) if pick < 0.5 else length


def fill_sq(ring: FakeRing, leave: int) -> None:
    while ring.entries - len(ring._prepared) > leave:
        prep_nop(ring.get_sqe(), user_data=K_DISCARD)


def assert_no_close_before_a_send(ring: FakeRing, fd: int) -> None:
    for close in ring.live(Opcode.CLOSE, fd=fd):
        for send in ring.live(Opcode.SEND, fd=fd):
            assert send.flags & SqeFlag.IO_LINK, (send, close)
            assert send.index == close.index - 1, (send, close)


@pytest.mark.parametrize("batch", range(BATCHES))
def test_the_peer_gets_what_was_written_in_order_and_once(
    make_loop: Callable[..., LoopDriver], batch: int
) -> None:
    for seed in range(batch * SEEDS_PER_BATCH, (batch + 1) * SEEDS_PER_BATCH):
        run_sequence(make_loop, seed)


def run_sequence(make_loop: Callable[..., LoopDriver], seed: int) -> None:
    """One random sequence; a failure names its seed."""
    try:
        play(make_loop, random.Random(seed))
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: {exc}") from exc


def play(make_loop: Callable[..., LoopDriver], rnd: random.Random) -> None:
    driver = make_loop(ring_entries=8, max_write_queue_bytes=rnd.choice([8, 64, 1 << 20]))
    ring = driver.ring
    log: list[Any] = []
    conn: Conn = driver.accept(driver.listen(protocol=lambda conn: Quiet(log)))
    peer = Peer(driver, conn.fd)
    written = bytearray()
    broken = False  # aborted, or a send failed: what was written need not all arrive
    for _ in range(STEPS):
        driver.backend.take_now = rnd.choice([None, None, 0, 1, 3, 1 << 20])
        action = rnd.random()
        if action < 0.35:
            if rnd.random() < 0.3:
                fill_sq(ring, leave=rnd.choice([1, 2]))
            if conn.state == OPEN and not conn._shut_wr:
                data = bytes((len(written) + i) % 251 for i in range(rnd.randint(1, 12)))
                try:
                    conn.write(data)
                    written += data
                except ClosedResourceError:
                    pass
                broken |= conn._close_exc is not None
                if rnd.random() < 0.25:
                    conn.close()  # a last answer: written and closed in one handler call
        elif action < 0.42:
            if rnd.random() < 0.5:
                fill_sq(ring, leave=0)  # no room for a linked close
            conn.close()
        elif action < 0.45:
            broken |= conn.state not in (CLOSED, FREED)  # (else abort does nothing)
            conn.abort()
        elif action < 0.48:
            conn.shutdown_write()
        elif action < 0.75:
            driver.turn()
            broken |= peer.complete_send(rnd)
        elif action < 0.85:
            driver.turn()
            for cancel in ring.live(Opcode.ASYNC_CANCEL):
                ring.complete_cancel(cancel)
        else:
            driver.turn()
        peer.take_sent_now()
        assert_no_close_before_a_send(ring, conn.fd)
        assert peer.got == written[: len(peer.got)]
        if conn.state == FREED:
            break
    for _ in range(40):  # the peer reads everything; the connection ends
        if conn.state == OPEN:
            conn.close()
        driver.turn()
        peer.complete_send(None)
        for cancel in ring.live(Opcode.ASYNC_CANCEL):
            ring.complete_cancel(cancel)
        for shutdown in ring.live(Opcode.SHUTDOWN):
            ring.complete(shutdown, 0)
        peer.take_sent_now()
        assert_no_close_before_a_send(ring, conn.fd)
        for close in ring.live(Opcode.CLOSE, fd=conn.fd):
            if not ring.live(Opcode.SEND, fd=conn.fd):
                ring.complete(close, 0)
        if conn.state == FREED:
            break
    assert conn.state == FREED
    assert peer.got == written[: len(peer.got)]
    if not broken:
        assert peer.got == written
