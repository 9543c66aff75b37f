"""Fixtures for sws_core's integration tests: a real ring on 127.0.0.1, port 0.

- `serve(...)` makes a `Loop`, listens (before the loop thread starts: the ring is created
  inside `run()`, on the loop thread, because of SINGLE_ISSUER), runs it on its own thread
  and returns a `LoopThread`. At teardown every loop is stopped and joined; the test fails if
  a loop thread is still alive, raised, logged an error it was not told to expect, or left a
  live slot.
- `tcp` opens blocking client sockets with timeouts and closes whatever a test leaves open
  (the root conftest fails any test that leaks a file descriptor).
- `spawn` runs a Python child process spoken to in lines (the echo example, the client
  side of the 10,000-connection test); `waiter` polls a condition with a bound.

Test modules cannot import this file (pytest runs with --import-mode=importlib), so the
helpers are fixtures and methods.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sws_core import Listener, Loop, LoopStatistics

WAIT_S = 10.0  # the bound on every wait; a healthy test never gets near it
JOIN_S = 15.0  # loop threads: a graceful stop plus the 5 s the workers may take


class ErrorLog(logging.Handler):
    """Collects the ERROR records of the "sws_core" logger (from any thread)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]


class LoopThread:
    """A `Loop` running on its own thread, with ways to reach it from the test thread."""

    def __init__(self, loop: Loop, listener: Listener | None, allow_errors: bool) -> None:
        self.loop = loop
        self.listener = listener
        self.port = listener.port if listener is not None else 0
        self.host = listener.host if listener is not None else ""
        self.allow_errors = allow_errors
        self.error: BaseException | None = None
        self.ident: int | None = None
        self.thread = threading.Thread(target=self._run, name="sws-loop", daemon=True)

    def _run(self) -> None:
        self.ident = threading.get_ident()
        try:
            self.loop.run()
        except BaseException as exc:
            self.error = exc

    def start(self) -> None:
        self.thread.start()

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = WAIT_S) -> Any:
        """Run `fn(*args)` on the loop thread (through `invoke`) and return its result."""
        box: list[tuple[bool, Any]] = []
        done = threading.Event()

        def run() -> None:
            try:
                box.append((True, fn(*args)))
            except BaseException as exc:
                box.append((False, exc))
            finally:
                done.set()

        self.loop.invoke(run)
        assert done.wait(timeout), f"the loop did not run an invoked call in {timeout} s"
        ok, value = box[0]
        if not ok:
            raise value
        return value

    def stats(self) -> LoopStatistics:
        """The loop's statistics, read on the loop thread."""
        stats: LoopStatistics = self.call(self.loop.statistics)
        return stats

    def wait_stats(
        self, pred: Callable[[LoopStatistics], bool], timeout: float = WAIT_S
    ) -> LoopStatistics:
        """Poll the statistics until `pred` holds; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if pred(stats):
                return stats
            if time.monotonic() > deadline:
                raise AssertionError(f"statistics never matched: {stats}")
            time.sleep(0.01)

    def stop_and_join(self, timeout: float = JOIN_S) -> None:
        self.loop.stop()
        self.thread.join(timeout)


def wait_for(pred: Callable[[], Any], timeout: float = WAIT_S, what: str = "condition") -> Any:
    """Poll `pred()` until it is truthy and return it; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)
    return value


@pytest.fixture
def waiter() -> Callable[..., Any]:
    """`wait_for(pred, timeout=..., what=...)`: poll until `pred()` is truthy."""
    return wait_for


@pytest.fixture
def serve(request: pytest.FixtureRequest) -> Iterator[Callable[..., LoopThread]]:
    """Factory: `serve(handler | protocol= | nothing, host=, port=, backlog=, reuse_port=,
    allow_errors=, **loop_kw)`; `allow_errors` tolerates ERROR records of "sws_core"."""
    started: list[LoopThread] = []
    errors = ErrorLog()
    logger = logging.getLogger("sws_core")
    logger.addHandler(errors)

    def start(
        handler: Callable[..., Any] | None = None,
        protocol: Callable[..., Any] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        backlog: int = 1024,
        reuse_port: bool = False,
        allow_errors: bool = False,
        **loop_kw: Any,
    ) -> LoopThread:
        loop_kw.setdefault("handle_signals", False)
        loop = Loop(**loop_kw)
        listener = None
        if handler is not None or protocol is not None:
            listener = loop.listen(
                host,
                port,
                handler=handler,
                protocol=protocol,
                backlog=backlog,
                reuse_port=reuse_port,
            )
        lt = LoopThread(loop, listener, allow_errors)
        started.append(lt)
        lt.start()
        return lt

    yield start

    try:
        for lt in started:
            lt.stop_and_join()
        problems: list[str] = []
        for lt in started:
            if lt.thread.is_alive():
                problems.append(f"loop thread still running {JOIN_S} s after stop()")
                continue
            if lt.error is not None:
                problems.append(f"loop.run() raised {lt.error!r}")
            live = lt.loop.statistics().slots_live
            if live:
                problems.append(f"{live} slots still live after the loop ended")
            if not lt.allow_errors and errors.records:
                problems.append(f"errors logged: {errors.messages()}")
        # A strict xfail documents a source bug: its failure is the test body's business, and
        # the clean-up above still ran.
        if request.node.get_closest_marker("xfail") is None:
            assert not problems, "; ".join(problems)
    finally:
        logger.removeHandler(errors)


class Child:
    """A child process spoken to in lines, every read bounded by a timeout."""

    def __init__(self, *args: str) -> None:
        # stderr joins stdout: the child's log lines cannot fill a pipe nobody reads.
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            bufsize=0,
        )
        self.buf = b""
        self.lines: list[str] = []

    def readline(self, timeout: float = 30.0) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, f"no line from the child in {timeout} s (got {self.buf!r})"
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                data = os.read(self.proc.stdout.fileno(), 4096)
                assert data, f"the child exited: {self.proc.wait()}"
                self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        self.lines.append(line.decode())
        return self.lines[-1]

    def wait_for_line(self, pred: Callable[[str], bool], timeout: float = 30.0) -> str:
        """Read lines until one satisfies `pred` (the others are kept in `lines`)."""
        deadline = time.monotonic() + timeout
        while not pred(line := self.readline(max(0.01, deadline - time.monotonic()))):
            pass
        return line

    def rest(self, timeout: float = 30.0) -> str:
        """Everything the child prints until it exits."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"the child did not exit in {timeout} s"
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                data = os.read(self.proc.stdout.fileno(), 65536)
                if not data:
                    break
                self.buf += data
        text, self.buf = self.buf.decode(), b""
        self.lines.extend(text.splitlines())
        return text

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")

    def close(self, timeout: float = 10.0) -> int | None:
        """Wait for the child to exit (killing it after `timeout`); return its status."""
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        return self.proc.returncode


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    """Factory: `spawn(*python_args)` starts `sys.executable *python_args`; every child is
    killed (if still running) and reaped at teardown."""
    children: list[Child] = []

    def start(*args: str) -> Child:
        child = Child(*args)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.proc.poll() is None:
            child.proc.kill()
        child.close()


class Tcp:
    """Blocking client sockets with timeouts, all closed at teardown."""

    def __init__(self) -> None:
        self.socks: list[socket.socket] = []

    def connect(
        self, port: int, host: str = "127.0.0.1", timeout: float = WAIT_S, rcvbuf: int = 0
    ) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        self.socks.append(sock)
        sock.settimeout(timeout)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.connect((host, port))
        return sock

    def adopt(self, sock: socket.socket) -> socket.socket:
        """Close `sock` at teardown too."""
        self.socks.append(sock)
        return sock

    @staticmethod
    def recv_exactly(sock: socket.socket, n: int) -> bytes:
        """Read exactly `n` bytes; fail on an early EOF."""
        buf = bytearray()
        while len(buf) < n:
            chunk = sock.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                raise AssertionError(f"EOF after {len(buf)} of {n} bytes")
            buf += chunk
        return bytes(buf)

    @staticmethod
    def read_to_eof(sock: socket.socket, limit: int = 1 << 30) -> bytes:
        """Read until EOF (at most `limit` bytes)."""
        buf = bytearray()
        while chunk := sock.recv(1 << 20):
            buf += chunk
            assert len(buf) <= limit, "more bytes than expected"
        return bytes(buf)

    @staticmethod
    def closed_by_peer(sock: socket.socket) -> bool:
        """Whether the peer closed: EOF or a reset (waits up to the socket's timeout)."""
        try:
            while sock.recv(65536):
                pass
        except ConnectionResetError:
            return True
        return True

    def close_all(self) -> None:
        for sock in self.socks:
            sock.close()
        self.socks.clear()


@pytest.fixture
def tcp(serve: Callable[..., LoopThread]) -> Iterator[Tcp]:
    """Client sockets for one test. They close before the test's loops stop (this fixture
    depends on `serve`), so a server connection stuck on a client that does not read ends
    at once instead of waiting out the grace period."""
    t = Tcp()
    yield t
    t.close_all()
