"""Properties of the DNS message code: no input crashes the answer check, framing is
independent of how the stream is cut, queries round-trip through an independent decoder."""

from __future__ import annotations

import itertools
import string

from dnslib import AAAA, RR, A, DNSBuffer, DNSLabel, DNSQuestion, DNSRecord
from hypothesis import assume, given
from hypothesis import strategies as st

from sws_client._dnscache import DnsCache
from sws_client._dnsmsg import (
    Answer,
    Outcome,
    QType,
    Question,
    TcpReader,
    build_query,
    candidate_names,
    check_answer,
    fold_name,
    tcp_frame,
)
from sws_client._resolvconf import ResolvConf

TXID = 0x1234
NAME = "www.a.test"


def _valid_answer() -> bytes:
    query = DNSRecord.parse(build_query(NAME, QType.A, txid=TXID))
    reply = query.reply()
    for line in (
        "www.a.test. 30 IN CNAME cdn.a.test.",
        "cdn.a.test. 60 IN A 192.0.2.1",
        "cdn.a.test. 60 IN A 192.0.2.2",
    ):
        reply.add_answer(*RR.fromZone(line))
    reply.add_auth(*RR.fromZone("a.test. 60 IN SOA ns.a.test. admin.a.test. 1 2 3 4 5"))
    reply.add_auth(*RR.fromZone("a.test. 60 IN NS ns.a.test."))
    reply.add_ar(*RR.fromZone("ns.a.test. 60 IN AAAA 2001:db8::53"))
    return bytes(reply.pack())


VALID = _valid_answer()


LABEL = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=20)
NAMES = st.lists(LABEL, min_size=1, max_size=6).map(".".join)


def _is_result(result: object) -> bool:
    return result is None or isinstance(result, Answer)


@given(st.binary(max_size=1024), st.sampled_from([QType.A, QType.AAAA]))
def test_random_bytes_never_raise(packet: bytes, qtype: QType) -> None:
    txid = int.from_bytes(packet[:2], "big") if len(packet) >= 2 else 0
    assert _is_result(check_answer(packet, txid=txid, name=NAME, qtype=qtype))


@given(st.binary(max_size=512))
def test_our_header_and_question_then_random_bytes_never_raise(tail: bytes) -> None:
    # The header claims many records, so dnslib's record decoders see the random tail.
    head = bytearray(VALID[:28])  # header + "www.a.test" A IN
    head[6:12] = b"\x00\x05\x00\x03\x00\x02"
    assert _is_result(check_answer(bytes(head) + tail, txid=TXID, name=NAME, qtype=QType.A))


@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    st.integers(0, len(VALID)),
)
def test_a_damaged_valid_answer_never_raises(flips: list[tuple[int, int]], cut: int) -> None:
    packet = bytearray(VALID)
    for offset, value in flips:
        packet[offset] = value
    result = check_answer(bytes(packet[:cut]), txid=TXID, name=NAME, qtype=QType.A)
    assert _is_result(result)
    if result is not None and result.outcome is Outcome.ADDRESSES:
        assert result.addresses
        assert result.ttl_s >= 0


@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    st.integers(12, len(VALID)),
)
def test_the_raw_question_check_agrees_with_the_full_parse(
    flips: list[tuple[int, int]], cut: int
) -> None:
    # The shortcut (our question's bytes, then dnslib for the records only) decides every
    # packet as dnslib's whole parse followed by the same checks does.
    packet = bytearray(VALID)
    for offset, value in flips:
        packet[offset] = value
    data = bytes(packet[:cut])
    question = Question(NAME, QType.A)
    full = question._check_parsed(data, TXID, data[3] & 0x0F, 0)
    assert question.check(data, TXID) == full


def test_the_undamaged_answer() -> None:
    answer = check_answer(VALID, txid=TXID, name=NAME, qtype=QType.A)
    assert answer == Answer(
        Outcome.ADDRESSES, 0, False, ("192.0.2.1", "192.0.2.2"), "cdn.a.test", 30
    )


def _plain_answer(name: str, qtype: QType, records: list[tuple[int, int]], case: bool) -> bytes:
    """dnslib's reply to our query with `records` (an address seed, a TTL) of our type."""
    query = DNSRecord.parse(build_query(name, qtype, txid=TXID))
    reply = query.reply()
    if case:
        reply.q.qname = name.swapcase()
    for seed, ttl in records:
        if qtype is QType.A:
            rdata: A | AAAA = A(f"192.0.2.{seed}")
        else:
            rdata = AAAA(f"2001:db8::{seed:x}")
        reply.add_answer(RR(reply.q.qname, int(qtype), rdata=rdata, ttl=ttl))
    return bytes(reply.pack())


PLAIN_RECORDS = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2**32 - 1)), min_size=1, max_size=5
)


@given(NAMES, st.sampled_from([QType.A, QType.AAAA]), PLAIN_RECORDS, st.booleans())
def test_the_plain_answer_reads_as_dnslib_reads_it(
    name: str, qtype: QType, records: list[tuple[int, int]], case: bool
) -> None:
    # The common answer (only addresses of our type, owned by a pointer to the question,
    # TTLs with the top bit too) is read without dnslib, to the same Answer.
    packet = _plain_answer(name, qtype, records, case)
    question = Question(name, qtype)
    answer = question.check(packet, TXID)
    assert answer == question._check_parsed(packet, TXID, 0, 0)
    assert answer is not None
    assert answer.outcome is Outcome.ADDRESSES
    assert len(answer.addresses) == len({seed for seed, _ in records})


@given(
    NAMES,
    st.sampled_from([QType.A, QType.AAAA]),
    PLAIN_RECORDS,
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(12, 400),
)
def test_a_damaged_plain_answer_is_judged_as_dnslib_judges_it(
    name: str,
    qtype: QType,
    records: list[tuple[int, int]],
    flips: list[tuple[int, int]],
    cut: int,
) -> None:
    # Whatever a damaged byte turns the answer into (another type, class, rdata length,
    # owner, count, flag or rcode, or a cut record), the shortcut decides as the whole parse.
    packet = bytearray(_plain_answer(name, qtype, records, False))
    for offset, value in flips:
        packet[offset % len(packet)] = value
    data = bytes(packet[: max(12, cut % (len(packet) + 1))])
    question = Question(name, qtype)
    assert question.check(data, TXID) == question._check_parsed(data, TXID, data[3] & 0x0F, 0)


@given(NAMES, st.sampled_from([QType.A, QType.AAAA]))
def test_the_question_section_is_what_dnslib_packs(name: str, qtype: QType) -> None:
    buffer = DNSBuffer()
    DNSQuestion(DNSLabel(name), int(qtype), 1).pack(buffer)
    assert Question(name, qtype).query(TXID)[12:] == bytes(buffer.data)


@given(
    st.lists(st.binary(max_size=300), max_size=10),
    st.lists(st.integers(0, 4000), max_size=20),
)
def test_tcp_reader_gives_the_same_messages_for_any_split(
    messages: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(tcp_frame(m) for m in messages)
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    reader = TcpReader()
    got: list[bytes] = []
    for start, end in itertools.pairwise(points):
        got += reader.feed(stream[start:end])
    assert got == messages
    assert reader.buffered_bytes == 0


@given(NAMES, st.sampled_from([QType.A, QType.AAAA]), st.integers(0, 65535))
def test_queries_round_trip_through_dnslib(name: str, qtype: QType, txid: int) -> None:
    record = DNSRecord.parse(build_query(name, qtype, txid=txid))
    assert record.header.id == txid
    assert str(record.q.qname) == name + "."
    assert record.q.qtype == qtype
    # Our own query, reflected back at us, is no answer.
    assert check_answer(record.pack(), txid=txid, name=name, qtype=qtype) is None
    # dnslib's reply to it (QR=1, the question echoed) is one, in any letter case.
    reply = record.reply()
    reply.q.qname = name.swapcase()
    answer = check_answer(reply.pack(), txid=txid, name=name, qtype=qtype)
    assert answer is not None
    assert answer.outcome is Outcome.NODATA
    assert fold_name(answer.canonical_name) == fold_name(name)


@given(NAMES, st.lists(NAMES, max_size=4), st.integers(0, 15), st.booleans())
def test_candidates_hold_the_name_once_and_each_search_domain(
    name: str, search: list[str], ndots: int, absolute: bool
) -> None:
    assume(len(set(search)) == len(search))
    conf = ResolvConf(search=tuple(search), ndots=ndots)
    candidates = candidate_names(name + ("." if absolute else ""), conf)
    if absolute:
        assert candidates == [name]
        return
    assert candidates.count(name) == 1
    assert [c for c in candidates if c != name] == [f"{name}.{d}" for d in search]
    first = name.count(".") >= ndots or not search
    assert (candidates[0] == name) == first


QTYPES = st.sampled_from([QType.A, QType.AAAA])
OPS = st.lists(
    st.tuples(st.sampled_from(["a.test", "b.test", "c.test"]), QTYPES, st.integers(0, 100)),
    max_size=40,
)


@given(OPS, st.integers(1, 4))
def test_the_cache_agrees_with_a_model_and_stays_bounded(
    ops: list[tuple[str, QType, int]], max_entries: int
) -> None:
    cache = DnsCache(max_entries=max_entries)
    model: dict[tuple[str, int], float] = {}
    now = 0.0
    for name, qtype, ttl_s in ops:
        now += 7
        entry = cache.get(name, qtype, now)
        alive = model.get((name, qtype), 0) > now
        assert entry is None or alive  # never a dead entry; an alive one may be evicted
        if entry is not None:
            assert entry.expires_at == model[(name, qtype)]
        cache.put(
            name, qtype, Answer(Outcome.ADDRESSES, 0, False, ("192.0.2.1",), name, ttl_s), now
        )
        model[(name, qtype)] = now + ttl_s
        assert len(cache) <= max_entries
