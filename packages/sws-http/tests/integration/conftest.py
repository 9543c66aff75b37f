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
helpers are fixtures and the objects they return. What sws_ws's integration tests share with
these (`Served`, the loops' start and checked stop, the raw socket client) is in
`../sws_http_testing.py`, loaded by `../conftest.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sws_http_testing as testing  # loaded by ../conftest.py
from sws_http_testing import WAIT_S, Served

from sws_core import Op, sleep, to_worker
from sws_http import Context, Server

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


# --- the server side --------------------------------------------------------------------------


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
    servers = testing.Servers("sws-http-loop", workers=2)
    yield servers.start
    servers.stop_all()


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


class Client(testing.RawClient):
    """A raw HTTP/1.1 client: a blocking socket with a timeout and a buffer."""

    def read_head(self) -> Response:
        """One response head (interim 1xx included); the body is left in the buffer."""
        head, (_, status, reason), headers = self._read_head()
        return Response(int(status), reason, headers, b"", head)

    def read_response(self, *, head_request: bool = False) -> Response:
        """A whole final response, framed by Content-Length (no body for HEAD/1xx/204/304)."""
        resp = self.read_head()
        if head_request or resp.status < 200 or resp.status in (204, 304):
            return resp
        assert resp.header("transfer-encoding") is None
        resp.body = self._take(int(resp.header("content-length") or "0"))
        return resp

    def request(self, data: bytes, *, head_request: bool = False) -> Response:
        self.send(data)
        return self.read_response(head_request=head_request)


@pytest.fixture
def clients(serve: Callable[..., Served]) -> Iterator[testing.RawClients[Client]]:
    """Raw clients, closed before the loops stop (so a stop never waits on them)."""
    c = testing.RawClients(Client)
    yield c
    c.close_all()
