"""The IO-free parts of asking DNS: `TryPlan`, `SearchVerdict`, `order_addresses`."""

from __future__ import annotations

import pytest

from sws_client._dnscache import CacheEntry
from sws_client._dnserrors import (
    DnsServerError,
    DnsTimeoutError,
    NameNotFoundError,
    NoAddressError,
)
from sws_client._dnsmsg import Answer, Outcome
from sws_client._dnsquery import Failure, Result, SearchVerdict, TryPlan, order_addresses


def plan_order(plan: TryPlan) -> list[int]:
    order = []
    while (index := plan.next()) is not None:
        order.append(index)
    return order


# --- TryPlan ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("servers", "attempts", "start", "expected"),
    [
        (1, 1, 0, [0]),
        (1, 3, 0, [0, 0, 0]),
        (3, 1, 0, [0, 1, 2]),
        (3, 2, 0, [0, 1, 2, 0, 1, 2]),
        (3, 2, 1, [1, 2, 0, 1, 2, 0]),  # rotate: the start moves on
        (2, 1, 5, [1, 0]),  # the start wraps around
    ],
)
def test_rounds_through_the_servers_in_order(
    servers: int, attempts: int, start: int, expected: list[int]
) -> None:
    assert plan_order(TryPlan(servers, attempts, start)) == expected


def test_a_refusing_server_is_skipped_in_later_rounds() -> None:
    plan = TryPlan(3, 2)
    assert [plan.next(), plan.next()] == [0, 1]
    plan.refused(0)
    assert plan_order(plan) == [2, 1, 2]
    assert "skipped=[0]" in repr(plan)


def test_every_server_refusing_ends_the_plan() -> None:
    plan = TryPlan(2, 5)
    plan.refused(plan.next() or 0)
    plan.refused(plan.next() or 0)
    assert plan.next() is None


@pytest.mark.parametrize(("servers", "attempts"), [(0, 1), (1, 0)])
def test_an_empty_plan_is_refused(servers: int, attempts: int) -> None:
    with pytest.raises(ValueError, match=">= 1"):
        TryPlan(servers, attempts)


# --- SearchVerdict ----------------------------------------------------------------------------


def answer(outcome: Outcome, *addresses: str) -> Answer:
    rcode = 3 if outcome is Outcome.NXDOMAIN else 0
    return Answer(outcome, rcode, False, addresses, "x.test", 60)


A = answer(Outcome.ADDRESSES, "10.0.0.1")
AAAA = answer(Outcome.ADDRESSES, "fd00::1", "fd00::2")
NX = answer(Outcome.NXDOMAIN)
NODATA = answer(Outcome.NODATA)
TIMEOUT = Failure(None, 2)
SERVFAIL = Failure(2, 1)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([A], ["10.0.0.1"]),
        ([AAAA, A], ["10.0.0.1", "fd00::1", "fd00::2"]),  # IPv4 first whatever the order
        ([A, NODATA], ["10.0.0.1"]),
        ([NODATA, AAAA], ["fd00::1", "fd00::2"]),
        ([A, TIMEOUT], ["10.0.0.1"]),  # one family answered: that is enough
        ([SERVFAIL, AAAA], ["fd00::1", "fd00::2"]),
        ([CacheEntry(Outcome.ADDRESSES, ("10.9.9.9",), 1.0)], ["10.9.9.9"]),
    ],
)
def test_addresses_settle_the_lookup(results: list[Result], expected: list[str]) -> None:
    assert SearchVerdict("x").add(results) == expected


def test_nxdomain_everywhere_is_name_not_found() -> None:
    verdict = SearchVerdict("x")
    assert verdict.add([NX, NX]) is None
    assert verdict.add([NX, TIMEOUT]) is None  # no such name: the timeout does not matter
    error = verdict.failure()
    assert isinstance(error, NameNotFoundError)
    assert error.name == "x"


def test_nodata_on_any_candidate_is_no_address() -> None:
    verdict = SearchVerdict("x")
    assert verdict.add([NODATA, NODATA]) is None
    assert verdict.add([NX, NX]) is None
    assert verdict.add([SERVFAIL, SERVFAIL]) is None
    assert isinstance(verdict.failure(), NoAddressError)


def test_a_server_failure_without_nodata_is_a_server_error() -> None:
    verdict = SearchVerdict("x")
    assert verdict.add([NX, NX]) is None
    assert verdict.add([SERVFAIL, Failure(5, 1)]) is None
    error = verdict.failure()
    assert isinstance(error, DnsServerError)
    assert error.rcode == 5  # the last one


def test_a_timeout_stops_the_search_with_the_queries_sent() -> None:
    verdict = SearchVerdict("x")
    assert verdict.add([SERVFAIL, SERVFAIL]) is None
    with pytest.raises(DnsTimeoutError) as info:
        verdict.add([NODATA, TIMEOUT])
    assert info.value.attempts == 4
    assert "nodata=False" in repr(verdict)


def test_order_addresses_drops_duplicates_and_puts_ipv4_first() -> None:
    addresses = ["fd00::1", "10.0.0.2", "fd00::1", "10.0.0.1", "10.0.0.2", "::ffff:1.2.3.4"]
    assert order_addresses(addresses) == ["10.0.0.2", "10.0.0.1", "fd00::1", "::ffff:1.2.3.4"]
