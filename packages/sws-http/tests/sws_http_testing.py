"""Test scaffolding shared by sws_http's and sws_ws's tests (a plain module: no tests here).

Test directories are not packages (pytest runs with --import-mode=importlib), so this file is
loaded by path, under its own name `sws_http_testing`, with its asserts rewritten by pytest:
by `packages/sws-http/tests/conftest.py` for every sws_http test, and by
`packages/sws-ws/tests/integration/conftest.py` (sws_ws depends on sws_http).

- Servers: `Servers(thread_name, served=Served, **loop_defaults).start(app, **loop_kw)`
  listens with `app.listen(loop, "127.0.0.1", 0)` BEFORE the loop thread starts (the ring is
  created inside `run()`, on the loop thread) and returns a `Served` (`.port`, `.loop`;
  `.call(fn, *args)` runs something on the IO thread and returns its result,
  `.wait_until(predicate, what)` waits for a condition checked there). `stop_all()` stops
  and joins every loop (bounded) and fails if a thread is still alive, `run()` raised, or a
  slot is still live.
- Raw clients: `RawClient` is a blocking socket with a timeout and a buffer that reads HTTP
  response heads by hand; `RawClients(kind).connect(port)` opens them, `close_all()` closes
  them.
- Parser tests: events as comparable tuples (`norm_request`, `norm_response`, `data`,
  `eom`), `merge_data`, and bounded drivers (`pull`, `drain`, `feed_byte_by_byte`,
  `parse_fed`, `feed_pieces`, `split_at`); for the property tests, the hypothesis
  strategies both parsers' generators build on (`tokens`, `fields`, `ows`, `mutated`, ...).
"""

from __future__ import annotations

import socket
import string
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import hypothesis.strategies as st

from sws_core import Loop
from sws_http import Server
from sws_http._protocol import HttpProtocol
from sws_http.proto import (
    NEED_DATA,
    Data,
    EndOfMessage,
    InformationalResponse,
    ProtocolError,
    Request,
    Response,
)

WAIT_S = 10.0  # the bound on every socket read and event wait
JOIN_S = 20.0  # a graceful stop (its grace period is 10 s), plus worker threads finishing


# --- the server side --------------------------------------------------------------------------


@dataclass
class Served:
    """An app served by a loop on its own thread."""

    loop: Loop
    port: int
    thread: threading.Thread
    errors: list[BaseException] = field(default_factory=list)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` on the IO thread (through `invoke`) and return its result."""
        done = threading.Event()
        out: list[Any] = []

        def run() -> None:
            try:
                out.append(fn(*args))
            except BaseException as exc:  # handed to the test thread, re-raised there
                out.append(exc)
            done.set()

        self.loop.invoke(run)
        assert done.wait(WAIT_S), f"the loop did not run {fn!r} within {WAIT_S} s"
        if isinstance(out[0], BaseException):
            raise out[0]
        return out[0]

    def wait_until(
        self, predicate: Callable[[], bool], what: str, timeout_s: float = WAIT_S
    ) -> None:
        """Wait until `predicate()`, evaluated on the IO thread, is true (at most
        `timeout_s`)."""
        done = threading.Event()
        gave_up = threading.Event()

        def check() -> None:
            if predicate():
                done.set()
            elif not gave_up.is_set():
                self.loop.invoke(check)  # again next turn: no polling from the test

        self.loop.invoke(check)
        ok = done.wait(timeout_s)
        gave_up.set()
        assert ok, f"{what}: not true within {timeout_s} s"


class Servers:
    """Apps served on 127.0.0.1:0 by loops of their own threads (named `thread_name`), made
    as `served` (a `Served`); every `Loop` gets `handle_signals=False` and `loop_defaults`
    unless `start` says otherwise."""

    def __init__(
        self, thread_name: str, served: type[Served] = Served, **loop_defaults: Any
    ) -> None:
        self.thread_name = thread_name
        self.served = served
        self.loop_defaults = {"handle_signals": False, **loop_defaults}
        self.started: list[Served] = []

    def start(self, app: Any, **loop_kw: Any) -> Served:
        """Start a loop serving `app` (anything with `listen(loop, host, port)`)."""
        loop = Loop(**{**self.loop_defaults, **loop_kw})
        listener = app.listen(loop, "127.0.0.1", 0)  # before run(): ring made on its thread
        errors: list[BaseException] = []

        def run() -> None:
            try:
                loop.run()
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        served = self.served(loop, listener.port, thread, errors)
        self.started.append(served)
        thread.start()
        return served

    def stop_all(self) -> None:
        """Stop every loop, then join each and check it left nothing behind."""
        for served in self.started:
            served.loop.stop()
        problems = []
        for served in self.started:  # every loop joined and checked, whatever failed first
            served.thread.join(JOIN_S)
            if served.thread.is_alive():
                problems.append(f"loop thread still running {JOIN_S} s after stop")
                continue
            if served.errors:
                problems.append(f"loop.run() raised {served.errors!r}")
            if (live := served.loop.statistics().slots_live) != 0:
                problems.append(f"{live} slots still live after the loop stopped")
        assert not problems, problems


# --- the raw client side ----------------------------------------------------------------------


class RawClient:
    """A blocking socket with a timeout and a buffer, reading responses by hand."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError(f"EOF with {len(self.buf)} bytes buffered: {self.buf[:200]!r}")
        self.buf += data

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _read_head(self) -> tuple[bytes, list[str], list[tuple[str, str]]]:
        """The next response head, as its bytes, its status line split at the first two
        spaces (the version asserted to be HTTP/1.1) and its fields (names lower-cased, in
        order); what follows it stays in the buffer."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status_line = lines[0].split(" ", 2)
        assert status_line[0] == "HTTP/1.1", lines[0]
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.lower(), value.strip()))
        return head, status_line, headers

    def closed_by_peer(self) -> bool:
        """Whether the server closed: recv returns b"" (nothing else buffered or pending)."""
        if self.buf:
            return False
        try:
            return self.sock.recv(65536) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


C = TypeVar("C", bound=RawClient)


class RawClients(Generic[C]):
    """Raw clients of one `kind`, every one closed by `close_all`."""

    def __init__(self, kind: Callable[[socket.socket], C]) -> None:
        self.kind = kind
        self.all: list[C] = []

    def connect(self, port: int, timeout: float = WAIT_S, *, rcvbuf: int | None = None) -> C:
        """A client connected to 127.0.0.1:`port`; `rcvbuf` sets its SO_RCVBUF."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client = self.kind(sock)
        self.all.append(client)
        if rcvbuf is not None:  # before connect: the window is negotiated on the SYN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", port))
        return client

    def close_all(self) -> None:
        for client in self.all:
            client.close()
        self.all.clear()


# --- HttpProtocol over a stand-in connection ----------------------------------------------------


class FakeLoop:
    """What HttpProtocol reads of a Loop."""

    now = 0.0
    stopping = False

    @property
    def wall(self) -> float:
        return time.time()  # a Loop reads it once a turn


class RecordingConn:
    """What HttpProtocol uses of a Conn; `writes` records every write."""

    state = 0  # OPEN
    peer = ("127.0.0.1", 1)
    idle_timeout_s: float | None = None

    def __init__(self) -> None:
        self.loop = FakeLoop()
        self.writes: list[bytes] = []
        self.protocol: Any = None
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True
        self.state = 1


def connect(app: Server) -> tuple[RecordingConn, HttpProtocol]:
    """An HttpProtocol serving `app` on a new RecordingConn."""
    conn = RecordingConn()
    protocol = HttpProtocol(app, conn)  # type: ignore[arg-type]
    conn.protocol = protocol
    return conn, protocol


# --- parser tests -----------------------------------------------------------------------------

Event = tuple[Any, ...]


def norm_request(event: Any) -> Event:
    """A `RequestParser` event as a comparable tuple (`Request` compares by identity)."""
    if isinstance(event, Request):
        return (
            "request",
            event.method,
            event.target,
            event.path,
            event.query,
            event.http_version,
            event.headers.items(),
            event.host,
            event.keep_alive,
            event.content_length,
            event.chunked,
            event.expect_continue,
        )
    return _norm_body(event)


def norm_response(event: Any) -> Event:
    """A `ResponseParser` event as a comparable tuple (the head events compare by
    identity)."""
    if isinstance(event, Response):
        return (
            "response",
            event.status,
            event.reason,
            event.http_version,
            event.headers.items(),
            event.keep_alive,
            event.content_length,
        )
    if isinstance(event, InformationalResponse):
        return ("info", event.status, event.reason, event.http_version, event.headers.items())
    return _norm_body(event)


def _norm_body(event: Any) -> Event:
    if isinstance(event, Data):
        return ("data", event.data)
    assert isinstance(event, EndOfMessage), event
    return ("eom", event.trailers.items())


def data(b: bytes) -> Event:
    return ("data", b)


def eom(trailers: list[tuple[str, str]] | None = None) -> Event:
    return ("eom", trailers or [])


def merge_data(events: list[Event]) -> list[Event]:
    """Concatenate consecutive Data events (how a body is split is not part of the contract)."""
    out: list[Event] = []
    for event in events:
        if event[0] == "data" and out and out[-1][0] == "data":
            out[-1] = ("data", out[-1][1] + event[1])
        else:
            out.append(event)
    return out


def pull(parser: Any, norm: Callable[[Any], Event], *, nonempty: bool = False) -> Iterator[Event]:
    """Each event until NEED_DATA, as `norm` makes it, bounded (the parser must never spin);
    with `nonempty`, a Data event must carry bytes."""
    for _ in range(10_000):
        event = parser.next_event()
        if event is NEED_DATA:
            return
        if nonempty and isinstance(event, Data):
            assert event.data, "empty Data event"
        yield norm(event)
    raise AssertionError("next_event never returned NEED_DATA")


def drain(parser: Any, norm: Callable[[Any], Event], *, nonempty: bool = False) -> list[Event]:
    """Every event until NEED_DATA (see `pull`)."""
    return list(pull(parser, norm, nonempty=nonempty))


def feed_byte_by_byte(
    parser: Any, raw: bytes, norm: Callable[[Any], Event], *, nonempty: bool = False
) -> list[Event]:
    """Feed one byte at a time, draining after each; return the merged events."""
    events = []
    for i in range(len(raw)):
        parser.feed(raw[i : i + 1])
        events += drain(parser, norm, nonempty=nonempty)
    return merge_data(events)


def parse_fed(
    parser: Any, norm: Callable[[Any], Event]
) -> tuple[list[Event], ProtocolError | None]:
    """The merged events of what `parser` was fed (see `pull`), and the ProtocolError that
    ended them, or None."""
    events: list[Event] = []
    try:
        for event in pull(parser, norm):
            events.append(event)
    except ProtocolError as exc:
        return merge_data(events), exc
    return merge_data(events), None


def feed_pieces(
    parser: Any,
    pieces: list[bytes],
    norm: Callable[[Any], Event],
    *,
    eof: bool = True,
    drain_after_eof: bool = True,
) -> tuple[list[Event], ProtocolError | None]:
    """Feed the pieces in order, draining after each, then EOF if `eof` (draining again if
    `drain_after_eof`); return the merged events and the ProtocolError that ended them, or
    None. A Data event must carry bytes. Bounded: each event consumes input or ends a
    message."""
    events: list[Event] = []
    budget = 2 * sum(len(p) for p in pieces) + 10

    def drain_now() -> None:
        nonlocal budget
        while (event := parser.next_event()) is not NEED_DATA:
            if isinstance(event, Data):
                assert event.data, "empty Data event"
            events.append(norm(event))
            budget -= 1
            assert budget >= 0, "next_event does not reach NEED_DATA"

    try:
        for piece in pieces:
            parser.feed(piece)
            drain_now()
        if eof:
            parser.feed_eof()
            if drain_after_eof:
                drain_now()
    except ProtocolError as exc:
        return merge_data(events), exc
    return merge_data(events), None


def split_at(raw: bytes, cuts: list[int]) -> list[bytes]:
    """`raw` cut at each of `cuts` (taken modulo its length plus one), in order."""
    points = sorted({c % (len(raw) + 1) for c in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(raw[start:point])
        start = point
    pieces.append(raw[start:])
    return pieces


# --- generated input (hypothesis) -------------------------------------------------------------

TOKEN_CHARS = "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
VCHARS = "".join(chr(c) for c in range(0x21, 0x7F)) + "".join(chr(c) for c in range(0x80, 0x100))
SPECIAL = {"host", "content-length", "transfer-encoding", "connection", "expect"}

tokens = st.text(TOKEN_CHARS, min_size=1, max_size=10)
field_names = tokens.filter(lambda n: n.lower() not in SPECIAL)
field_values = st.lists(st.text(VCHARS, min_size=1, max_size=8), max_size=3).map(" ".join)
ows = st.sampled_from(["", " ", "\t", "  ", " \t"])
fields = st.lists(st.tuples(field_names, field_values), max_size=5)
# Fields for `response_head`, which writes Server and Date itself.
response_fields = st.lists(
    st.tuples(field_names, field_values).filter(lambda f: f[0].lower() not in {"server", "date"}),
    max_size=5,
)
cut_lists = st.lists(st.integers(0, 10_000), max_size=12)


@st.composite
def mutated(draw: st.DrawFn, raw: bytes) -> bytes:
    """A few byte-level mutations: flip, insert, delete, truncate, insert a special byte."""
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "special"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=3))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 3))]
        elif op == "truncate":
            del data[at:]
        else:
            special = [b"\r", b"\n", b"\x00", b" ", b"\t", b":", b"\r\n", b";", b",", b"0"]
            data[at:at] = draw(st.sampled_from(special))
    return bytes(data)
