"""sws_ws: the sws WebSocket server, RFC 6455 and permessage-deflate on sws-http, with pub/sub.

    from sws_ws import Server

    app = Server()

    @app.ws("/echo")
    class Echo:
        def on_message(self, ws, message):
            ws.send(message)

    app.run("127.0.0.1", 8080)

`Server` is an `sws_http.Server` (HTTP routes, middleware and the rest work as there) with
`ws(path)` routes and `publish(topic, message)`. Each connection is a `WebSocket`: `send`,
`ping`, `close`, `subscribe`, and `receive()` in fiber handlers. The protocol itself is the
sans-IO `sws_ws.proto`.
"""

from sws_ws._server import (
    DEFAULT_CLOSE_TIMEOUT_S,
    DEFAULT_MAX_SEND_QUEUE_BYTES,
    DEFAULT_PING_INTERVAL_S,
    DEFAULT_PING_TIMEOUT_S,
    Server,
)
from sws_ws._websocket import Receive, WebSocket

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT_S",
    "DEFAULT_MAX_SEND_QUEUE_BYTES",
    "DEFAULT_PING_INTERVAL_S",
    "DEFAULT_PING_TIMEOUT_S",
    "Receive",
    "Server",
    "WebSocket",
]
