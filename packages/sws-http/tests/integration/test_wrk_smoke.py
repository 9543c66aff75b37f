"""A short wrk run against the demo app: no errors, no lost connections, a clean stop."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed"),
]


@pytest.mark.parametrize("headers", [[], ["-H", "Connection: close"]], ids=["keep-alive", "close"])
def test_wrk_smoke(serve: Callable[..., Any], headers: list[str]) -> None:
    from sws_http.demo import app

    port = serve(app).port
    out = subprocess.run(
        ["wrk", "-t1", "-c32", "-d1s", *headers, f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    assert requests > 0
    assert "Socket errors" not in out
    assert "Non-2xx" not in out
