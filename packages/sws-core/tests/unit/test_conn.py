"""`Conn` on a fake ring: the receive path, the send path, backpressure, closing, timeouts.

Connections are adopted from injected accept completions; their recv, send, cancel and
close SQEs are completed by the test in the order each case needs."""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from sws_core import (
    BrokenResourceError,
    BusyResourceError,
    Cancelled,
    ClosedResourceError,
    Conn,
    Op,
    sleep,
)
from sws_core._conn import (
    CLOSED,
    CLOSING,
    FREED,
    K_CANCEL,
    K_CLOSE,
    K_DISCARD,
    K_RECV,
    K_SEND,
    OPEN,
)
from sws_core._slots import pack_user_data
from uring import CQE_BUFFER_SHIFT, CqeFlag, SqeFlag, buffer_address, prep_nop
from uring import Op as Opcode

if TYPE_CHECKING:
    from fakering import LoopDriver

    MakeLoop = Callable[..., LoopDriver]

Fiber = Generator[Op, Any, None]


def reader(log: list[Any]) -> Callable[[Conn], Fiber]:
    """A handler that logs everything it receives until EOF, and `Cancelled`."""

    def handler(conn: Conn) -> Fiber:
        try:
            while data := (yield from conn.receive()):
                log.append(data)
            log.append(b"")
        except Cancelled:
            log.append("cancelled")
            raise

    return handler


class Recorder:
    """A `TcpProtocol` that logs its events."""

    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def data_received(self, data: bytes) -> None:
        self.log.append(("data", data))

    def eof_received(self) -> None:
        self.log.append(("eof",))

    def connection_lost(self, exc: BaseException | None) -> None:
        self.log.append(("lost", exc))


def protocol_conn(driver: LoopDriver, log: list[Any]) -> Conn:
    return driver.accept(driver.listen(protocol=lambda conn: Recorder(log)))


# --- receiving ------------------------------------------------------------------------------------


def test_the_recv_is_one_multishot_buffer_select_recv(driver: LoopDriver) -> None:
    conn = driver.accept(driver.listen(handler=reader([])))
    recv = driver.recv_sqe(conn)
    assert recv.user_data == pack_user_data(K_RECV, conn.slot, conn.gen)
    assert recv.flags & SqeFlag.BUFFER_SELECT
    assert recv.buf_group == driver.loop.buffer_group
    assert (recv.addr, recv.len) == (0, 0)  # the kernel picks the buffer


def test_received_data_resumes_the_waiting_fiber(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = driver.accept(driver.listen(handler=reader(log)))
    driver.deliver(conn, b"hello")
    assert log == [b"hello"]
    driver.deliver(conn, b"again")
    assert log == [b"hello", b"again"]
    assert driver.buffers.in_use == set()  # each buffer recycled at once


def test_data_that_arrives_with_no_reader_is_buffered_and_joined(driver: LoopDriver) -> None:
    log: list[Any] = []

    def late_reader(conn: Conn) -> Fiber:
        yield from sleep(1.0)
        log.append((yield from conn.receive()))

    conn = driver.accept(driver.listen(handler=late_reader))
    driver.deliver(conn, b"ab", b"cd")
    driver.deliver(conn, b"ef")
    assert log == []
    driver.advance(1.0)
    driver.turn(2)
    assert log == [b"abcdef"]


def test_eof_resumes_the_fiber_with_empty_bytes_and_a_returning_handler_closes(
    driver: LoopDriver,
) -> None:
    log: list[Any] = []
    conn = driver.accept(driver.listen(handler=reader(log)))
    driver.eof(conn)
    assert log == [b""]
    close = driver.ring.one(Opcode.CLOSE, fd=conn.fd)
    assert close.user_data == pack_user_data(K_CLOSE, conn.slot, conn.gen)
    assert driver.ring.live(Opcode.ASYNC_CANCEL) == []  # the recv already ended
    assert driver.ring.live(Opcode.RECV) == []  # EOF: never re-armed
    driver.settle()
    assert conn.state == FREED
    assert driver.loop.statistics().slots_live == 0


def test_enobufs_rearms_the_recv_on_the_next_turn(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = driver.accept(driver.listen(handler=reader(log)))
    first = driver.recv_sqe(conn)
    driver.ring.complete(first, -errno.ENOBUFS)  # the group ran dry: the multishot ends
    driver.turn()
    second = driver.recv_sqe(conn)
    assert second is not first
    assert second.user_data == first.user_data
    assert conn.state == OPEN
    assert driver.loop.statistics().recv_buffer_exhaustions == 1
    driver.deliver(conn, b"still here")
    assert log == [b"still here"]


def test_a_recv_that_ends_after_data_is_rearmed(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = driver.accept(driver.listen(handler=reader(log)))
    first = driver.recv_sqe(conn)
    driver.deliver(conn, b"last of this shot", more=False)
    assert log == [b"last of this shot"]
    assert driver.recv_sqe(conn) is not first


def test_a_reset_aborts_the_connection_and_cancels_the_waiting_fiber(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = driver.accept(driver.listen(handler=reader(log)))
    driver.ring.complete(driver.recv_sqe(conn), -errno.ECONNRESET)
    driver.turn()
    assert conn.state == CLOSED
    assert driver.ring.live(Opcode.ASYNC_CANCEL) == []
    driver.ring.complete(driver.ring.one(Opcode.CLOSE, fd=conn.fd), 0)
    driver.turn()
    assert conn.state == FREED
    assert log == ["cancelled"]
    assert driver.loop.statistics().fibers_live == 0


def test_a_reset_reaches_the_protocol_as_connection_reset_error(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    driver.ring.complete(driver.recv_sqe(conn), -errno.ECONNRESET)
    driver.turn()
    driver.settle()
    [(event, exc)] = log
    assert event == "lost"
    assert isinstance(exc, ConnectionResetError)
    assert exc.errno == errno.ECONNRESET


def test_protocol_gets_data_and_eof_then_connection_lost_after_close(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    driver.deliver(conn, b"one", b"two")
    driver.eof(conn)
    assert log == [("data", b"one"), ("data", b"two"), ("eof",)]
    conn.close()
    driver.turn()
    driver.settle()
    assert log[-1] == ("lost", None)


def test_a_protocol_callback_that_raises_aborts_its_connection(
    driver: LoopDriver, caplog: pytest.LogCaptureFixture
) -> None:
    lost: list[BaseException | None] = []

    class Fragile(Recorder):
        def data_received(self, data: bytes) -> None:
            raise ValueError("cannot parse")

        def connection_lost(self, exc: BaseException | None) -> None:
            lost.append(exc)

    conn = driver.accept(driver.listen(protocol=lambda conn: Fragile([])))
    with caplog.at_level(logging.ERROR, logger="sws_core"):
        driver.deliver(conn, b"garbage")
    assert conn.state == CLOSING
    assert any("raised; closing it" in r.getMessage() for r in caplog.records)
    driver.settle()
    assert len(lost) == 1
    assert isinstance(lost[0], ValueError)


def test_a_second_reader_gets_busy_resource_error(driver: LoopDriver) -> None:
    log: list[Any] = []

    def intruder(conn: Conn) -> Fiber:
        try:
            yield from conn.receive()
        except BusyResourceError as exc:
            log.append(exc)

    conn = driver.accept(driver.listen(handler=reader(log)))
    driver.loop.go(intruder, conn)
    driver.turn(2)
    [exc] = log
    assert isinstance(exc, BusyResourceError)
    assert "another fiber receives" in str(exc)
    driver.deliver(conn, b"for the first reader")
    assert log[1:] == [b"for the first reader"]


def test_receive_on_a_closed_connection_raises_closed_resource_error(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = protocol_conn(driver, [])

    def late(conn: Conn) -> Fiber:
        try:
            yield from conn.receive()
        except ClosedResourceError as exc:
            log.append(exc)

    conn.close()
    driver.loop.go(late, conn)
    driver.turn(2)
    assert len(log) == 1


def test_unread_data_over_the_limit_pauses_reading_until_the_fiber_reads(
    make_loop: MakeLoop,
) -> None:
    driver = make_loop(max_read_buffer_bytes=10)
    log: list[Any] = []

    def slow(conn: Conn) -> Fiber:
        yield from sleep(1.0)
        log.append((yield from conn.receive()))
        log.append((yield from conn.receive()))

    conn = driver.accept(driver.listen(handler=slow))
    recv = driver.recv_sqe(conn)
    driver.deliver(conn, b"0123456789A")  # 11 unread bytes > 10
    cancel = driver.ring.one(Opcode.ASYNC_CANCEL)
    assert cancel.addr == recv.user_data
    assert cancel.user_data == pack_user_data(K_CANCEL, conn.slot, conn.gen)
    driver.ring.complete_cancel(cancel)
    driver.turn()
    assert driver.ring.live(Opcode.RECV) == []  # paused

    driver.advance(1.0)
    driver.turn(2)
    assert log == [b"0123456789A"]
    driver.deliver(conn, b"more")  # the read resumed reading
    assert log == [b"0123456789A", b"more"]


def test_a_protocol_can_pause_and_resume_reading(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    recv = driver.recv_sqe(conn)
    conn.pause_reading()
    conn.pause_reading()  # idempotent
    driver.turn()
    cancel = driver.ring.one(Opcode.ASYNC_CANCEL)
    assert cancel.addr == recv.user_data
    driver.ring.complete_cancel(cancel)
    driver.turn()
    assert driver.ring.live(Opcode.RECV) == []
    conn.resume_reading()
    driver.turn()
    driver.deliver(conn, b"again")
    assert ("data", b"again") in log


# --- sending --------------------------------------------------------------------------------------


def test_send_submits_the_bytes_and_the_fiber_goes_on(driver: LoopDriver) -> None:
    log: list[Any] = []

    def greeter(conn: Conn) -> Fiber:
        yield from conn.send(b"hello")
        log.append("sent")
        yield from conn.receive()

    conn = driver.accept(driver.listen(handler=greeter))
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    assert send.user_data == pack_user_data(K_SEND, conn.slot, conn.gen)
    assert send.len == 5
    assert send.payload() == b"hello"
    assert send.op_flags == socket.MSG_NOSIGNAL
    assert conn.write_queue_bytes == 5
    driver.turn()
    assert log == ["sent"]  # under the limit: no need to wait for the completion
    driver.ring.complete(send, 5)
    driver.turn()
    assert conn.write_queue_bytes == 0
    assert driver.ring.live(Opcode.SEND) == []


def test_a_partial_send_submits_the_rest_from_the_same_bytes(driver: LoopDriver) -> None:
    conn = protocol_conn(driver, [])
    conn.write(b"0123456789")
    driver.turn()
    first = driver.ring.one(Opcode.SEND, fd=conn.fd)
    driver.ring.complete(first, 4)
    driver.turn()
    rest = driver.ring.one(Opcode.SEND, fd=conn.fd)
    assert rest.len == 6
    assert rest.payload() == b"456789"
    assert rest.addr == first.addr + 4  # a view of the same bytes, no copy
    assert conn.write_queue_bytes == 6
    driver.ring.complete(rest, 6)
    driver.turn()
    assert conn.write_queue_bytes == 0


def test_a_recv_naming_a_buffer_never_handed_out_is_a_loop_error_not_a_protocol_error(
    driver: LoopDriver,
) -> None:
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    recv = driver.recv_sqe(conn)
    unknown = 5 << CQE_BUFFER_SHIFT | CqeFlag.BUFFER | CqeFlag.MORE
    driver.ring.complete(recv, 3, unknown)
    with pytest.raises(AssertionError):  # the fake ring's take refuses it, as BufferRing does
        driver.turn()
    assert log == []
    assert conn.state == OPEN  # not aborted as if its protocol had raised
    driver.eof(conn)


def test_writes_past_a_full_submission_queue_submit_it_first(make_loop: MakeLoop) -> None:
    driver = make_loop(ring_entries=4)
    conns = [protocol_conn(driver, []) for _ in range(6)]
    before = driver.ring.submit_calls
    for i, conn in enumerate(conns):  # more sends in one turn than the SQ holds
        conn.write(b"%d" % i)
    assert driver.ring.submit_calls > before  # the full SQ was submitted mid-turn
    driver.turn()
    sends = [driver.ring.one(Opcode.SEND, fd=conn.fd) for conn in conns]
    assert [send.payload() for send in sends] == [b"%d" % i for i in range(6)]
    for send in sends:
        driver.ring.complete(send, 1)
    driver.turn()
    assert all(conn.write_queue_bytes == 0 for conn in conns)


def test_writes_queued_during_a_send_go_out_joined_in_order(driver: LoopDriver) -> None:
    conn = protocol_conn(driver, [])
    conn.write(b"a")
    conn.write(bytearray(b"b"))
    conn.write(memoryview(b"cd"))
    conn.write(b"")  # nothing to send
    driver.turn()
    first = driver.ring.one(Opcode.SEND, fd=conn.fd)  # one send in flight at a time
    assert first.payload() == b"a"
    driver.ring.complete(first, 1)
    driver.turn()
    second = driver.ring.one(Opcode.SEND, fd=conn.fd)
    assert second.payload() == b"bcd"
    driver.ring.complete(second, 3)
    driver.turn()
    assert conn.write_queue_bytes == 0


def test_write_copies_a_mutable_buffer(driver: LoopDriver) -> None:
    conn = protocol_conn(driver, [])
    buf = bytearray(b"original")
    conn.write(buf)
    buf[:] = b"reused!!"
    driver.turn()
    assert driver.ring.one(Opcode.SEND, fd=conn.fd).payload() == b"original"


def test_a_failed_send_aborts_with_broken_resource_error(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    conn.write(b"x")
    driver.turn()
    driver.ring.complete(driver.ring.one(Opcode.SEND, fd=conn.fd), -errno.EPIPE)
    driver.turn()
    assert conn.state == CLOSING
    driver.settle()
    [(event, exc)] = log
    assert event == "lost"
    assert isinstance(exc, BrokenResourceError)
    assert "Broken pipe" in str(exc)


def test_write_after_close_raises_closed_resource_error(driver: LoopDriver) -> None:
    conn = protocol_conn(driver, [])
    conn.close()
    with pytest.raises(ClosedResourceError, match="write on"):
        conn.write(b"too late")


def test_close_flushes_queued_bytes_before_closing_the_fd(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    conn.write(b"bye")
    driver.turn()  # the send reached the kernel: too late to link the close to it
    conn.close()
    conn.close()  # idempotent
    driver.turn()
    driver.settle()  # the recv is cancelled; the send is still in flight
    assert driver.ring.live(Opcode.CLOSE) == []
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    driver.ring.complete(send, 3)
    driver.turn()
    driver.ring.one(Opcode.CLOSE, fd=conn.fd)
    driver.settle()
    assert log == [("lost", None)]


def test_a_close_right_after_a_write_is_linked_to_its_send(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    conn.write(b"bye")
    conn.close()
    driver.turn()
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    close = driver.ring.one(Opcode.CLOSE, fd=conn.fd)
    assert close.index == send.index + 1  # the next SQE, in the same submission
    assert send.flags & SqeFlag.IO_LINK
    assert send.op_flags & socket.MSG_WAITALL  # a short send breaks the link
    assert (send.addr, send.len) == (buffer_address(conn._sending), 3)
    driver.ring.complete(send, 3)
    driver.ring.complete(close, 0)
    driver.turn()
    assert log == [("lost", None)]
    driver.settle()  # the cancelled recv completes after the slot is gone: a stale CQE
    assert driver.loop.statistics().slots_live == 0


def test_a_close_right_after_a_write_sends_it_at_once_when_the_socket_takes_it(
    driver: LoopDriver,
) -> None:
    driver.backend.take_now = 1 << 20  # the socket takes everything: bytes, then the FIN
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    fd = conn.fd
    conn.write(b"last response")
    conn.close()
    assert driver.backend.sent_now == [(fd, b"last response")]
    assert driver.backend.shut_now == [fd]
    driver.turn()
    assert driver.ring.live(Opcode.SEND) == []  # the queued SQE became a harmless NOP
    assert driver.ring.live(Opcode.CLOSE) == []  # the fd closes once the recv is cancelled
    driver.settle()
    assert log == [("lost", None)]
    assert driver.loop.statistics().slots_live == 0


def test_what_the_socket_does_not_take_at_once_goes_through_the_ring(
    driver: LoopDriver,
) -> None:
    driver.backend.take_now = 5
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    conn.write(b"0123456789")
    conn.close()
    assert driver.backend.shut_now == []  # not all of it went: no FIN yet
    driver.turn()
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    assert send.payload() == b"56789"  # only the rest, never a byte twice
    assert send.flags & SqeFlag.IO_LINK
    close = driver.ring.one(Opcode.CLOSE, fd=conn.fd)
    driver.ring.complete(send, 5)
    driver.ring.complete(close, 0)
    driver.turn()
    assert log == [("lost", None)]
    driver.settle()


def test_what_the_socket_does_not_take_goes_alone_when_the_sq_has_no_room_for_the_close(
    driver: LoopDriver,
) -> None:
    driver.backend.take_now = 5
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    ring = driver.ring
    while ring.entries - len(ring._prepared) > 1:  # leave room for the send alone
        prep_nop(ring.get_sqe(), user_data=K_DISCARD)
    conn.write(b"0123456789")
    conn.close()
    driver.turn()
    send = ring.one(Opcode.SEND, fd=conn.fd)
    assert send.payload() == b"56789"  # only the rest, never a byte twice
    assert not send.flags & SqeFlag.IO_LINK  # nothing to link: the close comes after
    ring.complete(send, 5)
    driver.settle()  # the recv's cancel, then the close
    assert log == [("lost", None)]
    assert driver.loop.statistics().slots_live == 0


def test_a_linked_close_whose_send_fails_closes_the_usual_way(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    conn.write(b"bye")
    conn.close()
    driver.turn()
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    linked = driver.ring.one(Opcode.CLOSE, fd=conn.fd)
    driver.ring.complete(send, -errno.EPIPE)
    driver.ring.complete(linked, -errno.ECANCELED)
    driver.turn()
    assert log == []  # not closed yet: the fd is still open
    driver.settle()  # cancel the recv, then the close goes through the ring again
    assert [s for s in driver.ring.sqes if s.opcode == Opcode.CLOSE][-1] is not linked
    assert len(log) == 1
    assert log[0][0] == "lost"
    assert driver.loop.statistics().slots_live == 0


def test_no_link_when_more_than_the_one_send_is_queued(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    conn.write(b"one")
    conn.write(b"two")  # queued behind the first send
    conn.close()
    driver.turn()
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    assert not send.flags & SqeFlag.IO_LINK
    assert driver.ring.live(Opcode.CLOSE) == []
    driver.ring.complete(send, 3)
    driver.turn()
    driver.ring.complete(driver.ring.one(Opcode.SEND, fd=conn.fd), 3)
    driver.turn()
    driver.settle()
    assert log == [("lost", None)]


def test_shutdown_write_sends_fin_after_the_queue_is_flushed(driver: LoopDriver) -> None:
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    conn.write(b"last words")
    conn.shutdown_write()
    driver.turn()
    assert driver.ring.live(Opcode.SHUTDOWN) == []
    with pytest.raises(ClosedResourceError):
        conn.write(b"more")
    driver.ring.complete(driver.ring.one(Opcode.SEND, fd=conn.fd), 10)
    driver.turn()
    shutdown = driver.ring.one(Opcode.SHUTDOWN, fd=conn.fd)
    assert shutdown.len == socket.SHUT_WR
    driver.ring.complete(shutdown, 0)
    driver.deliver(conn, b"the peer may still talk")
    assert log == [("data", b"the peer may still talk")]


# --- backpressure ---------------------------------------------------------------------------------


def backpressure_loop(
    make_loop: MakeLoop, log: list[Any], size: int = 150
) -> tuple[LoopDriver, Conn]:
    driver = make_loop(max_write_queue_bytes=100)

    def writer(conn: Conn) -> Fiber:
        yield from conn.receive()
        yield from conn.send(b"x" * size)
        log.append("writer resumed")
        log.append((yield from conn.receive()))

    conn = driver.accept(driver.listen(handler=writer))
    return driver, conn


def test_a_send_over_the_limit_pauses_reading_and_waits_until_the_queue_drains(
    make_loop: MakeLoop,
) -> None:
    log: list[Any] = []
    driver, conn = backpressure_loop(make_loop, log)
    recv = driver.recv_sqe(conn)
    driver.deliver(conn, b"go")
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    assert send.len == 150
    cancel = driver.ring.one(Opcode.ASYNC_CANCEL)
    assert cancel.addr == recv.user_data  # reading pauses
    driver.ring.complete_cancel(cancel)
    driver.turn(2)
    assert log == []  # the writer waits
    assert driver.ring.live(Opcode.RECV) == []

    driver.ring.complete(send, 60)  # 90 queued: under the limit, over a quarter
    driver.turn(2)
    assert log == ["writer resumed"]
    assert driver.ring.live(Opcode.RECV) == []
    rest = driver.ring.one(Opcode.SEND, fd=conn.fd)
    driver.ring.complete(rest, 70)  # 20 queued: under a quarter, reading resumes
    driver.turn()
    driver.recv_sqe(conn)
    driver.ring.complete(driver.ring.one(Opcode.SEND, fd=conn.fd), 20)
    driver.turn()
    driver.deliver(conn, b"next request")
    assert log == ["writer resumed", b"next request"]


def test_reading_resumes_when_the_send_completes_before_the_recv_cancel(
    make_loop: MakeLoop,
) -> None:
    log: list[Any] = []
    driver, conn = backpressure_loop(make_loop, log)
    driver.deliver(conn, b"go")
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    cancel = driver.ring.one(Opcode.ASYNC_CANCEL)
    # One batch: the send finishes first, then the cancel ends the recv.
    driver.ring.complete(send, 150)
    driver.ring.complete_cancel(cancel)
    driver.turn()
    driver.turn()
    assert log == ["writer resumed"]
    driver.deliver(conn, b"next request")
    assert log == ["writer resumed", b"next request"]


def test_one_large_write_is_allowed_past_the_limit(make_loop: MakeLoop) -> None:
    log: list[Any] = []
    driver = make_loop(max_write_queue_bytes=100)
    conn = protocol_conn(driver, log)
    conn.write(b"x" * 1000)  # one write: the peer has had no chance to read yet
    assert conn.state == OPEN
    assert conn.write_queue_bytes == 1000


def test_writing_more_into_an_over_full_queue_past_four_times_the_limit_aborts(
    make_loop: MakeLoop,
) -> None:
    log: list[Any] = []
    driver = make_loop(max_write_queue_bytes=100)
    conn = protocol_conn(driver, log)
    conn.write(b"x" * 150)  # over the limit: reading pauses
    assert conn.state == OPEN
    conn.write(b"x" * 251)  # ignoring the pause, past 4 x 100
    assert conn.state == CLOSING
    assert conn.write_queue_bytes == 0
    driver.turn()
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    cancels = driver.ring.live(Opcode.ASYNC_CANCEL)
    assert {c.addr for c in cancels} == {send.user_data, driver.recv_sqe(conn).user_data}
    driver.settle()
    [(_event, exc)] = log
    assert isinstance(exc, BrokenResourceError)
    assert "peer not reading" in str(exc)


@pytest.mark.parametrize("res", [10, 4], ids=["full", "partial"])
def test_a_send_that_completes_after_abort_is_accounted_quietly(
    driver: LoopDriver, res: int
) -> None:
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    conn.write(b"0123456789")
    driver.turn()
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    conn.abort(RuntimeError("handler gave up"))
    driver.ring.submit()
    driver.ring.complete(send, res)  # the kernel had sent it before the cancel ran
    driver.turn()
    driver.settle()
    assert conn.state == FREED
    assert [event for event, *_ in log] == ["lost"]


# --- timeouts -------------------------------------------------------------------------------------


def test_an_idle_connection_is_closed_by_the_ttl_scan(make_loop: MakeLoop) -> None:
    driver = make_loop(idle_timeout_s=10.0, write_timeout_s=None)
    log: list[Any] = []
    conn = driver.accept(driver.listen(handler=reader(log)))
    driver.turn()
    assert driver.ring.last_wait == (1, 1.0)  # live connections: the TTL tick bounds waits
    driver.advance(6.0)
    driver.deliver(conn, b"activity")  # resets the idle clock
    driver.advance(9.0)
    driver.turn()
    assert conn.state == OPEN
    driver.advance(2.0)
    driver.turn()
    assert conn.state == CLOSING
    assert driver.loop.statistics().connections_idle_closed == 1
    driver.settle()
    assert log == [b"activity", "cancelled"]
    assert conn.state == FREED


def test_a_connection_idle_timeout_overrides_the_loops(make_loop: MakeLoop) -> None:
    driver = make_loop(idle_timeout_s=None, write_timeout_s=None)
    listener = driver.listen(handler=reader([]))
    short = driver.accept(listener)
    default = driver.accept(listener)
    short.idle_timeout_s = 2.0
    driver.advance(3.0)
    driver.turn()
    assert (short.state, default.state) == (CLOSING, OPEN)
    driver.settle()


def test_a_stalled_send_is_aborted_by_the_write_timeout(make_loop: MakeLoop) -> None:
    driver = make_loop(write_timeout_s=5.0, idle_timeout_s=None)
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    conn.write(b"stuck")
    driver.turn()
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    driver.advance(5.0)
    driver.turn()
    assert conn.state == OPEN
    driver.advance(0.5)
    driver.turn()
    assert conn.state == CLOSING
    cancels = driver.ring.live(Opcode.ASYNC_CANCEL)
    assert {c.addr for c in cancels} == {send.user_data, driver.recv_sqe(conn).user_data}
    driver.settle()
    [(_event, exc)] = log
    assert isinstance(exc, TimeoutError)
    assert "send stalled" in str(exc)


def test_a_close_flushing_to_a_peer_that_stopped_reading_ends_at_the_write_timeout(
    make_loop: MakeLoop,
) -> None:
    driver = make_loop(write_timeout_s=5.0, idle_timeout_s=None)
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    conn.write(b"stuck")
    driver.turn()
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    conn.close()  # the send is in the kernel: the close waits for it to flush
    driver.turn()
    assert conn.state == CLOSING
    driver.advance(5.5)
    driver.turn()
    cancels = [c.addr for c in driver.ring.live(Opcode.ASYNC_CANCEL)]
    assert send.user_data in cancels
    driver.settle()  # the cancels complete their targets, then the fd closes
    [(_event, exc)] = log
    assert isinstance(exc, TimeoutError)
    assert driver.loop.statistics().slots_live == 0


def test_a_linked_close_whose_send_stalls_ends_at_the_write_timeout(
    make_loop: MakeLoop,
) -> None:
    driver = make_loop(write_timeout_s=5.0, idle_timeout_s=None)
    log: list[Any] = []
    conn = protocol_conn(driver, log)
    conn.write(b"stuck")
    conn.close()
    driver.turn()
    send = driver.ring.one(Opcode.SEND, fd=conn.fd)
    linked = driver.ring.one(Opcode.CLOSE, fd=conn.fd)
    assert conn.state == CLOSED
    driver.advance(5.5)
    driver.turn()
    assert send.user_data in [c.addr for c in driver.ring.live(Opcode.ASYNC_CANCEL)]
    driver.ring.complete(send, -errno.ECANCELED)  # the cancel breaks the link
    driver.ring.complete(linked, -errno.ECANCELED)
    driver.turn()
    driver.settle()
    assert len(log) == 1
    assert driver.loop.statistics().slots_live == 0


# --- closing under a waiting fiber ----------------------------------------------------------------


def test_cancelled_is_thrown_into_a_fiber_waiting_on_receive_when_its_connection_closes(
    driver: LoopDriver,
) -> None:
    log: list[Any] = []
    conn = driver.accept(driver.listen(handler=reader(log)))
    conn.close()
    driver.turn()
    assert log == []
    driver.settle()
    assert log == ["cancelled"]
    assert driver.loop.statistics().fibers_live == 0


def test_cancelled_is_thrown_into_a_fiber_waiting_on_send(make_loop: MakeLoop) -> None:
    log: list[Any] = []
    driver, conn = backpressure_loop(make_loop, log)
    driver.deliver(conn, b"go")
    conn.abort()
    driver.turn()
    driver.settle()
    assert conn.state == FREED
    assert log == []  # Cancelled ended the writer: it never resumed
    assert driver.loop.statistics().fibers_live == 0


def test_repr_names_slot_generation_state_and_queue(driver: LoopDriver) -> None:
    conn = protocol_conn(driver, [])
    conn.write(b"abc")
    assert repr(conn) == f"<Conn slot=0 gen=0 fd={conn.fd} state=OPEN queued=3>"


def test_more_flag_keeps_the_recv_armed(driver: LoopDriver) -> None:
    conn = protocol_conn(driver, [])
    recv = driver.recv_sqe(conn)
    driver.deliver(conn, b"a", more=True)
    assert driver.recv_sqe(conn) is recv
    assert recv.results[0][1] & CqeFlag.MORE


def test_the_connection_send_sqe_is_exactly_prep_send() -> None:
    from sws_core._conn import _MSG_NOSIGNAL, _OP_SEND, _pack_send
    from uring import buffer_address, prep_send

    data = b"payload"
    ours, theirs = bytearray(64), bytearray(64)
    _pack_send(ours, 0, _OP_SEND, 7, buffer_address(data), 7, _MSG_NOSIGNAL, 0xABC)
    prep_send(theirs, 7, data, 7, _MSG_NOSIGNAL, user_data=0xABC)
    assert ours == theirs
