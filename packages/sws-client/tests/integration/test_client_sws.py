"""HttpClient against our own sws_http server, from threads and from server handler fibers.

The servers run on loop threads of their own (`sws_server`); the clients are closed by the
`http_client` fixture, which fails the test if a client's loop thread survives `close()`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import pytest

from sws_client import (
    HttpClient,
    NetworkError,
    Pending,
    Response,
    ResponseTooLargeError,
    StreamResponse,
)
from sws_core import Op, to_worker
from sws_http import Context, Server

WAIT_S = 10.0
BIG = bytes(range(256)) * (8 * 4096)  # 8 MiB, not one repeated byte
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def wait_for(pred: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while not (value := pred()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)
    return value


def build_app() -> Server:
    app = Server(max_body_bytes=16 << 20)

    @app.route("/echo", methods=ANY_METHOD)
    def echo(ctx: Context) -> None:
        ctx.json(
            {
                "method": ctx.method,
                "target": ctx.target,
                "query": ctx.query.to_dict(),
                "headers": ctx.headers.items(),
                "body": ctx.body.decode("latin-1"),
            }
        )

    @app.post("/length")
    def length(ctx: Context) -> None:
        ctx.text(str(len(ctx.body)) + " " + str(ctx.body == BIG))

    @app.get("/big")
    def big(ctx: Context) -> None:
        ctx.bytes(BIG)

    @app.get("/cookies")
    def cookies(ctx: Context) -> None:
        ctx.header("Set-Cookie", "a=1")
        ctx.header("Set-Cookie", "b=2")
        ctx.header("X-Mixed-Case", "yes")
        ctx.text("two cookies")

    @app.get("/latin1")
    def latin1(ctx: Context) -> None:
        ctx.bytes("café".encode("latin-1"), "text/plain; charset=ISO-8859-1")

    @app.get("/chunked")
    def chunked(ctx: Context) -> Generator[Op, Any, None]:
        stream = ctx.stream(200, "text/plain")
        for i in range(5):
            yield from stream.write(f"piece {i};".encode())

    @app.get("/nocontent")
    def nocontent(ctx: Context) -> None:
        ctx.bytes(b"", status=204)

    return app


@pytest.fixture
def server(sws_server: Callable[..., Any]) -> Any:
    return sws_server(build_app())


@pytest.fixture
def client(http_client: Callable[..., HttpClient]) -> HttpClient:
    return http_client()


# --- from a plain thread ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_each_method_reaches_the_server_with_its_body(
    server: Any, client: HttpClient, method: str
) -> None:
    body = None if method in ("GET", "OPTIONS") else f"{method} body"
    resp = client.request(method, server.url("/echo"), body=body)
    assert isinstance(resp, Response)
    assert resp.status == 200
    assert resp.reason == "OK"
    assert resp.http_version == "1.1"
    echoed = resp.json()
    assert echoed["method"] == method
    assert echoed["body"] == (body or "")


def test_the_verbs(server: Any, client: HttpClient) -> None:
    url = server.url("/echo")
    assert client.get(url).json()["method"] == "GET"
    assert client.post(url, body=b"p").json()["body"] == "p"
    assert client.put(url, body=b"u").json()["body"] == "u"
    assert client.patch(url, body=b"a").json()["body"] == "a"
    assert client.delete(url).json()["method"] == "DELETE"
    head = client.head(url)
    assert head.status == 200
    assert head.body == b""
    assert int(head.headers.get("content-length")) > 0  # the GET's length, no body


def test_default_and_custom_request_headers(server: Any, client: HttpClient) -> None:
    resp = client.get(
        server.url("/echo?a=1&b=x%20y"), headers=[("X-One", "1"), ("X-Many", "a"), ("X-Many", "b")]
    )
    echoed = resp.json()
    headers = [tuple(h) for h in echoed["headers"]]
    names = [n for n, _ in headers]
    assert ("host", f"127.0.0.1:{server.port}") in headers
    assert ("user-agent", "sws-client/0.1") in headers
    assert ("accept", "*/*") in headers
    assert "accept-encoding" not in names
    assert "content-length" not in names  # a GET without a body has no framing field
    assert ("x-one", "1") in headers
    assert [v for n, v in headers if n == "x-many"] == ["a", "b"]
    assert echoed["query"] == {"a": ["1"], "b": ["x y"]}
    assert echoed["target"] == "/echo?a=1&b=x%20y"


def test_a_request_header_replaces_a_default(server: Any, client: HttpClient) -> None:
    echoed = client.get(server.url("/echo"), headers={"User-Agent": "mine/1.0"}).json()
    agents = [v for n, v in echoed["headers"] if n == "user-agent"]
    assert agents == ["mine/1.0"]


def test_bodies_carry_content_length(server: Any, client: HttpClient) -> None:
    echoed = client.post(server.url("/echo")).json()  # no body: POST still says 0
    assert ["content-length", "0"] in echoed["headers"]
    echoed = client.post(server.url("/echo"), body="héllo").json()
    assert ["content-length", str(len("héllo".encode()))] in echoed["headers"]
    assert echoed["body"] == "héllo".encode().decode("latin-1")


def test_response_headers_are_case_insensitive_and_keep_repeats(
    server: Any, client: HttpClient
) -> None:
    resp = client.get(server.url("/cookies"))
    assert resp.headers.get_all("set-cookie") == ["a=1", "b=2"]
    assert resp.headers.get("SET-COOKIE") == "a=1"
    assert resp.headers.get("x-mixed-case") == "yes"
    assert "Content-Length" in resp.headers
    assert resp.text() == "two cookies"


def test_text_uses_the_charset_of_content_type(server: Any, client: HttpClient) -> None:
    resp = client.get(server.url("/latin1"))
    assert resp.charset == "iso8859-1"
    assert resp.text() == "café"


def test_chunked_response_buffered_and_streamed(server: Any, client: HttpClient) -> None:
    resp = client.get(server.url("/chunked"))
    assert resp.headers.get("transfer-encoding") == "chunked"
    assert resp.body == b"".join(f"piece {i};".encode() for i in range(5))
    with client.stream("GET", server.url("/chunked")) as stream:
        assert isinstance(stream, StreamResponse)
        assert b"".join(stream) == resp.body


def test_204_has_no_body_and_the_connection_goes_on(server: Any, client: HttpClient) -> None:
    resp = client.get(server.url("/nocontent"))
    assert resp.status == 204
    assert resp.body == b""
    assert client.get(server.url("/echo")).status == 200
    assert server.accepted() == 1


def test_large_bodies_buffered_streamed_and_sent(server: Any, client: HttpClient) -> None:
    assert client.get(server.url("/big")).body == BIG
    pieces = []
    with client.stream("GET", server.url("/big")) as stream:
        pieces.extend(stream)
    assert b"".join(pieces) == BIG
    assert len(pieces) > 1  # it did arrive piece by piece
    assert client.post(server.url("/length"), body=BIG).text() == f"{len(BIG)} True"


def test_body_limit_applies_to_buffered_responses_only(
    server: Any, http_client: Callable[..., HttpClient]
) -> None:
    client = http_client(max_body_bytes=1 << 20)
    with pytest.raises(ResponseTooLargeError, match="exceeds 1048576"):
        client.get(server.url("/big"))
    with client.stream("GET", server.url("/big")) as stream:
        assert sum(len(piece) for piece in stream) == len(BIG)
    assert client.get(server.url("/echo")).status == 200  # the client goes on


def test_keep_alive_reuses_one_connection(server: Any, client: HttpClient) -> None:
    for i in range(5):
        assert client.get(server.url(f"/echo?i={i}")).json()["query"] == {"i": [str(i)]}
    assert server.accepted() == 1
    stats = client.statistics()
    assert stats.connections_opened == 1
    assert stats.connections_reused == 4
    assert stats.idle == 1


def test_idle_connections_expire_after_the_ttl(
    server: Any, http_client: Callable[..., HttpClient]
) -> None:
    client = http_client(idle_ttl_s=0.05)
    client.get(server.url("/echo"))
    wait_for(lambda: client.statistics().idle == 0, "the idle connection to expire")
    client.get(server.url("/echo"))
    assert server.accepted() == 2
    assert client.statistics().connections_reused == 0


def test_a_stream_closed_early_does_not_reuse_its_connection(
    server: Any, client: HttpClient
) -> None:
    with client.stream("GET", server.url("/big")) as stream:
        first = next(iter(stream))
        assert first
    assert client.get(server.url("/echo")).status == 200
    assert server.accepted() == 2


def test_many_threads_at_once(server: Any, client: HttpClient) -> None:
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(10):
                echoed = client.get(server.url(f"/echo?t={t}&i={i}")).json()
                results[t * 100 + i] = echoed["query"]["i"][0]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(WAIT_S)
    assert not errors
    assert results == {t * 100 + i: str(i) for t in range(8) for i in range(10)}
    assert client.statistics().connections_opened <= 8


def test_fetch_is_typed_and_concurrent(server: Any, client: HttpClient) -> None:
    pendings = [client.fetch("GET", server.url(f"/echo?i={i}")) for i in range(4)]
    assert all(isinstance(p, Pending) for p in pendings)
    assert [p.result().json()["query"]["i"][0] for p in pendings] == ["0", "1", "2", "3"]


# --- from server handler fibers -----------------------------------------------------------------


@pytest.fixture
def upstream(sws_server: Callable[..., Any]) -> Any:
    """A server whose /held answers only when the test releases it (on a worker thread)."""
    app = Server()
    app.started = threading.Event()  # type: ignore[attr-defined]
    app.release = threading.Event()  # type: ignore[attr-defined]

    @app.get("/held")
    def held(ctx: Context) -> Generator[Op, Any, None]:
        app.started.set()  # type: ignore[attr-defined]
        released = yield from to_worker(app.release.wait, WAIT_S)  # type: ignore[attr-defined]
        ctx.text(f"upstream released={released}")

    @app.get("/big")
    def big(ctx: Context) -> None:
        ctx.bytes(BIG)

    served = sws_server(app, workers=1)
    served.app = app
    yield served
    app.release.set()  # type: ignore[attr-defined]


def proxy_app(client: HttpClient, upstream: Any) -> Server:
    app = Server()

    @app.get("/proxy")
    def proxy(ctx: Context) -> Generator[Op, Any, None]:
        resp = yield from client.get(upstream.url("/held"))
        ctx.text(f"proxied: {resp.text()}")

    @app.get("/proxy-async")
    async def proxy_async(ctx: Context) -> None:
        resp = await client.get(upstream.url("/held"))
        ctx.text(f"proxied async: {resp.text()}")

    @app.get("/fast")
    def fast(ctx: Context) -> None:
        ctx.text("fast")

    @app.get("/parallel")
    def parallel(ctx: Context) -> Generator[Op, Any, None]:
        pendings = [client.fetch("GET", upstream.url("/big")) for _ in range(3)]
        sizes = []
        for pending in pendings:
            sizes.append(len((yield from pending).body))
        ctx.json(sizes)

    @app.get("/stream-gen")
    def stream_gen(ctx: Context) -> Generator[Op, Any, None]:
        resp = yield from client.stream("GET", upstream.url("/big"))
        total = 0
        while chunk := (yield from resp.receive()):
            total += len(chunk)
        ctx.text(f"{resp.status} {total}")

    @app.get("/stream-async")
    async def stream_async(ctx: Context) -> None:
        resp = await client.fetch_stream("GET", upstream.url("/big"))
        total = 0
        async for chunk in resp:
            total += len(chunk)
        ctx.text(f"{resp.status} {total}")

    @app.get("/blocking-refused")
    def blocking_refused(ctx: Context) -> None:
        pending = client.fetch("GET", upstream.url("/big"))
        try:
            pending.result()
        except RuntimeError as exc:
            ctx.text(f"refused: {exc}")
        finally:
            pending.abandon()

    return app


@pytest.mark.parametrize("path", ["/proxy", "/proxy-async"])
def test_a_handler_fiber_waits_for_the_client_while_the_server_serves_others(
    upstream: Any,
    sws_server: Callable[..., Any],
    http_client: Callable[..., HttpClient],
    path: str,
) -> None:
    inner = http_client()  # the one the handlers use
    front = sws_server(proxy_app(inner, upstream))
    outer = http_client()  # the test's own
    pending = outer.fetch("GET", front.url(path))
    assert upstream.app.started.wait(WAIT_S), "the upstream never got the request"
    # The front server's IO thread is not blocked by its handler's outbound request:
    assert outer.get(front.url("/fast")).text() == "fast"
    assert not pending.done()
    upstream.app.release.set()
    resp = pending.result(WAIT_S)
    assert resp.status == 200
    assert resp.text().endswith("upstream released=True")


@pytest.mark.parametrize("path", ["/parallel", "/stream-gen", "/stream-async"])
def test_handler_fibers_fetch_in_parallel_and_stream(
    upstream: Any,
    sws_server: Callable[..., Any],
    http_client: Callable[..., HttpClient],
    path: str,
) -> None:
    inner = http_client()
    front = sws_server(proxy_app(inner, upstream))
    resp = http_client().get(front.url(path))
    assert resp.status == 200
    if path == "/parallel":
        assert resp.json() == [len(BIG)] * 3
    else:
        assert resp.text() == f"200 {len(BIG)}"


def test_blocking_on_an_io_thread_is_refused(
    upstream: Any, sws_server: Callable[..., Any], http_client: Callable[..., HttpClient]
) -> None:
    front = sws_server(proxy_app(http_client(), upstream))
    text = http_client().get(front.url("/blocking-refused")).text()
    assert text.startswith("refused: Pending.result() would block an sws IO thread")


def test_a_handler_fiber_that_goes_away_abandons_its_request(
    upstream: Any, sws_server: Callable[..., Any], http_client: Callable[..., HttpClient]
) -> None:
    inner = http_client()
    front = sws_server(proxy_app(inner, upstream), grace_s=0.1)
    outer = http_client()
    pending = outer.fetch("GET", front.url("/proxy"))
    assert upstream.app.started.wait(WAIT_S)
    assert inner.statistics().active == 1
    front.stop()  # its loop closes the handler's fiber while it waits for `inner`
    wait_for(lambda: inner.statistics().active == 0, "the abandoned request to end")
    assert inner.statistics().idle == 0  # its connection was closed, not pooled
    with pytest.raises(NetworkError):  # the front server went away without answering
        pending.result(WAIT_S)
