"""The chat page (`GET /chat` of `sws_ws.demo.app`) in a real browser: headless Chromium.

Chromium is driven through the Chrome DevTools Protocol with the `websockets` sync client
(no Playwright, no Selenium): it starts with `--remote-debugging-port=0` in a fresh
`--user-data-dir`, writes the port it chose to `<user-data-dir>/DevToolsActivePort`, and
the test speaks CDP on the browser endpoint: `Target.createTarget` opens a page,
`Target.attachToTarget` (flat sessions) gives a session to send `Runtime.evaluate` to,
which acts on and reads the page's DOM.

Every wait is bounded and polls for a condition (no fixed sleep stands in for one). At
teardown the pages and the browser close (`Browser.close`, then SIGTERM / SIGKILL on its
process group if it lingers), the process is reaped, no process of its group is left, the
user-data-dir is removed, and then the server's loop stops.

The module skips when Chromium is missing (`bash scripts/test-tools.sh` installs Debian's
`chromium` where apt-get is usable; `make test` runs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect


def _find_chromium() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


CHROMIUM = _find_chromium()

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium not installed (/usr/bin/chromium or `chromium` on PATH); "
        "`bash scripts/test-tools.sh` installs Debian's chromium as root",
    ),
]

START_S = 60.0  # Chromium's start on a loaded 2-core machine (usually about 1 s)
WAIT_S = 20.0  # the bound on every other wait: a page's state, a message, a reply
POLL_S = 0.05  # between two looks at a page (a poll interval, never an assertion)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # the tests may run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",  # no calls to Google's hosts (the network is closed)
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-proxy-server",
    "--mute-audio",
    "--remote-debugging-port=0",
]


# --- the server ---------------------------------------------------------------------------------


@pytest.fixture
def chat_server(serve: Callable[..., Any]) -> Any:
    """`sws_ws.demo.app` served on 127.0.0.1, port 0, by the conftest's `serve` (a loop on its
    own thread, stopped and checked at teardown)."""
    from sws_ws.demo import app

    return serve(app)


# --- the browser --------------------------------------------------------------------------------


class CdpError(Exception):
    pass


class Browser:
    """One headless Chromium process and a CDP connection to its browser endpoint."""

    def __init__(self, proc: subprocess.Popen[bytes], profile: Path, cdp: ClientConnection):
        self.proc = proc
        self.profile = profile
        self.cdp = cdp
        self._next_id = 0

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """Send one CDP command and return its result (events in between are dropped)."""
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            command["sessionId"] = session
        self.cdp.send(json.dumps(command))
        deadline = time.monotonic() + WAIT_S
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer to CDP {method} within {WAIT_S} s")
            reply = json.loads(self.cdp.recv(remaining))
            if reply.get("id") != self._next_id:
                continue  # an event, or the answer to a command that timed out earlier
            if "error" in reply:
                raise CdpError(f"{method}: {reply['error']}")
            result: dict[str, Any] = reply["result"]
            return result

    def open_page(self, url: str) -> Page:
        target = self.call("Target.createTarget", {"url": url})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        return Page(self, target, session["sessionId"])


class Page:
    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.browser = browser
        self.target = target
        self.session = session

    def eval(self, expression: str) -> Any:
        """Evaluate a JavaScript expression in the page and return its value (JSON)."""
        result = self.browser.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            self.session,
        )
        if "exceptionDetails" in result:
            raise CdpError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout_s: float = WAIT_S) -> Any:
        """Poll `expression` until it is truthy (at most `timeout_s`); return its value."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.eval(expression)
            if value:
                return value
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_S)
        lines = self.log_lines()
        pytest.fail(f"{what}: not true within {timeout_s} s (last {value!r}; #log: {lines!r})")

    def state(self) -> Any:
        return self.eval("document.body ? (document.body.dataset.state || null) : null")

    def log_lines(self) -> list[str]:
        lines: list[str] = self.eval(
            "Array.from(document.querySelectorAll('#log p'), (p) => p.textContent)"
        )
        return lines

    def close(self) -> None:
        self.browser.call("Target.closeTarget", {"targetId": self.target})


def _read_devtools_port(proc: subprocess.Popen[bytes], profile: Path) -> tuple[int, str]:
    """Wait for `DevToolsActivePort` (line 1: the port, line 2: the browser's ws path)."""
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited at start with status {proc.returncode}")
        try:
            lines = active.read_text().splitlines()
        except FileNotFoundError:
            lines = []
        if len(lines) >= 2 and lines[0].strip().isdigit():  # written whole, or not yet
            return int(lines[0]), lines[1].strip()
        time.sleep(POLL_S)
    raise TimeoutError(f"chromium wrote no {active.name} within {START_S} s")


def _group_members(pgid: int) -> list[int]:
    """The live processes still in process group `pgid`.

    Zombies are left out: a helper orphaned by a killed browser is reparented to PID 1 and
    reaped there, and it runs nothing meanwhile.
    """
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def _stop_browser(proc: subprocess.Popen[bytes], cdp: ClientConnection | None) -> list[str]:
    """Close the browser, reap it and make sure its process group is empty.

    Returns what did not go cleanly (for the test to report).
    """
    problems: list[str] = []
    if cdp is not None:
        with contextlib.suppress(Exception):  # the connection may be gone already
            cdp.send(json.dumps({"id": 0, "method": "Browser.close", "params": {}}))
    try:
        proc.wait(WAIT_S)
    except subprocess.TimeoutExpired:
        problems.append(f"chromium still running {WAIT_S} s after Browser.close; SIGTERM")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            problems.append("chromium ignored SIGTERM; SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(WAIT_S)
    if cdp is not None:
        cdp.close()  # (closed already when the browser went first; closing again is a no-op)
    # The browser's helpers (zygote, renderers, utilities) share its process group (it is
    # a session leader: start_new_session). They exit with it; wait for that, bounded.
    deadline = time.monotonic() + WAIT_S
    while (members := _group_members(proc.pid)) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    if members:
        problems.append(f"chromium helpers {members} outlived the browser; SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return problems


@pytest.fixture
def browser(chat_server: Any) -> Iterator[Browser]:
    """Headless Chromium with a fresh profile; closed, reaped and removed at teardown.

    Depends on `chat_server` so that the browser is gone before the loop stops.
    """
    assert CHROMIUM is not None
    profile = Path(tempfile.mkdtemp(prefix="sws-chromium-"))
    log_path = profile / "chromium.log"
    with log_path.open("wb") as log:  # the child keeps its own copy of the fd
        proc = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group, for the stray check
        )
    cdp: ClientConnection | None = None
    problems: list[str] = []
    try:
        with contextlib.ExitStack() as stack:
            port, path = _read_devtools_port(proc, profile)
            cdp = stack.enter_context(
                ws_connect(
                    f"ws://127.0.0.1:{port}{path}",
                    proxy=None,
                    open_timeout=WAIT_S,
                    ping_interval=None,
                    max_size=None,
                    compression=None,
                )
            )
            yield Browser(proc, profile, cdp)
            problems = _stop_browser(proc, cdp)
    finally:
        if proc.returncode is None:  # the set-up failed, or stopping it did
            problems += _stop_browser(proc, None)
        tail = (profile / "chromium.log").read_text(errors="replace")[-2000:]
        shutil.rmtree(profile, ignore_errors=True)
    assert not profile.exists(), f"could not remove the profile {profile}"
    assert not problems, f"chromium did not stop cleanly: {problems}; its log ends: {tail}"


@pytest.fixture
def listener(chat_server: Any) -> Iterator[Callable[[str], ClientConnection]]:
    """Factory for plain `websockets` chat clients, closed before the loop stops."""
    with contextlib.ExitStack() as stack:

        def connect(query: str) -> ClientConnection:
            url = chat_server.url(f"/chat/ws?{query}")
            return stack.enter_context(
                ws_connect(url, proxy=None, open_timeout=WAIT_S, ping_interval=None)
            )

        yield connect


def recv_until(client: ClientConnection, wanted: dict[str, str]) -> list[dict[str, str]]:
    """Read chat messages until `wanted` arrives (bounded); return everything read."""
    seen: list[dict[str, str]] = []
    deadline = time.monotonic() + WAIT_S
    while wanted not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"{wanted!r} did not arrive within {WAIT_S} s; got {seen!r}")
        try:
            seen.append(json.loads(client.recv(remaining)))
        except TimeoutError:
            pytest.fail(f"{wanted!r} did not arrive within {WAIT_S} s; got {seen!r}")
    return seen


# --- the test -----------------------------------------------------------------------------------


def test_chat_page_in_two_browser_pages(
    chat_server: Any, browser: Browser, listener: Callable[[str], ClientConnection]
) -> None:
    alice = browser.open_page(f"http://127.0.0.1:{chat_server.port}/chat?name=alice&room=t")
    bob = browser.open_page(f"http://127.0.0.1:{chat_server.port}/chat?name=bob&room=t")
    for page in (alice, bob):
        page.wait_for(
            "document.body && document.body.dataset.state === 'open'", "the page's socket opens"
        )
        assert page.log_lines()[0] == "joined t"

    # A plain client in the same room; its own "joined" notice means it is subscribed.
    carol = listener("name=carol&room=t")
    recv_until(carol, {"text": "carol joined"})

    message = "hello from Chromium, ü € ✓"
    alice.eval(
        "(() => {"
        f" document.getElementById('text').value = {json.dumps(message)};"
        " document.getElementById('form').requestSubmit();"
        " return true; })()"
    )
    line = f"alice: {message}"
    for page in (alice, bob):
        page.wait_for(
            f"Array.from(document.querySelectorAll('#log p'), (p) => p.textContent)"
            f".includes({json.dumps(line)})",
            f"{line!r} shows in the page",
        )
    assert alice.eval("document.getElementById('text').value") == ""  # the form cleared it
    recv_until(carol, {"from": "alice", "text": message})

    # Closing a page closes its socket: the room hears both leave.
    alice.close()
    bob.close()
    seen = recv_until(carol, {"text": "alice left"})
    if {"text": "bob left"} not in seen:
        recv_until(carol, {"text": "bob left"})
