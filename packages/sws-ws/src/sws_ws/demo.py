"""The sws demo app with WebSocket: `python -m sws_ws.demo` (what `make run` starts).

Every route of the HTTP demo (`sws_http.demo`), plus:
    WS   /ws             echoes every text and binary message (the conformance contract)
    GET  /chat           a chat page; its script joins /chat/ws
    WS   /chat/ws        chat over pub/sub: every message goes to everyone in the room
                         (`?room=` picks one, default "lobby"; `?name=` the sender's name)

Message limits are large enough for the whole Autobahn|Testsuite (16 MiB messages, 64 KiB
fragments of them): a demo, not a hardened deployment.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Final

from sws_http import Context
from sws_http.demo import add_routes
from sws_ws import Server, WebSocket

CONFORMANCE_MAX_MESSAGE_BYTES: Final = 32 * 1024 * 1024  # Autobahn 9.*: up to 16 MiB
CONFORMANCE_MAX_FRAGMENTS: Final = 1 << 20  # Autobahn 9.3/9.4: 65,536 fragments

app = Server(
    max_frame_bytes=CONFORMANCE_MAX_MESSAGE_BYTES,
    max_message_bytes=CONFORMANCE_MAX_MESSAGE_BYTES,
    max_fragments=CONFORMANCE_MAX_FRAGMENTS,
    max_send_queue_bytes=2 * CONFORMANCE_MAX_MESSAGE_BYTES,
)
add_routes(app)


@app.ws("/ws")
class Echo:
    """Echo every message back unchanged."""

    def on_message(self, ws: WebSocket, message: str | bytes) -> None:
        ws.send(message)


CHAT_PAGE: Final = """<!doctype html>
<html><head><meta charset="utf-8"><title>sws chat</title>
<style>body{font:16px sans-serif;margin:2em}#log{border:1px solid #ccc;height:20em;
overflow-y:auto;padding:.5em;margin-bottom:.5em}.sys{color:#888}</style></head>
<body><h1>sws chat</h1>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" size="50" placeholder="say something">
<button>send</button></form>
<script>
const params = new URLSearchParams(location.search);
const name = params.get("name") || "guest" + Math.floor(Math.random() * 1000);
const room = params.get("room") || "lobby";
const log = document.getElementById("log");
function show(text, cls) {
  const p = document.createElement("p");
  p.textContent = text;
  if (cls) p.className = cls;
  log.appendChild(p);
  log.scrollTop = log.scrollHeight;
}
const url = new URL("/chat/ws", location.href);
url.protocol = url.protocol.replace("http", "ws");
url.search = new URLSearchParams({name, room}).toString();
const ws = new WebSocket(url);
ws.onopen = () => { document.body.dataset.state = "open"; show("joined " + room, "sys"); };
ws.onclose = () => { document.body.dataset.state = "closed"; show("disconnected", "sys"); };
ws.onmessage = (event) => {
  const msg = JSON.parse(event.data);
  show(msg.from ? msg.from + ": " + msg.text : msg.text, msg.from ? "" : "sys");
};
document.getElementById("form").onsubmit = (event) => {
  event.preventDefault();
  const text = document.getElementById("text");
  if (text.value) ws.send(text.value);
  text.value = "";
};
</script></body></html>
"""


@app.get("/chat")
def chat_page(ctx: Context) -> None:
    ctx.html(CHAT_PAGE)


@app.ws("/chat/ws")
class Chat:
    """One chat member: joins the room's topic, publishes what it says to the room."""

    def on_open(self, ws: WebSocket) -> None:
        query = _query(ws)
        ws.data["name"] = query.get("name", "guest")[:32]
        ws.data["room"] = room = "room:" + query.get("room", "lobby")[:32]
        ws.subscribe(room)
        app.publish(room, json.dumps({"text": f"{ws.data['name']} joined"}))

    def on_message(self, ws: WebSocket, message: str | bytes) -> None:
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        app.publish(ws.data["room"], json.dumps({"from": ws.data["name"], "text": text}))

    def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
        if "room" in ws.data:
            app.publish(ws.data["room"], json.dumps({"text": f"{ws.data['name']} left"}))


def _query(ws: WebSocket) -> dict[str, str]:
    return {name: values[0] for name, values in ws.query.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="the sws demo app (HTTP and WebSocket)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app.run(args.host, args.port, threads=2, ready=_announce)
    print("stopped", flush=True)


def _announce(host: str, port: int) -> None:
    print(f"sws demo on http://{host}:{port}/ (WebSocket echo at ws://{host}:{port}/ws)")


if __name__ == "__main__":
    main()
