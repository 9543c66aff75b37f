"""Fixtures for the integration tests: real rings, loopback sockets, bounded waits.

Rules every test here keeps:

- Everything opened is closed by a fixture's teardown or a `with` block; the root conftest
  fails a test that leaves a file descriptor open.
- Every wait is bounded by a ring timeout (`submit_and_wait(..., timeout_s=...)`), so a bug
  fails the test instead of hanging the suite. `WAIT_S` is a ceiling, never an expectation:
  a healthy test finishes long before it.
- A buffer named in an SQE stays referenced by the test until the op's last CQE.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Final, TypeAlias

import pytest

from uring import Cqe, Ring, SetupFlag, fast_setup_flags

WAIT_S: Final = 5.0  # ceiling for one bounded wait, in seconds; only reached by a bug
QUIET_S: Final = 0.02  # how long "nothing completes" is watched, in seconds

ReapUntil: TypeAlias = Callable[..., list[Cqe]]
ReapQuiet: TypeAlias = Callable[[Ring], list[Cqe]]


def reap_until(ring: Ring, n: int, timeout_s: float = WAIT_S) -> list[Cqe]:
    """Submit what is queued, then reap until `n` CQEs arrived; fail the test at the deadline.

    Returns exactly the CQEs reaped, which may be more than `n` if more were ready.
    """
    deadline = time.monotonic() + timeout_s
    out: list[Cqe] = []
    while len(out) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"got {len(out)} of {n} completions within {timeout_s} s: {out}")
        ring.submit_and_wait(min(n - len(out), ring.cq_entries), timeout_s=remaining)
        out.extend(ring.reap())
    return out


def reap_quiet(ring: Ring) -> list[Cqe]:
    """Submit, wait `QUIET_S` for one completion, and return whatever is ready (often [])."""
    ring.submit_and_wait(1, timeout_s=QUIET_S)
    return ring.reap()


@pytest.fixture(name="reap_until")
def reap_until_fixture() -> ReapUntil:
    """`reap_until(ring, n, timeout_s=WAIT_S)`: see the function of that name."""
    return reap_until


@pytest.fixture(name="reap_quiet")
def reap_quiet_fixture() -> ReapQuiet:
    """`reap_quiet(ring)`: see the function of that name."""
    return reap_quiet


@pytest.fixture(scope="session")
def event_loop_flags() -> SetupFlag:
    """`fast_setup_flags()`, asked once per worker (each call creates a few rings)."""
    return fast_setup_flags()


@pytest.fixture
def ring() -> Iterator[Ring]:
    """A plain 64-entry ring (CQ of 128)."""
    with Ring(64) as r:
        yield r


@pytest.fixture
def sock_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected AF_UNIX stream pair; the ring uses the first, the test drives the second."""
    a, b = socket.socketpair()
    with a, b:
        yield a, b


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP socket listening on 127.0.0.1, port chosen by the kernel."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s


@pytest.fixture
def ipv6_loopback() -> None:
    """Skip the test unless a TCP socket can bind ::1 here."""
    if not socket.has_ipv6:
        pytest.skip("Python built without IPv6")
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback (::1) here: {exc}")


@pytest.fixture
def listener6(ipv6_loopback: None) -> Iterator[socket.socket]:
    """A TCP socket listening on ::1 (the test is skipped without IPv6 loopback)."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.bind(("::1", 0))
        s.listen(16)
        yield s


def by_user_data(cqes: list[Cqe]) -> dict[int, tuple[int, int]]:
    """Index one-shot CQEs by user_data; fail if a user_data completed twice."""
    out: dict[int, tuple[int, int]] = {}
    for user_data, res, flags in cqes:
        assert user_data not in out, f"user_data {user_data} completed twice: {cqes}"
        out[user_data] = (res, flags)
    return out


@pytest.fixture(name="by_user_data")
def by_user_data_fixture() -> Callable[[list[Cqe]], dict[int, tuple[int, int]]]:
    """`by_user_data(cqes)`: see the function of that name."""
    return by_user_data
