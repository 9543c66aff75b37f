"""DnsResolver against the scripted test DNS server, on real rings (127.0.0.1, port 0).

Lookups run as fibers on a test loop (`sws_loop`) unless a test is about the blocking form.
Query counts come from the server, which counts every query it gets per (name, type,
transport): a cached or coalesced lookup is one that sends nothing.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import pytest
from dnslib import DNSRecord

from sws_client._dnscache import DnsCache
from sws_client._dnserrors import (
    DnsError,
    DnsServerError,
    DnsTimeoutError,
    NameNotFoundError,
    NoAddressError,
)
from sws_client._resolvconf import Hosts, ResolvConf, parse_hosts
from sws_client._resolver import DnsResolver
from sws_core import ClosedResourceError, Op

pytestmark = pytest.mark.integration

WAIT_S = 10.0
SHORT_S = 0.2  # the per-try timeout of tests that expect timeouts

ZONE = {
    "a.test": ["A 10.0.0.1", "A 10.0.0.2", "60 AAAA fd00::1"],
    "www.a.test": ["30 CNAME a.test"],
    "chain.test": ["CNAME www.a.test"],
    "v4.test": ["A 10.0.0.4"],
    "v6.test": ["AAAA fd00::6"],
    "loop1.test": ["CNAME loop2.test"],
    "loop2.test": ["CNAME loop1.test"],
    "host.s2.test": ["A 10.0.2.1"],
    "a.test.s1.test": ["A 10.0.1.1"],
    "short.test": ["1 A 10.0.0.9"],
    "slow.test": ["A 10.0.0.7", "AAAA fd00::7"],
    "other.test": ["A 10.0.0.8"],
    "test": ["SOA ns.test. admin.test. 1 3600 600 86400 30"],
}
A_TEST = ["10.0.0.1", "10.0.0.2", "fd00::1"]

Start = Callable[..., Any]


def lookup(resolver: DnsResolver, name: str, **kw: Any) -> Callable[[], Any]:
    """The fiber body that resolves `name` with `resolve_on_loop`."""
    return lambda: resolver.resolve_on_loop(name, **kw)


class TruncatingUdpOnly:
    """A nameserver that answers every UDP query with TC=1 and listens on no TCP port."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.address = ("127.0.0.1", self.sock.getsockname()[1])
        self.queries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.queries += 1
            reply = DNSRecord.parse(data).reply()
            reply.header.tc = 1
            self.sock.sendto(reply.pack(), peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(WAIT_S)
        self.sock.close()


def closed_udp_port() -> int:
    """A UDP port on 127.0.0.1 nothing listens on (ICMP port unreachable)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def a_queries(server: Any) -> list[str]:
    """The names of the A queries the server got, in order."""
    return [r.name for r in server.log if r.qtype == "A"]


# --- answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "family", "expected"),
    [
        ("a.test", None, A_TEST),
        ("A.TEST.", None, A_TEST),  # case and an absolute name
        ("a.test", socket.AF_INET, ["10.0.0.1", "10.0.0.2"]),
        ("a.test", socket.AF_INET6, ["fd00::1"]),
        ("v4.test", None, ["10.0.0.4"]),  # AAAA is NODATA: the A answer stands alone
        ("v6.test", None, ["fd00::6"]),
        ("www.a.test", None, A_TEST),  # one CNAME
        ("chain.test", None, A_TEST),  # a chain of two
    ],
)
def test_a_and_aaaa_and_cname_chains(
    dns_server: Start, dns_resolver: Start, sws_loop: Start, name: str, family: Any, expected: Any
) -> None:
    server = dns_server(ZONE)
    resolver = dns_resolver(server)
    assert sws_loop().run(lookup(resolver, name, family=family)) == expected
    queried = {"A", "AAAA"} if family is None else {"A" if family == socket.AF_INET else "AAAA"}
    assert {r.qtype for r in server.log} == queried
    assert all(r.transport == "udp" for r in server.log)


def test_a_and_aaaa_go_out_at_once(
    dns_server: Start, dnsserver: Any, dns_resolver: Start, sws_loop: Start
) -> None:
    # Neither question is answered: asked one after the other, only one would be in flight.
    server = dns_server(ZONE, {"slow.test": dnsserver.Behaviour(drop=True)})
    resolver = dns_resolver(server, timeout_s=5.0)
    sws_loop().start(lookup(resolver, "slow.test"))  # closed when the loop stops
    deadline = time.monotonic() + WAIT_S
    while resolver.statistics().inflight < 2:
        assert time.monotonic() < deadline, "the A and AAAA questions were never both out"
        time.sleep(0.005)
    assert server.wait_for_queries(2)
    assert {r.qtype for r in server.log} == {"A", "AAAA"}


def test_no_address_of_the_family(dns_server: Start, dns_resolver: Start, sws_loop: Start) -> None:
    server = dns_server(ZONE)
    resolver = dns_resolver(server)
    with pytest.raises(NoAddressError) as info:
        sws_loop().run(lookup(resolver, "v4.test", family=socket.AF_INET6))
    assert info.value.name == "v4.test"


def test_a_cname_loop_is_a_server_error(
    dns_server: Start, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE)
    resolver = dns_resolver(server)
    with pytest.raises(DnsServerError) as info:
        sws_loop().run(lookup(resolver, "loop1.test", family=socket.AF_INET))
    assert info.value.rcode == 0


def test_hosts_first_and_literals_ask_no_server(
    dns_server: Start, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE)
    hosts = parse_hosts("10.9.9.9 a.test\nfd00::99 six.test\n10.9.9.8 four.test\n")
    resolver = dns_resolver(server, hosts=hosts)
    runner = sws_loop()
    assert runner.run(lookup(resolver, "A.test")) == ["10.9.9.9"]
    assert runner.run(lookup(resolver, "six.test")) == ["fd00::99"]
    assert runner.run(lookup(resolver, "127.0.0.1")) == ["127.0.0.1"]
    assert runner.run(lookup(resolver, "::1", family=socket.AF_INET6)) == ["::1"]
    assert runner.run(lookup(resolver, "localhost")) == ["127.0.0.1", "::1"]
    assert server.total() == 0
    # The hosts file lists four.test for IPv4 only: an AAAA lookup goes to DNS.
    with pytest.raises(NameNotFoundError):
        runner.run(lookup(resolver, "four.test", family=socket.AF_INET6))
    assert [(r.name, r.qtype) for r in server.log] == [("four.test", "AAAA")]


# --- search list and ndots --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ndots", "expected", "queried"),
    [
        # fewer dots than ndots: the search list first, then the name as given
        ("host", 1, ["10.0.2.1"], ["host.s1.test", "host.s2.test"]),
        # enough dots: the name as given first
        ("a.test", 1, ["10.0.0.1", "10.0.0.2"], ["a.test"]),
        ("a.test", 2, ["10.0.1.1"], ["a.test.s1.test"]),
        ("v4.test", 2, ["10.0.0.4"], ["v4.test.s1.test", "v4.test.s2.test", "v4.test"]),
        # an absolute name is tried alone
        ("host.", 1, NameNotFoundError, ["host"]),
        ("nope", 1, NameNotFoundError, ["nope.s1.test", "nope.s2.test", "nope"]),
    ],
)
def test_search_and_ndots_order(
    dns_server: Start,
    dns_resolver: Start,
    sws_loop: Start,
    name: str,
    ndots: int,
    expected: Any,
    queried: list[str],
) -> None:
    server = dns_server(ZONE)
    resolver = dns_resolver(server, search=("s1.test", "s2.test"), ndots=ndots)
    body = lookup(resolver, name, family=socket.AF_INET)
    if isinstance(expected, list):
        assert sws_loop().run(body) == expected
    else:
        with pytest.raises(expected):
            sws_loop().run(body)
    assert a_queries(server) == queried


def test_nodata_on_one_candidate_and_nxdomain_on_the_rest_is_no_address(
    dns_server: Start, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE)
    resolver = dns_resolver(server, search=("test",), ndots=1)
    with pytest.raises(NoAddressError):
        sws_loop().run(lookup(resolver, "v6", family=socket.AF_INET))  # v6.test has no A
    assert a_queries(server) == ["v6.test", "v6"]


# --- failover, timeouts, attempts -----------------------------------------------------------


@pytest.mark.parametrize(
    "behaviour",
    [{"drop": True}, {"rcode": "SERVFAIL"}, {"rcode": "REFUSED"}],
    ids=["drop", "servfail", "refused"],
)
def test_failover_to_the_second_nameserver(
    dns_server: Start,
    dnsserver: Any,
    dns_resolver: Start,
    sws_loop: Start,
    behaviour: dict[str, Any],
) -> None:
    first = dns_server(ZONE, {"a.test": dnsserver.Behaviour(**behaviour)})
    second = dns_server(ZONE)
    resolver = dns_resolver(first, second, timeout_s=SHORT_S)
    assert sws_loop().run(lookup(resolver, "a.test", family=socket.AF_INET)) == [
        "10.0.0.1",
        "10.0.0.2",
    ]
    assert (first.count("a.test"), second.count("a.test")) == (1, 1)
    stats = resolver.statistics()
    assert (stats.timeouts, stats.server_errors) == ((1, 0) if "drop" in behaviour else (0, 1))


def test_a_closed_port_fails_over_at_once_and_is_skipped_after(
    dns_server: Start, dnsserver: Any, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE, {"slow.test": dnsserver.Behaviour(drop=True)})
    closed = ("127.0.0.1", closed_udp_port())
    resolver = dns_resolver(closed, server, timeout_s=SHORT_S, attempts=2)
    runner = sws_loop()
    assert runner.run(lookup(resolver, "a.test", family=socket.AF_INET)) == [
        "10.0.0.1",
        "10.0.0.2",
    ]
    assert resolver.statistics().refused == 1
    # Two rounds: the closed port refuses in the first and is not asked in the second.
    with pytest.raises(DnsTimeoutError) as info:
        runner.run(lookup(resolver, "slow.test", family=socket.AF_INET))
    assert server.count("slow.test") == 2
    assert resolver.statistics().refused == 2
    assert info.value.attempts == 3


def test_nxdomain_from_the_first_server_is_final(
    dns_server: Start, dns_resolver: Start, sws_loop: Start
) -> None:
    first, second = dns_server(ZONE), dns_server(ZONE)
    resolver = dns_resolver(first, second)
    with pytest.raises(NameNotFoundError):
        sws_loop().run(lookup(resolver, "gone.test"))
    assert first.total() == 2  # A and AAAA
    assert second.total() == 0


def test_every_server_failing_is_a_server_error(
    dns_server: Start, dnsserver: Any, dns_resolver: Start, sws_loop: Start
) -> None:
    servfail = {"a.test": dnsserver.Behaviour(rcode="SERVFAIL")}
    servers = [dns_server(ZONE, servfail), dns_server(ZONE, servfail)]
    resolver = dns_resolver(*servers, attempts=2)
    with pytest.raises(DnsServerError) as info:
        sws_loop().run(lookup(resolver, "a.test", family=socket.AF_INET))
    assert info.value.rcode == 2
    assert [s.count("a.test") for s in servers] == [2, 2]  # 2 rounds through 2 servers


def test_a_slow_answer_is_retried_in_the_next_attempt(
    dns_server: Start, dnsserver: Any, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(delay_s=0.5, times=1)})
    resolver = dns_resolver(server, timeout_s=SHORT_S, attempts=2)
    assert sws_loop().run(lookup(resolver, "a.test", family=socket.AF_INET)) == [
        "10.0.0.1",
        "10.0.0.2",
    ]
    first, second = server.log
    assert first.peer != second.peer  # a fresh socket, so a fresh source port, per try
    assert resolver.statistics().timeouts == 1


def test_no_answer_in_any_attempt_is_a_timeout(
    dns_server: Start, dnsserver: Any, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(delay_s=0.5)})
    resolver = dns_resolver(server, timeout_s=SHORT_S, attempts=2)
    with pytest.raises(DnsTimeoutError) as info:
        sws_loop().run(lookup(resolver, "a.test", family=socket.AF_INET))
    assert isinstance(info.value, TimeoutError)
    assert info.value.attempts == 2
    assert server.count("a.test") == 2


def test_a_timeout_stops_the_search(
    dns_server: Start, dnsserver: Any, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE, {"host.s1.test": dnsserver.Behaviour(drop=True)})
    resolver = dns_resolver(server, timeout_s=SHORT_S, search=("s1.test", "s2.test"))
    with pytest.raises(DnsTimeoutError):
        sws_loop().run(lookup(resolver, "host", family=socket.AF_INET))
    assert a_queries(server) == ["host.s1.test"]


def test_rotate_starts_each_question_at_the_next_server(
    dns_server: Start, dns_resolver: Start, sws_loop: Start
) -> None:
    first, second = dns_server(ZONE), dns_server(ZONE)
    resolver = dns_resolver(first, second, rotate=True)
    runner = sws_loop()
    for name in ("a.test", "v4.test", "other.test"):
        runner.run(lookup(resolver, name, family=socket.AF_INET))
    assert a_queries(first) == ["a.test", "other.test"]
    assert a_queries(second) == ["v4.test"]


def loopback_zone() -> str | None:
    """The loopback interface's name, if it has IPv6 (::1) on this machine."""
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            probe.bind(("::1", 0))
        finally:
            probe.close()
        return socket.if_indextoname(socket.if_nametoindex("lo"))
    except OSError:
        return None


@pytest.mark.skipif(loopback_zone() is None, reason="no IPv6 loopback interface named lo")
def test_a_nameserver_with_an_ipv6_zone_is_asked_over_udp_and_tcp(
    dns_server: Start, dnsserver: Any, dns_resolver: Start, sws_loop: Start
) -> None:
    # resolv.conf may name a link-local nameserver with its zone ("fe80::1%eth0"); ::1 on
    # the loopback interface takes the same path (the kernel ignores its scope id).
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(truncate=True)}, host="::1")
    for zone in (loopback_zone(), str(socket.if_nametoindex("lo"))):
        resolver = dns_resolver((f"::1%{zone}", server.port))
        assert sws_loop().run(lookup(resolver, "a.test", family=socket.AF_INET)) == [
            "10.0.0.1",
            "10.0.0.2",
        ]
        stats = resolver.statistics()
        assert (stats.udp_queries, stats.tcp_queries) == (1, 1)


def test_a_nameserver_zone_naming_no_interface_is_no_use(
    dns_server: Start, dns_resolver: Start, sws_loop: Start
) -> None:
    healthy = dns_server(ZONE)
    resolver = dns_resolver(("fe80::1%no-such-if0", 53), healthy)
    assert sws_loop().run(lookup(resolver, "a.test", family=socket.AF_INET)) == [
        "10.0.0.1",
        "10.0.0.2",
    ]
    assert resolver.statistics().refused == 1


# --- truncation and anti-spoofing -----------------------------------------------------------


def test_a_truncated_answer_is_asked_again_over_tcp(
    dns_server: Start, dnsserver: Any, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(truncate=True, wrong_id_first=True)})
    resolver = dns_resolver(server)
    assert sws_loop().run(lookup(resolver, "a.test")) == A_TEST
    for qtype in ("A", "AAAA"):
        assert server.count("a.test", qtype, "udp") == 1
        assert server.count("a.test", qtype, "tcp") == 1
    stats = resolver.statistics()
    assert (stats.udp_queries, stats.tcp_queries) == (2, 2)
    assert stats.answers_ignored == 4  # a wrong id first, over UDP and over TCP, per type


def test_truncation_then_tcp_refused_goes_to_the_next_server(
    dns_server: Start, dns_resolver: Start, sws_loop: Start
) -> None:
    healthy = dns_server(ZONE)
    truncating = TruncatingUdpOnly()
    try:
        resolver = dns_resolver(truncating.address, healthy)
        assert sws_loop().run(lookup(resolver, "a.test", family=socket.AF_INET)) == [
            "10.0.0.1",
            "10.0.0.2",
        ]
    finally:
        truncating.close()
    assert truncating.queries == 1
    assert healthy.count("a.test") == 1
    stats = resolver.statistics()
    assert (stats.tcp_queries, stats.refused) == (0, 1)  # the TCP connect was refused


@pytest.mark.parametrize(
    ("decoy", "ignored"),
    [("wrong_id_first", 1), ("wrong_question_first", 1), ("wrong_port_first", 0)],
)
def test_forged_answers_first_are_ignored(
    dns_server: Start,
    dnsserver: Any,
    dns_resolver: Start,
    sws_loop: Start,
    decoy: str,
    ignored: int,
) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(**{decoy: True})})
    resolver = dns_resolver(server)
    assert sws_loop().run(lookup(resolver, "a.test", family=socket.AF_INET)) == [
        "10.0.0.1",
        "10.0.0.2",
    ]
    assert server.count("a.test") == 1  # the real answer was taken, no retry needed
    # From another port, the kernel drops it: the connected socket never sees it.
    assert resolver.statistics().answers_ignored == ignored


def test_transaction_ids_and_source_ports_are_random(
    dns_server: Start, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE)
    resolver = dns_resolver(server, cache=DnsCache(max_ttl_s=0))  # cache nothing
    runner = sws_loop()
    n = 16
    for _ in range(n):
        runner.run(lookup(resolver, "a.test", family=socket.AF_INET))
    txids = [r.txid for r in server.log]
    ports = [r.peer[1] for r in server.log]
    assert len(txids) == n
    # Random 16-bit values: a repeat among 16 is rare (p < 0.2 %), two repeats rarer still.
    assert len(set(txids)) >= n - 1
    assert len(set(ports)) >= n - 1
    for values in (txids, ports):
        steps = {b - a for a, b in itertools.pairwise(values)}
        assert len(steps) > 1, f"values move in equal steps: {values}"


# --- the cache: TTLs, negative answers, coalescing ----------------------------------------------


def test_answers_are_cached_until_their_ttl_on_the_loop_clock(
    dns_server: Start, dns_resolver: Start, sws_loop: Start
) -> None:
    shift = [0.0]
    runner = sws_loop(clock=lambda: time.monotonic() + shift[0])
    server = dns_server(ZONE)
    resolver = dns_resolver(server)
    for _ in range(3):
        assert runner.run(lookup(resolver, "short.test", family=socket.AF_INET)) == ["10.0.0.9"]
    assert server.count("short.test") == 1
    shift[0] += 1.0  # the TTL is 1 s
    runner.run(lookup(resolver, "short.test", family=socket.AF_INET))
    assert server.count("short.test") == 2
    assert resolver.statistics().cache.hits == 2


def test_negative_answers_are_cached_until_the_soa_minimum(
    dns_server: Start, dns_resolver: Start, sws_loop: Start
) -> None:
    shift = [0.0]
    runner = sws_loop(clock=lambda: time.monotonic() + shift[0])
    server = dns_server(ZONE)
    resolver = dns_resolver(server)
    for _ in range(2):
        with pytest.raises(NameNotFoundError):
            runner.run(lookup(resolver, "gone.test"))
        with pytest.raises(NoAddressError):
            runner.run(lookup(resolver, "v4.test", family=socket.AF_INET6))
    assert server.count("gone.test", "A") == server.count("gone.test", "AAAA") == 1
    assert server.count("v4.test", "AAAA") == 1
    shift[0] += 30.0  # the SOA's minimum TTL
    with pytest.raises(NameNotFoundError):
        runner.run(lookup(resolver, "gone.test"))
    assert server.count("gone.test", "A") == 2


def test_concurrent_lookups_of_one_name_share_one_query(
    dns_server: Start, dnsserver: Any, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE, {"slow.test": dnsserver.Behaviour(delay_s=0.3)})
    resolver = dns_resolver(server)
    runner = sws_loop()
    pending = [runner.start(lookup(resolver, "slow.test")) for _ in range(10)]
    assert [p.result() for p in pending] == [["10.0.0.7", "fd00::7"]] * 10
    assert server.count("slow.test", "A") == server.count("slow.test", "AAAA") == 1
    assert resolver.statistics().coalesced == 18
    assert resolver.statistics().inflight == 0


def test_coalescing_across_loops_and_threads(
    dns_server: Start, dnsserver: Any, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE, {"slow.test": dnsserver.Behaviour(delay_s=0.3)})
    resolver = dns_resolver(server)
    on_loop = sws_loop().start(lookup(resolver, "slow.test", family=socket.AF_INET))
    assert server.wait_for_queries(1)
    # A plain thread's lookup runs on the resolver's own loop and waits for the first one.
    assert resolver.resolve("slow.test", family=socket.AF_INET) == ["10.0.0.7"]
    assert on_loop.result() == ["10.0.0.7"]
    assert server.count("slow.test") == 1


def test_a_question_whose_loop_stops_is_asked_again_by_its_waiters(
    dns_server: Start, dnsserver: Any, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE, {"slow.test": dnsserver.Behaviour(delay_s=1.0, times=1)})
    resolver = dns_resolver(server)
    first = sws_loop()
    first.start(lookup(resolver, "slow.test", family=socket.AF_INET))
    assert server.wait_for_queries(1)
    waiter = sws_loop().start(lookup(resolver, "slow.test", family=socket.AF_INET))
    deadline = time.monotonic() + WAIT_S
    while resolver.statistics().coalesced < 1:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    first.stop()  # closes the asking fiber before its answer
    assert waiter.result() == ["10.0.0.7"]
    assert server.count("slow.test") == 2


def test_the_inflight_limit_fails_fast(dns_server: Start, dnsserver: Any, sws_loop: Start) -> None:
    server = dns_server(ZONE, {"slow.test": dnsserver.Behaviour(delay_s=0.3)})
    conf = ResolvConf(nameservers=(server.address,), timeout_s=2.0, attempts=1)
    with DnsResolver(conf=conf, hosts=Hosts({}), max_inflight=1) as resolver:
        runner = sws_loop()
        slow = runner.start(lookup(resolver, "slow.test", family=socket.AF_INET))
        assert server.wait_for_queries(1)
        with pytest.raises(DnsError, match="in flight"):
            runner.run(lookup(resolver, "a.test", family=socket.AF_INET))
        assert slow.result() == ["10.0.0.7"]


# --- the two forms: fiber and blocking --------------------------------------------------------


def test_resolve_in_a_fiber_returns_the_op(
    dns_server: Start, dns_resolver: Start, sws_loop: Start
) -> None:
    server = dns_server(ZONE)
    resolver = dns_resolver(server)
    runner = sws_loop()

    def generator_fiber() -> Generator[Op, Any, list[str]]:
        addresses: list[str] = yield from resolver.resolve("a.test")
        return addresses

    async def async_fiber() -> list[str]:
        addresses: list[str] = await resolver.resolve("www.a.test")
        return addresses

    async def async_failure() -> list[str]:
        addresses: list[str] = await resolver.resolve_on_loop("gone.test")
        return addresses

    assert runner.run(generator_fiber) == A_TEST
    assert runner.run(async_fiber) == A_TEST
    with pytest.raises(NameNotFoundError):
        runner.run(async_failure)
    assert not any(t.name == "sws-dns-resolver" for t in threading.enumerate())


def test_resolve_blocks_a_plain_thread_on_the_private_loop(
    dns_server: Start, dns_resolver: Start
) -> None:
    server = dns_server(ZONE)
    resolver = dns_resolver(server)
    assert resolver.resolve("127.0.0.1") == ["127.0.0.1"]  # no loop needed for that
    assert "idle" in repr(resolver)
    results: list[Any] = []

    def worker(name: str) -> None:
        try:
            results.append(resolver.resolve(name))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=worker, args=("a.test",)) for _ in range(4)]
    threads.append(threading.Thread(target=worker, args=("gone.test",)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S)
    assert sum(r == A_TEST for r in results) == 4
    assert sum(isinstance(r, NameNotFoundError) for r in results) == 1
    assert "loop-running" in repr(resolver)
    resolver.close()
    assert "closed" in repr(resolver)
    assert not any(t.name == "sws-dns-resolver" for t in threading.enumerate())
    with pytest.raises(ClosedResourceError):
        resolver.resolve("a.test")


def test_resolve_on_loop_needs_a_loop_for_dns(dns_server: Start, dns_resolver: Start) -> None:
    resolver = dns_resolver(dns_server(ZONE))
    with pytest.raises(RuntimeError, match="call resolve"):
        next(resolver.resolve_on_loop("a.test"))


def test_close_fails_a_blocked_lookup_at_once(
    dns_server: Start, dnsserver: Any, dns_resolver: Start
) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(drop=True)})
    resolver = dns_resolver(server, timeout_s=5.0)
    outcome: list[BaseException] = []

    def blocked() -> None:
        try:
            resolver.resolve("a.test")
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=blocked)
    thread.start()
    assert server.wait_for_queries(1)
    resolver.close()
    thread.join(WAIT_S)
    assert not thread.is_alive()
    assert [type(e) for e in outcome] == [ClosedResourceError]
    resolver.close()  # idempotent
