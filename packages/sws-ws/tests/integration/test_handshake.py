"""The opening handshake on a real connection (RFC 6455 §4.2): what is refused and with
which status, subprotocol selection, the Origin check, middleware on the handshake, and
what the handler learns of the request (path parameters, query, headers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from sws_http import Context
from sws_ws import Server, WebSocket

pytestmark = pytest.mark.integration

WAIT_S = 10.0
ALLOWED_ORIGIN = "https://ok.example"


def build_app(record: Any) -> Server:
    app = Server()

    def token_required(ctx: Context, call_next: Callable[[], Any]) -> Any:
        record.add("middleware", ctx.path)
        if ctx.path.startswith("/private") and ctx.query.get("token") != "secret":
            ctx.text("unauthorized", status=401)
            return None  # the handshake handler never runs
        result = call_next()
        ctx.header("x-middleware", f"saw {ctx.status}")  # on the 101 too
        return result

    app.use(token_required)

    class Describe:
        """Sends, on open, what the connection knows of its request."""

        def on_open(self, ws: WebSocket) -> None:
            ws.send(
                json.dumps(
                    {
                        "path": ws.path,
                        "params": ws.params,
                        "query": ws.query,
                        "subprotocol": ws.subprotocol,
                        "x-custom": ws.headers.get("x-custom"),
                    }
                )
            )

        def on_message(self, ws: WebSocket, message: str | bytes) -> None:
            ws.send(message)

    app.ws("/echo")(Describe)
    app.ws("/rooms/{room}/users/{user}")(Describe)
    app.ws("/proto", subprotocols=["a", "b"])(Describe)
    app.ws("/origin-list", origins=[ALLOWED_ORIGIN])(Describe)
    app.ws("/origin-fn", origins=lambda origin: origin is None or origin.endswith(".ok"))(Describe)
    app.ws("/private")(Describe)

    @app.get("/http")
    def http(ctx: Context) -> None:
        ctx.text("plain http")

    return app


@pytest.fixture
def served(serve: Callable[..., Any], record: Any) -> Any:
    return serve(build_app(record))


def opened(client: Any) -> dict[str, Any]:
    """The description the server sends first."""
    info: dict[str, Any] = json.loads(client.recv(WAIT_S))
    return info


# --- refused upgrades ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_kw", "status"),
    [
        ({"skip": ("sec-websocket-key",)}, 400),
        ({"sec_websocket_key": "not base64!"}, 400),
        ({"sec_websocket_key": "c2hvcnQ="}, 400),  # base64, but of 5 bytes
        ({"skip": ("upgrade",)}, 400),
        ({"upgrade": "h2c"}, 400),
        ({"skip": ("connection",)}, 400),
        ({"connection": "keep-alive"}, 400),
        ({"sec_websocket_version": "8"}, 426),
        ({"skip": ("sec-websocket-version",)}, 426),
    ],
    ids=[
        "no-key",
        "key-not-base64",
        "key-of-5-bytes",
        "no-upgrade",
        "upgrade-h2c",
        "no-connection",
        "connection-without-upgrade",
        "version-8",
        "no-version",
    ],
)
def test_an_invalid_upgrade_is_refused(
    served: Any, raw: Any, request_kw: dict[str, Any], status: int
) -> None:
    client = raw.connect(served.port)
    client.send_upgrade("/echo", **request_kw)
    resp = client.read_head()
    assert resp.status == status
    if status == 426:
        assert resp.header("sec-websocket-version") == "13"  # RFC 6455 §4.2.2
    assert resp.header("upgrade") is None
    assert resp.header("sec-websocket-accept") is None
    # Still HTTP afterwards: the connection was never switched.
    client.send(b"GET /http HTTP/1.1\r\nHost: t\r\n\r\n")
    again = client.read_head()
    assert (again.status, again.body) == (200, b"plain http")


@pytest.mark.parametrize(
    "request_kw",
    [
        {"connection": "keep-alive, Upgrade"},  # what Firefox sends
        {"upgrade": "WebSocket", "connection": "upgrade"},  # tokens are case-insensitive
        {"sec_websocket_extensions": "x-unknown, permessage-deflate; bogus=1"},
    ],
    ids=["connection-list", "token-case", "unknown-extensions"],
)
def test_a_valid_upgrade_in_other_words_is_accepted(
    served: Any, raw: Any, request_kw: dict[str, str]
) -> None:
    client = raw.connect(served.port)
    resp = client.handshake("/echo", **request_kw)
    assert resp.header("sec-websocket-extensions") is None  # nothing acceptable offered
    assert json.loads(client.read_frame().payload)["path"] == "/echo"


def test_an_upgrade_after_a_plain_request_on_the_same_connection(served: Any, raw: Any) -> None:
    client = raw.connect(served.port)
    client.send(b"GET /http HTTP/1.1\r\nHost: t\r\n\r\n")
    assert client.read_head().body == b"plain http"
    client.handshake("/echo")  # keep-alive, then the switch
    assert json.loads(client.read_frame().payload)["path"] == "/echo"
    client.send_frame(0x1, b"on the same socket")
    assert client.read_frame().payload == b"on the same socket"


def test_frames_sent_with_the_upgrade_request_are_not_lost(served: Any, raw: Any) -> None:
    client = raw.connect(served.port)
    client.send_upgrade("/echo")
    client.send_frames((0x1, b"early"))  # likely in the same read as the request
    assert client.read_head().status == 101
    assert json.loads(client.read_frame().payload)["path"] == "/echo"
    assert client.read_frame().payload == b"early"


def test_a_plain_get_on_a_websocket_route_is_never_a_200(served: Any, raw: Any) -> None:
    client = raw.connect(served.port)
    client.send(b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
    resp = client.read_head()
    assert resp.status in (400, 426)


def test_a_head_on_a_websocket_route_is_not_an_upgrade(served: Any, raw: Any) -> None:
    client = raw.connect(served.port)
    client.send_upgrade("/echo", method="HEAD")
    assert client.read_head(body=False).status in (400, 405)


def test_a_post_on_a_websocket_route_is_405(served: Any, raw: Any) -> None:
    client = raw.connect(served.port)
    client.send_upgrade("/echo", method="POST", content_length="0")
    resp = client.read_head()
    assert resp.status == 405
    allow = resp.header("allow")
    assert allow is not None
    assert "GET" in allow


def test_an_http_10_upgrade_is_refused(served: Any, raw: Any) -> None:
    client = raw.connect(served.port)
    client.send_upgrade("/echo", version="1.0")
    assert client.read_head().status == 400


def test_the_websockets_client_reports_a_refused_upgrade_as_invalid_status(
    served: Any, ws_clients: Any
) -> None:
    with pytest.raises(InvalidStatus) as info:
        ws_clients.connect(served.url("/nowhere"))
    assert info.value.response.status_code == 404


# --- subprotocols -------------------------------------------------------------------------------


def test_the_first_subprotocol_in_the_clients_order_is_chosen(served: Any, ws_clients: Any) -> None:
    client = ws_clients.connect(served.url("/proto"), subprotocols=["b", "a"])
    assert client.subprotocol == "b"
    assert client.response.headers.get("Sec-WebSocket-Protocol") == "b"
    assert opened(client)["subprotocol"] == "b"


def test_no_subprotocol_when_none_is_shared(served: Any, raw: Any) -> None:
    client = raw.connect(served.port)
    resp = client.handshake("/proto", sec_websocket_protocol="c, d")
    assert resp.header("sec-websocket-protocol") is None


def test_a_route_without_subprotocols_chooses_none(served: Any, ws_clients: Any) -> None:
    client = ws_clients.connect(served.url("/echo"))  # the client offers none
    assert client.subprotocol is None
    assert opened(client)["subprotocol"] is None


# --- Origin -------------------------------------------------------------------------------------


def test_an_allowed_origin_connects(served: Any, ws_clients: Any) -> None:
    client = ws_clients.connect(served.url("/origin-list"), origin=ALLOWED_ORIGIN)
    assert opened(client)["path"] == "/origin-list"


@pytest.mark.parametrize("origin", ["https://evil.example", None])
def test_another_origin_is_refused_with_403(
    served: Any, ws_clients: Any, origin: str | None
) -> None:
    with pytest.raises(InvalidStatus) as info:
        ws_clients.connect(served.url("/origin-list"), origin=origin)
    assert info.value.response.status_code == 403


@pytest.mark.parametrize(
    ("origin", "ok"), [("https://a.ok", True), (None, True), ("https://a.no", False)]
)
def test_an_origin_function_decides(
    served: Any, ws_clients: Any, origin: str | None, ok: bool
) -> None:
    if ok:
        client = ws_clients.connect(served.url("/origin-fn"), origin=origin)
        assert opened(client)["path"] == "/origin-fn"
    else:
        with pytest.raises(InvalidStatus) as info:
            ws_clients.connect(served.url("/origin-fn"), origin=origin)
        assert info.value.response.status_code == 403


# --- middleware ---------------------------------------------------------------------------------


def test_middleware_refusing_the_handshake_gives_invalid_status(
    served: Any, ws_clients: Any, record: Any
) -> None:
    with pytest.raises(InvalidStatus) as info:
        ws_clients.connect(served.url("/private?token=wrong"))
    assert info.value.response.status_code == 401
    assert record.of("middleware") == [("/private",)]


def test_middleware_letting_the_handshake_through(
    served: Any, ws_clients: Any, record: Any
) -> None:
    client = ws_clients.connect(served.url("/private?token=secret"))
    assert client.response.headers.get("x-middleware") == "saw 101"
    assert opened(client)["query"] == {"token": ["secret"]}
    client.send("after auth")
    assert client.recv(WAIT_S) == "after auth"
    assert record.of("middleware") == [("/private",)]  # the handshake only, not the frames


# --- what the handler learns --------------------------------------------------------------------


def test_path_parameters_query_and_headers_reach_the_websocket(
    served: Any, ws_clients: Any
) -> None:
    client = ws_clients.connect(
        served.url("/rooms/kitchen/users/ann%20b?x=1&x=2&name=z%C3%A9"),
        additional_headers={"X-Custom": "yes"},
    )
    info = opened(client)
    assert info["params"] == {"room": "kitchen", "user": "ann b"}
    assert info["query"] == {"x": ["1", "2"], "name": ["zé"]}
    assert info["path"] == "/rooms/kitchen/users/ann b"
    assert info["x-custom"] == "yes"
