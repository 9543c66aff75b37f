"""`sws-http module:app --workers N`: processes sharing a port, supervised by a parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
WAIT_S = 15.0


class Cli:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        cmd = [sys.executable, "-m", "sws_http.cli", *args, "--app-dir", str(HERE), "--port", "0"]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert "serving" in line, line + self.proc.stderr.read() if self.proc.stderr else ""
        self.port = int(line.rsplit(":", 1)[1].split()[0])
        self.url = f"http://127.0.0.1:{self.port}"

    def children(self) -> set[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
            capture_output=True,
            text=True,
            check=False,
        )
        return {int(p) for p in out.stdout.split()}

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=WAIT_S)
        return self.proc.returncode, out


@pytest.fixture
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    server = Cli(*request.param, env={**os.environ, "SWS_TEST_MARK_DIR": str(tmp_path)})
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            for pid in server.children():
                os.kill(pid, signal.SIGKILL)
            server.proc.kill()
            server.proc.communicate(timeout=WAIT_S)


def pids_seen(url: str, attempts: int = 60) -> set[int]:
    seen = set()
    for _ in range(attempts):  # new connections: the kernel spreads them over the workers
        with httpx.Client(timeout=WAIT_S) as client:
            seen.add(int(client.get(url + "/pid").text))
        if len(seen) > 1:
            break
    return seen


@pytest.mark.parametrize("cli", [("workers_app:app", "--workers", "2")], indirect=True)
def test_workers_share_the_port_and_a_crashed_one_is_replaced(cli: Cli) -> None:
    workers = cli.children()
    assert len(workers) == 2
    assert pids_seen(cli.url) <= workers
    victim = workers.pop()
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and len(cli.children() - workers) < 1:
        time.sleep(0.05)
    replacement = cli.children() - workers
    assert len(replacement) == 1
    assert victim not in cli.children()
    with httpx.Client(timeout=WAIT_S) as client:  # still serving
        assert client.get(cli.url + "/pid").status_code == 200
    code, out = cli.stop()
    assert code == 0
    assert "stopped" in out


@pytest.mark.parametrize("cli", [("workers_app:factory()", "--workers", "2")], indirect=True)
def test_sigterm_lets_in_flight_requests_finish(cli: Cli, tmp_path: Path) -> None:
    results: list[str] = []

    def call() -> None:
        with httpx.Client(timeout=WAIT_S) as client:
            results.append(client.get(cli.url + "/slow").text)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + WAIT_S
    while len(list(tmp_path.iterdir())) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)  # until every request is inside its handler's 0.3 s sleep
    code, _ = cli.stop()
    for t in threads:
        t.join(WAIT_S)
    assert code == 0
    assert results == ["slow done"] * 4


@pytest.mark.parametrize(
    "spec", ["nope", "no_such_module_xyz:app", "workers_app:missing", "workers_app:pid"]
)
def test_bad_app_specs_exit_with_a_message(spec: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sws_http.cli", spec, "--app-dir", str(HERE)],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )
    assert proc.returncode != 0
    assert "sws-http:" in proc.stderr
