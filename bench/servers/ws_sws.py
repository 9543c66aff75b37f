"""WebSocket echo and broadcast on sws-ws, written the way a user writes an app: a `Server`
and `@app.ws` callback classes. Served in-process on one IO thread (no worker processes,
no worker threads).

Run: python bench/servers/ws_sws.py --port PORT   (SIGTERM or SIGINT stops it gracefully)

The paths `ws_client.py` drives:

    /ws   `Echo`: sends every message back
    /sub  `Subscriber`: subscribes to the topic on open, sends every message back
    /pub  `Publisher`: `app.publish(topic, message)` for every message, which encodes the
          frame once and queues the same bytes on every subscriber

Liveness pings are off (`ping_interval_s=None`) in all three servers of bench/ws.py: a
subscriber never sends, so a run longer than the 20 s default would otherwise see pings,
which the client does not answer. At start the server raises its RLIMIT_NOFILE soft limit
to the hard limit, for the broadcast case's 1,001 connections.
"""

from __future__ import annotations

import argparse

from process_setup import raise_nofile_limit  # this script's folder is on sys.path

from sws_ws import Server, WebSocket

HOST = "127.0.0.1"
TOPIC = "bench"

app = Server(ping_interval_s=None)


@app.ws("/ws")
class Echo:
    def on_message(self, ws: WebSocket, message: str | bytes) -> None:
        ws.send(message)


@app.ws("/sub")
class Subscriber:
    def on_open(self, ws: WebSocket) -> None:
        ws.subscribe(TOPIC)

    def on_message(self, ws: WebSocket, message: str | bytes) -> None:
        ws.send(message)  # the client's proof that the subscription is in place


@app.ws("/pub")
class Publisher:
    def on_message(self, ws: WebSocket, message: str | bytes) -> None:
        app.publish(TOPIC, message)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    raise_nofile_limit()
    app.run(HOST, args.port)


if __name__ == "__main__":
    main()
