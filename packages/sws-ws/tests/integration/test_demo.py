"""The demo app (`sws_ws.demo.app`, what `make run` serves): the /ws echo, the HTTP routes
it keeps from the sws-http demo, and the chat over pub/sub."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

WAIT_S = 10.0


@pytest.fixture
def demo(serve: Callable[..., Any]) -> Any:
    from sws_ws.demo import app

    return serve(app)


def test_ws_echoes_text_and_binary(demo: Any, ws_clients: Any) -> None:
    client = ws_clients.connect(demo.url("/ws"))
    for message in ["hello", b"\x00\xff", "", "ü" * 10_000]:
        client.send(message)
        assert client.recv(WAIT_S) == message


def test_http_routes_still_answer(demo: Any) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{demo.port}", trust_env=False) as http:
        root = http.get("/", timeout=WAIT_S)
        assert (root.status_code, root.text) == (200, "hello")
        page = http.get("/chat", timeout=WAIT_S)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "/chat/ws" in page.text
        plain_get = http.get("/ws", timeout=WAIT_S)  # a WebSocket route, not an upgrade
        assert plain_get.status_code in (400, 426)


def chat(client: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(client.recv(WAIT_S))
    return message


def test_chat_reaches_everyone_in_the_room_and_no_one_else(demo: Any, ws_clients: Any) -> None:
    ann = ws_clients.connect(demo.url("/chat/ws?room=kitchen&name=ann"))
    assert chat(ann) == {"text": "ann joined"}
    bob = ws_clients.connect(demo.url("/chat/ws?room=kitchen&name=bob"))
    assert chat(bob) == {"text": "bob joined"}
    assert chat(ann) == {"text": "bob joined"}
    eve = ws_clients.connect(demo.url("/chat/ws?room=garden&name=eve"))
    assert chat(eve) == {"text": "eve joined"}

    ann.send("hi bob")
    assert chat(ann) == {"from": "ann", "text": "hi bob"}
    assert chat(bob) == {"from": "ann", "text": "hi bob"}
    bob.send(b"hi ann")  # binary is decoded as UTF-8
    assert chat(ann) == {"from": "bob", "text": "hi ann"}
    assert chat(bob) == {"from": "bob", "text": "hi ann"}

    eve.send("anyone?")
    assert chat(eve) == {"from": "eve", "text": "anyone?"}  # not "hi bob" first
    bob.close()
    assert chat(ann) == {"text": "bob left"}


def test_chat_defaults_to_the_lobby_and_a_guest_name(demo: Any, ws_clients: Any) -> None:
    client = ws_clients.connect(demo.url("/chat/ws"))
    assert chat(client) == {"text": "guest joined"}
    client.send("hello lobby")
    assert chat(client) == {"from": "guest", "text": "hello lobby"}
