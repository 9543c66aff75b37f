"""HttpClient's life cycle and seams: close, misuse at the call, name resolution, IPv6."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from sws_client import (
    ClientClosedError,
    DnsResolver,
    HttpClient,
    NameResolutionError,
    Timeout,
    UnsupportedURLError,
)
from sws_client._dnserrors import NameNotFoundError
from sws_core import ClosedResourceError, Op, current_loop, sleep
from sws_http import Context, Server

WAIT_S = 10.0
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def echo_host_app() -> Server:
    app = Server()

    @app.get("/host")
    def host(ctx: Context) -> None:
        ctx.text(ctx.headers.get("host") or "")

    return app


@pytest.fixture
def held(raw_server: Callable[..., Any]) -> Any:
    """A server that reads a request and answers only at teardown."""
    got = threading.Event()
    release = threading.Event()

    def handler(conn: Any, index: int) -> None:
        conn.read_request()
        got.set()
        release.wait(WAIT_S)

    server = raw_server(handler)
    server.got = got
    yield server
    release.set()


def test_close_stops_and_joins_the_loop_thread() -> None:
    client = HttpClient()
    thread = client._thread
    assert thread.is_alive()
    assert "open" in repr(client)
    client.close()
    assert not thread.is_alive()
    assert client.closed
    assert "closed" in repr(client)
    client.close()  # idempotent
    with pytest.raises(ClientClosedError):
        client.get("http://127.0.0.1:1/")


def test_context_manager_closes() -> None:
    with HttpClient() as client:
        pass
    assert client.closed
    assert not client._thread.is_alive()


def test_close_fails_requests_in_flight(held: Any) -> None:
    client = HttpClient()
    try:
        pending = client.fetch("GET", held.url())
        errors: list[BaseException] = []

        def blocked() -> None:
            try:
                client.get(held.url())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=blocked)
        thread.start()
        assert held.got.wait(WAIT_S)
    finally:
        client.close()
    with pytest.raises(ClientClosedError):
        pending.result(WAIT_S)
    thread.join(WAIT_S)
    assert len(errors) == 1
    assert isinstance(errors[0], ClientClosedError)


def test_abandoning_a_pending_frees_its_connection(
    held: Any, http_client: Callable[..., HttpClient]
) -> None:
    client = http_client()
    pending = client.fetch("GET", held.url())
    assert held.got.wait(WAIT_S)
    with pytest.raises(TimeoutError, match="the request goes on"):
        pending.result(timeout=0.01)
    pending.abandon()
    with pytest.raises(ClientClosedError):
        pending.result(WAIT_S)
    deadline = threading.Event()
    for _ in range(1000):
        if client.statistics().active == 0:
            break
        deadline.wait(0.01)
    assert client.statistics().active == 0


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("https://example.com/", "https is not supported"),
        ("ftp://example.com/", "only http://"),
        ("http:///path", "no host"),
        ("http://host:99999/", "invalid port"),
        ("http://host:0/", "port 0"),
        ("http://[::1/", "invalid|IPv6"),
        ("http://exa mple.com/", "invalid host"),
        ("http://host/\r\nX: y", "control character"),
    ],
)
def test_bad_urls_are_refused_at_the_call(
    http_client: Callable[..., HttpClient], url: str, match: str
) -> None:
    client = http_client()
    with pytest.raises(UnsupportedURLError, match=match) as info:
        client.get(url)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Evil": "a\r\nX-Injected: 1"},
        {"Bad Name": "x"},
        {"Content-Length": "5"},
        {"Transfer-Encoding": "chunked"},
    ],
)
def test_bad_fields_are_refused_at_the_call(
    http_client: Callable[..., HttpClient], headers: dict[str, str]
) -> None:
    client = http_client()
    with pytest.raises(ValueError):
        client.get("http://127.0.0.1:1/", headers=headers)
    assert client.statistics().requests == 0


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_redirects"):
        HttpClient(max_redirects=-1)
    with pytest.raises(ValueError, match="not a finite, positive time"):
        Timeout(read_s=0)


# --- names ---------------------------------------------------------------------------------------


class FakeResolver:
    """A resolver seam stand-in: a fiber body on the client's loop."""

    def __init__(self, zone: dict[str, list[str]]) -> None:
        self.zone = zone
        self.loops: list[Any] = []

    def resolve_on_loop(self, name: str) -> Generator[Op, Any, list[str]]:
        self.loops.append(current_loop())
        yield from sleep(0)  # a real resolver waits for datagrams here
        if name not in self.zone:
            raise NameNotFoundError(name)
        return self.zone[name]


def test_names_go_to_the_resolver(
    sws_server: Callable[..., Any], http_client: Callable[..., HttpClient]
) -> None:
    server = sws_server(echo_host_app())
    resolver = FakeResolver({"api.test": ["127.0.0.1"]})
    client = http_client(resolver=resolver)
    resp = client.get(f"http://api.test:{server.port}/host")
    assert resp.text() == f"api.test:{server.port}"
    assert resolver.loops == [client._loop]  # it ran on the client's loop
    with pytest.raises(NameResolutionError, match=r"cannot resolve host 'nowhere\.test'") as info:
        client.get(f"http://nowhere.test:{server.port}/host")
    assert isinstance(info.value.__cause__, OSError)
    assert client.get(f"http://127.0.0.1:{server.port}/host").status == 200  # no lookup
    assert len(resolver.loops) == 2


def test_hosts_file_and_localhost_need_no_lookup(
    sws_server: Callable[..., Any],
    http_client: Callable[..., HttpClient],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = sws_server(echo_host_app())
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 from-hosts.test  # a comment\n")

    def no_getaddrinfo(*args: Any) -> Any:
        raise AssertionError("getaddrinfo must not be asked")

    monkeypatch.setattr(socket, "getaddrinfo", no_getaddrinfo)
    client = http_client(hosts_path=str(hosts))
    assert client.get(f"http://from-hosts.test:{server.port}/host").status == 200
    assert client.get(f"http://LOCALHOST:{server.port}/host").text() == f"localhost:{server.port}"


def test_the_system_resolver_runs_getaddrinfo_on_a_worker(
    sws_server: Callable[..., Any],
    http_client: Callable[..., HttpClient],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = sws_server(echo_host_app())
    real = socket.getaddrinfo
    threads: list[str] = []

    def fake(host: str, *args: Any, **kw: Any) -> Any:
        threads.append(threading.current_thread().name)
        if host == "gai.test":
            return real("127.0.0.1", *args, **kw)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    empty = tmp_path / "hosts"
    empty.write_text("")
    client = http_client(hosts_path=str(empty), resolver="system")
    assert client.get(f"http://gai.test:{server.port}/host").status == 200
    with pytest.raises(NameResolutionError) as info:
        client.get(f"http://unknown.test:{server.port}/host")
    assert isinstance(info.value.__cause__, socket.gaierror)
    assert all(name.startswith("sws-worker") for name in threads)


# --- IPv6 ----------------------------------------------------------------------------------------


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
def test_ipv6_literals(
    sws_server: Callable[..., Any],
    raw_server: Callable[..., Any],
    http_client: Callable[..., HttpClient],
) -> None:
    client = http_client()
    server = sws_server(echo_host_app(), host="::1")
    resp = client.get(f"http://[::1]:{server.port}/host")
    assert resp.text() == f"[::1]:{server.port}"
    assert resp.url == f"http://[::1]:{server.port}/host"

    def answer(conn: Any, index: int) -> None:
        while conn.read_request() is not None:
            conn.send(OK)

    raw = raw_server(answer, host="::1")
    assert client.get(raw.url("/")).body == b"ok"
    assert client.get(f"http://[0:0:0:0:0:0:0:1]:{raw.port}/").body == b"ok"
    assert raw.accepted == 1  # the same origin, written two ways


def test_names_resolve_through_a_dns_resolver_over_the_ring(
    sws_server: Callable[..., Any],
    http_client: Callable[..., HttpClient],
    dns_server: Callable[..., Any],
    dns_resolver: Callable[..., Any],
) -> None:
    server = sws_server(echo_host_app())
    dns = dns_server({"api.example.test": ["A 127.0.0.1"]})
    resolver = dns_resolver(dns)
    client = http_client(resolver=resolver)
    for _ in range(3):
        resp = client.get(f"http://api.example.test:{server.port}/host")
        assert resp.text() == f"api.example.test:{server.port}"
    assert dns.count("api.example.test", "A") == 1  # cached after the first request
    with pytest.raises(NameResolutionError):
        client.get(f"http://missing.example.test:{server.port}/host")


def test_a_client_without_a_resolver_has_a_dns_resolver_of_its_own(
    http_client: Callable[..., HttpClient],
) -> None:
    client = http_client()
    assert isinstance(client._session.lookup.resolver, DnsResolver)
    resolver = client._own_resolver
    assert resolver is not None
    client.close()
    with pytest.raises(ClosedResourceError):  # closed with the client
        resolver.resolve("example.test")
