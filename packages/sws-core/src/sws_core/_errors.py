"""The errors of sws_core, in the three kinds the project keeps apart.

- Bugs: `InternalError` (and `assert`).
- Misuse: `ClosedResourceError` (our code closed it, or a stale connection id),
  `BusyResourceError` (two fibers on one direction of one connection),
  `NoWorkerPoolError`, `InvokeQueueFullError` (all `RuntimeError`s).
- Failures of the world: `BrokenResourceError` (the peer or the network broke it) and the
  `OSError` subclasses `error_from_res` makes out of a CQE's negative result.

`Cancelled` is a `BaseException`: it is thrown into a fiber whose connection was closed
under it, and ordinary `except Exception` blocks must not swallow it.
"""

from __future__ import annotations

import os


class InternalError(Exception):
    """A bug in sws_core: an invariant did not hold."""


class ClosedResourceError(RuntimeError):
    """The connection was closed by this side, or the id names a slot reused since."""


class BrokenResourceError(Exception):
    """The peer or the network broke the connection (reset, EOF while writing, timeout)."""


class BusyResourceError(RuntimeError):
    """Another fiber is already receiving (or sending) on this connection."""


class NoWorkerPoolError(RuntimeError):
    """Work was submitted to worker threads, but the loop was started without any."""


class InvokeQueueFullError(RuntimeError):
    """The cross-thread invoke queue is at its limit; the call was not queued."""


class Cancelled(BaseException):
    """Thrown into a fiber whose wait can no longer complete (its connection closed)."""


def error_from_res(res: int) -> OSError:
    """Turn a CQE's negative result into the matching `OSError` subclass.

    The one place in sws_core where `-errno` becomes an exception; `OSError(errno, msg)`
    already picks `ConnectionResetError`, `BrokenPipeError`, `TimeoutError`, ...

    Args:
        res: a negative CQE result.
    """
    if res >= 0:
        raise InternalError(f"error_from_res called with a success result {res}")
    return OSError(-res, os.strerror(-res))
