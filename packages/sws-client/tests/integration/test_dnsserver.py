"""The scripted DNS test server, asked with plain sockets and dnslib (not the code under test)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

pytestmark = pytest.mark.integration

WAIT_S = 10.0  # the bound on every read that expects an answer
QUIET_S = 0.3  # how long a read that expects nothing waits

ZONE = {
    "a.test": ["A 10.0.0.1", "A 10.0.0.2", "60 AAAA fd00::1"],
    "www.a.test": ["30 CNAME a.test"],
    "loop1.test": ["CNAME loop2.test"],
    "loop2.test": ["CNAME loop1.test."],
    "sub.a.test": ["A 10.0.0.3"],
    "deep.b.test": ["A 10.0.0.4"],
    "test": ["SOA ns.test. admin.test. 1 3600 600 86400 30"],
    "outside.example": ["A 192.0.2.1"],
}

Start = Callable[..., Any]


def query(name: str, qtype: str = "A", txid: int = 4242) -> bytes:
    record = DNSRecord.question(name, qtype)
    record.header.id = txid
    return bytes(record.pack())


def udp_ask(
    address: tuple[str, int], packet: bytes, replies: int = 1, wait_s: float = WAIT_S
) -> list[tuple[Any, tuple[str, int]]]:
    """Send one datagram; return up to `replies` answers (parsed) with their source."""
    got = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(wait_s)
        sock.sendto(packet, address)
        try:
            for _ in range(replies):
                data, source = sock.recvfrom(65535)
                got.append((DNSRecord.parse(data), source))
        except TimeoutError:
            pass
    return got


def tcp_read(sock: socket.socket) -> Any:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "server closed the connection"
            data += chunk
        return data

    (length,) = struct.unpack("!H", exactly(2))
    return DNSRecord.parse(exactly(length))


def tcp_ask(address: tuple[str, int], packet: bytes, replies: int = 1) -> list[Any]:
    with socket.create_connection(address, timeout=WAIT_S) as sock:
        sock.sendall(struct.pack("!H", len(packet)) + packet)
        return [tcp_read(sock) for _ in range(replies)]


def addresses(record: Any) -> list[str]:
    return [str(rr.rdata) for rr in record.rr if rr.rtype in (QTYPE.A, QTYPE.AAAA)]


# --- answers from the zone ------------------------------------------------------------------


def test_answers_a_and_aaaa_over_udp(dns_server: Start) -> None:
    server = dns_server(ZONE)
    [(a, source)] = udp_ask(server.address, query("a.test"))
    assert source == server.address
    assert a.header.id == 4242
    assert a.header.qr == 1
    assert addresses(a) == ["10.0.0.1", "10.0.0.2"]
    [(aaaa, _)] = udp_ask(server.address, query("a.test", "AAAA"))
    assert addresses(aaaa) == ["fd00::1"]
    assert aaaa.rr[0].ttl == 60


def test_follows_cname_and_echoes_the_question_case(dns_server: Start) -> None:
    server = dns_server(ZONE)
    [(reply, _)] = udp_ask(server.address, query("WwW.A.tEsT"))
    assert str(reply.q.qname) == "WwW.A.tEsT."
    assert [QTYPE[rr.rtype] for rr in reply.rr] == ["CNAME", "A", "A"]
    assert reply.rr[0].ttl == 30
    assert addresses(reply) == ["10.0.0.1", "10.0.0.2"]
    assert server.count("www.a.test") == 1  # counted case-insensitively


def test_a_scripted_cname_loop_is_answered_as_is(dns_server: Start) -> None:
    server = dns_server(ZONE)
    [(reply, _)] = udp_ask(server.address, query("loop1.test"))
    assert [str(rr.rdata) for rr in reply.rr] == ["loop2.test.", "loop1.test."]


def test_a_long_chain_is_answered_in_full(dns_server: Start) -> None:
    zone = {f"c{i}.test": [f"CNAME c{i + 1}.test"] for i in range(20)}
    zone["c20.test"] = ["A 10.9.9.9"]
    server = dns_server(zone)
    [(reply, _)] = udp_ask(server.address, query("c0.test"))
    assert len(reply.rr) == 21
    assert addresses(reply) == ["10.9.9.9"]


@pytest.mark.parametrize(
    ("name", "qtype", "rcode", "soa"),
    [
        ("nope.test", "A", "NXDOMAIN", True),  # no such name, under a zone with an SOA
        ("a.test", "MX", "NOERROR", True),  # NODATA: the name exists, not the type
        ("sub.a.test", "AAAA", "NOERROR", True),
        ("test", "A", "NOERROR", True),  # the zone apex
        ("b.test", "A", "NOERROR", True),  # an empty non-terminal exists
        ("nope.example", "A", "NXDOMAIN", False),  # no enclosing SOA in the zone
        ("outside.example", "AAAA", "NOERROR", False),
    ],
)
def test_negative_answers_carry_the_enclosing_soa(
    dns_server: Start, name: str, qtype: str, rcode: str, soa: bool
) -> None:
    server = dns_server(ZONE)
    [(reply, _)] = udp_ask(server.address, query(name, qtype))
    assert RCODE[reply.header.rcode] == rcode
    assert reply.rr == []
    assert [QTYPE[rr.rtype] for rr in reply.auth] == (["SOA"] if soa else [])


def test_answers_over_tcp_on_the_same_port_many_queries_per_connection(
    dns_server: Start,
) -> None:
    server = dns_server(ZONE)
    with socket.create_connection(server.address, timeout=WAIT_S) as sock:
        assert sock.getpeername() == server.address
        first, second = query("a.test", txid=1), query("a.test", "AAAA", txid=2)
        stream = struct.pack("!H", len(first)) + first + struct.pack("!H", len(second)) + second
        for i in range(len(stream)):  # one byte at a time: the server must reassemble
            sock.sendall(stream[i : i + 1])
        replies = [tcp_read(sock), tcp_read(sock)]
    assert [r.header.id for r in replies] == [1, 2]
    assert addresses(replies[0]) == ["10.0.0.1", "10.0.0.2"]
    assert addresses(replies[1]) == ["fd00::1"]
    assert server.count("a.test", "A", "tcp") == 1
    assert server.count("a.test", "AAAA", "tcp") == 1
    assert server.count("a.test", "A", "udp") == 0


# --- misbehaviours --------------------------------------------------------------------------


@pytest.mark.parametrize("rcode", ["NXDOMAIN", "SERVFAIL", "REFUSED"])
def test_scripted_rcode(dns_server: Start, dnsserver: Any, rcode: str) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(rcode=rcode)})
    [(reply, _)] = udp_ask(server.address, query("a.test"))
    assert RCODE[reply.header.rcode] == rcode
    assert reply.rr == []
    assert reply.q.qname == "a.test"


def test_drop_never_answers_but_counts(dns_server: Start, dnsserver: Any) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(drop=True)})
    assert udp_ask(server.address, query("a.test"), wait_s=QUIET_S) == []
    assert server.count("a.test") == 1


def test_times_limits_a_script_to_the_first_queries(dns_server: Start, dnsserver: Any) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(drop=True, times=1)})
    assert udp_ask(server.address, query("a.test"), wait_s=QUIET_S) == []
    [(reply, _)] = udp_ask(server.address, query("a.test"))
    assert addresses(reply) == ["10.0.0.1", "10.0.0.2"]
    assert server.count("a.test") == 2


def test_delay_holds_one_name_and_not_the_others(dns_server: Start, dnsserver: Any) -> None:
    server = dns_server(ZONE, {"www.a.test": dnsserver.Behaviour(delay_s=1.0)})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(WAIT_S)
        sock.sendto(query("www.a.test", txid=1), server.address)
        sock.sendto(query("a.test", txid=2), server.address)
        first = DNSRecord.parse(sock.recv(65535))
        second = DNSRecord.parse(sock.recv(65535))
    assert [first.header.id, second.header.id] == [2, 1]


def test_delay_over_tcp(dns_server: Start, dnsserver: Any) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(delay_s=0.2)})
    [reply] = tcp_ask(server.address, query("a.test"))
    assert addresses(reply) == ["10.0.0.1", "10.0.0.2"]


def test_truncate_sets_tc_over_udp_and_answers_in_full_over_tcp(
    dns_server: Start, dnsserver: Any
) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(truncate=True)})
    [(udp, _)] = udp_ask(server.address, query("a.test"))
    assert udp.header.tc == 1
    assert udp.rr == []
    assert udp.q.qname == "a.test"
    [tcp] = tcp_ask(server.address, query("a.test"))
    assert tcp.header.tc == 0
    assert addresses(tcp) == ["10.0.0.1", "10.0.0.2"]
    assert server.count("a.test", "A", "udp") == 1
    assert server.count("a.test", "A", "tcp") == 1


def test_wrong_id_first(dns_server: Start, dnsserver: Any) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(wrong_id_first=True)})
    replies = udp_ask(server.address, query("a.test", txid=65535), replies=2)
    assert [r.header.id for r, _ in replies] == [0, 65535]
    assert all(addresses(r) == ["10.0.0.1", "10.0.0.2"] for r, _ in replies)
    tcp = tcp_ask(server.address, query("a.test", txid=7), replies=2)
    assert [r.header.id for r in tcp] == [8, 7]


def test_wrong_port_first(dns_server: Start, dnsserver: Any) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(wrong_port_first=True)})
    replies = udp_ask(server.address, query("a.test"), replies=2)
    (decoy, decoy_source), (real, real_source) = replies
    assert decoy_source[0] == "127.0.0.1"
    assert decoy_source[1] != server.port
    assert real_source == server.address
    assert decoy.header.id == real.header.id == 4242
    [tcp] = tcp_ask(server.address, query("a.test"))  # no second port over TCP
    assert addresses(tcp) == ["10.0.0.1", "10.0.0.2"]


def test_wrong_question_first(dns_server: Start, dnsserver: Any) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(wrong_question_first=True)})
    (decoy, _), (real, _) = udp_ask(server.address, query("a.test"), replies=2)
    assert decoy.q.qname == "decoy.a.test"
    assert real.q.qname == "a.test"
    assert decoy.header.id == real.header.id


def test_decoys_come_in_a_fixed_order_and_all_after_the_delay(
    dns_server: Start, dnsserver: Any
) -> None:
    behaviour = dnsserver.Behaviour(
        delay_s=0.1, wrong_question_first=True, wrong_id_first=True, wrong_port_first=True
    )
    server = dns_server(ZONE, {"a.test": behaviour})
    replies = udp_ask(server.address, query("a.test", txid=10), replies=4)
    assert [(str(r.q.qname), r.header.id, s[1] == server.port) for r, s in replies] == [
        ("decoy.a.test.", 10, True),
        ("a.test.", 11, True),
        ("a.test.", 10, False),
        ("a.test.", 10, True),
    ]


# --- bookkeeping and shutdown ---------------------------------------------------------------


def test_log_records_txid_peer_and_transport(dns_server: Start) -> None:
    server = dns_server(ZONE)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(WAIT_S)
        sock.bind(("127.0.0.1", 0))
        sock.sendto(query("A.test", "AAAA", txid=99), server.address)
        sock.recv(65535)
        port = sock.getsockname()[1]
    [entry] = server.log
    assert (entry.name, entry.qtype, entry.transport, entry.txid) == ("A.test", "AAAA", "udp", 99)
    assert entry.peer == ("127.0.0.1", port)
    assert server.total() == 1
    assert server.wait_for_queries(1, timeout_s=0)


def test_malformed_queries_are_counted_and_not_answered(dns_server: Start) -> None:
    server = dns_server(ZONE)
    assert udp_ask(server.address, b"\x00\x01garbage", wait_s=QUIET_S) == []
    assert server.malformed == 1
    assert server.total() == 0


def test_a_client_closing_before_a_delayed_answer_is_harmless(
    dns_server: Start, dnsserver: Any
) -> None:
    server = dns_server(ZONE, {"a.test": dnsserver.Behaviour(delay_s=0.2)})
    packet = query("a.test")
    with socket.create_connection(server.address, timeout=WAIT_S) as sock:
        sock.sendall(struct.pack("!H", len(packet)) + packet)
        assert server.wait_for_queries(1)
    # A later query still gets its answer: the server thread lived through it.
    [(reply, _)] = udp_ask(server.address, query("a.test"))
    assert addresses(reply) == ["10.0.0.1", "10.0.0.2"]


def test_stop_joins_the_thread_and_is_idempotent(dnsserver: Any) -> None:
    before = {t.ident for t in threading.enumerate()}
    with dnsserver.DnsTestServer(ZONE) as server:
        assert "running" in repr(server)
        with socket.create_connection(server.address, timeout=WAIT_S):
            pass
        conn = socket.create_connection(server.address, timeout=WAIT_S)
    conn.close()  # the server closed its side at stop
    server.stop()
    assert "stopped" in repr(server)
    assert {t.ident for t in threading.enumerate()} == before


def test_an_error_in_the_server_thread_surfaces_at_stop(dnsserver: Any) -> None:
    server = dnsserver.DnsTestServer(ZONE, {"a.test": dnsserver.Behaviour(rcode="NO_SUCH")})
    server.start()
    udp_ask(server.address, query("a.test"), wait_s=QUIET_S)
    with pytest.raises(RuntimeError, match="thread failed"):
        server.stop()
