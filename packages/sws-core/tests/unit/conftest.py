"""Fixtures for sws_core's unit tests: a `Loop` on a fake ring, driven turn by turn.

- `make_loop(**loop_kw)` makes a `Loop` with a `FakeBackend` and a `FakeClock` (signals
  off, small capacities unless given), starts it as `Loop.run` would and returns a
  `LoopDriver`; `start=False` leaves the start to the test. At teardown every loop is torn
  down, fds the loop still holds are closed, and a provided buffer never recycled fails
  the test (unless it is a strict xfail, whose failure is its body's business).
- `driver` is `make_loop()` with the defaults.
- `fake` is the `fakering` module itself, for the tests of the fake.

Test modules cannot import this file or `fakering.py` by name (pytest runs with
--import-mode=importlib), so `fakering.py` is loaded here under a name no other package's
tests can clash with, and tests reach it only through these fixtures.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sws_core import Loop

if TYPE_CHECKING:
    from fakering import LoopDriver


def _load_fakering() -> Any:
    name = "sws_core_unit_tests_fakering"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fakering.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


fakering = _load_fakering()

SMALL: dict[str, Any] = {
    "handle_signals": False,
    "max_connections": 64,
    "ring_entries": 256,
    "recv_buffers": 16,
    "recv_buffer_bytes": 4096,
}


@pytest.fixture
def make_loop(request: pytest.FixtureRequest) -> Iterator[Callable[..., LoopDriver]]:
    """Factory: `make_loop(start=True, **loop_kw)` -> a `LoopDriver` on a fake ring."""
    drivers: list[LoopDriver] = []

    def make(*, start: bool = True, **loop_kw: Any) -> LoopDriver:
        clock = fakering.FakeClock()
        backend = fakering.FakeBackend()
        loop = Loop(backend=backend, clock=clock, **{**SMALL, **loop_kw})
        driver: LoopDriver = fakering.LoopDriver(loop, backend, clock)
        drivers.append(driver)
        if start:
            driver.start()
        return driver

    yield make

    check = request.node.get_closest_marker("xfail") is None
    errors: list[BaseException] = []
    for driver in drivers:
        try:
            driver.finish(check=check)
        except BaseException as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest.fixture
def driver(make_loop: Callable[..., LoopDriver]) -> LoopDriver:
    """A started loop on a fake ring, with the default small capacities."""
    return make_loop()


@pytest.fixture
def fake() -> Any:
    """The `fakering` module (FakeRing, FakeBuffers, ...), for tests of the fake itself."""
    return fakering
