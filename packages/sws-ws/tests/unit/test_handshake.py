"""The opening handshake (sws_ws.proto._handshake): RFC 6455 §4.2 acceptance and rejection,
subprotocol choice, and permessage-deflate negotiation (RFC 7692 §7.1).
"""

from __future__ import annotations

from typing import Any

import pytest

from sws_ws.proto import (
    DeflateParams,
    HandshakeError,
    accept_key,
    parse_extensions,
    server_handshake,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
BASE = [
    ("host", "server.example.com"),
    ("upgrade", "websocket"),
    ("connection", "Upgrade"),
    ("sec-websocket-key", KEY),
    ("sec-websocket-version", "13"),
]


def request(*extra: tuple[str, str], drop: str = "", **kwargs: Any) -> Any:
    headers = [(n, v) for n, v in BASE if n != drop] + list(extra)
    return server_handshake("GET", "1.1", headers, **kwargs)


def replace(name: str, value: str) -> list[tuple[str, str]]:
    return [(n, value if n == name else v) for n, v in BASE]


def test_accept_key_rfc_6455_vector() -> None:
    # RFC 6455 §1.3
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_accepted_handshake_response_headers() -> None:
    hs = request()
    assert hs.subprotocol is None
    assert hs.deflate is None
    assert hs.response_headers == [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
    ]


@pytest.mark.parametrize(
    "headers",
    [
        replace("upgrade", "WebSocket"),
        replace("connection", "keep-alive, Upgrade"),  # Firefox
        replace("connection", "UPGRADE"),
        replace("upgrade", "h2c, websocket"),
        [*BASE, ("connection", "keep-alive")],  # tokens over repeated fields
        [(n, v) for n, v in BASE if n != "connection"]
        + [("connection", "keep-alive"), ("connection", "upgrade")],
        replace("sec-websocket-version", " 13 "),
    ],
)
def test_accepted_variants(headers: list[tuple[str, str]]) -> None:
    hs = server_handshake("GET", "1.1", headers)
    assert ("Sec-WebSocket-Accept", accept_key(KEY)) in hs.response_headers


@pytest.mark.parametrize("version", ["1.1", "HTTP/1.1", "2", "2.0", "1.2"])
def test_http_versions_accepted(version: str) -> None:
    server_handshake("GET", version, BASE)


@pytest.mark.parametrize(
    ("method", "version", "headers", "match"),
    [
        ("POST", "1.1", BASE, "uses GET, got 'POST'"),
        ("get", "1.1", BASE, "uses GET"),
        ("GET", "1.0", BASE, "http/1.1 or later, got '1.0'"),
        ("GET", "0.9", BASE, "http/1.1 or later"),
        ("GET", "x", BASE, "http/1.1 or later"),
        ("GET", "1.1", [h for h in BASE if h[0] != "upgrade"], "lacks 'websocket'"),
        ("GET", "1.1", replace("upgrade", "h2c"), "upgrade header 'h2c' lacks 'websocket'"),
        ("GET", "1.1", replace("upgrade", "websocketx"), "lacks 'websocket'"),
        ("GET", "1.1", [h for h in BASE if h[0] != "connection"], "lacks 'upgrade'"),
        ("GET", "1.1", replace("connection", "keep-alive"), "lacks 'upgrade'"),
        ("GET", "1.1", [h for h in BASE if h[0] != "sec-websocket-key"], "got 0 times"),
        ("GET", "1.1", [*BASE, ("sec-websocket-key", KEY)], "got 2 times"),
        ("GET", "1.1", replace("sec-websocket-key", ""), "base64 of 16 bytes"),
        ("GET", "1.1", replace("sec-websocket-key", "not base64!"), "base64 of 16 bytes"),
        ("GET", "1.1", replace("sec-websocket-key", "AAAA"), "base64 of 16 bytes, got 'AAAA'"),
        ("GET", "1.1", replace("sec-websocket-key", "AAAAAAAAAAAAAAAAAAAAAAA="), "16 bytes"),
        ("GET", "1.1", replace("sec-websocket-key", KEY[:-2]), "16 bytes"),  # no padding
    ],
)
def test_rejected_with_400(
    method: str, version: str, headers: list[tuple[str, str]], match: str
) -> None:
    with pytest.raises(HandshakeError, match=match) as info:
        server_handshake(method, version, headers)
    assert info.value.status == 400
    assert info.value.headers == []


@pytest.mark.parametrize(
    "headers",
    [
        replace("sec-websocket-version", "8"),
        replace("sec-websocket-version", "13, 8"),
        replace("sec-websocket-version", "14"),
        [h for h in BASE if h[0] != "sec-websocket-version"],
        [*BASE, ("sec-websocket-version", "13")],
    ],
)
def test_wrong_version_is_426_with_our_version(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(HandshakeError, match="sec-websocket-version must be 13") as info:
        server_handshake("GET", "1.1", headers)
    assert info.value.status == 426
    assert info.value.headers == [("Sec-WebSocket-Version", "13")]
    assert repr(info.value).startswith("HandshakeError(")


# --- subprotocols -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "supported", "chosen"),
    [
        ([], ["chat"], None),
        (["chat"], [], None),
        (["chat"], ["chat"], "chat"),
        (["a, b"], ["b", "a"], "a"),  # the client's order wins
        (["x", "b"], ["a", "b"], "b"),  # repeated fields are one list
        (["  , b ,"], ["b"], "b"),  # empty elements
        (["Chat"], ["chat"], None),  # exact match
        (["x, y"], ["z"], None),
    ],
)
def test_subprotocol_choice(offered: list[str], supported: list[str], chosen: str | None) -> None:
    headers = [("sec-websocket-protocol", value) for value in offered]
    hs = request(*headers, subprotocols=supported)
    assert hs.subprotocol == chosen
    protocol = [v for n, v in hs.response_headers if n == "Sec-WebSocket-Protocol"]
    assert protocol == ([chosen] if chosen else [])


# --- permessage-deflate -------------------------------------------------------------------------


def negotiate(*offers: str, **kwargs: Any) -> tuple[str | None, DeflateParams | None]:
    headers = [("sec-websocket-extensions", offer) for offer in offers]
    hs = request(*headers, **kwargs)
    answer = [v for n, v in hs.response_headers if n == "Sec-WebSocket-Extensions"]
    assert len(answer) <= 1
    assert (hs.deflate is None) == (not answer)
    return (answer[0] if answer else None), hs.deflate


@pytest.mark.parametrize(
    ("offer", "answer", "params"),
    [
        ("permessage-deflate", "permessage-deflate", (False, False, 15, 15)),
        (
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate",
            (False, False, 15, 15),
        ),
        (
            "permessage-deflate; client_max_window_bits=10",
            "permessage-deflate; client_max_window_bits=10",
            (False, False, 15, 10),
        ),
        (
            "permessage-deflate; server_max_window_bits=12",
            "permessage-deflate; server_max_window_bits=12",
            (False, False, 12, 15),
        ),
        (
            "permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; server_max_window_bits=8",
            (False, False, 8, 15),
        ),
        (
            "permessage-deflate; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover",
            (True, False, 15, 15),
        ),
        (
            "permessage-deflate; client_no_context_takeover",
            "permessage-deflate; client_no_context_takeover",
            (False, True, 15, 15),
        ),
        # Autobahn's default offer, and its 13.5 offer
        (
            "permessage-deflate; client_no_context_takeover; client_max_window_bits",
            "permessage-deflate; client_no_context_takeover",
            (False, True, 15, 15),
        ),
        (
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
            "server_no_context_takeover; server_max_window_bits=8",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=8",
            (True, True, 8, 15),
        ),
        # quoted values, spacing, case
        (
            'permessage-deflate ;  server_max_window_bits = "10"',
            "permessage-deflate; server_max_window_bits=10",
            (False, False, 10, 15),
        ),
        ("PerMessage-Deflate", "permessage-deflate", (False, False, 15, 15)),
    ],
)
def test_deflate_offers_accepted(
    offer: str, answer: str, params: tuple[bool, bool, int, int]
) -> None:
    got_answer, got = negotiate(offer)
    assert got_answer == answer
    assert got == DeflateParams(*params)


@pytest.mark.parametrize(
    "offer",
    [
        "permessage-deflate; unknown",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=true",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits=abc",
        "permessage-deflate; client_max_window_bits=0",
        'permessage-deflate; server_max_window_bits="1 0"',
        'permessage-deflate; server_max_window_bits="10',
        "permessage-deflate; = 10",
        "permessage-deflate;; server_no_context_takeover",
        "permessage-deflate server_no_context_takeover",
        "x-webkit-deflate-frame",
        "deflate-frame; no_context_takeover",
        "",
        " , ,",
    ],
)
def test_invalid_or_foreign_offers_are_declined(offer: str) -> None:
    assert negotiate(offer) == (None, None)


@pytest.mark.parametrize(
    ("offers", "answer"),
    [
        # Autobahn 13.7: the first acceptable offer wins
        (
            [
                "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
                "server_no_context_takeover; server_max_window_bits=8, "
                "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
                "server_no_context_takeover, "
                "permessage-deflate; client_no_context_takeover; client_max_window_bits"
            ],
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=8",
        ),
        (["permessage-deflate; bogus, permessage-deflate"], "permessage-deflate"),
        (["x-foo; a=1, permessage-deflate"], "permessage-deflate"),
        (["permessage-deflate; bogus", "permessage-deflate"], "permessage-deflate"),
        (
            [
                'permessage-deflate; x="a, permessage-deflate", permessage-deflate; '
                "server_max_window_bits=9"
            ],
            "permessage-deflate; server_max_window_bits=9",
        ),
        (['permessage-deflate; junk"; more, permessage-deflate'], "permessage-deflate"),
    ],
)
def test_several_offers(offers: list[str], answer: str) -> None:
    assert negotiate(*offers)[0] == answer


def test_server_settings_shape_the_answer() -> None:
    answer, params = negotiate(
        "permessage-deflate; client_max_window_bits",
        server_no_context_takeover=True,
        server_max_window_bits=10,
        client_no_context_takeover=True,
        client_max_window_bits=12,
    )
    assert answer == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=10; client_max_window_bits=12"
    )
    assert params == DeflateParams(True, True, 10, 12)


def test_server_window_is_the_smaller_of_offer_and_setting() -> None:
    answer, params = negotiate(
        "permessage-deflate; server_max_window_bits=12", server_max_window_bits=14
    )
    assert answer == "permessage-deflate; server_max_window_bits=12"
    answer, params = negotiate(
        "permessage-deflate; server_max_window_bits=12", server_max_window_bits=9
    )
    assert answer == "permessage-deflate; server_max_window_bits=9"
    assert params is not None
    assert params.server_max_window_bits == 9


def test_client_window_setting_needs_the_clients_parameter() -> None:
    # RFC 7692 §7.1.2.2: no client_max_window_bits in the offer, none in the answer.
    answer, params = negotiate("permessage-deflate", client_max_window_bits=10)
    assert answer == "permessage-deflate"
    assert params == DeflateParams()
    answer, params = negotiate(
        "permessage-deflate; client_max_window_bits=9", client_max_window_bits=10
    )
    assert answer == "permessage-deflate; client_max_window_bits=9"


def test_deflate_disabled() -> None:
    assert negotiate("permessage-deflate", deflate=False) == (None, None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"server_max_window_bits": 7},
        {"server_max_window_bits": 16},
        {"client_max_window_bits": 8},
        {"client_max_window_bits": 16},
    ],
)
def test_bad_settings_raise_value_error(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="window_bits"):
        request(**kwargs)


def test_parse_extensions() -> None:
    assert parse_extensions('a; b; c=1; d="x\\"y", e ; f = "g" ,, h;i=j') == [
        ("a", None),  # the quoted value is not a token once unquoted
        ("e", [("f", "g")]),
        ("h", [("i", "j")]),
    ]
    assert parse_extensions("permessage-deflate; a=b") == [("permessage-deflate", [("a", "b")])]
    assert parse_extensions("") == []
    assert parse_extensions("@@@, x") == [("", None), ("x", [])]
