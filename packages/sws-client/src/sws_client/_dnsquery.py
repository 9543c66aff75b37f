"""Asking DNS, in fibers on an sws_core loop: which server for each try, the tries, and
what the answers about each candidate name mean for a lookup.

`ask_nameservers` asks one question (a name and a type) until a server answers it
usefully; `TryPlan` says which server each try goes to; `SearchVerdict` judges the answers
for each candidate name of the search list. The last two do no IO and keep no clock.

Rules that hold in this module:

- Every try is a fresh `Datagram` and a fresh transaction id from `new_txid` (RFC 5452 §9.2:
  an attacker must guess both the 16-bit id and the source port). The socket is connected,
  so the kernel drops datagrams from any other address or port (RFC 5452 §9.1, the address
  half of the check); `Question.check` does the other half (id and question). A datagram that
  fails it is counted and ignored, and the try goes on waiting until its deadline: a forged
  answer arriving first must not end the wait for the real one.
- The schedule is `TryPlan`: `attempts` rounds through the nameservers in order (from a
  rotating start with `options rotate`), each try waiting `timeout_s`. glibc's res_send
  doubles the wait each round; here every try waits the configured time, which keeps the
  worst case (`attempts * servers * timeout_s`) what resolv.conf(5) leads one to expect.
  A server that answers ICMP port unreachable (ConnectionRefusedError) is skipped in later
  rounds, as glibc marks it.
- What ends the question: an answer with addresses, NXDOMAIN or NODATA (RFC 2308). What
  sends it to the next server: a timeout, a refused or failed socket, a server error
  (SERVFAIL, REFUSED, a referral, a CNAME loop: `Outcome.SERVER_ERROR`). A truncated answer
  (TC=1) is asked again over TCP of the same server (RFC 7766 §5); if that fails too, the
  next server gets the question.
- When every try failed, the result is a `Failure`: with the last rcode when some server
  answered (DnsServerError), without one when none did (timeouts and refusals alike: glibc
  reports both as EAI_AGAIN, try again later).
- No locks here: each question runs in one fiber and counts into its own `Tally`; the
  resolver adds the tally to its statistics under its lock.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

from sws_core import (
    BrokenResourceError,
    Cancelled,
    ClosedResourceError,
    Datagram,
    Loop,
    Op,
    connect,
)

from ._dnscache import CacheEntry
from ._dnserrors import DnsError, DnsServerError, DnsTimeoutError, NameNotFoundError, NoAddressError
from ._dnsmsg import Answer, Outcome, Question, TcpReader, new_txid, tcp_frame

__all__ = [
    "DEFAULT_MAX_UDP_ANSWER_BYTES",
    "Failure",
    "Found",
    "Result",
    "SearchVerdict",
    "Tally",
    "TryPlan",
    "ask_nameservers",
    "order_addresses",
]

# Bytes. We send no EDNS OPT record (RFC 6891), so a server answers in at most 512 bytes
# over UDP and sets TC beyond (RFC 1035 §4.2.1); 4096, the EDNS buffer size RFC 6891 §6.2.5
# suggests, leaves room for servers that send more anyway. A longer datagram is cut by the
# kernel, does not parse, and is ignored like any other datagram that is not our answer.
DEFAULT_MAX_UDP_ANSWER_BYTES = 4096

_NONE_DEAD: frozenset[int] = frozenset()
# Outcomes that settle a question: the name has these addresses, or it has none.
_FINAL = frozenset({Outcome.ADDRESSES, Outcome.NXDOMAIN, Outcome.NODATA})
_ADDRESSES, _TRUNCATED = Outcome.ADDRESSES, Outcome.TRUNCATED


@dataclass(frozen=True, slots=True)
class Failure:
    """No server gave a usable answer to one question.

    Attributes:
        rcode: the rcode of the last server that answered uselessly (SERVFAIL 2,
            REFUSED 5, or 0 for a NOERROR answer with nothing usable in it); None when no
            server answered at all (every try timed out or was refused).
        queries: how many queries were sent for the question.
    """

    rcode: int | None
    queries: int


Found = Answer | CacheEntry  # a question's answer, fresh or cached: ADDRESSES/NXDOMAIN/NODATA
Result = Found | Failure


@dataclass(slots=True)
class Tally:
    """What one question cost; the resolver adds it to its statistics."""

    udp_queries: int = 0
    tcp_queries: int = 0
    answers_ignored: int = 0  # datagrams or TCP messages that failed Question.check
    timeouts: int = 0
    refused: int = 0  # ICMP port unreachable, or any other socket failure
    server_errors: int = 0  # answers that were SERVER_ERROR (or TC over TCP)


class TryPlan:
    """Which nameserver each try of one question goes to (no IO, no clock).

        plan = TryPlan(servers=2, attempts=2, start=0)
        plan.next() -> 0, 1, 0, 1, None

    Args:
        servers: how many nameservers there are (1 or more).
        attempts: rounds through them (1 or more).
        start: the server the first round begins with (`options rotate` moves it on).
    """

    __slots__ = ("_attempts", "_dead", "_servers", "_start", "_step", "_tries")

    def __init__(self, servers: int, attempts: int, start: int = 0) -> None:
        if servers < 1 or attempts < 1:
            raise ValueError(f"{servers} servers and {attempts} attempts: both must be >= 1")
        self._servers = servers
        self._attempts = attempts
        self._tries = servers * attempts
        self._start = start % servers
        self._step = 0
        self._dead: frozenset[int] | set[int] = _NONE_DEAD  # a set from the first refusal

    def next(self) -> int | None:
        """Return the index of the server for the next try, or None when the plan is done."""
        step = self._step
        while step < self._tries:
            index = (self._start + step) % self._servers
            step += 1
            if index not in self._dead:
                self._step = step
                return index
        self._step = step
        return None

    def refused(self, index: int) -> None:
        """Skip server `index` from now on: nothing listens there (ICMP port unreachable)."""
        self._dead = {*self._dead, index}

    def __repr__(self) -> str:
        return (
            f"<TryPlan step={self._step}/{self._servers * self._attempts} "
            f"start={self._start} skipped={sorted(self._dead)}>"
        )


def ask_nameservers(
    loop: Loop,
    nameservers: tuple[tuple[str, int], ...],
    name: str,
    qtype: int,
    *,
    attempts: int,
    timeout_s: float,
    start: int,
    tally: Tally,
    max_udp_answer_bytes: int = DEFAULT_MAX_UDP_ANSWER_BYTES,
) -> Generator[Op, Any, Answer | Failure]:
    """Ask the nameservers about (name, qtype) until one answers usefully (a fiber body).

    Args:
        loop: the loop this fiber runs on.
        nameservers: (address, port) pairs, numeric addresses.
        name: the name to ask about, one candidate of `candidate_names`.
        qtype: `QType.A` or `QType.AAAA`.
        attempts: rounds through the nameservers.
        timeout_s: the wait for each try (over TCP: for the connect and the answer).
        start: the index of the server to ask first.
        tally: counts what the question cost; a fresh one per question (its query counts
            make the `Failure.queries`).
        max_udp_answer_bytes: the receive buffer of each UDP try.

    Returns:
        The answer (outcome ADDRESSES, NXDOMAIN or NODATA), or a `Failure`.

    Raises:
        ValueError: `name` is not a valid domain name, or `qtype` is not A or AAAA.
    """
    question = Question(name, qtype)  # encoded once for every try
    plan = TryPlan(len(nameservers), attempts, start)
    rcode: int | None = None
    while (index := plan.next()) is not None:
        host, port = nameservers[index]
        try:
            answer = yield from _udp_try(
                loop, host, port, question, timeout_s, tally, max_udp_answer_bytes
            )
            if answer.outcome is _TRUNCATED:  # RFC 7766 §5: the same server, over TCP
                answer = yield from _tcp_try(loop, host, port, question, timeout_s, tally)
        except TimeoutError:
            tally.timeouts += 1
            continue
        except ConnectionRefusedError:
            tally.refused += 1
            plan.refused(index)
            continue
        except (OSError, ValueError):
            # Unreachable network, no fd left, a zone naming no interface ("fe80::1%eth9"):
            # this server is no use for this try; the next may be.
            tally.refused += 1
            continue
        outcome = answer.outcome
        if outcome is _ADDRESSES or outcome in _FINAL:  # an Enum's hash is Python code
            return answer
        tally.server_errors += 1
        rcode = answer.rcode
    return Failure(rcode, tally.udp_queries + tally.tcp_queries)


def _udp_try(
    loop: Loop,
    host: str,
    port: int,
    question: Question,
    timeout_s: float,
    tally: Tally,
    max_answer_bytes: int,
) -> Generator[Op, Any, Answer]:
    """One query over UDP from a fresh socket; the first answer that passes the checks.

    Raises:
        TimeoutError: no acceptable answer within `timeout_s`.
        OSError: the socket failed (ConnectionRefusedError: ICMP port unreachable).
    """
    txid = new_txid()
    query = question.query(txid)
    sock = Datagram(host, port, max_datagram_bytes=max_answer_bytes)
    try:
        yield from sock.send(query)
        tally.udp_queries += 1
        deadline = loop.now + timeout_s
        while True:
            left = deadline - loop.now
            if left <= 0:
                raise TimeoutError(f"no answer from {host}:{port} in {timeout_s} s")
            packet = yield from sock.receive(timeout_s=left)
            answer = question.check(packet, txid)
            if answer is not None:
                return answer
            tally.answers_ignored += 1
    finally:
        # On the normal paths nothing is pending any more. When the loop closes this fiber
        # mid-receive (teardown), the ring it then closes still holds the socket's file and
        # cancels the receive; the fd number is not what the kernel works on.
        sock.close()


def _tcp_try(
    loop: Loop, host: str, port: int, question: Question, timeout_s: float, tally: Tally
) -> Generator[Op, Any, Answer]:
    """One query over TCP (RFC 1035 §4.2.2, RFC 7766); the first message that passes.

    Raises:
        TimeoutError: the connect and the answer took longer than `timeout_s`.
        OSError: the connection failed or closed before an answer.
    """
    deadline = loop.now + timeout_s
    txid = new_txid()
    query = tcp_frame(question.query(txid))
    conn = yield from connect(host, port, timeout_s=timeout_s)
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        conn.abort(TimeoutError(f"no answer over tcp from {host}:{port} in {timeout_s} s"))

    # A Conn's receive has no timeout of its own: a timer aborts the connection, and the
    # parked receive is then thrown `Cancelled`, which is turned back into the timeout.
    timer = loop.call_later(max(0.0, deadline - loop.now), expire)
    try:
        yield from conn.send(query)
        tally.tcp_queries += 1
        reader = TcpReader()
        while data := (yield from conn.receive()):
            for message in reader.feed(data):
                answer = question.check(message, txid)
                if answer is not None:
                    return answer
                tally.answers_ignored += 1
        raise ConnectionError(f"{host}:{port} closed the tcp connection before answering")
    except (Cancelled, ClosedResourceError, BrokenResourceError) as exc:
        if expired:
            raise TimeoutError(f"no answer over tcp from {host}:{port} in {timeout_s} s") from None
        if isinstance(exc, Cancelled) and loop.stopping:
            raise  # the loop is going away: let its cancellation through
        raise ConnectionError(f"the tcp connection to {host}:{port} broke: {exc}") from None
    finally:
        timer.cancel()
        conn.close()


class SearchVerdict:
    """What the answers about each candidate name add up to, for one lookup (no IO).

    glibc's res_search is the model: NXDOMAIN and NODATA go on with the next candidate
    (remembering NODATA), a server failure goes on too, and a timeout stops the search,
    since every further candidate would wait as long again.

    Args:
        name: the name the caller asked for (for the errors).
    """

    __slots__ = ("_name", "_nodata", "_queries", "_rcode")

    def __init__(self, name: str) -> None:
        self._name = name
        self._nodata = False
        self._rcode: int | None = None
        self._queries = 0

    def add(self, results: Sequence[Result]) -> list[str] | None:
        """Judge one candidate's results, one per query type asked.

        Returns:
            The addresses, IPv4 first, when some result has any; None: try the next
            candidate.

        Raises:
            DnsTimeoutError: no server answered one of the questions, and none had addresses.
        """
        found = [r for r in results if not isinstance(r, Failure)]
        addresses = [a for r in found if r.outcome is Outcome.ADDRESSES for a in r.addresses]
        if addresses:
            return order_addresses(addresses)
        failures = [r for r in results if isinstance(r, Failure)]
        self._queries += sum(f.queries for f in failures)
        if any(r.outcome is Outcome.NXDOMAIN for r in found):
            return None  # no such name, whatever its type (RFC 8020)
        if any(f.rcode is None for f in failures):
            raise DnsTimeoutError(self._name, self._queries)
        if any(r.outcome is Outcome.NODATA for r in found):
            self._nodata = True
        for failure in failures:
            self._rcode = failure.rcode
        return None

    def failure(self) -> DnsError:
        """Return the error for a lookup whose every candidate was judged without addresses.

        Returns:
            NoAddressError if some candidate exists (NODATA), else DnsServerError if a
            server failed on some candidate, else NameNotFoundError.
        """
        if self._nodata:
            return NoAddressError(self._name)
        if self._rcode is not None:
            return DnsServerError(self._name, self._rcode)
        return NameNotFoundError(self._name)

    def __repr__(self) -> str:
        return f"<SearchVerdict name={self._name!r} nodata={self._nodata} rcode={self._rcode}>"


def order_addresses(addresses: Sequence[str]) -> list[str]:
    """Return `addresses` without duplicates, IPv4 ones first, each family in given order."""
    unique = list(dict.fromkeys(addresses))
    return [a for a in unique if ":" not in a] + [a for a in unique if ":" in a]
