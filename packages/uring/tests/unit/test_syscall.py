"""`uring._syscall`, the parts that need no kernel: `KernelTimespec`.

`struct __kernel_timespec` is two s64 (tv_sec, tv_nsec), 16 bytes. The kernel rejects a
timespec whose tv_nsec is not in [0, 999_999_999] (`timespec64_valid`) with -EINVAL.
"""

from __future__ import annotations

import ctypes
import math

import pytest

import uring


def test_layout_is_two_s64() -> None:
    assert ctypes.sizeof(uring.KernelTimespec) == 16
    ts = uring.KernelTimespec(-1, 2)
    assert bytes(ts) == (-1).to_bytes(8, "little", signed=True) + (2).to_bytes(8, "little")


@pytest.mark.parametrize(
    ("seconds", "sec", "nsec"),
    [
        (0, 0, 0),
        (0.0, 0, 0),
        (-0.0, 0, 0),
        (2, 2, 0),
        (1.5, 1, 500_000_000),
        (0.1, 0, 100_000_000),
        (0.001, 0, 1_000_000),
        (1e-9, 0, 1),
        (4e-10, 0, 0),  # rounds to the nearest nanosecond
        (6e-10, 0, 1),
        (86_400.25, 86_400, 250_000_000),
    ],
)
def test_from_seconds(seconds: float, sec: int, nsec: int) -> None:
    ts = uring.KernelTimespec.from_seconds(seconds)
    assert (ts.tv_sec, ts.tv_nsec) == (sec, nsec)


@pytest.mark.parametrize(
    ("seconds", "sec", "nsec"),
    [(0, 0, 0), (1.5, 1, 500_000_000), (1e-9, 0, 1), (30, 30, 0)],
)
def test_set_seconds_overwrites_in_place(seconds: float, sec: int, nsec: int) -> None:
    ts = uring.KernelTimespec(123, 456)
    address = ctypes.addressof(ts)
    ts.set_seconds(seconds)
    assert (ts.tv_sec, ts.tv_nsec) == (sec, nsec)
    assert ctypes.addressof(ts) == address


@pytest.mark.parametrize("seconds", [-1, -0.5, -1e-9, -math.inf])
def test_negative_times_are_a_value_error(seconds: float) -> None:
    with pytest.raises(ValueError, match="negative"):
        uring.KernelTimespec.from_seconds(seconds)
    ts = uring.KernelTimespec(5, 6)
    with pytest.raises(ValueError, match="negative"):
        ts.set_seconds(seconds)
    assert (ts.tv_sec, ts.tv_nsec) == (5, 6)


# Just below a whole second the fraction rounds up to 1_000_000_000 ns. The result should
# carry into tv_sec (1, 0); uring leaves tv_nsec = 1_000_000_000, which the kernel rejects
# with -EINVAL (prep_timeout, and Ring's wait with a timeout, which uses set_seconds).
BELOW_A_SECOND = [0.9999999999, math.nextafter(1.0, 0.0), 1.9999999996, 59.9999999999]


@pytest.mark.parametrize("seconds", BELOW_A_SECOND)
def test_from_seconds_keeps_nanoseconds_below_a_second(seconds: float) -> None:
    ts = uring.KernelTimespec.from_seconds(seconds)
    assert 0 <= ts.tv_nsec < 1_000_000_000
    assert (ts.tv_sec, ts.tv_nsec) == (math.floor(seconds) + 1, 0)


@pytest.mark.parametrize("seconds", BELOW_A_SECOND)
def test_set_seconds_keeps_nanoseconds_below_a_second(seconds: float) -> None:
    ts = uring.KernelTimespec()
    ts.set_seconds(seconds)
    assert 0 <= ts.tv_nsec < 1_000_000_000
    assert (ts.tv_sec, ts.tv_nsec) == (math.floor(seconds) + 1, 0)
