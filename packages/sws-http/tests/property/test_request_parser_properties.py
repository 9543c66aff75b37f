"""Properties of sws_http.proto (hypothesis), and differential tests against h11.

(a) Any split of a valid pipelined stream gives the events the generator expects, and a
    stream that goes bad gives the same events and the same error however it is split.
(b) Random bytes and mutated requests, fed in random splits, give only events or
    ProtocolError, and next_event always reaches NEED_DATA (no hang).
(c) response_head + chunk + last_chunk parse with h11 as the client.
(d) h11 as the server and RequestParser agree on valid requests, and both reject a table of
    invalid ones where they implement the same RFC rule.
"""

from __future__ import annotations

import string
from typing import Any

import h11
import hypothesis.strategies as st
import pytest
import sws_http_testing as testing  # loaded by ../conftest.py
from hypothesis import given
from sws_http_testing import (
    Event,
    cut_lists,
    fields,
    mutated,
    ows,
    response_fields,
    split_at,
    tokens,
)

from sws_http.proto import (
    NEED_DATA,
    ProtocolError,
    RequestParser,
    _request,
    chunk,
    last_chunk,
    response_head,
)

# --- helpers ------------------------------------------------------------------------------------

norm = testing.norm_request


def run(pieces: list[bytes], eof: bool = True, **limits: int) -> tuple[list[Event], Any]:
    """Feed the pieces in order, draining after each, then EOF (not drained); return merged
    events and the error's status, or None. Bounded: each event consumes input or ends a
    message.

    Only the status is compared across splits: the message may name a different 400 rule
    (a chunk size line "with a bare LF" or "without CRLF"), as _request.py's `_line` says."""
    parser = RequestParser(**limits)
    events, exc = testing.feed_pieces(parser, pieces, norm, eof=eof, drain_after_eof=False)
    if exc is None:
        return events, None
    assert exc.status_hint in (400, 413, 414, 417, 431, 501, 505)
    assert exc.message
    return events, exc.status_hint


# --- generated requests -------------------------------------------------------------------------
# The field strategies (`tokens`, `fields`, `ows`...), `mutated` and `cut_lists` are shared:
# they come from sws_http_testing.

PCHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@%"

methods = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) | (
    tokens.filter(lambda m: m != "CONNECT")
)
paths = st.lists(st.text(PCHARS, max_size=8), max_size=4).map(lambda s: "/" + "/".join(s))
queries = st.none() | st.text(PCHARS + "/?", max_size=12)


@st.composite
def requests(
    draw: st.DrawFn, last: bool = False, bws_ext: bool = True
) -> tuple[bytes, list[Event], dict]:
    """One valid request: its bytes, the events it must give, and its parts for h11.
    `bws_ext`: allow whitespace before a chunk extension's ";" (h11 rejects it)."""
    method = draw(methods)
    path = draw(paths)
    query = draw(queries)
    target = path if query is None else f"{path}?{query}"
    version = draw(st.sampled_from(["1.1", "1.1", "1.1", "1.0"]))
    body = draw(st.binary(max_size=64))
    framing = draw(
        st.sampled_from(["cl", "chunked", "none"] if version == "1.1" else ["cl", "none"])
    )
    if framing == "none":
        body = b""
    close = last and draw(st.booleans())
    headers = list(draw(fields))
    # A valid uri-host [":" port] (RFC 3986 §3.2.2): invalid ones are a 400 of their own.
    host = draw(st.text(string.ascii_lowercase + string.digits + ".-", max_size=12))
    if draw(st.booleans()):
        host += ":" + str(draw(st.integers(0, 65535)))
    if version == "1.1" or draw(st.booleans()):
        headers.insert(draw(st.integers(0, len(headers))), ("Host", host))
    else:
        host = ""
    if framing == "cl":
        headers.insert(draw(st.integers(0, len(headers))), ("Content-Length", str(len(body))))
    elif framing == "chunked":
        headers.insert(draw(st.integers(0, len(headers))), ("Transfer-Encoding", "chunked"))
    if version == "1.0" and not close:
        headers.append(("Connection", "keep-alive"))
    elif close:
        headers.append(("Connection", "close"))
    wire = [f"{method} {target} HTTP/{version}\r\n".encode("ascii")]
    for name, value in headers:
        wire.append(f"{name}:{draw(ows)}{value}{draw(ows)}\r\n".encode("latin-1"))
    wire.append(b"\r\n")
    trailers: list[tuple[str, str]] = []
    if framing == "chunked":
        cuts = sorted(set(draw(st.lists(st.integers(0, len(body)), max_size=4))))
        start = 0
        for cut in [*cuts, len(body)]:
            if cut > start:
                exts = [b"", b";a", b";a=b", b';n="v v"', *([b' ; n="v"'] if bws_ext else [])]
                ext = draw(st.sampled_from(exts))
                size = b"%x" % (cut - start)
                if draw(st.booleans()):
                    size = size.upper()
                wire.append(size + ext + b"\r\n" + body[start:cut] + b"\r\n")
                start = cut
        trailers = draw(fields)
        wire.append(b"0\r\n")
        wire += [f"{n}: {v}\r\n".encode("latin-1") for n, v in trailers]
        wire.append(b"\r\n")
    else:
        wire.append(body)
    keep_alive = not close
    request = (
        "request",
        method,
        target,
        path,
        "" if query is None else query,
        version,
        [(n.lower(), v) for n, v in headers],
        host,
        keep_alive,
        None if framing == "chunked" else len(body),
        framing == "chunked",
        False,
    )
    expected = [request]
    if body:
        expected.append(("data", body))
    expected.append(("eom", [(n.lower(), v) for n, v in trailers]))
    parts = {
        "method": method,
        "target": target,
        "headers": headers,
        "body": body,
        "keep_alive": keep_alive,
        "version": version,
    }
    return b"".join(wire), expected, parts


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[Event]]:
    """A pipelined stream of valid requests (only the last may close), maybe with CRLFs
    between them (RFC 9112 §2.2)."""
    n = draw(st.integers(1, 4))
    data, expected = b"", []
    for i in range(n):
        raw, events, _ = draw(requests(last=i == n - 1))
        data += b"\r\n" * draw(st.integers(0, 2)) + raw
        expected += events
    return data, expected


# --- (a) the same events however the input is split ---------------------------------------------


# Limits small enough for generated requests to cross them, at any byte.
small_limits = st.fixed_dictionaries(
    {
        "max_header_bytes": st.integers(20, 200),
        "max_headers": st.integers(1, 6),
        "max_target_bytes": st.integers(1, 40),
        "max_body_bytes": st.integers(0, 80),
    }
)


@given(streams(), cut_lists)
def test_valid_stream_any_split(stream: tuple[bytes, list[Event]], cuts: list[int]) -> None:
    data, expected = stream
    assert run([data]) == (expected, None)
    assert run(split_at(data, cuts)) == (expected, None)


@given(streams(), cut_lists)
def test_valid_stream_byte_by_byte(stream: tuple[bytes, list[Event]], cuts: list[int]) -> None:
    data, expected = stream
    assert run([data[i : i + 1] for i in range(len(data))]) == (expected, None)


@given(st.data(), cut_lists)
def test_bad_stream_same_events_and_error_any_split(data: st.DataObject, cuts: list[int]) -> None:
    good, _ = data.draw(streams())
    raw, _, _ = data.draw(requests())
    stream = good + data.draw(mutated(raw))
    at_once = run([stream])
    assert run(split_at(stream, cuts)) == at_once
    assert run([stream[i : i + 1] for i in range(len(stream))]) == at_once


@given(st.data(), cut_lists)
def test_small_limits_same_verdict_any_split(data: st.DataObject, cuts: list[int]) -> None:
    # Valid streams only: a bare CR at max_header_bytes is a known split dependence (see the
    # xfail in tests/unit/test_request_parser.py).
    limits = data.draw(small_limits)
    stream, _ = data.draw(streams())
    at_once = run([stream], **limits)
    assert run(split_at(stream, cuts), **limits) == at_once


@given(st.data(), cut_lists)
def test_remembered_heads_parse_as_the_first_time(data: st.DataObject, cuts: list[int]) -> None:
    # The parser remembers heads it accepted, per set of limits: a head met again must give
    # the same events, and a head accepted under loose limits must still fail tight ones.
    limits = data.draw(small_limits)
    stream, expected = data.draw(streams())
    _request._head_caches.clear()
    first_tight = run([stream], **limits)
    _request._head_caches.clear()
    assert run([stream]) == (expected, None)  # remembered under the default limits
    assert run(split_at(stream, cuts)) == (expected, None)
    assert run([stream], **limits) == first_tight
    assert run([stream], **limits) == first_tight  # remembered under the tight ones too


def run_whole(pieces: list[bytes], **limits: int) -> tuple[list[Event], Any]:
    """`run`, feeding each piece through `feed_whole` and reading with `next_whole` before
    `next_event`: a Request either returns stands for that Request and its EndOfMessage."""
    parser = RequestParser(**limits)
    events: list[Event] = []
    budget = 2 * sum(len(p) for p in pieces) + 10
    try:
        for piece in pieces:
            request = parser.feed_whole(piece)
            while True:
                if request is not None:
                    events += [norm(request), testing.eom()]
                elif (event := parser.next_event()) is NEED_DATA:
                    break
                else:
                    events.append(norm(event))
                budget -= 1
                assert budget >= 0, "the parser does not reach NEED_DATA"
                request = parser.next_whole()
        parser.feed_eof()
    except ProtocolError as exc:
        return testing.merge_data(events), exc.status_hint
    return testing.merge_data(events), None


@given(st.data(), cut_lists)
def test_feed_whole_gives_the_events_of_feed(data: st.DataObject, cuts: list[int]) -> None:
    # Pieces cut at request boundaries, as a keep-alive client's requests arrive, so that
    # remembered heads come whole; then the same bytes cut anywhere.
    limits = data.draw(st.just({}) | small_limits)
    n = data.draw(st.integers(1, 4))
    pieces = [data.draw(requests(last=i == n - 1))[0] for i in range(n)]
    pieces = [b"\r\n" * data.draw(st.integers(0, 1)) + piece for piece in pieces]
    expected = run(pieces, **limits)  # remembers the heads it accepts
    assert run_whole(pieces, **limits) == expected
    assert run_whole(pieces * 2, **limits) == run(pieces * 2, **limits)
    pipelined = [b"".join(pieces * 3)]  # repeated heads, buffered together
    assert run_whole(pipelined, **limits) == run(pipelined, **limits)
    assert run_whole(split_at(b"".join(pieces), cuts), **limits) == expected


# --- (b) random input gives only events or ProtocolError -----------------------------------------


@given(st.binary(max_size=300), cut_lists)
def test_random_bytes_only_protocol_error(raw: bytes, cuts: list[int]) -> None:
    run(split_at(raw, cuts))
    run(split_at(b"GET / HTTP/1.1\r\nHost: a\r\n" + raw, cuts))
    run(split_at(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + raw, cuts))


@given(st.data(), cut_lists)
def test_mutated_requests_only_protocol_error(data: st.DataObject, cuts: list[int]) -> None:
    stream, _ = data.draw(streams())
    bad = data.draw(mutated(stream))
    run(split_at(bad, cuts))
    run(
        split_at(bad, cuts),
        max_header_bytes=64,
        max_headers=3,
        max_target_bytes=8,
        max_body_bytes=16,
    )


# --- (c) response_head and chunks, read by h11 as a client --------------------------------------

response_statuses = st.integers(200, 599).filter(lambda s: s not in (204, 304))


def h11_client_receive(wire: bytes, eof: bool) -> list[Any]:
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "a")]))
    client.send(h11.EndOfMessage())
    client.receive_data(wire)
    if eof:
        client.receive_data(b"")
    events = []
    while True:
        event = client.next_event()
        if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
            break
        events.append(event)
        if isinstance(event, h11.EndOfMessage):
            break
    return events


@given(
    response_statuses,
    response_fields,
    st.lists(st.binary(max_size=40), max_size=5),
    st.sampled_from(["length", "chunked", "close"]),
    st.booleans(),
    fields,
)
def test_response_round_trip_through_h11(
    status: int,
    headers: list[tuple[str, str]],
    pieces: list[bytes],
    framing: str,
    keep_alive: bool,
    trailers: list[tuple[str, str]],
) -> None:
    body = b"".join(pieces)
    if framing == "length":
        wire = response_head(status, headers, content_length=len(body), keep_alive=keep_alive)
        wire += body
    elif framing == "chunked":
        wire = response_head(status, headers, chunked=True, keep_alive=keep_alive)
        wire += b"".join(chunk(p) for p in pieces) + last_chunk(trailers)
    else:  # close-delimited
        wire = response_head(status, headers, keep_alive=False) + body
        keep_alive = False
    events = h11_client_receive(wire, eof=framing == "close")
    response, *datas, end = events
    assert isinstance(response, h11.Response)
    assert isinstance(end, h11.EndOfMessage)
    assert response.status_code == status
    assert response.http_version == b"1.1"
    got = [(n.decode(), v.decode("latin-1")) for n, v in response.headers.raw_items()]
    assert got[0] == ("server", "sws")
    expected = [("server", "sws"), *headers]
    if framing == "length":
        expected.append(("content-length", str(len(body))))
    elif framing == "chunked":
        expected.append(("transfer-encoding", "chunked"))
    if not keep_alive:
        expected.append(("connection", "close"))
    assert got == expected
    assert b"".join(bytes(d.data) for d in datas) == body
    if framing == "chunked":
        assert [(n.decode(), v.decode("latin-1")) for n, v in end.headers.raw_items()] == trailers


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_responses_through_h11(status: int) -> None:
    wire = response_head(status, [("ETag", '"x"')], content_length=10, chunked=False)
    response, end = h11_client_receive(wire, eof=False)
    assert response.status_code == status
    assert isinstance(end, h11.EndOfMessage)


def test_informational_response_through_h11() -> None:
    wire = response_head(100, server=None) + response_head(200, content_length=2) + b"ok"
    client = h11.Connection(h11.CLIENT)
    client.send(
        h11.Request(method="POST", target="/", headers=[("Host", "a"), ("Content-Length", "2")])
    )
    client.receive_data(wire)
    informational = client.next_event()
    assert isinstance(informational, h11.InformationalResponse)
    assert informational.status_code == 100
    response = client.next_event()
    assert isinstance(response, h11.Response)
    assert response.status_code == 200
    assert bytes(client.next_event().data) == b"ok"


# --- (d) differential against h11 as a server ---------------------------------------------------


def h11_server_receive(wire: bytes) -> tuple[h11.Request, bytes, list[Any], h11.Connection]:
    server = h11.Connection(h11.SERVER)
    server.receive_data(wire)
    request = server.next_event()
    assert isinstance(request, h11.Request)
    body = b""
    while True:
        event = server.next_event()
        if isinstance(event, h11.Data):
            body += bytes(event.data)
        else:
            assert isinstance(event, h11.EndOfMessage), event
            return request, body, list(event.headers), server


@given(requests(last=True, bws_ext=False))
def test_same_request_as_h11(generated: tuple[bytes, list[Event], dict]) -> None:
    wire, _, parts = generated
    events, error = run([wire])
    assert error is None
    ours = events[0]
    ours_body = events[1][1] if events[1][0] == "data" else b""
    ours_trailers = events[-1][1]
    theirs, body, trailers, server = h11_server_receive(wire)
    assert theirs.method.decode() == ours[1] == parts["method"]
    assert theirs.target.decode() == ours[2] == parts["target"]
    assert theirs.http_version.decode() == ours[5]
    # h11 lower-cases names; both trim OWS around values.
    assert [(n, v) for n, v in theirs.headers] == [
        (n.encode(), v.encode("latin-1")) for n, v in ours[6]
    ]
    assert body == ours_body == parts["body"]
    assert [(n.decode(), v.decode("latin-1")) for n, v in trailers] == ours_trailers
    # Keep-alive as h11 sees it: after a response, DONE (reusable) or MUST_CLOSE.
    server.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
    server.send(h11.EndOfMessage())
    h11_keep_alive = server.our_state is h11.DONE
    if parts["version"] == "1.1":
        assert h11_keep_alive == ours[8] == parts["keep_alive"]
    else:
        # Documented difference: h11 never keeps an HTTP/1.0 connection alive, while sws
        # honours "Connection: keep-alive" from a 1.0 client (RFC 9112 §9.3 allows both).
        assert not h11_keep_alive
        assert ours[8] == parts["keep_alive"]


H = b"Host: a\r\n"
POST = b"POST / HTTP/1.1\r\n" + H

# Inputs both implementations reject, for the same RFC rule.
BOTH_REJECT = [
    pytest.param(b"GET / HTTP/1.1\r\n\r\n", id="no-host"),  # RFC 9112 §3.2
    pytest.param(b"GET / HTTP/1.1\r\n" + H + H + b"\r\n", id="two-hosts"),
    pytest.param(POST + b"Transfer-Encoding: gzip\r\n\r\n", id="te-gzip"),  # both 501
    pytest.param(POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n", id="te-gzip-chunked"),
    # h11 answers 501 here; sws 400, as RFC 9112 §6.3 requires when chunked is not last.
    pytest.param(POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n", id="te-chunked-gzip"),
    # h11 answers 501 here; sws 400 (RFC 9112 §6.1: chunked MUST NOT be applied twice).
    pytest.param(
        POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", id="te-twice"
    ),
    pytest.param(POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", id="conflicting-cl"),
    *[
        pytest.param(POST + b"Content-Length: " + v + b"\r\n\r\n", id=f"cl-{v!r}")
        for v in (b"+5", b"5a", b"-1", b"0x5", b"")
    ],
    pytest.param(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", id="space-before-colon"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b": x\r\n\r\n", id="empty-name"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"X: a\rb\r\n\r\n", id="bare-cr-in-value"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n", id="nul-in-value"),
    pytest.param(b"G(T / HTTP/1.1\r\n" + H + b"\r\n", id="method-not-token"),
    pytest.param(b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", id="space-in-target"),
    pytest.param(b"GET  / HTTP/1.1\r\n" + H + b"\r\n", id="double-space"),
    pytest.param(b"GET / HTTP/1.x\r\n" + H + b"\r\n", id="garbage-version"),
    pytest.param(b"GET / http/1.1\r\n" + H + b"\r\n", id="lowercase-version"),
    pytest.param(POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", id="chunk-size-not-hex"),
    pytest.param(
        POST + b"Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", id="chunk-data-longer"
    ),
]

# Inputs sws rejects and h11 0.16 accepts. Documented differences, not asserted as agreement:
# - CL + TE: h11 lets chunked win (RFC 9112 §6.3 item 3 allows that); sws rejects (400), which
#   §6.1 also allows, closing the smuggling vector.
# - TE in HTTP/1.0: h11 honours it; sws rejects (RFC 9112 §6.1: the server MUST treat the
#   message as if the framing is faulty, i.e. close after it; rejecting is stricter).
# - obs-fold: h11 unfolds it; sws rejects (RFC 9112 §5.2 allows either).
# - bare LF as line terminator: h11 accepts; sws rejects (RFC 9112 §2.2 allows either).
# - control characters other than CR/LF/NUL, and DEL, in values: h11 accepts; sws rejects
#   (RFC 9110 §5.5 does not allow them in field-value).
# - HTTP/0.9 and HTTP/2.0 request lines: h11 returns them as requests; sws answers 505.
# - CONNECT, unknown Expect, asterisk-form for non-OPTIONS: h11 leaves them to the app; sws
#   answers 501 / 417 / 400.
ONLY_SWS_REJECTS = [
    pytest.param(
        POST + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", id="cl-and-te"
    ),
    pytest.param(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", id="te-http10"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n b\r\n\r\n", id="obs-fold"),
    pytest.param(b"GET / HTTP/1.1\nHost: a\n\n", id="bare-lf"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"X: a\x01b\r\n\r\n", id="ctl-in-value"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"X: a\x7fb\r\n\r\n", id="del-in-value"),
    pytest.param(b"GET / HTTP/2.0\r\n" + H + b"\r\n", id="http20"),
    pytest.param(b"GET / HTTP/0.9\r\n" + H + b"\r\n", id="http09"),
    pytest.param(b"CONNECT a:443 HTTP/1.1\r\n" + H + b"\r\n", id="connect"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"Expect: x\r\n\r\n", id="expect-unknown"),
    pytest.param(b"GET * HTTP/1.1\r\n" + H + b"\r\n", id="asterisk-get"),
]


# Valid input h11 0.16 rejects: whitespace before a chunk extension's ";" (RFC 9112 §7.1.1
# chunk-ext = *( BWS ";" BWS chunk-ext-name ... ) allows it; h11's chunk header regex does not).
ONLY_H11_REJECTS = [
    pytest.param(
        POST + b"Transfer-Encoding: chunked\r\n\r\n1 ;a\r\nx\r\n0\r\n\r\n",
        id="bws-before-chunk-ext",
    ),
]


def h11_rejects(wire: bytes) -> h11.RemoteProtocolError | None:
    server = h11.Connection(h11.SERVER)
    server.receive_data(wire)
    try:
        for _ in range(100):
            event = server.next_event()
            if event is h11.NEED_DATA or isinstance(event, h11.EndOfMessage):
                return None
    except h11.RemoteProtocolError as exc:
        return exc
    raise AssertionError("h11 never finished")


@pytest.mark.parametrize("wire", BOTH_REJECT)
def test_both_reject(wire: bytes) -> None:
    _, ours = run([wire], eof=False)
    theirs = h11_rejects(wire)
    assert ours is not None
    assert theirs is not None
    # The same status hint, except where chunked is repeated or not last (see the table).
    if b"chunked\r\nTransfer-Encoding: chunked" in wire or b"chunked, gzip" in wire:
        assert (ours, theirs.error_status_hint) == (400, 501)
    else:
        assert ours == theirs.error_status_hint


@pytest.mark.parametrize("wire", ONLY_SWS_REJECTS)
def test_documented_differences(wire: bytes) -> None:
    _, ours = run([wire], eof=False)
    assert ours is not None
    assert h11_rejects(wire) is None


@pytest.mark.parametrize("wire", ONLY_H11_REJECTS)
def test_documented_differences_h11_stricter(wire: bytes) -> None:
    _, ours = run([wire], eof=False)
    assert ours is None
    assert h11_rejects(wire) is not None
