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


# --- repeated responses ---------------------------------------------------------------------------


def test_repeated_responses_keep_their_own_heads(
    serve: Callable[..., Any], make_app: Callable[..., Any], clients: Any
) -> None:
    # Response heads are remembered for the rest of the second: each one must still carry
    # its own status, fields, length and connection option.
    app = make_app()

    @app.get("/h")
    def h(ctx: Context) -> None:
        ctx.text(ctx.query.get("body") or "", status=int(ctx.query.get("status") or 200))
        for name in ctx.query.get_all("name"):
            ctx.header(name, ctx.query.get("value") or "")

    @app.get("/listed")
    def listed(ctx: Context) -> None:
        ctx.response_headers = [["x-list", "1"]]  # type: ignore[list-item]  # any pairs
        ctx.text("l")

    @app.get("/static")
    def static(ctx: Context) -> None:
        ctx.params["seen"] = "yes"  # a static route's params are this request's alone
        ctx.json(ctx.params)

    port = serve(app).port
    c = clients.connect(port)
    for _ in range(2):
        r = c.request(get("/h?body=ab&name=x-a&value=1"))
        assert (r.status, r.body, r.header("x-a"), r.header("content-length")) == (
            200,
            b"ab",
            "1",
            "2",
        )
        r = c.request(get("/h?body=ab&name=x-a&value=2"))
        assert r.header("x-a") == "2"
        r = c.request(get("/h?body=abc&name=x-b&status=201"))
        assert (r.status, r.header("x-a"), r.header("x-b"), r.body) == (201, None, "", b"abc")
        r = c.request(get("/h?body=%0d&name=x-c&value=%0d%0a"))  # refused every time
        assert r.status == 500
        c = clients.connect(port)
        assert c.request(get("/listed")).header("x-list") == "1"
        assert json.loads(c.request(get("/static")).body) == {"seen": "yes"}
    c.send(get("/h?body=ab&name=x-a&value=1", "Connection: close"))
    r = c.read_response()
    assert (r.header("connection"), r.header("x-a"), r.body) == ("close", "1", b"ab")
    assert c.closed_by_peer()
