"""The keep-alive pool's bookkeeping (sws_client._pool), with fake connections and a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sws_client._pool import ConnectionPool

A = ("a.example", 80)
B = ("b.example", 8080)


class FakeConn:
    def __init__(self, name: str) -> None:
        self.name = name
        self.ok = True
        self.closed = 0

    def usable(self) -> bool:
        return self.ok and not self.closed

    def close(self) -> None:
        self.closed += 1

    def __repr__(self) -> str:
        return f"<FakeConn {self.name}>"


def make(**kw: float) -> ConnectionPool[FakeConn]:
    kw.setdefault("idle_ttl_s", 10.0)
    return ConnectionPool(**kw)  # type: ignore[arg-type]


def test_empty_pool_misses() -> None:
    pool = make()
    assert pool.checkout(A, 0.0) is None
    assert pool.statistics().misses == 1
    assert len(pool) == 0


def test_last_in_first_out_per_origin() -> None:
    pool = make()
    c1, c2, c3 = FakeConn("1"), FakeConn("2"), FakeConn("3")
    pool.checkin(A, c1, 0.0)
    pool.checkin(A, c2, 1.0)
    pool.checkin(B, c3, 2.0)
    assert pool.idle_for(A) == 2
    assert pool.checkout(A, 3.0) is c2  # the warmest first
    assert pool.checkout(A, 3.0) is c1
    assert pool.checkout(A, 3.0) is None
    assert pool.checkout(B, 3.0) is c3
    stats = pool.statistics()
    assert (stats.hits, stats.misses, stats.idle) == (3, 1, 0)
    assert not any(c.closed for c in (c1, c2, c3))


def test_expired_connections_are_closed_not_handed_out() -> None:
    pool = make(idle_ttl_s=5.0)
    old, fresh = FakeConn("old"), FakeConn("fresh")
    pool.checkin(A, old, 0.0)
    pool.checkin(A, fresh, 4.0)
    assert pool.checkout(A, 5.5) is fresh
    assert pool.checkout(A, 5.5) is None
    assert old.closed == 1
    assert pool.statistics().expired == 1


def test_expire_sweeps_and_reports_the_next_expiry() -> None:
    pool = make(idle_ttl_s=5.0)
    c1, c2, c3 = FakeConn("1"), FakeConn("2"), FakeConn("3")
    pool.checkin(A, c1, 0.0)
    pool.checkin(B, c2, 3.0)
    pool.checkin(B, c3, 4.0)
    assert pool.expire(1.0) == 5.0
    assert pool.expire(5.1) == 8.0
    assert (c1.closed, c2.closed, c3.closed) == (1, 0, 0)
    assert pool.idle_for(A) == 0
    assert pool.expire(100.0) is None
    assert (c2.closed, c3.closed) == (1, 1)
    assert len(pool) == 0


def test_unusable_connections_are_discarded() -> None:
    pool = make()
    dead, alive = FakeConn("dead"), FakeConn("alive")
    pool.checkin(A, alive, 0.0)
    pool.checkin(A, dead, 1.0)
    dead.ok = False  # the server closed it while idle
    assert pool.checkout(A, 2.0) is alive
    assert dead.closed == 1
    assert pool.statistics().discarded == 1


def test_expire_also_drops_unusable_ones() -> None:
    pool = make()
    dead = FakeConn("dead")
    pool.checkin(A, dead, 0.0)
    dead.ok = False
    assert pool.expire(1.0) is None
    assert dead.closed == 1


def test_discard_removes_one_idle_connection() -> None:
    pool = make()
    c1, c2 = FakeConn("1"), FakeConn("2")
    pool.checkin(A, c1, 0.0)
    pool.checkin(A, c2, 0.0)
    assert pool.discard(c1)
    assert not pool.discard(c1)
    assert pool.checkout(A, 0.0) is c2
    assert pool.checkout(A, 0.0) is None
    assert not pool.discard(FakeConn("never pooled"))


def test_per_host_cap_evicts_the_oldest() -> None:
    pool = make(max_idle_per_host=2)
    conns = [FakeConn(str(i)) for i in range(3)]
    for i, conn in enumerate(conns):
        pool.checkin(A, conn, float(i))
    assert [c.closed for c in conns] == [1, 0, 0]
    assert pool.idle_for(A) == 2
    assert pool.statistics().evicted == 1
    pool.checkin(B, FakeConn("b"), 5.0)  # other origins have their own cap
    assert pool.idle_for(B) == 1


def test_total_cap_evicts_the_oldest_anywhere() -> None:
    pool = make(max_idle=2)
    a, b, c = FakeConn("a"), FakeConn("b"), FakeConn("c")
    pool.checkin(A, a, 1.0)
    pool.checkin(B, b, 2.0)
    pool.checkin(("c.example", 80), c, 3.0)
    assert (a.closed, b.closed, c.closed) == (1, 0, 0)
    assert len(pool) == 2
    assert pool.idle_for(A) == 0


def test_zero_caps_mean_no_reuse() -> None:
    pool = make(max_idle_per_host=0)
    conn = FakeConn("x")
    pool.checkin(A, conn, 0.0)
    assert conn.closed == 1
    assert pool.checkout(A, 0.0) is None


def test_close_all() -> None:
    pool = make()
    conns = [FakeConn(str(i)) for i in range(4)]
    for i, conn in enumerate(conns):
        pool.checkin(A if i % 2 else B, conn, 0.0)
    pool.close_all()
    assert [c.closed for c in conns] == [1, 1, 1, 1]
    assert len(pool) == 0
    assert "idle=0" in repr(pool)


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        make(idle_ttl_s=-1)


operations = st.lists(
    st.tuples(
        st.sampled_from(["in", "out", "expire", "kill"]),
        st.sampled_from([A, B, ("c", 1)]),
        st.floats(0, 3),
    ),
    max_size=60,
)


@given(operations)
def test_model(ops: list[tuple[str, tuple[str, int], float]]) -> None:
    """Against a model: nothing handed out is closed or expired, counts match, caps hold,
    every connection that left the pool unhanded is closed exactly once."""
    pool = make(idle_ttl_s=2.0, max_idle_per_host=3, max_idle=5)
    now = 0.0
    out: set[int] = set()
    made: list[FakeConn] = []
    for op, key, step in ops:
        now += step
        if op == "in":
            conn = FakeConn(str(len(made)))
            made.append(conn)
            pool.checkin(key, conn, now)
        elif op == "out":
            got = pool.checkout(key, now)
            if got is not None:
                assert got.usable()
                assert id(got) not in out
                out.add(id(got))
        elif op == "expire":
            pool.expire(now)
        elif made:
            made[int(step * 10) % len(made)].ok = False
        assert len(pool) <= 5
        assert all(pool.idle_for(k) <= 3 for k in (A, B, ("c", 1)))
    pool.close_all()
    for conn in made:
        assert conn.closed == (0 if id(conn) in out else 1)
