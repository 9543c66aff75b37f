"""HostLookup (sws_client._lookup): the resolution seam, its fibers driven by hand."""

from __future__ import annotations

import socket
from collections.abc import Generator
from typing import Any

import pytest

from sws_client import NameResolutionError
from sws_client._dnserrors import NameNotFoundError
from sws_client._lookup import HostLookup
from sws_client._resolvconf import parse_hosts
from sws_core import Sleep, ToWorker, sleep

HOSTS = parse_hosts(
    "10.0.0.1 both.test\n"
    "fd00::1 both.test v6only.test\n"
    "127.0.0.1 localhost\n"
    "10.0.0.9 Mixed.Case.test\n"
)


def drive(gen: Generator[Any, Any, Any], answer: Any = None) -> Any:
    """Run a lookup fiber: answer each op with `answer(op)` (or None)."""
    value = None
    try:
        while True:
            op = gen.send(value)
            value = answer(op) if answer else None
    except StopIteration as stop:
        return stop.value


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("192.0.2.1", ["192.0.2.1"]),
        ("::1", ["::1"]),
        ("both.test", ["10.0.0.1", "fd00::1"]),
        ("v6only.test", ["fd00::1"]),
        ("mixed.case.TEST.", ["10.0.0.9"]),
        ("localhost", ["127.0.0.1"]),  # the file's own entry
        ("api.localhost", ["127.0.0.1", "::1"]),  # RFC 6761 §6.3
        ("other.test", None),
    ],
)
def test_known_addresses(host: str, expected: list[str] | None) -> None:
    assert HostLookup(HOSTS, None).known(host) == expected


def test_localhost_without_a_hosts_entry_is_loopback() -> None:
    assert HostLookup(parse_hosts(""), None).known("LocalHost") == ["127.0.0.1", "::1"]


class Resolver:
    def __init__(self, answer: list[str] | Exception) -> None:
        self.answer = answer

    def resolve_on_loop(self, name: str) -> Generator[Any, Any, list[str]]:
        yield from sleep(0)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_a_resolver_fiber_is_followed() -> None:
    lookup = HostLookup(HOSTS, Resolver(["192.0.2.7", "192.0.2.8"]))
    ops: list[Any] = []
    assert drive(lookup.resolve("x.test"), ops.append) == ["192.0.2.7", "192.0.2.8"]
    assert isinstance(ops[0], Sleep)
    assert "Resolver" in repr(lookup)


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (NameNotFoundError("x.test"), "cannot resolve host 'x.test'"),
        ([], "resolved to no address"),
    ],
)
def test_resolver_failures(answer: Any, match: str) -> None:
    lookup = HostLookup(HOSTS, Resolver(answer))
    with pytest.raises(NameResolutionError, match=match):
        drive(lookup.resolve("x.test"))


def test_without_a_resolver_getaddrinfo_goes_to_a_worker() -> None:
    lookup = HostLookup(HOSTS, None)
    gen = lookup.resolve("x.test")
    op = next(gen)
    assert isinstance(op, ToWorker)
    assert op.fn is socket.getaddrinfo
    assert op.args[0] == "x.test"
    infos = [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::1", 0, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", 0)),
    ]
    with pytest.raises(StopIteration) as stop:
        gen.send(infos)
    assert stop.value.value == ["2001:db8::1", "192.0.2.1"]  # in order, without repeats


def test_getaddrinfo_failure() -> None:
    gen = HostLookup(HOSTS, None).resolve("x.test")
    next(gen)
    with pytest.raises(NameResolutionError) as info:
        gen.throw(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    assert isinstance(info.value.__cause__, socket.gaierror)
