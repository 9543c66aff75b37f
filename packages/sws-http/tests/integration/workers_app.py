"""The app the workers-mode tests serve through the `sws-http` CLI (not a test module)."""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

from sws_core import Op, sleep
from sws_http import Context, Server

app = Server()


@app.get("/pid")
def pid(ctx: Context) -> None:
    ctx.text(str(os.getpid()))


@app.get("/slow")
def slow(ctx: Context) -> Generator[Op, Any, None]:
    marks = os.environ.get("SWS_TEST_MARK_DIR")
    if marks:  # tell the test this request is in its handler
        with open(os.path.join(marks, f"{os.getpid()}-{id(ctx)}"), "w"):
            pass
    yield from sleep(0.3)
    ctx.text("slow done")


def factory() -> Server:
    return app
