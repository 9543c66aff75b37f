"""`GracefulStop`: how a loop stops, as a small state machine.

requested (by `Loop.stop`, from any thread or a signal handler) -> begun (the loop thread
noticed: listeners stop accepting, protocols with `shutdown_requested` are told, the grace
period starts) -> connections close as they go quiet -> aborted (the grace period ran out:
every connection left is aborted) -> finished (no connection, no ready fiber, no armed
accept; or 5 s after the abort, when the loop gives up and tears down anyway).

"Quiet" (`Conn.is_quiet`) means nothing queued or in flight to write, no unread input, no
traffic for `QUIET_S`, and its handler fiber, if any, parked on receive: closing it then
cuts no exchange in the middle.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

from sws_core._conn import CLOSED, FREED, OPEN
from sws_core._errors import Cancelled

if TYPE_CHECKING:
    from sws_core._loop import Loop

log = logging.getLogger("sws_core")

QUIET_S: Final = 0.2  # during a stop, a connection silent this long is closed as idle
GIVE_UP_S: Final = 5.0  # after the abort, how long closes may take before teardown


class GracefulStop:
    """The stop state of one loop."""

    __slots__ = ("aborted", "begun", "deadline", "loop", "requested")

    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self.requested = False
        self.begun = False
        self.aborted = False
        self.deadline = 0.0

    def begin(self) -> None:
        """Stop accepting, tell protocols that want to know, start the grace period."""
        loop = self.loop
        self.begun = True
        self.deadline = loop.now + loop.grace_s
        for listener in loop._listeners:
            listener.close()
        for slot in loop._pool.live():
            conn = loop._conns[slot]
            shutdown = getattr(conn.protocol, "shutdown_requested", None) if conn else None
            if conn is None or conn.state != OPEN or shutdown is None:
                continue
            try:
                shutdown()
            except Exception as exc:
                log.exception("shutdown_requested of %r raised", conn)
                conn.abort(exc)

    def close_quiet_connections(self) -> None:
        """Close the connections that have gone quiet; a peer still streaming keeps its
        connection until it pauses or the grace period ends."""
        loop = self.loop
        now = loop.now
        for slot in loop._pool.live():
            conn = loop._conns[slot]
            if conn is None or conn.state != OPEN:
                continue
            if getattr(conn.protocol, "shutdown_requested", None) is None and conn.is_quiet(
                now, QUIET_S
            ):
                conn.close()

    def finished(self) -> bool:
        """Whether the loop may tear down; aborts what is left once the grace is over."""
        if not self.begun:
            return False
        loop = self.loop
        busy = bool(len(loop._pool) or loop._ready)
        busy = busy or any(listener.accept_armed for listener in loop._listeners)
        if not busy:
            return True
        if loop.now >= self.deadline and not self.aborted:
            log.warning(
                "grace period of %s s over: aborting %d connections", loop.grace_s, len(loop._pool)
            )
            self.abort_all()
        if loop.now >= self.deadline + GIVE_UP_S:
            log.error("connections still closing %s s after the grace period", GIVE_UP_S)
            return True
        return False

    def abort_all(self) -> None:
        """Abort every connection still open."""
        self.aborted = True
        loop = self.loop
        for slot in loop._pool.live():
            conn = loop._conns[slot]
            if conn is not None and conn.state not in (CLOSED, FREED):
                conn.abort(Cancelled("the loop stopped"))

    def __repr__(self) -> str:
        state = "aborted" if self.aborted else "begun" if self.begun else "requested"
        return f"<GracefulStop {state if self.requested else 'idle'}>"


def install_signal_handlers(loop: Loop) -> dict[int, Any]:
    """On the main thread, make SIGINT and SIGTERM call `loop.stop()`; return the old
    handlers for `restore_signal_handlers` (nothing is installed on other threads)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping gracefully", signum)
        loop.stop()

    return {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}


def restore_signal_handlers(old: dict[int, Any]) -> None:
    """Put back the handlers `install_signal_handlers` replaced."""
    for sig, handler in old.items():
        signal.signal(sig, handler)
