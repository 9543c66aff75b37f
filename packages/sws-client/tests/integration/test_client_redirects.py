"""Redirects, against an sws_http server: opt-in, the limit, method rewriting, credentials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sws_client import (
    HttpClient,
    NameResolutionError,
    TooManyRedirectsError,
    UnsupportedURLError,
)
from sws_http import Context, Server

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def build_app(port_box: list[int]) -> Server:
    app = Server()

    @app.route("/echo", methods=ANY_METHOD)
    def echo(ctx: Context) -> None:
        ctx.json(
            {
                "method": ctx.method,
                "body": ctx.text_body,
                "authorization": ctx.headers.get("authorization"),
                "cookie": ctx.headers.get("cookie"),
                "content-type": ctx.headers.get("content-type"),
                "x-keep": ctx.headers.get("x-keep"),
            }
        )

    @app.get("/r/{n}")
    def hops(ctx: Context) -> None:
        n = int(ctx.params["n"])
        if n == 0:
            ctx.text("landed")
        else:
            ctx.redirect(f"{n - 1}", 302)  # relative to /r/n: /r/(n-1)

    @app.route("/status/{code}", methods=ANY_METHOD)
    def status(ctx: Context) -> None:
        ctx.redirect("/echo", int(ctx.params["code"]))

    @app.get("/cross")
    def cross(ctx: Context) -> None:
        ctx.redirect(f"http://localhost:{port_box[0]}/echo", 302)

    @app.get("/same")
    def same(ctx: Context) -> None:
        ctx.redirect(f"http://127.0.0.1:{port_box[0]}/echo", 302)

    @app.get("/to-https")
    def to_https(ctx: Context) -> None:
        ctx.redirect("https://127.0.0.1/", 302)

    @app.get("/loop")
    def loop(ctx: Context) -> None:
        ctx.redirect("/loop", 307)

    return app


@pytest.fixture
def server(sws_server: Callable[..., Any]) -> Any:
    port_box: list[int] = []
    served = sws_server(build_app(port_box))
    port_box.append(served.port)
    return served


@pytest.fixture
def client(http_client: Callable[..., HttpClient]) -> HttpClient:
    return http_client()


def test_redirects_are_not_followed_by_default(server: Any, client: HttpClient) -> None:
    resp = client.get(server.url("/r/2"))
    assert resp.status == 302
    assert resp.is_redirect
    assert resp.headers.get("location") == "1"


def test_followed_when_asked_with_history_on_one_connection(
    server: Any, client: HttpClient
) -> None:
    resp = client.get(server.url("/r/3"), follow_redirects=True)
    assert (resp.status, resp.text()) == (200, "landed")
    assert resp.url == server.url("/r/0")
    assert [r.status for r in resp.history] == [302, 302, 302]
    assert [r.url for r in resp.history] == [server.url(f"/r/{n}") for n in (3, 2, 1)]
    assert server.accepted() == 1


def test_client_wide_setting_and_the_limit(
    server: Any, http_client: Callable[..., HttpClient]
) -> None:
    client = http_client(follow_redirects=True, max_redirects=3)
    assert client.get(server.url("/r/3")).text() == "landed"  # exactly the limit
    with pytest.raises(TooManyRedirectsError, match="more than 3 redirects"):
        client.get(server.url("/r/4"))
    assert client.get(server.url("/r/4"), follow_redirects=False).status == 302
    with pytest.raises(TooManyRedirectsError):
        client.get(server.url("/loop"))


@pytest.mark.parametrize(
    ("code", "method", "expected_method", "keeps_body"),
    [
        (303, "POST", "GET", False),
        (303, "PUT", "GET", False),
        (302, "POST", "GET", False),
        (302, "PUT", "GET", False),
        (301, "POST", "GET", False),
        (301, "PUT", "PUT", True),
        (307, "POST", "POST", True),
        (308, "PATCH", "PATCH", True),
        (303, "HEAD", "HEAD", False),
    ],
)
def test_method_and_body_after_a_redirect(
    server: Any,
    client: HttpClient,
    code: int,
    method: str,
    expected_method: str,
    keeps_body: bool,
) -> None:
    body = None if method == "HEAD" else b'{"a": 1}'
    resp = client.request(
        method,
        server.url(f"/status/{code}"),
        body=body,
        headers={"Content-Type": "application/json", "X-Keep": "yes"},
        follow_redirects=True,
    )
    assert resp.status == 200
    assert [r.status for r in resp.history] == [code]
    if method == "HEAD":
        assert resp.body == b""
        return
    echoed = resp.json()
    assert echoed["method"] == expected_method
    assert echoed["body"] == ('{"a": 1}' if keeps_body else "")
    assert echoed["content-type"] == ("application/json" if keeps_body else None)
    assert echoed["x-keep"] == "yes"


def test_credentials_are_dropped_on_a_redirect_to_another_host(
    server: Any, client: HttpClient
) -> None:
    headers = {"Authorization": "Bearer secret", "Cookie": "session=1"}
    same = client.get(server.url("/same"), headers=headers, follow_redirects=True).json()
    assert (same["authorization"], same["cookie"]) == ("Bearer secret", "session=1")
    cross = client.get(server.url("/cross"), headers=headers, follow_redirects=True)
    assert cross.url == f"http://localhost:{server.port}/echo"
    assert (cross.json()["authorization"], cross.json()["cookie"]) == (None, None)


def test_client_wide_credentials_are_dropped_on_a_redirect_to_another_host(
    server: Any, http_client: Callable[..., HttpClient]
) -> None:
    client = http_client(headers={"Authorization": "Bearer secret", "Cookie": "session=1"})
    same = client.get(server.url("/same"), follow_redirects=True).json()
    assert (same["authorization"], same["cookie"]) == ("Bearer secret", "session=1")
    cross = client.get(server.url("/cross"), follow_redirects=True).json()
    assert (cross["authorization"], cross["cookie"]) == (None, None)


def test_a_host_that_dns_cannot_carry_is_a_name_resolution_error(client: HttpClient) -> None:
    with pytest.raises(NameResolutionError):
        client.get("http://a..b/")
    with pytest.raises(NameResolutionError):
        client.get(f"http://{'x' * 64}.test/")


def test_a_redirect_to_https_is_refused(server: Any, client: HttpClient) -> None:
    with pytest.raises(UnsupportedURLError, match="https is not supported"):
        client.get(server.url("/to-https"), follow_redirects=True)
