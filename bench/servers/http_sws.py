"""Hello world on sws-http, written the way a user writes an app: a `Server`, a route, a
`Context`. Served in-process on one IO thread (no worker processes, no worker threads).

Run: python bench/servers/http_sws.py --port PORT   (SIGTERM or SIGINT stops it gracefully)
"""

from __future__ import annotations

import argparse

from sws_http import Context, Server

HOST = "127.0.0.1"

app = Server()


@app.get("/")
def hello(ctx: Context) -> None:
    ctx.text("hello")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app.run(HOST, args.port)


if __name__ == "__main__":
    main()
