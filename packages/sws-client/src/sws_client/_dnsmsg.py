"""DNS messages for a stub resolver: names to try, queries out, answers checked and read.

Rules that hold in this module (sans-IO: bytes in, records out, no sockets, no clock):

- Names are ASCII on the wire. A name with other characters is IDNA-encoded as the standard
  library's socket module does (IDNA 2003); a name that cannot be a DNS name (an empty
  label, a label over 63 bytes, over 255 bytes in all: RFC 1035 §2.3.4) is a `ValueError`.
- An answer is trusted only if it answers our question (RFC 5452 §3): a response (QR=1,
  opcode QUERY) with our transaction id and one question equal to ours, name compared
  case-insensitively (RFC 4343, so servers that echo 0x20-mixed case still match), type and
  class IN equal. Anything else is not for us: `check_answer` returns None and the caller
  keeps waiting for the real answer until its timeout. Checking the server's address and
  port is the IO layer's half of the same rule.
  One exception: a header-only error answer (no question, rcode FORMERR, SERVFAIL, NOTIMP or
  REFUSED) is accepted, since some servers answer that way and an attacker learns nothing
  from echoing a question they already know; it only sends the resolver to the next server.
- A query is a 12-byte header before the question section (RFC 1035 §4.1), which a
  `Question` writes once for every try (only the id changes): length-prefixed labels, type
  and class, what dnslib packs for it. An answer is first compared with those bytes (id, QR
  and opcode, our question case-insensitively). The common answer, nothing but addresses
  of our type owned by a pointer to our question, is then read directly; dnslib decodes
  every other one: the records after the question, or the whole packet when its question
  section is not byte for byte ours. The checks below then decide exactly as on a whole
  parse, and the property tests hold both shortcuts to dnslib's reading.
- Addresses come only from the answer section, by following CNAMEs from the query name
  (RFC 1034 §3.6.2), at most `MAX_CNAME_CHAIN` of them; a loop or a longer chain makes the
  answer unusable (`Outcome.SERVER_ERROR`) rather than a cached negative.
- TTLs (RFC 1035 §3.2.1, RFC 2181 §8: a value with the top bit set counts as 0): an answer
  lives as long as the shortest-lived record it was built from. A negative answer lives
  min(SOA TTL, SOA MINIMUM) (RFC 2308 §5) from the SOA in the authority section whose owner
  encloses the name that does not exist; without one, `default_negative_ttl_s`.
- DNS over TCP prefixes each message with its length in two bytes (RFC 1035 §4.2.2,
  RFC 7766 §8).
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import os
import struct
from collections.abc import Iterator
from socket import inet_ntoa
from typing import TYPE_CHECKING, Any, NamedTuple

from dnslib import RR, DNSBuffer, DNSLabel, DNSRecord

if TYPE_CHECKING:
    from ._resolvconf import ResolvConf

__all__ = [
    "DEFAULT_NEGATIVE_TTL_S",
    "MAX_CNAME_CHAIN",
    "MAX_MESSAGE_BYTES",
    "Answer",
    "Outcome",
    "QType",
    "Question",
    "TcpReader",
    "build_query",
    "candidate_names",
    "check_answer",
    "fold_name",
    "new_txid",
    "tcp_frame",
]

# CNAMEs followed from the query name at most: recursive servers give up after 11 to 16
# (Unbound MAX_RESTART_COUNT, BIND MAX_RESTARTS), so a longer chain is broken or hostile.
MAX_CNAME_CHAIN = 16
# RFC 2308 §5: "Negative responses without SOA records SHOULD NOT be cached", so by default
# such an answer lives 0 seconds (the cache does not keep it).
DEFAULT_NEGATIVE_TTL_S = 0
MAX_MESSAGE_BYTES = 65535  # RFC 1035 §4.2.2: the TCP length prefix is 16 bits
MAX_NAME_BYTES = 255  # RFC 1035 §2.3.4, on the wire
MAX_LABEL_BYTES = 63  # RFC 1035 §2.3.4

_CLASS_IN = 1  # RFC 1035 §3.2.4
_TYPE_NS, _TYPE_CNAME, _TYPE_SOA = 2, 5, 6  # RFC 1035 §3.2.2
_OPCODE_QUERY = 0
_RCODE_NOERROR, _RCODE_NXDOMAIN = 0, 3  # RFC 1035 §4.1.1
_HEADER_ONLY_RCODES = frozenset({1, 2, 4, 5})  # FORMERR, SERVFAIL, NOTIMP, REFUSED
_TTL_TOP_BIT = 1 << 31
_LENGTH = struct.Struct("!H")
_HEADER = struct.Struct("!HHHHHH")  # RFC 1035 §4.1.1: id, flags, four section counts
_COUNTS = struct.Struct("!HHHH")
_TYPE_CLASS = struct.Struct("!HH")
_QUERY_FLAGS = 0x0100  # QR=0, opcode QUERY, RD=1
_QR_OPCODE_MASK, _QR_OPCODE_RESPONSE = 0xF8, 0x80  # the first flags byte: QR=1, opcode 0
_POINTER_TO_QUESTION = b"\xc0\x0c"  # RFC 1035 §4.1.4: the name at offset 12, the question's
# Names whose labels are remembered: a lookup checks its name in `candidate_names`, then
# again as its `Question`; the most recent few make the second time a dict lookup.
_LABELS_REMEMBERED = 64
_TXIDS_PER_READ = 256  # one getrandom(2) per 256 queries, not one per query
_txids: Iterator[int] = iter(())
_LENGTH_BYTE = [bytes((n,)) for n in range(256)]  # a label's length prefix, by length
_A_BYTES, _AAAA_BYTES = 4, 16  # RFC 1035 §3.4.1, RFC 3596 §2.2
_PLAIN_RDATA_BYTES = {1: _A_BYTES, 28: _AAAA_BYTES}  # by QType
_PLAIN_FIXED_BYTES = 12  # owner pointer, type, class, TTL, rdata length (RFC 1035 §4.1.3)
_TTL_LENGTH = struct.Struct("!IH")  # a record's TTL and rdata length
_ONE_QUESTION = b"\x00\x01"  # QDCOUNT 1
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

Labels = tuple[bytes, ...]


class QType(enum.IntEnum):
    """The query types the resolver asks for (RFC 1035 §3.2.2, RFC 3596 §2.1)."""

    A = 1
    AAAA = 28


class Outcome(enum.Enum):
    """What an answer means for the lookup."""

    ADDRESSES = "addresses"  # NOERROR with at least one address of the type asked
    NXDOMAIN = "nxdomain"  # the name does not exist (RFC 2308 §2.1)
    NODATA = "nodata"  # the name exists, with no address of this type (RFC 2308 §2.2)
    TRUNCATED = "truncated"  # TC=1: ask again over TCP (RFC 1035 §4.2.1, RFC 7766 §5)
    # Nothing usable from this server: an rcode other than NOERROR/NXDOMAIN, a referral
    # (RFC 2308 §2.2, type 4: the server does not recurse), a CNAME loop or too long a chain.
    SERVER_ERROR = "server_error"


class Answer(NamedTuple):
    """An answer to our question, read.

    Attributes:
        outcome: what it means (see `Outcome`); TRUNCATED wins over everything else.
        rcode: the response code (RFC 1035 §4.1.1).
        truncated: the TC flag.
        addresses: the addresses of the type asked for, in answer order, without duplicates;
            empty unless the outcome is ADDRESSES.
        canonical_name: where the CNAME chain from the query name ends (the query name when
            there is none), without a trailing dot.
        ttl_s: for ADDRESSES, the least TTL of the records used; for NXDOMAIN and NODATA the
            negative TTL (RFC 2308 §5), no longer than any CNAME used; otherwise 0.
    """

    outcome: Outcome
    rcode: int
    truncated: bool
    addresses: tuple[str, ...]
    canonical_name: str
    ttl_s: int


def fold_name(name: str) -> str:
    """Return `name` as a lookup key: ASCII lower case (RFC 4343), no trailing dot.

    Args:
        name: a domain name.

    Returns:
        The folded name.
    """
    return name.removesuffix(".").translate(_ASCII_LOWER)


@functools.lru_cache(maxsize=_LABELS_REMEMBERED)
def _labels(name: str) -> Labels:
    """Return the wire labels of `name`, which may end in one dot.

    Raises:
        ValueError: `name` is not a valid domain name.
    """
    relative = name.removesuffix(".")
    if not relative:
        raise ValueError(f"name {name!r} is empty")
    try:
        # The idna codec also checks every label for 1..63 bytes.
        wire = relative.encode("ascii") if relative.isascii() else relative.encode("idna")
    except UnicodeError as e:
        raise ValueError(f"name {name!r} cannot be encoded: {e}") from None
    labels = tuple(wire.split(b"."))
    longest = max(map(len, labels))
    if longest > MAX_LABEL_BYTES or b"" in labels:
        size = longest if longest > MAX_LABEL_BYTES else 0
        raise ValueError(f"name {name!r} has a label of {size} bytes, not 1 to 63")
    size = len(wire) + 2  # each dot a length byte, one more in front, the root's 0 behind
    if size > MAX_NAME_BYTES:
        raise ValueError(f"name {name!r} is {size} bytes on the wire, over {MAX_NAME_BYTES}")
    return labels


def _lower(labels: Labels) -> Labels:
    return tuple(label.lower() for label in labels)  # bytes.lower is ASCII-only


def candidate_names(name: str, conf: ResolvConf) -> list[str]:
    """Return the names to query for `name`, in order, applying search and ndots.

    resolv.conf(5) and glibc's res_search: a name ending in a dot is absolute and tried
    alone; a name with at least `conf.ndots` dots is tried as given, then with each search
    domain; a name with fewer dots is tried with each search domain first, then as given.
    A candidate that would be too long is left out.

    Args:
        name: the name the caller asked for.
        conf: the resolver configuration (its `search` and `ndots`).

    Returns:
        The candidates, ASCII (IDNA-encoded), without a trailing dot, never empty.

    Raises:
        ValueError: `name` is not a valid domain name.
    """
    labels = _labels(name)
    # An ASCII name is its labels joined already; only an IDNA-encoded one differs.
    given = name.removesuffix(".") if name.isascii() else b".".join(labels).decode("ascii")
    if name.endswith("."):
        return [given]
    search = conf.search
    if not search:  # the usual case: the name alone
        return [given]
    searched = []
    for domain in search:
        try:
            searched.append(b".".join(_labels(f"{given}.{domain}")).decode("ascii"))
        except ValueError:
            continue  # too long with this domain, or a search domain that is no name
    if len(labels) - 1 >= conf.ndots:
        return [given, *searched]
    return [*searched, given]


def new_txid() -> int:
    """Return a random transaction id for a query (RFC 5452: ids must be unpredictable).

    Returns:
        An int in 0..65535: two bytes of the operating system's random generator
        (`os.urandom`, as `secrets` draws them), read 256 ids at a time.
    """
    global _txids
    try:
        return next(_txids)
    except StopIteration:
        # Threads that race here each read a fresh batch of their own; every id is still
        # random. The iterator of a memoryview is C code: next() on it is one step.
        batch = iter(memoryview(os.urandom(2 * _TXIDS_PER_READ)).cast("H"))
        _txids = batch
        return next(batch)


def _forget_txids() -> None:
    """In a forked child: drop the ids read before the fork, which the parent (and every
    other child) would hand out too; the next id comes from a fresh read."""
    global _txids
    _txids = iter(())


os.register_at_fork(after_in_child=_forget_txids)


class Question:
    """One question (a name, a type, class IN) in wire form, made once and asked many times.

    The question section is encoded once; each query is it behind a fresh header, so every
    try (retries, other servers, TCP after TC) changes only the two id bytes. Answers are
    checked against those bytes: the id and the QR and opcode bits in the header, then the
    question as we sent it, the name compared case-insensitively. Only then are the records
    read: the common answer (only addresses of our type, each owned by a pointer to our
    question) directly, any other by dnslib. A packet whose question is not byte for byte
    ours (case aside) goes through dnslib's full parse and is judged as before, so no check
    is looser for the shortcuts; the property tests compare them with dnslib's reading.

        question = Question("example.com", QType.A)
        query = question.query(txid)
        answer = question.check(packet, txid)

    Args:
        name: the domain name to ask about (see `candidate_names`).
        qtype: `QType.A` (1) or `QType.AAAA` (28).

    Raises:
        ValueError: an invalid name or an unsupported qtype.
    """

    __slots__ = (
        "_labels",
        "_plain_head",
        "_plain_size",
        "_section",
        "name",
        "qtype",
    )

    def __init__(self, name: str, qtype: int) -> None:
        if qtype not in (QType.A, QType.AAAA):
            raise ValueError(f"query type {qtype} is not A (1) or AAAA (28)")
        labels = _labels(name)
        self.name = name
        self.qtype = int(qtype)
        self._labels = labels
        # The question section (RFC 1035 §4.1.2): the name as length-prefixed labels, no
        # compression (it is the first name of the message), then type and class. What
        # dnslib's DNSQuestion.pack writes for it, which the property tests hold it to;
        # queries only put a fresh header in front of it.
        wire_name = b"".join([_LENGTH_BYTE[len(label)] + label for label in labels]) + b"\0"
        type_class = _TYPE_CLASS.pack(qtype, _CLASS_IN)
        self._section = wire_name + type_class
        # Every record of the common answer (see `_plain_addresses`) starts with this: its
        # owner a pointer to our question's name, then our type and class.
        self._plain_head = _POINTER_TO_QUESTION + type_class
        self._plain_size = _PLAIN_RDATA_BYTES[qtype]

    @property
    def _folded(self) -> Labels:
        """The name's labels in lower case: what an answer's names are compared with."""
        return _lower(self._labels)

    def _spans(self) -> tuple[tuple[int, int], ...]:
        """Where each label sits in an answer that echoes the question (after the header)."""
        spans, start = [], _HEADER.size + 1
        for label in self._labels:
            spans.append((start, start + len(label)))
            start += len(label) + 1
        return tuple(spans)

    def query(self, txid: int) -> bytes:
        """Return a recursive query (RD=1) with this question and the transaction id `txid`.

        Raises:
            ValueError: `txid` is outside 0..65535.
        """
        if not 0 <= txid <= 0xFFFF:
            raise ValueError(f"transaction id {txid} is outside 0..65535")
        return _HEADER.pack(txid, _QUERY_FLAGS, 1, 0, 0, 0) + self._section

    def check(
        self, packet: bytes, txid: int, default_negative_ttl_s: int = DEFAULT_NEGATIVE_TTL_S
    ) -> Answer | None:
        """Check that `packet` answers this question sent with `txid`, and read it.

        See `check_answer`, which this is with the question made once.
        """
        if len(packet) < _HEADER.size:
            return None  # no header: dnslib could not parse it either
        flags = packet[2]
        if (packet[0] << 8 | packet[1]) != txid or flags & _QR_OPCODE_MASK != _QR_OPCODE_RESPONSE:
            return None
        rcode = packet[3] & 0x0F
        section = self._section
        section_end = _HEADER.size + len(section)
        if not (
            packet.startswith(_ONE_QUESTION, 4)
            # Our question as we sent it; or in another letter case (a server that echoes
            # 0x20-mixed case, say), with our type and class.
            and (
                packet.startswith(section, _HEADER.size)
                or (
                    packet[_HEADER.size : section_end - 4].lower() == section[:-4].lower()
                    and packet.startswith(section[-4:], section_end - 4)
                )
            )
        ):
            return self._check_parsed(packet, txid, rcode, default_negative_ttl_s)
        tc = bool(flags & 0x02)
        answers, authority, additional = _COUNTS.unpack_from(packet, 4)[1:]
        if not (tc or rcode or authority or additional) and answers:
            answer = self._plain_addresses(packet, section_end, answers)
            if answer is not None:
                return answer
        buffer = _AnswerBuffer(packet, self._spans())
        buffer.offset = section_end
        try:
            # What DNSRecord.parse does after the question; the additional section is read
            # too, so a packet that would not parse as a whole is still no answer.
            records = [RR.parse(buffer) for _ in range(answers + authority + additional)]
        except Exception:
            return None  # as in `_check_parsed`
        return _read_answer(
            tc,
            records[:answers],
            records[answers : answers + authority],
            rcode,
            self._folded,
            self.qtype,
            default_negative_ttl_s,
        )

    def _plain_addresses(self, packet: bytes, offset: int, count: int) -> Answer | None:
        """Read the common answer without dnslib, or return None to have dnslib read it.

        The common answer (NOERROR, no TC, our question, no authority or additional records)
        has `count` records that are each our type and class IN, owned by a pointer to our
        question's name, with the address's own length of rdata. For it this returns what
        dnslib's parse and `_read_answer` give (the property tests compare the two); any
        other shape, a CNAME say, or a packet too short for its records, goes to dnslib.
        """
        head = self._plain_head
        size = self._plain_size
        step = _PLAIN_FIXED_BYTES + size
        end = offset + count * step
        if len(packet) < end:
            return None
        addresses: list[str] = []
        ttl_s = _TTL_TOP_BIT - 1
        unpack = _TTL_LENGTH.unpack_from
        for start in range(offset, end, step):
            if not packet.startswith(head, start):
                return None
            ttl, length = unpack(packet, start + len(head))
            if length != size:
                return None
            data = packet[start + _PLAIN_FIXED_BYTES : start + step]
            # For A, inet_ntoa writes the dotted quad IPv4Address would print.
            address = inet_ntoa(data) if size == _A_BYTES else str(ipaddress.IPv6Address(data))
            if address not in addresses:
                addresses.append(address)
            ttl_s = min(ttl_s, 0 if ttl & _TTL_TOP_BIT else ttl)  # RFC 2181 §8
        name = self.name.removesuffix(".")
        # _read_answer's canonical name: the labels in lower case (an ASCII name's own).
        canonical = name.lower() if name.isascii() else _text(self._folded)
        return Answer(Outcome.ADDRESSES, 0, False, tuple(addresses), canonical, ttl_s)

    def _check_parsed(
        self, packet: bytes, txid: int, rcode: int, default_negative_ttl_s: int
    ) -> Answer | None:
        """The check through dnslib's whole parse, for a packet whose question section is not
        ours byte for byte: none, several, or one written differently (a compression pointer)."""
        try:
            record = DNSRecord.parse(packet)
        except Exception:
            # dnslib wraps most decoding failures in DNSError, but not all (a deep chain of
            # compression pointers is a RecursionError, a bad label an IDNA error). Whatever
            # the reason, bytes we cannot decode are not our answer.
            return None
        header = record.header
        if header.id != txid or header.qr != 1 or header.opcode != _OPCODE_QUERY:
            return None
        tc = bool(header.tc)
        if header.q == 0 and rcode in _HEADER_ONLY_RCODES:
            return Answer(Outcome.SERVER_ERROR, rcode, tc, (), _text(self._folded), 0)
        if len(record.questions) != 1:
            return None
        question = record.questions[0]
        if question.qtype != self.qtype or question.qclass != _CLASS_IN:
            return None
        if _lower(question.qname.label) != self._folded:
            return None
        return _read_answer(
            tc, record.rr, record.auth, rcode, self._folded, self.qtype, default_negative_ttl_s
        )

    def __repr__(self) -> str:
        return f"<Question {self.name!r} type={self.qtype}>"


class _AnswerBuffer(DNSBuffer):  # type: ignore[misc]  # dnslib has no type hints
    """dnslib's buffer over an answer whose question section is ours, byte for byte but case.

    Servers write nearly every owner name as a pointer to the question's name (offset 12);
    dnslib decodes the question again for each. Here a name that is just that pointer is
    the question's labels as they stand in the packet: what dnslib's decode_name returns
    for it (the pointer points back, the labels there are checked ASCII), for less work.
    Any other name, and every step inside dnslib's own recursion, is dnslib's.
    """

    offset: int  # dnslib's read position
    data: bytearray  # dnslib's copy of the packet

    def __init__(self, packet: bytes, spans: tuple[tuple[int, int], ...]) -> None:
        super().__init__(packet)
        self._question = tuple(packet[start:end] for start, end in spans)

    def decode_name(self, last: int = -1) -> Any:
        offset = self.offset
        if last == -1 and self.data[offset : offset + 2] == _POINTER_TO_QUESTION:
            self.offset = offset + 2
            return DNSLabel(self._question)
        return super().decode_name(last)


def build_query(name: str, qtype: int, *, txid: int) -> bytes:
    """Return a recursive query (RD=1) for `name` and `qtype`, class IN.

    `Question(name, qtype).query(txid)`: a resolver asking more than once keeps the
    `Question`.

    Args:
        name: the domain name to ask about (see `candidate_names`).
        qtype: `QType.A` (1) or `QType.AAAA` (28).
        txid: the transaction id, 0..65535 (see `new_txid`).

    Returns:
        The DNS message, without the TCP length prefix (see `tcp_frame`).

    Raises:
        ValueError: an invalid name, an unsupported qtype or a txid out of range.
    """
    return Question(name, qtype).query(txid)


def check_answer(
    packet: bytes,
    *,
    txid: int,
    name: str,
    qtype: int,
    default_negative_ttl_s: int = DEFAULT_NEGATIVE_TTL_S,
) -> Answer | None:
    """Check that `packet` answers our query, and read it.

    `Question(name, qtype).check(packet, txid)`: a resolver asking more than once keeps the
    `Question`.

    Args:
        packet: a DNS message as received (UDP payload, or a TCP message without its prefix).
        txid: the transaction id of our query.
        name: the name in our query.
        qtype: the type in our query.
        default_negative_ttl_s: the TTL of an NXDOMAIN or NODATA answer without an SOA.

    Returns:
        None when the packet is not an answer to our query (unparsable, not a response,
        another id, another question): ignore it and keep waiting. Otherwise the `Answer`.

    Raises:
        ValueError: `name` is not a valid domain name (our own query could not have had it),
            or `qtype` is not A or AAAA.
    """
    return Question(name, qtype).check(packet, txid, default_negative_ttl_s)


def _ttl(value: Any) -> int:
    ttl = int(value)
    return 0 if ttl & _TTL_TOP_BIT else ttl  # RFC 2181 §8


def _text(labels: Labels) -> str:
    return b".".join(labels).decode("ascii", errors="replace")


def _read_answer(
    tc: bool,
    answers: list[Any],
    authority: list[Any],
    rcode: int,
    qname: Labels,
    qtype: int,
    default_negative_ttl_s: int,
) -> Answer:
    """Read the answer and authority sections (dnslib RRs) of an answer to our question."""
    if tc:
        return Answer(Outcome.TRUNCATED, rcode, tc, (), _text(qname), 0)
    if rcode not in (_RCODE_NOERROR, _RCODE_NXDOMAIN):
        return Answer(Outcome.SERVER_ERROR, rcode, tc, (), _text(qname), 0)
    in_class = [rr for rr in answers if rr.rclass == _CLASS_IN]
    chain = _follow(in_class, qname)
    if chain is None:
        return Answer(Outcome.SERVER_ERROR, rcode, tc, (), _text(qname), 0)
    canonical, chain_ttl_s = chain
    if rcode == _RCODE_NOERROR:
        addresses, ttl_s = _addresses(in_class, canonical, qtype)
        if addresses:
            ttl_s = min(ttl_s, chain_ttl_s)
            return Answer(Outcome.ADDRESSES, rcode, tc, addresses, _text(canonical), ttl_s)
    negative_ttl_s = _negative_ttl(authority, canonical)
    if negative_ttl_s is None:
        if rcode == _RCODE_NOERROR and any(rr.rtype == _TYPE_NS for rr in authority):
            return Answer(Outcome.SERVER_ERROR, rcode, tc, (), _text(canonical), 0)  # referral
        negative_ttl_s = default_negative_ttl_s
    outcome = Outcome.NXDOMAIN if rcode == _RCODE_NXDOMAIN else Outcome.NODATA
    ttl_s = min(negative_ttl_s, chain_ttl_s)
    return Answer(outcome, rcode, tc, (), _text(canonical), ttl_s)


def _follow(records: list[Any], qname: Labels) -> tuple[Labels, int] | None:
    """Follow CNAMEs from `qname`: return where the chain ends and its least TTL.

    Returns None for a loop or a chain longer than `MAX_CNAME_CHAIN`. The TTL of an empty
    chain is 2**31 - 1, the largest there is, so that min() with it changes nothing.
    """
    cnames: dict[Labels, Any] = {}
    for rr in records:
        if rr.rtype == _TYPE_CNAME:
            cnames.setdefault(_lower(rr.rname.label), rr)  # RFC 1034 §3.6.2: one per name
    current, ttl_s, seen = qname, _TTL_TOP_BIT - 1, {qname}
    for _ in range(MAX_CNAME_CHAIN + 1):
        rr = cnames.get(current)
        if rr is None:
            return current, ttl_s
        current = _lower(rr.rdata.label.label)
        ttl_s = min(ttl_s, _ttl(rr.ttl))
        if current in seen:
            return None
        seen.add(current)
    return None


def _addresses(records: list[Any], owner: Labels, qtype: int) -> tuple[tuple[str, ...], int]:
    addresses: list[str] = []
    ttl_s = _TTL_TOP_BIT - 1
    for rr in records:
        if rr.rtype != qtype or _lower(rr.rname.label) != owner:
            continue
        data = rr.rdata.data  # dnslib: a tuple of 4 (A) or 16 (AAAA) byte values
        # For A the dotted quad is what IPv4Address would print, without building one.
        if qtype == QType.A:
            address = "%d.%d.%d.%d" % data  # noqa: UP031 - a fixed 4-tuple, the fastest form
        else:
            address = str(ipaddress.IPv6Address(bytes(data)))
        if address not in addresses:
            addresses.append(address)
        ttl_s = min(ttl_s, _ttl(rr.ttl))
    return tuple(addresses), ttl_s


def _negative_ttl(authority: list[Any], name: Labels) -> int | None:
    """Return min(SOA TTL, SOA MINIMUM) of the SOA enclosing `name` (RFC 2308 §5), if any.

    An SOA for a zone that does not enclose the name is ignored: it cannot speak for it.
    """
    for rr in authority:
        if rr.rtype != _TYPE_SOA or rr.rclass != _CLASS_IN:
            continue
        owner = _lower(rr.rname.label)
        if owner and name[-len(owner) :] != owner:
            continue
        return min(_ttl(rr.ttl), _ttl(rr.rdata.times[4]))
    return None


def tcp_frame(message: bytes) -> bytes:
    """Return `message` with the two-byte length prefix of DNS over TCP (RFC 1035 §4.2.2).

    Args:
        message: a DNS message.

    Returns:
        The framed message.

    Raises:
        ValueError: the message is longer than 65535 bytes.
    """
    if len(message) > MAX_MESSAGE_BYTES:
        raise ValueError(f"message of {len(message)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return _LENGTH.pack(len(message)) + message


class TcpReader:
    """Split a DNS-over-TCP byte stream into messages (RFC 1035 §4.2.2, RFC 7766 §8).

    Feed it bytes as they arrive, in pieces of any size; it returns each message once whole.
    It buffers at most one partial message (65537 bytes with its prefix).
    """

    __slots__ = ("_buffer", "_messages")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._messages = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the messages they complete, in stream order.

        Args:
            data: the next bytes of the stream (may be empty).

        Returns:
            The complete messages, without their prefixes; often none.
        """
        buffer = self._buffer
        buffer += data
        messages = []
        while len(buffer) >= 2:
            (length,) = _LENGTH.unpack_from(buffer)
            if len(buffer) < 2 + length:
                break
            messages.append(bytes(buffer[2 : 2 + length]))
            del buffer[: 2 + length]
        self._messages += len(messages)
        return messages

    @property
    def buffered_bytes(self) -> int:
        """Bytes of a message not complete yet; at EOF, nonzero means the peer cut one off."""
        return len(self._buffer)

    def __repr__(self) -> str:
        return f"<TcpReader messages={self._messages} buffered={len(self._buffer)}>"
