"""Handler kinds and middleware on a real loop: plain, generator (`to_worker`, `sleep`),
`async def`; middleware that answers early or adds headers; a graceful stop with a
request in flight."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Generator
from typing import Any

import pytest

from sws_core import Op, sleep
from sws_http import Context

pytestmark = pytest.mark.integration

WAIT_S = 10.0


def get(path: str, *extra: str) -> bytes:
    return "\r\n".join([f"GET {path} HTTP/1.1", "Host: t", *extra, "", ""]).encode()


# --- middleware -------------------------------------------------------------------------------


@pytest.fixture
def mw_port(serve: Callable[..., Any], make_app: Callable[..., Any]) -> int:
    app = make_app()
    seen: list[str] = []

    def timing(ctx: Context, call_next: Callable[[], Any]) -> Any:
        seen.append(ctx.path)
        result = call_next()
        ctx.header("x-after", f"status={ctx.status}")
        return result

    def auth(ctx: Context, call_next: Callable[[], Any]) -> Any:
        if ctx.headers.get("authorization") != "Bearer ok":
            ctx.text("unauthorized", status=401)
            ctx.header("www-authenticate", "Bearer")
            return None  # next() never called: the handler does not run
        return call_next()

    def fiber_aware(ctx: Context, call_next: Callable[[], Any]) -> Any:
        result = call_next()
        if not inspect.isgenerator(result):
            return result

        def wrapped() -> Generator[Op, Any, None]:
            yield from result
            ctx.header("x-fiber-after", ctx.response_body.decode())

        return wrapped()

    app.use(timing)
    app.use(auth)
    app.use(fiber_aware)

    @app.get("/secret")
    def secret(ctx: Context) -> None:
        ctx.text("the secret")

    @app.get("/secret-slow")
    def secret_slow(ctx: Context) -> Generator[Op, Any, None]:
        yield from sleep(0.01)
        ctx.text("slow secret")

    port: int = serve(app).port
    return port


def test_middleware_answers_early_without_calling_next(mw_port: int, clients: Any) -> None:
    c = clients.connect(mw_port)
    r = c.request(get("/secret"))
    assert (r.status, r.body) == (401, b"unauthorized")
    assert r.header("www-authenticate") == "Bearer"
    assert r.header("x-after") == "status=401"  # the outer middleware still ran after
    assert c.request(get("/secret", "Authorization: Bearer ok")).body == b"the secret"


def test_middleware_adds_a_header_after_next(mw_port: int, clients: Any) -> None:
    c = clients.connect(mw_port)
    r = c.request(get("/secret", "Authorization: Bearer ok"))
    assert (r.status, r.header("x-after")) == (200, "status=200")
    r = c.request(get("/missing", "Authorization: Bearer ok"))
    assert (r.status, r.header("x-after")) == (404, "status=404")  # wraps 404 too


def test_middleware_around_a_generator_handler(mw_port: int, clients: Any) -> None:
    c = clients.connect(mw_port)
    r = c.request(get("/secret-slow", "Authorization: Bearer ok"))
    assert (r.status, r.body) == (200, b"slow secret")
    assert r.header("x-fiber-after") == "slow secret"


# --- handler kinds ----------------------------------------------------------------------------


def test_async_handlers_on_many_connections(port: int, clients: Any) -> None:
    conns = [clients.connect(port) for _ in range(5)]
    for i, c in enumerate(conns):
        c.send(get(f"/async?q={i}"))
    for i, c in enumerate(conns):
        assert json.loads(c.read_response().body) == {"async": True, "q": str(i)}


def test_to_worker_handler_does_not_block_other_connections(
    port: int, clients: Any, state: Any
) -> None:
    slow = clients.connect(port)
    slow.send(get("/worker"))
    assert state["worker_started"].wait(WAIT_S)
    # The worker thread is blocked until this test releases it: the loop still serves.
    other = clients.connect(port)
    for i in range(3):
        assert other.request(get(f"/seq/{i}")).body == f"seq {i}".encode()
    assert other.request(get("/slowseq/7")).body == b"slow 7"
    state["worker_release"].set()
    r = slow.read_response()
    assert (r.status, r.body) == (200, b"worker released")
    assert slow.request(get("/")).body == b"root"  # the connection goes on after the fiber


# --- graceful stop ----------------------------------------------------------------------------


def test_graceful_stop_finishes_the_request_in_flight(
    served: Any, clients: Any, state: Any
) -> None:
    busy = clients.connect(served.port)
    idle = clients.connect(served.port)
    assert idle.request(get("/")).body == b"root"
    busy.send(get("/sleep"))
    assert state["sleep_started"].wait(WAIT_S)
    served.loop.stop()  # while the handler sleeps
    r = busy.read_response()
    assert (r.status, r.body) == (200, b"slept " + b"z" * 1000)
    assert r.header("connection") == "close"  # no more requests on it: the loop is stopping
    assert busy.closed_by_peer()
    assert idle.closed_by_peer()  # an idle keep-alive connection is closed at once
    served.thread.join(WAIT_S)
    assert not served.thread.is_alive()
    assert served.loop.statistics().slots_live == 0
