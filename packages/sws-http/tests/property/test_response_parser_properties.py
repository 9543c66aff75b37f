"""Properties of `ResponseParser` (hypothesis), and differential tests against h11's client.

(a) Any split of a valid stream of responses gives the events the generator expects, and a
    stream that goes bad gives the same events and the same error (message included)
    however it is split, with or without small limits.
(b) Random bytes and mutated responses, fed in random splits, give only events or a
    ProtocolError with status_hint 502, and next_event always reaches NEED_DATA (no hang).
(c) Round trip: `response_head` + body (`chunk`/`last_chunk`) parse back to the same status,
    headers, body and trailers; `request_head` parses back with `RequestParser`.
(d) h11 as the client and ResponseParser agree on generated responses, and both reject a
    table of invalid ones; the documented differences are asserted as such.
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
    VCHARS,
    Event,
    cut_lists,
    fields,
    merge_data,
    mutated,
    ows,
    response_fields,
    split_at,
    tokens,
)

from sws_http.proto import (
    NEED_DATA,
    REASONS,
    Data,
    EndOfMessage,
    Headers,
    Request,
    RequestParser,
    ResponseParser,
    _response_parser,
    chunk,
    last_chunk,
    request_head,
    response_head,
)

# --- helpers ------------------------------------------------------------------------------------

_NO_TRAILERS = Headers([])

norm = testing.norm_response


def run(
    pieces: list[bytes], methods: list[str], eof: bool = True, **limits: int
) -> tuple[list[Event], str | None]:
    """Expect `methods`, feed the pieces in order, draining after each, then EOF; return the
    merged events and the error's message, or None. Bounded: each event consumes input or
    ends a message."""
    parser = ResponseParser(**limits)
    for method in methods:
        parser.expect(method)
    events, exc = testing.feed_pieces(parser, pieces, norm, eof=eof)
    if exc is None:
        return events, None
    assert exc.status_hint == 502
    assert exc.message
    return events, exc.message


# --- generated responses ------------------------------------------------------------------------
# The field strategies (`tokens`, `fields`, `ows`...), `mutated` and `cut_lists` are shared:
# they come from sws_http_testing.

# None: no SP after the status (h11 and curl accept it, and so do we).
reasons = st.none() | st.text(VCHARS + " \t", max_size=12)
methods = st.sampled_from(["GET", "GET", "HEAD", "POST", "DELETE"])


@st.composite
def head_lines(
    draw: st.DrawFn, first: str, headers: list[tuple[str, str]], lf: bool
) -> tuple[bytes, list[tuple[str, str]]]:
    """A head (or trailer section when `first` is "") with each line ended by CRLF, or
    also by a bare LF when `lf`; and the fields the parser must report."""
    wire = []
    if first:
        eol = draw(st.sampled_from(["\r\n", "\n"])) if lf else "\r\n"
        wire.append(f"{first}{eol}".encode("latin-1"))
    for name, value in headers:
        eol = draw(st.sampled_from(["\r\n", "\n"])) if lf else "\r\n"
        wire.append(f"{name}:{draw(ows)}{value}{draw(ows)}{eol}".encode("latin-1"))
    wire.append(b"\n" if lf and draw(st.booleans()) else b"\r\n")
    return b"".join(wire), [(n.lower(), v) for n, v in headers]


def status_line(version: str, status: int, reason: str | None) -> str:
    return f"HTTP/{version} {status}" + ("" if reason is None else f" {reason}")


@st.composite
def responses(
    draw: st.DrawFn, method: str, last: bool = True, lf: bool = True, bws_ext: bool = True
) -> tuple[bytes, list[Event], dict[str, Any]]:
    """One valid response to `method`, maybe after 1xx heads: its bytes, the events it must
    give, and its parts. Unless `last`, it keeps the connection alive. `lf`: bare LF line
    ends in heads and trailers; `bws_ext`: whitespace before a chunk extension's ";"."""
    version = draw(st.sampled_from(["1.1", "1.1", "1.1", "1.0"]))
    wire, expected = [], []
    if version == "1.1":
        for _ in range(draw(st.integers(0, 2))):
            status = draw(st.integers(100, 199).filter(lambda s: s != 101))
            reason = draw(reasons)
            raw, got = draw(head_lines(status_line("1.1", status, reason), draw(fields), lf))
            wire.append(raw)
            expected.append(("info", status, reason or "", "1.1", got))
    status = draw(st.integers(200, 599))
    reason = draw(reasons)
    body = draw(st.binary(max_size=64))
    headers = list(draw(fields))
    no_body = method == "HEAD" or status in (204, 304)
    if no_body:
        framing = "none"
        body = b""
        if draw(st.booleans()):  # what a GET would have had: not this response's framing
            headers.append(("Content-Length", str(draw(st.integers(0, 10**6)))))
    else:
        choices = ["cl"] + (["chunked"] if version == "1.1" else []) + (["close"] if last else [])
        framing = draw(st.sampled_from(choices))
    if framing == "cl":
        headers.insert(draw(st.integers(0, len(headers))), ("Content-Length", str(len(body))))
    elif framing == "chunked":
        headers.insert(draw(st.integers(0, len(headers))), ("Transfer-Encoding", "chunked"))
    close = framing == "close" or (last and draw(st.booleans()))
    if close and framing != "close" and version == "1.1":
        headers.append(("Connection", "close"))
    elif not close and version == "1.0":
        headers.append(("Connection", "keep-alive"))
    raw, got = draw(head_lines(status_line(version, status, reason), headers, lf))
    wire.append(raw)
    trailers: list[tuple[str, str]] = []
    if framing == "chunked":
        cuts = sorted(set(draw(st.lists(st.integers(0, len(body)), max_size=4))))
        start = 0
        for cut in [*cuts, len(body)]:
            if cut > start:
                exts = [b"", b";a", b";a=b", b';n="v v"', *([b' ; n="v"'] if bws_ext else [])]
                size = b"%x" % (cut - start)
                if draw(st.booleans()):
                    size = size.upper()
                wire.append(size + draw(st.sampled_from(exts)) + b"\r\n")
                wire.append(body[start:cut] + b"\r\n")
                start = cut
        wire.append(b"0\r\n")
        raw, trailers = draw(head_lines("", draw(fields), lf))
        wire.append(raw)
    else:
        wire.append(body)
    length = {"none": 0, "cl": len(body)}.get(framing)
    expected.append(("response", status, reason or "", version, got, not close, length))
    if body:
        expected.append(("data", body))
    expected.append(("eom", trailers))
    parts = {"status": status, "version": version, "framing": framing, "body": body}
    return b"".join(wire), expected, parts


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[str], list[Event]]:
    """Responses to a few pipelined requests; only the last may close the connection."""
    n = draw(st.integers(1, 4))
    data, sent, expected = b"", [], []
    for i in range(n):
        method = draw(methods)
        raw, events, _ = draw(responses(method, last=i == n - 1))
        data += raw
        sent.append(method)
        expected += events
    return data, sent, expected


# --- (a) the same events however the input is split ---------------------------------------------


# Limits small enough for generated responses to cross them, at any byte.
small_limits = st.fixed_dictionaries(
    {
        "max_header_bytes": st.integers(10, 200),
        "max_headers": st.integers(0, 6),
        "max_body_bytes": st.integers(0, 80),
    }
)


@given(streams(), cut_lists)
def test_valid_stream_any_split(
    stream: tuple[bytes, list[str], list[Event]], cuts: list[int]
) -> None:
    data, sent, expected = stream
    assert run([data], sent) == (expected, None)
    assert run(split_at(data, cuts), sent) == (expected, None)


@given(streams())
def test_valid_stream_byte_by_byte(stream: tuple[bytes, list[str], list[Event]]) -> None:
    data, sent, expected = stream
    assert run([data[i : i + 1] for i in range(len(data))], sent) == (expected, None)


def run_taking_bodies(pieces: list[bytes], methods: list[str]) -> list[Event]:
    """`run`, but a reader that asks `take_body` first at every step, as the client does:
    a whole body it returns stands for its Data (when not empty) and EndOfMessage."""
    parser = ResponseParser()
    for method in methods:
        parser.expect(method)
    events: list[Event] = []
    for piece in [*pieces, None]:
        if piece is None:
            parser.feed_eof()
        else:
            parser.feed(piece)
        for _ in range(10_000):
            body = parser.take_body()
            if body is not None:
                if body:
                    events.append(norm(Data(body)))
                events.append(norm(EndOfMessage(_NO_TRAILERS)))
                continue
            event = parser.next_event()
            if event is NEED_DATA:
                break
            events.append(norm(event))
    return merge_data(events)


@given(streams(), cut_lists)
def test_taking_whole_bodies_gives_the_same_events(
    stream: tuple[bytes, list[str], list[Event]], cuts: list[int]
) -> None:
    data, sent, expected = stream
    assert run_taking_bodies([data], sent) == expected
    assert run_taking_bodies(split_at(data, cuts), sent) == expected


@given(st.data(), cut_lists)
def test_bad_stream_same_events_and_error_any_split(data: st.DataObject, cuts: list[int]) -> None:
    good, sent, _ = data.draw(streams())
    method = data.draw(methods)
    raw, _, _ = data.draw(responses(method))
    stream = good + data.draw(mutated(raw))
    at_once = run([stream], [*sent, method])
    assert run(split_at(stream, cuts), [*sent, method]) == at_once
    assert run([stream[i : i + 1] for i in range(len(stream))], [*sent, method]) == at_once


@given(st.data(), cut_lists)
def test_small_limits_same_verdict_any_split(data: st.DataObject, cuts: list[int]) -> None:
    limits = data.draw(small_limits)
    stream, sent, _ = data.draw(streams())
    if data.draw(st.booleans()):
        stream = data.draw(mutated(stream))
    at_once = run([stream], sent, **limits)
    assert run(split_at(stream, cuts), sent, **limits) == at_once


@given(st.data(), cut_lists)
def test_remembered_heads_parse_as_the_first_time(data: st.DataObject, cuts: list[int]) -> None:
    # Final response heads are remembered per set of limits: met again they must give the
    # same events, and one accepted under loose limits must still fail tight ones.
    limits = data.draw(small_limits)
    stream, sent, expected = data.draw(streams())
    _response_parser._head_caches.clear()
    first_tight = run([stream], sent, **limits)
    _response_parser._head_caches.clear()
    assert run([stream], sent) == (expected, None)
    assert run(split_at(stream, cuts), sent) == (expected, None)
    assert run([stream], sent, **limits) == first_tight
    assert run([stream], sent, **limits) == first_tight


# --- (b) random input gives only events or ProtocolError -----------------------------------------


@given(st.binary(max_size=300), cut_lists, methods)
def test_random_bytes_only_protocol_error(raw: bytes, cuts: list[int], method: str) -> None:
    run(split_at(raw, cuts), [method])
    run(split_at(b"HTTP/1.1 200 OK\r\n" + raw, cuts), [method])
    run(split_at(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + raw, cuts), [method])


@given(st.data(), cut_lists)
def test_mutated_responses_only_protocol_error(data: st.DataObject, cuts: list[int]) -> None:
    stream, sent, _ = data.draw(streams())
    bad = data.draw(mutated(stream))
    run(split_at(bad, cuts), sent)
    run(split_at(bad, cuts), sent, max_header_bytes=40, max_headers=2, max_body_bytes=16)


# --- (c) round trips ----------------------------------------------------------------------------


@given(
    st.lists(st.integers(100, 199).filter(lambda s: s != 101), max_size=2),
    st.integers(200, 599),
    response_fields,
    st.lists(st.binary(max_size=40), max_size=5),
    st.sampled_from(["length", "chunked", "close"]),
    st.booleans(),
    fields,
    st.sampled_from(["GET", "HEAD"]),
)
def test_response_head_round_trip(
    informational: list[int],
    status: int,
    headers: list[tuple[str, str]],
    pieces: list[bytes],
    framing: str,
    keep_alive: bool,
    trailers: list[tuple[str, str]],
    method: str,
) -> None:
    date = b"Thu, 01 Jan 1970 00:00:00 GMT"
    wire = b"".join(response_head(s, server=None) for s in informational)
    body = b"".join(pieces)
    no_body = method == "HEAD" or status in (204, 304)
    if framing == "length":
        wire += response_head(
            status, headers, content_length=len(body), keep_alive=keep_alive, date=date
        )
    elif framing == "chunked":
        wire += response_head(status, headers, chunked=True, keep_alive=keep_alive, date=date)
    else:
        wire += response_head(status, headers, keep_alive=False, date=date)
    if not no_body:
        if framing == "chunked":
            wire += b"".join(chunk(p) for p in pieces) + last_chunk(trailers)
        else:
            wire += body
    events, error = run([wire], [method])
    assert error is None
    for event, code in zip(events, informational, strict=False):
        assert event == ("info", code, REASONS.get(code, ""), "1.1", [])
    response, *rest = events[len(informational) :]
    assert response[:4] == ("response", status, REASONS.get(status, ""), "1.1")
    expected_headers = [("date", date.decode()), ("server", "sws")]
    expected_headers += [(n.lower(), v) for n, v in headers]
    if status not in (204, 304):  # response_head writes no framing fields for those
        if framing == "length":
            expected_headers.append(("content-length", str(len(body))))
        elif framing == "chunked":
            expected_headers.append(("transfer-encoding", "chunked"))
    if framing == "close" or not keep_alive:
        expected_headers.append(("connection", "close"))
    assert response[4] == expected_headers
    assert response[5] == (keep_alive and framing != "close")
    if no_body:
        assert response[6] == 0
    else:
        assert response[6] == (len(body) if framing == "length" else None)
    got_body = b"".join(e[1] for e in rest if e[0] == "data")
    assert got_body == (b"" if no_body else body)
    got_trailers = rest[-1][1]
    has_trailers = framing == "chunked" and not no_body
    assert got_trailers == ([(n.lower(), v) for n, v in trailers] if has_trailers else [])


@given(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) | tokens,
    st.lists(st.text(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@%", max_size=6)),
    st.text(string.ascii_lowercase + string.digits + ".-", max_size=12),
    fields,
    st.sampled_from(["none", "length", "chunked"]),
    st.booleans(),
    st.binary(max_size=40),
)
def test_request_head_round_trip(
    method: str,
    segments: list[str],
    host: str,
    headers: list[tuple[str, str]],
    framing: str,
    keep_alive: bool,
    body: bytes,
) -> None:
    target = "/" + "/".join(segments)
    if method == "CONNECT":
        method = "GET"  # RequestParser answers CONNECT with 501
    if framing == "length":
        wire = request_head(method, target, host, headers, content_length=len(body))
    elif framing == "chunked":
        wire = request_head(method, target, host, headers, chunked=True)
    else:
        wire = request_head(method, target, host, headers, keep_alive=keep_alive)
        body = b""
    if framing == "chunked":
        wire += chunk(body) + last_chunk()
    else:
        wire += body
    parser = RequestParser()
    parser.feed(wire)
    request = parser.next_event()
    assert isinstance(request, Request)
    assert (request.method, request.target, request.host) == (method, target, host)
    assert request.headers.items()[0] == ("host", host)
    assert request.headers.items()[1 : 1 + len(headers)] == [(n.lower(), v) for n, v in headers]
    assert request.keep_alive == (keep_alive or framing != "none")
    got = b""
    while isinstance(event := parser.next_event(), Data):
        got += event.data
    assert isinstance(event, EndOfMessage)
    assert got == body


# --- (d) differential against h11 as a client ---------------------------------------------------


def h11_client(wire: bytes, method: str, eof: bool) -> tuple[list[Event], bool]:
    """h11's events for `wire` as the response to `method`, in our tuple form, and whether
    h11 would reuse the connection after it."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=method, target="/", headers=[("Host", "a")]))
    client.send(h11.EndOfMessage())
    client.receive_data(wire)
    if eof:
        client.receive_data(b"")
    events: list[Event] = []
    for _ in range(1000):
        event = client.next_event()
        if isinstance(event, h11.InformationalResponse | h11.Response):
            fields = [(n.decode(), v.decode("latin-1")) for n, v in event.headers]
            events.append(
                (
                    "info" if isinstance(event, h11.InformationalResponse) else "response",
                    event.status_code,
                    event.reason.decode("latin-1"),
                    event.http_version.decode(),
                    fields,
                )
            )
        elif isinstance(event, h11.Data):
            events.append(("data", bytes(event.data)))
        elif isinstance(event, h11.EndOfMessage):
            trailers = [(n.decode(), v.decode("latin-1")) for n, v in event.headers]
            events.append(("eom", trailers))
            return merge_data(events), client.their_state is h11.DONE
        else:
            raise AssertionError(f"h11 stopped at {event!r}")
    raise AssertionError("h11 never finished")


@given(st.data())
def test_same_response_as_h11(data: st.DataObject) -> None:
    method = data.draw(methods)
    # h11 rejects whitespace before a chunk extension, and collapses repeated fields that
    # sws keeps; the generator writes neither.
    wire, expected, parts = data.draw(responses(method, bws_ext=False))
    eof = parts["framing"] == "close"
    ours, error = run([wire], [method], eof=eof)
    assert error is None
    assert ours == expected
    theirs, h11_keep_alive = h11_client(wire, method, eof)
    # Same heads (h11 has no keep_alive or content_length field), bodies and trailers.
    assert [e[:5] for e in theirs] == [e[:5] for e in ours]
    keep_alive = next(e for e in ours if e[0] == "response")[5]
    if eof:
        # A close-delimited body ends with the connection: sws says keep_alive=False; h11
        # leaves its state DONE, with the receive side already closed.
        assert not keep_alive
    elif parts["version"] == "1.1":
        assert h11_keep_alive == keep_alive
    else:
        # Documented difference: h11 never reuses an HTTP/1.0 connection; sws does when
        # the server sends "Connection: keep-alive" and the length is known (RFC 9112 §9.3).
        assert not h11_keep_alive


OK = b"HTTP/1.1 200 OK\r\n"
TE = b"Transfer-Encoding: chunked\r\n"

# Responses both implementations reject, for the same RFC rule.
BOTH_REJECT = [
    pytest.param(OK + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", id="conflicting-cl"),
    *[
        pytest.param(OK + b"Content-Length: " + v + b"\r\n\r\n", id=f"cl-{v!r}")
        for v in (b"+5", b"5a", b"-1", b"0x5", b"")
    ],
    pytest.param(OK + b"Transfer-Encoding: chunked, chunked\r\n\r\n", id="te-chunked-twice"),
    pytest.param(OK + b"X : a\r\n\r\n", id="space-before-colon"),
    pytest.param(OK + b": a\r\n\r\n", id="empty-name"),
    pytest.param(OK + b"X: a\rb\r\n\r\n", id="bare-cr-in-value"),
    pytest.param(OK + b"X: a\x00b\r\n\r\n", id="nul-in-value"),
    pytest.param(b"HTTP/1.1 2x0 OK\r\n\r\n", id="status-not-digits"),
    pytest.param(b"HTTP/1.1 200OK\r\n\r\n", id="no-sp-before-reason"),
    pytest.param(b"HTTP/1.1 099 X\r\n\r\n", id="status-below-100"),
    pytest.param(b"HTTP/1.x 200 OK\r\n\r\n", id="garbage-version"),
    pytest.param(b"\r\nHTTP/1.1 200 OK\r\n\r\n", id="leading-empty-line"),
    pytest.param(OK + TE + b"\r\nzz\r\n", id="chunk-size-not-hex"),
    pytest.param(OK + TE + b"\r\n5\nhello\r\n0\r\n\r\n", id="chunk-size-bare-lf"),
    pytest.param(OK + TE + b"\r\n3\r\nhello\r\n0\r\n\r\n", id="chunk-data-longer"),
]

# Responses sws rejects and h11 0.16 accepts. Documented differences:
# - CL + TE: h11 lets chunked win (RFC 9112 §6.3 item 3); sws rejects, as the same item says
#   such a message "ought to be handled as an error" (response splitting).
# - TE in HTTP/1.0: h11 honours it; sws rejects (RFC 9112 §6.1: faulty framing).
# - obs-fold: h11 unfolds it; sws rejects (RFC 9112 §5.2 allows either).
# - control characters other than CR/LF/NUL, and DEL, in values or the reason: h11 accepts;
#   sws rejects (RFC 9110 §5.5, RFC 9112 §4 do not allow them).
# - statuses 600-999 and HTTP/2.0 or 0.9 status lines: h11 returns them; sws rejects (RFC
#   9110 §15: valid codes are 100-599; only HTTP/1.x is spoken here).
ONLY_SWS_REJECTS = [
    pytest.param(OK + b"Content-Length: 1\r\n" + TE + b"\r\n0\r\n\r\n", id="cl-and-te"),
    pytest.param(b"HTTP/1.0 200 OK\r\n" + TE + b"\r\n0\r\n\r\n", id="te-http10"),
    pytest.param(OK + b"X: a\r\n b\r\nContent-Length: 0\r\n\r\n", id="obs-fold"),
    pytest.param(OK + b"X: a\x01b\r\nContent-Length: 0\r\n\r\n", id="ctl-in-value"),
    pytest.param(OK + b"X: a\x7fb\r\nContent-Length: 0\r\n\r\n", id="del-in-value"),
    pytest.param(b"HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n", id="ctl-in-reason"),
    pytest.param(b"HTTP/1.1 600 X\r\nContent-Length: 0\r\n\r\n", id="status-600"),
    pytest.param(b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", id="http20"),
    pytest.param(b"HTTP/0.9 200 OK\r\nContent-Length: 0\r\n\r\n", id="http09"),
]

# Responses h11 0.16 rejects and sws accepts. Documented differences:
# - a transfer coding other than chunked: h11 refuses it (501); sws follows RFC 9112 §6.3
#   item 4 and reads the body until close (chunked not last included).
# - whitespace before a chunk extension's ";": RFC 9112 §7.1.1 allows it (BWS); h11 not.
# - 101 without an Upgrade request: h11 refuses it; sws returns it and stops, leaving the
#   decision to the caller, which knows what it asked for.
ONLY_H11_REJECTS = [
    pytest.param(OK + b"Transfer-Encoding: gzip\r\n\r\nx", id="te-gzip"),
    pytest.param(OK + b"Transfer-Encoding: chunked, gzip\r\n\r\nx", id="te-chunked-not-last"),
    pytest.param(OK + TE + b"\r\n1 ;a\r\nx\r\n0\r\n\r\n", id="bws-before-chunk-ext"),
    pytest.param(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", id="101-unasked"),
]


def h11_rejects(wire: bytes) -> bool:
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "a")]))
    client.send(h11.EndOfMessage())
    client.receive_data(wire)
    client.receive_data(b"")
    try:
        for _ in range(100):
            event = client.next_event()
            if event is h11.NEED_DATA or isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return False
    except h11.RemoteProtocolError:
        return True
    raise AssertionError("h11 never finished")


@pytest.mark.parametrize("wire", BOTH_REJECT)
def test_both_reject(wire: bytes) -> None:
    _, ours = run([wire], ["GET"])
    assert ours is not None
    assert h11_rejects(wire)


@pytest.mark.parametrize("wire", ONLY_SWS_REJECTS)
def test_documented_differences(wire: bytes) -> None:
    _, ours = run([wire], ["GET"])
    assert ours is not None
    assert not h11_rejects(wire)


@pytest.mark.parametrize("wire", ONLY_H11_REJECTS)
def test_documented_differences_h11_stricter(wire: bytes) -> None:
    _, ours = run([wire], ["GET"])
    assert ours is None
    assert h11_rejects(wire)
