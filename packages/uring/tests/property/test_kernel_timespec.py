"""`KernelTimespec.from_seconds` / `set_seconds` give the nearest nanosecond, and reject < 0.

Whole seconds land in tv_sec exactly; the fraction in tv_nsec to within a nanosecond (plus
what a double cannot represent at that magnitude). The carry case, a fraction that rounds
up to a whole second, is a known bug tested in tests/unit/test_syscall.py.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import uring

SECONDS = st.one_of(
    st.integers(0, 2**40),
    st.floats(min_value=0, max_value=2.0**33, allow_nan=False, allow_infinity=False),
)


def check(ts: uring.KernelTimespec, seconds: float) -> None:
    assert ts.tv_sec in (math.floor(seconds), math.floor(seconds) + 1)
    assert 0 <= ts.tv_nsec < 1_000_000_000
    # 1 ns of rounding, plus the spacing of doubles around `seconds`
    tolerance = 1e-9 + 2 * math.ulp(seconds)
    assert abs((ts.tv_sec - seconds) + ts.tv_nsec / 1e9) <= tolerance


@given(seconds=SECONDS)
def test_from_seconds_is_the_nearest_nanosecond(seconds: float) -> None:
    check(uring.KernelTimespec.from_seconds(seconds), seconds)


@given(seconds=SECONDS, old=st.tuples(st.integers(0, 2**40), st.integers(0, 999_999_999)))
def test_set_seconds_equals_from_seconds(seconds: float, old: tuple[int, int]) -> None:
    ts = uring.KernelTimespec(*old)
    ts.set_seconds(seconds)
    fresh = uring.KernelTimespec.from_seconds(seconds)
    assert (ts.tv_sec, ts.tv_nsec) == (fresh.tv_sec, fresh.tv_nsec)
    check(ts, seconds)


@given(sec=st.integers(0, 2**62))
def test_whole_seconds_are_exact(sec: int) -> None:
    ts = uring.KernelTimespec.from_seconds(sec)
    assert (ts.tv_sec, ts.tv_nsec) == (sec, 0)


@given(sec=st.integers(0, 2**20), nsec=st.integers(0, 999_999_999))
def test_nanoseconds_survive_the_float(sec: int, nsec: int) -> None:
    # below 2**20 s a double holds sec + nsec / 1e9 to about 1e-10 s, so rounding to the
    # nearest nanosecond gives back nsec, give or take one
    ts = uring.KernelTimespec.from_seconds(sec + nsec / 1e9)
    total_ns = ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    assert abs(total_ns - (sec * 1_000_000_000 + nsec)) <= 1
    assert 0 <= ts.tv_nsec < 1_000_000_000


@given(seconds=st.one_of(st.integers(max_value=-1), st.floats(max_value=-1e-300)))
def test_negative_seconds_are_a_value_error(seconds: float) -> None:
    with pytest.raises(ValueError, match="negative"):
        uring.KernelTimespec.from_seconds(seconds)
    with pytest.raises(ValueError, match="negative"):
        uring.KernelTimespec().set_seconds(seconds)
