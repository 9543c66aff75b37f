"""`serve_processes`: N worker processes sharing one port, and a parent that watches them.

How it works:

- The parent binds the address once with SO_REUSEPORT but never listens on it: that pins
  the port (port 0 becomes a real one) without taking connections. Each worker, forked
  afterwards, opens its own listening socket on the same port with SO_REUSEPORT, and the
  kernel spreads new connections over the workers' sockets.
- Each worker builds its own `Loop` (and so its own io_uring) after the fork: a ring is
  never shared across processes.
- A worker that dies while the server is running is replaced; one that dies within
  `_CRASH_WINDOW_S` of its start counts as a crash, and after `_MAX_QUICK_CRASHES` in a
  row the parent waits `_CRASH_BACKOFF_S` before the next start, so a broken app does not
  fork in a tight loop.
- SIGINT or SIGTERM in the parent is forwarded as SIGTERM to every worker (each stops
  gracefully: no new connections, in-flight requests finish); the parent waits for them,
  and kills the ones still alive after their grace period and a margin.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, Final

log = logging.getLogger("sws_http")

_CRASH_WINDOW_S: Final = 1.0  # a worker dying this soon after its start has crashed
_MAX_QUICK_CRASHES: Final = 3  # quick crashes in a row before the parent backs off
_CRASH_BACKOFF_S: Final = 1.0
_KILL_MARGIN_S: Final = 5.0  # after the workers' grace period, then SIGKILL


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind (without listening) `host:port` with SO_REUSEPORT; return the socket."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def serve_processes(
    count: int,
    run_worker: Callable[[int], Any],
    *,
    grace_s: float,
    on_started: Callable[[], Any] | None = None,
) -> int:
    """Run `run_worker(port_holder_closed)` in `count` forked processes until a signal.

    Args:
        count: number of worker processes (at least 1).
        run_worker: the body of a worker process, called after the fork with the worker's
            index; it should serve until SIGTERM and return.
        grace_s: how long a worker may take to stop gracefully.
        on_started: called in the parent once every worker has been started.

    Returns:
        0 after a clean stop.
    """
    if count < 1:
        raise ValueError(f"workers={count} must be at least 1")
    children: dict[int, tuple[int, float]] = {}  # pid -> (worker index, start time)
    stopping = False
    quick_crashes = 0

    def start(index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                run_worker(index)
            except BaseException:
                log.exception("worker %d failed", index)
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = (index, time.monotonic())

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            log.info("signal %d: stopping %d workers", signum, len(children))
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for index in range(count):
            start(index)
        if on_started is not None:
            on_started()
        deadline = float("inf")
        while children:
            if stopping and deadline == float("inf"):
                deadline = time.monotonic() + grace_s + _KILL_MARGIN_S
            if stopping and time.monotonic() > deadline:
                for pid in children:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            try:
                pid, status = os.waitpid(-1, os.WNOHANG if stopping else 0)
            except ChildProcessError:
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries waitpid
                continue
            if pid == 0:
                time.sleep(0.05)
                continue
            index, started = children.pop(pid)
            if stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            log.warning("worker %d (pid %d) exited with %d; restarting it", index, pid, code)
            quick_crashes = quick_crashes + 1 if time.monotonic() - started < _CRASH_WINDOW_S else 0
            if quick_crashes >= _MAX_QUICK_CRASHES:
                time.sleep(_CRASH_BACKOFF_S)
            if not stopping:
                start(index)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return 0
