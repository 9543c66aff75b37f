"""The three kinds of error, and the one function that turns -errno into an exception."""

from __future__ import annotations

import errno

import pytest

from sws_core import (
    BrokenResourceError,
    BusyResourceError,
    Cancelled,
    ClosedResourceError,
    InternalError,
    InvokeQueueFullError,
    NoWorkerPoolError,
    error_from_res,
)


@pytest.mark.parametrize(
    ("res", "kind"),
    [
        (-errno.ECONNRESET, ConnectionResetError),
        (-errno.EPIPE, BrokenPipeError),
        (-errno.ETIMEDOUT, TimeoutError),
        (-errno.ECONNREFUSED, ConnectionRefusedError),
        (-errno.EINVAL, OSError),
    ],
)
def test_error_from_res_picks_the_oserror_subclass(res: int, kind: type[OSError]) -> None:
    exc = error_from_res(res)
    assert type(exc) is kind
    assert exc.errno == -res
    assert exc.strerror


@pytest.mark.parametrize("res", [0, 1, 4096])
def test_error_from_res_with_a_success_result_is_a_bug(res: int) -> None:
    with pytest.raises(InternalError, match=f"success result {res}"):
        error_from_res(res)


def test_misuse_errors_are_runtime_errors_and_world_failures_are_not() -> None:
    for misuse in (
        ClosedResourceError,
        BusyResourceError,
        NoWorkerPoolError,
        InvokeQueueFullError,
    ):
        assert issubclass(misuse, RuntimeError)
    assert not issubclass(BrokenResourceError, RuntimeError)
    assert not issubclass(InternalError, RuntimeError)


def test_cancelled_is_not_caught_by_except_exception() -> None:
    assert issubclass(Cancelled, BaseException)
    assert not issubclass(Cancelled, Exception)
