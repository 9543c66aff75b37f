"""The resolver's exceptions: one family under OSError, timeouts are TimeoutErrors."""

from __future__ import annotations

import copy
import pickle

import pytest

from sws_client._dnserrors import (
    DnsError,
    DnsServerError,
    DnsTimeoutError,
    NameNotFoundError,
    NoAddressError,
)

ERRORS = [
    NameNotFoundError("gone.example"),
    NoAddressError("v4only.example"),
    DnsServerError("broken.example", 2),
    DnsTimeoutError("slow.example", 6),
    DnsError("lookup of x.example failed", "x.example"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_is_a_dns_error_and_an_oserror(error: DnsError) -> None:
    assert isinstance(error, DnsError)
    assert isinstance(error, OSError)
    assert error.errno is None
    assert error.strerror is None
    assert error.name in str(error)
    assert str(error) == str(error).lower()


def test_a_timeout_is_a_timeout_error() -> None:
    error = DnsTimeoutError("slow.example", 6)
    assert isinstance(error, TimeoutError)
    assert error.attempts == 6
    assert str(error) == "no answer for 'slow.example' after 6 queries"
    with pytest.raises(TimeoutError):
        raise error


def test_messages_and_fields() -> None:
    assert str(NameNotFoundError("gone.example")) == "name 'gone.example' does not exist (nxdomain)"
    assert "nodata" in str(NoAddressError("v4only.example"))
    error = DnsServerError("broken.example", 5)
    assert error.rcode == 5
    assert str(error) == "no nameserver could answer for 'broken.example' (last rcode 5)"
    assert not isinstance(NameNotFoundError("x"), TimeoutError)


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_survive_pickle_and_copy(error: DnsError) -> None:
    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert type(clone) is type(error)
        assert str(clone) == str(error)
        assert vars(clone) == vars(error)
