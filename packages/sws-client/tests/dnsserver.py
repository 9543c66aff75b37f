"""A scripted DNS server for tests: UDP and TCP on one 127.0.0.1 port, served by one thread.

    zone = {
        "a.test": ["A 10.0.0.1", "60 AAAA fd00::1"],       # "[ttl] TYPE rdata", ttl 300
        "www.a.test": ["CNAME a.test"],
        "test": ["SOA ns.test. admin.test. 1 3600 600 86400 30"],
    }
    with DnsTestServer(zone, {"slow.test": Behaviour(delay_s=0.5)}) as server:
        ...  # ask server.address = ("127.0.0.1", port) over UDP or TCP
        assert server.count("a.test", "A", "udp") == 1

How it answers (as a recursive server would, from its zone alone):

- The question is echoed as received (case kept). CNAMEs are followed inside the zone and all
  put in the answer section, up to a loop or `MAX_CHAIN` hops, so tests can script loops and
  over-long chains. A name with records (or with names below it) that has none of the type
  asked gets NODATA, any other name NXDOMAIN; both carry the SOA of the closest enclosing
  zone in the authority section when the zone has one.
- `Behaviour` scripts a name (case-insensitive): delay, drop, an error rcode, TC over UDP, and
  decoys sent before the real answer: a wrong id, a wrong source port (from a second UDP
  socket), a wrong question. `times=N` limits the script to the first N queries of the name.
- Every query is counted per (name, type, transport) and logged (`Received`), so tests can
  assert caching, coalescing, retries, id and port randomness.

One thread runs a selector over the UDP socket, the TCP listener and its connections; delays
are timers in that loop, so a slow name never holds up another. `stop()` (or leaving the
`with`) joins the thread and closes every socket; an exception in the thread is raised there.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import selectors
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dnslib import QTYPE, RCODE, RR, DNSHeader, DNSLabel, DNSRecord

HOST = "127.0.0.1"
DEFAULT_TTL_S = 300
MAX_CHAIN = 64  # CNAME hops the server follows, more than any resolver accepts
JOIN_S = 10.0
_LENGTH = struct.Struct("!H")


@dataclass(frozen=True)
class Behaviour:
    """How the server misbehaves for one name.

    Attributes:
        delay_s: wait this long before answering (every message of the answer).
        drop: never answer (the query is still counted).
        rcode: answer with this rcode and no records: "NXDOMAIN", "SERVFAIL", "REFUSED"...
        truncate: over UDP answer TC=1 with no records; over TCP answer in full.
        wrong_id_first: first send the answer with another transaction id.
        wrong_port_first: first send the answer from another UDP port (UDP only).
        wrong_question_first: first send an answer to another name.
        times: apply to the first `times` queries of the name only (None: always).
    """

    delay_s: float = 0.0
    drop: bool = False
    rcode: str | None = None
    truncate: bool = False
    wrong_id_first: bool = False
    wrong_port_first: bool = False
    wrong_question_first: bool = False
    times: int | None = None


@dataclass(frozen=True)
class Received:
    """One query the server got."""

    name: str  # as sent, case kept, no trailing dot
    qtype: str  # "A", "AAAA", ...
    transport: str  # "udp" or "tcp"
    txid: int
    peer: tuple[str, int]


def _fold(name: Any) -> str:
    return str(name).rstrip(".").lower()


def _parse_zone(zone: Mapping[str, list[str]]) -> dict[str, list[Any]]:
    records: dict[str, list[Any]] = {}
    for name, lines in zone.items():
        for line in lines:
            first, _, rest = line.partition(" ")
            ttl, text = (int(first), rest) if first.isdigit() else (DEFAULT_TTL_S, line)
            owner = name if name.endswith(".") else name + "."
            records.setdefault(_fold(name), []).extend(RR.fromZone(f"{owner} {ttl} IN {text}"))
    return records


class DnsTestServer:
    """The server; see the module docstring.

    Args:
        zone: name -> record lines ("[ttl] TYPE rdata").
        behaviours: name -> `Behaviour`.
        host: the loopback address to serve on (127.0.0.1 or ::1).
    """

    def __init__(
        self,
        zone: Mapping[str, list[str]],
        behaviours: Mapping[str, Behaviour] | None = None,
        host: str = HOST,
    ) -> None:
        self.host = host
        self._family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._records = _parse_zone(zone)
        self._behaviours = {_fold(n): b for n, b in (behaviours or {}).items()}
        self._used: Counter[str] = Counter()
        self._lock = threading.Condition()
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self.log: list[Received] = []
        self.malformed = 0
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._stopping = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._sockets: list[socket.socket] = []
        self._conns: dict[socket.socket, tuple[bytearray, bytearray]] = {}
        self.port = 0

    # --- life cycle ---------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) of both the UDP and the TCP socket."""
        return (self.host, self.port)

    def start(self) -> None:
        """Bind UDP and TCP on one free port and start the thread."""
        self._udp, self._tcp = self._bind_pair()
        self._decoy = socket.socket(self._family, socket.SOCK_DGRAM)
        self._decoy.bind((self.host, 0))
        self._wake_r, self._wake_w = socket.socketpair()
        self._sockets = [self._udp, self._tcp, self._decoy, self._wake_r, self._wake_w]
        for sock in self._sockets:
            sock.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._udp, selectors.EVENT_READ, self._on_udp)
        self._selector.register(self._tcp, selectors.EVENT_READ, self._on_accept)
        self._selector.register(self._wake_r, selectors.EVENT_READ, lambda mask: None)
        self._thread = threading.Thread(target=self._run, name=f"dns-test-server:{self.port}")
        self._thread.start()

    def _bind_pair(self) -> tuple[socket.socket, socket.socket]:
        for _ in range(50):  # the TCP port may be taken when the UDP one is free
            udp = socket.socket(self._family, socket.SOCK_DGRAM)
            udp.bind((self.host, 0))
            port = udp.getsockname()[1]
            tcp = socket.socket(self._family, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((self.host, port))
            except OSError:
                udp.close()
                tcp.close()
                continue
            tcp.listen(16)
            self.port = port
            return udp, tcp
        raise RuntimeError("no port free for both udp and tcp")

    def stop(self) -> None:
        """Stop the thread, close every socket, raise what the thread raised."""
        if self._thread is None:
            return
        with self._lock:
            self._stopping = True
        self._wake_w.send(b"x")
        self._thread.join(JOIN_S)
        alive = self._thread.is_alive()
        self._thread = None
        for conn in self._conns:
            conn.close()
        self._conns.clear()
        self._selector.close()
        for sock in self._sockets:
            sock.close()
        if alive:
            raise RuntimeError(f"dns test server thread still running after {JOIN_S} s")
        if self._error is not None:
            raise RuntimeError("dns test server thread failed") from self._error

    def __enter__(self) -> DnsTestServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._thread else "stopped"
        return f"<DnsTestServer {self.host}:{self.port} {state} queries={len(self.log)}>"

    # --- what tests read ----------------------------------------------------------------

    def count(self, name: str, qtype: str = "A", transport: str = "udp") -> int:
        """Return how many queries for (name, qtype) came over `transport`."""
        with self._lock:
            return self._counts[(_fold(name), qtype, transport)]

    def total(self) -> int:
        """Return how many well-formed queries came in all."""
        with self._lock:
            return len(self.log)

    def wait_for_queries(self, n: int, timeout_s: float = JOIN_S) -> bool:
        """Wait until at least `n` queries came in all; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.log) >= n, timeout_s)

    # --- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping:
                timeout = None
                if self._timers:
                    timeout = max(0.0, self._timers[0][0] - time.monotonic())
                for key, mask in self._selector.select(timeout):
                    key.data(mask)
                now = time.monotonic()
                while self._timers and self._timers[0][0] <= now:
                    heapq.heappop(self._timers)[2]()
        except BaseException as e:
            self._error = e

    def _on_udp(self, mask: int) -> None:
        try:
            data, peer = self._udp.recvfrom(65535)
        except OSError:
            return
        self._handle(data, "udp", peer, lambda msg, decoy=False: self._send_udp(msg, peer, decoy))

    def _send_udp(self, message: bytes, peer: Any, decoy: bool) -> None:
        # The client may be gone already, as it is in a timeout test.
        with contextlib.suppress(OSError):
            (self._decoy if decoy else self._udp).sendto(message, peer)

    def _on_accept(self, mask: int) -> None:
        try:
            conn, _ = self._tcp.accept()
        except OSError:
            return
        conn.setblocking(False)
        self._conns[conn] = (bytearray(), bytearray())
        self._selector.register(conn, selectors.EVENT_READ, lambda m: self._on_tcp(conn, m))

    def _on_tcp(self, conn: socket.socket, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self._flush(conn)
        if conn not in self._conns or not mask & selectors.EVENT_READ:
            return
        inbuf = self._conns[conn][0]
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        inbuf += data
        peer = conn.getpeername()
        while len(inbuf) >= 2 and len(inbuf) >= 2 + _LENGTH.unpack_from(inbuf)[0]:
            length = _LENGTH.unpack_from(inbuf)[0]
            message = bytes(inbuf[2 : 2 + length])
            del inbuf[: 2 + length]
            self._handle(message, "tcp", peer, lambda msg, decoy=False: self._send_tcp(conn, msg))

    def _send_tcp(self, conn: socket.socket, message: bytes) -> None:
        if conn not in self._conns:
            return  # closed by the client before a delayed answer
        self._conns[conn][1].extend(_LENGTH.pack(len(message)) + message)
        self._flush(conn)

    def _flush(self, conn: socket.socket) -> None:
        outbuf = self._conns[conn][1]
        try:
            sent = conn.send(outbuf)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._close(conn)
            return
        del outbuf[:sent]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if outbuf else 0)
        self._selector.modify(conn, events, lambda m: self._on_tcp(conn, m))

    def _close(self, conn: socket.socket) -> None:
        self._selector.unregister(conn)
        del self._conns[conn]
        conn.close()

    # --- answering ----------------------------------------------------------------------

    def _handle(self, data: bytes, transport: str, peer: Any, send: Callable[..., None]) -> None:
        try:
            query = DNSRecord.parse(data)
            question = query.questions[0]
        except Exception:
            with self._lock:
                self.malformed += 1
            return
        name = str(question.qname).rstrip(".")
        qtype = QTYPE.get(question.qtype, str(question.qtype))
        with self._lock:
            self._counts[(_fold(name), qtype, transport)] += 1
            self.log.append(Received(name, qtype, transport, query.header.id, tuple(peer[:2])))
            self._lock.notify_all()
        behaviour = self._behaviour(name)
        if behaviour.drop:
            return
        reply = self._reply(query, behaviour.rcode)
        if behaviour.truncate and transport == "udp":
            reply = DNSRecord(DNSHeader(id=query.header.id, qr=1, ra=1, rd=1, tc=1), q=question)
        messages: list[tuple[bytes, bool]] = []
        if behaviour.wrong_question_first:
            other = DNSRecord.parse(reply.pack())
            other.questions[0].qname = DNSLabel("decoy." + name)
            messages.append((other.pack(), False))
        if behaviour.wrong_id_first:
            wrong = DNSRecord.parse(reply.pack())
            wrong.header.id = (query.header.id + 1) % 65536
            messages.append((wrong.pack(), False))
        if behaviour.wrong_port_first and transport == "udp":
            messages.append((reply.pack(), True))
        messages.append((reply.pack(), False))

        def deliver() -> None:
            for message, decoy in messages:
                send(message, decoy)

        if behaviour.delay_s > 0:
            due = time.monotonic() + behaviour.delay_s
            heapq.heappush(self._timers, (due, next(self._seq), deliver))
        else:
            deliver()

    def _behaviour(self, name: str) -> Behaviour:
        key = _fold(name)
        behaviour = self._behaviours.get(key)
        if behaviour is None:
            return Behaviour()
        self._used[key] += 1
        if behaviour.times is not None and self._used[key] > behaviour.times:
            return Behaviour()
        return behaviour

    def _reply(self, query: Any, rcode: str | None) -> Any:
        header = DNSHeader(id=query.header.id, qr=1, aa=1, ra=1, rd=query.header.rd)
        reply = DNSRecord(header, q=query.questions[0])
        if rcode is not None:
            reply.header.rcode = getattr(RCODE, rcode)
            return reply
        qtype = query.questions[0].qtype
        current, seen = _fold(query.questions[0].qname), set()
        for _ in range(MAX_CHAIN):
            seen.add(current)
            records = self._records.get(current, [])
            matching = [rr for rr in records if rr.rtype == qtype]
            cnames = [rr for rr in records if rr.rtype == QTYPE.CNAME]
            if matching:
                reply.add_answer(*matching)
                return reply
            if not cnames:
                break
            reply.add_answer(cnames[0])
            current = _fold(cnames[0].rdata.label)
            if current in seen:
                return reply  # a loop, as scripted
        exists = current in self._records or any(n.endswith("." + current) for n in self._records)
        if not exists:
            reply.header.rcode = RCODE.NXDOMAIN
        soa = self._soa(current)
        if soa is not None:
            reply.add_auth(soa)
        return reply

    def _soa(self, name: str) -> Any:
        labels = name.split(".")
        for i in range(len(labels)):
            for rr in self._records.get(".".join(labels[i:]), []):
                if rr.rtype == QTYPE.SOA:
                    return rr
        return None
