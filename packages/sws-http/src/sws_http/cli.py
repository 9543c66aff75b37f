"""`sws-http module:app`: serve an application from the command line (uvicorn-like).

    sws-http myproject.web:app --host 0.0.0.0 --port 8000 --workers 4 --access-log

`module:app` names a `sws_http.Server` instance (`module:factory()` calls a function that
returns one). `--app-dir` is put first on `sys.path` (default: the current directory).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from sws_http._server import Server


def load_app(spec: str) -> Server:
    """Import `module:attribute` (or `module:factory()`) and return the Server.

    Raises:
        SystemExit: the spec is malformed, the module or attribute is missing, or it is
            not a Server (the message says which).
    """
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise SystemExit(f"sws-http: expected 'module:app', got {spec!r}")
    call = attribute.endswith("()")
    attribute = attribute.removesuffix("()")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"sws-http: cannot import {module_name!r}: {exc}") from None
    app = getattr(module, attribute, None)
    if app is None:
        raise SystemExit(f"sws-http: {module_name!r} has no attribute {attribute!r}")
    if call:
        app = app()
    if not isinstance(app, Server):
        raise SystemExit(f"sws-http: {spec!r} is a {type(app).__name__}, not a sws_http.Server")
    return app


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="sws-http", description=__doc__.splitlines()[0])
    parser.add_argument("app", help="module:app (a sws_http.Server) or module:factory()")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the port")
    parser.add_argument("--threads", type=int, default=0, help="worker threads per process")
    parser.add_argument("--access-log", action="store_true", help="log every response")
    parser.add_argument("--app-dir", default=".", help="put this first on sys.path")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )
    sys.path.insert(0, args.app_dir)
    app = load_app(args.app)
    if args.access_log:
        app.access_log = True

    def ready(host: str, port: int) -> None:
        print(
            f"sws-http: serving {args.app} on http://{host}:{port} "
            f"({args.workers} worker{'s' if args.workers > 1 else ''})",
            flush=True,
        )

    app.run(args.host, args.port, workers=args.workers, threads=args.threads, ready=ready)
    print("sws-http: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
