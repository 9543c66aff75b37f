"""Shared pytest set-up for every package's tests.

- Hypothesis profiles: "dev" (default) and "ci" (selected when CI is set): more examples,
  no deadline (the machine is shared and timing is not what these tests measure).
- Leak check: every test must leave the process with the file descriptors it found.
  A test that opens a ring, a socket or a pipe and forgets to close it fails at teardown.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def open_fds() -> set[int]:
    """Return the process's open file descriptors."""
    return {int(name) for name in os.listdir("/proc/self/fd")}


@pytest.fixture(autouse=True)
def no_fd_leak() -> Iterator[None]:
    """Fail a test that leaves file descriptors open."""
    before = open_fds()
    yield
    leaked = open_fds() - before
    if leaked:
        gc.collect()  # objects freed late (a cycle holding a socket) are not leaks
        leaked = open_fds() - before
    assert not leaked, f"test leaked file descriptors: {sorted(leaked)}"
