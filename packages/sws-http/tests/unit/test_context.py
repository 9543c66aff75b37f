"""Context: the request side (query, headers, bodies) and the response helpers."""

from __future__ import annotations

import json

import pytest

from sws_http import Context, QueryParams
from sws_http.proto import Data, EndOfMessage, Request, RequestParser


def make_ctx(data: bytes) -> Context:
    """A Context as the server builds it: parsed from bytes, without a connection."""
    parser = RequestParser()
    parser.feed(data)
    request = parser.next_event()
    assert isinstance(request, Request)
    body = b""
    while not isinstance(event := parser.next_event(), EndOfMessage):
        assert isinstance(event, Data)
        body += event.data
    return Context(request, request.path, body, None)


def get(target: str, *extra: str) -> Context:
    return make_ctx("\r\n".join([f"GET {target} HTTP/1.1", "Host: t", *extra, "", ""]).encode())


def post(body: bytes, *extra: str) -> Context:
    head = "\r\n".join(["POST /p HTTP/1.1", "Host: t", *extra, f"Content-Length: {len(body)}"])
    return make_ctx(head.encode() + b"\r\n\r\n" + body)


# --- the request ------------------------------------------------------------------------------


def test_request_accessors() -> None:
    ctx = get("/a/b?x=1", "X-Thing: One", "x-thing: two")
    assert (ctx.method, ctx.target, ctx.path) == ("GET", "/a/b?x=1", "/a/b")
    assert ctx.headers.get("X-THING") == "One"
    assert ctx.headers.get_all("x-thing") == ["One", "two"]
    assert ctx.client == ("", 0)  # no connection
    assert ctx.params == {}
    assert ctx.body == b""
    assert "GET /a/b?x=1" in repr(ctx)


def test_query_repeated_keys_keep_every_value_in_order() -> None:
    q = get("/?x=1&y=a&x=2&x=3").query
    assert q.get("x") == "1"
    assert q.get_all("x") == ["1", "2", "3"]
    assert q.get_all("y") == ["a"]
    assert q.to_dict() == {"x": ["1", "2", "3"], "y": ["a"]}
    assert "x" in q
    assert "z" not in q
    assert q.get("z") is None
    assert q.get("z", "dflt") == "dflt"
    assert q.get_all("z") == []


def test_query_percent_decoding() -> None:
    q = get("/?name=caf%C3%A9&sp=a%20b&plus=a+b&amp=%26%3D&%6B%65%79=v").query
    assert q.get("name") == "café"
    assert q.get("sp") == "a b"
    assert q.get("plus") == "a b"  # form encoding: "+" is a space
    assert q.get("amp") == "&="
    assert q.get("key") == "v"  # names are decoded too


def test_query_blank_values_and_empty_query() -> None:
    q = get("/?flag&empty=&v=1").query
    assert q.get("flag") == ""
    assert q.get("empty") == ""
    assert get("/").query.to_dict() == {}
    assert get("/?").query.to_dict() == {}


def test_query_results_are_copies() -> None:
    ctx = get("/?x=1")
    ctx.query.get_all("x").append("mutated")
    ctx.query.to_dict()["x"].append("mutated")
    assert ctx.query.get_all("x") == ["1"]
    assert repr(QueryParams({"a": ["1"]})) == "QueryParams({'a': ['1']})"


def test_text_body_and_json_body() -> None:
    ctx = post(b'{"a": [1, 2], "b": "\xc3\xa9"}', "Content-Type: application/json")
    assert ctx.json_body() == {"a": [1, 2], "b": "é"}
    assert ctx.text_body == '{"a": [1, 2], "b": "é"}'
    assert post(b"ok \xff").text_body == "ok \ufffd"


@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"{'a': 1}", b"\xff\xfe\x00"])
def test_json_body_errors_are_value_errors(body: bytes) -> None:
    with pytest.raises(ValueError):
        post(body).json_body()


def test_chunked_body_reaches_the_context() -> None:
    ctx = make_ctx(
        b"POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n"
    )
    assert ctx.json_body() == [1, 2]


# --- the response -----------------------------------------------------------------------------


def test_default_response_is_204_without_headers() -> None:
    ctx = get("/")
    assert (ctx.status, ctx.response_headers, ctx.response_body) == (204, [], b"")


def test_text() -> None:
    ctx = get("/")
    ctx.text("héllo")
    assert ctx.status == 200
    assert ctx.response_body == "héllo".encode()
    assert ctx.response_headers == [("content-type", "text/plain; charset=utf-8")]
    ctx.text("gone", status=410)
    assert ctx.status == 410


def test_html() -> None:
    ctx = get("/")
    ctx.html("<p>é</p>", status=201)
    assert (ctx.status, ctx.response_body) == (201, "<p>é</p>".encode())
    assert ctx.response_headers == [("content-type", "text/html; charset=utf-8")]


def test_json() -> None:
    ctx = get("/")
    ctx.json({"a": [1, None], "é": True})
    assert ctx.status == 200
    assert json.loads(ctx.response_body) == {"a": [1, None], "é": True}
    assert ctx.response_body == '{"a":[1,null],"é":true}'.encode()  # compact, UTF-8
    assert ctx.response_headers == [("content-type", "application/json")]
    ctx.json([], status=202)
    assert (ctx.status, ctx.response_body) == (202, b"[]")


def test_bytes() -> None:
    ctx = get("/")
    ctx.bytes(b"\x00\xff")
    assert (ctx.status, ctx.response_body) == (200, b"\x00\xff")
    assert ctx.response_headers == [("content-type", "application/octet-stream")]
    ctx.bytes(b"png", "image/png", status=203)
    assert (ctx.status, ctx.response_headers) == (203, [("content-type", "image/png")])


def test_content_type_is_replaced_not_duplicated() -> None:
    ctx = get("/")
    ctx.header("X-Keep", "1")
    ctx.header("Content-Type", "text/csv")  # any case
    ctx.text("a")
    ctx.json({})
    ctx.html("")
    assert ctx.response_headers == [("X-Keep", "1"), ("content-type", "text/html; charset=utf-8")]


def test_header_adds_and_keeps_repeats() -> None:
    ctx = get("/")
    ctx.header("set-cookie", "a=1")
    ctx.header("set-cookie", "b=2")
    ctx.text("x")
    assert ctx.response_headers == [
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
        ("content-type", "text/plain; charset=utf-8"),
    ]


def test_set_status_keeps_the_body() -> None:
    ctx = get("/")
    ctx.text("created")
    ctx.set_status(201)
    assert (ctx.status, ctx.response_body) == (201, b"created")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect(status: int) -> None:
    ctx = get("/")
    ctx.redirect("/there?x=1", status)
    assert ctx.status == status
    assert ctx.response_body == b""
    assert ctx.response_headers == [("location", "/there?x=1")]


def test_redirect_default_is_302_and_replaces_a_body() -> None:
    ctx = get("/")
    ctx.bytes(b"body")
    ctx.redirect("https://example.test/")
    assert (ctx.status, ctx.response_body) == (302, b"")
    assert ("location", "https://example.test/") in ctx.response_headers


@pytest.mark.parametrize("status", [200, 204, 300, 304, 305, 306, 309, 404, 500])
def test_redirect_rejects_other_statuses(status: int) -> None:
    ctx = get("/")
    with pytest.raises(ValueError, match=str(status)):
        ctx.redirect("/x", status)
    assert (ctx.status, ctx.response_headers) == (204, [])  # nothing changed


def test_a_second_redirect_replaces_the_first() -> None:
    ctx = get("/")
    ctx.redirect("/first")
    ctx.redirect("/second", 301)
    assert ctx.status == 301
    assert [v for n, v in ctx.response_headers if n.lower() == "location"] == ["/second"]


def test_defer_and_stream_need_a_connection_and_only_one_of_them() -> None:
    from sws_http import Context
    from sws_http.proto import NEED_DATA, Request, RequestParser

    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    request = parser.next_event()
    assert isinstance(request, Request)
    assert parser.next_event() is not NEED_DATA
    ctx = Context(request, "/", b"", None)
    with pytest.raises(RuntimeError, match="needs a live connection"):
        ctx.defer()
    with pytest.raises(RuntimeError, match="needs a live connection"):
        ctx.stream()
