"""Process-level setup shared by the scripts in this folder: file limit, event loop, signals.

Every script here runs as its own process, started by a driver in bench/ (`python
bench/servers/<script>.py ...`), so this folder is on its sys.path and it imports this module
by a plain `from process_setup import ...`. Rules that hold here:

- Only what a process does once, around the work it is measured on: nothing here runs per
  request, message or connection, so sharing it changes no number a benchmark reports.
- The file limit has two policies. A server takes all it may (`raise_nofile_limit`: the soft
  RLIMIT_NOFILE up to the hard one), as it cannot know how many connections a benchmark
  opens; a load client knows what it needs and says so if the hard limit is too low
  (`need_nofile_limit`, `NofileLimitError`), raising the soft limit only when it must.
- The asyncio scripts run on uvloop when it is importable, else on asyncio's own loop
  (bench/client.py, bench/dns.py and bench/ws.py say so when uvloop is missing).
"""

from __future__ import annotations

import asyncio
import resource
import signal
from collections.abc import Coroutine
from typing import Any


def raise_nofile_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class NofileLimitError(RuntimeError):
    """The hard RLIMIT_NOFILE is below the file descriptors a load client needs."""


def need_nofile_limit(needed: int) -> None:
    """Make room for `needed` file descriptors: the soft RLIMIT_NOFILE goes up to the hard
    limit if it is below `needed`, and stays as it is otherwise.

    Raises:
        NofileLimitError: the hard limit is below `needed`.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise NofileLimitError(
            f"RLIMIT_NOFILE hard limit {hard} < {needed} needed: raise it (ulimit -Hn) first"
        )
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop, or asyncio's own without uvloop (bench/ws.py says so)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def run_async(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to completion with `uvloop.run`, or `asyncio.run` without uvloop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def stop_on_signals() -> asyncio.Future[None]:
    """A future of the running loop that the first SIGTERM or SIGINT completes: a server
    awaits it, then shuts down."""
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()

    def on_signal() -> None:
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    return stop
