"""Fixtures for sws_client's integration tests: scripted DNS servers on 127.0.0.1, port 0.

- `dnsserver` is the `tests/dnsserver.py` module (`DnsTestServer`, `Behaviour`, ...).
- `dns_server(zone, behaviours=None)` starts a `DnsTestServer` and returns it; at teardown
  every server is stopped (its thread joined, its sockets closed) and the test fails if one
  raised in its thread. The root conftest fails any test that leaks a file descriptor.

Test modules cannot import `dnsserver.py` by name (pytest runs with --import-mode=importlib),
so it is loaded here under a name no other package's tests can clash with.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest


def _load_dnsserver() -> Any:
    name = "sws_client_tests_dnsserver"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent.parent / "dnsserver.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def dnsserver() -> Any:
    """The `dnsserver` test module."""
    return _load_dnsserver()


@pytest.fixture
def dns_server(dnsserver: Any) -> Iterator[Callable[..., Any]]:
    """Start scripted DNS servers for the test; stop them all at teardown."""
    servers: list[Any] = []

    def start(
        zone: Mapping[str, list[str]],
        behaviours: Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
    ) -> Any:
        server = dnsserver.DnsTestServer(zone, behaviours, host)
        server.start()
        servers.append(server)
        return server

    yield start
    errors = []
    for server in servers:
        try:
            server.stop()
        except RuntimeError as e:
            errors.append(e)
    assert not errors, f"dns test server failed: {errors}"


# --- sws_core loops and DnsResolvers for tests -----------------------------------------------
#
# - `sws_loop(clock=None, **loop_kw)` starts an sws_core `Loop` on its own thread and returns a
#   `LoopRunner`: `run(body)` runs `body()` as a fiber and returns what it returned (or raises
#   what it raised); `start(body)` does the same without waiting, returning a `FiberResult`.
#   A `clock` replaces the loop's monotonic clock (to age a cache without sleeping). At
#   teardown every loop is stopped and its thread joined; the test fails if one is alive,
#   or if "sws_core" or "sws_client" logged an error meanwhile.
# - `dns_resolver(*servers, hosts=None, cache=None, **conf_kw)` makes a `DnsResolver` asking
#   the given `DnsTestServer`s (or (host, port) pairs) in order, with an empty hosts table
#   unless given one and a `ResolvConf` built from `conf_kw` (timeout_s 2.0 and attempts 1
#   unless given). At teardown every resolver is closed and the test fails if a resolver's
#   loop thread is still alive.

import logging  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from sws_client._dnscache import DnsCache  # noqa: E402
from sws_client._resolvconf import Hosts, ResolvConf  # noqa: E402
from sws_client._resolver import DnsResolver  # noqa: E402
from sws_core import Loop  # noqa: E402

LOOP_WAIT_S = 10.0  # the bound on every wait for a fiber; a healthy test never gets near it


class FiberResult:
    """The outcome of a fiber started by `LoopRunner.start`, for the test thread to wait on."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None

    def result(self, timeout: float = LOOP_WAIT_S) -> Any:
        """Wait for the fiber; return its value or raise its exception."""
        assert self.done.wait(timeout), f"the fiber did not finish in {timeout} s"
        if self.error is not None:
            raise self.error
        return self.value


class LoopRunner:
    """An sws_core `Loop` running on its own thread, fibers started from the test thread."""

    def __init__(self, **loop_kw: Any) -> None:
        loop_kw.setdefault("handle_signals", False)
        self.loop = Loop(**loop_kw)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="test-sws-loop", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.loop.run()
        except BaseException as exc:
            self.error = exc

    def start(self, body: Callable[[], Any]) -> FiberResult:
        """Run `body()` (a generator or coroutine) as a fiber on the loop; don't wait."""
        outcome = FiberResult()

        def fiber() -> Any:
            try:
                outcome.value = yield from _drive(body())
            except Exception as exc:
                outcome.error = exc
            finally:
                outcome.done.set()

        self.loop.invoke(self.loop.go, fiber())
        return outcome

    def run(self, body: Callable[[], Any], timeout: float = LOOP_WAIT_S) -> Any:
        """Run `body()` as a fiber on the loop; return its value or raise its exception."""
        return self.start(body).result(timeout)

    def stop(self) -> None:
        self.loop.stop()
        self.thread.join(LOOP_WAIT_S)


def _drive(coro: Any) -> Any:
    """`yield from` a generator, or an `async def` coroutine through its `__await__`."""
    if hasattr(coro, "__await__") and not hasattr(coro, "__next__"):
        return (yield from coro.__await__())
    return (yield from coro)


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture
def sws_loop() -> Iterator[Callable[..., LoopRunner]]:
    """Factory: `sws_loop(clock=None, **loop_kw)` -> a `LoopRunner`; all stopped at teardown."""
    runners: list[LoopRunner] = []
    errors = _ErrorRecords()
    loggers = [logging.getLogger(name) for name in ("sws_core", "sws_client")]
    for logger in loggers:
        logger.addHandler(errors)

    def start(**loop_kw: Any) -> LoopRunner:
        if loop_kw.get("clock") is None:
            loop_kw.pop("clock", None)
        runner = LoopRunner(**loop_kw)
        runners.append(runner)
        return runner

    try:
        yield start
        for runner in runners:
            runner.stop()
    finally:
        for logger in loggers:
            logger.removeHandler(errors)
    alive = [r for r in runners if r.thread.is_alive()]
    assert not alive, f"{len(alive)} loop threads still running {LOOP_WAIT_S} s after stop()"
    raised = [r.error for r in runners if r.error is not None]
    assert not raised, f"loop.run() raised: {raised}"
    assert not errors.messages, f"errors logged: {errors.messages}"


@pytest.fixture
def dns_resolver() -> Iterator[Callable[..., DnsResolver]]:
    """Factory: `dns_resolver(*servers, hosts=None, cache=None, **conf_kw)`; closed at
    teardown, where no resolver loop thread may be left running."""
    resolvers: list[DnsResolver] = []

    def make(
        *servers: Any, hosts: Hosts | None = None, cache: DnsCache | None = None, **conf_kw: Any
    ) -> DnsResolver:
        nameservers = tuple(getattr(s, "address", s) for s in servers)
        conf_kw.setdefault("timeout_s", 2.0)
        conf_kw.setdefault("attempts", 1)
        conf = ResolvConf(nameservers=nameservers, **conf_kw)
        resolver = DnsResolver(conf=conf, hosts=hosts or Hosts({}), cache=cache)
        resolvers.append(resolver)
        return resolver

    yield make
    for resolver in resolvers:
        resolver.close()
    deadline = time.monotonic() + LOOP_WAIT_S
    while any(t.name == "sws-dns-resolver" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a resolver loop thread outlived close()"
        time.sleep(0.01)


# --- HTTP client tests: clients, and the servers they talk to ----------------------------------
#
# - `http_client(**kw)` makes `HttpClient`s; at teardown each is closed, and the test fails if
#   a client's loop thread still runs or the "sws_client" logger recorded an error.
# - `sws_server(app, host="127.0.0.1", **loop_kw)` serves an sws_http `Server` on a loop of
#   its own thread and returns a `ServedApp` (`.port`, `.url(path)`, `.accepted()`: the
#   connections it accepted so far). Stopped and joined at teardown.
# - `raw_server(handler, host="127.0.0.1")` runs a scripted TCP server: each accepted
#   connection is served on its own thread by `handler(conn, index)` (`index` counts from 1,
#   `conn` is a `RawConn`: `read_request()`, `send()`). `.accepted` counts connections.
#   At teardown every socket is shut down and closed and every thread joined; an exception
#   raised by a handler (other than the peer going away) fails the test.

import contextlib  # noqa: E402
import socket  # noqa: E402

from sws_client import HttpClient  # noqa: E402
from sws_http import Server  # noqa: E402

PEER_WAIT_S = 10.0  # the bound on every socket wait of the test servers


@pytest.fixture
def http_client() -> Iterator[Callable[..., HttpClient]]:
    """Factory: `http_client(**kw)` -> an `HttpClient`; all closed at teardown."""
    clients: list[HttpClient] = []
    errors = _ErrorRecords()
    logger = logging.getLogger("sws_client")
    logger.addHandler(errors)

    def make(**kw: Any) -> HttpClient:
        client = HttpClient(**kw)
        clients.append(client)
        return client

    try:
        yield make
        for client in clients:
            client.close()
    finally:
        logger.removeHandler(errors)
    alive = [c for c in clients if c._thread.is_alive()]
    assert not alive, f"client loop threads still running after close(): {alive}"
    assert not errors.messages, f"errors logged: {errors.messages}"


class ServedApp:
    """An sws_http app served on its own loop thread."""

    def __init__(self, app: Server, host: str, **loop_kw: Any) -> None:
        loop_kw.setdefault("handle_signals", False)
        self.loop = Loop(**loop_kw)
        self.host = host
        self.port = app.listen(self.loop, host, 0).port
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="test-sws-http", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.loop.run()
        except BaseException as exc:
            self.error = exc

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def accepted(self) -> int:
        """Connections accepted so far (read on the loop thread)."""
        box: list[int] = []
        done = threading.Event()

        def read() -> None:
            box.append(self.loop.statistics().connections_accepted)
            done.set()

        self.loop.invoke(read)
        assert done.wait(PEER_WAIT_S), "the server loop did not answer"
        return box[0]

    def stop(self) -> None:
        self.loop.stop()
        self.thread.join(PEER_WAIT_S + 10)


@pytest.fixture
def sws_server() -> Iterator[Callable[..., ServedApp]]:
    """Factory: `sws_server(app, host="127.0.0.1", **loop_kw)` -> a `ServedApp`."""
    served: list[ServedApp] = []

    def start(app: Server, host: str = "127.0.0.1", **loop_kw: Any) -> ServedApp:
        s = ServedApp(app, host, **loop_kw)
        served.append(s)
        return s

    yield start
    for s in served:
        s.stop()
    assert not [s for s in served if s.thread.is_alive()], "sws_http loop thread still running"
    assert not [s.error for s in served if s.error is not None], "sws_http loop raised"


class RawConn:
    """One accepted connection of a `RawServer`, read and written by a test's script."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def read_request(self) -> bytes | None:
        """A whole request (head, then a Content-Length body); None at EOF."""
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            data = self.sock.recv(65536)
            if not data:
                return None
            rest += data
        self.buf = rest[length:]
        return head + b"\r\n\r\n" + rest[:length]

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


class RawServer:
    """A TCP server whose connections are served by a test's script, one thread each."""

    def __init__(self, handler: Callable[[RawConn, int], Any], host: str) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.handler = handler
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)  # the accept loop checks `stopping` this often
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.conns: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._accept, name="test-raw-accept", daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(PEER_WAIT_S)
            with self.lock:
                if self.stopping.is_set():
                    sock.close()
                    return
                self.accepted += 1
                self.conns.append(sock)
                t = threading.Thread(target=self._serve, args=(sock, self.accepted), daemon=True)
                self.threads.append(t)
            t.start()

    def _serve(self, sock: socket.socket, index: int) -> None:
        try:
            self.handler(RawConn(sock), index)
        except (OSError, EOFError):
            pass  # the client went away, or teardown shut the socket down
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(PEER_WAIT_S)
        with self.lock:
            conns, threads = list(self.conns), list(self.threads)
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for t in threads:
            t.join(PEER_WAIT_S)
        for sock in conns:
            sock.close()
        self.sock.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    """Factory: `raw_server(handler, host="127.0.0.1")` -> a running `RawServer`."""
    servers: list[RawServer] = []

    def start(handler: Callable[[RawConn, int], Any], host: str = "127.0.0.1") -> RawServer:
        server = RawServer(handler, host)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    errors = [e for s in servers for e in s.errors]
    assert not errors, f"raw server handlers raised: {errors!r}"
