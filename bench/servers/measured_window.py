"""The measured window of a client job (its ops, wall time and this process's CPU time),
and the set-up and exit every job shares.

The client jobs of bench/client.py and bench/dns.py (`client_*.py`, `dns_sws.py`,
`dns_aiodns.py`, in this folder, which is on their sys.path) are the measured process, so
they measure themselves. Rules that hold here:

- A job's workers run from its start; the window opens at `open_at` (after the warm-up:
  connections made, caches and code paths warm) and closes at `close_at`. Each worker calls
  `record()` after every completed op and stops when it returns False. The first worker past
  `open_at` opens the window, the first one past `close_at` closes it; ops completed in
  between are counted. Ops still in flight in other workers at the close are not counted,
  and neither is the CPU they spend after it.
- CPU is utime + stime of every thread of this process from /proc/self/stat (proc_pid_stat(5)
  fields 14 and 15, in SC_CLK_TCK ticks, 10 ms on Linux) at the open and at the close, so the
  client's own threads count too: sws-client's loop thread, c-ares's event thread, the
  threads of a threaded client.
- `emit()` prints the harness's job report as the last stdout line:
  `{"ops": N, "seconds": S, "cpu_seconds": C}` (bench/harness.py, `parse_job_report`).
- Safe from several threads: the count is an `itertools.count` (one `next()` is atomic in
  CPython), opening and closing take a lock.
- Every job takes the same flags after its target (`--url` or `--port`): `--mode`, then
  `--concurrency` (default 32), `--seconds` (default 3) and `--warmup` (default 0.5), added
  by `add_job_arguments`; its own flags follow. The drivers pass them by these names.
- Nothing here runs per op but `record()`: `add_job_arguments`, `countdown` (the last
  worker out stops a fiber job's loop) and `fail` set a job up or end it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import NoReturn

CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu_s() -> float:
    """utime + stime of all threads of this process, in seconds (from /proc/self/stat)."""
    with open("/proc/self/stat", encoding="ascii", errors="replace") as f:
        text = f.read()
    fields = text[text.rfind(")") + 2 :].split()  # comm may hold spaces: skip past its ")"
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class MeasuredWindow:
    """A warm-up of `warmup_s`, then a window of `seconds` in which completed ops count.

    Args:
        warmup_s: seconds from now until the window opens.
        seconds: how long the window stays open.
    """

    def __init__(self, warmup_s: float, seconds: float) -> None:
        now = time.monotonic()
        self.open_at = now + warmup_s
        self.close_at = self.open_at + seconds
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._opened_at: float | None = None
        self._closed_at: float | None = None
        self._cpu_open_s = 0.0
        self._cpu_close_s = 0.0
        self._ops = 0

    def record(self) -> bool:
        """Count one completed op. Returns False once the window has closed: stop then."""
        now = time.monotonic()
        if now < self.open_at:
            return True
        if self._opened_at is None:
            self._open(now)
        if now >= self.close_at:
            self._close(now)
            return False
        next(self._counter)
        return True

    def _open(self, now: float) -> None:
        with self._lock:
            if self._opened_at is None:
                self._cpu_open_s = process_cpu_s()
                self._opened_at = now

    def _close(self, now: float) -> None:
        with self._lock:
            if self._closed_at is None:
                self._cpu_close_s = process_cpu_s()
                self._ops = next(self._counter)
                self._closed_at = now

    @property
    def closed(self) -> bool:
        """Whether a worker has seen the window close."""
        return self._closed_at is not None

    def emit(self) -> None:
        """Print the job report as the last stdout line.

        Raises:
            RuntimeError: the window never closed, or no op completed inside it.
        """
        if self._opened_at is None or self._closed_at is None or self._ops == 0:
            raise RuntimeError(f"no op completed in the window: {self!r}")
        report = {
            "ops": self._ops,
            "seconds": self._closed_at - self._opened_at,
            "cpu_seconds": self._cpu_close_s - self._cpu_open_s,
        }
        print(json.dumps(report), flush=True)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open" if self._opened_at is not None else "warm-up"
        return f"<MeasuredWindow {state} ops={self._ops}>"


def add_job_arguments(parser: argparse.ArgumentParser, modes: tuple[str, ...]) -> None:
    """Add the flags every job takes: `--mode` (one of `modes`, required), `--concurrency`,
    `--seconds` (of the window) and `--warmup` (seconds before it opens)."""
    parser.add_argument("--mode", choices=modes, required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)


def countdown(count: int, at_zero: Callable[[], object]) -> Callable[[], None]:
    """A function that calls `at_zero()` on its `count`-th call: each of a job's `count`
    workers calls it once as it ends, so the last one out stops the job's loop."""
    left = count

    def done() -> None:
        nonlocal left
        left -= 1
        if not left:
            at_zero()

    return done


def fail(message: str) -> NoReturn:
    """Exit 1 with `message` on stderr (a wrong answer, a failed request)."""
    sys.exit(f"{os.path.basename(sys.argv[0])}: {message}")
