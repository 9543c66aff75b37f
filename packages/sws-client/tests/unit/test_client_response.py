"""Response, the error hierarchy and request heads, without IO."""

from __future__ import annotations

import pytest

import sws_client
from sws_client import (
    ClientClosedError,
    ConnectError,
    ConnectTimeoutError,
    HttpClientError,
    HttpTimeoutError,
    NameResolutionError,
    NetworkError,
    ProtocolError,
    ReadTimeoutError,
    RequestTimeoutError,
    Response,
    ResponseTooLargeError,
    TooManyRedirectsError,
    UnsupportedURLError,
)
from sws_client._request import build_head
from sws_client._response import charset_of
from sws_client._url import parse_url
from sws_http.proto import Headers


def response(body: bytes, content_type: str | None = None, status: int = 200) -> Response:
    fields = [("content-type", content_type)] if content_type else []
    return Response(status, "OK", "1.1", Headers(fields), body, "http://h/")


@pytest.mark.parametrize(
    ("value", "charset"),
    [
        (None, "utf-8"),
        ("text/plain", "utf-8"),
        ("text/plain; charset=ISO-8859-1", "iso8859-1"),
        ('text/html;Charset="utf-16"', "utf-16"),
        ("text/plain; format=flowed; charset = latin1 ", "iso8859-1"),
        ("text/plain; charset=no-such-codec", "utf-8"),
        ("text/plain; charset=", "utf-8"),
    ],
)
def test_charset_of(value: str | None, charset: str) -> None:
    assert charset_of(value) == charset


def test_text_and_json() -> None:
    assert response("é".encode("latin-1"), "text/plain; charset=latin-1").text() == "é"
    assert response("é".encode()).text() == "é"
    assert response(b"\xff").text() == "\ufffd"  # undecodable bytes are replaced
    assert response(b'{"a": [1, 2]}', "application/json").json() == {"a": [1, 2]}
    assert response('{"b": 1}'.encode("utf-16")).json() == {"b": 1}
    with pytest.raises(ValueError):
        response(b"not json").json()


def test_status_helpers_and_repr() -> None:
    assert response(b"").ok
    assert not response(b"", status=404).ok
    redirect = Response(302, "Found", "1.1", Headers([("location", "/x")]), b"", "http://h/")
    assert redirect.is_redirect
    assert not response(b"", status=302).is_redirect  # no Location
    assert "200" in repr(response(b"abc"))
    assert response(b"").trailers == Headers()


def test_error_hierarchy() -> None:
    for cls in (
        NetworkError,
        ConnectError,
        NameResolutionError,
        HttpTimeoutError,
        ConnectTimeoutError,
        ReadTimeoutError,
        RequestTimeoutError,
        ProtocolError,
        ResponseTooLargeError,
        TooManyRedirectsError,
        UnsupportedURLError,
    ):
        assert issubclass(cls, HttpClientError)
    for cls in (ConnectTimeoutError, ReadTimeoutError, RequestTimeoutError):
        assert issubclass(cls, TimeoutError)  # the builtin
    assert issubclass(ConnectTimeoutError, ConnectError)
    assert issubclass(NameResolutionError, ConnectError)
    assert issubclass(ConnectError, NetworkError)
    assert issubclass(UnsupportedURLError, ValueError)
    assert not issubclass(ReadTimeoutError, NetworkError)
    assert issubclass(ClientClosedError, RuntimeError)
    assert not issubclass(ClientClosedError, HttpClientError)
    assert str(ReadTimeoutError("slow")) == "slow"


def test_public_names_are_present() -> None:
    assert all(hasattr(sws_client, name) for name in sws_client.__all__)
    assert "HttpClient" in sws_client.__all__


URL = parse_url("http://h.example:8080/p?q=1")
DEFAULTS = [("User-Agent", "sws-client/0.1"), ("Accept", "*/*")]


def test_head_for_a_get() -> None:
    head = build_head(DEFAULTS, "GET", URL, [("X-A", "1")], None, True)
    assert head == (
        b"GET /p?q=1 HTTP/1.1\r\nhost: h.example:8080\r\nUser-Agent: sws-client/0.1\r\n"
        b"Accept: */*\r\nX-A: 1\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("method", "body", "length"),
    [
        ("POST", None, b"content-length: 0\r\n"),
        ("PUT", b"abc", b"content-length: 3\r\n"),
        ("PATCH", b"", b"content-length: 0\r\n"),
        ("DELETE", None, None),
        ("DELETE", b"x", b"content-length: 1\r\n"),
    ],
)
def test_content_length_rules(method: str, body: bytes | None, length: bytes | None) -> None:
    head = build_head(DEFAULTS, method, URL, [], body, True)
    if length is None:
        assert b"content-length" not in head
    else:
        assert length in head


def test_caller_fields_replace_defaults_and_close_is_written() -> None:
    head = build_head(DEFAULTS, "GET", URL, [("user-agent", "x/1"), ("Host", "other")], None, False)
    assert b"sws-client" not in head
    assert b"user-agent: x/1\r\n" in head
    assert b"Host: other\r\n" in head
    assert b"host: h.example" not in head
    assert head.endswith(b"connection: close\r\n\r\n")


def test_injection_is_refused() -> None:
    with pytest.raises(ValueError):
        build_head(DEFAULTS, "GET", URL, [("X", "a\r\nY: b")], None, True)
    with pytest.raises(ValueError):
        build_head(DEFAULTS, "GE T", URL, [], None, True)
