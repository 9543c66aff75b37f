"""DnsResolver without a ring: families, literals, hosts, loopback names, the API's edges."""

from __future__ import annotations

import inspect
import socket
import threading
from typing import Any

import pytest

from sws_client import _resolver
from sws_client._dnscache import DnsCache
from sws_client._dnserrors import NoAddressError
from sws_client._dnsmsg import QType
from sws_client._resolvconf import Hosts, ResolvConf, parse_hosts
from sws_client._resolver import DnsResolver, ResolverStatistics, local_answer, query_types
from sws_core import ClosedResourceError

BOTH = (QType.A, QType.AAAA)
HOSTS = parse_hosts(
    "10.1.1.1 both.test\nfd00::1 both.test\n10.2.2.2 four.test\nfd00::6 six.test\n"
    "10.3.3.3 localhost\n"
)


def resolver(**kw: Any) -> DnsResolver:
    conf = ResolvConf(nameservers=(("127.0.0.1", 5353),), search=("s.test",))
    return DnsResolver(conf=conf, hosts=kw.pop("hosts", HOSTS), **kw)


def finish(gen: Any) -> Any:
    """Run a generator that must finish without yielding; return its value."""
    with pytest.raises(StopIteration) as info:
        next(gen)
    return info.value.value


@pytest.mark.parametrize(
    ("family", "qtypes"),
    [
        (None, BOTH),
        (socket.AF_UNSPEC, BOTH),
        (socket.AF_INET, (QType.A,)),
        (socket.AF_INET6, (QType.AAAA,)),
        (int(socket.AF_INET6), (QType.AAAA,)),
    ],
)
def test_query_types_per_family(family: Any, qtypes: tuple[QType, ...]) -> None:
    assert query_types(family) == qtypes


@pytest.mark.parametrize("family", [socket.AF_UNIX, 99, "inet"])
def test_other_families_are_refused(family: Any) -> None:
    with pytest.raises(ValueError, match="address family"):
        query_types(family)


@pytest.mark.parametrize(
    ("name", "qtypes", "expected"),
    [
        ("192.0.2.1", BOTH, ["192.0.2.1"]),
        ("2001:DB8::0001", BOTH, ["2001:db8::1"]),  # normalized
        ("fe80::1%eth0", (QType.AAAA,), ["fe80::1%eth0"]),
        ("both.test", BOTH, ["10.1.1.1", "fd00::1"]),
        ("BOTH.test.", (QType.AAAA,), ["fd00::1"]),
        ("four.test", (QType.A,), ["10.2.2.2"]),
        ("four.test", (QType.AAAA,), None),  # hosts has no IPv6 for it: DNS decides
        ("six.test", BOTH, ["fd00::6"]),
        ("localhost", BOTH, ["10.3.3.3"]),  # the file wins over RFC 6761
        ("db.localhost", BOTH, ["127.0.0.1", "::1"]),
        ("DB.LocalHost.", (QType.AAAA,), ["::1"]),
        ("localhost.example", BOTH, None),
        ("example.test", BOTH, None),
    ],
)
def test_local_answers(name: str, qtypes: tuple[QType, ...], expected: Any) -> None:
    assert local_answer(HOSTS, name, qtypes) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("1.2.3", None),  # digits and dots, still no address: a name for DNS
        ("1.2.3.4.", None),
        ("\u0661.\u0662.\u0663.\u0664", None),  # Arabic-Indic digits are not an IPv4 address
        ("::ffff:192.0.2.1", ["::ffff:c000:201"]),
        ("0.0.0.0", ["0.0.0.0"]),
        ("", None),
    ],
)
def test_only_digits_and_dots_or_a_colon_can_be_a_literal(name: str, expected: Any) -> None:
    assert local_answer(Hosts({}), name, BOTH) == expected


@pytest.mark.parametrize(
    ("name", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("a.b.Localhost", True),
        ("a.localhost.", True),
        ("xlocalhost", False),
        ("localhost.x", False),
        ("ocalhost.", False),
    ],
)
def test_localhost_is_loopback_without_a_hosts_file(name: str, loopback: bool) -> None:
    expected = ["127.0.0.1", "::1"] if loopback else None
    assert local_answer(Hosts({}), name, BOTH) == expected


@pytest.mark.parametrize(("name", "qtypes"), [("192.0.2.1", (QType.AAAA,)), ("::1", (QType.A,))])
def test_a_literal_of_another_family_has_no_address(name: str, qtypes: Any) -> None:
    with pytest.raises(NoAddressError) as info:
        local_answer(HOSTS, name, qtypes)
    assert info.value.name == name


def test_a_name_must_be_a_str() -> None:
    with pytest.raises(TypeError, match="str"):
        local_answer(HOSTS, b"\x7f\x00\x00\x01", BOTH)  # type: ignore[arg-type]


def test_literals_and_hosts_need_no_loop_and_no_thread() -> None:
    r = resolver()
    threads = threading.active_count()
    assert r.resolve("192.0.2.1") == ["192.0.2.1"]
    assert r.resolve("both.test", family=socket.AF_INET6) == ["fd00::1"]
    assert finish(r.resolve_on_loop("four.test")) == ["10.2.2.2"]
    assert threading.active_count() == threads
    assert "idle" in repr(r)


def test_resolve_on_loop_is_awaitable_and_a_generator() -> None:
    gen = resolver().resolve_on_loop("192.0.2.1")
    assert inspect.isgenerator(gen)
    assert inspect.isawaitable(gen)
    gen.close()


def test_dns_needs_a_loop_for_resolve_on_loop() -> None:
    with pytest.raises(RuntimeError, match="call resolve"):
        next(resolver().resolve_on_loop("example"))


def test_bad_names_and_families_fail_before_any_io() -> None:
    r = resolver()
    threads = threading.active_count()
    with pytest.raises(ValueError, match="label"):
        next(r.resolve_on_loop("a..b"))
    with pytest.raises(ValueError, match="label"):
        r.resolve("a..b")
    assert threading.active_count() == threads
    with pytest.raises(ValueError, match="address family"):
        r.resolve("example.test", family=socket.AF_UNIX)


def test_a_closed_resolver_refuses_lookups() -> None:
    with resolver() as r:
        pass
    assert "closed" in repr(r)
    with pytest.raises(ClosedResourceError):
        r.resolve("192.0.2.1")
    with pytest.raises(ClosedResourceError):
        next(r.resolve_on_loop("192.0.2.1"))
    r.close()  # idempotent


def test_statistics_start_at_zero_and_name_the_cache() -> None:
    cache = DnsCache(max_entries=8)
    stats = resolver(cache=cache).statistics()
    assert stats == ResolverStatistics(0, 0, 0, 0, 0, 0, 0, 0, cache.statistics())


def test_repr_names_the_nameservers() -> None:
    assert repr(resolver()) == ("<DnsResolver idle nameservers=127.0.0.1:5353 inflight=0 cache=0>")


@pytest.mark.parametrize("kw", [{"max_inflight": 0}, {"max_udp_answer_bytes": 0}])
def test_limits_below_one_are_refused(kw: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        resolver(**kw)


def test_defaults_read_the_system_files(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = ResolvConf(nameservers=(("192.0.2.53", 53),))
    monkeypatch.setattr(_resolver, "load_resolv_conf", lambda: conf)
    monkeypatch.setattr(_resolver, "load_hosts", lambda: HOSTS)
    r = DnsResolver()
    assert r.conf is conf
    assert r.hosts is HOSTS
    assert r.statistics().cache.entries == 0
