"""`Pipe`: pushed bytes, pulled by a fiber in straight-line style. Reads that can finish at
once are driven by hand; reads that wait run as fibers on a fake-ring loop."""

from __future__ import annotations

import errno
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from sws_core import Conn, Op, Pipe

if TYPE_CHECKING:
    from fakering import LoopDriver

Fiber = Generator[Op, Any, None]


def now(read: Generator[Op, Any, bytes]) -> bytes:
    """Run a pipe read that must not wait, and return its result."""
    try:
        op = next(read)
    except StopIteration as stop:
        result: bytes = stop.value
        return result
    raise AssertionError(f"the read waited ({op!r})")


def reading(driver: LoopDriver, pipe: Pipe, *reads: Callable[[], Any]) -> list[Any]:
    """Run a fiber doing `reads` in order on `pipe`, logging each result (or error)."""
    log: list[Any] = []

    def fiber() -> Fiber:
        for read in reads:
            try:
                log.append((yield from read()))
            except ValueError as exc:
                log.append(exc)
                return

    driver.loop.go(fiber())
    driver.turn(2)
    return log


# --- reads that do not wait -----------------------------------------------------------------------


def test_read_returns_exactly_n_bytes_and_keeps_the_rest() -> None:
    pipe = Pipe()
    pipe.push(b"hello world")
    assert now(pipe.read(5)) == b"hello"
    assert len(pipe) == 6
    assert now(pipe.read(6)) == b" world"
    assert len(pipe) == 0


def test_readline_returns_one_line_with_its_newline() -> None:
    pipe = Pipe()
    pipe.push(b"first\nsecond\nthird")
    assert now(pipe.readline()) == b"first\n"
    assert now(pipe.readline()) == b"second\n"
    assert len(pipe) == 5


def test_read_some_returns_everything_buffered() -> None:
    pipe = Pipe()
    pipe.push(b"a")
    pipe.push(b"bc")
    assert now(pipe.read_some()) == b"abc"


def test_at_eof_reads_return_what_is_left_then_empty_bytes() -> None:
    pipe = Pipe()
    pipe.push(b"tail without newline")
    pipe.close()
    assert not pipe.at_eof
    assert now(pipe.read(4)) == b"tail"
    assert now(pipe.readline()) == b" without newline"
    assert pipe.at_eof
    assert now(pipe.readline()) == b""
    assert now(pipe.read(10)) == b""
    assert now(pipe.read_some()) == b""


def test_push_after_close_raises() -> None:
    pipe = Pipe()
    pipe.close()
    with pytest.raises(ValueError, match="closed pipe"):
        pipe.push(b"late")
    assert repr(pipe) == "<Pipe buffered=0 closed=True>"


# --- reads that wait ------------------------------------------------------------------------------


def test_read_waits_until_n_bytes_have_arrived(driver: LoopDriver) -> None:
    pipe = Pipe()
    log = reading(driver, pipe, lambda: pipe.read(5))
    pipe.push(b"ab")
    driver.turn()
    assert log == []
    pipe.push(b"cdefg")
    driver.turn()
    assert log == [b"abcde"]
    assert len(pipe) == 2


def test_read_at_eof_returns_fewer_bytes(driver: LoopDriver) -> None:
    pipe = Pipe()
    log = reading(driver, pipe, lambda: pipe.read(5), lambda: pipe.read(5))
    pipe.push(b"abc")
    driver.turn()
    assert log == []
    pipe.close()
    driver.turn(2)
    assert log == [b"abc", b""]


def test_readline_waits_across_pushes(driver: LoopDriver) -> None:
    pipe = Pipe()
    log = reading(driver, pipe, pipe.readline, pipe.readline, pipe.readline)
    for piece in (b"GET / HT", b"TP/1.1\r", b"\nHost: x\r\n", b"partial"):
        pipe.push(piece)
        driver.turn()
    assert log == [b"GET / HTTP/1.1\r\n", b"Host: x\r\n"]
    pipe.close()
    driver.turn()
    assert log == [b"GET / HTTP/1.1\r\n", b"Host: x\r\n", b"partial"]


def test_read_some_waits_for_any_bytes_then_eof(driver: LoopDriver) -> None:
    pipe = Pipe()
    log = reading(driver, pipe, pipe.read_some, pipe.read_some)
    assert log == []
    pipe.push(b"x")
    driver.turn()
    assert log == [b"x"]
    pipe.close()
    driver.turn()
    assert log == [b"x", b""]


def test_readline_past_max_line_bytes_without_a_newline_raises(driver: LoopDriver) -> None:
    pipe = Pipe(max_line_bytes=10)
    log = reading(driver, pipe, pipe.readline)
    pipe.push(b"0123456789")
    driver.turn()
    assert log == []  # exactly at the limit: still waiting
    pipe.push(b"A")
    driver.turn()
    [exc] = log
    assert isinstance(exc, ValueError)
    assert "longer than 10 bytes" in str(exc)


def test_readline_limit_does_not_depend_on_how_the_input_is_split(driver: LoopDriver) -> None:
    line = b"0123456789ABCDE\n"

    def outcome(*pieces: bytes) -> list[Any]:
        pipe = Pipe(max_line_bytes=10)
        log = reading(driver, pipe, pipe.readline)
        for piece in pieces:
            pipe.push(piece)
            driver.turn()
        return [type(x) for x in log]

    assert outcome(line) == outcome(line[:11], line[11:])


# --- feeding from a connection --------------------------------------------------------------------


def test_feed_from_pushes_what_a_connection_receives_and_closes_at_eof(
    driver: LoopDriver,
) -> None:
    pipe = Pipe()
    lines: list[bytes] = []

    def handler(conn: Conn) -> Fiber:
        driver.loop.go(pipe.feed_from(conn))
        while line := (yield from pipe.readline()):
            lines.append(line)

    conn = driver.accept(driver.listen(handler=handler))
    driver.turn()  # the feeding fiber starts and waits on the connection
    driver.deliver(conn, b"one\ntw", b"o\nthr")
    driver.turn()
    assert lines == [b"one\n", b"two\n"]
    driver.eof(conn)
    driver.turn()
    assert lines == [b"one\n", b"two\n", b"thr"]
    assert pipe.at_eof
    driver.settle()
    assert driver.loop.statistics().fibers_live == 0


def test_feed_from_ends_the_pipe_when_its_connection_breaks(driver: LoopDriver) -> None:
    pipe = Pipe()
    lines: list[bytes] = []

    def handler(conn: Conn) -> Fiber:
        driver.loop.go(pipe.feed_from(conn))
        lines.append((yield from pipe.readline()))

    conn = driver.accept(driver.listen(handler=handler))
    driver.turn()
    driver.ring.complete(driver.recv_sqe(conn), -errno.ECONNRESET)
    driver.turn()
    driver.settle()
    driver.turn(2)
    assert lines == [b""]  # the reader saw the end instead of waiting forever
