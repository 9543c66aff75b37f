"""The answer cache: TTL expiry on a clock the test owns, negative entries, clamps, LRU."""

from __future__ import annotations

import pytest

from sws_client._dnscache import CacheEntry, CacheStatistics, DnsCache
from sws_client._dnsmsg import Answer, Outcome, QType


def positive(ttl_s: int = 60, *addresses: str) -> Answer:
    return Answer(Outcome.ADDRESSES, 0, False, addresses or ("192.0.2.1",), "a.test", ttl_s)


def negative(outcome: Outcome = Outcome.NXDOMAIN, ttl_s: int = 30) -> Answer:
    return Answer(outcome, 3 if outcome is Outcome.NXDOMAIN else 0, False, (), "a.test", ttl_s)


def test_a_positive_entry_lives_until_its_ttl() -> None:
    cache = DnsCache()
    entry = cache.put("a.test", QType.A, positive(60, "192.0.2.1", "192.0.2.2"), now=100.0)
    assert entry == CacheEntry(Outcome.ADDRESSES, ("192.0.2.1", "192.0.2.2"), 160.0)
    assert cache.get("a.test", QType.A, now=100.0) == entry
    assert cache.get("a.test", QType.A, now=159.999) == entry
    assert cache.get("a.test", QType.A, now=160.0) is None  # dead from expires_at on
    assert len(cache) == 0  # and dropped


def test_keys_are_name_and_type_case_insensitive_without_trailing_dot() -> None:
    cache = DnsCache()
    cache.put("WWW.A.test.", QType.A, positive(), now=0)
    assert cache.get("www.a.TEST", QType.A, now=1) is not None
    assert cache.get("www.a.test.", QType.A, now=1) is not None
    assert cache.get("www.a.test", QType.AAAA, now=1) is None
    assert cache.get("a.test", QType.A, now=1) is None


@pytest.mark.parametrize("outcome", [Outcome.NXDOMAIN, Outcome.NODATA])
def test_negative_entries(outcome: Outcome) -> None:
    cache = DnsCache()
    entry = cache.put("gone.test", QType.AAAA, negative(outcome, 30), now=10.0)
    assert entry == CacheEntry(outcome, (), 40.0)
    assert cache.get("gone.test", QType.AAAA, now=39.0) == entry
    assert cache.get("gone.test", QType.AAAA, now=40.0) is None


@pytest.mark.parametrize("outcome", [Outcome.TRUNCATED, Outcome.SERVER_ERROR])
def test_answers_that_say_nothing_about_the_name_are_refused(outcome: Outcome) -> None:
    cache = DnsCache()
    with pytest.raises(ValueError, match="not cacheable"):
        cache.put("a.test", QType.A, Answer(outcome, 2, False, (), "a.test", 60), now=0)


def test_a_zero_ttl_is_not_kept_and_drops_the_older_entry() -> None:
    cache = DnsCache()
    cache.put("a.test", QType.A, positive(60), now=0)
    assert cache.put("a.test", QType.A, positive(0), now=1) is None
    assert cache.get("a.test", QType.A, now=1) is None
    assert cache.put("b.test", QType.A, negative(ttl_s=0), now=1) is None
    assert len(cache) == 0


@pytest.mark.parametrize(
    ("answer", "expires_at"),
    [
        (positive(0), 10.0),  # raised to min_ttl_s
        (positive(5), 10.0),
        (positive(50), 50.0),
        (positive(5000), 1000.0),  # cut to max_ttl_s
        (negative(ttl_s=0), 10.0),
        (negative(ttl_s=50), 50.0),
        (negative(ttl_s=500), 100.0),  # cut to max_negative_ttl_s
        (negative(Outcome.NODATA, ttl_s=500), 100.0),
    ],
)
def test_ttl_clamps(answer: Answer, expires_at: float) -> None:
    cache = DnsCache(min_ttl_s=10, max_ttl_s=1000, max_negative_ttl_s=100)
    entry = cache.put("a.test", QType.A, answer, now=0)
    assert entry is not None
    assert entry.expires_at == expires_at


def test_put_replaces() -> None:
    cache = DnsCache()
    cache.put("a.test", QType.A, positive(60, "192.0.2.1"), now=0)
    cache.put("a.test", QType.A, negative(), now=1)
    entry = cache.get("a.test", QType.A, now=2)
    assert entry is not None
    assert entry.outcome is Outcome.NXDOMAIN
    assert len(cache) == 1


def test_the_least_recently_used_entry_is_evicted() -> None:
    cache = DnsCache(max_entries=3)
    for name in ("a.test", "b.test", "c.test"):
        cache.put(name, QType.A, positive(), now=0)
    assert cache.get("a.test", QType.A, now=1) is not None  # a is now the most recent
    cache.put("d.test", QType.A, positive(), now=1)
    assert len(cache) == 3
    assert cache.get("b.test", QType.A, now=2) is None
    assert all(cache.get(n, QType.A, now=2) for n in ("a.test", "c.test", "d.test"))
    cache.put("c.test", QType.A, positive(), now=2)  # a put refreshes too
    cache.put("e.test", QType.A, positive(), now=2)
    assert cache.get("a.test", QType.A, now=3) is None
    assert cache.statistics().evictions == 2


def test_evicting_a_dead_entry_counts_as_an_expiration() -> None:
    cache = DnsCache(max_entries=1)
    cache.put("a.test", QType.A, positive(1), now=0)
    cache.put("b.test", QType.A, positive(1), now=5)
    assert cache.statistics() == CacheStatistics(1, 0, 0, 0, 1)


def test_purge_expired() -> None:
    cache = DnsCache()
    cache.put("a.test", QType.A, positive(10), now=0)
    cache.put("b.test", QType.A, positive(20), now=0)
    cache.put("c.test", QType.A, negative(ttl_s=5), now=0)
    assert cache.purge_expired(now=10) == 2
    assert len(cache) == 1
    assert cache.purge_expired(now=10) == 0
    assert cache.get("b.test", QType.A, now=10) is not None


def test_statistics_clear_and_repr() -> None:
    cache = DnsCache(max_entries=8)
    cache.put("a.test", QType.A, positive(10), now=0)
    cache.get("a.test", QType.A, now=1)  # hit
    cache.get("b.test", QType.A, now=1)  # miss
    cache.get("a.test", QType.A, now=11)  # miss, expired
    assert cache.statistics() == CacheStatistics(
        entries=0, hits=1, misses=2, evictions=0, expirations=1
    )
    cache.put("a.test", QType.A, positive(10), now=20)
    assert repr(cache) == "<DnsCache entries=1/8>"
    cache.clear()
    assert len(cache) == 0
    assert cache.statistics().hits == 1


@pytest.mark.parametrize(
    "limits",
    [
        {"max_entries": 0},
        {"max_ttl_s": -1},
        {"min_ttl_s": -1},
        {"max_negative_ttl_s": -1},
        {"min_ttl_s": 10, "max_ttl_s": 5},
    ],
)
def test_limits_out_of_range(limits: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"max_entries|ttl"):
        DnsCache(**limits)


def test_the_key_methods_are_get_and_put_with_the_key_made() -> None:
    cache = DnsCache()
    key = ("a.test", int(QType.A))  # fold_name("A.test."), the type
    entry = cache.put_key(key, positive(60), now=0.0)
    assert cache.get("A.test.", QType.A, now=1.0) == entry
    assert cache.get_key(key, now=1.0) == entry
    assert cache.get_key(("a.test", int(QType.AAAA)), now=1.0) is None
    with pytest.raises(ValueError, match="not cacheable"):
        cache.put_key(key, Answer(Outcome.SERVER_ERROR, 2, False, (), "a.test", 0), now=0.0)
