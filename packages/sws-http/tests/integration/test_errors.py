"""Malformed requests get the status the parser names and the connection closes after it;
a handler that raises gets a generic 500; a response that would inject a header is a 500."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.integration

# Small limits, so each over-limit request fits in one segment and the server has read all
# of it when it closes (unread bytes would turn the close into a reset).
LIMITS = {"max_header_bytes": 2048, "max_target_bytes": 512, "max_body_bytes": 1000}

MALFORMED = {
    "no-host-in-1.1": (b"GET / HTTP/1.1\r\n\r\n", 400),
    "two-hosts": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    "cl-and-te": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "bare-lf": (b"GET / HTTP/1.1\nHost: t\n\n", 400),
    "bare-lf-in-one-line": (b"GET / HTTP/1.1\r\nHost: t\nX: y\r\n\r\n", 400),
    "obs-fold": (b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", 400),
    "space-before-colon": (b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400),
    "bad-content-length": (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\n", 400),
    "conflicting-content-lengths": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        400,
    ),
    "bad-chunk-size": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        400,
    ),
    "huge-header": (b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 3000 + b"\r\n\r\n", 431),
    "too-many-bytes-of-headers": (
        b"GET / HTTP/1.1\r\nHost: t\r\n"
        + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 60) for i in range(40))
        + b"\r\n",
        431,
    ),
    "long-target": (b"GET /" + b"a" * 520 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    "very-long-request-line": (b"GET /" + b"a" * 1500 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    "body-over-limit": (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n", 413),
    "chunked-body-over-limit": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n",
        413,
    ),
    "http-2.0": (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    "http-0.9-style": (b"GET /\r\n\r\n", 400),
    "unknown-transfer-coding": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
        501,
    ),
    "unknown-expectation": (b"GET / HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\n\r\n", 417),
    "nul-in-header": (b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n", 400),
}


@pytest.fixture
def strict_port(serve: Callable[..., Any], make_app: Callable[..., Any]) -> int:
    port: int = serve(make_app(**LIMITS)).port
    return port


@pytest.mark.parametrize(("data", "status"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_request_is_answered_and_closed(
    strict_port: int, clients: Any, data: bytes, status: int
) -> None:
    c = clients.connect(strict_port)
    c.send(data)
    r = c.read_response()
    assert r.status == status
    assert r.header("connection") == "close"
    assert r.header("content-length") == str(len(r.body))
    assert r.body == r.reason.encode()  # a generic reason phrase, nothing from the input
    assert c.closed_by_peer()


def test_malformed_request_after_good_ones_on_the_same_connection(
    strict_port: int, clients: Any
) -> None:
    c = clients.connect(strict_port)
    c.send(
        b"GET /seq/1 HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /slowseq/2 HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n"
    )
    assert c.read_response().body == b"seq 1"
    assert c.read_response().body == b"slow 2"
    r = c.read_response()
    assert (r.status, r.header("connection")) == (400, "close")
    assert c.closed_by_peer()


def test_body_at_the_limit_is_accepted(strict_port: int, clients: Any) -> None:
    c = clients.connect(strict_port)
    r = c.request(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + b"b" * 1000)
    assert r.status == 200


def test_default_limits_answer_431_for_a_huge_header(port: int, clients: Any) -> None:
    c = clients.connect(port)
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    r = c.read_response()
    assert (r.status, r.header("connection")) == (431, "close")
    assert c.closed_by_peer()


# --- handler failures -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/boom", "/boom-gen"])
def test_handler_exception_is_a_generic_500_and_closes(
    port: int, clients: Any, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.ERROR, logger="sws_http")
    c = clients.connect(port)
    c.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    r = c.read_response()
    assert r.status == 500
    assert r.body == b"Internal Server Error"
    assert b"secret-detail" not in r.raw_head + r.body
    assert b"Traceback" not in r.body
    assert r.header("connection") == "close"
    assert c.closed_by_peer()  # the pipelined GET / is not answered
    assert any("secret-detail" in (rec.exc_text or "") or rec.exc_info for rec in caplog.records)


def test_header_with_crlf_is_a_500_not_an_injection(port: int, clients: Any) -> None:
    c = clients.connect(port)
    c.send(b"GET /bad-header HTTP/1.1\r\nHost: t\r\n\r\n")
    r = c.read_response()
    assert r.status == 500
    assert r.header("x-injected") is None
    assert r.header("x-bad") is None
    assert c.closed_by_peer()


def test_handler_returning_nothing_answers_204(port: int, clients: Any) -> None:
    c = clients.connect(port)
    c.send(b"GET /nothing HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
    r = c.read_response()
    assert r.status == 204
    assert r.header("content-length") is None
    assert r.header("transfer-encoding") is None
    assert c.read_response().body == b"root"  # no stray body bytes between them
