"""Methods, routing and the demo app's conformance contract, through real clients: httpx,
`http.client` and curl."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest

pytestmark = pytest.mark.integration

WAIT_S = 10.0


@pytest.fixture
def client(port: int) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=WAIT_S) as c:
        yield c


@pytest.fixture
def demo(demo_port: int) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{demo_port}", timeout=WAIT_S) as c:
        yield c


def http_client(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_S)


# --- every method, through httpx --------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_httpx_methods_reach_the_handler(client: httpx.Client, method: str) -> None:
    body = b"" if method in ("GET", "OPTIONS") else b"payload \xff"
    r = client.request(method, "/echo?a=1", content=body)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    got = r.json()
    assert got["method"] == method
    assert got["path"] == "/echo"
    assert got["query"] == {"a": ["1"]}
    assert got["body"] == body.decode("latin-1")


def test_httpx_head_has_get_headers_and_no_body(client: httpx.Client) -> None:
    get = client.get("/echo")
    head = client.head("/echo")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    # What GET would send: /echo reports the method, so the lengths differ by "HEAD"/"GET".
    assert int(head.headers["content-length"]) == len(get.content) + 1
    root = client.head("/")
    assert root.headers["content-length"] == "4"
    assert root.content == b""


def test_httpx_keeps_one_connection(client: httpx.Client) -> None:
    ports = set()
    for _ in range(5):
        r = client.get("/")
        assert r.text == "root"
        ports.add(r.extensions["network_stream"].get_extra_info("client_addr"))
    assert len(ports) == 1  # keep-alive: the pool reused the connection


def test_httpx_path_params(client: httpx.Client) -> None:
    assert client.get("/items/42").json() == {"id": "42", "method": "GET", "body": ""}
    assert client.put("/items/7", content=b"new").json() == {
        "id": "7",
        "method": "PUT",
        "body": "new",
    }
    assert client.delete("/items/x").json()["method"] == "DELETE"
    assert client.get("/users/ann/posts/3").json() == {"user": "ann", "post": "3"}
    assert client.get("/static/a/b/c.txt").text == "static:a/b/c.txt"
    assert client.get("/static/").text == "static:"


def test_httpx_404_and_405(client: httpx.Client) -> None:
    r = client.get("/nope")
    assert (r.status_code, r.text) == (404, "Not Found")
    r = client.post("/items/1")
    assert r.status_code == 405
    assert r.headers["allow"] == "DELETE, GET, HEAD, PUT"
    r = client.post("/")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"
    r = client.get("/items")  # a prefix of a route is not a match
    assert r.status_code == 404


def test_httpx_redirect_is_not_followed_by_default(client: httpx.Client) -> None:
    r = client.get("/redirect")
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    assert r.content == b""
    assert client.get("/redirect", follow_redirects=True).text == "root"


def test_httpx_async_handler(client: httpx.Client) -> None:
    assert client.get("/async?q=%C3%A9").json() == {"async": True, "q": "é"}


def test_httpx_handler_returning_nothing_is_204(client: httpx.Client) -> None:
    r = client.post("/nothing", content=b"ignored")
    assert r.status_code == 204
    assert r.content == b""
    assert "content-length" not in r.headers  # RFC 9110 §8.6: never on a 204


# --- http.client ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_http_client_methods(port: int, method: str) -> None:
    conn = http_client(port)
    try:
        for round_ in range(2):  # twice: the second request reuses the connection
            body = f"body {round_}".encode() if method in ("POST", "PUT", "PATCH") else None
            conn.request(method, f"/echo?round={round_}&x=%20y", body=body)
            r = conn.getresponse()
            data = r.read()
            assert r.status == 200
            assert not r.will_close
            if method == "HEAD":
                assert data == b""
                assert int(r.getheader("content-length")) > 0
                continue
            got = json.loads(data)
            assert got["method"] == method
            assert got["query"] == {"round": [str(round_)], "x": [" y"]}
            assert got["body"] == (body or b"").decode()
    finally:
        conn.close()


def test_http_client_errors_and_params(port: int) -> None:
    conn = http_client(port)
    try:
        conn.request("GET", "/users/u1/posts/p2")
        r = conn.getresponse()
        assert (r.status, json.loads(r.read())) == (200, {"user": "u1", "post": "p2"})
        conn.request("GET", "/missing")
        r = conn.getresponse()
        assert (r.status, r.read()) == (404, b"Not Found")
        conn.request("PATCH", "/")
        r = conn.getresponse()
        assert r.status == 405
        assert r.getheader("allow") == "GET, HEAD"
        r.read()
    finally:
        conn.close()


# --- the demo app: the conformance contract ---------------------------------------------------


def test_demo_root_says_hello(demo: httpx.Client) -> None:
    r = demo.get("/")
    assert (r.status_code, r.text) == (200, "hello")
    assert r.headers["content-length"] == "5"
    assert r.headers["server"] == "sws"
    assert "date" in r.headers


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_demo_echo_contract(demo_port: int, method: str) -> None:
    body = b"" if method == "GET" else b"caf\xe9 \x00\xff"
    conn = http_client(demo_port)
    try:
        conn.putrequest(method, "/echo?x=1&x=2", skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", "example.test")
        conn.putheader("X-First", "one")
        conn.putheader("x-dup", "a")
        conn.putheader("X-Dup", "b")
        if body:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        r = conn.getresponse()
        got = json.loads(r.read())
    finally:
        conn.close()
    assert r.status == 200
    assert r.getheader("content-type") == "application/json"
    expected_headers = [
        ["host", "example.test"],
        ["x-first", "one"],
        ["x-dup", "a"],
        ["x-dup", "b"],
    ]
    if body:
        expected_headers.append(["content-length", str(len(body))])
    assert got == {
        "method": method,
        "path": "/echo",
        "query": "x=1&x=2",
        "headers": expected_headers,
        "body": body.decode("latin-1"),
    }


def test_demo_echo_head(demo: httpx.Client) -> None:
    r = demo.head("/echo?x=1&x=2")
    assert r.status_code == 200
    assert r.content == b""
    assert int(r.headers["content-length"]) > 0


def test_demo_routes(demo: httpx.Client) -> None:
    assert demo.get("/users/7?field=a&field=b").json() == {"id": "7", "fields": ["a", "b"]}
    assert demo.get("/files/x/y.txt").text == "file: x/y.txt"
    assert demo.get("/json").json()["server"] == "sws"
    assert demo.get("/html").headers["content-type"] == "text/html; charset=utf-8"
    assert demo.get("/sleep").text == "slept 50 ms"
    assert len(demo.get("/worker").json()["sha256^20000"]) == 64
    assert demo.get("/missing").status_code == 404
    r = demo.post("/")
    assert (r.status_code, r.headers["allow"]) == (405, "GET, HEAD")


# --- curl -------------------------------------------------------------------------------------

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed")


def curl(*args: str) -> str:
    assert CURL is not None
    out = subprocess.run(
        [CURL, "-s", "-i", "--max-time", str(WAIT_S), *args],
        capture_output=True,
        timeout=WAIT_S * 2,
        check=True,
    )
    return out.stdout.decode("latin-1")


@needs_curl
def test_curl_get(demo_port: int) -> None:
    out = curl(f"http://127.0.0.1:{demo_port}/")
    head, _, body = out.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200 OK\r\n")
    assert "content-length: 5" in head.lower()
    assert body == "hello"


@needs_curl
def test_curl_post(demo_port: int) -> None:
    out = curl(
        "-X",
        "POST",
        "-H",
        "Content-Type: text/plain",
        "--data-binary",
        "a=1&b=2",
        f"http://127.0.0.1:{demo_port}/echo?k=v",
    )
    head, _, body = out.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200 OK\r\n")
    got = json.loads(body)
    assert got["method"] == "POST"
    assert got["query"] == "k=v"
    assert got["body"] == "a=1&b=2"
    assert ["content-type", "text/plain"] in got["headers"]
    assert ["content-length", "7"] in got["headers"]


def test_encoded_slash_stays_inside_one_segment(client: httpx.Client) -> None:
    r = client.get("/items/a%2Fb")
    assert r.status_code == 200
    assert r.json()["id"] == "a/b"


def test_percent_encoded_path_segments_are_decoded(client: httpx.Client) -> None:
    assert client.get("/items/caf%C3%A9%20x").json()["id"] == "café x"
    assert client.get("/echo").json()["path"] == "/echo"
    assert client.get("/%65cho").json()["path"] == "/echo"  # unreserved: equivalent
