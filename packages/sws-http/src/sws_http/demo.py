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

app = Server()


@app.get("/")
def hello(ctx: Context) -> None:
    ctx.text("hello")


@app.route("/echo", methods=ANY_METHOD)
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


@app.get("/json")
def json_doc(ctx: Context) -> None:
    ctx.json({"server": "sws", "features": ["io_uring", "fibers", "pipelining"]})


@app.get("/users/{id}")
def user(ctx: Context) -> None:
    ctx.json({"id": ctx.params["id"], "fields": ctx.query.get_all("field")})


@app.get("/files/{rest:path}")
def files(ctx: Context) -> None:
    ctx.text(f"file: {ctx.params['rest']}")


def _digest(data: bytes, rounds: int) -> str:
    for _ in range(rounds):
        data = hashlib.sha256(data).digest()
    return data.hex()


@app.get("/worker")
def worker(ctx: Context) -> Generator[Op, Any, None]:
    digest = yield from to_worker(_digest, b"sws", 20_000)
    ctx.json({"sha256^20000": digest})


@app.get("/sleep")
async def slow(ctx: Context) -> None:
    await sleep(0.05)
    ctx.text("slept 50 ms")


@app.get("/html")
def page(ctx: Context) -> None:
    ctx.html(
        "<!doctype html><html><head><title>sws</title></head><body>"
        "<h1>sws for Python</h1><p>HTTP/1.1 on io_uring, from one IO thread.</p>"
        '<ul><li><a href="/json">/json</a></li><li><a href="/users/7">/users/7</a></li>'
        '<li><a href="/worker">/worker</a></li></ul></body></html>'
    )


@app.get("/stream")
def stream(ctx: Context) -> Generator[Op, Any, None]:
    body = ctx.stream(content_type="text/plain; charset=utf-8")
    for i in range(5):
        yield from body.write(f"piece {i}\n".encode())
        yield from sleep(0.01)


@app.get("/defer")
def defer(ctx: Context) -> None:
    later = ctx.defer()
    threading.Timer(0.02, later.text, ("answered by another thread",)).start()


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
