"""sws_http: an HTTP/1.1 server on the sws_core loop, and its sans-IO protocol layer.

    from sws_http import Server

    app = Server()

    @app.get("/users/{id}")
    def user(ctx):
        ctx.json({"id": ctx.params["id"]})

    app.run("127.0.0.1", 8080)

`sws_http.proto` is the strict, sans-IO HTTP/1.1 parser and response writer the server is
built on. `ctx.defer()` answers later from any thread; `ctx.stream()` sends a chunked body
piece by piece from a generator or async handler. `app.run(host, port, workers=N)` (or the
CLI, `sws-http module:app --workers N`) serves from N processes sharing the port.
"""

from sws_http._context import Context, QueryParams
from sws_http._later import DeferredResponse, ResponseStream
from sws_http._protocol import HttpProtocol
from sws_http._router import Match, Route, Router
from sws_http._server import Server

__all__ = [
    "Context",
    "DeferredResponse",
    "HttpProtocol",
    "Match",
    "QueryParams",
    "ResponseStream",
    "Route",
    "Router",
    "Server",
]
