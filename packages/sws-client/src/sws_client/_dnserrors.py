"""The failures a DNS lookup can end in, as typed exceptions.

Every one is a `DnsError`, and `DnsError` is an `OSError`, for three reasons:

- the standard library files name-resolution failures there: `socket.getaddrinfo` raises
  `socket.gaierror`, an `OSError`;
- the caller of an outbound connection already catches `OSError` for the network failing
  (refused, reset, unreachable), and an unknown host is one more way for that to happen;
- a lookup that times out must be a `TimeoutError` (which is an `OSError`), and a timeout
  under one base while the other DNS failures sat outside `OSError` would split one family
  in two.

They are not `socket.gaierror`: its `errno` is an `EAI_*` code that only getaddrinfo(3)
gives, and its `strerror` is that function's wording. These carry the queried name instead.
A misuse (an invalid name, an unsupported query type) is a `ValueError`, never one of these.

Each exception is built with one message argument, so `errno` and `strerror` stay `None`
(`OSError` would read two positional arguments as an errno and a message); the fields are
attributes.
"""

from __future__ import annotations

__all__ = [
    "DnsError",
    "DnsServerError",
    "DnsTimeoutError",
    "NameNotFoundError",
    "NoAddressError",
]


class DnsError(OSError):
    """A lookup failed for a reason in the world, not in the caller's code.

    Attributes:
        name: the name that was looked up, as the caller gave it.
    """

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name
        self._init_args: tuple[object, ...] = (message, name)

    def __reduce__(self) -> tuple[type[DnsError], tuple[object, ...]]:
        # Rebuild from the constructor's own arguments: the default would call the class
        # with the message alone.
        return (type(self), self._init_args)


class NameNotFoundError(DnsError):
    """The name does not exist: every candidate name got NXDOMAIN (RFC 1035 §4.1.1, rcode 3)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"name {name!r} does not exist (nxdomain)", name)
        self._init_args = (name,)


class NoAddressError(DnsError):
    """The name exists but has no address of the family asked for (NODATA, RFC 2308 §2.2)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"name {name!r} has no address of the requested family (nodata)", name)
        self._init_args = (name,)


class DnsServerError(DnsError):
    """Every nameserver answered, and none usefully (SERVFAIL, REFUSED, a broken answer).

    Attributes:
        rcode: the response code of the last answer (RFC 1035 §4.1.1: 2 SERVFAIL,
            5 REFUSED); 0 when that answer had NOERROR but nothing usable in it
            (a referral, a CNAME loop).
    """

    def __init__(self, name: str, rcode: int) -> None:
        super().__init__(f"no nameserver could answer for {name!r} (last rcode {rcode})", name)
        self.rcode = rcode
        self._init_args = (name, rcode)


class DnsTimeoutError(DnsError, TimeoutError):
    """No nameserver answered in time, after every attempt on every server.

    Attributes:
        attempts: how many queries were sent in all before giving up.
    """

    def __init__(self, name: str, attempts: int) -> None:
        super().__init__(f"no answer for {name!r} after {attempts} queries", name)
        self.attempts = attempts
        self._init_args = (name, attempts)
