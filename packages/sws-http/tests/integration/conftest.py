"""Fixtures for sws_http's integration tests: a real loop on 127.0.0.1, port 0.

- `serve(app, **loop_kw)` listens with `app.listen(loop, "127.0.0.1", 0)` BEFORE the loop
  thread starts (the ring is created inside `run()`, on the loop thread) and returns a
  `Served` (`.port`, `.loop`). At teardown every loop is stopped and joined (bounded); the
  test fails if the thread is still alive, `run()` raised, or a slot is still live.
- `app` is the test application (`build_app`), `port` serves it, `demo_port` serves
  `sws_http.demo.app` (the conformance contract).
- `clients.connect(port)` opens a blocking `Client` (raw socket with a timeout and a small
  response reader); every client is closed before the loops stop (the fixture depends on
  `serve`), and the root conftest fails any test that leaks a file descriptor.
- `state` is a per-test dict of `threading.Event`s the app's handlers use to tell the test
  where they are (no sleeps in the tests).

Test modules cannot import this file (pytest runs with --import-mode=importlib), so the
helpers are fixtures and the objects they return.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from sws_core import Loop, Op, sleep, to_worker
from sws_http import Context, Server

WAIT_S = 10.0  # the bound on every socket read and event wait
JOIN_S = 20.0  # a graceful stop, plus worker threads finishing
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


# --- the server side --------------------------------------------------------------------------


@dataclass
class Served:
    """An app served by a loop on its own thread."""

    loop: Loop
    port: int
    thread: threading.Thread
    errors: list[BaseException] = field(default_factory=list)


def build_app(state: dict[str, threading.Event], **limits: Any) -> Server:
    """The application most tests talk to."""
    app = Server(**limits)

    @app.get("/")
    def root(ctx: Context) -> None:
        ctx.text("root")

    @app.route("/echo", methods=ANY_METHOD)
    def echo(ctx: Context) -> None:
        ctx.json(
            {
                "method": ctx.method,
                "path": ctx.path,
                "query": ctx.query.to_dict(),
                "content_type": ctx.headers.get("content-type"),
                "body": ctx.body.decode("latin-1"),
            }
        )

    @app.route("/items/{id}", methods=["GET", "PUT", "DELETE"])
    def item(ctx: Context) -> None:
        ctx.json({"id": ctx.params["id"], "method": ctx.method, "body": ctx.text_body})

    @app.get("/users/{user}/posts/{post}")
    def post(ctx: Context) -> None:
        ctx.json(ctx.params)

    @app.get("/static/{rest:path}")
    def static(ctx: Context) -> None:
        ctx.text(f"static:{ctx.params['rest']}")

    @app.get("/seq/{i}")
    def seq(ctx: Context) -> None:
        ctx.text(f"seq {ctx.params['i']}")

    @app.get("/slowseq/{i}")
    def slowseq(ctx: Context) -> Generator[Op, Any, None]:
        yield from sleep(0.01)
        ctx.text(f"slow {ctx.params['i']}")

    @app.get("/async")
    async def asynchronous(ctx: Context) -> None:
        await sleep(0.01)
        ctx.json({"async": True, "q": ctx.query.get("q")})

    @app.get("/boom")
    def boom(ctx: Context) -> None:
        raise RuntimeError("secret-detail-do-not-leak")

    @app.get("/boom-gen")
    def boom_gen(ctx: Context) -> Generator[Op, Any, None]:
        yield from sleep(0.001)
        raise RuntimeError("secret-detail-do-not-leak")

    @app.route("/nothing", methods=["GET", "POST"])
    def nothing(ctx: Context) -> None:
        return None

    @app.get("/bad-header")
    def bad_header(ctx: Context) -> None:
        ctx.text("x")
        ctx.header("x-bad", "a\r\nx-injected: 1")

    @app.get("/redirect")
    def redirect(ctx: Context) -> None:
        ctx.redirect("/", 303)

    @app.get("/worker")
    def worker(ctx: Context) -> Generator[Op, Any, None]:
        def blocking() -> str:
            state["worker_started"].set()
            ok = state["worker_release"].wait(WAIT_S)
            return "released" if ok else "timed out"

        result = yield from to_worker(blocking)
        ctx.text(f"worker {result}")

    @app.get("/sleep")
    def slow(ctx: Context) -> Generator[Op, Any, None]:
        state["sleep_started"].set()
        yield from sleep(0.2)
        ctx.text("slept " + "z" * 1000)

    return app


@pytest.fixture
def state(serve: Callable[..., Served]) -> Iterator[dict[str, threading.Event]]:
    """Events shared with the handlers; set up after (so torn down before) the loops."""
    events = {
        name: threading.Event() for name in ("worker_started", "worker_release", "sleep_started")
    }
    yield events
    events["worker_release"].set()  # never leave a worker thread blocked


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """Factory: `serve(app, **loop_kw)` starts a loop serving `app` on 127.0.0.1:0."""
    started: list[Served] = []

    def start(app: Server, **loop_kw: Any) -> Served:
        loop_kw.setdefault("handle_signals", False)
        loop_kw.setdefault("workers", 2)
        loop = Loop(**loop_kw)
        listener = app.listen(loop, "127.0.0.1", 0)  # before run(): ring made on its thread
        errors: list[BaseException] = []

        def run() -> None:
            try:
                loop.run()
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run, name="sws-http-loop", daemon=True)
        served = Served(loop, listener.port, thread, errors)
        started.append(served)
        served.thread.start()
        return served

    yield start

    for served in started:
        served.loop.stop()
    for served in started:
        served.thread.join(JOIN_S)
        assert not served.thread.is_alive(), f"loop thread still running {JOIN_S} s after stop"
        assert not served.errors, f"loop.run() raised {served.errors!r}"
        assert served.loop.statistics().slots_live == 0


@pytest.fixture
def app(state: dict[str, threading.Event]) -> Server:
    return build_app(state)


@pytest.fixture
def served(serve: Callable[..., Served], app: Server) -> Served:
    return serve(app)


@pytest.fixture
def port(served: Served) -> int:
    return served.port


@pytest.fixture
def demo_port(serve: Callable[..., Served]) -> int:
    from sws_http.demo import app as demo_app

    return serve(demo_app).port


@pytest.fixture
def make_app(state: dict[str, threading.Event]) -> Callable[..., Server]:
    """`make_app(**limits)`: a fresh test app with other limits."""
    return lambda **limits: build_app(state, **limits)


# --- the client side --------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]  # names lower-cased, in order
    body: bytes
    raw_head: bytes

    def header(self, name: str) -> str | None:
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name.lower()]


class Client:
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

    def read_head(self) -> Response:
        """One response head (interim 1xx included); the body is left in the buffer."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        version, status, reason = lines[0].decode("latin-1").split(" ", 2)
        assert version == "HTTP/1.1", lines[0]
        headers = []
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.lower(), value.strip()))
        return Response(int(status), reason, headers, b"", head)

    def read_response(self, *, head_request: bool = False) -> Response:
        """A whole final response, framed by Content-Length (no body for HEAD/1xx/204/304)."""
        resp = self.read_head()
        if head_request or resp.status < 200 or resp.status in (204, 304):
            return resp
        assert resp.header("transfer-encoding") is None
        length = int(resp.header("content-length") or "0")
        while len(self.buf) < length:
            self._fill()
        resp.body, self.buf = self.buf[:length], self.buf[length:]
        return resp

    def request(self, data: bytes, *, head_request: bool = False) -> Response:
        self.send(data)
        return self.read_response(head_request=head_request)

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


class Clients:
    def __init__(self) -> None:
        self.all: list[Client] = []

    def connect(self, port: int, timeout: float = WAIT_S) -> Client:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client = Client(sock)
        self.all.append(client)
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", port))
        return client

    def close_all(self) -> None:
        for client in self.all:
            client.close()
        self.all.clear()


@pytest.fixture
def clients(serve: Callable[..., Served]) -> Iterator[Clients]:
    """Raw clients, closed before the loops stop (so a stop never waits on them)."""
    c = Clients()
    yield c
    c.close_all()
