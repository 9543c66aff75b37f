"""HttpClient against nginx, the reference HTTP server (skipped when nginx is not installed;
`make test` installs it through scripts/test-tools.sh).

nginx runs as one process (`master_process off`, `daemon off`) from a private temporary
prefix on a free loopback port, and is stopped by its PID at teardown.
"""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sws_client import HttpClient

WAIT_S = 10.0
BIG = os.urandom(1 << 16) * 80  # 5 MiB
TEXT = b"".join(b"line %d of a compressible text\n" % i for i in range(5000))

CONF = """
worker_processes 1;
master_process off;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_timeout 60s;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        location = /conn {{ return 200 "$connection $connection_requests"; }}
        location = /method {{ return 200 "$request_method"; }}
        location = /moved {{ return 301 /small.txt; }}
        location = /brief {{ keepalive_timeout 100ms; return 200 "brief"; }}
        location = /limited {{ keepalive_requests 2; return 200 "$connection"; }}
        location /gz/ {{
            default_type text/plain;
            gzip on; gzip_types text/plain; gzip_min_length 0;
            add_trailer X-Trailer done;
        }}
    }}
}}
"""


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    for path in (found, "/usr/sbin/nginx", "/usr/local/sbin/nginx"):
        if path and os.access(path, os.X_OK):
            return path
    return None


class Nginx:
    def __init__(self, binary: str, workdir: Path) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()  # free for nginx (a tiny race with other tests; ports are plenty)
        self.dir = workdir
        www = workdir / "www"
        (www / "gz").mkdir(parents=True)
        (www / "small.txt").write_bytes(b"hello from nginx\n")
        (www / "big.bin").write_bytes(BIG)
        (www / "gz" / "text.txt").write_bytes(TEXT)
        conf = workdir / "nginx.conf"
        conf.write_text(CONF.format(dir=workdir, port=self.port))
        self.proc = subprocess.Popen(
            [binary, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + WAIT_S
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited at start: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, f"nginx did not listen: {self.log()}"
                time.sleep(0.01)

    def log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text() if path.exists() else ""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.proc.terminate()  # SIGTERM to its PID: nginx's fast shutdown
        try:
            self.proc.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(WAIT_S)


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    binary = find_nginx()
    if binary is None:
        pytest.skip("nginx is not installed (scripts/test-tools.sh installs nginx-light)")
    server = Nginx(binary, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def client(http_client: Callable[..., HttpClient]) -> HttpClient:
    return http_client()


def test_static_files_small_and_large(nginx: Nginx, client: HttpClient) -> None:
    resp = client.get(nginx.url("/small.txt"))
    assert (resp.status, resp.body) == (200, b"hello from nginx\n")
    assert resp.headers.get("server", "").startswith("nginx")
    assert client.get(nginx.url("/big.bin")).body == BIG
    with client.stream("GET", nginx.url("/big.bin")) as stream:
        assert b"".join(stream) == BIG
    missing = client.get(nginx.url("/missing"))
    assert missing.status == 404  # an answer, not an error


def test_methods(nginx: Nginx, client: HttpClient) -> None:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        body = None if method == "GET" else b"x" * 5000
        assert client.request(method, nginx.url("/method"), body=body).text() == method
    head = client.head(nginx.url("/big.bin"))
    assert (head.status, head.body) == (200, b"")
    assert head.headers.get("content-length") == str(len(BIG))


def test_keep_alive_one_connection_for_many_requests(nginx: Nginx, client: HttpClient) -> None:
    answers = [client.get(nginx.url("/conn")).text().split() for _ in range(5)]
    assert len({connection for connection, _ in answers}) == 1
    assert [int(n) for _, n in answers] == [1, 2, 3, 4, 5]


def test_keepalive_requests_limit_is_followed_transparently(
    nginx: Nginx, client: HttpClient
) -> None:
    connections = [client.get(nginx.url("/limited")).text() for _ in range(4)]
    assert len(set(connections)) == 2  # nginx said "Connection: close" after 2 requests
    assert client.statistics().retries == 0


def test_nginx_closing_an_idle_connection(nginx: Nginx, client: HttpClient) -> None:
    first = client.get(nginx.url("/brief")).text()
    assert first == "brief"
    deadline = time.monotonic() + WAIT_S
    while client.statistics().idle:  # nginx closes it after 100 ms; the pool notices
        assert time.monotonic() < deadline, "the closed idle connection stayed pooled"
        time.sleep(0.01)
    _, requests = client.get(nginx.url("/conn")).text().split()
    assert requests == "1"  # a new connection, and no failure on the way


def test_chunked_gzip_with_trailer(nginx: Nginx, client: HttpClient) -> None:
    resp = client.get(nginx.url("/gz/text.txt"), headers={"Accept-Encoding": "gzip"})
    assert resp.headers.get("content-encoding") == "gzip"
    assert resp.headers.get("transfer-encoding") == "chunked"
    assert gzip.decompress(resp.body) == TEXT  # handed over as sent, not decoded
    assert resp.trailers.get("x-trailer") == "done"
    plain = client.get(nginx.url("/gz/text.txt"))  # no Accept-Encoding is sent by default
    assert plain.body == TEXT


def test_redirect(nginx: Nginx, client: HttpClient) -> None:
    assert client.get(nginx.url("/moved")).status == 301
    resp = client.get(nginx.url("/moved"), follow_redirects=True)
    assert resp.body == b"hello from nginx\n"
    assert resp.url.endswith("/small.txt")


def test_many_parallel_requests(nginx: Nginx, client: HttpClient) -> None:
    pendings = [client.fetch("GET", nginx.url("/big.bin")) for _ in range(6)]
    assert all(p.result().body == BIG for p in pendings)


def test_log_is_clean(nginx: Nginx, client: HttpClient) -> None:
    client.get(nginx.url("/small.txt"))
    assert "[error]" not in nginx.log()
