"""`DnsResolver`: host names to addresses, in fibers on any sws_core loop or from any thread.

How a lookup goes (`resolve_on_loop`, a fiber body on the caller's own loop):

1. A numeric address is its own answer; a name the hosts table (/etc/hosts) lists is
   answered from it, as nsswitch.conf's usual `hosts: files dns` does; "localhost" and the
   names under ".localhost" that it does not list are loopback (RFC 6761 §6.3: never sent
   to a nameserver). None of this needs a loop.
2. Otherwise each candidate of `candidate_names` (resolv.conf(5) search list and ndots) is
   asked about, A and AAAA at once (the AAAA question in a second fiber, joined with an
   `Event`), until one has addresses; `SearchVerdict` says what each candidate's answers
   mean for the lookup.
3. One question (name, type) is answered from the cache while its TTL lasts, negative
   answers too (RFC 2308); else, when the same question is already on its way, the lookup
   waits for that one (coalescing: one query however many fibers ask, across loops too);
   else it asks the nameservers (`ask_nameservers`: failover, retries, TCP after TC) and
   caches what they say.

Results list IPv4 addresses first, then IPv6, each family in answer order. (RFC 6724 puts
IPv6 first on hosts with global IPv6; an HTTP client racing both families, RFC 8305, orders
them itself, so this order stays simple and predictable.)

Rules that hold in this module:

- One resolver may serve fibers of several loops and plain threads at once. The cache, the
  in-flight table and the counters live under one lock that is never held across a wait.
  A question in flight belongs to the fiber that asked it first; waiters on other loops are
  woken through `loop.invoke`. If that fiber is closed (its loop stopped), the waiters ask
  again themselves.
- Time is the loop's clock (`loop.now`); loops sharing a resolver must share a clock (the
  default, time.monotonic, is shared).
- `resolve` runs where it is called: on a loop thread (`current_loop()` is not None) it
  returns the lookup's generator, to `yield from` or `await`; on any other thread it
  blocks, running the lookup on the resolver's own loop, on a private thread that the first
  such call starts and `close()` stops. A closed resolver refuses every new lookup.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import types
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sws_core import ClosedResourceError, Event, InvokeQueueFullError, Loop, Op, current_loop

from ._dnscache import CacheStatistics, DnsCache
from ._dnserrors import DnsError, NoAddressError
from ._dnsmsg import Answer, Outcome, QType, candidate_names, fold_name
from ._dnsquery import (
    DEFAULT_MAX_UDP_ANSWER_BYTES,
    Failure,
    Result,
    SearchVerdict,
    Tally,
    ask_nameservers,
)
from ._resolvconf import Hosts, ResolvConf, load_hosts, load_resolv_conf

__all__ = ["DEFAULT_MAX_INFLIGHT", "DnsResolver", "ResolverStatistics"]

log = logging.getLogger("sws_client")

# Distinct questions on their way at once, past which a lookup fails at once instead of
# queueing. - systemd-resolved: TRANSACTIONS_MAX 4096.
DEFAULT_MAX_INFLIGHT = 4096
# Seconds `close()` waits for the private loop thread; its lookups are cancelled, not waited
# for, so a healthy stop takes one loop turn.
_JOIN_S = 10.0
# The private loop serves blocking callers only: a small ring, few slots (TCP connections
# after truncated answers), few receive buffers, and no grace period (`close()` cancels).
_PRIVATE_LOOP: dict[str, Any] = {
    "max_connections": 64,
    "ring_entries": 256,
    "recv_buffers": 16,
    "grace_s": 0.0,
    "handle_signals": False,
}

_DIGITS = frozenset("0123456789")
_DIGITS_AND_DOTS = _DIGITS | {"."}
# How a name that may be a localhost name ends (its last 10 characters, in lower case): a
# cheap test before the exact one (RFC 6761 §6.3: "localhost" and the names under it).
_LOCALHOST_ENDS = frozenset({"localhost", "localhost.", ".localhost"})
_LOOPBACK = (("127.0.0.1",), ("::1",))  # (IPv4, IPv6) for localhost names, RFC 6761 §6.3
# The query types for each family `resolve` takes (socket.AddressFamily members hash and
# compare as the ints they are).
_QUERY_TYPES: dict[int | None, tuple[QType, ...]] = {
    None: (QType.A, QType.AAAA),
    socket.AF_UNSPEC: (QType.A, QType.AAAA),
    socket.AF_INET: (QType.A,),
    socket.AF_INET6: (QType.AAAA,),
}
_ADDRESSES = Outcome.ADDRESSES
_F = TypeVar("_F", bound=Callable[..., Generator[Any, Any, Any]])


def _awaitable(fn: _F) -> _F:
    """Mark a generator function so that `await` takes its generators as well as `yield from`
    (types.coroutine: the generator-based coroutine flag; the type stays a Generator)."""
    return cast(_F, types.coroutine(fn))


@dataclass(frozen=True, slots=True)
class ResolverStatistics:
    """A snapshot of a resolver's counters since it was made (`DnsResolver.statistics()`)."""

    udp_queries: int
    tcp_queries: int  # each one after a truncated UDP answer
    answers_ignored: int  # failed check_answer: another id, another question, garbage
    timeouts: int  # tries that got no acceptable answer in time
    refused: int  # tries whose socket failed (ICMP port unreachable, no route, ...)
    server_errors: int  # SERVFAIL, REFUSED, referrals, CNAME loops
    coalesced: int  # questions that waited for the same question already in flight
    inflight: int  # questions on their way now
    cache: CacheStatistics


def query_types(family: int | None) -> tuple[QType, ...]:
    """Return the query types for an address family: None (or AF_UNSPEC) asks for both.

    Raises:
        ValueError: `family` is not None, AF_UNSPEC, AF_INET or AF_INET6.
    """
    try:
        qtypes = _QUERY_TYPES.get(family)
    except TypeError:  # unhashable: no family either
        qtypes = None
    if qtypes is not None:
        return qtypes
    raise ValueError(f"address family {family!r} is not AF_INET, AF_INET6 or None")


def local_answer(hosts: Hosts, name: str, qtypes: Sequence[QType]) -> list[str] | None:
    """Answer `name` without DNS: a numeric address is itself, then the hosts table, then
    the loopback names of RFC 6761 §6.3.

    Returns:
        The addresses, or None when DNS must be asked (hosts lists the name, but with none
        of the families asked for; or does not list it).

    Raises:
        TypeError: `name` is not a str.
        NoAddressError: `name` is a numeric address of a family not asked for.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    # An address is IPv6 (a colon) or ASCII digits and dots, ending in a digit: only those
    # are worth the exception ip_address raises for every host name.
    numeric = ":" in name or (name[-1:] in _DIGITS and set(name) <= _DIGITS_AND_DOTS)
    try:
        address = ipaddress.ip_address(name) if numeric else None
    except ValueError:
        address = None
    if address is not None:
        if (QType.A if address.version == 4 else QType.AAAA) not in qtypes:
            raise NoAddressError(name)
        return [str(address)]
    entry = hosts.lookup(name)
    if entry is not None:
        v4, v6 = entry.ipv4, entry.ipv6
    elif name[-10:].lower() not in _LOCALHOST_ENDS:  # the last 10 characters: "localhost."
        return None
    else:
        folded = fold_name(name)
        if folded != "localhost" and not folded.endswith(".localhost"):
            return None
        v4, v6 = _LOOPBACK
    addresses = [*(v4 if QType.A in qtypes else ()), *(v6 if QType.AAAA in qtypes else ())]
    return addresses or None


class _Flight:
    """One question on its way, and who waits for it."""

    __slots__ = ("result", "waiters")

    def __init__(self) -> None:
        self.result: Result | None = None  # None once landed: its asker was stopped
        self.waiters: list[tuple[Loop, Event]] = []


class _Call:
    """A blocking `resolve` waiting for its lookup on the private loop."""

    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: list[str] | None = None
        self.error: BaseException | None = None

    def finish(self, result: list[str] | None = None, error: BaseException | None = None) -> None:
        """Hand the outcome to the waiting thread; only the first call counts."""
        if not self.done.is_set():
            self.result, self.error = result, error
            self.done.set()


class DnsResolver:
    """An asynchronous stub resolver: /etc/hosts, then DNS over UDP (TCP after TC) on io_uring.

        resolver = DnsResolver()
        addresses = yield from resolver.resolve_on_loop("example.com")   # in a fiber
        addresses = resolver.resolve("example.com")                      # in a plain thread
        resolver.close()

    Args:
        conf: nameservers, search list and options; None reads /etc/resolv.conf.
        hosts: the hosts table; None reads /etc/hosts.
        cache: the answer cache; None makes a `DnsCache` with its defaults.
        max_inflight: distinct questions on their way at once.
        max_udp_answer_bytes: the receive buffer of each UDP query.

    Raises:
        ValueError: a limit below 1.
        OSError: /etc/resolv.conf or /etc/hosts exists and cannot be read.
    """

    def __init__(
        self,
        *,
        conf: ResolvConf | None = None,
        hosts: Hosts | None = None,
        cache: DnsCache | None = None,
        max_inflight: int = DEFAULT_MAX_INFLIGHT,
        max_udp_answer_bytes: int = DEFAULT_MAX_UDP_ANSWER_BYTES,
    ) -> None:
        if max_inflight < 1 or max_udp_answer_bytes < 1:
            raise ValueError("max_inflight and max_udp_answer_bytes must be at least 1")
        self.conf = conf if conf is not None else load_resolv_conf()
        self.hosts = hosts if hosts is not None else load_hosts()
        self._cache = cache if cache is not None else DnsCache()
        self._max_inflight = max_inflight
        self._max_udp_answer_bytes = max_udp_answer_bytes
        self._lock = threading.Lock()
        self._flights: dict[tuple[str, int], _Flight] = {}
        self._rotation = 0
        self._totals = Tally()
        self._coalesced = 0
        self._closed = False
        self._loop: Loop | None = None
        self._thread: threading.Thread | None = None
        self._loop_ended: BaseException | None = None
        self._calls: set[_Call] = set()

    # --- lookups ------------------------------------------------------------------------

    @_awaitable
    def resolve_on_loop(
        self, name: str, *, family: int | None = None
    ) -> Generator[Op, Any, list[str]]:
        """Look `name` up, in a fiber on the calling loop: `yield from` or `await` it.

        Args:
            name: a host name (relative names go through the search list) or an address.
            family: socket.AF_INET or AF_INET6 for one family; None for both.

        Returns:
            The addresses, IPv4 first, then IPv6.

        Raises:
            NameNotFoundError: no candidate name exists (NXDOMAIN).
            NoAddressError: the name exists without an address of the family.
            DnsServerError: the nameservers answered, none usefully.
            DnsTimeoutError: no nameserver answered in time.
            DnsError: `max_inflight` questions are already on their way.
            ValueError: `name` is not a valid domain name, or `family` is not one above.
            ClosedResourceError: the resolver is closed.
            RuntimeError: DNS had to be asked, and the caller is not on a loop thread.
        """
        if self._closed:
            raise ClosedResourceError("the resolver is closed")
        qtypes = query_types(family)
        local = local_answer(self.hosts, name, qtypes)
        if local is not None:
            return local
        candidates = candidate_names(name, self.conf)
        loop = current_loop()
        if loop is None:
            raise RuntimeError(
                "resolve_on_loop runs in a fiber on an sws_core loop thread; "
                "from other threads call resolve()"
            )
        verdict: SearchVerdict | None = None  # made when a candidate has no addresses
        for candidate in candidates:
            if len(qtypes) == 1:  # one generator level less on every resume of the lookup
                result = yield from self._ask(loop, candidate, qtypes[0])
                if not isinstance(result, Failure) and result.outcome is _ADDRESSES:
                    # What verdict.add would return: one type's addresses are one family's,
                    # and an answer's (so a cache entry's) addresses are each there once.
                    return list(result.addresses)
                results = [result]
            else:
                results = yield from self._ask_both(loop, candidate, qtypes)
            if verdict is None:
                verdict = SearchVerdict(name)
            addresses = verdict.add(results)
            if addresses is not None:
                return addresses
        assert verdict is not None  # candidate_names is never empty
        raise verdict.failure()

    def resolve(self, name: str, *, family: int | None = None) -> Any:
        """Look `name` up from anywhere: the op on a loop thread, the result elsewhere.

        On an sws_core loop thread this is `resolve_on_loop(name, family=family)`, to
        `yield from` or `await`; blocking there would stall every fiber of the loop. On any
        other thread it blocks until the lookup ends, the lookup running on the resolver's
        own loop thread (started on first use). The return type is `Any` because it depends
        on the calling thread; typed code calls `resolve_on_loop` in fibers.

        Returns:
            On a loop thread, the generator of `resolve_on_loop`; elsewhere the addresses.

        Raises:
            The errors of `resolve_on_loop` (on a loop thread, from the generator), and
            RuntimeError when the private loop cannot run (io_uring unavailable).
        """
        if current_loop() is not None:
            return self.resolve_on_loop(name, family=family)
        return self._resolve_blocking(name, family)

    def _resolve_blocking(self, name: str, family: int | None) -> list[str]:
        self._check_open()
        local = local_answer(self.hosts, name, query_types(family))
        if local is not None:
            return local  # no thread needed
        candidate_names(name, self.conf)  # a ValueError for a bad name, before any thread
        call = _Call()

        def lookup() -> Generator[Op, Any, None]:
            try:
                addresses = yield from self.resolve_on_loop(name, family=family)
            except Exception as exc:
                call.finish(error=exc)
            else:
                call.finish(result=addresses)
            finally:  # when the loop closes this fiber at its stop, nothing else finished it
                call.finish(error=ClosedResourceError(f"the resolver closed resolving {name!r}"))

        with self._lock:
            loop = self._private_loop()
            loop.invoke(loop.go, lookup())
            self._calls.add(call)
        try:
            call.done.wait()
        finally:
            with self._lock:
                self._calls.discard(call)
        if call.error is not None:
            raise call.error
        assert call.result is not None
        return call.result

    def _ask_both(
        self, loop: Loop, name: str, qtypes: tuple[QType, ...]
    ) -> Generator[Op, Any, list[Result]]:
        """Ask two types about `name` at once, the second in its own fiber."""
        other: list[Result] = []
        error: list[Exception] = []
        done = Event()

        def second() -> Generator[Op, Any, None]:
            try:
                other.append((yield from self._ask(loop, name, qtypes[1])))
            except Exception as exc:
                error.append(exc)
            finally:
                done.set()

        loop.go(second())
        first = yield from self._ask(loop, name, qtypes[0])
        yield from done.wait()
        if error:
            raise error[0]
        return [first, *other]

    def _ask(self, loop: Loop, name: str, qtype: QType) -> Generator[Op, Any, Result]:
        """One question: from the cache, or from the flight already asking it, or asked."""
        key = (fold_name(name), int(qtype))
        while True:
            event: Event | None = None
            with self._lock:
                entry = self._cache.get_key(key, loop.now)
                if entry is not None:
                    return entry
                flight = self._flights.get(key)
                if flight is not None:
                    event = Event()
                    flight.waiters.append((loop, event))
                    self._coalesced += 1
                else:
                    if len(self._flights) >= self._max_inflight:
                        n = len(self._flights)
                        raise DnsError(f"{n} questions in flight, the limit", name)
                    flight = self._flights[key] = _Flight()
                    start = self._rotation if self.conf.rotate else 0
                    self._rotation += 1
            if event is None:
                break
            yield from event.wait()
            if flight.result is not None:
                return flight.result
            # Its asker was stopped with its loop before an answer: ask again from here.
        # This fiber flies the question (here, not in a helper: one generator level less).
        tally = Tally()
        result: Result | None = None
        try:
            conf = self.conf
            result = yield from ask_nameservers(
                loop,
                conf.nameservers,
                name,
                qtype,
                attempts=conf.attempts,
                timeout_s=conf.timeout_s,
                start=start,
                tally=tally,
                max_udp_answer_bytes=self._max_udp_answer_bytes,
            )
            return result
        finally:
            self._land(loop, key, flight, name, qtype, result, tally)

    def _land(
        self,
        loop: Loop,
        key: tuple[str, int],
        flight: _Flight,
        name: str,
        qtype: QType,
        result: Result | None,
        tally: Tally,
    ) -> None:
        """Cache the result, count the cost, end the flight and wake its waiters."""
        with self._lock:
            totals = self._totals
            totals.udp_queries += tally.udp_queries
            totals.tcp_queries += tally.tcp_queries
            totals.answers_ignored += tally.answers_ignored
            totals.timeouts += tally.timeouts
            totals.refused += tally.refused
            totals.server_errors += tally.server_errors
            if isinstance(result, Answer):
                self._cache.put_key(key, result, loop.now)
            flight.result = result
            del self._flights[key]
            waiters = flight.waiters
            if waiters:
                flight.waiters = []
        for waiter_loop, event in waiters:
            if waiter_loop is loop:
                event.set()
                continue
            try:
                waiter_loop.invoke(event.set)
            except InvokeQueueFullError:
                log.error("cannot wake a lookup of %r on %r: its invoke queue is full", name, loop)

    # --- the private loop, for blocking callers ---------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedResourceError("the resolver is closed")

    def _private_loop(self) -> Loop:
        """Return the private loop, starting its thread on first use (under the lock)."""
        self._check_open()
        if self._loop_ended is not None:
            raise RuntimeError(f"the resolver's loop ended: {self._loop_ended}")
        if self._loop is None:
            loop = Loop(**_PRIVATE_LOOP)
            thread = threading.Thread(
                target=self._run_loop, args=(loop,), name="sws-dns-resolver", daemon=True
            )
            self._loop, self._thread = loop, thread
            thread.start()
        return self._loop

    def _run_loop(self, loop: Loop) -> None:
        error: BaseException = ClosedResourceError("the resolver closed during the lookup")
        try:
            loop.run()
        except BaseException as exc:
            log.exception("the resolver's loop failed")
            error = RuntimeError(f"the resolver's loop failed: {exc}")
            error.__cause__ = exc
        finally:
            with self._lock:
                self._loop_ended = error
                calls = list(self._calls)
            for call in calls:  # lookups the loop never started
                call.finish(error=error)

    def close(self) -> None:
        """Stop the private loop (its lookups fail with ClosedResourceError) and refuse
        new lookups. Idempotent; safe from any thread."""
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.stop()
        if thread is threading.current_thread():
            return  # closed from one of its own fibers: the loop ends after this turn
        thread.join(_JOIN_S)
        if thread.is_alive():
            log.warning("the resolver's loop thread is still running %s s after close", _JOIN_S)

    def __enter__(self) -> DnsResolver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- observing ------------------------------------------------------------------------

    def statistics(self) -> ResolverStatistics:
        """Return a snapshot of the counters (safe from any thread)."""
        with self._lock:
            t = self._totals
            return ResolverStatistics(
                udp_queries=t.udp_queries,
                tcp_queries=t.tcp_queries,
                answers_ignored=t.answers_ignored,
                timeouts=t.timeouts,
                refused=t.refused,
                server_errors=t.server_errors,
                coalesced=self._coalesced,
                inflight=len(self._flights),
                cache=self._cache.statistics(),
            )

    def __repr__(self) -> str:
        if self._closed:
            state = "closed"
        else:
            state = "loop-running" if self._loop is not None else "idle"
        servers = ",".join(f"{host}:{port}" for host, port in self.conf.nameservers)
        return (
            f"<DnsResolver {state} nameservers={servers} inflight={len(self._flights)} "
            f"cache={len(self._cache)}>"
        )
