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

    def start(zone: Mapping[str, list[str]], behaviours: Mapping[str, Any] | None = None) -> Any:
        server = dnsserver.DnsTestServer(zone, behaviours)
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
