"""Fixtures for sws_ws's integration tests: a real loop on 127.0.0.1, port 0.

- `serve(app, **loop_kw)` listens with `app.listen(loop, "127.0.0.1", 0)` BEFORE the loop
  thread starts (the ring is created inside `run()`, on the loop thread) and returns a
  `Served` (`.port`, `.loop`, `.url(path)`; `.call(fn, *args)` runs something on the IO
  thread and returns its result, `.wait_until(predicate, what)` waits for a condition
  checked there, such as `app.subscribers(topic) == 2`). At teardown every loop is stopped
  and joined (bounded); the test fails if the thread is still alive, `run()` raised, or a
  slot is still live.
- `ws_clients.connect(url, **kw)` opens a `websockets` sync client (no proxy, no client
  keepalive pings unless asked); `raw.connect(port)` a blocking socket that speaks
  WebSocket frames by hand (`RawWs`, for malformed handshakes and frames). Both are
  closed before the loops stop (their fixtures depend on `serve`), and the root conftest
  fails any test that leaks a file descriptor.
- `record` is a thread-safe `Record` the handlers append to and the test waits on (no
  sleeps in the tests: every wait is for a condition, bounded by `WAIT_S`).

The frame codec here is written from RFC 6455 §5.2, not imported from `sws_ws.proto`, so
a test does not trust the code under test to build its own input.

Test modules cannot import this file (pytest runs with --import-mode=importlib), so the
helpers are fixtures and the objects they return. What they share with sws_http's integration
tests (`Served`, the loops' start and checked stop, the raw socket client) is sws_http's
`tests/sws_http_testing.py`, loaded here by path (see `_load_testing`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect


def _load_testing() -> Any:
    """sws_http's `tests/sws_http_testing.py`, imported once with its asserts rewritten like a
    test module's (`packages/sws-http/tests/conftest.py` does the same when sws_http's tests
    run too; this one serves when sws_ws's run alone)."""
    name = "sws_http_testing"
    if name not in sys.modules:
        pytest.register_assert_rewrite(name)
        where = [str(Path(__file__).resolve().parents[3] / "sws-http" / "tests")]
        spec = next(s for f in sys.meta_path if (s := f.find_spec(name, where)))  # pytest's first
        module = sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules[name]


testing = _load_testing()
WAIT_S = testing.WAIT_S  # the bound on every socket read and event wait

# A valid Sec-WebSocket-Key (RFC 6455 §4.1: base64 of 16 bytes) and its accept value.
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


# --- the server side --------------------------------------------------------------------------


class Served(testing.Served):
    """An app served by a loop on its own thread; `url(path)` is its WebSocket URL."""

    def url(self, path: str = "/") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """Factory: `serve(app, **loop_kw)` starts a loop serving `app` on 127.0.0.1:0."""
    servers = testing.Servers("sws-ws-loop", Served)
    yield servers.start
    servers.stop_all()


class Record:
    """What the handlers saw, appended from the IO thread and awaited by the test."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, ...]] = []
        self._cond = threading.Condition()

    def add(self, *item: Any) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        """The items whose first field is `kind`, without it."""
        with self._cond:
            return [item[1:] for item in self.items if item[0] == kind]

    def wait(self, kind: str, count: int = 1) -> list[tuple[Any, ...]]:
        """Wait until `count` items of `kind` were added; return them (all of that kind)."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: sum(1 for item in self.items if item[0] == kind) >= count, WAIT_S
            )
        assert ok, f"{count} {kind!r} not seen within {WAIT_S} s; seen: {self.items!r}"
        return self.of(kind)


@pytest.fixture
def record() -> Record:
    return Record()


# --- the websockets client --------------------------------------------------------------------


class WsClients:
    """`websockets` sync clients, every one closed at teardown."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()

    def connect(self, url: str, **kw: Any) -> ClientConnection:
        kw.setdefault("proxy", None)
        kw.setdefault("open_timeout", WAIT_S)
        kw.setdefault("close_timeout", WAIT_S)
        kw.setdefault("ping_interval", None)  # the tests decide who pings
        return self._stack.enter_context(ws_connect(url, **kw))

    def close_all(self) -> None:
        self._stack.close()


@pytest.fixture
def ws_clients(serve: Callable[..., Served]) -> Iterator[WsClients]:
    """websockets clients, closed before the loops stop."""
    clients = WsClients()
    yield clients
    clients.close_all()


# --- the raw client ---------------------------------------------------------------------------


@dataclass
class Head:
    """An HTTP response head (and, when it had one, its body)."""

    status: int
    headers: list[tuple[str, str]]  # names lower-cased, in order
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for n, v in self.headers:
            if n == name.lower():
                return v
        return None


@dataclass
class Frame:
    fin: bool
    rsv1: bool
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int:
        assert self.opcode == 0x8, self
        return int(struct.unpack("!H", self.payload[:2])[0])

    @property
    def close_reason(self) -> str:
        return self.payload[2:].decode()


def encode_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv1: bool = False,
    mask: bool = True,
    length: int | None = None,
) -> bytes:
    """A client frame (RFC 6455 §5.2); `length` overrides the announced payload length."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    m = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def upgrade_request(
    path: str = "/echo",
    *,
    method: str = "GET",
    version: str = "1.1",
    skip: tuple[str, ...] = (),
    **extra: str,
) -> bytes:
    """A WebSocket upgrade request; `skip` drops default fields, `extra` adds or replaces
    them (`sec_websocket_key="x"` becomes `sec-websocket-key: x`)."""
    fields = {
        "host": "t",
        "upgrade": "websocket",
        "connection": "Upgrade",
        "sec-websocket-key": KEY,
        "sec-websocket-version": "13",
    }
    for name in skip:
        del fields[name]
    fields.update({name.replace("_", "-"): value for name, value in extra.items()})
    lines = [f"{method} {path} HTTP/{version}", *(f"{n}: {v}" for n, v in fields.items()), "", ""]
    return "\r\n".join(lines).encode()


class RawWs(testing.RawClient):
    """A blocking socket with a timeout, speaking HTTP and WebSocket frames by hand."""

    def read_head(self, *, body: bool = True) -> Head:
        """A response head; with `body`, a body framed by Content-Length is read too."""
        _, (_, status, *_), headers = self._read_head()
        resp = Head(int(status), headers)
        if body and resp.status != 101:
            resp.body = self._take(int(resp.header("content-length") or "0"))
        return resp

    def send_upgrade(self, path: str = "/echo", **kw: Any) -> None:
        """Send an upgrade request (`upgrade_request`'s arguments)."""
        self.send(upgrade_request(path, **kw))

    def handshake(self, path: str = "/echo", **extra: str) -> Head:
        """Upgrade; assert the 101 and its accept value."""
        self.send_upgrade(path, **extra)
        resp = self.read_head()
        assert resp.status == 101, resp
        assert resp.header("sec-websocket-accept") == ACCEPT
        return resp

    def send_frame(self, opcode: int, payload: bytes = b"", **kw: Any) -> None:
        self.send(encode_frame(opcode, payload, **kw))

    def send_frames(self, *frames: tuple[int, bytes]) -> None:
        """Masked final frames `(opcode, payload)`, in one write (so, likely, one read)."""
        self.send(b"".join(encode_frame(opcode, payload) for opcode, payload in frames))

    def read_frame(self) -> Frame:
        """One server frame; asserts it is unmasked (RFC 6455 §5.1)."""
        b0, b1 = self._take(2)
        assert not b1 & 0x80, "a server frame is never masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._take(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8))[0]
        return Frame(bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, self._take(n))

    def read_until_close(self) -> Frame:
        """Skip data frames and pings up to the server's close frame; return it."""
        while True:
            frame = self.read_frame()
            if frame.opcode == 0x8:
                return frame


@pytest.fixture
def raw(serve: Callable[..., Served]) -> Iterator[testing.RawClients[RawWs]]:
    """Raw clients (`connect(port, *, rcvbuf=None)`), closed before the loops stop (so a stop
    never waits on them)."""
    clients = testing.RawClients(RawWs)
    yield clients
    clients.close_all()
