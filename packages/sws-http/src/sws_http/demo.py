"""The sws-http demo app: `python -m sws_http.demo` (what `make run` starts).

Routes:
    GET  /               "hello" (the conformance contract)
    ANY  /echo           the request as JSON: {"method", "path", "query",
                         "headers": [[name, value], ...] (names lower-cased, in order),
                         "body"} (body decoded as latin-1) (the conformance contract)
    GET  /json           a JSON document
    GET  /users/{id}     a path parameter
    GET  /files/{rest:path}  a wildcard tail
    GET  /worker         work done on a worker thread, answered from a generator handler
    GET  /sleep          an async handler that waits 50 ms without blocking the loop
    GET  /html           a small HTML page
    GET  /stream         a chunked response streamed piece by piece
    GET  /defer          an answer given 20 ms later by another thread
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import threading
from collections.abc import Generator
from typing import Any

from sws_core import Op, sleep, to_worker
from sws_http import Context, Server

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def hello(ctx: Context) -> None:
    ctx.text("hello")


def echo(ctx: Context) -> None:
    ctx.json(
        {
            "method": ctx.method,
            "path": ctx.path,
            "query": ctx.request.query,
            "headers": [[name, value] for name, value in ctx.headers],
            "body": ctx.body.decode("latin-1"),
        }
    )


def json_doc(ctx: Context) -> None:
    ctx.json({"server": "sws", "features": ["io_uring", "fibers", "pipelining"]})


def user(ctx: Context) -> None:
    ctx.json({"id": ctx.params["id"], "fields": ctx.query.get_all("field")})


def files(ctx: Context) -> None:
    ctx.text(f"file: {ctx.params['rest']}")


def _digest(data: bytes, rounds: int) -> str:
    for _ in range(rounds):
        data = hashlib.sha256(data).digest()
    return data.hex()


def worker(ctx: Context) -> Generator[Op, Any, None]:
    digest = yield from to_worker(_digest, b"sws", 20_000)
    ctx.json({"sha256^20000": digest})


async def slow(ctx: Context) -> None:
    await sleep(0.05)
    ctx.text("slept 50 ms")


def page(ctx: Context) -> None:
    ctx.html(
        "<!doctype html><html><head><title>sws</title></head><body>"
        "<h1>sws for Python</h1><p>HTTP/1.1 on io_uring, from one IO thread.</p>"
        '<ul><li><a href="/json">/json</a></li><li><a href="/users/7">/users/7</a></li>'
        '<li><a href="/worker">/worker</a></li></ul></body></html>'
    )


def stream(ctx: Context) -> Generator[Op, Any, None]:
    body = ctx.stream(content_type="text/plain; charset=utf-8")
    for i in range(5):
        yield from body.write(f"piece {i}\n".encode())
        yield from sleep(0.01)


def defer(ctx: Context) -> None:
    later = ctx.defer()
    threading.Timer(0.02, later.text, ("answered by another thread",)).start()


def add_routes(app: Server) -> None:
    """Register the demo's routes on `app` (the WebSocket demo adds its own to these)."""
    app.get("/")(hello)
    app.route("/echo", methods=ANY_METHOD)(echo)
    app.get("/json")(json_doc)
    app.get("/users/{id}")(user)
    app.get("/files/{rest:path}")(files)
    app.get("/worker")(worker)
    app.get("/sleep")(slow)
    app.get("/html")(page)
    app.get("/stream")(stream)
    app.get("/defer")(defer)


app = Server()
add_routes(app)


def main() -> None:
    parser = argparse.ArgumentParser(description="the sws-http demo app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app.run(args.host, args.port, threads=2, ready=_announce)
    print("stopped", flush=True)


def _announce(host: str, port: int) -> None:
    print(f"sws-http demo on http://{host}:{port}/", flush=True)


if __name__ == "__main__":
    main()
