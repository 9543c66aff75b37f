"""sws_core: the IO-thread runtime of sws, on io_uring.

One `Loop` owns one ring and runs on one thread. Connections live in a preallocated slot
pool; reads are multishot receives into a shared provided-buffer ring; writes are queued,
bounded and sent through the ring. Handlers are plain callbacks (`TcpProtocol`) or fibers:
generators and `async def` coroutines that wait on typed ops:

    def echo(conn):
        while data := (yield from conn.receive()):
            yield from conn.send(data)

    loop = Loop()
    loop.listen("127.0.0.1", 8080, handler=echo)
    loop.run()          # SIGINT / SIGTERM stop it gracefully

Other threads reach the loop only through `loop.invoke(fn, *args)` and `loop.stop()`;
blocking work goes to worker threads with `loop.submit(fn, *args)` or, in a fiber,
`result = yield from to_worker(fn, *args)`.
"""

from sws_core._conn import Conn, TcpProtocol
from sws_core._errors import (
    BrokenResourceError,
    BusyResourceError,
    Cancelled,
    ClosedResourceError,
    InternalError,
    InvokeQueueFullError,
    NoWorkerPoolError,
    error_from_res,
)
from sws_core._fiber import Event, Fiber
from sws_core._listener import Listener
from sws_core._loop import DEFAULT_GRACE_S, IO_QUANTUM, Loop, LoopStatistics, current_loop
from sws_core._ops import (
    Connect,
    Op,
    Receive,
    Send,
    Sleep,
    ToWorker,
    WaitEvent,
    connect,
    sleep,
    to_worker,
)
from sws_core._pipe import Pipe
from sws_core._ringop import Datagram, RingOp, ring_op
from sws_core._slots import SlotPool, pack_user_data, unpack_user_data
from sws_core._timers import Timer

__all__ = [
    "DEFAULT_GRACE_S",
    "IO_QUANTUM",
    "BrokenResourceError",
    "BusyResourceError",
    "Cancelled",
    "ClosedResourceError",
    "Conn",
    "Connect",
    "Datagram",
    "Event",
    "Fiber",
    "InternalError",
    "InvokeQueueFullError",
    "Listener",
    "Loop",
    "LoopStatistics",
    "NoWorkerPoolError",
    "Op",
    "Pipe",
    "Receive",
    "RingOp",
    "Send",
    "Sleep",
    "SlotPool",
    "TcpProtocol",
    "Timer",
    "ToWorker",
    "WaitEvent",
    "connect",
    "current_loop",
    "error_from_res",
    "pack_user_data",
    "ring_op",
    "sleep",
    "to_worker",
    "unpack_user_data",
]
