"""Query building, search order, answer checking and TCP framing, against dnslib-built packets."""

from __future__ import annotations

import os
import struct

import pytest
from dnslib import QTYPE, RR, DNSHeader, DNSQuestion, DNSRecord

from sws_client._dnsmsg import (
    MAX_CNAME_CHAIN,
    Answer,
    Outcome,
    QType,
    Question,
    TcpReader,
    build_query,
    candidate_names,
    check_answer,
    fold_name,
    new_txid,
    tcp_frame,
)
from sws_client._resolvconf import ResolvConf

TXID = 0x1234
SOA = "test. 3600 IN SOA ns.test. admin.test. 1 7200 900 1209600 {minimum}"


def response(
    name: str = "a.test",
    qtype: str = "A",
    *,
    answers: tuple[str, ...] = (),
    auth: tuple[str, ...] = (),
    txid: int = TXID,
    rcode: int = 0,
    tc: int = 0,
    qr: int = 1,
    opcode: int = 0,
    questions: list[DNSQuestion] | None = None,
) -> bytes:
    """Return a response built with dnslib; `answers` and `auth` are zone-file lines."""
    header = DNSHeader(id=txid, qr=qr, rd=1, ra=1, rcode=rcode, tc=tc, opcode=opcode)
    if questions is None:
        questions = [DNSQuestion(name, getattr(QTYPE, qtype))]
    record = DNSRecord(header, questions=questions)
    for line in answers:
        record.add_answer(*RR.fromZone(line))
    for line in auth:
        record.add_auth(*RR.fromZone(line))
    return bytes(record.pack())


def check(packet: bytes, name: str = "a.test", qtype: int = QType.A, **kw: int) -> Answer | None:
    return check_answer(packet, txid=TXID, name=name, qtype=qtype, **kw)


# --- names ----------------------------------------------------------------------------------


def conf(search: tuple[str, ...] = ("a.example", "b.example"), ndots: int = 1) -> ResolvConf:
    return ResolvConf(search=search, ndots=ndots)


@pytest.mark.parametrize(
    ("name", "config", "candidates"),
    [
        # fewer dots than ndots: the search list first, then as given
        ("host", conf(), ["host.a.example", "host.b.example", "host"]),
        ("host.x", conf(ndots=2), ["host.x.a.example", "host.x.b.example", "host.x"]),
        # at least ndots dots: as given first
        ("host.x", conf(), ["host.x", "host.x.a.example", "host.x.b.example"]),
        ("host", conf(ndots=0), ["host", "host.a.example", "host.b.example"]),
        ("a.b.c.d", conf(ndots=3), ["a.b.c.d", "a.b.c.d.a.example", "a.b.c.d.b.example"]),
        # a trailing dot: absolute, never searched
        ("host.", conf(), ["host"]),
        ("host.x.", conf(ndots=5), ["host.x"]),
        # no search list
        ("host", conf(search=()), ["host"]),
        ("host.x", conf(search=()), ["host.x"]),
        # case is kept (the cache and the answer check fold it)
        ("Host", conf(search=("Corp.Example",)), ["Host.Corp.Example", "Host"]),
        # IDNA, as the socket module encodes names
        ("bücher.example.", conf(), ["xn--bcher-kva.example"]),
        # a candidate that would be too long is left out, the others stay
        (
            "h" * 63,
            conf(search=("x" * 63 + "." + "y" * 63 + "." + "z" * 63, "ok")),
            ["h" * 63 + ".ok", "h" * 63],
        ),
    ],
)
def test_candidate_names(name: str, config: ResolvConf, candidates: list[str]) -> None:
    assert candidate_names(name, config) == candidates


@pytest.mark.parametrize(
    "name",
    ["", ".", "a..b", ".a", "a" * 64, ".".join(["a" * 63] * 4), "a b\u0000.\udcff", "..."],
)
def test_invalid_names_are_value_errors(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        candidate_names(name, conf())
    with pytest.raises(ValueError, match="name"):
        build_query(name, QType.A, txid=1)


def test_the_longest_name_fits() -> None:
    name = ".".join(["a" * 63] * 3 + ["b" * 61])  # 253 characters, 255 bytes on the wire
    assert candidate_names(name + ".", conf()) == [name]
    assert len(build_query(name, QType.A, txid=1)) == 12 + 255 + 4


def test_fold_name() -> None:
    assert fold_name("WwW.Example.COM.") == "www.example.com"
    assert fold_name("www.example.com") == "www.example.com"
    assert fold_name("İ.example") == "İ.example"  # ASCII only (RFC 4343)


# --- queries --------------------------------------------------------------------------------


@pytest.mark.parametrize(("qtype", "dnslib_type"), [(QType.A, "A"), (QType.AAAA, "AAAA"), (1, "A")])
def test_build_query(qtype: int, dnslib_type: str) -> None:
    packet = build_query("WWW.example.org.", qtype, txid=0xBEEF)
    record = DNSRecord.parse(packet)
    assert record.header.id == 0xBEEF
    assert (record.header.qr, record.header.rd, record.header.opcode) == (0, 1, 0)
    assert (record.header.a, record.header.auth, record.header.ar) == (0, 0, 0)
    [question] = record.questions
    assert str(question.qname) == "WWW.example.org."
    assert QTYPE[question.qtype] == dnslib_type
    assert question.qclass == 1


@pytest.mark.parametrize(("qtype", "txid"), [(15, 1), (255, 1), (1, -1), (1, 65536)])
def test_build_query_rejects_other_types_and_ids(qtype: int, txid: int) -> None:
    with pytest.raises(ValueError, match=r"query type|transaction id"):
        build_query("a.test", qtype, txid=txid)


def test_a_question_is_encoded_once_and_each_query_changes_only_the_id() -> None:
    question = Question("WWW.example.org.", QType.AAAA)
    assert question.query(0xBEEF) == build_query("WWW.example.org.", QType.AAAA, txid=0xBEEF)
    assert question.query(1)[:2] == b"\x00\x01"
    assert question.query(1)[2:] == question.query(0xFFFF)[2:]
    assert repr(question) == "<Question 'WWW.example.org.' type=28>"
    with pytest.raises(ValueError, match="transaction id"):
        question.query(65536)


def test_a_question_checks_answers_as_check_answer_does() -> None:
    question = Question("a.test", QType.A)
    packet = response("A.TEST", answers=GOOD)
    assert question.check(packet, TXID) == check(packet)
    assert question.check(packet, TXID + 1) is None
    assert question.check(packet, TXID, default_negative_ttl_s=5) == check(packet)
    nodata = response()
    assert question.check(nodata, TXID, default_negative_ttl_s=5) == Answer(
        Outcome.NODATA, 0, False, (), "a.test", 5
    )


def test_a_question_of_another_type_is_refused() -> None:
    with pytest.raises(ValueError, match="query type"):
        Question("a.test", 15)
    with pytest.raises(ValueError, match="query type"):
        check_answer(response(), txid=TXID, name="a.test", qtype=15)


def test_a_question_with_a_compression_pointer_is_parsed_in_full() -> None:
    # No server writes its question section this way: the name is a pointer back into the
    # header, whose section counts spell a label. The bytes differ from ours, so the check
    # goes through dnslib's whole parse, which decides as before: not our question.
    header = struct.pack("!HHHHHH", TXID, 0x8180, 1, 0, 0x0161, 0)  # "\x01a" at offset 8
    packet = header + b"\xc0\x08" + struct.pack("!HH", 1, 1)
    assert check(packet) is None


def test_new_txid_is_a_16_bit_random_number() -> None:
    ids = [new_txid() for _ in range(600)]  # across two refills of the batch of 256
    assert all(type(i) is int and 0 <= i <= 0xFFFF for i in ids)
    assert len(set(ids)) > 550  # 600 draws from 65536 values: collisions are rare


def test_a_forked_child_does_not_hand_out_the_parents_next_ids() -> None:
    new_txid()  # the batch is read: its next ids are known to this process
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids, then leave at once
        try:
            os.write(write_fd, struct.pack("!8H", *(new_txid() for _ in range(8))))
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        child = struct.unpack("!8H", os.read(read_fd, 16))
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    parent = tuple(new_txid() for _ in range(8))
    assert child != parent  # 8 equal ids by chance: 2**-128


# --- answers: which packets are ours --------------------------------------------------------

GOOD = ("a.test. 60 IN A 192.0.2.1",)


@pytest.mark.parametrize(
    "packet",
    [
        b"",
        b"\x12\x34",
        b"\x00" * 11,
        response(answers=GOOD)[:-3],  # cut short
        response(answers=GOOD, txid=TXID + 1),
        response(answers=GOOD, qr=0),  # a query, such as our own reflected
        response(answers=GOOD, opcode=2),  # STATUS, not QUERY
        response("b.test", answers=GOOD),  # another name
        response("a.test.b", answers=GOOD),
        response("test", answers=GOOD),
        response("a.test", "AAAA", answers=GOOD),  # another type
        response(questions=[DNSQuestion("a.test", QTYPE.A, 3)], answers=GOOD),  # class CH
        response(questions=[], answers=GOOD),  # no question, NOERROR
        response(questions=[], rcode=3),  # no question, NXDOMAIN: could be for anything
        response(questions=[DNSQuestion("a.test"), DNSQuestion("a.test")], answers=GOOD),
    ],
)
def test_packets_that_do_not_answer_our_question_are_ignored(packet: bytes) -> None:
    assert check(packet) is None


@pytest.mark.parametrize(("sent", "echoed"), [("a.test", "A.TeSt"), ("A.TeSt", "a.test")])
def test_the_question_matches_case_insensitively(sent: str, echoed: str) -> None:
    answer = check(response(echoed, answers=("A.TEST. 60 IN A 192.0.2.1",)), name=sent)
    assert answer is not None
    assert answer.addresses == ("192.0.2.1",)


def test_a_trailing_dot_on_our_name_does_not_matter() -> None:
    answer = check(response(answers=GOOD), name="a.test.")
    assert answer is not None
    assert answer.canonical_name == "a.test"


@pytest.mark.parametrize("rcode", [1, 2, 4, 5])
def test_a_header_only_error_answer_is_accepted(rcode: int) -> None:
    answer = check(response(questions=[], rcode=rcode))
    assert answer == Answer(Outcome.SERVER_ERROR, rcode, False, (), "a.test", 0)


def test_our_name_must_be_valid() -> None:
    with pytest.raises(ValueError, match="name"):
        check_answer(response(), txid=TXID, name="a..test", qtype=QType.A)


# --- answers: what they say ------------------------------------------------------------------


def test_addresses_in_answer_order_without_duplicates_least_ttl() -> None:
    answers = (
        "a.test. 300 IN A 192.0.2.2",
        "a.test. 60 IN A 192.0.2.1",
        "a.test. 300 IN A 192.0.2.2",
        "other.test. 5 IN A 203.0.113.66",  # not on the chain: ignored, its TTL too
        "a.test. 5 IN AAAA 2001:db8::1",  # not the type asked
        "a.test. 5 CH A 203.0.113.67",  # not class IN
    )
    answer = check(response(answers=answers))
    assert answer == Answer(Outcome.ADDRESSES, 0, False, ("192.0.2.2", "192.0.2.1"), "a.test", 60)


def test_aaaa_addresses_are_normalized() -> None:
    answers = ("a.test. 60 IN AAAA 2001:0db8:0:0:0:0:0:0001", "a.test. 60 IN AAAA ::ffff:c000:201")
    answer = check(response("a.test", "AAAA", answers=answers), qtype=QType.AAAA)
    assert answer is not None
    assert answer.addresses == ("2001:db8::1", "::ffff:c000:201")


def test_a_cname_chain_is_followed_and_its_ttls_count() -> None:
    answers = (
        "www.a.test. 30 IN CNAME cdn.example.",
        "edge.example. 300 IN A 192.0.2.7",
        "cdn.example. 20 IN CNAME EDGE.example.",
        "www.a.test. 1 IN A 203.0.113.66",  # an owner with a CNAME has no other data
    )
    answer = check(response("WWW.a.test", answers=answers), name="www.a.test")
    assert answer is not None
    assert answer.outcome is Outcome.ADDRESSES
    assert answer.addresses == ("192.0.2.7",)
    assert answer.canonical_name == "edge.example"
    assert answer.ttl_s == 20


def chain(length: int, *, last: str = "A 192.0.2.9") -> tuple[str, ...]:
    """A chain of `length` CNAMEs from c0.test, then `last` at its end."""
    links = tuple(f"c{i}.test. 60 IN CNAME c{i + 1}.test." for i in range(length))
    return (*links, f"c{length}.test. 60 IN {last}")


def test_the_longest_chain_accepted() -> None:
    answer = check(response("c0.test", answers=chain(MAX_CNAME_CHAIN)), name="c0.test")
    assert answer is not None
    assert answer.outcome is Outcome.ADDRESSES
    assert answer.canonical_name == f"c{MAX_CNAME_CHAIN}.test"


def test_a_chain_too_long_is_a_server_error() -> None:
    answer = check(response("c0.test", answers=chain(MAX_CNAME_CHAIN + 1)), name="c0.test")
    assert answer is not None
    assert answer.outcome is Outcome.SERVER_ERROR
    assert answer.addresses == ()


@pytest.mark.parametrize(
    "answers",
    [
        ("a.test. 60 IN CNAME a.test.",),
        ("a.test. 60 IN CNAME b.test.", "b.test. 60 IN CNAME A.TEST."),
        (
            "a.test. 60 IN CNAME b.test.",
            "b.test. 60 IN CNAME c.test.",
            "c.test. 60 IN CNAME b.test.",
        ),
        ("a.test. 60 IN CNAME b.test.", "b.test. 60 IN CNAME a.test.", "b.test. 60 IN A 192.0.2.1"),
    ],
)
def test_a_cname_loop_is_a_server_error(answers: tuple[str, ...]) -> None:
    answer = check(response(answers=answers))
    assert answer is not None
    assert answer.outcome is Outcome.SERVER_ERROR
    assert answer.rcode == 0


@pytest.mark.parametrize(
    ("soa_ttl", "minimum", "ttl_s"), [(3600, 300, 300), (120, 300, 120), (0, 300, 0)]
)
def test_nxdomain_lives_min_of_soa_ttl_and_minimum(soa_ttl: int, minimum: int, ttl_s: int) -> None:
    soa = f"test. {soa_ttl} IN SOA ns.test. admin.test. 1 7200 900 1209600 {minimum}"
    answer = check(response(rcode=3, auth=(soa,)))
    assert answer == Answer(Outcome.NXDOMAIN, 3, False, (), "a.test", ttl_s)


def test_nodata_with_soa() -> None:
    answer = check(response("a.test", "AAAA", auth=(SOA.format(minimum=30),)), qtype=QType.AAAA)
    assert answer == Answer(Outcome.NODATA, 0, False, (), "a.test", 30)


@pytest.mark.parametrize(("rcode", "outcome"), [(3, Outcome.NXDOMAIN), (0, Outcome.NODATA)])
def test_negative_without_soa_gets_the_default(rcode: int, outcome: Outcome) -> None:
    packet = response(rcode=rcode)
    assert check(packet) == Answer(outcome, rcode, False, (), "a.test", 0)
    assert check(packet, default_negative_ttl_s=30) == Answer(
        outcome, rcode, False, (), "a.test", 30
    )


def test_an_soa_for_another_zone_does_not_count() -> None:
    soa = "elsewhere. 3600 IN SOA ns.elsewhere. admin.elsewhere. 1 7200 900 1209600 900"
    answer = check(response(rcode=3, auth=(soa,)), default_negative_ttl_s=7)
    assert answer is not None
    assert answer.ttl_s == 7


def test_the_root_soa_encloses_everything() -> None:
    soa = ". 86400 IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400"
    answer = check(response(rcode=3, auth=(soa,)))
    assert answer is not None
    assert answer.ttl_s == 86400


def test_nxdomain_at_the_end_of_a_chain() -> None:
    answers = ("a.test. 45 IN CNAME gone.example.",)
    soa = "example. 3600 IN SOA ns.example. admin.example. 1 7200 900 1209600 600"
    answer = check(response(rcode=3, answers=answers, auth=(soa,)))
    # RFC 6604: the rcode speaks for the last name; the CNAME's TTL bounds the entry
    assert answer == Answer(Outcome.NXDOMAIN, 3, False, (), "gone.example", 45)


def test_nodata_at_the_end_of_a_chain() -> None:
    answers = ("a.test. 600 IN CNAME b.test.",)
    answer = check(response(answers=answers, auth=(SOA.format(minimum=60),)))
    assert answer == Answer(Outcome.NODATA, 0, False, (), "b.test", 60)


def test_a_referral_is_a_server_error() -> None:
    auth = ("test. 3600 IN NS ns1.test.", "test. 3600 IN NS ns2.test.")
    answer = check(response(auth=auth))
    assert answer is not None
    assert answer.outcome is Outcome.SERVER_ERROR
    assert answer.rcode == 0


def test_truncated_wins_over_what_the_answer_holds() -> None:
    answer = check(response(answers=GOOD, tc=1))
    assert answer == Answer(Outcome.TRUNCATED, 0, True, (), "a.test", 0)
    answer = check(response(rcode=3, tc=1))
    assert answer is not None
    assert answer.outcome is Outcome.TRUNCATED


@pytest.mark.parametrize("rcode", [1, 2, 4, 5, 9])
def test_error_rcodes_are_server_errors(rcode: int) -> None:
    answer = check(response(answers=GOOD, rcode=rcode))
    assert answer == Answer(Outcome.SERVER_ERROR, rcode, False, (), "a.test", 0)


def test_a_ttl_with_the_top_bit_set_counts_as_zero() -> None:
    answers = ("a.test. 2147483648 IN A 192.0.2.1", "a.test. 60 IN A 192.0.2.2")
    answer = check(response(answers=answers))
    assert answer is not None
    assert answer.ttl_s == 0
    answer = check(response(answers=("a.test. 2147483647 IN A 192.0.2.1",)))
    assert answer is not None
    assert answer.ttl_s == 2147483647


# --- TCP framing ----------------------------------------------------------------------------


def test_tcp_frame() -> None:
    assert tcp_frame(b"abc") == b"\x00\x03abc"
    assert tcp_frame(b"") == b"\x00\x00"
    assert tcp_frame(b"x" * 65535)[:2] == b"\xff\xff"
    with pytest.raises(ValueError, match="65536 bytes exceeds 65535"):
        tcp_frame(b"x" * 65536)


def test_tcp_reader_in_pieces() -> None:
    reader = TcpReader()
    assert reader.feed(b"") == []
    assert reader.feed(b"\x00") == []
    assert reader.buffered_bytes == 1
    assert reader.feed(b"\x03ab") == []
    assert reader.feed(b"c\x00\x00\x00\x01z\x00") == [b"abc", b"", b"z"]
    assert reader.buffered_bytes == 1
    assert repr(reader) == "<TcpReader messages=3 buffered=1>"


def test_tcp_reader_round_trips_a_query() -> None:
    query = build_query("a.test", QType.AAAA, txid=5)
    reader = TcpReader()
    assert reader.feed(tcp_frame(query) * 2) == [query, query]
    assert reader.buffered_bytes == 0


def test_a_deep_chain_of_compression_pointers_is_ignored_not_a_crash() -> None:
    # Every pointer points two bytes back, to the one before: dnslib decodes names
    # recursively and runs out of stack (RecursionError), which must read as "not ours".
    header = struct.pack("!HHHHHH", TXID, 0x8180, 1, 2, 0, 0)
    question = b"\x01a\x04test\x00" + struct.pack("!HH", 1, 1)
    start = len(header) + len(question) + 1 + 10  # after the first RR's root name and fixed part
    pointers = [start] + [start + 1 + 2 * k for k in range(4000)]
    rdata = b"\x00" + b"".join(struct.pack("!H", 0xC000 | p) for p in pointers[:-1])
    holder = b"\x00" + struct.pack("!HHIH", 99, 1, 0, len(rdata)) + rdata
    victim = (
        struct.pack("!H", 0xC000 | pointers[-1]) + struct.pack("!HHIH", 1, 1, 60, 4) + b"\x01" * 4
    )
    with pytest.raises(RecursionError):
        DNSRecord.parse(header + question + holder + victim)
    assert check(header + question + holder + victim) is None
